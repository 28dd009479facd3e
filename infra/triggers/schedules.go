package triggers

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedulertypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/snapkeep/snapkeep/shared/schedule"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// SchedulerAPI is the part of *scheduler.Client ReadGroup uses, with the
// SDK's method signatures.
type SchedulerAPI interface {
	ListSchedules(ctx context.Context, in *scheduler.ListSchedulesInput, optFns ...func(*scheduler.Options)) (*scheduler.ListSchedulesOutput, error)
	GetSchedule(ctx context.Context, in *scheduler.GetScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error)
}

var _ SchedulerAPI = (*scheduler.Client)(nil)

// Schedule is one EventBridge Scheduler schedule, as read back from the
// Scheduler API (ReadGroup) or made from a template event (FromTemplate).
type Schedule struct {
	// Name and Group name the schedule.
	Name, Group string
	// Expression is the schedule expression, e.g. cron(17 * * * ? *).
	Expression string
	// TimeZone is the expression's time zone ("" for UTC).
	TimeZone string
	// Enabled is false for a DISABLED schedule, which never fires.
	Enabled bool
	// TargetARN and Input are the target and its input template.
	TargetARN, Input string
	// Start and End are StartDate and EndDate (zero when none).
	Start, End time.Time
	// FlexibleWindow is the flexible time window (0 when OFF): Scheduler
	// delivers somewhere in [fire time, fire time + window).
	FlexibleWindow time.Duration

	expr *schedule.Expression
	loc  *time.Location
}

// Delivery is one invocation Scheduler makes: the schedule's fire time,
// when it is delivered (later within a flexible window) and the target's
// input with the context attributes substituted.
type Delivery struct {
	// Schedule is the schedule's name.
	Schedule string
	// At is the fire time, what <aws.scheduler.scheduled-time> says.
	At time.Time
	// Deliver is when the target is invoked.
	Deliver time.Time
	// TargetARN is where it goes.
	TargetARN string
	// Input is the substituted input.
	Input []byte
}

// ReadGroup lists every schedule of group through the Scheduler API,
// sorted by name, with their expressions parsed.
func ReadGroup(ctx context.Context, api SchedulerAPI, group string) ([]Schedule, error) {
	var names []string
	var token *string
	for {
		out, err := api.ListSchedules(ctx, &scheduler.ListSchedulesInput{GroupName: aws.String(group), NextToken: token})
		if err != nil {
			return nil, fmt.Errorf("list schedules of group %s: %w", group, err)
		}
		for _, s := range out.Schedules {
			names = append(names, aws.ToString(s.Name))
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	sort.Strings(names)
	out := make([]Schedule, 0, len(names))
	for _, name := range names {
		got, err := api.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name), GroupName: aws.String(group)})
		if err != nil {
			return nil, fmt.Errorf("get schedule %s: %w", name, err)
		}
		s := Schedule{Name: name, Group: group,
			Expression: aws.ToString(got.ScheduleExpression),
			TimeZone:   aws.ToString(got.ScheduleExpressionTimezone),
			Enabled:    got.State != schedulertypes.ScheduleStateDisabled,
		}
		if got.Target != nil {
			s.TargetARN, s.Input = aws.ToString(got.Target.Arn), aws.ToString(got.Target.Input)
		}
		if got.StartDate != nil {
			s.Start = *got.StartDate
		}
		if got.EndDate != nil {
			s.End = *got.EndDate
		}
		if w := got.FlexibleTimeWindow; w != nil && w.Mode == schedulertypes.FlexibleTimeWindowModeFlexible {
			s.FlexibleWindow = time.Duration(aws.ToInt32(w.MaximumWindowInMinutes)) * time.Minute
		}
		out = append(out, s)
	}
	return Parse(out)
}

// FromTemplate makes the Scheduler schedule of a template event, in the
// default group, targeting targetARN.
func FromTemplate(ts TemplateSchedule, targetARN string) (Schedule, error) {
	s, err := Parse([]Schedule{{Name: ts.Name, Group: "default", Expression: ts.Expression, TimeZone: ts.TimeZone,
		Enabled: ts.Enabled, TargetARN: targetARN, Input: ts.Input}})
	if err != nil {
		return Schedule{}, err
	}
	return s[0], nil
}

// Parse parses each schedule's expression and time zone; the error names
// the schedule.
func Parse(in []Schedule) ([]Schedule, error) {
	out := make([]Schedule, len(in))
	for i, s := range in {
		var err error
		if s.expr, err = schedule.Parse(s.Expression); err != nil {
			return nil, fmt.Errorf("schedule %s: %w", s.Name, err)
		}
		tz := s.TimeZone
		if tz == "" {
			tz = "UTC"
		}
		if s.loc, err = time.LoadLocation(tz); err != nil {
			return nil, fmt.Errorf("schedule %s: time zone %q: %w", s.Name, tz, err)
		}
		if s.FlexibleWindow < 0 || s.FlexibleWindow > 24*time.Hour {
			return nil, fmt.Errorf("schedule %s: flexible window %s: want 0 to 1440 minutes", s.Name, s.FlexibleWindow)
		}
		out[i] = s
	}
	return out, nil
}

// Next returns the schedule's first fire time strictly after after (false
// when it fires no more: disabled, past its EndDate or a used at()).
func (s Schedule) Next(after time.Time) (time.Time, bool) {
	if !s.Enabled || s.expr == nil {
		return time.Time{}, false
	}
	t, ok := s.expr.Next(after, s.loc, s.Start)
	if !ok || (!s.End.IsZero() && t.After(s.End)) {
		return time.Time{}, false
	}
	return t, true
}

// PlanOptions configure Plan.
type PlanOptions struct {
	// Seed varies where deliveries fall in their flexible windows
	// (deterministically: the same seed, schedule and fire time always
	// give the same delivery time).
	Seed uint64
	// Limit bounds the fire times per schedule (0: 100,000).
	Limit int
}

// Plan returns every delivery the schedules make whose delivery time is in
// (from, to], in delivery order (then by fire time, then by name). A fire
// time in a flexible window is delivered at a pseudo-random offset in
// [0, window), drawn from the schedule's name, the fire time and the seed,
// in whole seconds.
func Plan(schedules []Schedule, from, to time.Time, opts PlanOptions) []Delivery {
	limit := opts.Limit
	if limit <= 0 {
		limit = 100_000
	}
	var out []Delivery
	for _, s := range schedules {
		after := from.Add(-s.FlexibleWindow)
		for n := 0; n < limit; n++ {
			t, ok := s.Next(after)
			if !ok || t.After(to) {
				break
			}
			after = t
			d := Delivery{Schedule: s.Name, At: t.UTC(), Deliver: t.Add(offset(s, t, opts.Seed)).UTC(), TargetARN: s.TargetARN,
				Input: []byte(Substitute(s, t, 1))}
			if d.Deliver.After(from) && !d.Deliver.After(to) {
				out = append(out, d)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.Deliver.Equal(b.Deliver) {
			return a.Deliver.Before(b.Deliver)
		}
		if !a.At.Equal(b.At) {
			return a.At.Before(b.At)
		}
		return a.Schedule < b.Schedule
	})
	return out
}

// offset is where in its flexible window a fire time is delivered.
func offset(s Schedule, at time.Time, seed uint64) time.Duration {
	secs := int64(s.FlexibleWindow / time.Second)
	if secs <= 0 {
		return 0
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%s|%s|%d", seed, s.Group, s.Name, at.Unix())
	return time.Duration(int64(h.Sum64()%uint64(secs))) * time.Second
}

// Substitute replaces EventBridge Scheduler's context attributes in the
// schedule's input, as text, as Scheduler does: the fire time, the
// schedule's ARN, an execution id and the attempt number.
func Substitute(s Schedule, at time.Time, attempt int) string {
	group := s.Group
	if group == "" {
		group = "default"
	}
	arn := "arn:aws:scheduler:" + arnField(s.TargetARN, 3) + ":" + arnField(s.TargetARN, 4) + ":schedule/" + group + "/" + s.Name
	return strings.NewReplacer(
		"<aws.scheduler.scheduled-time>", at.UTC().Format(snapkeep.SlotTimeFormat),
		"<aws.scheduler.schedule-arn>", arn,
		"<aws.scheduler.execution-id>", fmt.Sprintf("local-%s-%d", s.Name, at.Unix()),
		"<aws.scheduler.attempt-number>", fmt.Sprint(attempt),
	).Replace(s.Input)
}

// arnField reads an ARN's i-th colon-separated field ("" when absent).
func arnField(arn string, i int) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) <= i {
		return ""
	}
	return parts[i]
}
