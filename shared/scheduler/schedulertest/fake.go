package schedulertest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
)

// Fake is an in-memory EventBridge Scheduler with the SDK client's method
// signatures (it implements shared/scheduler.Client), for unit tests and
// benchmarks that must not wait for moto. Like the real service it keeps
// schedules per group, refuses a Create of an existing schedule
// (ConflictException) and an Update or Delete of a missing one
// (ResourceNotFoundException), replaces the whole schedule on Update, and
// pages ListSchedules (MaxResults 1-100, default 100, by name). Like moto it
// validates nothing else and fires nothing. Safe for concurrent use.
type Fake struct {
	// Now stamps creation and modification dates; nil means time.Now.
	Now func() time.Time
	// Fail, when set, is asked before every request with the operation's
	// name ("GetSchedule", ...) and the schedule's name ("" for
	// ListSchedules); a non-nil error is returned instead of the answer.
	// Throttled returns the error Scheduler throttles with.
	Fail func(op, name string) error

	mu      sync.Mutex
	groups  map[string]map[string]*scheduler.GetScheduleOutput
	sorted  map[string][]string // each group's names, sorted; nil when stale
	calls   map[string]int
	changes int
}

// NewFake returns a Fake holding the named, empty groups.
func NewFake(groups ...string) *Fake {
	f := &Fake{groups: map[string]map[string]*scheduler.GetScheduleOutput{}, sorted: map[string][]string{}, calls: map[string]int{}}
	for _, g := range groups {
		f.groups[g] = map[string]*scheduler.GetScheduleOutput{}
	}
	return f
}

// Throttled is the error Scheduler answers a request beyond its quota with.
func Throttled() error {
	return &types.ThrottlingException{Message: aws.String("Rate exceeded")}
}

// Calls returns how many requests of op the fake answered or failed.
func (f *Fake) Calls(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// Changes returns how many creates, updates and deletes succeeded.
func (f *Fake) Changes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changes
}

// Names returns the names of the group's schedules, sorted.
func (f *Fake) Names(group string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := make([]string, 0, len(f.groups[group]))
	for n := range f.groups[group] {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Schedule returns a copy of the named schedule, or nil.
func (f *Fake) Schedule(group, name string) *scheduler.GetScheduleOutput {
	f.mu.Lock()
	defer f.mu.Unlock()
	sc := f.groups[group][name]
	if sc == nil {
		return nil
	}
	return copySchedule(sc)
}

// Edit changes the named schedule in place, as a hand edit in the console
// would (its modification date moves on); it reports whether the schedule
// exists.
func (f *Fake) Edit(group, name string, edit func(*scheduler.GetScheduleOutput)) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	sc := f.groups[group][name]
	if sc == nil {
		return false
	}
	edit(sc)
	sc.LastModificationDate = aws.Time(f.now())
	return true
}

// Remove deletes the named schedule behind the adapter's back.
func (f *Fake) Remove(group, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.groups[group], name)
	delete(f.sorted, group)
}

func (f *Fake) now() time.Time {
	if f.Now == nil {
		return time.Now()
	}
	return f.Now()
}

// begin counts the request and asks Fail; the caller holds f.mu.
func (f *Fake) begin(op, name string) error {
	f.calls[op]++
	if f.Fail != nil {
		return f.Fail(op, name)
	}
	return nil
}

// group returns the named group ("" is the default group) and its
// resolved name.
func (f *Fake) group(name *string) (string, map[string]*scheduler.GetScheduleOutput, error) {
	g := aws.ToString(name)
	if g == "" {
		g = "default"
	}
	schedules, ok := f.groups[g]
	if !ok {
		return g, nil, &types.ResourceNotFoundException{Message: aws.String(fmt.Sprintf("Schedule group %s does not exist.", g))}
	}
	return g, schedules, nil
}

func notFound(name string) error {
	return &types.ResourceNotFoundException{Message: aws.String(fmt.Sprintf("Schedule %s does not exist.", name))}
}

// GetSchedule returns a copy of the schedule.
func (f *Fake) GetSchedule(_ context.Context, in *scheduler.GetScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := aws.ToString(in.Name)
	if err := f.begin("GetSchedule", name); err != nil {
		return nil, err
	}
	_, g, err := f.group(in.GroupName)
	if err != nil {
		return nil, err
	}
	sc, ok := g[name]
	if !ok {
		return nil, notFound(name)
	}
	return copySchedule(sc), nil
}

// CreateSchedule stores a new schedule.
func (f *Fake) CreateSchedule(_ context.Context, in *scheduler.CreateScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.CreateScheduleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := aws.ToString(in.Name)
	if err := f.begin("CreateSchedule", name); err != nil {
		return nil, err
	}
	gname, g, err := f.group(in.GroupName)
	if err != nil {
		return nil, err
	}
	if _, ok := g[name]; ok {
		return nil, &types.ConflictException{Message: aws.String(fmt.Sprintf("Schedule %s already exists.", name))}
	}
	now := f.now()
	sc := copySchedule(&scheduler.GetScheduleOutput{
		Name: in.Name, GroupName: in.GroupName, Arn: aws.String("arn:aws:scheduler:us-east-1:123456789012:schedule/" + aws.ToString(in.GroupName) + "/" + name),
		ScheduleExpression: in.ScheduleExpression, ScheduleExpressionTimezone: in.ScheduleExpressionTimezone,
		State: in.State, FlexibleTimeWindow: in.FlexibleTimeWindow, Target: in.Target,
		ActionAfterCompletion: in.ActionAfterCompletion, Description: in.Description,
		StartDate: in.StartDate, EndDate: in.EndDate, KmsKeyArn: in.KmsKeyArn,
		CreationDate: aws.Time(now), LastModificationDate: aws.Time(now),
	})
	g[name] = sc
	delete(f.sorted, gname)
	f.changes++
	return &scheduler.CreateScheduleOutput{ScheduleArn: sc.Arn}, nil
}

// UpdateSchedule replaces every field of an existing schedule.
func (f *Fake) UpdateSchedule(_ context.Context, in *scheduler.UpdateScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := aws.ToString(in.Name)
	if err := f.begin("UpdateSchedule", name); err != nil {
		return nil, err
	}
	_, g, err := f.group(in.GroupName)
	if err != nil {
		return nil, err
	}
	old, ok := g[name]
	if !ok {
		return nil, notFound(name)
	}
	g[name] = copySchedule(&scheduler.GetScheduleOutput{
		Name: old.Name, GroupName: old.GroupName, Arn: old.Arn,
		ScheduleExpression: in.ScheduleExpression, ScheduleExpressionTimezone: in.ScheduleExpressionTimezone,
		State: in.State, FlexibleTimeWindow: in.FlexibleTimeWindow, Target: in.Target,
		ActionAfterCompletion: in.ActionAfterCompletion, Description: in.Description,
		StartDate: in.StartDate, EndDate: in.EndDate, KmsKeyArn: in.KmsKeyArn,
		CreationDate: old.CreationDate, LastModificationDate: aws.Time(f.now()),
	})
	f.changes++
	return &scheduler.UpdateScheduleOutput{ScheduleArn: old.Arn}, nil
}

// DeleteSchedule removes an existing schedule.
func (f *Fake) DeleteSchedule(_ context.Context, in *scheduler.DeleteScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.DeleteScheduleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := aws.ToString(in.Name)
	if err := f.begin("DeleteSchedule", name); err != nil {
		return nil, err
	}
	gname, g, err := f.group(in.GroupName)
	if err != nil {
		return nil, err
	}
	if _, ok := g[name]; !ok {
		return nil, notFound(name)
	}
	delete(g, name)
	delete(f.sorted, gname)
	f.changes++
	return &scheduler.DeleteScheduleOutput{}, nil
}

// ListSchedules pages through a group's schedules in name order; the next
// token is the last name returned.
func (f *Fake) ListSchedules(_ context.Context, in *scheduler.ListSchedulesInput, _ ...func(*scheduler.Options)) (*scheduler.ListSchedulesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin("ListSchedules", ""); err != nil {
		return nil, err
	}
	limit := int(aws.ToInt32(in.MaxResults))
	if in.MaxResults == nil {
		limit = 100
	}
	if limit < 1 || limit > 100 {
		return nil, &types.ValidationException{Message: aws.String(fmt.Sprintf("MaxResults %d: must be 1-100", limit))}
	}
	gname, g, err := f.group(in.GroupName)
	if err != nil {
		return nil, err
	}
	all := f.names(gname, g)
	i, _ := slices.BinarySearch(all, aws.ToString(in.NextToken))
	if i < len(all) && in.NextToken != nil && all[i] == *in.NextToken {
		i++
	}
	var names []string
	for ; i < len(all) && len(names) <= limit; i++ {
		if strings.HasPrefix(all[i], aws.ToString(in.NamePrefix)) {
			names = append(names, all[i])
		}
	}
	out := &scheduler.ListSchedulesOutput{}
	if len(names) > limit {
		names = names[:limit]
		out.NextToken = aws.String(names[limit-1])
	}
	for _, n := range names {
		sc := g[n]
		out.Schedules = append(out.Schedules, types.ScheduleSummary{
			Name: sc.Name, GroupName: sc.GroupName, Arn: sc.Arn, State: sc.State,
			CreationDate: sc.CreationDate, LastModificationDate: sc.LastModificationDate,
			Target: &types.TargetSummary{Arn: sc.Target.Arn},
		})
	}
	return out, nil
}

// names returns the group's names, sorted, from the cache; the caller
// holds f.mu.
func (f *Fake) names(group string, g map[string]*scheduler.GetScheduleOutput) []string {
	if names, ok := f.sorted[group]; ok {
		return names
	}
	names := make([]string, 0, len(g))
	for n := range g {
		names = append(names, n)
	}
	slices.Sort(names)
	f.sorted[group] = names
	return names
}

// copySchedule copies the parts of a schedule the adapter sets or reads,
// so that no caller shares a pointer with the store.
func copySchedule(sc *scheduler.GetScheduleOutput) *scheduler.GetScheduleOutput {
	c := *sc
	if sc.FlexibleTimeWindow != nil {
		w := *sc.FlexibleTimeWindow
		c.FlexibleTimeWindow = &w
	}
	if sc.Target != nil {
		t := *sc.Target
		if t.RetryPolicy != nil {
			rp := *t.RetryPolicy
			t.RetryPolicy = &rp
		}
		if t.DeadLetterConfig != nil {
			d := *t.DeadLetterConfig
			t.DeadLetterConfig = &d
		}
		c.Target = &t
	} else {
		c.Target = &types.Target{}
	}
	return &c
}
