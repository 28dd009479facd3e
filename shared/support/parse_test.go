package support_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
)

func TestParseRunKey(t *testing.T) {
	tests := []struct {
		policy, slot string
		want         string // the run id, or the error's words
		ok           bool
	}{
		{"pol-web1", "2026-03-27T02:00:00Z", "pol-web1#2026-03-27T02:00:00Z", true},
		{"pol-web1", "2026-03-27T04:00:00+02:00", "pol-web1#2026-03-27T02:00:00Z", true},
		{"pol-web1#2026-03-27T02:00:00Z", "", "pol-web1#2026-03-27T02:00:00Z", true},
		{"pol-web1", "2026-03-27T02:00:00.5Z", "whole seconds", false},
		{"pol-web1", "2026-03-27 02:00", "not a time in whole seconds with a zone", false},
		{"pol-web1", "yesterday", "the SLOT column", false},
		{"pol web1", "2026-03-27T02:00:00Z", "is not a policy id", false},
		{strings.Repeat("p", 65), "2026-03-27T02:00:00Z", "is not a policy id", false},
		{"pol-web1", "", "is not a run id", false},
		{"#2026-03-27T02:00:00Z", "", "is not a policy id", false},
	}
	for _, tt := range tests {
		key, err := support.ParseRunKey(tt.policy, tt.slot)
		switch {
		case tt.ok && (err != nil || key.RunID() != tt.want):
			t.Errorf("ParseRunKey(%q, %q) = %v, %v; want %s", tt.policy, tt.slot, key, err, tt.want)
		case !tt.ok && (!errors.Is(err, snapkeep.ErrInvalid) || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("ParseRunKey(%q, %q) error %v, want one saying %q", tt.policy, tt.slot, err, tt.want)
		case !tt.ok && strings.Contains(err.Error(), "parsing time"):
			t.Errorf("error %q leaks the parser's wording", err)
		}
	}
}

func TestParseStatusesAndClasses(t *testing.T) {
	got, err := support.ParseStatuses("failed, timed_out,unfinished")
	want := []snapkeep.RunStatus{snapkeep.RunFailed, snapkeep.RunTimedOut, snapkeep.RunClaimed, snapkeep.RunInProgress}
	if err != nil || len(got) != len(want) {
		t.Fatalf("ParseStatuses = %v, %v", got, err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("status %d = %s, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"", "failed,", "FAILED", "done"} {
		if _, err := support.ParseStatuses(bad); !errors.Is(err, snapkeep.ErrInvalid) || !strings.Contains(err.Error(), "is not a run status") {
			t.Errorf("ParseStatuses(%q) = %v", bad, err)
		}
	}
	if c, err := support.ParseClass("provider_error"); err != nil || c != snapkeep.ClassProviderError {
		t.Errorf("ParseClass = %v, %v", c, err)
	}
	_, err = support.ParseClass("server_error")
	if !errors.Is(err, snapkeep.ErrInvalid) || !strings.Contains(err.Error(), "provider_error, rate_limited") {
		t.Errorf("ParseClass(server_error) = %v, want the list of classes", err)
	}
}

func TestResourceKeys(t *testing.T) {
	tests := []struct {
		fn   func(string) (string, error)
		in   string
		want string
	}{
		{support.DropletKey, "3164444", "droplet:3164444"},
		{support.DropletKey, "0", ""},
		{support.DropletKey, "007", ""},
		{support.DropletKey, "-1", ""},
		{support.DropletKey, "3164444x", ""},
		{support.DropletKey, "99999999999999999999", ""},
		{support.VolumeKey, "506f78a4-e098-11e5-ad9f-000f53306ae1", "volume:506f78a4-e098-11e5-ad9f-000f53306ae1"},
		{support.VolumeKey, "506f78a4", ""},
	}
	for _, tt := range tests {
		got, err := tt.fn(tt.in)
		if got != tt.want || (tt.want == "") != errors.Is(err, snapkeep.ErrInvalid) {
			t.Errorf("key of %q = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "strconv") {
			t.Errorf("error %q leaks the parser's wording", err)
		}
	}
}
