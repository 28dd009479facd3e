package errorrate_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// evalEpoch is the evaluation tests' virtual clock origin (a UTC midnight).
var evalEpoch = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

const sdDim = snapkeep.Dimension("operation:snapshot_droplet")

// evalAt is minute m of the virtual clock, 30 seconds in.
func evalAt(m int) time.Time { return evalEpoch.Add(time.Duration(m)*time.Minute + 30*time.Second) }

// world is an evaluation test's stores, traffic and clock.
type world struct {
	t         *testing.T
	stats     *memStats
	incidents *memIncidents
	alerts    *alerter
	due       dueRuns
	rng       *rand.Rand
	sd, other *simConfig
	now       time.Time
}

func newWorld(t *testing.T, seed uint64) *world {
	w := &world{t: t, stats: newMemStats(), incidents: newMemIncidents(), alerts: &alerter{},
		rng: seeded(seed), sd: newSimConfig(1200, 0), other: newSimConfig(2400, 0)}
	// 30 days of roll-ups at the 0.05% baseline behind the first day.
	for i, c := range w.sd.history(w.rng, 30) {
		w.stats.setDaily(sdDim, evalEpoch.AddDate(0, 0, i-30), c)
	}
	for i, c := range w.other.history(w.rng, 30) {
		w.stats.setDaily(snapkeep.DimensionAll, evalEpoch.AddDate(0, 0, i-30), c)
	}
	return w
}

// traffic adds minute m's calls: snapshot_droplet failing at rate p, the
// rest of the calls (get_action) at the baseline; "all" is their sum.
func (w *world) traffic(m int, p float64) {
	t := evalEpoch.Add(time.Duration(m) * time.Minute)
	sd := w.sd.minute(w.rng, m, p)
	all := w.other.minute(w.rng, m, 0.0005)
	all.Add(sd)
	w.stats.addMinute(sdDim, t, sd)
	w.stats.addMinute(snapkeep.DimensionAll, t, all)
}

func (w *world) evaluator() *errorrate.Evaluator {
	return &errorrate.Evaluator{Stats: w.stats, Incidents: w.incidents, Runs: w.due, Alerts: w.alerts,
		Now: func() time.Time { return w.now }, Logger: discard}
}

// evaluate runs n evaluators at once at minute m and fails on any error.
func (w *world) evaluate(m, n int) []errorrate.Summary {
	w.t.Helper()
	w.now = evalAt(m)
	sums := make([]errorrate.Summary, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums[i], errs[i] = w.evaluator().Evaluate(context.Background())
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		w.t.Fatalf("minute %d: Evaluate: %v", m, err)
	}
	return sums
}

// count counts the notices of kind n.
func count(ss []sent, n errorrate.Notice) int {
	k := 0
	for _, s := range ss {
		if s.notice == n {
			k++
		}
	}
	return k
}

// TestEvaluateOneAlertOneResolution runs a 2-hour 2% incident on
// snapshot_droplet through three evaluators running at once every minute:
// ops gets one alert and one resolution, whatever the interleaving; the
// same provider event seen in "all" is folded into it, not mailed.
func TestEvaluateOneAlertOneResolution(t *testing.T) {
	w := newWorld(t, 1)
	start, end := 90, 210
	for m := 0; m < 7*60; m++ {
		p := 0.0005
		if m >= start && m < end {
			p = 0.02
		}
		w.traffic(m, p)
		w.evaluate(m, 3)
	}
	got := w.alerts.notices()
	if count(got, errorrate.NoticeAlert) != 1 || count(got, errorrate.NoticeResolution) != 1 || got[0].id != got[1].id {
		t.Fatalf("notices %+v, want one alert and one resolution of one incident", got)
	}
	var primary *snapkeep.Incident
	for _, inc := range w.incidents.all() {
		switch {
		case inc.Open():
			t.Errorf("incident %s still open", inc.IncidentID)
		case strings.HasPrefix(inc.AlertID, errorrate.FoldedPrefix):
			if inc.AlertID != errorrate.FoldedPrefix+got[0].id || inc.ResolutionID != inc.AlertID {
				t.Errorf("folded incident %s: alert %q, resolution %q; want both folded into %s", inc.IncidentID, inc.AlertID, inc.ResolutionID, got[0].id)
			}
		default:
			primary = &inc
		}
	}
	if primary == nil || primary.IncidentID != got[0].id {
		t.Fatalf("no alerted incident %s among %+v", got[0].id, w.incidents.all())
	}
	startedAt := evalEpoch.Add(time.Duration(start) * time.Minute)
	if primary.StartedAt.Before(startedAt.Add(-10*time.Minute)) || primary.StartedAt.After(startedAt.Add(30*time.Minute)) ||
		!primary.OpenedAt.After(primary.StartedAt) || primary.AlertID == "" || primary.ResolutionID == "" ||
		primary.SendError != "" || primary.ResolvedAt == nil || primary.ResolvedAt.Before(startedAt.Add(time.Duration(end-start)*time.Minute)) {
		t.Errorf("primary incident %+v: want a start near minute %d, an alarm after it, one alert, resolved after minute %d", primary, start, end)
	}
	if primary.Rate < 0.005 || primary.PeakRate < primary.Rate || primary.Failures < 3 {
		t.Errorf("primary incident figures: rate %v, peak %v, %d failures", primary.Rate, primary.PeakRate, primary.Failures)
	}
}

// TestEvaluateNoticeFailures: a send that fails for now is retried at the
// next evaluation and recorded meanwhile; an undeliverable one is recorded
// and never tried again.
func TestEvaluateNoticeFailures(t *testing.T) {
	tests := []struct {
		name      string
		fail      error
		failTimes int
		wantSent  int
		wantTries int
		wantError string
	}{
		{"throttled twice", errors.New("TooManyRequests"), 2, 1, 3, ""},
		{"refused for good", fmt.Errorf("%w: recipient suppressed", errorrate.ErrUndeliverable), 1000, 0, 1, "alert: ops notice cannot be delivered: recipient suppressed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, 2)
			tries := 0
			w.alerts.send = func(_ *snapkeep.Incident, n errorrate.Notice, _ int) error {
				if n != errorrate.NoticeAlert {
					return nil
				}
				if tries++; tries <= tt.failTimes {
					return tt.fail
				}
				return nil
			}
			var primary snapkeep.Incident
			for m := 0; m < 150; m++ {
				w.traffic(m, map[bool]float64{true: 0.05, false: 0.0005}[m >= 60])
				w.evaluate(m, 1)
				if tries == 1 && primary.IncidentID == "" {
					for _, inc := range w.incidents.all() {
						if !strings.HasPrefix(inc.AlertID, errorrate.FoldedPrefix) {
							primary = inc
						}
					}
					if primary.SendError == "" || !strings.HasPrefix(primary.SendError, "alert: ") {
						t.Errorf("after the failed send the incident says %q, want the error", primary.SendError)
					}
				}
			}
			if got := count(w.alerts.notices(), errorrate.NoticeAlert); got != tt.wantSent || tries != tt.wantTries {
				t.Errorf("%d alerts sent in %d tries, want %d in %d", got, tries, tt.wantSent, tt.wantTries)
			}
			inc, err := w.incidents.Get(context.Background(), primary.IncidentID)
			if err != nil {
				t.Fatal(err)
			}
			if inc.SendError != tt.wantError || (tt.wantSent == 1) != (inc.AlertID != "") {
				t.Errorf("incident after the sends: error %q, alert id %q; want error %q", inc.SendError, inc.AlertID, tt.wantError)
			}
		})
	}
}

// TestEvaluateClaimTakeover: an alert claimed by an evaluation that
// stopped before recording an outcome is sent once the claim is older than
// ClaimTimeout, not before.
func TestEvaluateClaimTakeover(t *testing.T) {
	tests := []struct {
		name string
		// claimAge is how old the claim is (0: none); openedAgo how long
		// ago the incident was opened (by another evaluation).
		claimAge, openedAgo time.Duration
		wantSent            int
	}{
		{"fresh claim: another evaluation is sending", time.Minute, 5 * time.Minute, 0},
		{"stale claim: taken over", 10 * time.Minute, 10 * time.Minute, 1},
		{"just opened elsewhere: its evaluation alerts it", 0, 2 * time.Minute, 0},
		{"opened elsewhere, never tried: alerted here", 0, 10 * time.Minute, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, 3)
			w.now = evalAt(100)
			inc := snapkeep.Incident{
				IncidentID: "provider_error#" + string(sdDim) + "#2026-03-02T01:20Z", Kind: snapkeep.IncidentProvider,
				Dimension: sdDim, Class: snapkeep.ClassProviderError, State: snapkeep.IncidentFiring,
				OpenState: snapkeep.OpenIncident, StartedAt: evalAt(80), OpenedAt: w.now.Add(-tt.openedAgo),
				Detector: errorrate.DetectorCUSUM, UpdatedAt: w.now.Add(-time.Minute),
			}
			if tt.claimAge > 0 {
				claimed := w.now.Add(-tt.claimAge)
				inc.AlertedAt = &claimed
			}
			if err := w.incidents.Create(context.Background(), &inc); err != nil {
				t.Fatal(err)
			}
			w.traffic(97, 0.0005)
			w.evaluate(100, 1)
			if got := count(w.alerts.notices(), errorrate.NoticeAlert); got != tt.wantSent {
				t.Errorf("%d alerts sent, want %d", got, tt.wantSent)
			}
		})
	}
}

// TestEvaluatePipeline: runs due, no call outcome at all: after the
// silence rule's 30 minutes a pipeline incident opens and ops is alerted
// once; outcomes arriving again resolve it, once.
func TestEvaluatePipeline(t *testing.T) {
	w := newWorld(t, 4)
	due := evalEpoch.Add(10 * time.Minute)
	w.due.first = func(from, to time.Time) time.Time {
		if !due.Before(from) && !due.After(to) {
			return due
		}
		return time.Time{}
	}
	opened := -1
	for m := 0; m < 120; m++ {
		if m >= 80 {
			w.traffic(m, 0.0005)
		}
		w.evaluate(m, 2)
		if opened < 0 && count(w.alerts.notices(), errorrate.NoticeAlert) > 0 {
			opened = m
		}
	}
	got := w.alerts.notices()
	id := "pipeline#all#2026-03-02T00:10Z"
	if len(got) != 2 || got[0] != (sent{id, errorrate.NoticeAlert}) || got[1] != (sent{id, errorrate.NoticeResolution}) {
		t.Fatalf("notices %+v, want the pipeline incident's alert and resolution", got)
	}
	if opened < 40 || opened > 42 {
		t.Errorf("pipeline alert at minute %d, want 30 minutes after the run fell due (10)", opened)
	}
}

// TestEvaluateRollUpAndBaseline: the evaluation after midnight writes the
// previous day's roll-up once (the sum of its minutes), and the baseline
// is computed from the roll-ups once a day.
func TestEvaluateRollUpAndBaseline(t *testing.T) {
	w := newWorld(t, 5)
	var want errorrate.Counts
	for m := 23 * 60; m < 24*60+20; m++ {
		w.traffic(m, 0.0005)
		if m < 24*60 {
			want.Add(w.stats.minutes[snapkeep.DimensionAll][evalEpoch.Add(time.Duration(m)*time.Minute).Unix()])
		}
		w.evaluate(m, 1)
	}
	day := evalEpoch.Format(time.DateOnly)
	if n := w.stats.puts["all@"+day]; n != 1 {
		t.Fatalf("roll-up of %s written %d times, want once (puts %v)", day, n, w.stats.puts)
	}
	got := w.stats.daily[snapkeep.DimensionAll][evalEpoch.Unix()]
	if got.Calls != want.Calls || got.Failures != want.Failures || got.Calls == 0 {
		t.Errorf("roll-up %+v, want the day's %d calls and %d failures", got, want.Calls, want.Failures)
	}
	watch, err := w.stats.LoadWatch(context.Background(), snapkeep.DimensionAll)
	if err != nil {
		t.Fatal(err)
	}
	if !watch.BaselineDay.Equal(evalEpoch.AddDate(0, 0, 1)) || watch.Baseline.Days != 30 || watch.Baseline.Rate < 0.0005 {
		t.Errorf("baseline %+v of %s, want 30 days' as of the new day", watch.Baseline, watch.BaselineDay)
	}
}

// TestEvaluateLosesWatchRace: a Watch saved by another evaluation first is
// not an error (that evaluation stepped the same minutes).
func TestEvaluateLosesWatchRace(t *testing.T) {
	w := newWorld(t, 6)
	w.stats.conflict = func(d snapkeep.Dimension) bool { return d == sdDim }
	w.traffic(0, 0.0005)
	w.traffic(1, 0.0005)
	sums := w.evaluate(5, 1)
	if sums[0].Dimensions != 2 || sums[0].Minutes == 0 {
		t.Errorf("summary %+v, want both dimensions stepped", sums[0])
	}
	if _, err := w.stats.LoadWatch(context.Background(), sdDim); !errors.Is(err, snapkeep.ErrNotFound) {
		t.Errorf("the losing watch was saved: %v", err)
	}
}

// TestEvaluatorCheck: a missing port is refused with what is missing.
func TestEvaluatorCheck(t *testing.T) {
	if err := (&errorrate.Evaluator{}).Check(); err == nil || !strings.Contains(err.Error(), "required") {
		t.Errorf("Check of an empty evaluator: %v", err)
	}
	w := newWorld(t, 7)
	if err := w.evaluator().Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
}

// TestEvaluateOpenIndexLags: the open index lists nothing (it is
// eventually consistent); the incident (of the one dimension with
// traffic) still updates and resolves, once, because the watch remembers
// the incident it opened.
func TestEvaluateOpenIndexLags(t *testing.T) {
	w := newWorld(t, 8)
	w.incidents.hideOpen = true
	for m := 0; m < 6*60; m++ {
		p := map[bool]float64{true: 0.03, false: 0.0005}[m >= 60 && m < 150]
		w.stats.addMinute(sdDim, evalEpoch.Add(time.Duration(m)*time.Minute), w.sd.minute(w.rng, m, p))
		w.evaluate(m, 1)
	}
	got := w.alerts.notices()
	if count(got, errorrate.NoticeAlert) != 1 || count(got, errorrate.NoticeResolution) != 1 {
		t.Fatalf("notices %+v, want one alert and one resolution", got)
	}
	for _, inc := range w.incidents.all() {
		if inc.Open() {
			t.Errorf("incident %s left open", inc.IncidentID)
		}
	}
}
