package triggers

import (
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// The project's template: every trigger the local runner fires besides
// the streams.
func TestReadProjectTemplate(t *testing.T) {
	tpl, err := ReadTemplate("../../template.yaml", "local")
	if err != nil {
		t.Fatal(err)
	}
	wantSchedules := map[string]TemplateSchedule{
		"SnapshotFunction/Sweep":      {Name: "snapkeep-local-sweep", Expression: "rate(5 minutes)", Input: `{"sweep": true}`, Enabled: true},
		"ErrorRateFunction/Evaluate":  {Name: "snapkeep-local-evaluate", Expression: "rate(1 minute)", Input: `{"evaluate": true}`, Enabled: true},
		"NotifyFunction/Tick":         {Name: "snapkeep-local-notify-tick", Expression: "rate(10 minutes)", Input: `{"tick": true}`, Enabled: true},
		"SchedulesFunction/Reconcile": {Name: "snapkeep-local-reconcile", Expression: "rate(15 minutes)", Input: `{"reconcile": true}`, Enabled: true},
	}
	if len(tpl.Schedules) != len(wantSchedules) {
		t.Errorf("%d template schedules, want %d: %+v", len(tpl.Schedules), len(wantSchedules), tpl.Schedules)
	}
	for key, want := range wantSchedules {
		fn, ev, _ := strings.Cut(key, "/")
		got, err := tpl.FindSchedule(fn, ev)
		if err != nil {
			t.Error(err)
			continue
		}
		want.Function, want.Event = fn, ev
		if got != want {
			t.Errorf("%s: %+v, want %+v", key, got, want)
		}
	}
	q, err := tpl.FindQueue("SnapshotFunction", "FollowUps")
	if err != nil {
		t.Fatal(err)
	}
	wantQ := QueueSource{Function: "SnapshotFunction", Event: "FollowUps", Queue: "FollowUpQueue", BatchSize: 10,
		MaximumBatchingWindowInSeconds: 1, ReportBatchItemFailures: true, MaximumConcurrency: 50,
		VisibilityTimeout: 30 * time.Minute, DeadLetterQueue: "FollowUpDeadLetterQueue", MaxReceiveCount: 5}
	if q != wantQ {
		t.Errorf("FollowUps: %+v, want %+v", q, wantQ)
	}
	for fn, want := range map[string]AsyncConfig{
		"SnapshotFunction":  {MaximumRetryAttempts: 2, OnFailure: "SnapshotFailureQueue"},
		"SchedulesFunction": {MaximumRetryAttempts: 0},
		"ErrorRateFunction": {MaximumRetryAttempts: 2},
	} {
		if got := tpl.Async[fn]; got != want {
			t.Errorf("%s async: %+v, want %+v", fn, got, want)
		}
	}
	if _, err := tpl.FindSchedule("SnapshotFunction", "Nope"); err == nil || !strings.Contains(err.Error(), "SnapshotFunction/Sweep") {
		t.Errorf("FindSchedule of a missing event: %v, want an error listing the events", err)
	}
}

func TestParseTemplateErrors(t *testing.T) {
	const head = "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n  T:\n    Type: AWS::DynamoDB::Table\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
	tests := []struct {
		name, body, want string
	}{
		{name: "not YAML", body: "      Events: [", want: "invalid YAML"},
		{name: "no expression", body: "      Events:\n        S:\n          Type: ScheduleV2\n          Properties:\n            Input: '{}'\n", want: "no ScheduleExpression"},
		{name: "unknown variable", body: "      Events:\n        S:\n          Type: ScheduleV2\n          Properties:\n            Name: !Sub x-${AWS::Region}\n            ScheduleExpression: rate(1 minute)\n", want: "only ${Stage}"},
		{name: "queue is a table", body: "      Events:\n        Q:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt T.Arn\n", want: "not an SQS queue"},
		{name: "queue by name", body: "      Events:\n        Q:\n          Type: SQS\n          Properties:\n            Queue: my-queue\n", want: "want !GetAtt <Queue>.Arn"},
		{name: "batch too big", body: "      Events:\n        Q:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt Q.Arn\n            BatchSize: 20000\n", want: "BatchSize 20000"},
		{name: "visibility timeout too long", body: "      Events:\n        Q:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt V.Arn\n" +
			"  V:\n    Type: AWS::SQS::Queue\n    Properties:\n      VisibilityTimeout: 43201\n", want: "VisibilityTimeout 43201: want 0 to 43200 seconds"},
		{name: "visibility timeout negative", body: "      Events:\n        Q:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt V.Arn\n" +
			"  V:\n    Type: AWS::SQS::Queue\n    Properties:\n      VisibilityTimeout: -1\n", want: "VisibilityTimeout -1"},
		{name: "retries out of range", body: "      EventInvokeConfig:\n        MaximumRetryAttempts: 3\n", want: "MaximumRetryAttempts 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTemplate([]byte(head+tt.body), "dev")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseTemplate: %v, want an error saying %q", err, tt.want)
			}
		})
	}
	tpl, err := ParseTemplate([]byte(head+"      Events:\n        S:\n          Type: ScheduleV2\n          Properties:\n            ScheduleExpression: rate(1 hour)\n            State: DISABLED\n"), "dev")
	if err != nil {
		t.Fatal(err)
	}
	if s := tpl.Schedules[0]; s.Name != "FS" || s.Enabled {
		t.Errorf("an unnamed disabled event: %+v, want SAM's name FS, disabled", s)
	}
	tpl, err = ParseTemplate([]byte(head+"      Events:\n        Q:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt Q.Arn\n"), "dev")
	if err != nil {
		t.Fatal(err)
	}
	if q := tpl.Queues[0]; q.VisibilityTimeout != 30*time.Second || q.MaxReceiveCount != 0 || q.DeadLetterQueue != "" {
		t.Errorf("a queue of SQS's defaults: %+v, want VisibilityTimeout 30s and no redrive", q)
	}
}

func mustSchedule(t *testing.T, s Schedule) Schedule {
	t.Helper()
	if s.Input == "" {
		s.Input = `{"policy_id":"p","scheduled_time":"<aws.scheduler.scheduled-time>"}`
	}
	if s.TargetARN == "" {
		s.TargetARN = "arn:aws:lambda:us-east-1:123456789012:function:snap"
	}
	out, err := Parse([]Schedule{s})
	if err != nil {
		t.Fatalf("schedule %s: %v", s.Expression, err)
	}
	return out[0]
}

func TestPlan(t *testing.T) {
	base := time.Date(2026, 11, 24, 12, 17, 0, 0, time.UTC)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	web := mustSchedule(t, Schedule{Name: "web", Expression: "cron(17 * * * ? *)", Enabled: true})
	data := mustSchedule(t, Schedule{Name: "data", Expression: "cron(17 12 * * ? *)", Enabled: true})
	tests := []struct {
		name      string
		schedules []Schedule
		from, to  time.Time
		want      []string // "name@15:04"
	}{
		{name: "a fire time at the end is included", schedules: []Schedule{web}, from: base.Add(-time.Second), to: base, want: []string{"web@12:17"}},
		{name: "from is excluded", schedules: []Schedule{web}, from: base, to: base.Add(59 * time.Minute)},
		{name: "an hour on", schedules: []Schedule{web, data}, from: base, to: base.Add(time.Hour), want: []string{"web@13:17"}},
		{name: "ordered by time then name", schedules: []Schedule{web, data}, from: base.Add(-61 * time.Minute), to: base.Add(time.Hour),
			want: []string{"web@11:17", "data@12:17", "web@12:17", "web@13:17"}},
		{name: "disabled never fires", schedules: []Schedule{mustSchedule(t, Schedule{Name: "old", Expression: "cron(17 * * * ? *)"})},
			from: base.Add(-time.Hour), to: base},
		{name: "time zone", schedules: []Schedule{mustSchedule(t, Schedule{Name: "tz", Expression: "cron(0 13 * * ? *)", TimeZone: "Europe/Berlin", Enabled: true})},
			from: base.Add(-2 * time.Hour), to: base, want: []string{"tz@" + time.Date(2026, 11, 24, 13, 0, 0, 0, berlin).UTC().Format("15:04")}},
		{name: "rate anchored at the epoch", schedules: []Schedule{mustSchedule(t, Schedule{Name: "r", Expression: "rate(1 hour)", Enabled: true})},
			from: base, to: base.Add(2 * time.Hour), want: []string{"r@13:00", "r@14:00"}},
		{name: "end date", schedules: []Schedule{mustSchedule(t, Schedule{Name: "e", Expression: "rate(1 hour)", Enabled: true, End: base.Add(time.Hour)})},
			from: base, to: base.Add(3 * time.Hour), want: []string{"e@13:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, d := range Plan(tt.schedules, tt.from, tt.to, PlanOptions{}) {
				got = append(got, d.Schedule+"@"+d.At.Format("15:04"))
				if !d.Deliver.Equal(d.At) {
					t.Errorf("%s delivered at %s, want at its fire time (no flexible window)", d.Schedule, d.Deliver)
				}
				want := `{"policy_id":"p","scheduled_time":"` + d.At.Format(snapkeep.SlotTimeFormat) + `"}`
				if string(d.Input) != want {
					t.Errorf("input %s, want %s", d.Input, want)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("deliveries %v, want %v", got, tt.want)
			}
		})
	}
}

// A flexible window spreads deliveries inside it, the same way for the
// same seed, and the input keeps the fire time.
func TestPlanFlexibleWindow(t *testing.T) {
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	var flex []Schedule
	for _, name := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		flex = append(flex, mustSchedule(t, Schedule{Name: name, Expression: "cron(0 3 * * ? *)", Enabled: true, FlexibleWindow: 15 * time.Minute}))
	}
	plan := func(seed uint64, from, to time.Time) []Delivery { return Plan(flex, from, to, PlanOptions{Seed: seed}) }
	first := plan(1, day, day.Add(24*time.Hour))
	if len(first) != len(flex) {
		t.Fatalf("%d deliveries, want %d", len(first), len(flex))
	}
	offsets := map[time.Duration]bool{}
	for i, d := range first {
		fire := day.Add(3 * time.Hour)
		if !d.At.Equal(fire) || d.Deliver.Before(fire) || !d.Deliver.Before(fire.Add(15*time.Minute)) {
			t.Errorf("%s: fire %s delivered %s, want the 03:00 fire time delivered in [03:00, 03:15)", d.Schedule, d.At, d.Deliver)
		}
		if !strings.Contains(string(d.Input), "2026-11-24T03:00:00Z") {
			t.Errorf("%s: input %s does not carry the fire time", d.Schedule, d.Input)
		}
		if i > 0 && d.Deliver.Before(first[i-1].Deliver) {
			t.Errorf("deliveries out of order at %d", i)
		}
		offsets[d.Deliver.Sub(fire)] = true
	}
	if len(offsets) < 4 {
		t.Errorf("8 deliveries in a 15-minute window at only %d offsets: not spread", len(offsets))
	}
	again := plan(1, day, day.Add(24*time.Hour))
	other := plan(2, day, day.Add(24*time.Hour))
	same, differ := true, false
	for i := range first {
		same = same && again[i].Schedule == first[i].Schedule && again[i].Deliver.Equal(first[i].Deliver)
		differ = differ || !other[i].Deliver.Equal(first[i].Deliver) || other[i].Schedule != first[i].Schedule
	}
	if !same {
		t.Error("the same seed planned other delivery times")
	}
	if !differ {
		t.Error("another seed planned the same delivery times")
	}
	// A fire time before from whose delivery is after from is included.
	cut := first[len(first)-1].Deliver.Add(-time.Second)
	if late := plan(1, cut, day.Add(24*time.Hour)); len(late) != 1 || late[0].Schedule != first[len(first)-1].Schedule {
		t.Errorf("deliveries after %s: %v, want the last one only", cut, late)
	}
}

func TestSubstitute(t *testing.T) {
	s := Schedule{Name: "pol-web", Group: "snapkeep-local", TargetARN: "arn:aws:lambda:eu-west-1:123456789012:function:snap",
		Input: `{"a":"<aws.scheduler.scheduled-time>","b":"<aws.scheduler.schedule-arn>","c":"<aws.scheduler.attempt-number>","d":"<aws.scheduler.other>"}`}
	got := Substitute(s, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), 2)
	want := `{"a":"2026-01-02T03:04:05Z","b":"arn:aws:scheduler:eu-west-1:123456789012:schedule/snapkeep-local/pol-web","c":"2","d":"<aws.scheduler.other>"}`
	if got != want {
		t.Errorf("Substitute:\n got %s\nwant %s", got, want)
	}
}

func TestFromTemplate(t *testing.T) {
	s, err := FromTemplate(TemplateSchedule{Name: "snapkeep-local-sweep", Expression: "rate(5 minutes)", Input: `{"sweep": true}`, Enabled: true}, "arn:aws:lambda:us-east-1:123456789012:function:snap")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	if got := Plan([]Schedule{s}, from, from.Add(time.Hour), PlanOptions{}); len(got) != 12 || string(got[0].Input) != `{"sweep": true}` {
		t.Errorf("a rate(5 minutes) sweep planned %d deliveries in an hour (first input %s), want 12", len(got), got[0].Input)
	}
	if _, err := FromTemplate(TemplateSchedule{Name: "x", Expression: "every 5 minutes"}, ""); err == nil {
		t.Error("FromTemplate accepted a bad expression")
	}
}
