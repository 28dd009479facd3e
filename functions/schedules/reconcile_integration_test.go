package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsscheduler "github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/policysync"
)

// reconcile invokes the function as its Reconcile schedule does and
// returns the report, failing the test if the invocation failed.
func (s *stack) reconcile() *policysync.Report {
	s.t.Helper()
	out, err := s.handler.Invoke(context.Background(), json.RawMessage(`{"reconcile": true}`))
	if err != nil {
		s.t.Fatalf("reconcile: %v", err)
	}
	rep, ok := out.(*policysync.Report)
	if !ok {
		s.t.Fatalf("reconcile returned a %T", out)
	}
	return rep
}

// lose drops the Policies stream's new records, as if they had ended in
// the stream's failure queue.
func (s *stack) lose() {
	s.t.Helper()
	if len(s.env.StreamRecords(s.t, dynamo.Policies)) == 0 {
		s.t.Fatalf("no stream records to lose")
	}
}

// handEdit changes a schedule around snapkeep, as the console would:
// UpdateSchedule with the schedule as it is and one change.
func (s *stack) handEdit(name string, edit func(in *awsscheduler.UpdateScheduleInput)) {
	s.t.Helper()
	sc := s.group.Get(s.t, name)
	in := &awsscheduler.UpdateScheduleInput{
		Name: sc.Name, GroupName: sc.GroupName, ScheduleExpression: sc.ScheduleExpression,
		ScheduleExpressionTimezone: sc.ScheduleExpressionTimezone, State: sc.State,
		FlexibleTimeWindow: sc.FlexibleTimeWindow, Target: sc.Target, ActionAfterCompletion: sc.ActionAfterCompletion,
	}
	edit(in)
	if _, err := s.group.Client.UpdateSchedule(context.Background(), in); err != nil {
		s.t.Fatalf("hand edit of %s: %v", name, err)
	}
}

func (s *stack) handDelete(name string) {
	s.t.Helper()
	if _, err := s.group.Client.DeleteSchedule(context.Background(), &awsscheduler.DeleteScheduleInput{Name: aws.String(name), GroupName: aws.String(s.group.Name)}); err != nil {
		s.t.Fatalf("hand delete of %s: %v", name, err)
	}
}

func assertRepairs(t *testing.T, kind string, got policysync.Repairs, want ...string) {
	t.Helper()
	if got.Count != len(want) || !slices.Equal(got.PolicyIDs, want) {
		t.Errorf("%s: %d %q, want %q", kind, got.Count, got.PolicyIDs, want)
	}
}

// Every kind of drift, made for real against moto, is repaired by one
// reconcile; a second one repairs nothing and writes nothing.
func TestReconcileRepairsDriftAgainstMoto(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	for _, id := range []string{"pol-ok", "pol-expr", "pol-state", "pol-input", "pol-hand-deleted", "pol-removed", "pol-broken"} {
		s.put(policy(id))
	}
	s.deliver()
	s.quiet()

	s.handDelete("pol-hand-deleted")
	s.handEdit("pol-expr", func(in *awsscheduler.UpdateScheduleInput) { in.ScheduleExpression = aws.String("rate(5 minutes)") })
	s.handEdit("pol-state", func(in *awsscheduler.UpdateScheduleInput) { in.State = types.ScheduleStateDisabled })
	s.handEdit("pol-input", func(in *awsscheduler.UpdateScheduleInput) {
		target := *in.Target
		target.Input = aws.String(`{"policy_id":"pol-ok","scheduled_time":"<aws.scheduler.scheduled-time>"}`)
		in.Target = &target
	})
	// A schedule made by hand in the group, with no policy behind it.
	orphan := policy("pol-orphan")
	if _, err := s.handler.Syncer.(*policysync.Syncer).Schedules.Apply(ctx, policysync.SpecFor(&orphan)); err != nil {
		t.Fatal(err)
	}
	// Lost stream records: a new policy, a deletion, and a change that
	// makes a policy invalid, written straight to the table.
	s.put(policy("pol-lost"))
	if err := s.store.Delete(ctx, "pol-removed"); err != nil {
		t.Fatal(err)
	}
	broken := policy("pol-broken")
	broken.Schedule = "cron(0 3 * * *)" // five fields: not a Scheduler cron
	s.put(broken)
	s.lose()

	rep := s.reconcile()
	assertRepairs(t, "created", rep.Created, "pol-hand-deleted", "pol-lost")
	assertRepairs(t, "updated", rep.Updated, "pol-expr", "pol-input", "pol-state")
	assertRepairs(t, "deleted", rep.Deleted, "pol-orphan", "pol-removed")
	assertRepairs(t, "invalidated", rep.Invalidated, "pol-broken")
	if !rep.Complete || rep.Unchanged != 1 || rep.Failed.Count != 0 || rep.Policies != 7 || rep.Schedules != 7 {
		t.Errorf("report %+v", rep)
	}
	valid := []string{"pol-expr", "pol-hand-deleted", "pol-input", "pol-lost", "pol-ok", "pol-state"}
	s.assertNames(valid...)
	for _, id := range valid {
		s.assertSchedule(policy(id))
	}
	if s.get("pol-broken").InvalidReason == "" {
		t.Errorf("pol-broken is not marked invalid")
	}

	// The mark's own stream record changes nothing.
	s.deliver()
	s.quiet()
	before := s.snapshot()
	again := s.reconcile()
	if again.Repaired() != 0 || !again.Complete || again.Unchanged != 6 || again.Invalid != 1 {
		t.Errorf("second reconcile: %+v", again)
	}
	s.assertUnchanged(before, "second reconcile")
	s.quiet()
}

// Hundreds of policies: the reconcile pages through ListSchedules (100 a
// page) and every Scan segment, and repairs exactly what drifted.
func TestReconcilePagesAgainstMoto(t *testing.T) {
	s := newStack(t)
	var ids []string
	for i := range 230 {
		p := policy(fmt.Sprintf("pol-%03d", i))
		p.Schedule = fmt.Sprintf("cron(%d 3 * * ? *)", i%60)
		s.put(p)
		ids = append(ids, p.PolicyID)
	}
	s.lose() // a bulk import whose records all ended in the failure queue
	rep := s.reconcile()
	if rep.Created.Count != 230 || len(rep.Created.PolicyIDs) != policysync.MaxReportedIDs || rep.Schedules != 0 || !rep.Complete {
		t.Fatalf("first reconcile: %+v", rep)
	}
	s.assertNames(ids...)
	for _, id := range ids[:40] {
		s.handDelete(id)
	}
	for _, id := range ids[200:] {
		s.handEdit(id, func(in *awsscheduler.UpdateScheduleInput) { in.ScheduleExpressionTimezone = aws.String("Asia/Tokyo") })
	}
	rep = s.reconcile()
	if rep.Created.Count != 40 || rep.Updated.Count != 30 || rep.Unchanged != 160 || rep.Schedules != 190 || rep.Repaired() != 70 {
		t.Errorf("second reconcile: %+v", rep)
	}
	for _, id := range []string{ids[0], ids[39], ids[200], ids[229]} {
		p := s.get(id)
		s.assertSchedule(*p)
	}
	if rep := s.reconcile(); rep.Repaired() != 0 || rep.Schedules != 230 {
		t.Errorf("third reconcile: %+v", rep)
	}
}
