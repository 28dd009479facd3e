package policysync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// fakePolicies is a Policies of function fields.
type fakePolicies struct {
	get         func(ctx context.Context, id string) (*snapkeep.Policy, error)
	markInvalid func(ctx context.Context, id, reason string) (bool, error)
}

func (f *fakePolicies) Get(ctx context.Context, id string) (*snapkeep.Policy, error) {
	return f.get(ctx, id)
}

func (f *fakePolicies) MarkInvalid(ctx context.Context, id, reason string) (bool, error) {
	return f.markInvalid(ctx, id, reason)
}

// fakeSchedules is a Schedules of function fields.
type fakeSchedules struct {
	apply  func(ctx context.Context, spec ScheduleSpec) (bool, error)
	delete func(ctx context.Context, name string) (bool, error)
}

func (f *fakeSchedules) Apply(ctx context.Context, spec ScheduleSpec) (bool, error) {
	return f.apply(ctx, spec)
}

func (f *fakeSchedules) Delete(ctx context.Context, name string) (bool, error) {
	return f.delete(ctx, name)
}

func validPolicy() *snapkeep.Policy {
	return &snapkeep.Policy{
		PolicyID:   "pol-1",
		CustomerID: "cust-1",
		AccountID:  "acct-1",
		Resource:   snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "3164444", Region: "nyc3"},
		Schedule:   "cron(0 3 * * ? *)",
		TimeZone:   "Europe/Berlin",
		Retention:  snapkeep.Retention{KeepLast: 7},
		Enabled:    true,
	}
}

func TestTargetInput(t *testing.T) {
	got := TargetInput("pol-1")
	want := `{"policy_id":"pol-1","scheduled_time":"<aws.scheduler.scheduled-time>"}`
	if got != want {
		t.Fatalf("TargetInput = %s, want %s", got, want)
	}
	// An id with characters JSON must escape still gives valid JSON.
	var in SnapshotInput
	if err := json.Unmarshal([]byte(TargetInput(`a"b\c`)), &in); err != nil || in.PolicyID != `a"b\c` {
		t.Fatalf("TargetInput with quotes: %v, %+v", err, in)
	}
}

func TestSpecFor(t *testing.T) {
	p := validPolicy()
	p.Enabled = false
	p.FlexibleWindowMinutes = 15
	got := SpecFor(p)
	want := ScheduleSpec{
		Name: "pol-1", Expression: "cron(0 3 * * ? *)", TimeZone: "Europe/Berlin",
		FlexibleWindowMinutes: 15, Enabled: false, Input: TargetInput("pol-1"),
	}
	if got != want {
		t.Fatalf("SpecFor = %+v, want %+v", got, want)
	}
}

// calls records what the fakes were asked to do, in order.
type calls []string

func (c *calls) add(format string, args ...any) { *c = append(*c, fmt.Sprintf(format, args...)) }

func TestSync(t *testing.T) {
	errBoom := errors.New("boom")
	invalidPolicy := func() *snapkeep.Policy {
		p := validPolicy()
		p.Retention.KeepLast = 0 // breaks "keep last N in 1..500" unless max age is set
		p.Schedule = "cron(nope)"
		return p
	}
	tests := []struct {
		name        string
		policy      *snapkeep.Policy // nil: not found
		getErr      error
		applyErr    error
		applyChange bool
		deleteErr   error
		markErr     error
		want        Outcome
		wantErr     error // errors.Is target; nil: no error
		wantCalls   []string
	}{
		{
			name: "new valid policy is scheduled", policy: validPolicy(), applyChange: true,
			want:      OutcomeScheduled,
			wantCalls: []string{"get pol-1", "apply pol-1 enabled=true"},
		},
		{
			name: "replay changes nothing", policy: validPolicy(), applyChange: false,
			want:      OutcomeUnchanged,
			wantCalls: []string{"get pol-1", "apply pol-1 enabled=true"},
		},
		{
			name: "paused policy is applied disabled",
			policy: func() *snapkeep.Policy {
				p := validPolicy()
				p.Enabled = false
				return p
			}(),
			applyChange: true,
			want:        OutcomeScheduled,
			wantCalls:   []string{"get pol-1", "apply pol-1 enabled=false"},
		},
		{
			name:      "missing policy deletes its schedule",
			want:      OutcomeDeleted,
			wantCalls: []string{"get pol-1", "delete pol-1"},
		},
		{
			name: "invalid policy: schedule deleted, then marked", policy: invalidPolicy(),
			want:      OutcomeInvalid,
			wantCalls: []string{"get pol-1", "delete pol-1", "mark pol-1 invalid"},
		},
		{
			name: "fixed policy: applied, then mark cleared",
			policy: func() *snapkeep.Policy {
				p := validPolicy()
				p.InvalidReason = "schedule: was bad"
				return p
			}(),
			applyChange: true,
			want:        OutcomeScheduled,
			wantCalls:   []string{"get pol-1", "apply pol-1 enabled=true", "mark pol-1 clear"},
		},
		{
			name: "scheduler rejects the schedule: treated as invalid", policy: validPolicy(),
			applyErr:  fmt.Errorf("EventBridge Scheduler rejected schedule pol-1: bad: %w", snapkeep.ErrInvalid),
			want:      OutcomeInvalid,
			wantCalls: []string{"get pol-1", "apply pol-1 enabled=true", "delete pol-1", "mark pol-1 invalid"},
		},
		{
			name:      "unreadable item: schedule deleted, then marked",
			getErr:    fmt.Errorf("get policy %q: the stored item is not a readable policy: attribute enabled: bad: %w", "pol-1", snapkeep.ErrInvalid),
			want:      OutcomeInvalid,
			wantCalls: []string{"get pol-1", "delete pol-1", "mark pol-1 invalid"},
		},
		{
			name: "read fails: error, nothing else", getErr: errBoom,
			wantErr:   errBoom,
			wantCalls: []string{"get pol-1"},
		},
		{
			name: "apply fails: error, mark not cleared",
			policy: func() *snapkeep.Policy {
				p := validPolicy()
				p.InvalidReason = "old"
				return p
			}(),
			applyErr:  errBoom,
			wantErr:   errBoom,
			wantCalls: []string{"get pol-1", "apply pol-1 enabled=true"},
		},
		{
			name: "delete of missing policy's schedule fails: error", deleteErr: errBoom,
			wantErr:   errBoom,
			wantCalls: []string{"get pol-1", "delete pol-1"},
		},
		{
			name: "invalid policy whose delete fails: error, not marked", policy: invalidPolicy(), deleteErr: errBoom,
			wantErr:   errBoom,
			wantCalls: []string{"get pol-1", "delete pol-1"},
		},
		{
			name: "invalid policy whose mark fails: error", policy: invalidPolicy(), markErr: errBoom,
			wantErr:   errBoom,
			wantCalls: []string{"get pol-1", "delete pol-1", "mark pol-1 invalid"},
		},
		{
			name: "invalid policy deleted before the mark: fine", policy: invalidPolicy(),
			markErr:   fmt.Errorf("mark: %w", snapkeep.ErrNotFound),
			want:      OutcomeInvalid,
			wantCalls: []string{"get pol-1", "delete pol-1", "mark pol-1 invalid"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got calls
			s := &Syncer{
				Policies: &fakePolicies{
					get: func(_ context.Context, id string) (*snapkeep.Policy, error) {
						got.add("get %s", id)
						if tt.getErr != nil {
							return nil, tt.getErr
						}
						if tt.policy == nil {
							return nil, fmt.Errorf("get policy %q: %w", id, snapkeep.ErrNotFound)
						}
						p := *tt.policy
						return &p, nil
					},
					markInvalid: func(_ context.Context, id, reason string) (bool, error) {
						if reason == "" {
							got.add("mark %s clear", id)
						} else {
							got.add("mark %s invalid", id)
						}
						return tt.markErr == nil, tt.markErr
					},
				},
				Schedules: &fakeSchedules{
					apply: func(_ context.Context, spec ScheduleSpec) (bool, error) {
						got.add("apply %s enabled=%t", spec.Name, spec.Enabled)
						if spec != SpecFor(tt.policy) {
							t.Errorf("Apply spec = %+v, want %+v", spec, SpecFor(tt.policy))
						}
						return tt.applyChange, tt.applyErr
					},
					delete: func(_ context.Context, name string) (bool, error) {
						got.add("delete %s", name)
						return tt.deleteErr == nil, tt.deleteErr
					},
				},
			}
			outcome, err := s.Sync(context.Background(), "pol-1")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Sync error = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "pol-1") {
					t.Errorf("error %q does not name the policy", err)
				}
			} else if err != nil {
				t.Fatalf("Sync: %v", err)
			}
			if outcome != tt.want {
				t.Errorf("outcome = %q, want %q", outcome, tt.want)
			}
			if strings.Join(got, "; ") != strings.Join(tt.wantCalls, "; ") {
				t.Errorf("calls:\n got  %q\n want %q", got, tt.wantCalls)
			}
		})
	}
}

func TestSyncEmptyID(t *testing.T) {
	s := &Syncer{}
	if _, err := s.Sync(context.Background(), ""); !errors.Is(err, snapkeep.ErrInvalid) {
		t.Fatalf("Sync(\"\") error = %v, want ErrInvalid", err)
	}
}

// table is an in-memory Policies table with a stream: every write that
// changes an item appends the item's id to the stream, as DynamoDB does.
type table struct {
	items  map[string]snapkeep.Policy
	stream []string
	writes int
}

func (tb *table) Get(_ context.Context, id string) (*snapkeep.Policy, error) {
	p, ok := tb.items[id]
	if !ok {
		return nil, fmt.Errorf("get policy %q: %w", id, snapkeep.ErrNotFound)
	}
	return &p, nil
}

func (tb *table) MarkInvalid(_ context.Context, id, reason string) (bool, error) {
	p, ok := tb.items[id]
	if !ok {
		return false, fmt.Errorf("mark policy %q invalid: %w", id, snapkeep.ErrNotFound)
	}
	if p.InvalidReason == reason {
		return false, nil
	}
	p.InvalidReason = reason
	tb.put(p)
	return true, nil
}

func (tb *table) put(p snapkeep.Policy) {
	tb.items[p.PolicyID] = p
	tb.stream = append(tb.stream, p.PolicyID)
	tb.writes++
}

func (tb *table) remove(id string) {
	delete(tb.items, id)
	tb.stream = append(tb.stream, id)
	tb.writes++
}

// schedules is an in-memory Scheduler that rejects the schedules of
// policies named in reject, as Scheduler's own validation might reject
// what Policy.Validate let through.
type schedules struct {
	specs  map[string]ScheduleSpec
	reject map[string]bool
	writes int
}

func (sc *schedules) Apply(_ context.Context, spec ScheduleSpec) (bool, error) {
	if sc.reject[spec.Name] {
		return false, fmt.Errorf("EventBridge Scheduler rejected schedule %s: bad expression: %w", spec.Name, snapkeep.ErrInvalid)
	}
	if old, ok := sc.specs[spec.Name]; ok && old == spec {
		return false, nil
	}
	sc.specs[spec.Name] = spec
	sc.writes++
	return true, nil
}

func (sc *schedules) Delete(_ context.Context, name string) (bool, error) {
	if _, ok := sc.specs[name]; !ok {
		return false, nil
	}
	delete(sc.specs, name)
	sc.writes++
	return true, nil
}

// drain delivers the table's stream to the syncer until it is empty, as
// Lambda would, including the records the syncer's own writes produce. It
// fails the test if the stream does not run dry (a write-back loop).
func drain(t *testing.T, s *Syncer, tb *table) {
	t.Helper()
	for i := 0; len(tb.stream) > 0; i++ {
		if i > 100 {
			t.Fatalf("stream never ran dry: a write-back loop (pending %v)", tb.stream)
		}
		id := tb.stream[0]
		tb.stream = tb.stream[1:]
		if _, err := s.Sync(context.Background(), id); err != nil {
			t.Fatalf("Sync(%s): %v", id, err)
		}
	}
}

func TestSyncStreamConvergesWithoutLoop(t *testing.T) {
	tb := &table{items: map[string]snapkeep.Policy{}}
	sc := &schedules{specs: map[string]ScheduleSpec{}}
	s := &Syncer{Policies: tb, Schedules: sc}

	good := *validPolicy()
	bad := *validPolicy()
	bad.PolicyID, bad.Schedule = "pol-bad", "cron(nope)"
	rejected := *validPolicy()
	rejected.PolicyID = "pol-rejected"
	sc.reject = map[string]bool{"pol-rejected": true}
	tb.put(good)
	tb.put(bad)
	tb.put(rejected)
	drain(t, s, tb)

	if _, ok := sc.specs["pol-1"]; !ok {
		t.Errorf("valid policy has no schedule")
	}
	for _, id := range []string{"pol-bad", "pol-rejected"} {
		if _, ok := sc.specs[id]; ok {
			t.Errorf("invalid policy %s has a schedule", id)
		}
		if tb.items[id].InvalidReason == "" {
			t.Errorf("invalid policy %s is not marked", id)
		}
	}
	if !strings.Contains(tb.items["pol-rejected"].InvalidReason, "bad expression") {
		t.Errorf("rejected policy's reason = %q, want Scheduler's message", tb.items["pol-rejected"].InvalidReason)
	}
	// 3 puts + 2 marks; the marks' own records wrote nothing more.
	if tb.writes != 5 {
		t.Errorf("table writes = %d, want 5", tb.writes)
	}

	// Replaying every record again changes nothing anywhere.
	tableWrites, schedWrites := tb.writes, sc.writes
	tb.stream = []string{"pol-1", "pol-bad", "pol-rejected", "pol-1"}
	drain(t, s, tb)
	if tb.writes != tableWrites || sc.writes != schedWrites {
		t.Errorf("replay wrote: table %d→%d, schedules %d→%d", tableWrites, tb.writes, schedWrites, sc.writes)
	}

	// Fixing the invalid policy schedules it and clears the mark, once.
	fixed := tb.items["pol-bad"]
	fixed.Schedule = "rate(1 day)"
	tb.put(fixed)
	drain(t, s, tb)
	if _, ok := sc.specs["pol-bad"]; !ok || tb.items["pol-bad"].InvalidReason != "" {
		t.Errorf("fixed policy: schedule present %t, reason %q", ok, tb.items["pol-bad"].InvalidReason)
	}

	// Pausing disables; deleting removes the schedule.
	paused := tb.items["pol-1"]
	paused.Enabled = false
	tb.put(paused)
	drain(t, s, tb)
	if sc.specs["pol-1"].Enabled {
		t.Errorf("paused policy's schedule is enabled")
	}
	tb.remove("pol-1")
	drain(t, s, tb)
	if _, ok := sc.specs["pol-1"]; ok {
		t.Errorf("deleted policy still has a schedule")
	}
}

func TestSyncOutOfOrderRecordsDoNotResurrect(t *testing.T) {
	tb := &table{items: map[string]snapkeep.Policy{}}
	sc := &schedules{specs: map[string]ScheduleSpec{}}
	s := &Syncer{Policies: tb, Schedules: sc}

	tb.put(*validPolicy())
	tb.remove("pol-1")
	// The INSERT record arrives (again) after the REMOVE was processed.
	tb.stream = []string{"pol-1", "pol-1", "pol-1"}
	drain(t, s, tb)
	if _, ok := sc.specs["pol-1"]; ok {
		t.Fatalf("a replayed INSERT resurrected the deleted policy's schedule")
	}
}
