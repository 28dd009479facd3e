package support

import (
	"testing"
	"time"
)

func TestKeyBounds(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name   string
		r      Range
		lo, hi string
		ok     bool
	}{
		{"none", Range{}, "", "", true},
		{"whole seconds: To is exclusive", Range{From: at("2026-03-27T02:00:00Z"), To: at("2026-03-27T03:00:00Z")}, "2026-03-27T02:00:00Z", "2026-03-27T02:59:59Z", true},
		{"fractions round in", Range{From: at("2026-03-27T02:00:00.4Z"), To: at("2026-03-27T03:00:00.4Z")}, "2026-03-27T02:00:01Z", "2026-03-27T03:00:00Z", true},
		{"zones become UTC", Range{From: at("2026-03-27T04:00:00+02:00")}, "2026-03-27T02:00:00Z", "", true},
		{"to only", Range{To: at("2026-03-27T03:00:00Z")}, "", "2026-03-27T02:59:59Z", true},
		{"no whole second inside", Range{From: at("2026-03-27T02:00:00.2Z"), To: at("2026-03-27T02:00:00.7Z")}, "2026-03-27T02:00:01Z", "2026-03-27T02:00:00Z", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi := tt.r.keyBounds()
			if lo != tt.lo || hi != tt.hi {
				t.Errorf("bounds %q..%q, want %q..%q", lo, hi, tt.lo, tt.hi)
			}
			e := newExpr()
			if ok := e.keyRange("policy_id", "p", "scheduled_at", tt.r); ok != tt.ok {
				t.Errorf("keyRange ok %t, want %t (expression %q)", ok, tt.ok, e.key)
			}
		})
	}
}

func TestFilterExpressions(t *testing.T) {
	e := newExpr()
	e.keyRange("customer_id", "acme", "scheduled_at", Range{})
	e.oneOf("status", []string{"failed", "timed_out"})
	e.eitherIs("error_class", "retry_class", "provider_error")
	e.oneOf("nothing", nil)
	want := "#status IN (:status0, :status1) AND (#errorclass = :either OR #retryclass = :either)"
	if got := e.filter[0] + " AND " + e.filter[1]; got != want || len(e.filter) != 2 {
		t.Errorf("filter %q, want %q", e.filter, want)
	}
	for ph, attr := range map[string]string{"#k": "customer_id", "#status": "status", "#errorclass": "error_class", "#retryclass": "retry_class"} {
		if e.names[ph] != attr {
			t.Errorf("name %s = %q, want %q", ph, e.names[ph], attr)
		}
	}
	if e.key != "#k = :k" {
		t.Errorf("key %q", e.key)
	}
}
