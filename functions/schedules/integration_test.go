package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awsscheduler "github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/policysync"
	"github.com/snapkeep/snapkeep/shared/scheduler"
	"github.com/snapkeep/snapkeep/shared/scheduler/schedulertest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func TestMain(m *testing.M) { awstest.Main(m) }

// stack is the function wired by newHandler against the local stack, with
// the Policies table it follows and the schedule group it manages.
type stack struct {
	t       *testing.T
	env     *awstest.Env
	group   *schedulertest.Group
	store   *dynamo.PolicyStore
	handler *Handler
	all     []events.DynamoDBEventRecord // every record delivered so far
}

func newStack(t *testing.T) *stack {
	env := awstest.New(t)
	g := schedulertest.NewGroup(t, env)
	env.Setenv(t)
	t.Setenv(envScheduleGroup, g.Name)
	t.Setenv(envSnapshotFunctionARN, schedulertest.TargetARN)
	t.Setenv(envSchedulerRoleARN, schedulertest.RoleARN)
	t.Setenv(envScheduleDLQARN, schedulertest.DeadLetterARN)
	h, err := newHandler(context.Background(), os.Getenv, slog.New(slog.NewJSONHandler(t.Output(), nil)))
	if err != nil {
		t.Fatalf("newHandler: %v", err)
	}
	clock := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	return &stack{
		t: t, env: env, group: g, handler: h,
		store: &dynamo.PolicyStore{
			Client: env.DynamoDB, Table: env.TableName(dynamo.Policies),
			Now: func() time.Time { clock = clock.Add(time.Second); return clock },
		},
	}
}

// deliver hands the Policies stream's new records to the handler as one
// batch, as Lambda would, and fails the test on any reported failure.
func (s *stack) deliver() []events.DynamoDBEventRecord {
	s.t.Helper()
	recs := s.env.StreamRecords(s.t, dynamo.Policies)
	s.handle(recs)
	s.all = append(s.all, recs...)
	return recs
}

func (s *stack) handle(recs []events.DynamoDBEventRecord) {
	s.t.Helper()
	resp, err := s.handler.Handle(context.Background(), events.DynamoDBEvent{Records: recs})
	if err != nil {
		s.t.Fatalf("Handle: %v", err)
	}
	if len(resp.BatchItemFailures) != 0 {
		s.t.Fatalf("Handle reported failures: %+v", resp.BatchItemFailures)
	}
}

// quiet asserts the stream has nothing new: the syncer's own writes have
// run dry.
func (s *stack) quiet() {
	s.t.Helper()
	if recs := s.env.StreamRecords(s.t, dynamo.Policies); len(recs) != 0 {
		s.t.Fatalf("stream not quiet: %d more records (first %s %s)", len(recs), recs[0].EventName, recs[0].Change.Keys["policy_id"].String())
	}
}

func (s *stack) put(p snapkeep.Policy) {
	s.t.Helper()
	if err := s.store.Put(context.Background(), &p); err != nil {
		s.t.Fatalf("put %s: %v", p.PolicyID, err)
	}
}

func (s *stack) get(id string) *snapkeep.Policy {
	s.t.Helper()
	p, err := s.store.Get(context.Background(), id)
	if err != nil {
		s.t.Fatalf("get %s: %v", id, err)
	}
	return p
}

// snapshot returns every schedule of the group as GetSchedule returns it.
func (s *stack) snapshot() map[string]*awsscheduler.GetScheduleOutput {
	s.t.Helper()
	out := map[string]*awsscheduler.GetScheduleOutput{}
	for _, name := range s.group.Names(s.t) {
		out[name] = s.group.Get(s.t, name)
	}
	return out
}

// assertSchedule checks the schedule of p in the group.
func (s *stack) assertSchedule(p snapkeep.Policy) {
	s.t.Helper()
	sc := s.group.Get(s.t, p.PolicyID)
	if sc == nil {
		s.t.Fatalf("policy %s has no schedule", p.PolicyID)
	}
	tz := p.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	state, mode, window := "ENABLED", "OFF", int32(0)
	if !p.Enabled {
		state = "DISABLED"
	}
	if p.FlexibleWindowMinutes > 0 {
		mode, window = "FLEXIBLE", int32(p.FlexibleWindowMinutes)
	}
	// Scheduler substitutes the placeholder as text: it must be literal.
	if raw := aws.ToString(sc.Target.Input); !strings.Contains(raw, `"scheduled_time":"<aws.scheduler.scheduled-time>"`) {
		s.t.Errorf("%s: target input %s lacks the literal scheduled-time placeholder", p.PolicyID, raw)
	}
	var input map[string]string
	if err := json.Unmarshal([]byte(aws.ToString(sc.Target.Input)), &input); err != nil {
		s.t.Fatalf("%s: target input %q: %v", p.PolicyID, aws.ToString(sc.Target.Input), err)
	}
	got := []any{
		aws.ToString(sc.ScheduleExpression), aws.ToString(sc.ScheduleExpressionTimezone), string(sc.State),
		string(sc.FlexibleTimeWindow.Mode), aws.ToInt32(sc.FlexibleTimeWindow.MaximumWindowInMinutes),
		aws.ToString(sc.Target.Arn), aws.ToString(sc.Target.RoleArn), aws.ToString(sc.Target.DeadLetterConfig.Arn),
		aws.ToInt32(sc.Target.RetryPolicy.MaximumRetryAttempts), aws.ToInt32(sc.Target.RetryPolicy.MaximumEventAgeInSeconds),
		input,
	}
	want := []any{
		p.Schedule, tz, state, mode, window,
		schedulertest.TargetARN, schedulertest.RoleARN, schedulertest.DeadLetterARN,
		int32(scheduler.MaximumRetryAttempts), int32(scheduler.MaximumEventAgeSeconds),
		map[string]string{"policy_id": p.PolicyID, "scheduled_time": "<aws.scheduler.scheduled-time>"},
	}
	if !reflect.DeepEqual(got, want) {
		s.t.Errorf("schedule of %s:\n got  %v\n want %v", p.PolicyID, got, want)
	}
}

func (s *stack) assertNames(want ...string) {
	s.t.Helper()
	if got := s.group.Names(s.t); !reflect.DeepEqual(got, want) {
		s.t.Errorf("schedules = %q, want %q", got, want)
	}
}

func policy(id string) snapkeep.Policy {
	return snapkeep.Policy{
		PolicyID: id, CustomerID: "cust-acme", AccountID: "acct-acme",
		Resource:  snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "3164444", Region: "nyc3"},
		Schedule:  "cron(0 3 * * ? *)",
		TimeZone:  "Europe/Berlin",
		Retention: snapkeep.Retention{KeepLast: 7},
		Enabled:   true,
	}
}

// assertUnchanged checks that the schedules are exactly as before, down to
// their LastModificationDate.
func (s *stack) assertUnchanged(before map[string]*awsscheduler.GetScheduleOutput, what string) {
	s.t.Helper()
	after := s.snapshot()
	if len(after) != len(before) {
		s.t.Fatalf("%s: schedules %d → %d", what, len(before), len(after))
	}
	for name, b := range before {
		a := after[name]
		if a == nil {
			s.t.Fatalf("%s: schedule %s disappeared", what, name)
		}
		if !aws.ToTime(a.LastModificationDate).Equal(aws.ToTime(b.LastModificationDate)) ||
			aws.ToString(a.ScheduleExpression) != aws.ToString(b.ScheduleExpression) || a.State != b.State ||
			aws.ToString(a.Target.Input) != aws.ToString(b.Target.Input) {
			s.t.Errorf("%s: schedule %s changed (modified %v → %v)", what, name, b.LastModificationDate, a.LastModificationDate)
		}
	}
}

func TestPoliciesStreamAgainstMoto(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()

	// One batch: two valid policies and an invalid one between them.
	nightly := policy("pol-nightly")
	nightly.FlexibleWindowMinutes = 15
	daily := policy("pol-daily")
	daily.Schedule, daily.TimeZone = "rate(1 day)", ""
	broken := policy("pol-broken")
	broken.Schedule = "cron(0 3 * * *)" // five fields: not a Scheduler cron
	s.put(nightly)
	s.put(broken)
	s.put(daily)
	// moto emits two INSERTs for an UpdateItem that creates an item (a
	// key-only one, then the full item); DynamoDB emits one. Either way the
	// syncer reads the table, so only the policies named matter.
	if got := policyIDs(s.deliver()); !reflect.DeepEqual(got, []string{"pol-nightly", "pol-broken", "pol-daily"}) {
		t.Fatalf("first batch names %q", got)
	}
	s.assertNames("pol-daily", "pol-nightly")
	s.assertSchedule(nightly)
	s.assertSchedule(daily)
	reason := s.get("pol-broken").InvalidReason
	if reason == "" || !strings.Contains(reason, "schedule") {
		t.Errorf("broken policy's invalid_reason = %q, want one naming the schedule field", reason)
	}

	// The mark's own stream record changes nothing and writes nothing more.
	if recs := s.deliver(); len(recs) != 1 || recs[0].EventName != "MODIFY" {
		t.Fatalf("after the first batch: %d records, want the mark's MODIFY", len(recs))
	}
	s.quiet()

	// Replaying everything so far changes nothing.
	before := s.snapshot()
	s.handle(s.all)
	s.assertUnchanged(before, "replay")
	if got := s.get("pol-broken").InvalidReason; got != reason {
		t.Errorf("replay changed the invalid reason: %q → %q", reason, got)
	}
	s.quiet()

	// Update, pause, and fix the broken one.
	nightly.Schedule, nightly.TimeZone, nightly.FlexibleWindowMinutes = "cron(30 2 ? * MON-FRI *)", "America/New_York", 0
	s.put(nightly)
	if err := s.store.SetEnabled(ctx, "pol-daily", false); err != nil {
		t.Fatal(err)
	}
	daily.Enabled = false
	broken.Schedule = "cron(0 4 ? * 1 *)"
	s.put(broken)
	s.deliver()
	s.assertNames("pol-broken", "pol-daily", "pol-nightly")
	s.assertSchedule(nightly)
	s.assertSchedule(daily)
	s.assertSchedule(broken)
	if got := s.get("pol-broken").InvalidReason; got != "" {
		t.Errorf("fixed policy keeps invalid_reason %q", got)
	}
	s.deliver() // the put already cleared the reason: nothing was written back
	s.quiet()

	// Delete: the schedule disappears.
	if err := s.store.Delete(ctx, "pol-nightly"); err != nil {
		t.Fatal(err)
	}
	if recs := s.deliver(); len(recs) != 1 || recs[0].EventName != "REMOVE" {
		t.Fatalf("delete gave %d records, want one REMOVE", len(recs))
	}
	s.assertNames("pol-broken", "pol-daily")

	// A scheduled policy that becomes invalid loses its schedule.
	daily.Retention = snapkeep.Retention{} // neither keep-last nor max-age
	s.put(daily)
	s.deliver()
	s.assertNames("pol-broken")
	if got := s.get("pol-daily").InvalidReason; got == "" {
		t.Errorf("policy without retention is not marked invalid")
	}
	s.deliver() // the mark's record
	s.quiet()

	// Replaying the whole history, INSERTs after the REMOVE included,
	// resurrects nothing and changes nothing.
	before = s.snapshot()
	s.handle(s.all)
	s.assertUnchanged(before, "full replay")
	s.assertNames("pol-broken")
	s.quiet()
}

// flaky fails Apply for the named policies until healed, as a throttled
// Scheduler would.
type flaky struct {
	policysync.Schedules
	failing map[string]bool
}

func (f *flaky) Apply(ctx context.Context, spec policysync.ScheduleSpec) (bool, error) {
	if f.failing[spec.Name] {
		return false, errors.New("ThrottlingException: rate exceeded")
	}
	return f.Schedules.Apply(ctx, spec)
}

// A failing policy's records are reported by sequence number and the other
// policies go through; delivering the reported records again (as Lambda
// does, from the first reported one) completes the work.
func TestPartialBatchFailureAgainstMoto(t *testing.T) {
	s := newStack(t)
	syncer := s.handler.Syncer.(*policysync.Syncer)
	f := &flaky{Schedules: syncer.Schedules, failing: map[string]bool{"pol-b": true}}
	h := &Handler{Syncer: &policysync.Syncer{Policies: syncer.Policies, Schedules: f}}

	a, b, c := policy("pol-a"), policy("pol-b"), policy("pol-c")
	s.put(a)
	s.put(b)
	s.put(c)
	b.Schedule = "rate(12 hours)"
	s.put(b)
	recs := s.env.StreamRecords(t, dynamo.Policies)
	resp, err := h.Handle(context.Background(), events.DynamoDBEvent{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	var wantFailed []string
	for _, r := range recs {
		if r.Change.Keys["policy_id"].String() == "pol-b" {
			wantFailed = append(wantFailed, r.Change.SequenceNumber)
		}
	}
	if got := failedSeqs(resp); !reflect.DeepEqual(got, wantFailed) {
		t.Fatalf("failures %q, want pol-b's records %q", got, wantFailed)
	}
	s.assertNames("pol-a", "pol-c")

	// Lambda retries from the first reported record.
	first := slices.IndexFunc(recs, func(r events.DynamoDBEventRecord) bool {
		return r.Change.SequenceNumber == wantFailed[0]
	})
	f.failing = nil
	resp, err = h.Handle(context.Background(), events.DynamoDBEvent{Records: recs[first:]})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("retry: %v, failures %+v", err, resp.BatchItemFailures)
	}
	s.assertNames("pol-a", "pol-b", "pol-c")
	s.assertSchedule(b)
	s.quiet()
}

// A policy marked invalid and then fixed by a write that keeps the stale
// reason (for example a SetEnabled) gets its schedule and its mark cleared
// by the syncer; the clear's own record is a no-op.
func TestInvalidThenFixedClearsMark(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	p := policy("pol-tz")
	p.TimeZone = "Mars/Olympus_Mons"
	s.put(p)
	s.deliver()
	s.assertNames()
	marked := s.get("pol-tz")
	if !strings.Contains(marked.InvalidReason, "time_zone") && !strings.Contains(marked.InvalidReason, "time zone") {
		t.Errorf("invalid_reason = %q, want it to name the time zone", marked.InvalidReason)
	}
	s.deliver() // the mark's record
	s.quiet()

	// Fix the zone keeping the stale mark, as a raw write would.
	marked.TimeZone = "Asia/Tokyo"
	s.put(*marked)
	s.deliver()
	fixed := s.get("pol-tz")
	if fixed.InvalidReason != "" {
		t.Errorf("mark not cleared: %q", fixed.InvalidReason)
	}
	s.assertSchedule(*fixed)
	if recs := s.deliver(); len(recs) != 1 {
		t.Fatalf("the clear should give one record, got %d", len(recs))
	}
	s.quiet()
	if err := s.store.SetEnabled(ctx, "pol-tz", false); err != nil {
		t.Fatal(err)
	}
	s.deliver()
	fixed.Enabled = false
	s.assertSchedule(*fixed)
}

// policyIDs returns the policy ids the records name, each once, in order.
func policyIDs(recs []events.DynamoDBEventRecord) []string {
	var ids []string
	for _, r := range recs {
		id := r.Change.Keys["policy_id"].String()
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// An item written around the store with an attribute of the wrong type
// cannot even be read as a policy: it is marked with a reason naming the
// attribute, loses its schedule, and neither it nor the mark's own record
// fails or blocks the batch.
func TestUnreadablePolicyIsMarkedAgainstMoto(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	s.put(policy("pol-odd"))
	s.deliver()
	s.assertNames("pol-odd")

	// A console edit: "enabled" as the string "yes".
	table := s.env.TableName(dynamo.Policies)
	out, err := s.env.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(table),
		Key:       map[string]types.AttributeValue{"policy_id": &types.AttributeValueMemberS{Value: "pol-odd"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out.Item["enabled"] = &types.AttributeValueMemberS{Value: "yes"}
	if _, err := s.env.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: out.Item}); err != nil {
		t.Fatal(err)
	}
	s.put(policy("pol-fine"))
	s.deliver() // fails the test on any reported failure
	s.assertNames("pol-fine")
	s.assertSchedule(policy("pol-fine"))

	out, err = s.env.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(table),
		Key:       map[string]types.AttributeValue{"policy_id": &types.AttributeValueMemberS{Value: "pol-odd"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	reason, _ := out.Item["invalid_reason"].(*types.AttributeValueMemberS)
	if reason == nil || !strings.Contains(reason.Value, "attribute enabled") {
		t.Fatalf("unreadable policy's invalid_reason = %v, want one naming the attribute", out.Item["invalid_reason"])
	}
	s.deliver() // the mark's record: no failure, no further write
	s.quiet()
}
