package local_test

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/infra/awslocal"
	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/infra/local"
)

func TestSourcesOfTheTemplate(t *testing.T) {
	t.Parallel()
	path, err := awslocal.FindTemplate()
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := local.Sources(path)
	if err != nil {
		t.Fatalf("Sources: %v", err)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Count(string(text), "Type: DynamoDB\n"); len(srcs) != want {
		t.Errorf("%d sources, want one per 'Type: DynamoDB' event (%d): %+v", len(srcs), want, srcs)
	}
	streamed := map[string]bool{}
	for _, tbl := range awstest.TemplateTables(t) { // goformation, under awstest's sync.Once
		streamed[tbl.LogicalID] = tbl.StreamViewType != ""
	}
	for _, s := range srcs {
		if !streamed[s.Table] {
			t.Errorf("%s reads %s, which has no stream in the template", s, s.Table)
		}
		if s.OnFailure != "" && !strings.Contains(string(text), "\n  "+s.OnFailure+":\n    Type: AWS::SQS::Queue") {
			t.Errorf("%s: on-failure destination %s is not a queue of the template", s, s.OnFailure)
		}
	}
	for fn, table := range map[string]string{"ErrorRateFunction": "RunsTable", "NotifyFunction": "RunsTable"} {
		s, err := local.FindSource(srcs, fn, "RunsStream")
		if err != nil {
			t.Error(err)
			continue
		}
		if s.Table != table || !s.ReportsBatchItemFailures() || s.OnFailure != "StreamFailureQueue" {
			t.Errorf("%s = %+v, want the Runs stream with partial batch responses and StreamFailureQueue", s, s)
		}
	}
	got, err := local.FindSource(srcs, "SchedulesFunction", "PoliciesStream")
	if err != nil {
		t.Fatal(err)
	}
	want := local.Source{
		Function: "SchedulesFunction", Event: "PoliciesStream", Table: "PoliciesTable", StartingPosition: local.TrimHorizon,
		BatchSize: 50, MaximumBatchingWindowInSeconds: 1, BisectBatchOnFunctionError: true, MaximumRetryAttempts: 10,
		MaximumRecordAgeInSeconds: 86400, FunctionResponseTypes: []string{local.ReportBatchItemFailures},
		OnFailure: "StreamFailureQueue", ParallelizationFactor: 1, Enabled: true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SchedulesFunction/PoliciesStream =\n%+v, want\n%+v", got, want)
	}
}

func TestSourcesWithWindowsAndFilters(t *testing.T) {
	t.Parallel()
	srcs, err := local.Sources("testdata/windows.yaml")
	if err != nil {
		t.Fatalf("Sources: %v", err)
	}
	want := []local.Source{{
		Function: "CounterFunction", Event: "Counts", Table: "RunsTable", StartingPosition: local.Latest,
		BatchSize: 1000, TumblingWindowInSeconds: 60, MaximumRetryAttempts: 3, MaximumRecordAgeInSeconds: -1,
		FunctionResponseTypes: []string{local.ReportBatchItemFailures}, OnFailure: "Failures", ParallelizationFactor: 1, Enabled: true,
	}, {
		Function: "NoticeFunction", Event: "Failed", Table: "RunsTable", StartingPosition: local.TrimHorizon,
		BatchSize: 100, MaximumRetryAttempts: -1, MaximumRecordAgeInSeconds: -1, ParallelizationFactor: 1,
		Filters: []string{
			`{"dynamodb": {"NewImage": {"status": {"S": ["failed", "timed_out"]}}}}`,
			`{"dynamodb": {"NewImage": {"status": {"S": ["succeeded"]}}, "OldImage": {"status": {"S": ["failed"]}}}}`,
		},
	}}
	if !reflect.DeepEqual(srcs, want) {
		t.Errorf("Sources =\n%+v\nwant\n%+v", srcs, want)
	}
	if w := srcs[0].TumblingWindow().Seconds(); w != 60 {
		t.Errorf("TumblingWindow = %vs, want 60s", w)
	}
	if srcs[1].MaxRecordAge() != 0 || srcs[1].ReportsBatchItemFailures() {
		t.Errorf("NoticeFunction defaults: MaxRecordAge %v, ReportsBatchItemFailures %v", srcs[1].MaxRecordAge(), srcs[1].ReportsBatchItemFailures())
	}
}

func TestParseSourcesRejects(t *testing.T) {
	t.Parallel()
	base, err := os.ReadFile("testdata/windows.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, old, new, want string
	}{
		{"stream of a queue", "Stream: !GetAtt RunsTable.StreamArn", "Stream: !GetAtt Failures.Arn", "want the StreamArn attribute"},
		{"stream of a missing table", "Stream: !GetAtt RunsTable.StreamArn", "Stream: !GetAtt Nope.StreamArn", "no resource Nope"},
		{"stream as a literal ARN", "Stream: !GetAtt RunsTable.StreamArn", "Stream: arn:aws:dynamodb:us-east-1:1:table/x/stream/y", "want !GetAtt"},
		{"destination not a queue", "Destination: !GetAtt Failures.Arn", "Destination: !GetAtt RunsTable.Arn", "RunsTable is a AWS::DynamoDB::Table, want a AWS::SQS::Queue"},
		{"SNS destination", "Type: SQS", "Type: SNS", "SQS queues only"},
		{"unknown property", "BatchSize: 1000", "BatchSize: 1000\n            BatchSizes: 5", `unknown field "BatchSizes"`},
		{"batch size too big", "BatchSize: 1000", "BatchSize: 10001", "BatchSize 10001: want 1 to 10000"},
		{"window too long", "TumblingWindowInSeconds: 60", "TumblingWindowInSeconds: 901", "TumblingWindowInSeconds 901"},
		{"record age too short", "MaximumRetryAttempts: 3", "MaximumRetryAttempts: 3\n            MaximumRecordAgeInSeconds: 30", "MaximumRecordAgeInSeconds 30"},
		{"bad starting position", "StartingPosition: LATEST", "StartingPosition: AT_TIMESTAMP", `StartingPosition "AT_TIMESTAMP"`},
		{"bad response type", "FunctionResponseTypes: [ReportBatchItemFailures]", "FunctionResponseTypes: [ReportItems]", `"ReportItems"`},
		{"bad filter", `["failed", "timed_out"]`, `"failed"`, "FilterCriteria: filter 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := strings.Replace(string(base), tt.old, tt.new, 1)
			if text == string(base) {
				t.Fatalf("fixture has no %q", tt.old)
			}
			_, err := local.ParseSources([]byte(text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseSources = %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

// TestEveryTemplateSourceRunsOnTheLocalStack builds a Deliverer for each
// mapping of template.yaml over this test's tables and ticks it.
func TestEveryTemplateSourceRunsOnTheLocalStack(t *testing.T) {
	t.Parallel()
	path, err := awslocal.FindTemplate()
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := local.Sources(path)
	if err != nil {
		t.Fatal(err)
	}
	env := awstest.New(t)
	queue, _ := env.CreateQueue(t, env.Prefix+"stream-failures")
	for _, src := range srcs {
		fn := &fakeFunc{t: t}
		d, err := local.New(t.Context(), local.Config{
			Source: src, Stream: local.NewTableStream(env.Config, env.Tables[src.Table]),
			Invoke: fn.invoke, SQS: env.SQS(), OnFailureQueueURL: queue,
		})
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if err := d.Flush(t.Context(), t0); err != nil {
			t.Errorf("%s: Flush: %v", src, err)
		}
		if len(fn.calls) != 0 {
			t.Errorf("%s: %d invocations from an empty table", src, len(fn.calls))
		}
	}
}

func TestMatchRecordMatchesTheRecordsJSON(t *testing.T) {
	t.Parallel()
	var rec events.DynamoDBEventRecord
	if err := json.Unmarshal([]byte(failedRunRecord), &rec); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		pattern string
		want    bool
	}{
		{`{"eventName":["MODIFY"],"dynamodb":{"NewImage":{"status":{"S":["failed"]}}}}`, true},
		{`{"dynamodb":{"OldImage":{"status":{"S":["failed"]}}}}`, false},
	} {
		f, err := local.CompileFilter([]string{tt.pattern})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := f.MatchRecord(rec); err != nil || got != tt.want {
			t.Errorf("MatchRecord(%s) = %v, %v; want %v", tt.pattern, got, err, tt.want)
		}
	}
}
