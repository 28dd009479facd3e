package dynamo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Droplet locks against moto: a claim takes the lock with the run in one
// transaction; another run's claim of the same droplet while it is held
// writes nothing and says until when it is held; the owner may take it
// again; once lapsed anyone may; a save can take it too.
func TestRunStoreLocks(t *testing.T) {
	ctx := context.Background()
	env := awstest.New(t)
	rs := &dynamo.RunStore{Client: env.DynamoDB, Table: env.TableName(dynamo.Runs), CallsTable: env.TableName(dynamo.APICalls),
		LeasesTable: env.TableName(dynamo.Leases)}
	a, b := claimRun("pa", runSlot), claimRun("pb", runSlot)
	lockA := snapkeep.Lock{Key: "droplet:42", Owner: a.RunID, Now: runSlot, Until: runSlot.Add(2 * time.Minute)}
	if err := rs.ClaimLocked(ctx, a, lockA); err != nil {
		t.Fatalf("first claim: %v", err)
	}
	lockB := snapkeep.Lock{Key: "droplet:42", Owner: b.RunID, Now: runSlot.Add(time.Minute), Until: runSlot.Add(3 * time.Minute)}
	err := rs.ClaimLocked(ctx, b, lockB)
	var le *snapkeep.LockedError
	if !errors.As(err, &le) || !errors.Is(err, snapkeep.ErrLocked) || !le.Until.Equal(lockA.Until) {
		t.Fatalf("claim while locked: %v, want a LockedError until %s", err, lockA.Until)
	}
	if _, err := rs.Get(ctx, b.Key()); !errors.Is(err, snapkeep.ErrNotFound) {
		t.Errorf("the refused claim was written: %v", err)
	}
	if err := rs.ClaimLocked(ctx, claimRun("pa", runSlot), lockA); !errors.Is(err, snapkeep.ErrConflict) {
		t.Errorf("claiming an existing run: %v, want ErrConflict", err)
	}
	// The owner takes it again with a save; then it lapses and b takes it.
	stored, err := rs.Get(ctx, a.Key())
	if err != nil {
		t.Fatal(err)
	}
	next := *stored
	next.UpdatedAt = stored.UpdatedAt.Add(time.Second)
	again := lockA
	again.Now, again.Until = runSlot.Add(time.Minute), runSlot.Add(4*time.Minute)
	if err := rs.SaveLocked(ctx, stored, &next, calls(2), again); err != nil {
		t.Fatalf("owner's save with the lock: %v", err)
	}
	lockB.Now, lockB.Until = runSlot.Add(4*time.Minute), runSlot.Add(6*time.Minute)
	if err := rs.ClaimLocked(ctx, b, lockB); err != nil {
		t.Fatalf("claim after the lock lapsed: %v", err)
	}
	stored, _ = rs.Get(ctx, a.Key())
	next = *stored
	next.UpdatedAt = stored.UpdatedAt.Add(time.Second)
	lockA.Now, lockA.Until = runSlot.Add(5*time.Minute), runSlot.Add(7*time.Minute)
	if err := rs.SaveLocked(ctx, stored, &next, nil, lockA); !errors.As(err, &le) || !le.Until.Equal(lockB.Until) {
		t.Fatalf("save while b holds the lock: %v, want a LockedError until %s", err, lockB.Until)
	}
	if cur, _ := rs.Get(ctx, a.Key()); !cur.UpdatedAt.Equal(stored.UpdatedAt) {
		t.Error("the refused save was written")
	}
	if len(next.Notices) != 0 || next.APICalls != stored.APICalls {
		t.Errorf("a refused save changed next: api_calls %d", next.APICalls)
	}
}

// Previous reads the policy's newest finished run before a slot, skipping
// runs still in progress and skipped ones; none for a first run.
func TestRunStorePrevious(t *testing.T) {
	ctx := context.Background()
	rs, _ := newRunStore(t)
	mk := func(slot time.Time, st snapkeep.RunStatus) {
		r := claimRun("p1", slot)
		r.Status = st
		if err := rs.Claim(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	mk(runSlot, snapkeep.RunFailed)
	mk(runSlot.Add(time.Hour), snapkeep.RunSkipped)
	mk(runSlot.Add(2*time.Hour), snapkeep.RunInProgress)
	got, err := rs.Previous(ctx, snapkeep.NewRunKey("p1", runSlot.Add(3*time.Hour)))
	if err != nil || got == nil || !got.ScheduledAt.Equal(runSlot) || got.Status != snapkeep.RunFailed {
		t.Fatalf("Previous = %+v, %v; want the failed run at %s", got, err, runSlot)
	}
	if got, err := rs.Previous(ctx, snapkeep.NewRunKey("p1", runSlot)); err != nil || got != nil {
		t.Errorf("Previous of the first slot = %+v, %v; want none", got, err)
	}
}
