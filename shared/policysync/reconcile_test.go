package policysync_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsscheduler "github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/snapkeep/snapkeep/shared/policysync"
	"github.com/snapkeep/snapkeep/shared/scheduler"
	"github.com/snapkeep/snapkeep/shared/scheduler/schedulertest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// The reconciler's tests run the real syncer and the real Scheduler adapter
// (field comparison, pacing, backoff) over schedulertest.Fake, an
// in-memory Scheduler, with policies from function fields, on a virtual
// clock.

const group = "snapkeep-test"

// virtualClock is a clock that sleeping moves on.
type virtualClock struct {
	mu sync.Mutex
	t  time.Time
}

func newVirtualClock() *virtualClock {
	return &virtualClock{t: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)}
}

func (c *virtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *virtualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

func (c *virtualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *virtualClock) clock() policysync.Clock {
	return policysync.Clock{Now: c.Now, Sleep: c.Sleep}
}

// policyReader is the policy store the reconciler needs, as function
// fields: the syncer's Get and MarkInvalid and the reconciler's scan.
type policyReader struct {
	get         func(ctx context.Context, id string) (*snapkeep.Policy, error)
	markInvalid func(ctx context.Context, id, reason string) (bool, error)
	scan        func(ctx context.Context, segment, segments, limit int, cursor string) ([]string, string, error)
}

func (r *policyReader) Get(ctx context.Context, id string) (*snapkeep.Policy, error) {
	return r.get(ctx, id)
}

func (r *policyReader) MarkInvalid(ctx context.Context, id, reason string) (bool, error) {
	return r.markInvalid(ctx, id, reason)
}

func (r *policyReader) ScanPolicyIDs(ctx context.Context, segment, segments, limit int, cursor string) ([]string, string, error) {
	return r.scan(ctx, segment, segments, limit, cursor)
}

// memTable is a Policies table in memory behind a policyReader. Segments
// are by a hash of the id, pages in id order, the cursor the last id of a
// page, as a DynamoDB parallel scan behaves.
type memTable struct {
	mu    sync.Mutex
	items map[string]snapkeep.Policy
	marks int // MarkInvalid calls that wrote
	scans int // Scan pages served
	segs  map[int][][]string
}

func newMemTable(policies ...snapkeep.Policy) *memTable {
	tb := &memTable{items: map[string]snapkeep.Policy{}}
	for _, p := range policies {
		tb.items[p.PolicyID] = p
	}
	return tb
}

func segmentOf(id string, segments int) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(segments))
}

func (tb *memTable) reader() *policyReader {
	return &policyReader{
		get: func(_ context.Context, id string) (*snapkeep.Policy, error) {
			tb.mu.Lock()
			defer tb.mu.Unlock()
			p, ok := tb.items[id]
			if !ok {
				return nil, fmt.Errorf("get policy %q: %w", id, snapkeep.ErrNotFound)
			}
			return &p, nil
		},
		markInvalid: func(_ context.Context, id, reason string) (bool, error) {
			tb.mu.Lock()
			defer tb.mu.Unlock()
			p, ok := tb.items[id]
			if !ok {
				return false, fmt.Errorf("mark policy %q: %w", id, snapkeep.ErrNotFound)
			}
			if p.InvalidReason == reason {
				return false, nil
			}
			p.InvalidReason = reason
			tb.items[id] = p
			tb.marks++
			return true, nil
		},
		scan: func(_ context.Context, segment, segments, limit int, cursor string) ([]string, string, error) {
			tb.mu.Lock()
			defer tb.mu.Unlock()
			tb.scans++
			seg := tb.segment(segment, segments)
			i, _ := slices.BinarySearch(seg, cursor)
			if i < len(seg) && seg[i] == cursor {
				i++
			}
			ids := seg[i:min(i+limit, len(seg))]
			if i+limit < len(seg) {
				return slices.Clone(ids), ids[len(ids)-1], nil
			}
			return slices.Clone(ids), "", nil
		},
	}
}

// segment returns the sorted ids of one segment; the caller holds tb.mu.
// The table's keys never change after newMemTable, so it is computed once
// per segment count.
func (tb *memTable) segment(segment, segments int) []string {
	if tb.segs == nil {
		tb.segs = map[int][][]string{}
	}
	if _, ok := tb.segs[segments]; !ok {
		parts := make([][]string, segments)
		for id := range tb.items {
			s := segmentOf(id, segments)
			parts[s] = append(parts[s], id)
		}
		for _, p := range parts {
			slices.Sort(p)
		}
		tb.segs[segments] = parts
	}
	return tb.segs[segments][segment]
}

func (tb *memTable) policy(id string) snapkeep.Policy {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.items[id]
}

func policy(id string) snapkeep.Policy {
	return snapkeep.Policy{
		PolicyID: id, CustomerID: "cust-1", AccountID: "acct-1",
		Resource:  snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "3164444", Region: "nyc3"},
		Schedule:  "cron(0 3 * * ? *)",
		TimeZone:  "Europe/Berlin",
		Retention: snapkeep.Retention{KeepLast: 7},
		Enabled:   true,
	}
}

// rig is a reconciler wired to a fake Scheduler and an in-memory table.
type rig struct {
	clock   *virtualClock
	fake    *schedulertest.Fake
	paced   *scheduler.Paced
	adapter *scheduler.Schedules
	table   *memTable
	syncer  *policysync.Syncer
	rec     *policysync.Reconciler
}

// newRig wires a reconciler at rates (zero: unpaced).
func newRig(tb *memTable, rates scheduler.Rates) *rig {
	clk := newVirtualClock()
	fake := schedulertest.NewFake(group)
	fake.Now = clk.Now
	paced := scheduler.NewPaced(fake, rates, clk.clock())
	adapter := &scheduler.Schedules{
		Client: paced, Group: group,
		TargetARN: schedulertest.TargetARN, RoleARN: schedulertest.RoleARN, DeadLetterARN: schedulertest.DeadLetterARN,
	}
	reader := tb.reader()
	syncer := &policysync.Syncer{Policies: reader, Schedules: adapter}
	return &rig{
		clock: clk, fake: fake, paced: paced, adapter: adapter, table: tb, syncer: syncer,
		rec: &policysync.Reconciler{
			Syncer: syncer, Policies: reader, Schedules: adapter, Clock: clk.clock(),
			Workers: 4, Segments: 3, PageLimit: 7,
		},
	}
}

// schedule puts every named policy's schedule in place, as the stream
// would have.
func (r *rig) schedule(ids ...string) {
	for _, id := range ids {
		p := r.table.policy(id)
		if _, err := r.adapter.Apply(context.Background(), policysync.SpecFor(&p)); err != nil {
			panic(fmt.Sprintf("schedule %s: %v", id, err))
		}
	}
}

// writes is how many creates, updates and deletes the fake Scheduler made.
func (r *rig) writes() int { return r.fake.Changes() }

// orphan creates a schedule no policy owns, as a hand-made one would be.
func (r *rig) orphan(name string) {
	p := policy(name)
	if _, err := r.adapter.Apply(context.Background(), policysync.SpecFor(&p)); err != nil {
		panic(err)
	}
}

// assertInStep checks that the group holds exactly the named schedules
// and that each is what its policy implies: a fresh Apply writes nothing.
func (r *rig) assertInStep(t *testing.T, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := r.fake.Names(group); !slices.Equal(got, want) {
		t.Errorf("schedules %q, want %q", got, want)
	}
	check := *r.adapter
	check.Client = r.fake // unpaced, off the virtual clock
	for _, name := range r.fake.Names(group) {
		p := r.table.policy(name)
		if changed, err := check.Apply(context.Background(), policysync.SpecFor(&p)); err != nil || changed {
			t.Errorf("schedule %s is not what its policy implies (changed %t, %v)", name, changed, err)
		}
	}
}

// hand edits are changes made to a schedule around snapkeep, one per
// field the adapter sets.
var handEdits = map[string]func(sc *awsscheduler.GetScheduleOutput){
	"pol-edit-expression": func(sc *awsscheduler.GetScheduleOutput) { sc.ScheduleExpression = aws.String("rate(5 minutes)") },
	"pol-edit-timezone":   func(sc *awsscheduler.GetScheduleOutput) { sc.ScheduleExpressionTimezone = aws.String("UTC") },
	"pol-edit-state":      func(sc *awsscheduler.GetScheduleOutput) { sc.State = types.ScheduleStateDisabled },
	"pol-edit-input":      func(sc *awsscheduler.GetScheduleOutput) { sc.Target.Input = aws.String(`{"policy_id":"someone-else"}`) },
	"pol-edit-target": func(sc *awsscheduler.GetScheduleOutput) {
		sc.Target.Arn = aws.String("arn:aws:lambda:us-east-1:123456789012:function:other")
	},
	"pol-edit-role": func(sc *awsscheduler.GetScheduleOutput) {
		sc.Target.RoleArn = aws.String("arn:aws:iam::123456789012:role/other")
	},
	"pol-edit-dlq": func(sc *awsscheduler.GetScheduleOutput) { sc.Target.DeadLetterConfig = nil },
	"pol-edit-retry": func(sc *awsscheduler.GetScheduleOutput) {
		sc.Target.RetryPolicy = &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(0), MaximumEventAgeInSeconds: aws.Int32(60)}
	},
	"pol-edit-window": func(sc *awsscheduler.GetScheduleOutput) {
		sc.FlexibleTimeWindow = &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeFlexible, MaximumWindowInMinutes: aws.Int32(60)}
	},
	"pol-edit-enddate": func(sc *awsscheduler.GetScheduleOutput) {
		sc.EndDate = aws.Time(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	},
}

// driftRig is a deployment with one case of every kind of drift:
//   - pol-ok: in step;
//   - pol-lost-1, pol-lost-2: policies whose stream record was lost, so
//     they never got a schedule;
//   - pol-edit-*: schedules edited by hand (handEdits), one field each;
//   - pol-paused: a paused policy whose schedule someone re-enabled;
//   - pol-stale-mark: a valid policy in step that still carries an
//     invalid mark;
//   - pol-broken: an invalid policy that still has a schedule (its
//     MODIFY record was lost) and no mark;
//   - pol-broken-marked: an invalid policy, marked, without a schedule;
//   - gone-1, gone-2: schedules without a policy (the REMOVE record was
//     lost, or someone made one by hand).
func driftRig() (r *rig, valid []string) {
	all := []snapkeep.Policy{policy("pol-ok"), policy("pol-lost-1"), policy("pol-lost-2")}
	for id := range handEdits {
		all = append(all, policy(id))
	}
	paused := policy("pol-paused")
	paused.Enabled = false
	stale := policy("pol-stale-mark")
	stale.InvalidReason = "schedule: was wrong once"
	broken := policy("pol-broken")
	broken.Retention = snapkeep.Retention{} // neither keep-last nor max-age
	marked := policy("pol-broken-marked")
	marked.Schedule = "cron(0 3 * * *)" // five fields: not a Scheduler cron
	marked.InvalidReason = marked.Validate().Error()
	all = append(all, paused, stale, broken, marked)
	r = newRig(newMemTable(all...), scheduler.Rates{})
	for _, p := range all {
		if p.PolicyID != "pol-lost-1" && p.PolicyID != "pol-lost-2" && p.PolicyID != "pol-broken-marked" {
			valid = append(valid, p.PolicyID)
		}
	}
	r.schedule(valid...) // pol-broken too: its schedule predates the breakage
	valid = slices.DeleteFunc(valid, func(id string) bool { return id == "pol-broken" })
	valid = append(valid, "pol-lost-1", "pol-lost-2")
	r.fake.Edit(group, "pol-paused", func(sc *awsscheduler.GetScheduleOutput) { sc.State = types.ScheduleStateEnabled })
	for id, edit := range handEdits {
		r.fake.Edit(group, id, edit)
	}
	r.orphan("gone-1")
	r.orphan("gone-2")
	return r, valid
}

func TestReconcileRepairsEveryKindOfDrift(t *testing.T) {
	r, valid := driftRig()
	rep, err := r.rec.Reconcile(context.Background())
	if err != nil || rep.Err() != nil {
		t.Fatalf("Reconcile: %v / %v", err, rep.Err())
	}
	edited := slices.Sorted(maps.Keys(handEdits))
	updated := slices.Sorted(slices.Values(append(edited, "pol-paused", "pol-stale-mark")))
	want := struct {
		created, updated, deleted, invalidated []string
		unchanged, invalid                     int
	}{
		created: []string{"pol-lost-1", "pol-lost-2"}, updated: updated,
		deleted: []string{"gone-1", "gone-2"}, invalidated: []string{"pol-broken"},
		unchanged: 1, invalid: 1,
	}
	for _, c := range []struct {
		kind string
		got  policysync.Repairs
		want []string
	}{
		{"created", rep.Created, want.created}, {"updated", rep.Updated, want.updated},
		{"deleted", rep.Deleted, want.deleted}, {"invalidated", rep.Invalidated, want.invalidated},
	} {
		if c.got.Count != len(c.want) || !slices.Equal(c.got.PolicyIDs, c.want) {
			t.Errorf("%s = %+v, want %q", c.kind, c.got, c.want)
		}
	}
	if rep.Unchanged != want.unchanged || rep.Invalid != want.invalid || rep.Failed.Count != 0 {
		t.Errorf("unchanged %d, invalid %d, failed %+v; want %d, %d, none", rep.Unchanged, rep.Invalid, rep.Failed, want.unchanged, want.invalid)
	}
	if !rep.Complete || rep.Schedules != len(valid)-2+1+2 || rep.Policies != len(valid)+2 || rep.Orphans != 2 || rep.SegmentsDone != 3 {
		t.Errorf("report %+v", rep)
	}
	r.assertInStep(t, valid...)
	if p := r.table.policy("pol-broken"); p.InvalidReason == "" {
		t.Errorf("broken policy not marked")
	}
	if p := r.table.policy("pol-stale-mark"); p.InvalidReason != "" {
		t.Errorf("stale mark not cleared: %q", p.InvalidReason)
	}

	// A second run finds everything in step and writes nothing.
	writes, marks := r.writes(), r.table.marks
	again, err := r.rec.Reconcile(context.Background())
	if err != nil || again.Err() != nil || again.Repaired() != 0 {
		t.Fatalf("second run: %v / %v, repaired %d: %+v", err, again.Err(), again.Repaired(), again)
	}
	if again.Unchanged != len(valid) || again.Invalid != 2 {
		t.Errorf("second run: unchanged %d, invalid %d; want %d, 2", again.Unchanged, again.Invalid, len(valid))
	}
	if r.writes() != writes || r.table.marks != marks {
		t.Errorf("second run wrote: Scheduler %d → %d, marks %d → %d", writes, r.writes(), marks, r.table.marks)
	}
}
