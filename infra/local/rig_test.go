package local_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/infra/local"
	"github.com/snapkeep/snapkeep/shared/dynamo"
)

// t0 is the virtual clock's start in the tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC)

// at is t0 moved by d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// testSource is a mapping of the Runs table to a test function, with
// Lambda's defaults; mod changes it.
func testSource(mod func(*local.Source)) local.Source {
	s := local.Source{
		Function: "TestFunction", Event: "RunsStream", Table: dynamo.Runs.LogicalID,
		StartingPosition: local.TrimHorizon, BatchSize: 100, MaximumRetryAttempts: -1,
		MaximumRecordAgeInSeconds: -1, ParallelizationFactor: 1, Enabled: true,
	}
	if mod != nil {
		mod(&s)
	}
	return s
}

// call is one invocation the fake function got.
type call struct {
	raw []byte
	ev  events.DynamoDBTimeWindowEvent
}

// ids are the "id" attributes of the call's records.
func (c call) ids() []string {
	var out []string
	for _, r := range c.ev.Records {
		out = append(out, r.Change.NewImage["policy_id"].String())
	}
	return out
}

func (c call) seqs() []string {
	var out []string
	for _, r := range c.ev.Records {
		out = append(out, r.Change.SequenceNumber)
	}
	return out
}

// fakeFunc stands in for the Lambda function: it records each payload (as
// aws-lambda-go decodes it) and answers with answer's value as JSON.
type fakeFunc struct {
	t      testing.TB
	calls  []call
	answer func(n int, c call) (any, error) // n counts calls from 0
}

func (f *fakeFunc) invoke(_ context.Context, payload []byte) ([]byte, error) {
	c := call{raw: payload}
	if err := json.Unmarshal(payload, &c.ev); err != nil {
		f.t.Errorf("payload does not decode as events.DynamoDBTimeWindowEvent: %v\n%s", err, payload)
	}
	f.calls = append(f.calls, c)
	if f.answer == nil {
		return []byte(`{}`), nil
	}
	out, err := f.answer(len(f.calls)-1, c)
	if err != nil {
		return nil, err
	}
	if raw, ok := out.(string); ok {
		return []byte(raw), nil
	}
	return json.Marshal(out)
}

// sizes are the record counts of the calls from the n-th on.
func (f *fakeFunc) sizes(from int) []int {
	var out []int
	for _, c := range f.calls[from:] {
		out = append(out, len(c.ev.Records))
	}
	return out
}

// rig is a test's local stack: moto's Runs table and an on-failure queue,
// a fake function, and a Deliverer between them.
type rig struct {
	t     *testing.T
	env   *awstest.Env
	fn    *fakeFunc
	queue string
	d     *local.Deliverer
	n     int // items written
}

func newRig(t *testing.T, src local.Source, mod func(*local.Config)) *rig {
	t.Helper()
	env := awstest.New(t)
	r := &rig{t: t, env: env, fn: &fakeFunc{t: t}}
	r.queue, _ = env.CreateQueue(t, env.Prefix+"stream-failures")
	if src.OnFailure == "" {
		src.OnFailure = "TestFailureQueue"
	}
	cfg := local.Config{
		Source:            src,
		Stream:            local.NewTableStream(env.Config, env.TableName(dynamo.Runs)),
		Invoke:            r.fn.invoke,
		SQS:               env.SQS(),
		OnFailureQueueURL: r.queue,
	}
	if mod != nil {
		mod(&cfg)
	}
	if src.StartingPosition == local.Latest {
		return r // the test writes first, then calls start
	}
	r.start(cfg)
	return r
}

func (r *rig) start(cfg local.Config) {
	r.t.Helper()
	d, err := local.New(context.Background(), cfg)
	if err != nil {
		r.t.Fatalf("New: %v", err)
	}
	r.d = d
}

// put writes one Runs item per status, ids run-000, run-001, ... and
// returns their ids.
func (r *rig) put(statuses ...string) []string {
	r.t.Helper()
	var ids []string
	for _, st := range statuses {
		id := fmt.Sprintf("run-%03d", r.n)
		r.n++
		_, err := r.env.DynamoDB.PutItem(context.Background(), &dynamodb.PutItemInput{
			TableName: aws.String(r.env.TableName(dynamo.Runs)),
			Item: map[string]types.AttributeValue{
				"policy_id":    &types.AttributeValueMemberS{Value: id},
				"scheduled_at": &types.AttributeValueMemberS{Value: "2026-03-01T12:00:00Z"},
				"status":       &types.AttributeValueMemberS{Value: st},
			},
		})
		if err != nil {
			r.t.Fatalf("put %s: %v", id, err)
		}
		ids = append(ids, id)
	}
	return ids
}

func (r *rig) tick(now time.Time) {
	r.t.Helper()
	if err := r.d.Tick(context.Background(), now); err != nil {
		r.t.Fatalf("Tick(%s): %v", now.Format(time.TimeOnly), err)
	}
}

// failures receives the on-failure records moto's queue holds.
func (r *rig) failures() []local.OnFailureRecord {
	r.t.Helper()
	out, err := r.env.SQS().ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(r.queue), MaxNumberOfMessages: 10, WaitTimeSeconds: 0,
	})
	if err != nil {
		r.t.Fatalf("receive on-failure records: %v", err)
	}
	var recs []local.OnFailureRecord
	for _, m := range out.Messages {
		var rec local.OnFailureRecord
		dec := json.NewDecoder(bytesReader(aws.ToString(m.Body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			r.t.Fatalf("on-failure record %s: %v", aws.ToString(m.Body), err)
		}
		recs = append(recs, rec)
	}
	return recs
}

// state answers like an aggregating windowed function: it adds the call's
// record count to the state's "count" and returns the state.
func state(c call) map[string]any {
	n := 0
	fmt.Sscan(c.ev.State["count"], &n)
	return map[string]any{"state": map[string]string{"count": fmt.Sprint(n + len(c.ev.Records))}}
}

func bytesReader(s string) *strings.Reader { return strings.NewReader(s) }
