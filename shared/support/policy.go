package support

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/snapkeep/snapkeep/shared/policysync"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// ScheduleReader is the part of *scheduler.Client PolicyStatus uses, with
// the SDK's own method signature.
type ScheduleReader interface {
	GetSchedule(ctx context.Context, in *scheduler.GetScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error)
}

var _ ScheduleReader = (*scheduler.Client)(nil)

// ScheduleState is a policy's EventBridge Scheduler schedule as Scheduler
// holds it, compared with what functions/schedules would make of the
// policy.
type ScheduleState struct {
	// Group and Name locate the schedule (the name is the policy id).
	Group string `json:"group"`
	Name  string `json:"name"`
	// Exists is false when the group has no such schedule.
	Exists bool `json:"exists"`
	// State is ENABLED or DISABLED.
	State string `json:"state,omitempty"`
	// Expression and TimeZone are the schedule's.
	Expression string `json:"expression,omitempty"`
	TimeZone   string `json:"time_zone,omitempty"`
	// FlexibleWindowMinutes is the schedule's flexible window (0: off).
	FlexibleWindowMinutes int `json:"flexible_window_minutes,omitempty"`
	// InStep is true when the schedule is what the policy asks for (a
	// valid policy has a schedule of its expression, zone, window and
	// state; an invalid or deleted one has none).
	InStep bool `json:"in_step"`
	// Problem says how it is out of step, in plain words.
	Problem string `json:"problem,omitempty"`
	// Error says why the schedule could not be read (then nothing else
	// but Group and Name is set).
	Error string `json:"error,omitempty"`
}

// PolicyStatus is a policy with the state of its schedule and its last run.
type PolicyStatus struct {
	// Policy is the stored policy (InvalidReason says why it has no schedule).
	Policy *snapkeep.Policy `json:"policy"`
	// Schedule is its schedule; nil when not asked for.
	Schedule *ScheduleState `json:"schedule,omitempty"`
	// LastRun is its newest run; nil when it has none.
	LastRun *snapkeep.Run `json:"last_run,omitempty"`
}

// PolicyStatus returns the policy (as read by the caller, e.g.
// dynamo.PolicyStore.Get) with its newest run (one item through the Runs
// key) and, when sched is not nil, its schedule in group. A schedule that
// cannot be read is reported in Schedule.Error, not as an error.
func (q *Queries) PolicyStatus(ctx context.Context, p *snapkeep.Policy, sched ScheduleReader, group string) (*PolicyStatus, error) {
	policyID := p.PolicyID
	st := &PolicyStatus{Policy: p}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(q.Tables.Runs),
		KeyConditionExpression:    aws.String("policy_id = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": str(policyID)},
		ScanIndexForward:          aws.Bool(false),
	}
	last, err := queryItems[snapkeep.Run](ctx, q, fmt.Sprintf("newest run of policy %q", policyID), in, 1, "policy_id", "scheduled_at")
	if err != nil {
		return nil, err
	}
	if len(last.Items) > 0 {
		st.LastRun = &last.Items[0]
	}
	if sched != nil {
		st.Schedule = ReadSchedule(ctx, sched, group, p)
	}
	return st, nil
}

// ReadSchedule reads p's schedule in group and says whether it is in step
// with p. It never fails: a read error is in the result's Error.
func ReadSchedule(ctx context.Context, c ScheduleReader, group string, p *snapkeep.Policy) *ScheduleState {
	s := &ScheduleState{Group: group, Name: p.PolicyID}
	out, err := c.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(p.PolicyID), GroupName: aws.String(group)})
	var nf *schedtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &nf) && strings.Contains(strings.ToLower(nf.ErrorMessage()), "group"):
		s.Error = fmt.Sprintf("schedule group %s does not exist: is this the stack's group (--stack, --schedule-group)?", group)
		return s
	case errors.As(err, &nf):
		s.Exists = false
	case err != nil:
		s.Error = fmt.Sprintf("could not read schedule %s/%s: %v", group, p.PolicyID, err)
		return s
	default:
		s.Exists = true
		s.State = string(out.State)
		s.Expression = aws.ToString(out.ScheduleExpression)
		s.TimeZone = aws.ToString(out.ScheduleExpressionTimezone)
		if out.FlexibleTimeWindow != nil && out.FlexibleTimeWindow.Mode == schedtypes.FlexibleTimeWindowModeFlexible {
			s.FlexibleWindowMinutes = int(aws.ToInt32(out.FlexibleTimeWindow.MaximumWindowInMinutes))
		}
	}
	s.Problem = scheduleProblem(s, p)
	s.InStep = s.Problem == ""
	return s
}

// scheduleProblem says how s differs from what p asks for, or "".
func scheduleProblem(s *ScheduleState, p *snapkeep.Policy) string {
	const lag = " (functions/schedules applies a change within seconds; if this lasts, check its logs and the StreamFailureQueue)"
	if p.InvalidReason != "" {
		if s.Exists {
			return "the policy is invalid but its schedule still exists" + lag
		}
		return ""
	}
	if !s.Exists {
		return "the policy has no schedule, so it never runs" + lag
	}
	want := policysync.SpecFor(p)
	zone := want.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	wantState := string(schedtypes.ScheduleStateEnabled)
	if !want.Enabled {
		wantState = string(schedtypes.ScheduleStateDisabled)
	}
	switch {
	case s.State != wantState:
		return fmt.Sprintf("the schedule is %s but the policy wants it %s", s.State, wantState) + lag
	case s.Expression != want.Expression:
		return fmt.Sprintf("the schedule fires on %s but the policy says %s", s.Expression, want.Expression) + lag
	case s.TimeZone != zone:
		return fmt.Sprintf("the schedule is read in %s but the policy says %s", s.TimeZone, zone) + lag
	case s.FlexibleWindowMinutes != want.FlexibleWindowMinutes:
		return fmt.Sprintf("the schedule's flexible window is %d minutes but the policy says %d", s.FlexibleWindowMinutes, want.FlexibleWindowMinutes) + lag
	}
	return ""
}
