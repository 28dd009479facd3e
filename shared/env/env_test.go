package env

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestReader(t *testing.T) {
	vars := map[string]string{"TABLE": " runs ", "HOLD": "true", "BAD_BOOL": "yes", "HOUR": "8", "BIG": "99",
		"WINDOW": "30", "HOSTS": "a, ,b", "NOTNUM": "x"}
	r := New(func(k string) string { return vars[k] })
	if got := r.Required("TABLE"); got != "runs" {
		t.Errorf("Required = %q, want trimmed", got)
	}
	if !r.Bool("HOLD", false) || r.Bool("UNSET", false) || !r.Bool("UNSET", true) {
		t.Error("Bool: set, default false, default true")
	}
	if r.Int("HOUR", 0, 23, 5) != 8 || r.Int("UNSET", 0, 23, 5) != 5 {
		t.Error("Int")
	}
	if got := r.Whole("WINDOW", time.Minute, 1, 720, time.Hour); got != 30*time.Minute {
		t.Errorf("Whole = %s", got)
	}
	if got := r.List("HOSTS"); strings.Join(got, "|") != "a|b" {
		t.Errorf("List = %q", got)
	}
	if r.Err() != nil {
		t.Fatalf("no error expected yet: %v", r.Err())
	}
	r.Required("MISSING")
	r.Bool("BAD_BOOL", false)
	if got := r.Int("BIG", 0, 23, 5); got != 5 {
		t.Errorf("an out-of-range Int = %d, want its default", got)
	}
	if got := r.Whole("NOTNUM", time.Hour, 1, 48, 6*time.Hour); got != 6*time.Hour {
		t.Errorf("a malformed Whole = %s, want its default", got)
	}
	r.Fail("SENDER", errors.New("not an address"))
	err := r.Err()
	for _, want := range []string{"MISSING is not set", `BAD_BOOL="yes": want true or false`, `BIG="99": want a whole number from 0 to 23`,
		`NOTNUM="x": want a whole number from 1 to 48`, "SENDER: not an address"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Err() = %v, want it to say %q", err, want)
		}
	}
}
