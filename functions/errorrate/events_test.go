package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

var update = flag.Bool("update", false, "rewrite events/errorrate's samples")

// The samples in events/errorrate (for sam local invoke -e, with
// API_CALLS_TABLE=snapkeep-dev-ApiCallsTable and
// RUNS_TABLE=snapkeep-dev-RunsTable, the tables their stream ARNs name),
// built here so that they stay realistic: rows as the stores write them,
// states as the handler writes them. TestSampleEvents fails when a file differs from
// what this code builds; go test ./functions/errorrate -update rewrites
// them.

// sampleWindow is the minute the samples' window covers.
var sampleWindow = &events.Window{
	Start: events.RFC3339EpochTime{Time: testT0},
	End:   events.RFC3339EpochTime{Time: testT0.Add(time.Minute)},
}

// sampleCalls are a window's ApiCalls rows: three folded by an earlier
// invocation, then the batch: successes, a Server Error and a 503 on
// snapshot_droplet, a 429, a pending-event 422, a 404, and one row whose
// started_at is not a time (poison).
func sampleCalls() (earlier, batch []events.DynamoDBEventRecord) {
	specs := []struct {
		op     snapkeep.Operation
		class  snapkeep.ErrorClass
		status int
	}{
		{snapkeep.OpGetAction, "", 200}, {snapkeep.OpListSnapshots, "", 200}, {snapkeep.OpSnapshotDroplet, "", 201},
		{snapkeep.OpSnapshotDroplet, snapkeep.ClassProviderError, 500}, {snapkeep.OpGetAction, "", 200},
		{snapkeep.OpGetAction, snapkeep.ClassRateLimited, 429}, {snapkeep.OpSnapshotDroplet, snapkeep.ClassResourceBusy, 422},
		{snapkeep.OpDeleteSnapshot, snapkeep.ClassResourceMissing, 404}, {snapkeep.OpSnapshotDroplet, snapkeep.ClassProviderError, 503},
		{snapkeep.OpListSnapshots, "", 200},
	}
	for i, sp := range specs {
		c := testCall(i, 0, sp.op, sp.class)
		c.StatusCode = sp.status
		switch sp.status {
		case 429:
			c.ErrorID, c.ErrorMessage = "too_many_requests", "API Rate limit exceeded."
		case 422:
			c.ErrorID, c.ErrorMessage = "unprocessable_entity", "Droplet already has a pending event."
		case 404:
			c.ErrorID, c.ErrorMessage = "not_found", "The resource you were accessing could not be found."
		case 503:
			c.ErrorID, c.ErrorMessage = "service_unavailable", "Service is currently unavailable."
		}
		if sp.status >= 400 {
			c.FailureHour = c.StartedAt.Format(snapkeep.FailureHourFormat)
		}
		rec := callRecord(i+1, c)
		if i < 3 {
			earlier = append(earlier, rec)
			continue
		}
		batch = append(batch, rec)
		if i == 6 {
			batch = append(batch, poisonRecord(i+100))
		}
	}
	for i := range batch { // stream order
		batch[i].Change.SequenceNumber = seqOf(10 + i)
	}
	return earlier, batch
}

// samples builds every sample: name → event.
func samples(t *testing.T) map[string]any {
	earlier, batch := sampleCalls()
	st, _ := decodeState(nil)
	for _, raw := range raws(earlier) {
		rec := decodeRecord(raw, callsStream)
		if err := st.fold(&rec); err != nil {
			t.Fatal(err)
		}
	}
	carried := json.RawMessage(mustJSON(st))
	for _, raw := range raws(batch) {
		rec := decodeRecord(raw, callsStream)
		_ = st.fold(&rec) // the poison is not folded
	}
	calls := streamARN(testCallsTable)
	fin := testT0.Add(42 * time.Second)
	running := &snapkeep.Run{PolicyID: "pol-web-1", ScheduledAt: testT0.Add(-10 * time.Minute), RunID: "pol-web-1#2026-11-24T06:00:00Z",
		CustomerID: "cust-acme", AccountID: "acct-acme", ResourceKey: "droplet:3164444", Status: snapkeep.RunInProgress,
		Resource:   snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "3164444", Region: "nyc3"},
		RetryClass: snapkeep.ClassProviderError, Attempts: 3, APICalls: 9}
	failed := *running
	failed.Status, failed.RetryClass, failed.ErrorClass, failed.FinishedAt = snapkeep.RunFailed, "", snapkeep.ClassProviderError, &fin
	failed.HTTPStatus, failed.ProviderErrorID, failed.ProviderMessage = 500, "server_error", "Server Error"
	ok := *running
	ok.PolicyID, ok.RunID, ok.ResourceKey, ok.CustomerID = "pol-db-2", "pol-db-2#2026-11-24T06:00:00Z", "volume:7a3f", "cust-globex"
	ok.Resource = snapkeep.Resource{Kind: snapkeep.ResourceVolume, ID: "7a3f", Region: "ams3"}
	okDone := ok
	okDone.Status, okDone.RetryClass, okDone.FinishedAt = snapkeep.RunSucceeded, "", &fin
	notified := failed
	notified.Notices = map[string]snapkeep.Notice{"email": {Kind: "failure", At: fin.Add(time.Second)}}
	return map[string]any{
		"api-calls-window.json": windowEvent{Records: raws(batch), Window: sampleWindow, State: carried, ShardID: testShard, EventSourceARN: calls},
		"api-calls-final.json": windowEvent{Records: []json.RawMessage{}, Window: sampleWindow, State: json.RawMessage(mustJSON(st)),
			ShardID: testShard, EventSourceARN: calls, IsFinalInvokeForWindow: true},
		"runs-window.json": windowEvent{Records: raws([]events.DynamoDBEventRecord{
			runRecord(201, running, &failed), runRecord(202, &ok, &okDone), runRecord(203, &failed, &notified),
		}), Window: sampleWindow, State: json.RawMessage(`{}`), ShardID: testShard, EventSourceARN: streamARN(testRunsTable),
			IsFinalInvokeForWindow: true},
		"evaluate.json": map[string]bool{"evaluate": true},
	}
}

// TestSampleEvents checks each sample against the code that builds it,
// then runs it through the handler.
func TestSampleEvents(t *testing.T) {
	want := samples(t)
	for name, ev := range want {
		b, err := json.MarshalIndent(ev, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, '\n')
		path := filepath.Join("..", "..", "events", "errorrate", name)
		if *update {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test ./functions/errorrate -update writes it)", err)
		}
		if !bytes.Equal(got, b) {
			t.Errorf("%s differs from what the code builds; go test ./functions/errorrate -update rewrites it", path)
		}
	}
	files, _ := filepath.Glob("../../events/errorrate/*.json")
	if len(files) != len(want)+1 { // and run-finished.json, a batch without windows
		t.Errorf("events/errorrate has %d samples, want %d", len(files), len(want)+1)
	}
	t.Run("api-calls-window", func(t *testing.T) {
		parts := newFakeParts()
		r := invokeFile(t, newTestHandler(parts), "api-calls-window.json")
		if len(r.BatchItemFailures) != 1 || r.BatchItemFailures[0].ItemIdentifier != seqOf(14) || len(parts.calls) != 0 {
			t.Errorf("failures %+v, %d items written; want the poison record only, nothing written before the final invocation", r.BatchItemFailures, len(parts.calls))
		}
		var st windowState
		if err := json.Unmarshal(r.State, &st); err != nil {
			t.Fatal(err)
		}
		all := st.Calls.Get(errorrate.Key{Dimension: "all", Minute: testT0})
		if all.Calls != 10 || all.Failures != 2 || all.RateLimited != 1 || all.Busy != 1 || all.CustomerErrors != 1 || st.First != seqOf(1) {
			t.Errorf("state %s: want the 3 carried and 7 new calls (2 provider failures, a 429, a 422, a 404) from the first record on", r.State)
		}
	})
	t.Run("api-calls-final", func(t *testing.T) {
		parts := newFakeParts()
		r := invokeFile(t, newTestHandler(parts), "api-calls-final.json")
		if string(r.State) != `{"v":1}` || len(parts.calls) != 8 || parts.totals()["all@2026-11-24T06:10Z"].Calls != 10 {
			t.Errorf("final: state %s, items %v; want a fresh state and 8 items (all, 3 regions, 4 operations) of 10 calls", r.State, parts.totals())
		}
	})
	t.Run("runs-window", func(t *testing.T) {
		parts := newFakeParts()
		invokeFile(t, newTestHandler(parts), "runs-window.json")
		for _, c := range parts.runs {
			if c.Failed != 1 || c.Succeeded != 1 || c.ProviderFailed != 1 || fmt.Sprint(c.Customers) != "[cust-acme]" {
				t.Errorf("run counts %+v, want the failure and the success (the later write not again)", c)
			}
		}
		if len(parts.runs) != 1 {
			t.Errorf("%d run items, want 1", len(parts.runs))
		}
	})
	t.Run("run-finished (a batch without windows)", func(t *testing.T) {
		parts := newFakeParts()
		h := newTestHandler(parts)
		for i := 0; i < 2; i++ { // delivered twice: the same item again
			if r := invokeFile(t, h, "run-finished.json"); len(r.BatchItemFailures) != 0 {
				t.Fatalf("failures %+v", r.BatchItemFailures)
			}
		}
		if len(parts.runs) != 1 || parts.writes != 2 {
			t.Fatalf("run items %v (%d writes), want one, written twice", parts.runs, parts.writes)
		}
		for _, c := range parts.runs {
			if c.Succeeded != 1 || c.Failed != 0 {
				t.Errorf("run counts %+v, want the one success", c)
			}
		}
	})
	t.Run("evaluate", func(t *testing.T) {
		h := newTestHandler(newFakeParts())
		h.Evaluator = &errorrate.Evaluator{Stats: emptyStats{}, Incidents: emptyIncidents{}, Runs: emptyStats{}, Alerts: nil,
			Now: func() time.Time { return testT0 }, Logger: discard}
		raw, _ := os.ReadFile("../../events/errorrate/evaluate.json")
		out, err := h.Handle(context.Background(), raw)
		if sum, ok := out.(errorrate.Summary); err != nil || !ok || sum.Dimensions != 1 {
			t.Errorf("evaluate: %+v, %v; want the all dimension evaluated", out, err)
		}
	})
}

func invokeFile(t *testing.T, h *Handler, name string) response {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "errorrate", name))
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.Invoke(context.Background(), raw)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var r response
	if err := json.Unmarshal(out, &r); err != nil || !strings.HasPrefix(string(r.State), "{") {
		t.Fatalf("%s: response %s: %v", name, out, err)
	}
	return r
}

// emptyStats and emptyIncidents are stores with nothing in them.
type emptyStats struct{}

func (emptyStats) Dimensions(context.Context, time.Time, time.Time) ([]snapkeep.Dimension, error) {
	return nil, nil
}
func (emptyStats) LoadWatch(context.Context, snapkeep.Dimension) (*errorrate.Watch, error) {
	return nil, snapkeep.ErrNotFound
}
func (emptyStats) SaveWatch(context.Context, *errorrate.Watch) error { return nil }
func (emptyStats) MinuteCounts(context.Context, snapkeep.Dimension, time.Time, time.Time) (*errorrate.Aggregate, error) {
	return errorrate.NewAggregate(), nil
}
func (emptyStats) DailyCounts(context.Context, snapkeep.Dimension, time.Time, time.Time) ([]errorrate.DayCounts, error) {
	return nil, nil
}
func (emptyStats) PutDaily(context.Context, snapkeep.Dimension, errorrate.DayCounts) error {
	return nil
}
func (emptyStats) RunCounts(context.Context, time.Time, time.Time) (errorrate.RunCounts, error) {
	return errorrate.RunCounts{}, nil
}
func (emptyStats) FirstDue(context.Context, time.Time, time.Time) (time.Time, error) {
	return time.Time{}, nil
}

type emptyIncidents struct{}

func (emptyIncidents) Get(context.Context, string) (*snapkeep.Incident, error) {
	return nil, snapkeep.ErrNotFound
}
func (emptyIncidents) Create(context.Context, *snapkeep.Incident) error { return nil }
func (emptyIncidents) Update(context.Context, *snapkeep.Incident, *snapkeep.Incident) error {
	return nil
}
func (emptyIncidents) ListOpen(context.Context) ([]snapkeep.Incident, error) { return nil, nil }
