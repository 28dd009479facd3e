package snapshot

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func TestPlan(t *testing.T) {
	now := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	own := func(id string, age time.Duration) snapkeep.Snapshot {
		slot := now.Add(-age)
		return snapkeep.Snapshot{ID: id, Name: SnapshotName(snapkeep.NewRunKey("p1", slot)), Created: slot}
	}
	foreign := []snapkeep.Snapshot{
		{ID: "f1", Name: "customer", Created: now.Add(-1000 * time.Hour)},
		{ID: "f2", Name: "snapkeep-p1-x-20261101T000000Z", Created: now.Add(-900 * time.Hour)},
		{ID: "f3", Name: "snapkeep-p1-20261101", Created: now.Add(-900 * time.Hour)},
		{ID: "f4", Name: "snapkeep-p2-20261101T000000Z", Created: now.Add(-900 * time.Hour)},
	}
	day := 24 * time.Hour
	list := append([]snapkeep.Snapshot{own("new", 0), own("d1", day), own("d2", 2*day), own("d3", 3*day), own("d10", 10*day)}, foreign...)
	for _, tc := range []struct {
		name       string
		r          snapkeep.Retention
		kind       snapkeep.ResourceKind
		list       []snapkeep.Snapshot
		keep, dele []string
	}{
		{"no rules keeps all", snapkeep.Retention{}, snapkeep.ResourceDroplet, list, []string{"new", "d1", "d2", "d3", "d10"}, nil},
		{"keep last 2", snapkeep.Retention{KeepLast: 2}, snapkeep.ResourceDroplet, list, []string{"new", "d1"}, []string{"d2", "d3", "d10"}},
		{"max age 5 days", snapkeep.Retention{MaxAgeDays: 5}, snapkeep.ResourceDroplet, list, []string{"new", "d1", "d2", "d3"}, []string{"d10"}},
		{"both: deleted only when both allow", snapkeep.Retention{KeepLast: 1, MaxAgeDays: 2}, snapkeep.ResourceDroplet, list, []string{"new", "d1", "d2"}, []string{"d3", "d10"}},
		{"keep last 1 never deletes the new one", snapkeep.Retention{KeepLast: 1}, snapkeep.ResourceDroplet,
			[]snapkeep.Snapshot{own("d1", day), own("new", 2*day)}, []string{"d1", "new"}, nil},
		{"volume limit makes room", snapkeep.Retention{KeepLast: 30}, snapkeep.ResourceVolume, volumeList(own, 20, 5), nil, []string{"v19"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keep, del := plan("p1", tc.r, tc.kind, "new", tc.list, now)
			if tc.keep != nil && !reflect.DeepEqual(keep, tc.keep) {
				t.Errorf("keep = %v, want %v", keep, tc.keep)
			}
			if !reflect.DeepEqual(del, tc.dele) {
				t.Errorf("delete = %v, want %v", del, tc.dele)
			}
		})
	}
}

// volumeList is the new snapshot, n-1 older own ones (v1..) and f foreign.
func volumeList(own func(string, time.Duration) snapkeep.Snapshot, n, f int) []snapkeep.Snapshot {
	l := []snapkeep.Snapshot{own("new", 0)}
	for i := 1; i < n; i++ {
		l = append(l, own(fmt.Sprintf("v%d", i), time.Duration(i)*time.Hour))
	}
	for i := 0; i < f; i++ {
		l = append(l, snapkeep.Snapshot{ID: fmt.Sprintf("f%d", i), Name: fmt.Sprintf("mine-%d", i)})
	}
	return l
}

func TestOwnSlot(t *testing.T) {
	for name, want := range map[string]bool{
		"snapkeep-p1-20261124T030000Z":   true,
		"snapkeep-p1-20261124T030000":    false,
		"snapkeep-p1-x-20261124T030000Z": false,
		"snapkeep-p10-20261124T030000Z":  false,
		"xsnapkeep-p1-20261124T030000Z":  false,
		"snapkeep-p1-20261324T030000Z":   false,
	} {
		if _, ok := ownSlot("p1", name); ok != want {
			t.Errorf("ownSlot(%q) = %v", name, ok)
		}
	}
}

func TestBackoffs(t *testing.T) {
	for attempts, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute, 4: 8 * time.Minute, 9: 8 * time.Minute} {
		if got := PostBackoff(attempts); got != want {
			t.Errorf("PostBackoff(%d) = %s, want %s", attempts, got, want)
		}
	}
	for _, tt := range []struct{ elapsed, expected, want time.Duration }{
		{elapsed: 0, want: time.Minute},
		{elapsed: 90 * time.Second, want: time.Minute},
		{elapsed: 10 * time.Minute, want: 5 * time.Minute},
		{elapsed: time.Hour, want: 10 * time.Minute},
		// The previous snapshot took 100 minutes: first look at 80.
		{elapsed: 0, expected: 100 * time.Minute, want: 80 * time.Minute},
		{elapsed: 30 * time.Minute, expected: 100 * time.Minute, want: 50 * time.Minute},
		{elapsed: 79*time.Minute + 30*time.Second, expected: 100 * time.Minute, want: time.Minute},
		{elapsed: 80 * time.Minute, expected: 100 * time.Minute, want: 10 * time.Minute},
		// A one-minute snapshot last time changes nothing.
		{elapsed: 0, expected: time.Minute, want: time.Minute},
	} {
		if got := CheckDelay(tt.elapsed, tt.expected); got != tt.want {
			t.Errorf("CheckDelay(%s, expected %s) = %s, want %s", tt.elapsed, tt.expected, got, tt.want)
		}
	}
}
