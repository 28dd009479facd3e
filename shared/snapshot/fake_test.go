package snapshot_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/docloud"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/snapshot"
)

// fakeDO is a function-field fake of the service's DigitalOcean port, for
// unit tests that need no HTTP at all. A nil field answers as a healthy,
// empty account would; every call is counted by operation and, like the
// real client, reported to the recorder as one ApiCalls row.
type fakeDO struct {
	SnapshotDropletFn    func(ctx context.Context, dropletID int, name string) (*snapkeep.Action, error)
	GetActionFn          func(ctx context.Context, actionID int64) (*snapkeep.Action, error)
	SnapshotVolumeFn     func(ctx context.Context, volumeID, name string, tags []string) (*snapkeep.Snapshot, error)
	ListSnapshotsFn      func(ctx context.Context, kind snapkeep.ResourceKind, resourceID string, page int) ([]snapkeep.Snapshot, bool, error)
	ListDropletActionsFn func(ctx context.Context, dropletID int, page int) ([]snapkeep.Action, bool, error)
	DeleteSnapshotFn     func(ctx context.Context, snapshotID string) error
	PaceDelayFn          func(now time.Time) time.Duration
	Skew                 time.Duration

	rec   snapshot.Recorder
	now   func() time.Time
	mu    sync.Mutex
	calls map[snapkeep.Operation]int
	// made holds the snapshots the default behaviour made, by resource id.
	made   map[string][]snapkeep.Snapshot
	nextID int64
}

// makeSnapshot is the default effect of a snapshot request: the snapshot
// exists (a droplet's as soon as its action is asked about).
func (f *fakeDO) makeSnapshot(resourceID, name string) (int64, snapkeep.Snapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.made == nil {
		f.made = map[string][]snapkeep.Snapshot{}
	}
	f.nextID++
	s := snapkeep.Snapshot{ID: fmt.Sprintf("s-%d", f.nextID), Name: name, ResourceID: resourceID, Created: f.now()}
	f.made[resourceID] = append(f.made[resourceID], s)
	return f.nextID, s
}

func (f *fakeDO) record(ctx context.Context, op snapkeep.Operation, err error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[snapkeep.Operation]int{}
	}
	f.calls[op]++
	f.mu.Unlock()
	if f.rec == nil {
		return
	}
	_, attempt := docloud.OperationFrom(ctx)
	c := snapkeep.APICall{Operation: op, Attempt: attempt, Method: "GET", Path: "/fake/" + string(op), StatusCode: 200, StartedAt: f.now()}
	if e := docloud.Classify(err); e != nil {
		c.StatusCode, c.Class, c.ErrorMessage = e.StatusCode, e.Class, e.Message
	}
	f.rec.Record(ctx, c)
}

func (f *fakeDO) count(op snapkeep.Operation) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *fakeDO) SnapshotDroplet(ctx context.Context, id int, name string) (a *snapkeep.Action, err error) {
	defer func() { f.record(ctx, snapkeep.OpSnapshotDroplet, err) }()
	if f.SnapshotDropletFn != nil {
		return f.SnapshotDropletFn(ctx, id, name)
	}
	aid, _ := f.makeSnapshot(fmt.Sprint(id), name)
	return &snapkeep.Action{ID: aid, Type: "snapshot", Status: snapkeep.ActionInProgress, ResourceID: int64(id), StartedAt: f.now()}, nil
}

func (f *fakeDO) GetAction(ctx context.Context, id int64) (a *snapkeep.Action, err error) {
	defer func() { f.record(ctx, snapkeep.OpGetAction, err) }()
	if f.GetActionFn != nil {
		return f.GetActionFn(ctx, id)
	}
	return &snapkeep.Action{ID: id, Type: "snapshot", Status: snapkeep.ActionCompleted, CompletedAt: f.now()}, nil
}

func (f *fakeDO) SnapshotVolume(ctx context.Context, id, name string, tags []string) (s *snapkeep.Snapshot, err error) {
	defer func() { f.record(ctx, snapkeep.OpSnapshotVolume, err) }()
	if f.SnapshotVolumeFn != nil {
		return f.SnapshotVolumeFn(ctx, id, name, tags)
	}
	_, sn := f.makeSnapshot(id, name)
	return &sn, nil
}

func (f *fakeDO) ListSnapshots(ctx context.Context, kind snapkeep.ResourceKind, id string, page int) (s []snapkeep.Snapshot, more bool, err error) {
	defer func() { f.record(ctx, snapkeep.OpListSnapshots, err) }()
	if f.ListSnapshotsFn != nil {
		return f.ListSnapshotsFn(ctx, kind, id, page)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]snapkeep.Snapshot(nil), f.made[id]...), false, nil
}

func (f *fakeDO) ListDropletActions(ctx context.Context, id int, page int) (a []snapkeep.Action, more bool, err error) {
	defer func() { f.record(ctx, snapkeep.OpListActions, err) }()
	if f.ListDropletActionsFn != nil {
		return f.ListDropletActionsFn(ctx, id, page)
	}
	return nil, false, nil
}

func (f *fakeDO) DeleteSnapshot(ctx context.Context, id string) (err error) {
	defer func() { f.record(ctx, snapkeep.OpDeleteSnapshot, err) }()
	if f.DeleteSnapshotFn != nil {
		return f.DeleteSnapshotFn(ctx, id)
	}
	return nil
}

func (f *fakeDO) PaceDelay(now time.Time) time.Duration {
	if f.PaceDelayFn != nil {
		return f.PaceDelayFn(now)
	}
	return 0
}

func (f *fakeDO) ClockSkew() (time.Duration, bool) { return f.Skew, true }

// unit is a service on the function-field fake, the in-memory store and a
// virtual clock.
type unit struct {
	t     *testing.T
	now   time.Time
	do    *fakeDO
	store *memStore
	pols  *memPolicies
	svc   *snapshot.Service
	logs  *strings.Builder
}

func newUnit(t *testing.T) *unit {
	t.Helper()
	u := &unit{t: t, now: start, store: newMemStore(), logs: &strings.Builder{}}
	u.do = &fakeDO{now: u.clock}
	u.pols = &memPolicies{m: map[string]snapkeep.Policy{}}
	for i, id := range []string{"p1", "p2", "p3", "p4"} {
		u.pols.m[id] = snapkeep.Policy{PolicyID: id, CustomerID: "c1", AccountID: fmt.Sprintf("acct%d", i%2+1), Enabled: true,
			Schedule: "rate(1 hour)", Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: fmt.Sprint(dropletID + i), Region: "nyc3"},
			Retention: snapkeep.Retention{KeepLast: 3}}
	}
	var mu sync.Mutex
	u.svc = &snapshot.Service{
		Runs:     u.store,
		Policies: u.pols,
		Tokens:   memTokens{"acct1": token1, "acct2": token2},
		Connect: func(_ string, rec snapshot.Recorder) snapshot.DigitalOcean {
			u.do.rec = rec
			return u.do
		},
		Now: u.clock,
		Sleep: func(_ context.Context, d time.Duration) error {
			mu.Lock()
			u.now = u.now.Add(d)
			mu.Unlock()
			return nil
		},
		Log: slog.New(slog.NewJSONHandler(lockedWriter{u.logs, &mu}, nil)),
	}
	return u
}

const (
	token1 = "dop_v1_1111111111111111111111111111111111111111111111111111111111111111"
	token2 = "dop_v1_2222222222222222222222222222222222222222222222222222222222222222"
)

func (u *unit) clock() time.Time { return u.now }

func (u *unit) invoke(input string) *snapshot.Outcome {
	u.t.Helper()
	out, err := u.svc.Invoke(context.Background(), []byte(input))
	if err != nil {
		u.t.Fatalf("invoke %s: %v", input, err)
	}
	return out
}
