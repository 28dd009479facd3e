package policysync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/policysync"
	"github.com/snapkeep/snapkeep/shared/scheduler"
	"github.com/snapkeep/snapkeep/shared/scheduler/schedulertest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// fleet returns n valid policies pol-00000 ... and their ids.
func fleet(n int) ([]snapkeep.Policy, []string) {
	ps := make([]snapkeep.Policy, n)
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("pol-%05d", i)
		ps[i] = policy(ids[i])
	}
	return ps, ids
}

// requestLog records, per operation, the virtual time of each request the
// fake Scheduler received and which schedules GetSchedule was asked for.
type requestLog struct {
	mu   sync.Mutex
	at   map[string][]time.Time
	gets map[string]int
}

func (r *rig) logRequests() *requestLog {
	l := &requestLog{at: map[string][]time.Time{}, gets: map[string]int{}}
	r.fake.Fail = func(op, name string) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.at[op] = append(l.at[op], r.clock.Now())
		if op == "GetSchedule" {
			l.gets[name]++
		}
		return nil
	}
	return l
}

// maxInAnySecond is the most requests of op in any one-second window.
func (l *requestLog) maxInAnySecond(op string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	at := l.at[op]
	most := 0
	for i, j := 0, 0; i < len(at); i++ {
		for at[i].Sub(at[j]) >= time.Second {
			j++
		}
		most = max(most, i-j+1)
	}
	return most
}

func TestReconcilePacesEachOperationToItsRate(t *testing.T) {
	ps, ids := fleet(1000)
	rates := scheduler.Rates{ListSchedules: 5, GetSchedule: 100, CreateSchedule: 50, UpdateSchedule: 100, DeleteSchedule: 20}
	r := newRig(newMemTable(ps...), rates)
	r.rec.Workers, r.rec.PageLimit = 1, 500
	r.schedule(ids[:800]...) // 200 lost records
	for _, id := range ids[800:850] {
		r.orphan("gone-" + id)
	}
	log := r.logRequests()
	start := r.clock.Now()
	rep, err := r.rec.Reconcile(context.Background())
	if err != nil || rep.Err() != nil {
		t.Fatalf("Reconcile: %v / %v", err, rep.Err())
	}
	if rep.Created.Count != 200 || rep.Deleted.Count != 50 || rep.Unchanged != 800 {
		t.Fatalf("report %+v", rep)
	}
	for op, rate := range map[string]float64{
		"ListSchedules": rates.ListSchedules, "GetSchedule": rates.GetSchedule,
		"CreateSchedule": rates.CreateSchedule, "DeleteSchedule": rates.DeleteSchedule,
	} {
		if got := log.maxInAnySecond(op); got > int(rate) || got == 0 {
			t.Errorf("%s: %d requests in one second, want 1 to %v", op, got, rate)
		}
	}
	// No faster than the busiest bucket allows, no slower than all of
	// them one after another (one worker).
	elapsed := r.clock.Now().Sub(start)
	var fastest, slowest time.Duration
	for op, rate := range map[string]float64{
		"ListSchedules": rates.ListSchedules, "GetSchedule": rates.GetSchedule,
		"CreateSchedule": rates.CreateSchedule, "DeleteSchedule": rates.DeleteSchedule,
	} {
		n := len(log.at[op])
		fastest = max(fastest, time.Duration(float64(n-1)/rate*float64(time.Second)))
		slowest += time.Duration(float64(n) / rate * float64(time.Second))
	}
	if elapsed < fastest || elapsed > slowest {
		t.Errorf("reconcile took %v on the virtual clock, want %v to %v", elapsed, fastest, slowest)
	}
	// One GetSchedule per policy; an orphan's sync goes straight to
	// DeleteSchedule.
	if n, d := len(log.at["GetSchedule"]), len(log.at["DeleteSchedule"]); n != 1000 || d != 50 {
		t.Errorf("%d GetSchedule and %d DeleteSchedule, want 1,000 and 50", n, d)
	}
	if rep.Elapsed != elapsed.Round(time.Millisecond).Seconds() {
		t.Errorf("report elapsed %v s, clock %v", rep.Elapsed, elapsed)
	}
}

func TestReconcileBacksOffWhenThrottled(t *testing.T) {
	ps, ids := fleet(20)
	r := newRig(newMemTable(ps...), scheduler.Rates{GetSchedule: 1000, CreateSchedule: 1000, ListSchedules: 1000, UpdateSchedule: 1000, DeleteSchedule: 1000})
	r.rec.Workers = 1
	r.schedule(ids[:10]...)
	throttles := map[string]int{"pol-00003": 2, "pol-00012": 1, "pol-00017": 99} // Get throttles per policy
	var mu sync.Mutex
	r.fake.Fail = func(op, name string) error {
		mu.Lock()
		defer mu.Unlock()
		if op == "GetSchedule" && throttles[name] > 0 {
			throttles[name]--
			return schedulertest.Throttled()
		}
		return nil
	}
	start := r.clock.Now()
	rep, err := r.rec.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// pol-00017 is throttled on every attempt: it fails after
	// MaxAttempts, the others are repaired around it.
	if rep.Failed.Count != 1 || !slices.Equal(rep.Failed.PolicyIDs, []string{"pol-00017"}) ||
		!strings.Contains(rep.FailedError, "Rate exceeded") || rep.Err() == nil {
		t.Fatalf("failed %+v (%q), Err %v", rep.Failed, rep.FailedError, rep.Err())
	}
	if rep.Created.Count != 9 || rep.Unchanged != 10 {
		t.Errorf("report %+v", rep)
	}
	// Backoffs: 1+2 s (pol-00003), 1 s (pol-00012), 1+2+4+8 s (pol-00017).
	wantRetries, wantPause := 2+1+(scheduler.MaxAttempts-1), 19*time.Second
	if r.paced.Retries() != wantRetries {
		t.Errorf("retries %d, want %d", r.paced.Retries(), wantRetries)
	}
	if elapsed := r.clock.Now().Sub(start); elapsed < wantPause || elapsed > wantPause+time.Second {
		t.Errorf("took %v, want the %v of backoff and a little", elapsed, wantPause)
	}
	// The next run, unthrottled, repairs the one left.
	r.fake.Fail = nil
	again, err := r.rec.Reconcile(context.Background())
	if err != nil || again.Err() != nil || !slices.Equal(again.Created.PolicyIDs, []string{"pol-00017"}) {
		t.Fatalf("second run: %v / %v: %+v", err, again.Err(), again)
	}
	r.assertInStep(t, ids...)
}

func TestReconcilePauseHoldsTheWholeBucket(t *testing.T) {
	clk := newVirtualClock()
	l := policysync.NewLimiter(10, 1, clk.clock())
	ctx := context.Background()
	var at []time.Duration
	start := clk.Now()
	for i := range 4 {
		if i == 2 {
			l.Pause(3 * time.Second)
			l.Pause(time.Second) // a shorter pause does not cut it short
		}
		if err := l.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		at = append(at, clk.Now().Sub(start))
	}
	// The pause runs from 0.1 s to 3.1 s; the bucket then refills from
	// empty, so no burst follows it.
	want := []time.Duration{0, 100 * time.Millisecond, 3200 * time.Millisecond, 3300 * time.Millisecond}
	if !slices.Equal(at, want) {
		t.Errorf("admitted at %v, want %v", at, want)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.Wait(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait on a cancelled context: %v", err)
	}
	if n, waited := l.Stats(); n != 4 || waited != 3300*time.Millisecond {
		t.Errorf("stats %d admitted, %v waited", n, waited)
	}
}

// budgetRig is a reconciler that can compare about 300 of 1,000 policies
// per run: 100 GetSchedule a second for a 3-second budget.
func budgetRig() (*rig, []string) {
	ps, ids := fleet(1000)
	r := newRig(newMemTable(ps...), scheduler.Rates{ListSchedules: 1000, GetSchedule: 100, CreateSchedule: 1000, UpdateSchedule: 1000, DeleteSchedule: 1000})
	r.rec.Workers, r.rec.Budget, r.rec.Segments, r.rec.PageLimit = 1, 3*time.Second, 4, 50
	r.schedule(ids[:900]...)
	r.orphan("gone")
	return r, ids
}

func TestReconcileStopsAtItsBudgetAndMovesOn(t *testing.T) {
	r, ids := budgetRig()
	log := r.logRequests()
	seen := map[string]bool{}
	var firsts []int
	for run := range 4 {
		rep, err := r.rec.Reconcile(context.Background())
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if rep.Complete || rep.Stopped != "time budget used up" || rep.Err() == nil || rep.Policies < 250 || rep.Policies > 350 {
			t.Fatalf("run %d: complete %t, stopped %q, compared %d", run, rep.Complete, rep.Stopped, rep.Policies)
		}
		// Orphans are only removed by a complete run.
		if rep.Deleted.Count != 0 || !slices.Contains(r.fake.Names(group), "gone") {
			t.Errorf("run %d deleted orphans from an incomplete comparison", run)
		}
		firsts = append(firsts, rep.FirstSegment)
		for name := range log.gets {
			seen[name] = true
		}
		r.clock.Advance(policysync.DefaultPeriod)
	}
	if !slices.Equal(firsts, []int{firsts[0], (firsts[0] + 1) % 4, (firsts[0] + 2) % 4, (firsts[0] + 3) % 4}) {
		t.Errorf("first segments %v, want one after another", firsts)
	}
	// Runs that cannot finish still reach every policy, a segment further
	// each period.
	for _, id := range ids {
		if !seen[id] {
			t.Fatalf("policy %s never compared in 4 runs", id)
		}
	}
	// With time enough, one run completes and removes the orphan.
	r.rec.Budget = time.Hour
	rep, err := r.rec.Reconcile(context.Background())
	if err != nil || rep.Err() != nil || rep.Deleted.Count != 1 {
		t.Fatalf("unbounded run: %v / %v: %+v", err, rep.Err(), rep)
	}
	r.assertInStep(t, ids...)
}

func TestReconcileBudgetFollowsTheDeadline(t *testing.T) {
	r, _ := budgetRig()
	r.rec.Budget = time.Hour
	// A context that ends within StopMargin leaves no budget at all.
	ctx, cancel := context.WithTimeout(context.Background(), policysync.StopMargin/2)
	defer cancel()
	rep, err := r.rec.Reconcile(ctx)
	if err != nil || rep.Complete || rep.Stopped != "time budget used up" || rep.Schedules != 0 || rep.Policies != 0 {
		t.Fatalf("Reconcile: %v: %+v", err, rep)
	}
	cancelled, stop := context.WithCancel(context.Background())
	stop()
	rep, _ = r.rec.Reconcile(cancelled)
	if rep.Complete || !strings.Contains(rep.Stopped, "context canceled") {
		t.Errorf("cancelled: %+v", rep)
	}
}

func TestReconcileReportBoundsIDs(t *testing.T) {
	ps, ids := fleet(policysync.MaxReportedIDs + 15)
	r := newRig(newMemTable(ps...), scheduler.Rates{})
	rep, err := r.rec.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created.Count != len(ids) || !slices.Equal(rep.Created.PolicyIDs, ids[:policysync.MaxReportedIDs]) {
		t.Errorf("created %d %q, want %d and the first %d ids", rep.Created.Count, rep.Created.PolicyIDs, len(ids), policysync.MaxReportedIDs)
	}
}

func TestReconcileStopsWhenListingOrScanningFails(t *testing.T) {
	boom := errors.New("boom")
	ps, ids := fleet(5)
	tests := []struct {
		name  string
		spoil func(r *rig)
		want  string
	}{
		{"list", func(r *rig) {
			r.fake.Fail = func(op, _ string) error {
				if op == "ListSchedules" {
					return boom
				}
				return nil
			}
		}, "list schedules"},
		{"scan", func(r *rig) {
			reader := r.table.reader()
			reader.scan = func(context.Context, int, int, int, string) ([]string, string, error) { return nil, "", boom }
			r.rec.Policies = reader
		}, "scan policies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(newMemTable(ps...), scheduler.Rates{})
			r.schedule(ids[:2]...)
			r.orphan("gone")
			tt.spoil(r)
			rep, err := r.rec.Reconcile(context.Background())
			if !errors.Is(err, boom) || !strings.Contains(err.Error(), tt.want) || rep.Complete || !strings.Contains(rep.Stopped, tt.want) {
				t.Fatalf("Reconcile: %v, report %+v", err, rep)
			}
			if slices.Contains(r.fake.Names(group), "gone") == false {
				t.Errorf("an orphan was deleted by a run that could not compare")
			}
		})
	}
}

func TestReconcileLogsOneLine(t *testing.T) {
	r, _ := driftRig()
	var buf bytes.Buffer
	r.rec.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	if _, err := r.rec.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1:\n%s", len(lines), buf.String())
	}
	var line struct {
		Msg    string `json:"msg"`
		Level  string `json:"level"`
		Report struct {
			Complete bool `json:"complete"`
			Created  struct {
				Count     int      `json:"count"`
				PolicyIDs []string `json:"policy_ids"`
			} `json:"created"`
			Deleted struct {
				Count int `json:"count"`
			} `json:"deleted"`
		} `json:"report"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatalf("log line %s: %v", lines[0], err)
	}
	if line.Msg != "schedules reconciled" || line.Level != "INFO" || !line.Report.Complete ||
		line.Report.Created.Count != 2 || len(line.Report.Created.PolicyIDs) != 2 || line.Report.Deleted.Count != 2 {
		t.Errorf("log line %s", lines[0])
	}
}

func TestReconcileManyWorkersUnpaced(t *testing.T) {
	ps, ids := fleet(3000)
	r := newRig(newMemTable(ps...), scheduler.Rates{})
	r.rec.Workers, r.rec.PageLimit = 32, 100
	r.schedule(ids[1000:]...)
	for i := 2000; i < 2100; i++ {
		r.fake.Remove(group, ids[i])
	}
	rep, err := r.rec.Reconcile(context.Background())
	if err != nil || rep.Err() != nil || rep.Created.Count != 1100 || rep.Unchanged != 1900 {
		t.Fatalf("Reconcile: %v / %v: %+v", err, rep.Err(), rep)
	}
	r.assertInStep(t, ids...)
}
