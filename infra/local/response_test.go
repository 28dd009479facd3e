package local_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/snapkeep/snapkeep/infra/local"
)

// responseCase is a first response to a batch of three records (sequence
// numbers 100, 101, 102) and what the next invocation must get.
type responseCase struct {
	name      string
	windows   bool
	report    bool
	first     string
	wantRetry []string // records of the second invocation; nil: no retry
	wantState string   // state of the invocation after the first (windows)
}

// TestResponsesAreReadAsLambdaReadsThem gives a batch one first response
// and checks what the next invocation (which succeeds) gets.
func TestResponsesAreReadAsLambdaReadsThem(t *testing.T) {
	t.Parallel()
	whole := []string{"100", "101", "102"}
	tests := []responseCase{
		{name: "empty failure list", report: true, first: `{"batchItemFailures":[]}`},
		{name: "null failure list", report: true, first: `{"batchItemFailures":null}`},
		{name: "empty response", report: true, first: `{}`},
		{name: "null response", report: true, first: `null`},
		{name: "not an object", report: true, first: `"done"`},
		{name: "lowest failure", report: true, first: `{"batchItemFailures":[{"itemIdentifier":"102"},{"itemIdentifier":"101"}]}`, wantRetry: whole[1:]},
		{name: "first record failed", report: true, first: `{"batchItemFailures":[{"itemIdentifier":"100"}]}`, wantRetry: whole},
		{name: "empty identifier", report: true, first: `{"batchItemFailures":[{"itemIdentifier":""}]}`, wantRetry: whole},
		{name: "null identifier", report: true, first: `{"batchItemFailures":[{"itemIdentifier":null}]}`, wantRetry: whole},
		{name: "bad key name", report: true, first: `{"batchItemFailures":[{"ItemIdentifier":"101"}]}`, wantRetry: whole},
		{name: "unknown sequence number", report: true, first: `{"batchItemFailures":[{"itemIdentifier":"999"}]}`, wantRetry: whole},
		{name: "failures not a list", report: true, first: `{"batchItemFailures":"101"}`, wantRetry: whole},
		{name: "failures ignored without ReportBatchItemFailures", first: `{"batchItemFailures":[{"itemIdentifier":"101"}]}`},
		{name: "window: state", windows: true, first: `{"state":{"n":"3"}}`, wantState: `{"n":"3"}`},
		{name: "window: any JSON object is a state", windows: true, first: `{"state":{"n":3,"ids":["a"]}}`, wantState: `{"n":3,"ids":["a"]}`},
		{name: "window: no state is a failure", windows: true, first: `{}`, wantRetry: whole, wantState: `{}`},
		{name: "window: null state is a failure", windows: true, first: `{"state":null}`, wantRetry: whole, wantState: `{}`},
		{name: "window: a state that is not an object", windows: true, first: `{"state":[1]}`, wantRetry: whole, wantState: `{}`},
		{name: "window: partial failure checkpoints the state", windows: true, report: true, first: `{"state":{"n":"1"},"batchItemFailures":[{"itemIdentifier":"101"}]}`, wantRetry: whole[1:], wantState: `{"n":"1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t)
		})
	}
}

func (tt responseCase) run(t *testing.T) {
	var payloads []windowPayload
	invoke := func(_ context.Context, payload []byte) ([]byte, error) {
		var p windowPayload
		if err := json.Unmarshal(payload, &p); err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, p)
		if len(payloads) == 1 {
			return []byte(tt.first), nil
		}
		return []byte(`{"state":{}}`), nil
	}
	d := tt.deliverer(t, invoke)
	if err := d.Tick(t.Context(), t0); err != nil {
		t.Fatal(err)
	}
	var second *windowPayload
	for i := range payloads[1:] {
		if p := &payloads[1+i]; !p.IsFinalInvokeForWindow {
			second = p
			break
		}
	}
	switch {
	case tt.wantRetry == nil && second != nil:
		t.Errorf("retried %v after %s, want a success", second.seqs(), tt.first)
	case tt.wantRetry != nil && second == nil:
		t.Errorf("no retry after %s, want %v retried", tt.first, tt.wantRetry)
	case tt.wantRetry != nil && !reflect.DeepEqual(second.seqs(), tt.wantRetry):
		t.Errorf("retried %v after %s, want %v", second.seqs(), tt.first, tt.wantRetry)
	}
	if tt.wantState == "" {
		return
	}
	if second == nil { // the final invocation carries the state
		if err := d.Tick(t.Context(), t0.Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		second = &payloads[len(payloads)-1]
	}
	if string(second.State) != tt.wantState {
		t.Errorf("next state %s, want %s", second.State, tt.wantState)
	}
}

// deliverer delivers three records to invoke, retrying once.
func (tt responseCase) deliverer(t *testing.T, invoke local.InvokeFunc) *local.Deliverer {
	src := testSource(func(s *local.Source) {
		s.BatchSize = 3
		s.MaximumRetryAttempts = 1
		if tt.report {
			s.FunctionResponseTypes = []string{local.ReportBatchItemFailures}
		}
		if tt.windows {
			s.TumblingWindowInSeconds = 300
		}
	})
	stream := &fakeStream{}
	stream.add("a", "b", "c")
	d, err := local.New(t.Context(), local.Config{Source: src, Stream: stream, Invoke: invoke})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// windowPayload decodes a payload keeping the state as JSON.
type windowPayload struct {
	Records                []events.DynamoDBEventRecord `json:"Records"`
	State                  json.RawMessage              `json:"state"`
	IsFinalInvokeForWindow bool                         `json:"isFinalInvokeForWindow"`
}

func (p windowPayload) seqs() []string {
	var out []string
	for _, r := range p.Records {
		out = append(out, r.Change.SequenceNumber)
	}
	return out
}

// TestPayloadsHaveAwsLambdaGosShape checks that the windowed payload has
// exactly the JSON fields of events.DynamoDBTimeWindowEvent and the plain
// one those of events.DynamoDBEvent, and that records keep their time.
func TestPayloadsHaveAwsLambdaGosShape(t *testing.T) {
	t.Parallel()
	keys := func(v any) []string {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	for _, windows := range []int{0, 60} {
		var got []byte
		invoke := func(_ context.Context, p []byte) ([]byte, error) { got = p; return []byte(`{"state":{}}`), nil }
		stream := &fakeStream{}
		stream.add("a")
		src := testSource(func(s *local.Source) { s.TumblingWindowInSeconds = windows })
		d, err := local.New(t.Context(), local.Config{Source: src, Stream: stream, Invoke: invoke, Arrival: local.ArrivalRecord})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Tick(t.Context(), t0); err != nil {
			t.Fatal(err)
		}
		var want any = events.DynamoDBEvent{}
		if windows > 0 {
			want = events.DynamoDBTimeWindowEvent{}
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(got, &m); err != nil {
			t.Fatal(err)
		}
		if k := keys(m); !reflect.DeepEqual(k, keys(want)) {
			t.Errorf("window %d s: payload fields %v, want %T's %v", windows, k, want, keys(want))
		}
		var ev events.DynamoDBEvent
		if err := json.Unmarshal(got, &ev); err != nil {
			t.Fatal(err)
		}
		// ArrivalRecord keeps the record's time, cut to the second.
		if at := ev.Records[0].Change.ApproximateCreationDateTime.Time; !at.Equal(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) {
			t.Errorf("window %d s: ApproximateCreationDateTime %s, want 12:00:00 (the record's, to the second)", windows, at)
		}
	}
}

// fakeSQS is an SQS client with a function field.
type fakeSQS struct {
	send func(*sqs.SendMessageInput) error
}

func (f fakeSQS) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	if err := f.send(in); err != nil {
		return nil, err
	}
	return &sqs.SendMessageOutput{MessageId: aws.String("m-1")}, nil
}

func TestARefusedOnFailureRecordIsSentAgainOnTheNextTick(t *testing.T) {
	t.Parallel()
	var sent []string
	down := true
	q := fakeSQS{send: func(in *sqs.SendMessageInput) error {
		if down {
			return errors.New("queue unavailable")
		}
		sent = append(sent, aws.ToString(in.MessageBody))
		return nil
	}}
	calls := 0
	invoke := func(context.Context, []byte) ([]byte, error) { calls++; return nil, errors.New("fails") }
	stream := &fakeStream{}
	stream.add("poison")
	src := testSource(func(s *local.Source) { s.MaximumRetryAttempts = 0; s.OnFailure = "Q" })
	d, err := local.New(t.Context(), local.Config{Source: src, Stream: stream, Invoke: invoke, SQS: q, OnFailureQueueURL: "http://q", FunctionARN: "arn:fn"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Tick(t.Context(), t0); err == nil || !strings.Contains(err.Error(), "queue unavailable") || !strings.Contains(err.Error(), "100..100") {
		t.Fatalf("Tick = %v, want the queue's error naming the batch", err)
	}
	down = false
	if err := d.Tick(t.Context(), at(time.Second)); err != nil {
		t.Fatal(err)
	}
	if calls != 1 || len(sent) != 1 || !strings.Contains(sent[0], `"functionArn":"arn:fn"`) || !d.Idle() {
		t.Errorf("%d invocations, sent %v, idle %v; want 1 invocation and the record sent once", calls, sent, d.Idle())
	}
	if err := d.Tick(t.Context(), t0); err == nil || !strings.Contains(err.Error(), "clock went back") {
		t.Errorf("Tick back in time = %v, want an error", err)
	}
}

// fakeStreams is a DynamoDB Streams client with a function field.
type fakeStreams struct {
	describe func(*dynamodbstreams.DescribeStreamInput) *dynamodbstreams.DescribeStreamOutput
}

func (f fakeStreams) DescribeStream(_ context.Context, in *dynamodbstreams.DescribeStreamInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error) {
	return f.describe(in), nil
}

type fakeReader []events.DynamoDBEventRecord

func (f fakeReader) Read(context.Context) ([]events.DynamoDBEventRecord, error) { return f, nil }

func TestTableStreamRefusesAStreamWithSeveralShards(t *testing.T) {
	t.Parallel()
	shards := func(ids ...string) *dynamodbstreams.DescribeStreamOutput {
		out := &dynamodbstreams.DescribeStreamOutput{StreamDescription: &streamtypes.StreamDescription{}}
		for _, id := range ids {
			out.StreamDescription.Shards = append(out.StreamDescription.Shards, streamtypes.Shard{ShardId: aws.String(id)})
		}
		return out
	}
	recs := fakeReader{{EventSourceArn: fakeStreamARN}}
	one := local.NewStream(recs, fakeStreams{describe: func(*dynamodbstreams.DescribeStreamInput) *dynamodbstreams.DescribeStreamOutput { return shards("s-1") }})
	got, err := one.Read(t.Context())
	if err != nil || len(got) != 1 || got[0].ShardID != "s-1" {
		t.Errorf("one shard: %+v, %v", got, err)
	}
	two := local.NewStream(recs, fakeStreams{describe: func(*dynamodbstreams.DescribeStreamInput) *dynamodbstreams.DescribeStreamOutput {
		return shards("s-1", "s-2")
	}})
	if _, err := two.Read(t.Context()); err == nil || !strings.Contains(err.Error(), "has 2 shards") {
		t.Errorf("two shards: %v, want an error saying so", err)
	}
}
