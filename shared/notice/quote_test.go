package notice_test

import (
	"testing"

	"github.com/snapkeep/snapkeep/shared/notice"
)

func TestUnquoted(t *testing.T) {
	tests := []struct {
		name, s string
		want    bool
	}{
		{"absent", "DigitalOcean had a problem on their side.", false},
		{"quoted in text", "DigitalOcean answered “Server Error”.", false},
		{"quoted in HTML", `DigitalOcean answered “<span dir="auto">Server Error</span>”.`, false},
		{"quoted HTML inside JSON", `{"html":"answered “<span dir=\"auto\">Server Error</span>”"}`, false},
		{"bare", "Error: Server Error", true},
		{"headline", "<h1>Server Error</h1>", true},
		{"quoted once, bare once", "“Server Error” and then Server Error", true},
		{"plain quotes are not the notice's", `"Server Error"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := notice.Unquoted(tt.s, "Server Error"); got != tt.want {
				t.Errorf("Unquoted(%q) = %v, want %v", tt.s, got, tt.want)
			}
		})
	}
	// A phrase html/template escapes: bare in HTML it is escaped, quoted
	// it is escaped inside the span.
	const odd = "Can't <reach> host"
	escTests := []struct {
		name, s string
		want    bool
	}{
		{"quoted in HTML", `answered “<span dir="auto">Can&#39;t &lt;reach&gt; host</span>”.`, false},
		{"bare in HTML", `<p>Can&#39;t &lt;reach&gt; host</p>`, true},
		{"quoted in text", "answered “Can't <reach> host”.", false},
		{"bare in text", "Can't <reach> host", true},
	}
	for _, tt := range escTests {
		t.Run("escaped/"+tt.name, func(t *testing.T) {
			if got := notice.Unquoted(tt.s, odd); got != tt.want {
				t.Errorf("Unquoted(%q) = %v, want %v", tt.s, got, tt.want)
			}
		})
	}
}
