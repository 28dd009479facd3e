package snapshot_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/snapshot"
)

// queue is an in-memory follow-up queue: what was sent, in order.
type queue struct {
	mu   sync.Mutex
	sent []followUp
	fail error
}

type followUp struct {
	key snapkeep.RunKey
	due time.Time
}

func (q *queue) Send(_ context.Context, key snapkeep.RunKey, due time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail != nil {
		return q.fail
	}
	q.sent = append(q.sent, followUp{key, due})
	return nil
}

// take removes and returns the queued follow-ups.
func (q *queue) take() []followUp {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.sent
	q.sent = nil
	return out
}

func queuedInput(f followUp) string {
	return fmt.Sprintf(`{"policy_id":%q,"scheduled_time":%q,"follow_up":true,"due":%q}`,
		f.key.PolicyID, f.key.Slot(), f.due.UTC().Format(time.RFC3339))
}

// Every write that leaves a run waiting queues one follow-up due at the
// run's next check; delivering it then checks the run, until the run ends.
// The sweep, now a backstop, leaves runs alone until they are overdue.
func TestFollowUpsEndTheRun(t *testing.T) {
	u := newUnit(t)
	q := &queue{}
	u.svc.FollowUps = q
	progress := 0
	u.do.GetActionFn = func(_ context.Context, id int64) (*snapkeep.Action, error) {
		if progress++; progress < 3 {
			return &snapkeep.Action{ID: id, Type: "snapshot", Status: snapkeep.ActionInProgress}, nil
		}
		return &snapkeep.Action{ID: id, Type: "snapshot", Status: snapkeep.ActionCompleted, CompletedAt: u.now}, nil
	}
	u.invoke(slotInput("p1", start))
	for i := 0; i < 10; i++ {
		sent := q.take()
		run := u.store.run(t, runID("p1", start))
		if run.Status.Terminal() {
			if len(sent) != 0 {
				t.Errorf("a finished run queued %d follow-ups", len(sent))
			}
			break
		}
		if len(sent) != 1 || !sent[0].due.Equal(*run.NextCheckAt) {
			t.Fatalf("step %d: follow-ups %+v, want one due at the next check %s", i, sent, run.NextCheckAt)
		}
		// Not overdue yet: the backstop leaves it.
		u.now = sent[0].due
		if out := u.invoke(`{"sweep": true}`); out.Due != 0 {
			t.Errorf("the backstop took a run that is due but not overdue: %+v", out)
		}
		if out := u.invoke(queuedInput(sent[0])); out.Action != "checked" {
			t.Errorf("step %d: follow-up outcome %+v, want checked", i, out)
		}
	}
	if run := u.store.run(t, runID("p1", start)); run.Status != snapkeep.RunSucceeded {
		t.Errorf("run %s %s, want succeeded through follow-ups alone", run.Status, run.ErrorClass)
	}
}

// Two deliveries of the same follow-up check the run once; a stale one (the
// run was checked and waits for a later check) and an early one (a wait
// longer than the queue's delay, sent on) make no DigitalOcean call.
func TestFollowUpDeliveries(t *testing.T) {
	u := newUnit(t)
	q := &queue{}
	u.svc.FollowUps = q
	u.do.GetActionFn = func(_ context.Context, id int64) (*snapkeep.Action, error) {
		return &snapkeep.Action{ID: id, Type: "snapshot", Status: snapkeep.ActionInProgress}, nil
	}
	u.invoke(slotInput("p1", start))
	first := q.take()[0]
	u.now = first.due
	u.invoke(queuedInput(first))
	if out := u.invoke(queuedInput(first)); out.Action != "not_due" {
		t.Errorf("second delivery of the same follow-up: %+v, want not_due (dropped)", out)
	}
	if n := u.do.count(snapkeep.OpGetAction); n != 1 {
		t.Errorf("%d checks for two deliveries of one follow-up, want 1", n)
	}
	next := q.take()
	if len(next) != 1 {
		t.Fatalf("follow-ups after the check: %+v", next)
	}
	// Delivered fifteen minutes early (the queue's longest delay): sent on.
	early := next[0]
	u.now = early.due.Add(-15 * time.Minute)
	if out := u.invoke(queuedInput(early)); out.Action != "requeued" {
		t.Errorf("early delivery: %+v, want requeued", out)
	}
	if again := q.take(); len(again) != 1 || !again[0].due.Equal(early.due) {
		t.Errorf("sent on: %+v, want the same due time", again)
	}
	if n := u.do.count(snapkeep.OpGetAction); n != 1 {
		t.Errorf("the early follow-up made a DigitalOcean call (%d checks)", n)
	}
}

// A follow-up that was never queued (SQS refused it) or got lost is
// recovered by the backstop once the run is overdue by BackstopLag.
func TestLostFollowUpRecoveredByBackstop(t *testing.T) {
	u := newUnit(t)
	q := &queue{fail: errors.New("AWS.SimpleQueueService.NonExistentQueue")}
	u.svc.FollowUps = q
	u.invoke(slotInput("p1", start))
	run := u.store.run(t, runID("p1", start))
	u.now = run.NextCheckAt.Add(snapshot.DefaultBackstopLag - time.Second)
	if out := u.invoke(`{"sweep": true}`); out.Due != 0 {
		t.Errorf("backstop before the lag: %+v", out)
	}
	u.now = run.NextCheckAt.Add(snapshot.DefaultBackstopLag)
	if out := u.invoke(`{"sweep": true}`); out.Due != 1 || out.Handled != 1 {
		t.Errorf("backstop after the lag: %+v, want the run checked", out)
	}
	if run := u.store.run(t, runID("p1", start)); run.Status != snapkeep.RunSucceeded {
		t.Errorf("run %s, want succeeded", run.Status)
	}
}
