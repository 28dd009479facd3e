package policysync

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// PolicyScanner pages through the id of every policy
// (*dynamo.PolicyStore implements it, with a paginated parallel Scan).
type PolicyScanner interface {
	// ScanPolicyIDs returns the next page, at most limit ids, of segment
	// (0-based) of segments of the Policies table, from cursor ("" is the
	// segment's start), and the cursor of the page after it ("" when the
	// segment is done). Pages of one segment never repeat an id.
	ScanPolicyIDs(ctx context.Context, segment, segments, limit int, cursor string) (ids []string, next string, err error)
}

// ScheduleLister pages through the names of every schedule in the stage's
// schedule group (*scheduler.Schedules implements it).
type ScheduleLister interface {
	// ScheduleNames returns one page of names from token ("" is the first
	// page) and the token of the next page ("" after the last).
	ScheduleNames(ctx context.Context, token string) (names []string, next string, err error)
}

// Reconciler defaults. At them and shared/scheduler's ReconcileRates, one
// reconcile of 100,000 policies takes 8 minutes in a main Region (80 s of
// ListSchedules, 400 s of GetSchedule) and 28 in the others, whose
// GetSchedule quota is a quarter as high (BenchmarkReconcile).
const (
	// DefaultBudget is how long a reconcile starts new work: it stops in
	// time for the next period (DefaultPeriod) and well inside Lambda's
	// 15-minute limit.
	DefaultBudget = 10 * time.Minute
	// DefaultPeriod is how often the reconcile runs (template.yaml's
	// Reconcile schedule); it picks the first scan segment of each run.
	DefaultPeriod = 15 * time.Minute
	// DefaultWorkers is how many policies are synced at once: enough to
	// keep the Scheduler token buckets busy (250 GetSchedule/s at ~50 ms
	// each needs about 13), few enough for a 256 MB function.
	DefaultWorkers = 16
	// DefaultSegments splits the Policies scan, so that a run that cannot
	// finish still moves on: each run starts at the next segment.
	DefaultSegments = 8
	// DefaultPageLimit is the Scan's Limit, in items per page.
	DefaultPageLimit = 500
	// DefaultScanRate paces the Scan, in pages a second (2,500 ids/s, ten
	// times what the Scheduler quotas let the syncs take).
	DefaultScanRate = 5
	// MaxReportedIDs bounds the policy ids a Report lists per kind.
	MaxReportedIDs = 20
	// StopMargin is kept free before the invocation's deadline: work in
	// flight when the budget ends has this long to finish.
	StopMargin = 30 * time.Second
)

// Reconciler compares the Policies table with the stage's schedule group
// and repairs every difference through Syncer, the stream's own code path
// (one rule for what a schedule must look like):
//
//   - a policy without a schedule: created (a lost stream record);
//   - a schedule whose fields differ from what its policy implies
//     (expression, time zone, state, target, role, input, flexible window,
//     retry policy, dead-letter queue, or fields we never set): updated;
//   - a schedule without a policy: deleted;
//   - an invalid policy with a schedule, or without its mark: its schedule
//     deleted and the policy marked.
//
// A run lists every schedule name (ListSchedules, paged), then scans the
// Policies table page by page (segment after segment, starting at a
// segment that moves on each period) and syncs each policy, Workers at a
// time; each policy is re-read with a consistent read, so the scan itself
// can be eventually consistent. The names left over once every policy was
// seen are synced last: their policy is gone (or new since the scan, in
// which case the sync keeps the schedule). A second run finds nothing to
// repair.
//
// It is rate-limited twice over: the scan by its own token bucket
// (ScanRate pages of PageLimit ids), and every Scheduler request by the
// adapter's per-operation buckets, which also back off on throttling.
//
// It is bounded by Budget: no new work starts after it (nor within
// StopMargin of the context's deadline). A run that stops early reports
// Complete false and deletes no orphan, and the next run starts at the next
// scan segment, so with Segments > 1 every policy is still reached within a
// few periods. Orphans are only removed by a complete run: past the scale
// one invocation can cover, raise the Scheduler quotas and the rates (see
// docs/ARCHITECTURE.md).
type Reconciler struct {
	// Syncer repairs one policy.
	Syncer *Syncer
	// Policies pages through the policy ids.
	Policies PolicyScanner
	// Schedules pages through the group's schedule names.
	Schedules ScheduleLister
	// Clock paces the scan and measures the budget.
	Clock Clock
	// Budget is how long a run starts new work; 0 means DefaultBudget.
	Budget time.Duration
	// Period is how often runs start; 0 means DefaultPeriod.
	Period time.Duration
	// Workers is how many policies are synced at once; 0 means
	// DefaultWorkers.
	Workers int
	// Segments is how many parts the scan is cut into; 0 means
	// DefaultSegments.
	Segments int
	// PageLimit is the Scan's page size; 0 means DefaultPageLimit.
	PageLimit int
	// ScanRate is the Scan's pace in pages a second; 0 means
	// DefaultScanRate.
	ScanRate float64
	// Logger receives the run's report as one line; nil discards.
	Logger *slog.Logger

	once sync.Once
	scan *Limiter
}

// Reconcile runs one reconcile and returns its report. The error is not
// nil only when listing the schedules or scanning the policies failed, so
// the comparison could not go on; repairs that failed and a run that ran
// out of budget are in the report (see Report.Err).
func (r *Reconciler) Reconcile(ctx context.Context) (*Report, error) {
	start := r.Clock.now()
	run := &reconcileRun{r: r, ctx: ctx, stopAt: start.Add(r.budget(ctx))}
	run.rep = &Report{Started: start.UTC(), Segments: r.segments()}
	run.sem = make(chan struct{}, r.workers())
	err := run.do()
	run.rep.Elapsed = r.Clock.now().Sub(start).Round(time.Millisecond).Seconds()
	if err != nil {
		run.rep.Stopped = snapkeep.Bound(err.Error(), 500)
	}
	run.rep.finish()
	r.log(ctx, run.rep, err)
	return run.rep, err
}

// reconcileRun is the state of one Reconcile.
type reconcileRun struct {
	r      *Reconciler
	ctx    context.Context
	stopAt time.Time
	rep    *Report
	listed map[string]bool // names listed and not yet matched to a policy

	sem chan struct{}
	wg  sync.WaitGroup
	mu  sync.Mutex // guards rep while workers run
}

func (run *reconcileRun) do() error {
	if err := run.listSchedules(); err != nil || run.rep.Stopped != "" {
		return err
	}
	if err := run.scanPolicies(); err != nil || run.rep.Stopped != "" {
		return err
	}
	run.syncOrphans()
	if run.rep.Stopped == "" {
		run.rep.Complete = true
	}
	return nil
}

// outOfTime reports whether new work must not start, saying why in the
// report.
func (run *reconcileRun) outOfTime() bool {
	if run.rep.Stopped != "" {
		return true
	}
	if err := run.ctx.Err(); err != nil {
		run.rep.Stopped = "context ended: " + err.Error()
		return true
	}
	if !run.r.Clock.now().Before(run.stopAt) {
		run.rep.Stopped = "time budget used up"
		return true
	}
	return false
}

func (run *reconcileRun) listSchedules() error {
	run.listed = map[string]bool{}
	token := ""
	for {
		if run.outOfTime() {
			return nil
		}
		names, next, err := run.r.Schedules.ScheduleNames(run.ctx, token)
		if err != nil {
			return fmt.Errorf("reconcile schedules: list schedules: %w", err)
		}
		for _, n := range names {
			run.listed[n] = true
		}
		if next == "" {
			run.rep.Schedules = len(run.listed)
			return nil
		}
		token = next
	}
}

func (run *reconcileRun) scanPolicies() error {
	segs := run.r.segments()
	first := int(run.rep.Started.Unix()/int64(run.r.period().Seconds())) % segs
	run.rep.FirstSegment = first
	for i := range segs {
		seg := (first + i) % segs
		cursor := ""
		for {
			if run.outOfTime() {
				return nil
			}
			if err := run.r.scanLimiter().Wait(run.ctx); err != nil {
				run.outOfTime()
				return nil
			}
			ids, next, err := run.r.Policies.ScanPolicyIDs(run.ctx, seg, segs, run.r.pageLimit(), cursor)
			if err != nil {
				return fmt.Errorf("reconcile schedules: scan policies (segment %d of %d): %w", seg, segs, err)
			}
			for _, id := range ids {
				if run.outOfTime() {
					break
				}
				listed := run.listed[id]
				delete(run.listed, id)
				run.rep.Policies++
				run.start(id, listed)
			}
			run.wg.Wait()
			if next == "" || run.rep.Stopped != "" {
				break
			}
			cursor = next
		}
		if run.rep.Stopped != "" {
			return nil
		}
		run.rep.SegmentsDone++
	}
	return nil
}

// syncOrphans syncs the names no policy claimed, in order.
func (run *reconcileRun) syncOrphans() {
	names := make([]string, 0, len(run.listed))
	for n := range run.listed {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if run.outOfTime() {
			break
		}
		run.rep.Orphans++
		run.start(n, true)
	}
	run.wg.Wait()
}

// start syncs one policy on a worker, waiting for a free one.
func (run *reconcileRun) start(policyID string, listed bool) {
	run.sem <- struct{}{}
	run.wg.Add(1)
	go func() {
		defer func() { <-run.sem; run.wg.Done() }()
		c, err := run.r.Syncer.sync(run.ctx, policyID)
		run.mu.Lock()
		defer run.mu.Unlock()
		run.rep.record(policyID, listed, c, err)
	}()
}

func (r *Reconciler) log(ctx context.Context, rep *Report, err error) {
	if r.Logger == nil {
		return
	}
	level := slog.LevelInfo
	if err != nil || rep.Err() != nil {
		level = slog.LevelError
	}
	r.Logger.Log(ctx, level, "schedules reconciled", "report", rep)
}

func (r *Reconciler) budget(ctx context.Context) time.Duration {
	b := r.Budget
	if b <= 0 {
		b = DefaultBudget
	}
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl) - StopMargin; left < b {
			b = max(left, 0)
		}
	}
	return b
}

func (r *Reconciler) period() time.Duration {
	if r.Period < time.Second {
		return DefaultPeriod
	}
	return r.Period
}

func (r *Reconciler) workers() int {
	if r.Workers <= 0 {
		return DefaultWorkers
	}
	return r.Workers
}

func (r *Reconciler) segments() int {
	if r.Segments <= 0 {
		return DefaultSegments
	}
	return r.Segments
}

func (r *Reconciler) pageLimit() int {
	if r.PageLimit <= 0 {
		return DefaultPageLimit
	}
	return r.PageLimit
}

func (r *Reconciler) scanLimiter() *Limiter {
	r.once.Do(func() {
		rate := r.ScanRate
		if rate <= 0 {
			rate = DefaultScanRate
		}
		r.scan = NewLimiter(rate, 1, r.Clock)
	})
	return r.scan
}

// Report says what one reconcile compared and repaired. It is logged as
// one JSON line and returned by the schedules function.
type Report struct {
	// Started is when the run began (UTC).
	Started time.Time `json:"started"`
	// Elapsed is how long it took, in seconds.
	Elapsed float64 `json:"elapsed_seconds"`
	// Complete is true when every schedule and every policy was compared.
	Complete bool `json:"complete"`
	// Stopped says why the run is not complete.
	Stopped string `json:"stopped,omitempty"`
	// Schedules is how many schedules the group held when listed.
	Schedules int `json:"schedules_listed"`
	// Policies is how many policies were compared (synced).
	Policies int `json:"policies_compared"`
	// Orphans is how many listed schedules no scanned policy claimed.
	Orphans int `json:"orphans_compared"`
	// Segments is how many parts the scan was cut into, FirstSegment the
	// one this run started at, and SegmentsDone how many it finished.
	Segments     int `json:"segments"`
	FirstSegment int `json:"first_segment"`
	SegmentsDone int `json:"segments_done"`
	// Unchanged policies and schedules were already in step.
	Unchanged int `json:"unchanged"`
	// Invalid policies were already marked and had no schedule.
	Invalid int `json:"invalid"`
	// Created: policies that had no schedule.
	Created Repairs `json:"created"`
	// Updated: schedules whose fields differed from their policy's, and
	// valid policies whose stale invalid mark was cleared.
	Updated Repairs `json:"updated"`
	// Deleted: schedules without a policy.
	Deleted Repairs `json:"deleted"`
	// Invalidated: invalid policies that had a schedule (now deleted) or
	// lacked their mark (now marked).
	Invalidated Repairs `json:"invalidated"`
	// Failed: policies the run could not compare or repair; the next run
	// tries again.
	Failed Repairs `json:"failed"`
	// FailedError is the error of the first failed policy (by id).
	FailedError string `json:"failed_error,omitempty"`

	failedID string
}

// Repairs counts one kind of repair and names the first MaxReportedIDs
// policies (in id order).
type Repairs struct {
	// Count is how many.
	Count int `json:"count"`
	// PolicyIDs are the first MaxReportedIDs of them, sorted.
	PolicyIDs []string `json:"policy_ids,omitempty"`
}

func (r *Repairs) add(id string) {
	r.Count++
	i, found := slices.BinarySearch(r.PolicyIDs, id)
	if found || (i >= MaxReportedIDs) {
		return
	}
	r.PolicyIDs = slices.Insert(r.PolicyIDs, i, id)
	if len(r.PolicyIDs) > MaxReportedIDs {
		r.PolicyIDs = r.PolicyIDs[:MaxReportedIDs]
	}
}

// Repaired is how many repairs the run made.
func (r *Report) Repaired() int {
	return r.Created.Count + r.Updated.Count + r.Deleted.Count + r.Invalidated.Count
}

// Err is nil when the run compared everything and every repair it needed
// succeeded; otherwise it says what is wrong, so that the invocation fails
// and ops hear of it.
func (r *Report) Err() error {
	switch {
	case !r.Complete:
		return fmt.Errorf("schedules reconcile incomplete (%s): compared %d policies, repaired %d, %d failed", r.Stopped, r.Policies, r.Repaired(), r.Failed.Count)
	case r.Failed.Count > 0:
		return fmt.Errorf("schedules reconcile: %d of %d policies could not be repaired (first: %s)", r.Failed.Count, r.Policies+r.Orphans, r.FailedError)
	}
	return nil
}

// record files one sync's result. listed says whether the policy's
// schedule existed when the run listed the group.
func (r *Report) record(policyID string, listed bool, c change, err error) {
	switch {
	case err != nil:
		r.Failed.add(policyID)
		if r.failedID == "" || policyID < r.failedID {
			r.failedID, r.FailedError = policyID, snapkeep.Bound(err.Error(), 500)
		}
	case c.outcome == OutcomeScheduled && !listed:
		r.Created.add(policyID)
	case c.outcome == OutcomeScheduled, c.outcome == OutcomeUnchanged && c.mark:
		r.Updated.add(policyID)
	case c.outcome == OutcomeDeleted && c.schedule:
		r.Deleted.add(policyID)
	case c.outcome == OutcomeInvalid && c.wrote():
		r.Invalidated.add(policyID)
	case c.outcome == OutcomeInvalid:
		r.Invalid++
	default:
		r.Unchanged++
	}
}

// finish settles the report once the workers are done.
func (r *Report) finish() {
	if r.Stopped != "" {
		r.Complete = false
	}
}
