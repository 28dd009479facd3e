package local_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/snapkeep/snapkeep/infra/local"
)

// windowCall is what a windowed invocation says besides its records.
type windowCall struct {
	records      int
	start        string
	state        map[string]string
	final, early bool
}

func windowCalls(calls []call) []windowCall {
	var out []windowCall
	for _, c := range calls {
		st := c.ev.State
		if len(st) == 0 {
			st = nil
		}
		out = append(out, windowCall{
			records: len(c.ev.Records), start: c.ev.Window.Start.UTC().Format(time.TimeOnly), state: st,
			final: c.ev.IsFinalInvokeForWindow, early: c.ev.IsWindowTerminatedEarly,
		})
	}
	return out
}

func count(n string) map[string]string { return map[string]string{"count": n} }

func TestTumblingWindowsThreadStateAndEndWithAFinalInvocation(t *testing.T) {
	t.Parallel()
	r := newRig(t, testSource(func(s *local.Source) {
		s.BatchSize = 2
		s.TumblingWindowInSeconds = 60
	}), nil)
	r.fn.answer = func(_ int, c call) (any, error) { return state(c), nil }
	r.put("a", "b", "c")
	r.tick(at(0))                // 12:00:10
	r.put("d", "e")              //
	r.tick(at(40 * time.Second)) // 12:00:50
	r.tick(at(50 * time.Second)) // 12:01:00, the window's end
	r.put("f")
	r.tick(at(80 * time.Second))  // 12:01:30
	r.tick(at(110 * time.Second)) // 12:02:00
	want := []windowCall{
		{records: 2, start: "12:00:00"},
		{records: 1, start: "12:00:00", state: count("2")},
		{records: 2, start: "12:00:00", state: count("3")},
		{records: 0, start: "12:00:00", state: count("5"), final: true},
		{records: 1, start: "12:01:00"},
		{records: 0, start: "12:01:00", state: count("1"), final: true},
	}
	if got := windowCalls(r.fn.calls); !reflect.DeepEqual(got, want) {
		t.Fatalf("invocations\n%+v, want\n%+v", got, want)
	}
	first := r.fn.calls[0].ev
	for i, c := range r.fn.calls {
		ev := c.ev
		if ev.ShardID == "" || ev.ShardID != first.ShardID || ev.EventSourceARN != first.Records[0].EventSourceArn {
			t.Errorf("call %d: shard %q, source %q; want the stream's one shard and ARN", i, ev.ShardID, ev.EventSourceARN)
		}
		if d := ev.Window.End.Sub(ev.Window.Start.Time); d != time.Minute {
			t.Errorf("call %d: window %s to %s", i, ev.Window.Start, ev.Window.End)
		}
		if !strings.Contains(string(c.raw), `"Records":[`) {
			t.Errorf("call %d: Records is not a list: %s", i, c.raw)
		}
	}
	if st := r.d.Stats(); st.FinalInvocations != 2 || st.Delivered != 6 || !r.d.Idle() {
		t.Errorf("stats %+v, idle %v", st, r.d.Idle())
	}
}

func TestTheFinalInvocationCarriesTheWindowsPendingRecords(t *testing.T) {
	t.Parallel()
	r := newRig(t, testSource(func(s *local.Source) {
		s.BatchSize = 10
		s.TumblingWindowInSeconds = 60
		s.MaximumBatchingWindowInSeconds = 30
	}), nil)
	r.fn.answer = func(_ int, c call) (any, error) { return state(c), nil }
	r.put("a", "b")
	r.tick(at(30 * time.Second)) // 12:00:40: batching
	r.tick(at(49 * time.Second))
	if len(r.fn.calls) != 0 {
		t.Fatalf("invoked within the batching window: %+v", windowCalls(r.fn.calls))
	}
	r.tick(at(50 * time.Second)) // 12:01:00
	want := []windowCall{{records: 2, start: "12:00:00", final: true}}
	if got := windowCalls(r.fn.calls); !reflect.DeepEqual(got, want) {
		t.Errorf("invocations %+v, want %+v", got, want)
	}
}

func TestAnOversizedStateEndsTheWindowEarly(t *testing.T) {
	t.Parallel()
	r := newRig(t, testSource(func(s *local.Source) {
		s.BatchSize = 1
		s.TumblingWindowInSeconds = 60
	}), nil)
	big := strings.Repeat("x", local.MaxStateBytes)
	r.fn.answer = func(n int, c call) (any, error) {
		out := state(c)
		if n == 1 {
			out["state"].(map[string]string)["blob"] = big
		}
		return out, nil
	}
	r.put("a", "b", "c")
	r.tick(t0)
	r.tick(at(50 * time.Second))
	got := windowCalls(r.fn.calls)
	if len(got) == 5 && got[2].state["blob"] == big {
		got[2].state = map[string]string{"count": got[2].state["count"], "blob": "<1 MiB>"}
	}
	want := []windowCall{
		{records: 1, start: "12:00:00"},
		{records: 1, start: "12:00:00", state: count("1")},
		{records: 0, start: "12:00:00", state: map[string]string{"count": "2", "blob": "<1 MiB>"}, final: true, early: true},
		{records: 1, start: "12:00:00"}, // the same window, fresh state
		{records: 0, start: "12:00:00", state: count("1"), final: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("invocations\n%+v, want\n%+v", got, want)
	}
	if st := r.d.Stats(); st.EarlyTerminations != 1 || st.FinalInvocations != 2 || st.Delivered != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestAFailedWindowInvocationIsRetriedWithTheSameState(t *testing.T) {
	t.Parallel()
	r := newRig(t, testSource(func(s *local.Source) {
		s.BatchSize = 1
		s.TumblingWindowInSeconds = 60
		s.MaximumRetryAttempts = 2
	}), nil)
	r.fn.answer = func(n int, c call) (any, error) {
		switch n {
		case 1:
			return nil, errors.New("throttled by DynamoDB")
		case 2:
			return map[string]any{"batchItemFailures": []any{}}, nil // no state: a failure too
		}
		return state(c), nil
	}
	r.put("a", "b")
	r.tick(t0)
	r.tick(at(50 * time.Second))
	want := []windowCall{
		{records: 1, start: "12:00:00"},
		{records: 1, start: "12:00:00", state: count("1")},
		{records: 1, start: "12:00:00", state: count("1")},
		{records: 1, start: "12:00:00", state: count("1")},
		{records: 0, start: "12:00:00", state: count("2"), final: true},
	}
	if got := windowCalls(r.fn.calls); !reflect.DeepEqual(got, want) {
		t.Fatalf("invocations\n%+v, want\n%+v", got, want)
	}
	if st := r.d.Stats(); st.FailedInvocations != 2 || st.Discarded != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestWindowsWithPartialBatchResponses(t *testing.T) {
	t.Parallel()
	r := newRig(t, testSource(func(s *local.Source) {
		s.BatchSize = 3
		s.TumblingWindowInSeconds = 60
		s.FunctionResponseTypes = []string{local.ReportBatchItemFailures}
	}), nil)
	r.fn.answer = func(n int, c call) (any, error) {
		if n == 0 { // the first record counted, the second failed
			return map[string]any{"state": count("1"), "batchItemFailures": []map[string]string{{"itemIdentifier": c.seqs()[1]}}}, nil
		}
		return state(c), nil
	}
	r.put("a", "b", "c")
	r.tick(t0)
	r.tick(at(50 * time.Second))
	want := []windowCall{
		{records: 3, start: "12:00:00"},
		{records: 2, start: "12:00:00", state: count("1")},
		{records: 0, start: "12:00:00", state: count("3"), final: true},
	}
	if got := windowCalls(r.fn.calls); !reflect.DeepEqual(got, want) {
		t.Fatalf("invocations\n%+v, want\n%+v", got, want)
	}
}

// TestAGoHandlerRunsThroughAwsLambdaGo delivers to a typed Go handler the
// way the Lambda runtime would call it (lambda.NewHandler's Invoke), as the
// function tests will.
func TestAGoHandlerRunsThroughAwsLambdaGo(t *testing.T) {
	t.Parallel()
	var finals []string
	handler := func(_ context.Context, ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error) {
		n, _ := strconv.Atoi(ev.State["runs"])
		n += len(ev.Records)
		if ev.IsFinalInvokeForWindow {
			finals = append(finals, fmt.Sprintf("%s %s %d", ev.ShardID, ev.Window.Start.UTC().Format(time.TimeOnly), n))
		}
		return events.DynamoDBTimeWindowEventResponse{
			TimeWindowEventResponseProperties: events.TimeWindowEventResponseProperties{State: map[string]string{"runs": strconv.Itoa(n)}},
		}, nil
	}
	stream := &fakeStream{}
	src := testSource(func(s *local.Source) { s.TumblingWindowInSeconds = 60; s.BatchSize = 2 })
	d, err := local.New(t.Context(), local.Config{Source: src, Stream: stream, Invoke: lambda.NewHandler(handler).Invoke})
	if err != nil {
		t.Fatal(err)
	}
	stream.add("a", "b", "c")
	if err := d.Tick(t.Context(), t0); err != nil {
		t.Fatal(err)
	}
	stream.add("d")
	for _, now := range []time.Time{at(50 * time.Second), at(70 * time.Second), at(110 * time.Second)} {
		if err := d.Tick(t.Context(), now); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"shardId-0001 12:00:00 3", "shardId-0001 12:01:00 1"}
	if !reflect.DeepEqual(finals, want) {
		t.Errorf("final invocations %q, want %q", finals, want)
	}
}

func TestBisectionWithWindowsKeepsTheStateOfTheHalvesThatPass(t *testing.T) {
	t.Parallel()
	var sent []local.OnFailureRecord
	q := fakeSQS{send: func(in *sqs.SendMessageInput) error {
		var rec local.OnFailureRecord
		if err := json.Unmarshal([]byte(aws.ToString(in.MessageBody)), &rec); err != nil {
			return err
		}
		sent = append(sent, rec)
		return nil
	}}
	fn := &fakeFunc{t: t, answer: func(_ int, c call) (any, error) {
		for _, rec := range c.ev.Records {
			if rec.Change.NewImage["status"].String() == "poison" {
				return nil, errors.New("poison")
			}
		}
		return state(c), nil
	}}
	stream := &fakeStream{}
	seqs := stream.add("a", "b", "c", "poison")
	src := testSource(func(s *local.Source) {
		s.BatchSize = 4
		s.TumblingWindowInSeconds = 60
		s.BisectBatchOnFunctionError = true
		s.MaximumRetryAttempts = 0
		s.OnFailure = "Q"
	})
	d, err := local.New(t.Context(), local.Config{Source: src, Stream: stream, Invoke: fn.invoke, SQS: q, OnFailureQueueURL: "http://q"})
	if err != nil {
		t.Fatal(err)
	}
	for _, now := range []time.Time{t0, at(50 * time.Second)} {
		if err := d.Tick(t.Context(), now); err != nil {
			t.Fatal(err)
		}
	}
	want := []windowCall{
		{records: 4, start: "12:00:00"},                    // fails: split
		{records: 2, start: "12:00:00"},                    // a b
		{records: 2, start: "12:00:00", state: count("2")}, // c poison fails: split
		{records: 1, start: "12:00:00", state: count("2")}, // c
		{records: 1, start: "12:00:00", state: count("3")}, // poison: given up
		{records: 0, start: "12:00:00", state: count("3"), final: true},
	}
	if got := windowCalls(fn.calls); !reflect.DeepEqual(got, want) {
		t.Fatalf("invocations\n%+v, want\n%+v", got, want)
	}
	if len(sent) != 1 || sent[0].DDBStreamBatchInfo.StartSequenceNumber != seqs[3] || sent[0].DDBStreamBatchInfo.ShardID != "shardId-0001" {
		t.Errorf("on-failure records %+v, want one for %s", sent, seqs[3])
	}
}
