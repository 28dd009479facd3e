package scheduler_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsscheduler "github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/policysync"
	"github.com/snapkeep/snapkeep/shared/scheduler"
	"github.com/snapkeep/snapkeep/shared/scheduler/schedulertest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func TestMain(m *testing.M) { awstest.Main(m) }

func newSchedules(t *testing.T) (*scheduler.Schedules, *schedulertest.Group) {
	t.Helper()
	env := awstest.New(t)
	g := schedulertest.NewGroup(t, env)
	return &scheduler.Schedules{
		Client:        g.Client,
		Group:         g.Name,
		TargetARN:     schedulertest.TargetARN,
		RoleARN:       schedulertest.RoleARN,
		DeadLetterARN: schedulertest.DeadLetterARN,
	}, g
}

// view is what a schedule looks like in GetSchedule, reduced to what we set.
type view struct {
	Expression, TimeZone, State, WindowMode string
	WindowMinutes                           int32
	TargetARN, RoleARN, Input, DLQ          string
	Retries, MaxAge                         int32
	ActionAfterCompletion                   string
}

func viewOf(t *testing.T, out *awsscheduler.GetScheduleOutput) view {
	t.Helper()
	if out == nil {
		t.Fatalf("schedule does not exist")
	}
	v := view{
		Expression:            aws.ToString(out.ScheduleExpression),
		TimeZone:              aws.ToString(out.ScheduleExpressionTimezone),
		State:                 string(out.State),
		ActionAfterCompletion: string(out.ActionAfterCompletion),
	}
	if w := out.FlexibleTimeWindow; w != nil {
		v.WindowMode, v.WindowMinutes = string(w.Mode), aws.ToInt32(w.MaximumWindowInMinutes)
	}
	if tg := out.Target; tg != nil {
		v.TargetARN, v.RoleARN, v.Input = aws.ToString(tg.Arn), aws.ToString(tg.RoleArn), aws.ToString(tg.Input)
		if tg.DeadLetterConfig != nil {
			v.DLQ = aws.ToString(tg.DeadLetterConfig.Arn)
		}
		if rp := tg.RetryPolicy; rp != nil {
			v.Retries, v.MaxAge = aws.ToInt32(rp.MaximumRetryAttempts), aws.ToInt32(rp.MaximumEventAgeInSeconds)
		}
	}
	return v
}

func baseView(input string) view {
	return view{
		Expression: "cron(0 3 * * ? *)", TimeZone: "Europe/Berlin", State: "ENABLED",
		WindowMode: "OFF", TargetARN: schedulertest.TargetARN, RoleARN: schedulertest.RoleARN,
		Input: input, DLQ: schedulertest.DeadLetterARN,
		Retries: scheduler.MaximumRetryAttempts, MaxAge: scheduler.MaximumEventAgeSeconds,
		ActionAfterCompletion: "NONE",
	}
}

func TestApplyAgainstMoto(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, g := newSchedules(t)
	input := policysync.TargetInput("pol-1")
	spec := policysync.ScheduleSpec{
		Name: "pol-1", Expression: "cron(0 3 * * ? *)", TimeZone: "Europe/Berlin", Enabled: true, Input: input,
	}

	// Create.
	changed, err := s.Apply(ctx, spec)
	if err != nil || !changed {
		t.Fatalf("Apply (create) = %t, %v; want true, nil", changed, err)
	}
	created := g.Get(t, "pol-1")
	if got, want := viewOf(t, created), baseView(input); got != want {
		t.Fatalf("created schedule:\n got  %+v\n want %+v", got, want)
	}
	if aws.ToString(created.GroupName) != g.Name {
		t.Errorf("group = %q, want %q", aws.ToString(created.GroupName), g.Name)
	}
	if raw := aws.ToString(created.Target.Input); raw != `{"policy_id":"pol-1","scheduled_time":"<aws.scheduler.scheduled-time>"}` {
		t.Errorf("target input = %s", raw)
	}
	var in policysync.SnapshotInput
	if err := json.Unmarshal([]byte(aws.ToString(created.Target.Input)), &in); err != nil ||
		in != (policysync.SnapshotInput{PolicyID: "pol-1", ScheduledTime: "<aws.scheduler.scheduled-time>"}) {
		t.Errorf("target input %s: %v", aws.ToString(created.Target.Input), err)
	}

	// Replay: nothing written.
	changed, err = s.Apply(ctx, spec)
	if err != nil || changed {
		t.Fatalf("Apply (replay) = %t, %v; want false, nil", changed, err)
	}
	if again := g.Get(t, "pol-1"); !aws.ToTime(again.LastModificationDate).Equal(aws.ToTime(created.LastModificationDate)) ||
		!reflect.DeepEqual(viewOf(t, again), viewOf(t, created)) {
		t.Errorf("replay modified the schedule: %v → %v", created.LastModificationDate, again.LastModificationDate)
	}

	// Each kind of change is written, and then is stable.
	steps := []struct {
		name   string
		change func(*policysync.ScheduleSpec)
		want   func(*view)
	}{
		{"pause", func(s *policysync.ScheduleSpec) { s.Enabled = false }, func(v *view) { v.State = "DISABLED" }},
		{"resume", func(s *policysync.ScheduleSpec) { s.Enabled = true }, func(v *view) {}},
		{"flexible window", func(s *policysync.ScheduleSpec) { s.FlexibleWindowMinutes = 30 }, func(v *view) {
			v.WindowMode, v.WindowMinutes = "FLEXIBLE", 30
		}},
		{"new expression", func(s *policysync.ScheduleSpec) { s.Expression = "rate(6 hours)" }, func(v *view) {
			v.WindowMode, v.WindowMinutes, v.Expression = "FLEXIBLE", 30, "rate(6 hours)"
		}},
		{"UTC by default", func(s *policysync.ScheduleSpec) { s.TimeZone = "" }, func(v *view) {
			v.WindowMode, v.WindowMinutes, v.Expression, v.TimeZone = "FLEXIBLE", 30, "rate(6 hours)", "UTC"
		}},
		{"window off", func(s *policysync.ScheduleSpec) { s.FlexibleWindowMinutes = 0 }, func(v *view) {
			v.Expression, v.TimeZone = "rate(6 hours)", "UTC"
		}},
	}
	for _, step := range steps {
		step.change(&spec)
		changed, err := s.Apply(ctx, spec)
		if err != nil || !changed {
			t.Fatalf("%s: Apply = %t, %v; want true, nil", step.name, changed, err)
		}
		want := baseView(input)
		step.want(&want)
		if got := viewOf(t, g.Get(t, "pol-1")); got != want {
			t.Fatalf("%s:\n got  %+v\n want %+v", step.name, got, want)
		}
		if changed, err := s.Apply(ctx, spec); err != nil || changed {
			t.Fatalf("%s: replay Apply = %t, %v; want false, nil", step.name, changed, err)
		}
	}

	// Configuration changes (a new target or dead-letter queue) are written.
	s2 := *s
	s2.TargetARN += "-v2"
	s2.DeadLetterARN = ""
	if changed, err := s2.Apply(ctx, spec); err != nil || !changed {
		t.Fatalf("Apply with new target = %t, %v; want true, nil", changed, err)
	}
	if v := viewOf(t, g.Get(t, "pol-1")); v.TargetARN != s2.TargetARN || v.DLQ != "" {
		t.Errorf("after new target: %+v", v)
	}

	// A schedule edited by hand is put back.
	before := g.Get(t, "pol-1")
	_, err = g.Client.UpdateSchedule(ctx, &awsscheduler.UpdateScheduleInput{
		Name: aws.String("pol-1"), GroupName: aws.String(g.Name),
		ScheduleExpression: aws.String("rate(1 minute)"),
		Description:        aws.String("edited by hand"),
		FlexibleTimeWindow: before.FlexibleTimeWindow,
		Target:             before.Target,
		State:              before.State,
	})
	if err != nil {
		t.Fatalf("hand edit: %v", err)
	}
	if changed, err := s.Apply(ctx, spec); err != nil || !changed {
		t.Fatalf("Apply after hand edit = %t, %v; want true, nil", changed, err)
	}
	want := baseView(input)
	want.Expression, want.TimeZone = "rate(6 hours)", "UTC"
	after := g.Get(t, "pol-1")
	if got := viewOf(t, after); got != want || aws.ToString(after.Description) != "" {
		t.Errorf("after repair:\n got  %+v (description %q)\n want %+v", got, aws.ToString(after.Description), want)
	}
}

func TestDeleteAgainstMoto(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, g := newSchedules(t)
	for _, id := range []string{"keep", "drop"} {
		if _, err := s.Apply(ctx, policysync.ScheduleSpec{Name: id, Expression: "rate(1 day)", Enabled: true, Input: policysync.TargetInput(id)}); err != nil {
			t.Fatalf("Apply %s: %v", id, err)
		}
	}
	deleted, err := s.Delete(ctx, "drop")
	if err != nil || !deleted {
		t.Fatalf("Delete = %t, %v; want true, nil", deleted, err)
	}
	if got := g.Names(t); !reflect.DeepEqual(got, []string{"keep"}) {
		t.Errorf("schedules after delete = %q, want [keep]", got)
	}
	// Deleting again, or something that never existed, is not an error.
	for _, name := range []string{"drop", "never", "bad name!"} {
		if deleted, err := s.Delete(ctx, name); err != nil || deleted {
			t.Errorf("Delete(%q) = %t, %v; want false, nil", name, deleted, err)
		}
	}
}

func TestApplyMissingGroupIsAnError(t *testing.T) {
	t.Parallel()
	s, g := newSchedules(t)
	s.Group = g.Name + "-missing"
	// A missing group is a deployment fault, retried, never a verdict on
	// the policy. (moto answers GetSchedule with ResourceNotFound, then
	// CreateSchedule with an HTML 500 from a KeyError; real Scheduler
	// answers ResourceNotFoundException.)
	_, err := s.Apply(context.Background(), policysync.ScheduleSpec{Name: "p", Expression: "rate(1 day)", Input: "{}"})
	if err == nil {
		t.Fatalf("Apply in a missing group succeeded")
	}
	if errors.Is(err, snapkeep.ErrInvalid) {
		t.Errorf("a missing group must not make the policy invalid: %v", err)
	}
	t.Logf("Apply in a missing group: %v", err)
}

// TestApplyRepairsEachField changes one field of the schedule at a time,
// as a policy change or a hand edit in the console would, and checks that
// Apply notices each one and puts the schedule back exactly.
func TestApplyRepairsEachField(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, g := newSchedules(t)
	input := policysync.TargetInput("pol-2")
	spec := policysync.ScheduleSpec{
		Name: "pol-2", Expression: "cron(0 3 * * ? *)", TimeZone: "Europe/Berlin", Enabled: true,
		FlexibleWindowMinutes: 15, Input: input,
	}
	want := baseView(input)
	want.WindowMode, want.WindowMinutes = "FLEXIBLE", 15
	if _, err := s.Apply(ctx, spec); err != nil {
		t.Fatalf("Apply (create): %v", err)
	}

	// A policy change of the window's width alone is written.
	spec.FlexibleWindowMinutes = 30
	if changed, err := s.Apply(ctx, spec); err != nil || !changed {
		t.Fatalf("Apply (window 15 → 30) = %t, %v; want true, nil", changed, err)
	}
	want.WindowMinutes = 30
	if got := viewOf(t, g.Get(t, "pol-2")); got != want {
		t.Fatalf("after window change:\n got  %+v\n want %+v", got, want)
	}

	edits := []struct {
		name string
		edit func(in *awsscheduler.UpdateScheduleInput)
	}{
		{"window width", func(in *awsscheduler.UpdateScheduleInput) {
			in.FlexibleTimeWindow.MaximumWindowInMinutes = aws.Int32(45)
		}},
		{"target input", func(in *awsscheduler.UpdateScheduleInput) {
			in.Target.Input = aws.String(`{"policy_id":"pol-other","scheduled_time":"<aws.scheduler.scheduled-time>"}`)
		}},
		{"retry attempts", func(in *awsscheduler.UpdateScheduleInput) {
			in.Target.RetryPolicy.MaximumRetryAttempts = aws.Int32(0)
		}},
		{"retry event age", func(in *awsscheduler.UpdateScheduleInput) {
			in.Target.RetryPolicy.MaximumEventAgeInSeconds = aws.Int32(60)
		}},
		{"dead-letter queue removed", func(in *awsscheduler.UpdateScheduleInput) { in.Target.DeadLetterConfig = nil }},
		{"role", func(in *awsscheduler.UpdateScheduleInput) {
			in.Target.RoleArn = aws.String(schedulertest.RoleARN + "-other")
		}},
		{"state", func(in *awsscheduler.UpdateScheduleInput) { in.State = "DISABLED" }},
		{"time zone", func(in *awsscheduler.UpdateScheduleInput) { in.ScheduleExpressionTimezone = aws.String("UTC") }},
	}
	for _, e := range edits {
		before := g.Get(t, "pol-2")
		target := *before.Target
		retry := *target.RetryPolicy
		target.RetryPolicy = &retry
		window := *before.FlexibleTimeWindow
		in := &awsscheduler.UpdateScheduleInput{
			Name: aws.String("pol-2"), GroupName: aws.String(g.Name),
			ScheduleExpression:         before.ScheduleExpression,
			ScheduleExpressionTimezone: before.ScheduleExpressionTimezone,
			FlexibleTimeWindow:         &window,
			Target:                     &target,
			State:                      before.State,
		}
		e.edit(in)
		if _, err := g.Client.UpdateSchedule(ctx, in); err != nil {
			t.Fatalf("%s: hand edit: %v", e.name, err)
		}
		if viewOf(t, g.Get(t, "pol-2")) == want {
			t.Fatalf("%s: the hand edit did not change the schedule", e.name)
		}
		if changed, err := s.Apply(ctx, spec); err != nil || !changed {
			t.Fatalf("%s: Apply after hand edit = %t, %v; want true, nil", e.name, changed, err)
		}
		if got := viewOf(t, g.Get(t, "pol-2")); got != want {
			t.Errorf("%s: after repair:\n got  %+v\n want %+v", e.name, got, want)
		}
	}
}
