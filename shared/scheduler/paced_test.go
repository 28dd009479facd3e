package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsscheduler "github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/snapkeep/snapkeep/shared/policysync"
	"github.com/snapkeep/snapkeep/shared/scheduler"
	"github.com/snapkeep/snapkeep/shared/scheduler/schedulertest"
)

// virtualClock moves on when slept on.
type virtualClock struct{ t time.Time }

func (c *virtualClock) clock() policysync.Clock {
	return policysync.Clock{
		Now: func() time.Time { return c.t },
		Sleep: func(ctx context.Context, d time.Duration) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			c.t = c.t.Add(d)
			return nil
		},
	}
}

func TestQuotas(t *testing.T) {
	tests := []struct {
		region string
		want   scheduler.Rates
	}{
		{"us-east-1", scheduler.Rates{ListSchedules: 50, GetSchedule: 1000, CreateSchedule: 5000, UpdateSchedule: 1000, DeleteSchedule: 1000}},
		{"eu-west-1", scheduler.Rates{ListSchedules: 50, GetSchedule: 1000, CreateSchedule: 5000, UpdateSchedule: 1000, DeleteSchedule: 1000}},
		{"eu-north-1", scheduler.Rates{ListSchedules: 50, GetSchedule: 250, CreateSchedule: 250, UpdateSchedule: 250, DeleteSchedule: 250}},
		{"", scheduler.Rates{ListSchedules: 50, GetSchedule: 250, CreateSchedule: 250, UpdateSchedule: 250, DeleteSchedule: 250}},
	}
	for _, tt := range tests {
		if got := scheduler.Quotas(tt.region); got != tt.want {
			t.Errorf("Quotas(%q) = %+v, want %+v", tt.region, got, tt.want)
		}
	}
	if got := scheduler.ReconcileRates("us-east-1"); got.GetSchedule != 250 || got.ListSchedules != 12.5 {
		t.Errorf("ReconcileRates(us-east-1) = %+v, want a quarter of the quotas", got)
	}
}

// TestPacedRetries: throttles and server errors are retried after pausing
// the operation's bucket, up to MaxAttempts; other errors are not.
func TestPacedRetries(t *testing.T) {
	throttled := sdkError("GetSchedule", &types.ThrottlingException{Message: aws.String("Rate exceeded")})
	internal := sdkError("GetSchedule", &types.InternalServerException{Message: aws.String("oops")})
	denied := sdkError("GetSchedule", errors.New("AccessDeniedException"))
	tests := []struct {
		name      string
		errs      []error // answers before success
		wantCalls int
		wantErr   error
		wantSlept time.Duration
	}{
		{name: "no trouble", wantCalls: 1},
		{name: "throttled twice", errs: []error{throttled, throttled}, wantCalls: 3, wantSlept: 3 * time.Second},
		{name: "server error", errs: []error{internal}, wantCalls: 2, wantSlept: time.Second},
		{
			name: "throttled throughout", errs: slices.Repeat([]error{throttled}, 10), wantCalls: scheduler.MaxAttempts,
			wantErr: throttled, wantSlept: 15 * time.Second,
		},
		{name: "denied: not retried", errs: []error{denied}, wantCalls: 1, wantErr: denied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &virtualClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			calls := 0
			f := &fakeClient{get: func(context.Context, *awsscheduler.GetScheduleInput) (*awsscheduler.GetScheduleOutput, error) {
				calls++
				if calls <= len(tt.errs) {
					return nil, tt.errs[calls-1]
				}
				return &awsscheduler.GetScheduleOutput{Name: aws.String("p")}, nil
			}}
			p := scheduler.NewPaced(f, scheduler.Rates{GetSchedule: 1000}, clk.clock())
			start := clk.t
			_, err := p.GetSchedule(context.Background(), &awsscheduler.GetScheduleInput{Name: aws.String("p")})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if calls != tt.wantCalls || p.Retries() != tt.wantCalls-1 {
				t.Errorf("calls %d, retries %d; want %d, %d", calls, p.Retries(), tt.wantCalls, tt.wantCalls-1)
			}
			slept := clk.t.Sub(start)
			if slept < tt.wantSlept || slept > tt.wantSlept+100*time.Millisecond {
				t.Errorf("slept %v, want %v", slept, tt.wantSlept)
			}
		})
	}
}

func TestPacedStopsWithTheContext(t *testing.T) {
	f := &fakeClient{}
	p := scheduler.NewPaced(f, scheduler.Rates{DeleteSchedule: 1}, policysync.Clock{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.DeleteSchedule(ctx, &awsscheduler.DeleteScheduleInput{Name: aws.String("p")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("DeleteSchedule on a cancelled context: %v", err)
	}
	if n, _ := p.Admitted("DeleteSchedule"); n != 0 {
		t.Errorf("%d requests admitted", n)
	}
}

// TestScheduleNamesPages lists a group of 230 schedules, 100 a page,
// against moto and against the in-memory fake, which must agree.
func TestScheduleNamesPages(t *testing.T) {
	s, g := newSchedules(t)
	fake := schedulertest.NewFake(g.Name)
	mem := *s
	mem.Client = fake
	var want []string
	for i := range 230 {
		name := fmt.Sprintf("pol-%03d", i)
		want = append(want, name)
		for _, sc := range []*scheduler.Schedules{s, &mem} {
			if _, err := sc.Apply(context.Background(), policysync.ScheduleSpec{Name: name, Expression: "rate(1 day)", Enabled: true, Input: "{}"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, sc := range []struct {
		name string
		s    *scheduler.Schedules
	}{{"moto", s}, {"fake", &mem}} {
		var got []string
		token, pages := "", 0
		for {
			names, next, err := sc.s.ScheduleNames(context.Background(), token)
			if err != nil {
				t.Fatalf("%s: %v", sc.name, err)
			}
			if len(names) > scheduler.ListPageSize {
				t.Errorf("%s: page of %d", sc.name, len(names))
			}
			got, pages = append(got, names...), pages+1
			if next == "" {
				break
			}
			token = next
		}
		slices.Sort(got)
		if !slices.Equal(got, want) || pages != 3 {
			t.Errorf("%s: %d names in %d pages, want 230 in 3", sc.name, len(got), pages)
		}
	}
}
