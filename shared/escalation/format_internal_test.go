package escalation

import (
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func TestFormatRate(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0%"}, {0.0005, "0.05%"}, {0.000512, "0.051%"}, {0.015, "1.5%"}, {0.0184, "1.8%"}, {0.123, "12%"},
		{1, "100%"}, {0.001, "0.1%"}, {0.000004, "<0.001%"}, {0.0099, "0.99%"},
	}
	for _, tt := range tests {
		if got := formatRate(tt.in); got != tt.want {
			t.Errorf("formatRate(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatCount(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {417600, "417,600"}, {1234567, "1,234,567"}, {-4200, "-4,200"}}
	for _, tt := range tests {
		if got := formatCount(tt.in); got != tt.want {
			t.Errorf("formatCount(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestShortDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{{12*time.Hour + 42*time.Minute, "12h42m"}, {24 * time.Hour, "1d"}, {7 * 24 * time.Hour, "7d"},
		{26 * time.Hour, "1d2h"}, {3 * time.Hour, "3h"}, {45 * time.Minute, "45m"}, {30 * time.Second, "30s"}, {5*time.Hour + 5*time.Minute, "5h05m"}}
	for _, tt := range tests {
		if got := shortDuration(tt.in); got != tt.want {
			t.Errorf("shortDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNiceCeil(t *testing.T) {
	tests := []struct{ in, want float64 }{{0.0165, 0.02}, {0.011, 0.02}, {0.0009, 0.001}, {0.0024, 0.0025}, {0.04, 0.05}, {0.3, 0.5}, {0.02, 0.02}}
	for _, tt := range tests {
		if got := niceCeil(tt.in); got < tt.want*0.999999 || got > tt.want*1.000001 {
			t.Errorf("niceCeil(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestMDEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"snapshot_droplet", "snapshot_droplet"}, {"_x_", `\_x\_`}, {"a|b", `a\|b`}, {"<script>", `\<script\>`},
		{"[x](y)", `\[x\](y)`}, {"1\n2", "1 2"}, {"**b**", `\*\*b\*\*`}, {"a & b", `a \& b`},
	}
	for _, tt := range tests {
		if got := mdEscape(tt.in); got != tt.want {
			t.Errorf("mdEscape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCallClass(t *testing.T) {
	tests := []struct {
		name string
		call snapkeep.APICall
		want snapkeep.ErrorClass
	}{
		{"recorded class wins", snapkeep.APICall{StatusCode: 500, Class: snapkeep.ClassRateLimited}, snapkeep.ClassRateLimited},
		{"5xx", snapkeep.APICall{StatusCode: 503}, snapkeep.ClassProviderError},
		{"no response", snapkeep.APICall{TransportError: "connection reset by peer"}, snapkeep.ClassNetwork},
		{"429", snapkeep.APICall{StatusCode: 429}, snapkeep.ClassRateLimited},
		{"busy", snapkeep.APICall{StatusCode: 422, ErrorMessage: "Droplet already has a pending event."}, snapkeep.ClassResourceBusy},
		{"limit", snapkeep.APICall{StatusCode: 422, ErrorMessage: "snapshot limit reached"}, snapkeep.ClassQuotaExceeded},
		{"other 422", snapkeep.APICall{StatusCode: 422, ErrorMessage: "bad name"}, snapkeep.ClassInvalidPolicy},
		{"401", snapkeep.APICall{StatusCode: 401}, snapkeep.ClassAuthRevoked},
		{"404", snapkeep.APICall{StatusCode: 404}, snapkeep.ClassResourceMissing},
		{"400", snapkeep.APICall{StatusCode: 400}, snapkeep.ClassInternal},
		{"success", snapkeep.APICall{StatusCode: 201}, ""},
	}
	for _, tt := range tests {
		if got := callClass(&tt.call); got != tt.want {
			t.Errorf("%s: callClass = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCounted(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{{0, "0 customers"}, {1, "1 customer"}, {2, "2 customers"}, {1000, "1,000 customers"}, {-1, "-1 customers"}}
	for _, tt := range tests {
		if got := counted(tt.n, "customer", "customers"); got != tt.want {
			t.Errorf("counted(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestFormatTimes(t *testing.T) {
	tests := []struct {
		r, baseline float64
		want        string
	}{{0.016, 0.00047, "34×"}, {0.0021, 0.0005, "4.2×"}, {0, 0.0005, "0×"}, {0.0005, 0.0005, "1.0×"}}
	for _, tt := range tests {
		if got := formatTimes(tt.r, tt.baseline); got != tt.want {
			t.Errorf("formatTimes(%v, %v) = %q, want %q", tt.r, tt.baseline, got, tt.want)
		}
	}
}
