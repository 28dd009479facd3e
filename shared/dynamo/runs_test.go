package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func newRunStore(t *testing.T) (*dynamo.RunStore, *dynamo.APICallStore) {
	env := awstest.New(t)
	rs := &dynamo.RunStore{Client: env.DynamoDB, Table: env.TableName(dynamo.Runs), CallsTable: env.TableName(dynamo.APICalls)}
	return rs, &dynamo.APICallStore{Client: env.DynamoDB, Table: env.TableName(dynamo.APICalls)}
}

var runSlot = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)

func claimRun(policy string, slot time.Time) *snapkeep.Run {
	k := snapkeep.NewRunKey(policy, slot)
	lease := slot.Add(6 * time.Minute)
	return &snapkeep.Run{
		PolicyID: policy, ScheduledAt: slot, RunID: k.RunID(), CustomerID: "c1", AccountID: "a1",
		Resource:    snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "42", Region: "nyc3"},
		ResourceKey: "droplet:42", Trigger: snapkeep.TriggerScheduled, Status: snapkeep.RunClaimed,
		ClaimedAt: slot, Deadline: slot.Add(6 * time.Hour), LeaseUntil: &lease, NextCheckAt: &lease,
		Unfinished: snapkeep.UnfinishedShard, UpdatedAt: slot.Add(123 * time.Nanosecond),
	}
}

func calls(n int) []snapkeep.APICall {
	out := make([]snapkeep.APICall, n)
	for i := range out {
		out[i] = snapkeep.APICall{Operation: "get_action", Attempt: 1, Method: "GET", Path: fmt.Sprintf("/v2/actions/%d", i),
			StatusCode: 200, StartedAt: runSlot.Add(time.Duration(i) * time.Second), ExpiresAt: runSlot.Unix() + 86400}
	}
	return out
}

func TestRunStoreClaimGetSave(t *testing.T) {
	ctx := context.Background()
	rs, cs := newRunStore(t)
	run := claimRun("p1", runSlot)
	if err := rs.Claim(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := rs.Claim(ctx, claimRun("p1", runSlot)); !errors.Is(err, snapkeep.ErrConflict) {
		t.Fatalf("second claim: %v, want ErrConflict", err)
	}
	got, err := rs.Get(ctx, run.Key())
	if err != nil {
		t.Fatal(err)
	}
	if !got.UpdatedAt.Equal(run.UpdatedAt) || got.Status != snapkeep.RunClaimed || got.ResourceKey != "droplet:42" {
		t.Fatalf("got %+v", got)
	}
	if _, err := rs.Get(ctx, snapkeep.NewRunKey("p1", runSlot.Add(time.Hour))); !errors.Is(err, snapkeep.ErrNotFound) {
		t.Errorf("missing run: %v", err)
	}

	// Save with calls: the rows are numbered after the run's count.
	next := *got
	next.Status = snapkeep.RunInProgress
	next.ActionID = 1900000001
	next.UpdatedAt = got.UpdatedAt.Add(time.Nanosecond)
	if err := rs.Save(ctx, got, &next, calls(2)); err != nil {
		t.Fatal(err)
	}
	if next.APICalls != 2 {
		t.Errorf("api_calls = %d", next.APICalls)
	}
	// A writer holding the old version loses, and writes nothing.
	stale := *got
	stale.UpdatedAt = got.UpdatedAt.Add(2 * time.Nanosecond)
	if err := rs.Save(ctx, got, &stale, calls(1)); !errors.Is(err, snapkeep.ErrConflict) {
		t.Fatalf("stale save: %v, want ErrConflict", err)
	}
	// Another attempt appends its calls: seq 3.
	if err := rs.AppendCalls(ctx, run.Key(), calls(1)); err != nil {
		t.Fatal(err)
	}
	cur, _ := rs.Get(ctx, run.Key())
	if cur.APICalls != 3 || cur.ActionID != 1900000001 {
		t.Fatalf("after append: %+v", cur)
	}
	// The owner's save against the pre-append count conflicts.
	fin := next
	fin.UpdatedAt = next.UpdatedAt.Add(time.Second)
	if err := rs.Save(ctx, &next, &fin, calls(1)); !errors.Is(err, snapkeep.ErrConflict) {
		t.Fatalf("save after append: %v", err)
	}
	// Terminal: a save of 150 calls spans two transactions.
	now := runSlot.Add(10 * time.Minute)
	fin.Status, fin.FinishedAt, fin.Unfinished, fin.NextCheckAt, fin.LeaseUntil = snapkeep.RunFailed, &now, "", nil, nil
	fin.ErrorClass = snapkeep.ClassProviderError
	if err := rs.Save(ctx, cur, &fin, calls(150)); err != nil {
		t.Fatal(err)
	}
	rows, err := cs.ListByRun(ctx, run.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 153 || fin.APICalls != 153 {
		t.Errorf("%d rows, api_calls %d, want 153", len(rows), fin.APICalls)
	}
	for i, c := range rows {
		if c.Seq != i+1 || c.RunID != run.RunID {
			t.Fatalf("row %d: seq %d run %q", i, c.Seq, c.RunID)
		}
	}
	final, _ := rs.Get(ctx, run.Key())
	if final.Unfinished != "" || final.NextCheckAt != nil || final.Status != snapkeep.RunFailed || final.APICalls != 153 {
		t.Errorf("final %+v", final)
	}
	fails, err := rs.Failures(ctx, snapkeep.ClassProviderError, runSlot)
	if err != nil || len(fails) != 1 {
		t.Errorf("failures: %d, %v", len(fails), err)
	}
	due, err := rs.DueUnfinished(ctx, runSlot.Add(24*time.Hour), 10)
	if err != nil || len(due) != 0 {
		t.Errorf("a terminal run is due: %d, %v", len(due), err)
	}
}

func TestRunStoreQueries(t *testing.T) {
	ctx := context.Background()
	rs, _ := newRunStore(t)
	for i := 0; i < 5; i++ {
		r := claimRun("p1", runSlot.Add(time.Duration(i)*time.Hour))
		next := runSlot.Add(time.Duration(i)*time.Hour + 90*time.Second + 500*time.Millisecond) // rounded up to whole seconds
		r.NextCheckAt = &next
		if err := rs.Claim(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	other := claimRun("p2", runSlot)
	other.CustomerID, other.ResourceKey, other.Resource.ID = "c2", "droplet:43", "43"
	if err := rs.Claim(ctx, other); err != nil {
		t.Fatal(err)
	}
	due, err := rs.DueUnfinished(ctx, runSlot.Add(2*time.Hour+91*time.Second), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 4 { // p1 at 0h, 1h, 2h and p2
		t.Errorf("%d due, want 4", len(due))
	}
	due, err = rs.DueUnfinished(ctx, runSlot.Add(2*time.Hour+90*time.Second), 100)
	if err != nil || len(due) != 3 {
		t.Errorf("%d due just before the 2h run's check (rounded up), want 3: %v", len(due), err)
	}
	limited, err := rs.DueUnfinished(ctx, runSlot.Add(24*time.Hour), 2)
	if err != nil || len(limited) != 2 {
		t.Errorf("limit 2: %d, %v", len(limited), err)
	}
	for _, tc := range []struct {
		name string
		f    func() ([]snapkeep.Run, error)
		want int
	}{
		{"by policy", func() ([]snapkeep.Run, error) { return rs.ListByPolicy(ctx, "p1", runSlot.Add(time.Hour)) }, 4},
		{"by customer", func() ([]snapkeep.Run, error) { return rs.ListByCustomer(ctx, "c1", runSlot) }, 5},
		{"by resource", func() ([]snapkeep.Run, error) { return rs.ListByResource(ctx, "droplet:43", runSlot) }, 1},
		{"failures", func() ([]snapkeep.Run, error) { return rs.Failures(ctx, snapkeep.ClassNetwork, runSlot) }, 0},
	} {
		got, err := tc.f()
		if err != nil || len(got) != tc.want {
			t.Errorf("%s: %d, %v; want %d", tc.name, len(got), err, tc.want)
		}
	}
}
