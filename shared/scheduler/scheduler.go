// Package scheduler is the EventBridge Scheduler adapter: one schedule per
// backup policy, in the stack's schedule group, invoking the snapshot
// function. It implements policysync.Schedules.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/snapkeep/snapkeep/shared/policysync"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Client is the part of *scheduler.Client the adapter uses, with the SDK's
// own method signatures, so that a test fake is a struct of function fields.
type Client interface {
	GetSchedule(ctx context.Context, in *scheduler.GetScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error)
	CreateSchedule(ctx context.Context, in *scheduler.CreateScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.CreateScheduleOutput, error)
	UpdateSchedule(ctx context.Context, in *scheduler.UpdateScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error)
	DeleteSchedule(ctx context.Context, in *scheduler.DeleteScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.DeleteScheduleOutput, error)
	ListSchedules(ctx context.Context, in *scheduler.ListSchedulesInput, optFns ...func(*scheduler.Options)) (*scheduler.ListSchedulesOutput, error)
}

var _ Client = (*scheduler.Client)(nil)

// Retry policy of every schedule's target.
//
// EventBridge Scheduler invokes the snapshot function asynchronously, so it
// retries only when the Invoke call itself fails (throttling, a Lambda
// service error); the function's own failures are handled by its async
// retries and on-failure queue. A retry, or a duplicate delivery, is
// harmless: the snapshot function claims the slot (policy id + scheduled
// time) with a conditional write, so a second delivery of a slot never takes
// a second snapshot. We therefore retry generously (Scheduler backs off
// exponentially), but give up after an hour: a slot that could not even be
// delivered for an hour goes to the dead-letter queue, where ops see it,
// instead of starting a snapshot long after its time (the next slot of an
// hourly policy would be due by then).
const (
	// MaximumRetryAttempts is the target's retry budget.
	MaximumRetryAttempts = 20
	// MaximumEventAgeSeconds is how long Scheduler keeps retrying a firing.
	MaximumEventAgeSeconds = 3600
)

// DefaultTimeZone is the time zone of a spec that names none. Every schedule
// is written with an explicit zone so that what GetSchedule returns can be
// compared with what we want.
const DefaultTimeZone = "UTC"

// nameRule is Scheduler's rule for schedule names.
var nameRule = regexp.MustCompile(`^[0-9a-zA-Z\-_.]{1,64}$`)

// Schedules manages the policies' schedules in one schedule group. All
// fields are required except DeadLetterARN.
type Schedules struct {
	// Client is the EventBridge Scheduler client.
	Client Client
	// Group is the schedule group (template: snapkeep-<stage>).
	Group string
	// TargetARN is the snapshot function's ARN.
	TargetARN string
	// RoleARN is the role Scheduler assumes to invoke the target and to
	// send to the dead-letter queue.
	RoleARN string
	// DeadLetterARN is the SQS queue for firings Scheduler could not
	// deliver; "" means none.
	DeadLetterARN string
}

var (
	_ policysync.Schedules      = (*Schedules)(nil)
	_ policysync.ScheduleLister = (*Schedules)(nil)
)

// ListPageSize is ListSchedules' MaxResults: the most the API allows.
const ListPageSize = 100

// Apply makes the schedule named spec.Name match spec: it creates the
// schedule when it is missing, updates it when anything we set differs
// (expression, time zone, state, flexible window, target, role, input,
// retry policy, dead-letter queue, or fields we never set such as start and
// end dates), and writes nothing otherwise, so replaying a spec changes
// nothing. changed reports whether it wrote.
//
// When Scheduler rejects the spec (a ValidationException) the error wraps
// snapkeep.ErrInvalid and its text is Scheduler's message only (no request
// id), so the same spec always gives the same text.
func (s *Schedules) Apply(ctx context.Context, spec policysync.ScheduleSpec) (bool, error) {
	if err := checkName(spec.Name); err != nil {
		return false, err
	}
	want := s.desired(spec)
	got, err := s.Client.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(spec.Name), GroupName: aws.String(s.Group)})
	if isNotFound(err) {
		_, err = s.Client.CreateSchedule(ctx, want.createInput())
		if err == nil {
			return true, nil
		}
		if !isConflict(err) {
			return false, s.wrap("create", spec.Name, err)
		}
		// Created by someone else since our read: compare with theirs.
		got, err = s.Client.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(spec.Name), GroupName: aws.String(s.Group)})
	}
	if err != nil {
		return false, s.wrap("get", spec.Name, err)
	}
	if want.matches(got) {
		return false, nil
	}
	if _, err := s.Client.UpdateSchedule(ctx, want.updateInput()); err != nil {
		return false, s.wrap("update", spec.Name, err)
	}
	return true, nil
}

// Delete removes the named schedule from the group. A schedule that does not
// exist is not an error; deleted reports whether there was one.
func (s *Schedules) Delete(ctx context.Context, name string) (bool, error) {
	if err := checkName(name); err != nil {
		// Such a schedule cannot exist.
		return false, nil
	}
	_, err := s.Client.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String(name), GroupName: aws.String(s.Group)})
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, s.wrap("delete", name, err)
	}
	return true, nil
}

// ScheduleNames returns one page (up to ListPageSize) of the names of the
// schedules in the group, from token ("" is the first page), and the token
// of the next page ("" after the last). Every schedule in the group is a
// policy's: the stack's own schedules (the sweep, the reconcile) live in
// the default group.
func (s *Schedules) ScheduleNames(ctx context.Context, token string) ([]string, string, error) {
	in := &scheduler.ListSchedulesInput{GroupName: aws.String(s.Group), MaxResults: aws.Int32(ListPageSize)}
	if token != "" {
		in.NextToken = aws.String(token)
	}
	out, err := s.Client.ListSchedules(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("list schedules of group %s: %w", s.Group, err)
	}
	names := make([]string, 0, len(out.Schedules))
	for _, sc := range out.Schedules {
		names = append(names, aws.ToString(sc.Name))
	}
	return names, aws.ToString(out.NextToken), nil
}

func checkName(name string) error {
	if !nameRule.MatchString(name) {
		return fmt.Errorf("schedule name %q: must be 1-64 characters of letters, digits, '-', '_' and '.': %w", name, snapkeep.ErrInvalid)
	}
	return nil
}

// wrap adds context to a Scheduler error. A ValidationException from a
// create or update (Scheduler rejecting the schedule we sent) becomes a
// deterministic error wrapping snapkeep.ErrInvalid.
func (s *Schedules) wrap(op, name string, err error) error {
	var ve *types.ValidationException
	if (op == "create" || op == "update") && errors.As(err, &ve) {
		return fmt.Errorf("EventBridge Scheduler rejected schedule %s: %s: %w", name, ve.ErrorMessage(), snapkeep.ErrInvalid)
	}
	return fmt.Errorf("%s schedule %s in group %s: %w", op, name, s.Group, err)
}

func isNotFound(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.As(err, &nf)
}

func isConflict(err error) bool {
	var c *types.ConflictException
	return errors.As(err, &c)
}

// schedule is everything the adapter sets on a schedule.
type schedule struct {
	group, name, expression, timeZone string
	state                             types.ScheduleState
	window                            types.FlexibleTimeWindow
	target                            types.Target
}

// desired returns the schedule spec should have in s's group.
func (s *Schedules) desired(spec policysync.ScheduleSpec) schedule {
	sc := schedule{
		group:      s.Group,
		name:       spec.Name,
		expression: spec.Expression,
		timeZone:   spec.TimeZone,
		state:      types.ScheduleStateEnabled,
		window:     types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
		target: types.Target{
			Arn:     aws.String(s.TargetARN),
			RoleArn: aws.String(s.RoleARN),
			Input:   aws.String(spec.Input),
			RetryPolicy: &types.RetryPolicy{
				MaximumRetryAttempts:     aws.Int32(MaximumRetryAttempts),
				MaximumEventAgeInSeconds: aws.Int32(MaximumEventAgeSeconds),
			},
		},
	}
	if sc.timeZone == "" {
		sc.timeZone = DefaultTimeZone
	}
	if !spec.Enabled {
		sc.state = types.ScheduleStateDisabled
	}
	if spec.FlexibleWindowMinutes > 0 {
		sc.window = types.FlexibleTimeWindow{
			Mode:                   types.FlexibleTimeWindowModeFlexible,
			MaximumWindowInMinutes: aws.Int32(int32(spec.FlexibleWindowMinutes)),
		}
	}
	if s.DeadLetterARN != "" {
		sc.target.DeadLetterConfig = &types.DeadLetterConfig{Arn: aws.String(s.DeadLetterARN)}
	}
	return sc
}

func (sc schedule) createInput() *scheduler.CreateScheduleInput {
	window, target := sc.window, sc.target
	return &scheduler.CreateScheduleInput{
		Name:                       aws.String(sc.name),
		GroupName:                  aws.String(sc.group),
		ScheduleExpression:         aws.String(sc.expression),
		ScheduleExpressionTimezone: aws.String(sc.timeZone),
		State:                      sc.state,
		FlexibleTimeWindow:         &window,
		Target:                     &target,
		ActionAfterCompletion:      types.ActionAfterCompletionNone,
	}
}

// updateInput replaces the whole schedule: UpdateSchedule resets every
// field it is not given, which also clears anything set by hand.
func (sc schedule) updateInput() *scheduler.UpdateScheduleInput {
	window, target := sc.window, sc.target
	return &scheduler.UpdateScheduleInput{
		Name:                       aws.String(sc.name),
		GroupName:                  aws.String(sc.group),
		ScheduleExpression:         aws.String(sc.expression),
		ScheduleExpressionTimezone: aws.String(sc.timeZone),
		State:                      sc.state,
		FlexibleTimeWindow:         &window,
		Target:                     &target,
		ActionAfterCompletion:      types.ActionAfterCompletionNone,
	}
}

// matches reports whether the schedule Scheduler holds is sc.
func (sc schedule) matches(got *scheduler.GetScheduleOutput) bool {
	if got == nil {
		return false
	}
	if aws.ToString(got.ScheduleExpression) != sc.expression ||
		aws.ToString(got.ScheduleExpressionTimezone) != sc.timeZone ||
		got.State != sc.state {
		return false
	}
	// Never set by us: present means changed by hand, so replace.
	if got.StartDate != nil || got.EndDate != nil || aws.ToString(got.KmsKeyArn) != "" || aws.ToString(got.Description) != "" {
		return false
	}
	if got.ActionAfterCompletion != "" && got.ActionAfterCompletion != types.ActionAfterCompletionNone {
		return false
	}
	return sameWindow(got.FlexibleTimeWindow, sc.window) && sameTarget(got.Target, sc.target)
}

func sameWindow(got *types.FlexibleTimeWindow, want types.FlexibleTimeWindow) bool {
	if got == nil || got.Mode != want.Mode {
		return false
	}
	if want.Mode == types.FlexibleTimeWindowModeOff {
		return true
	}
	return aws.ToInt32(got.MaximumWindowInMinutes) == aws.ToInt32(want.MaximumWindowInMinutes)
}

func sameTarget(got *types.Target, want types.Target) bool {
	if got == nil ||
		aws.ToString(got.Arn) != aws.ToString(want.Arn) ||
		aws.ToString(got.RoleArn) != aws.ToString(want.RoleArn) ||
		aws.ToString(got.Input) != aws.ToString(want.Input) {
		return false
	}
	if got.RetryPolicy == nil ||
		aws.ToInt32(got.RetryPolicy.MaximumRetryAttempts) != aws.ToInt32(want.RetryPolicy.MaximumRetryAttempts) ||
		aws.ToInt32(got.RetryPolicy.MaximumEventAgeInSeconds) != aws.ToInt32(want.RetryPolicy.MaximumEventAgeInSeconds) {
		return false
	}
	var gotDLQ, wantDLQ string
	if got.DeadLetterConfig != nil {
		gotDLQ = aws.ToString(got.DeadLetterConfig.Arn)
	}
	if want.DeadLetterConfig != nil {
		wantDLQ = aws.ToString(want.DeadLetterConfig.Arn)
	}
	if gotDLQ != wantDLQ {
		return false
	}
	// Parameters of other target kinds: never set by us.
	return got.EcsParameters == nil && got.EventBridgeParameters == nil && got.KinesisParameters == nil &&
		got.SageMakerPipelineParameters == nil && got.SqsParameters == nil
}
