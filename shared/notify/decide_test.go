package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func TestDecide(t *testing.T) {
	inc := &snapkeep.Incident{IncidentID: "inc-1"}
	run := func(status, prev snapkeep.RunStatus) *snapkeep.Run {
		return &snapkeep.Run{Status: status, PrevStatus: prev, ErrorClass: snapkeep.ClassProviderError}
	}
	failed, timedOut := snapkeep.RunFailed, snapkeep.RunTimedOut
	ok, none := snapkeep.RunSucceeded, snapkeep.RunStatus("")
	every, first := snapkeep.NotifyEveryFailure, snapkeep.NotifyFirstFailure
	digest, off := snapkeep.NotifyDailyDigest, snapkeep.NotifyNone
	for _, tc := range []struct {
		name     string
		s        Situation
		want     snapkeep.NoticeKind
		incident bool
		warning  bool
	}{
		{"every: failure", Situation{Run: run(failed, ok), Mode: every}, snapkeep.NoticeFailure, false, false},
		{"default mode is every_failure", Situation{Run: run(failed, failed), Mode: ""}, snapkeep.NoticeFailure, false, false},
		{"unknown mode read as every_failure", Situation{Run: run(timedOut, failed), Mode: "sometimes"}, snapkeep.NoticeFailure, false, true},
		{"every: failure after failure", Situation{Run: run(failed, failed), Mode: every}, snapkeep.NoticeFailure, false, false},
		{"every: open incident changes the wording", Situation{Run: run(failed, ok), Mode: every, Covering: inc}, snapkeep.NoticeFailure, true, false},
		{"every: recovery", Situation{Run: run(ok, timedOut), Mode: every}, snapkeep.NoticeRecovery, false, false},
		{"every: success after success", Situation{Run: run(ok, ok), Mode: every}, snapkeep.NoticeSkipped, false, false},
		{"every: first success", Situation{Run: run(ok, none), Mode: every}, snapkeep.NoticeSkipped, false, false},
		{"first: first failure after success", Situation{Run: run(failed, ok), Mode: first}, snapkeep.NoticeFailure, false, false},
		{"first: first run fails", Situation{Run: run(timedOut, none), Mode: first}, snapkeep.NoticeFailure, false, false},
		{"first: failure after failure", Situation{Run: run(failed, failed), Mode: first}, snapkeep.NoticeSkipped, false, false},
		{"first: failure after time-out", Situation{Run: run(failed, timedOut), Mode: first}, snapkeep.NoticeSkipped, false, false},
		{"first: recovery", Situation{Run: run(ok, failed), Mode: first}, snapkeep.NoticeRecovery, false, false},
		{"digest: failure waits", Situation{Run: run(failed, ok), Mode: digest, Hold: true, Covering: inc}, snapkeep.NoticeDigest, false, false},
		{"digest: recovery skipped", Situation{Run: run(ok, failed), Mode: digest}, snapkeep.NoticeSkipped, false, false},
		{"none: failure skipped", Situation{Run: run(failed, ok), Mode: off, Hold: true, Covering: inc}, snapkeep.NoticeSkipped, false, false},
		{"none: recovery skipped", Situation{Run: run(ok, failed), Mode: off}, snapkeep.NoticeSkipped, false, false},
		{"hold: covered failure held", Situation{Run: run(failed, ok), Mode: every, Hold: true, Covering: inc}, snapkeep.NoticeHeld, true, false},
		{"hold: first_failure's later failure held too", Situation{Run: run(failed, failed), Mode: first, Hold: true, Covering: inc}, snapkeep.NoticeHeld, true, false},
		{"hold: uncovered failure told", Situation{Run: run(failed, ok), Mode: every, Hold: true}, snapkeep.NoticeFailure, false, false},
		{"hold off: covered failure told with the incident", Situation{Run: run(failed, ok), Mode: every, Covering: inc}, snapkeep.NoticeFailure, true, false},
		{"hold: recovery after a held failure skipped", Situation{Run: run(ok, failed), Mode: every, Hold: true, PrevHeld: true}, snapkeep.NoticeSkipped, false, false},
		{"recovery after a told failure", Situation{Run: run(ok, failed), Mode: every, Hold: true}, snapkeep.NoticeRecovery, false, false},
		{"skipped run", Situation{Run: run(snapkeep.RunSkipped, failed), Mode: every}, snapkeep.NoticeSkipped, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.s)
			if d.Kind != tc.want || (d.Incident != nil) != tc.incident || (d.Warning != "") != tc.warning {
				t.Errorf("Decide = %+v; want kind %s, incident %v, warning %v", d, tc.want, tc.incident, tc.warning)
			}
			if (d.Kind == snapkeep.NoticeSkipped || d.Kind == snapkeep.NoticeHeld) && d.Why == "" {
				t.Errorf("Decide = %+v: a %s decision must say why", d, d.Kind)
			}
		})
	}
}

func TestCoveringPicksTheOldestCovering(t *testing.T) {
	run := &snapkeep.Run{Status: snapkeep.RunFailed, ErrorClass: snapkeep.ClassProviderError,
		Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, Region: "nyc3"}}
	mk := func(id string, dim snapkeep.Dimension) snapkeep.Incident {
		return snapkeep.Incident{IncidentID: id, Kind: snapkeep.IncidentProvider, Dimension: dim, State: snapkeep.IncidentFiring}
	}
	open := []snapkeep.Incident{mk("fra1", snapkeep.RegionDimension("fra1")), mk("nyc3", snapkeep.RegionDimension("nyc3")), mk("all", snapkeep.DimensionAll)}
	if got := Covering(open, run); got == nil || got.IncidentID != "nyc3" {
		t.Errorf("Covering = %+v, want nyc3 (the first that covers)", got)
	}
	run.ErrorClass = snapkeep.ClassAuthRevoked
	if got := Covering(open, run); got != nil {
		t.Errorf("Covering of an auth_revoked failure = %+v, want none (not DigitalOcean's)", got)
	}
}

func TestNextDigest(t *testing.T) {
	day := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, time.UTC) }
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, tc := range []struct {
		t, want time.Time
	}{
		{day(24, 7, 59), day(24, 8, 0)},
		{day(24, 8, 0), day(25, 8, 0)},
		{day(24, 23, 30), day(25, 8, 0)},
		{day(30, 12, 0), time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)},
		{time.Date(2026, 11, 24, 8, 30, 0, 0, berlin), day(24, 8, 0)}, // 07:30 UTC: the rule is UTC's
	} {
		if got := NextDigest(tc.t, 8); !got.Equal(tc.want) {
			t.Errorf("NextDigest(%v) = %v, want %v", tc.t, got, tc.want)
		}
	}
	if got := DigestMailingID(day(25, 8, 0)); !strings.HasPrefix(got, "digest#2026-11-25") {
		t.Errorf("DigestMailingID = %q", got)
	}
}
