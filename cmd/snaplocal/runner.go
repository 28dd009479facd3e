package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedulertypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/snapkeep/snapkeep/shared/schedule"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// SchedulerAPI is the part of *scheduler.Client the runner reads, with the
// SDK's method signatures.
type SchedulerAPI interface {
	ListSchedules(ctx context.Context, in *scheduler.ListSchedulesInput, optFns ...func(*scheduler.Options)) (*scheduler.ListSchedulesOutput, error)
	GetSchedule(ctx context.Context, in *scheduler.GetScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error)
}

var _ SchedulerAPI = (*scheduler.Client)(nil)

// Schedule is a schedule as the runner read it from the Scheduler API.
type Schedule struct {
	// Name is the schedule's name (the policy id).
	Name string
	// Expression is the schedule expression, e.g. cron(17 * * * ? *).
	Expression string
	// TimeZone is the expression's time zone.
	TimeZone string
	// Enabled is false for a DISABLED schedule, which never fires.
	Enabled bool
	// TargetARN is the target's ARN.
	TargetARN string
	// Input is the target's input template.
	Input string
	// Start is the schedule's StartDate (zero when none).
	Start time.Time

	expr *schedule.Expression
	loc  *time.Location
}

// Firing is one delivery the runner makes: a schedule's fire time and the
// target input with Scheduler's context attributes substituted.
type Firing struct {
	// Schedule is the schedule's name.
	Schedule string
	// At is the scheduled time.
	At time.Time
	// TargetARN is where it goes.
	TargetARN string
	// Input is the substituted input.
	Input []byte
}

// readSchedules lists every schedule of group through the Scheduler API.
func readSchedules(ctx context.Context, api SchedulerAPI, group string) ([]Schedule, error) {
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
	var out []Schedule
	for _, name := range names {
		got, err := api.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name), GroupName: aws.String(group)})
		if err != nil {
			return nil, fmt.Errorf("get schedule %s: %w", name, err)
		}
		s := Schedule{
			Name:       name,
			Expression: aws.ToString(got.ScheduleExpression),
			TimeZone:   aws.ToString(got.ScheduleExpressionTimezone),
			Enabled:    got.State != schedulertypes.ScheduleStateDisabled,
		}
		if got.Target != nil {
			s.TargetARN = aws.ToString(got.Target.Arn)
			s.Input = aws.ToString(got.Target.Input)
		}
		if got.StartDate != nil {
			s.Start = *got.StartDate
		}
		out = append(out, s)
	}
	return parseSchedules(out)
}

// parseSchedules parses each schedule's expression and time zone.
func parseSchedules(in []Schedule) ([]Schedule, error) {
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
		out[i] = s
	}
	return out, nil
}

// Next returns the schedule's first fire time strictly after after.
func (s Schedule) Next(after time.Time) (time.Time, bool) {
	if !s.Enabled {
		return time.Time{}, false
	}
	return s.expr.Next(after, s.loc, s.Start)
}

// firings returns what Scheduler delivers when the clock moves from from
// (excluded) to to (included): every fire time of every enabled schedule,
// in time order (then by name), at most limit per schedule.
func firings(schedules []Schedule, group string, from, to time.Time, limit int) []Firing {
	var out []Firing
	for _, s := range schedules {
		after := from
		for n := 0; n < limit; n++ {
			t, ok := s.Next(after)
			if !ok || t.After(to) {
				break
			}
			out = append(out, Firing{Schedule: s.Name, At: t.UTC(), TargetARN: s.TargetARN, Input: []byte(substitute(s, group, t))})
			after = t
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].Schedule < out[j].Schedule
	})
	return out
}

// substitute replaces EventBridge Scheduler's context attributes in the
// schedule's input, as text, as Scheduler does.
func substitute(s Schedule, group string, at time.Time) string {
	arn := "arn:aws:scheduler:" + regionOf(s.TargetARN) + ":" + accountOf(s.TargetARN) + ":schedule/" + group + "/" + s.Name
	return strings.NewReplacer(
		"<aws.scheduler.scheduled-time>", at.UTC().Format(snapkeep.SlotTimeFormat),
		"<aws.scheduler.schedule-arn>", arn,
		"<aws.scheduler.execution-id>", fmt.Sprintf("local-%s-%d", s.Name, at.Unix()),
		"<aws.scheduler.attempt-number>", "1",
	).Replace(s.Input)
}

// regionOf and accountOf read an ARN's region and account fields.
func regionOf(arn string) string  { return arnField(arn, 3) }
func accountOf(arn string) string { return arnField(arn, 4) }

func arnField(arn string, i int) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) <= i {
		return ""
	}
	return parts[i]
}
