package scheduler_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsscheduler "github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/smithy-go"

	"github.com/snapkeep/snapkeep/shared/policysync"
	"github.com/snapkeep/snapkeep/shared/scheduler"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// fakeClient is a scheduler.Client of function fields, for what moto cannot
// do: reject a schedule, or lose a create race.
type fakeClient struct {
	get    func(context.Context, *awsscheduler.GetScheduleInput) (*awsscheduler.GetScheduleOutput, error)
	create func(context.Context, *awsscheduler.CreateScheduleInput) (*awsscheduler.CreateScheduleOutput, error)
	update func(context.Context, *awsscheduler.UpdateScheduleInput) (*awsscheduler.UpdateScheduleOutput, error)
	delete func(context.Context, *awsscheduler.DeleteScheduleInput) (*awsscheduler.DeleteScheduleOutput, error)
	list   func(context.Context, *awsscheduler.ListSchedulesInput) (*awsscheduler.ListSchedulesOutput, error)
}

func (f *fakeClient) GetSchedule(ctx context.Context, in *awsscheduler.GetScheduleInput, _ ...func(*awsscheduler.Options)) (*awsscheduler.GetScheduleOutput, error) {
	return f.get(ctx, in)
}

func (f *fakeClient) CreateSchedule(ctx context.Context, in *awsscheduler.CreateScheduleInput, _ ...func(*awsscheduler.Options)) (*awsscheduler.CreateScheduleOutput, error) {
	return f.create(ctx, in)
}

func (f *fakeClient) UpdateSchedule(ctx context.Context, in *awsscheduler.UpdateScheduleInput, _ ...func(*awsscheduler.Options)) (*awsscheduler.UpdateScheduleOutput, error) {
	return f.update(ctx, in)
}

func (f *fakeClient) DeleteSchedule(ctx context.Context, in *awsscheduler.DeleteScheduleInput, _ ...func(*awsscheduler.Options)) (*awsscheduler.DeleteScheduleOutput, error) {
	return f.delete(ctx, in)
}

func (f *fakeClient) ListSchedules(ctx context.Context, in *awsscheduler.ListSchedulesInput, _ ...func(*awsscheduler.Options)) (*awsscheduler.ListSchedulesOutput, error) {
	return f.list(ctx, in)
}

// sdkError wraps a Scheduler error as the SDK returns it, request id and all.
func sdkError(op string, err error) error {
	return &smithy.OperationError{ServiceID: "Scheduler", OperationName: op, Err: err}
}

func notFound() error {
	return sdkError("GetSchedule", &types.ResourceNotFoundException{Message: aws.String("Schedule p does not exist.")})
}

func TestApplyRejectedScheduleIsInvalid(t *testing.T) {
	rejected := &types.ValidationException{Message: aws.String("Invalid Schedule Expression cron(0 3 * * * *).")}
	for _, existing := range []bool{false, true} {
		f := &fakeClient{
			get: func(context.Context, *awsscheduler.GetScheduleInput) (*awsscheduler.GetScheduleOutput, error) {
				if existing {
					return &awsscheduler.GetScheduleOutput{ScheduleExpression: aws.String("rate(1 day)")}, nil
				}
				return nil, notFound()
			},
			create: func(context.Context, *awsscheduler.CreateScheduleInput) (*awsscheduler.CreateScheduleOutput, error) {
				return nil, sdkError("CreateSchedule", rejected)
			},
			update: func(context.Context, *awsscheduler.UpdateScheduleInput) (*awsscheduler.UpdateScheduleOutput, error) {
				return nil, sdkError("UpdateSchedule", rejected)
			},
		}
		s := &scheduler.Schedules{Client: f, Group: "g", TargetARN: "t", RoleARN: "r"}
		spec := policysync.ScheduleSpec{Name: "p", Expression: "cron(0 3 * * * *)", Input: "{}"}
		_, err1 := s.Apply(context.Background(), spec)
		_, err2 := s.Apply(context.Background(), spec)
		if !errors.Is(err1, snapkeep.ErrInvalid) {
			t.Fatalf("existing=%t: error %v does not wrap ErrInvalid", existing, err1)
		}
		// The text becomes the policy's invalid_reason: it must be the same
		// every time (no request id), or each replay would write it again.
		if err1.Error() != err2.Error() || strings.Contains(err1.Error(), "RequestID") ||
			!strings.Contains(err1.Error(), "Invalid Schedule Expression") {
			t.Errorf("existing=%t: reasons %q / %q", existing, err1, err2)
		}
	}
}

func TestApplyOtherErrorsAreNotInvalid(t *testing.T) {
	throttled := sdkError("GetSchedule", &types.ThrottlingException{Message: aws.String("slow down")})
	f := &fakeClient{get: func(context.Context, *awsscheduler.GetScheduleInput) (*awsscheduler.GetScheduleOutput, error) {
		return nil, throttled
	}}
	s := &scheduler.Schedules{Client: f, Group: "g"}
	_, err := s.Apply(context.Background(), policysync.ScheduleSpec{Name: "p"})
	var te *types.ThrottlingException
	if errors.Is(err, snapkeep.ErrInvalid) || !errors.As(err, &te) || !strings.Contains(err.Error(), "schedule p in group g") {
		t.Fatalf("Apply error = %v, want the wrapped throttling error", err)
	}
}

func TestApplyLostCreateRaceUpdates(t *testing.T) {
	var calls []string
	f := &fakeClient{
		get: func(context.Context, *awsscheduler.GetScheduleInput) (*awsscheduler.GetScheduleOutput, error) {
			calls = append(calls, "get")
			if len(calls) == 1 {
				return nil, notFound()
			}
			return &awsscheduler.GetScheduleOutput{ScheduleExpression: aws.String("rate(1 day)")}, nil
		},
		create: func(context.Context, *awsscheduler.CreateScheduleInput) (*awsscheduler.CreateScheduleOutput, error) {
			calls = append(calls, "create")
			return nil, sdkError("CreateSchedule", &types.ConflictException{Message: aws.String("Schedule p already exists.")})
		},
		update: func(_ context.Context, in *awsscheduler.UpdateScheduleInput) (*awsscheduler.UpdateScheduleOutput, error) {
			calls = append(calls, "update")
			if aws.ToString(in.ScheduleExpression) != "rate(2 days)" || aws.ToString(in.GroupName) != "g" {
				t.Errorf("update input: %+v", in)
			}
			return &awsscheduler.UpdateScheduleOutput{}, nil
		},
	}
	s := &scheduler.Schedules{Client: f, Group: "g", TargetARN: "t", RoleARN: "r"}
	changed, err := s.Apply(context.Background(), policysync.ScheduleSpec{Name: "p", Expression: "rate(2 days)", Input: "{}"})
	if err != nil || !changed {
		t.Fatalf("Apply = %t, %v", changed, err)
	}
	if strings.Join(calls, ",") != "get,create,get,update" {
		t.Errorf("calls %q", calls)
	}
}

func TestApplyBadNameCallsNothing(t *testing.T) {
	s := &scheduler.Schedules{Client: &fakeClient{}, Group: "g"}
	for _, name := range []string{"", "has space", "slash/name", strings.Repeat("a", 65)} {
		if _, err := s.Apply(context.Background(), policysync.ScheduleSpec{Name: name}); !errors.Is(err, snapkeep.ErrInvalid) {
			t.Errorf("Apply(name %q) error = %v, want ErrInvalid", name, err)
		}
	}
}
