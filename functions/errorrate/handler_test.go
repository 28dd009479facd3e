package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// expected is what a perfect count of recs gives, per "dimension@minute".
func expected(t *testing.T, recs []events.DynamoDBEventRecord) map[string]errorrate.Counts {
	t.Helper()
	agg := errorrate.NewAggregate()
	for _, raw := range raws(recs) {
		st := windowState{Calls: agg}
		rec := decodeRecord(raw, callsStream)
		if err := st.fold(&rec); err != nil {
			t.Fatalf("expected: %v", err)
		}
	}
	out := map[string]errorrate.Counts{}
	for _, k := range agg.Keys() {
		out[k.String()] = agg.Get(k)
	}
	return out
}

func sameCounts(a, b map[string]errorrate.Counts) bool {
	return maps.EqualFunc(a, b, func(x, y errorrate.Counts) bool { return fmt.Sprint(x) == fmt.Sprint(y) })
}

// TestWindowCountsOnce: however a window's records are batched, replayed
// or retried, its counts are the same items with the same numbers.
func TestWindowCountsOnce(t *testing.T) {
	recs := mixedCalls(400, 3)
	want := expected(t, recs)
	var keys []string
	for _, size := range []int{1000, 1, 7, 100} {
		parts := newFakeParts()
		m := mapping{t: t, h: newTestHandler(parts), size: size, retries: 2, arn: streamARN(testCallsTable)}
		m.window(recs)
		if got := parts.totals(); !sameCounts(got, want) {
			t.Fatalf("batches of %d: counts\n%v\nwant\n%v", size, got, want)
		}
		got := slices.Sorted(maps.Keys(parts.calls))
		if keys == nil {
			keys = got
		} else if !slices.Equal(got, keys) {
			t.Errorf("batches of %d wrote items %v, want the same keys as batches of 1000 %v", size, got, keys)
		}
		m.window(recs) // a replayed window writes the same items again
		if got := parts.totals(); !sameCounts(got, want) || len(parts.calls) != len(keys) {
			t.Errorf("batches of %d, replayed: %d items, counts changed", size, len(parts.calls))
		}
	}
	// One item per (dimension, minute): 3 minutes × (all, 3 regions, 3 operations).
	if len(keys) != 3*7 {
		t.Errorf("%d items, want 21: %v", len(keys), keys)
	}
}

// TestWindowSkipsWhatItFolded: a batch delivered again with the state
// that already holds it (a retry after a lost response, bisection's
// halves) adds nothing.
func TestWindowSkipsWhatItFolded(t *testing.T) {
	recs := mixedCalls(50, 1)
	parts := newFakeParts()
	h := newTestHandler(parts)
	win := &events.Window{Start: events.RFC3339EpochTime{Time: testT0}, End: events.RFC3339EpochTime{Time: testT0.Add(time.Minute)}}
	ev := windowEvent{Records: raws(recs), Window: win, State: json.RawMessage(`{}`), ShardID: testShard, EventSourceARN: streamARN(testCallsTable)}
	first, err := invoke(t, h, ev)
	if err != nil {
		t.Fatal(err)
	}
	ev.State = first.State
	ev.Records = raws(recs[20:]) // the second half again, as a retry would
	again, err := invoke(t, h, ev)
	if err != nil || string(again.State) != string(first.State) {
		t.Fatalf("a re-delivered batch changed the state:\n%s\nto\n%s (%v)", first.State, again.State, err)
	}
	ev.Records, ev.IsFinalInvokeForWindow = nil, true
	if _, err := invoke(t, h, ev); err != nil {
		t.Fatal(err)
	}
	if got := parts.totals(); !sameCounts(got, expected(t, recs)) {
		t.Errorf("counts %v, want each record once", got)
	}
}

// TestWindowPoisonRecord: a record whose image does not decode is reported
// (so the mapping retries it and then sends it to the on-failure queue)
// and every other record counts, once.
func TestWindowPoisonRecord(t *testing.T) {
	recs := mixedCalls(30, 2)
	withPoison := slices.Concat(recs[:12], []events.DynamoDBEventRecord{poisonRecord(999)}, recs[12:])
	for i := range withPoison { // sequence numbers in stream order
		withPoison[i].Change.SequenceNumber = seqOf(i + 1)
	}
	parts := newFakeParts()
	gaveUp := mapping{t: t, h: newTestHandler(parts), size: 10, retries: 2, arn: streamARN(testCallsTable)}.window(withPoison)
	if len(gaveUp) == 0 || gaveUp[0] != withPoison[12].Change.SequenceNumber {
		t.Fatalf("given up %v, want the poison record first", gaveUp)
	}
	if got := parts.totals(); !sameCounts(got, expected(t, recs)) {
		t.Errorf("counts with a poison record %v, want the other 30 records'", got)
	}
}

// TestWindowEndedEarly: a window ended early (its state outgrew 1 MB)
// writes its part; the window goes on with a fresh state and a new first
// sequence number, and the parts add up.
func TestWindowEndedEarly(t *testing.T) {
	recs := mixedCalls(60, 1)
	parts := newFakeParts()
	h := newTestHandler(parts)
	win := &events.Window{Start: events.RFC3339EpochTime{Time: testT0}, End: events.RFC3339EpochTime{Time: testT0.Add(time.Minute)}}
	ev := windowEvent{Records: raws(recs[:25]), Window: win, State: json.RawMessage(`{}`), ShardID: testShard, EventSourceARN: streamARN(testCallsTable)}
	r, err := invoke(t, h, ev)
	if err != nil {
		t.Fatal(err)
	}
	early := windowEvent{Window: win, State: r.State, ShardID: testShard, EventSourceARN: streamARN(testCallsTable),
		IsFinalInvokeForWindow: true, IsWindowTerminatedEarly: true}
	if r, err = invoke(t, h, early); err != nil || string(r.State) != `{"v":1}` {
		t.Fatalf("early final: %s, %v", r.State, err)
	}
	ev.Records, ev.State = raws(recs[25:]), r.State
	if r, err = invoke(t, h, ev); err != nil {
		t.Fatal(err)
	}
	ev.Records, ev.State, ev.IsFinalInvokeForWindow = nil, r.State, true
	if _, err := invoke(t, h, ev); err != nil {
		t.Fatal(err)
	}
	firsts := map[string]bool{}
	for k := range parts.calls {
		firsts[k[strings.LastIndex(k, "#")+1:]] = true
	}
	if len(firsts) != 2 || !firsts[recs[0].Change.SequenceNumber] || !firsts[recs[25].Change.SequenceNumber] {
		t.Errorf("parts by first sequence number %v, want two: %s and %s", firsts, recs[0].Change.SequenceNumber, recs[25].Change.SequenceNumber)
	}
	if got := parts.totals(); !sameCounts(got, expected(t, recs)) {
		t.Errorf("parts do not add up: %v", got)
	}
}

// TestWindowIgnores: only INSERTs of call rows count (a MODIFY or a TTL
// REMOVE is not a new attempt); only the write that finishes a run counts.
func TestWindowIgnores(t *testing.T) {
	modify := callRecord(1, testCall(0, 0, snapkeep.OpGetAction, ""))
	modify.EventName = "MODIFY"
	remove := callRecord(2, testCall(1, 0, snapkeep.OpGetAction, ""))
	remove.EventName, remove.Change.NewImage = "REMOVE", nil
	fin := testT0.Add(30 * time.Second)
	running := &snapkeep.Run{PolicyID: "pol-1", RunID: "pol-1#x", Status: snapkeep.RunInProgress}
	failed := &snapkeep.Run{PolicyID: "pol-1", RunID: "pol-1#x", CustomerID: "cust-acme", Status: snapkeep.RunFailed,
		ErrorClass: snapkeep.ClassProviderError, FinishedAt: &fin}
	notified := *failed
	tests := []struct {
		name      string
		recs      []events.DynamoDBEventRecord
		arn       string
		wantCalls int
		wantRuns  int
	}{
		{"call modify and remove", []events.DynamoDBEventRecord{modify, remove}, streamARN(testCallsTable), 0, 0},
		{"run finishing and a later write", []events.DynamoDBEventRecord{runRecord(1, running, failed), runRecord(2, failed, &notified)}, streamARN(testRunsTable), 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := newFakeParts()
			mapping{t: t, h: newTestHandler(parts), size: 10, arn: tt.arn}.window(tt.recs)
			if len(parts.calls) != tt.wantCalls || len(parts.runs) != tt.wantRuns {
				t.Fatalf("items: %d call, %d run; want %d, %d", len(parts.calls), len(parts.runs), tt.wantCalls, tt.wantRuns)
			}
			for _, c := range parts.runs {
				if c.Failed != 1 || c.ProviderFailed != 1 || fmt.Sprint(c.Customers) != "[cust-acme]" {
					t.Errorf("run counts %+v, want the one provider-side failure of cust-acme", c)
				}
			}
		})
	}
}

// TestHandleRefuses: input that is neither a batch of a known stream nor
// the evaluation tick is an error that says what was expected; a state
// this code did not write fails the invocation (retried), never counts.
func TestHandleRefuses(t *testing.T) {
	h := newTestHandler(newFakeParts())
	rec := callRecord(1, testCall(0, 0, snapkeep.OpGetAction, ""))
	other := rec
	other.EventSourceArn = streamARN("someone-elses-table")
	tests := []struct {
		name, input, want string
	}{
		{"not an object", `[1,2]`, `want a DynamoDB stream batch or {"evaluate": true}`},
		{"unknown tick", `{"sweep": true}`, `{"evaluate": true}`},
		{"evaluate false", `{"evaluate": false}`, `{"evaluate": true}`},
		{"foreign stream", mustJSON(windowEvent{Records: raws([]events.DynamoDBEventRecord{other})}), "not the " + testCallsTable},
		{"foreign state", mustJSON(windowEvent{Records: raws([]events.DynamoDBEventRecord{rec}), State: json.RawMessage(`{"v":7}`),
			Window: &events.Window{}, EventSourceARN: streamARN(testCallsTable)}), "version 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.Handle(context.Background(), json.RawMessage(tt.input))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Handle(%s) = %v, want an error containing %q", tt.input, err, tt.want)
			}
		})
	}
}

// TestFinalWriteFails: a failed write on the final invocation fails it
// (Lambda retries the final invocation with the same state).
func TestFinalWriteFails(t *testing.T) {
	parts := newFakeParts()
	parts.fail = errors.New("ProvisionedThroughputExceededException")
	h := newTestHandler(parts)
	rec := callRecord(1, testCall(0, 0, snapkeep.OpGetAction, ""))
	st, _ := decodeState(nil)
	dec := decodeRecord(raws([]events.DynamoDBEventRecord{rec})[0], callsStream)
	if err := st.fold(&dec); err != nil {
		t.Fatal(err)
	}
	ev := windowEvent{Window: &events.Window{}, State: json.RawMessage(mustJSON(st)), ShardID: testShard,
		EventSourceARN: streamARN(testCallsTable), IsFinalInvokeForWindow: true}
	if _, err := invoke(t, h, ev); err == nil || !strings.Contains(err.Error(), "Provisioned") {
		t.Errorf("final invocation with a failing write: %v, want the error", err)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
