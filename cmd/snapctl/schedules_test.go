package main

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/policysync"
	"github.com/snapkeep/snapkeep/shared/scheduler"
	"github.com/snapkeep/snapkeep/shared/scheduler/schedulertest"
)

// TestCommandsReachTheSchedule follows the ops path end to end against
// moto: each snapctl policy command writes the Policies table, the table's
// stream records go to the syncer functions/schedules runs, and the
// policy's EventBridge Scheduler schedule follows (created in the policy's
// time zone, disabled, enabled, deleted).
func TestCommandsReachTheSchedule(t *testing.T) {
	c := newCLI(t)
	g := schedulertest.NewGroup(t, c.env)
	syncer := &policysync.Syncer{
		Policies: &dynamo.PolicyStore{Client: c.env.DynamoDB, Table: c.vars["POLICIES_TABLE"]},
		Schedules: &scheduler.Schedules{Client: g.Client, Group: g.Name,
			TargetARN: schedulertest.TargetARN, RoleARN: schedulertest.RoleARN, DeadLetterARN: schedulertest.DeadLetterARN},
	}
	// deliver hands the new stream records to the syncer, as Lambda would.
	deliver := func() {
		t.Helper()
		for _, rec := range c.env.StreamRecords(t, dynamo.Policies) {
			id := rec.Change.Keys["policy_id"].String()
			if _, err := syncer.Sync(context.Background(), id); err != nil {
				t.Fatalf("sync %s: %v", id, err)
			}
		}
	}
	state := func() string {
		t.Helper()
		sc := g.Get(t, "pol-web1")
		if sc == nil {
			return "none"
		}
		return string(sc.State) + " " + aws.ToString(sc.ScheduleExpression) + " " + aws.ToString(sc.ScheduleExpressionTimezone)
	}
	steps := []struct {
		args []string
		want string
	}{
		{webFlags, "ENABLED cron(0 3 * * ? *) Europe/Berlin"},
		{[]string{"policy", "pause", "pol-web1"}, "DISABLED cron(0 3 * * ? *) Europe/Berlin"},
		{[]string{"policy", "resume", "pol-web1"}, "ENABLED cron(0 3 * * ? *) Europe/Berlin"},
		{with(webFlags, "--tz", "Asia/Tokyo"), "ENABLED cron(0 3 * * ? *) Asia/Tokyo"},
		{[]string{"policy", "delete", "pol-web1", "--yes"}, "none"},
	}
	for _, st := range steps {
		c.ok(st.args...)
		deliver()
		if got := state(); got != st.want {
			t.Errorf("after snapctl %v: schedule %q, want %q", st.args[:2], got, st.want)
		}
	}
}
