package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/snapkeep/snapkeep/events/sample"
	"github.com/snapkeep/snapkeep/infra/triggers"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// The samples in events/errorrate (`sam local invoke ErrorRateFunction -e
// events/errorrate/<file> --env-vars events/env.json`) are built here
// (go test ./functions/errorrate -update rewrites them): the minute
// 06:31 UTC of Tuesday 24 November 2026 on the local stage, the runs and
// their DigitalOcean calls written by the real dynamo.RunStore as the run
// path writes them, each table's stream records delivered as the
// template's mappings deliver them (filters, tumbling windows), and the
// window states as this handler returns them.

// sampleMinute is the tumbling window the samples are in.
var sampleMinute = time.Date(2026, 11, 24, 6, 31, 0, 0, time.UTC)

func at(h, m, s, ms int) time.Time {
	return time.Date(2026, 11, 24, h, m, s, ms*1e6, time.UTC)
}

// poisonRow is an ApiCalls row written around the store, by a script that
// restored yesterday's rows from an export and dropped started_at: its
// INSERT cannot be counted.
func poisonRow(t *testing.T, tables *sample.Tables) {
	t.Helper()
	run := snapkeep.NewRunKey("pol-stark-vol", time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC))
	p := sample.Policy("pol-stark-vol")
	c := sample.Call{Op: snapkeep.OpListSnapshots, Method: "GET", Path: sample.VolumeSnapshotsPath(p.ID, true),
		At: at(7, 30, 4, 811).AddDate(0, 0, -1), Took: 290 * time.Millisecond, Status: 200, Remaining: 4991}.Row()
	c.RunID, c.Seq, c.PolicyID, c.ResourceKey, c.Region, c.AccountID = run.RunID(), 9, p.PolicyID, p.Resource.Key(), p.Region, p.AccountID
	c.ExpiresAt = c.StartedAt.Add(sample.CallTTL).Unix()
	item, err := attributevalue.MarshalMap(c)
	if err != nil {
		t.Fatal(err)
	}
	delete(item, "started_at")
	if _, err := tables.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: ptr(sample.TableName(dynamo.APICalls.LogicalID)), Item: item}); err != nil {
		t.Fatal(err)
	}
}

func ptr(s string) *string { return &s }

// sampleWrites plays the minute: the writes of its runs, and the stream
// batches the mappings deliver of them.
type sampleWrites struct {
	calls1, calls2 []events.DynamoDBEventRecord // ApiCalls, two batches (the second with the poison row)
	runs           []events.DynamoDBEventRecord // Runs, the terminal writes
}

func playMinute(t *testing.T) sampleWrites {
	tables := sample.NewTables(at(0, 0, 0, 0))
	f := sample.NewFleet(t, tables)
	callsSrc := sample.Source(t, "ErrorRateFunction", "ApiCallsStream")
	runsSrc := sample.Source(t, "ErrorRateFunction", "RunsStream")
	slot6, slot630 := at(6, 0, 0, 0), at(6, 30, 0, 0)

	// The night and the hour before: Wayne's 320 GB droplet, claimed late
	// (its deadline is six hours after the claim), Acme's hourly droplet,
	// Globex's cache, whose first request at 06:30 got a Server Error.
	wayne := f.Claim(sample.Policy("pol-wayne-legacy"), at(0, 30, 0, 0), at(0, 31, 4, 610), snapkeep.RunSucceeded, 0)
	wayne.StartDroplet(at(0, 31, 4, 680), 2318611200)
	acme := f.Claim(sample.Policy("pol-acme-web-hourly"), slot6, at(6, 0, 1, 204), snapkeep.RunSucceeded, 2325)
	acme.StartDroplet(at(6, 0, 1, 262), 2318840017)
	cache := f.Claim(sample.Policy("pol-globex-cache-hourly"), slot630, at(6, 30, 11, 366), snapkeep.RunSucceeded, 0)
	cache.Attempt(at(6, 30, 11, 420), sample.ServerError)

	// 06:31:02-06:31:08: Acme's snapshot completed (retention deletes the
	// oldest of 25), Wayne's is still running at its deadline, Umbrella's
	// paused policy fires once more, Initech's volume snapshot is made at
	// once, Vance's token was revoked.
	acme.Follow(at(6, 29, 47, 0), sample.SnapshotID(521), 24, sample.SnapshotID(17))
	wayne.Follow(time.Time{}, "", 0)
	f.Skip(sample.Policy("pol-umbrella-web"), slot630, at(6, 31, 5, 340))
	files := f.Claim(sample.Policy("pol-initech-files"), slot630, at(6, 31, 6, 50), snapkeep.RunSucceeded, 0)
	files.SnapshotVolume(at(6, 31, 6, 90), "9b2f4c1e-aa31-11f1-8c2d-0a58ac14d7e8", 7, "3e5a7c9b-a463-11f1-9f1e-0a58ac14d7e8")
	vance := f.Claim(sample.Policy("pol-vance-files"), slot630, at(6, 31, 7, 800), snapkeep.RunSucceeded, 0)
	vance.FailNow(at(6, 31, 7, 900), sample.Unauthorized)

	// 06:31:12-06:31:14: Hooli's own scripts spent its token's budget;
	// the restored row; Globex's cache gets a Server Error again.
	hooli := f.Claim(sample.Policy("pol-hooli-api"), slot630, at(6, 31, 11, 902), snapkeep.RunSucceeded, 0)
	hooli.Attempt(at(6, 31, 12, 10), sample.RateLimited)
	cache.Attempt(at(6, 31, 12, 912), sample.ServerError)
	tables.Now = at(6, 31, 13, 604) // between Hooli's write and the cache's
	poisonRow(t, tables)

	// The records before the minute went to earlier invocations; the
	// minute's come in two batches (MaximumBatchingWindowInSeconds 5).
	tables.Take(dynamo.APICalls.LogicalID, sampleMinute)
	tables.Take(dynamo.Runs.LogicalID, sampleMinute)
	var w sampleWrites
	w.calls1 = sample.Deliver(t, callsSrc, tables.Take(dynamo.APICalls.LogicalID, at(6, 31, 10, 0)))
	w.runs = sample.Deliver(t, runsSrc, tables.Take(dynamo.Runs.LogicalID, at(6, 31, 10, 0)))
	w.calls2 = sample.Deliver(t, callsSrc, tables.Take(dynamo.APICalls.LogicalID, sampleMinute.Add(time.Minute)))
	return w
}

// sampleHandler is the handler as the local stage wires it, writing its
// window parts to parts.
func sampleHandler(parts partWriter) *Handler {
	return &Handler{Stats: parts, CallsTable: sample.TableName(dynamo.APICalls.LogicalID), RunsTable: sample.TableName(dynamo.Runs.LogicalID), Log: discard}
}

// invokeSample runs ev through the handler as Lambda does (its JSON).
func invokeSample(t *testing.T, h *Handler, ev any) response {
	t.Helper()
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return invokeRaw(t, h, raw)
}

// errorrateSamples builds every sample: name → event. Each window
// invocation carries the state the handler returned for the one before.
func errorrateSamples(t *testing.T, tpl *triggers.Template) map[string]any {
	w := playMinute(t)
	callsSrc := sample.Source(t, "ErrorRateFunction", "ApiCallsStream")
	win := sample.Window(callsSrc, sampleMinute)
	h := sampleHandler(newFakeParts())
	calls := func(recs []events.DynamoDBEventRecord, state json.RawMessage, final bool) sample.WindowEvent {
		if recs == nil {
			recs = []events.DynamoDBEventRecord{}
		}
		return sample.WindowEvent{Records: recs, Window: win, State: state, ShardID: sample.ShardID(dynamo.APICalls.LogicalID, sampleMinute),
			EventSourceARN: sample.StreamARN(dynamo.APICalls.LogicalID), IsFinalInvokeForWindow: final}
	}
	runs := func(recs []events.DynamoDBEventRecord, state json.RawMessage, final bool) sample.WindowEvent {
		ev := calls(recs, state, final)
		ev.ShardID, ev.EventSourceARN = sample.ShardID(dynamo.Runs.LogicalID, sampleMinute), sample.StreamARN(dynamo.Runs.LogicalID)
		return ev
	}
	first := calls(w.calls1, json.RawMessage(`{}`), false)
	poison := calls(w.calls2, invokeSample(t, h, first).State, false)
	final := calls(nil, invokeSample(t, h, poison).State, true)
	runsFirst := runs(w.runs, json.RawMessage(`{}`), false)
	runsFinal := runs(nil, invokeSample(t, h, runsFirst).State, true)
	var evaluate json.RawMessage
	for _, s := range tpl.Schedules {
		if s.Function == "ErrorRateFunction" && s.Event == "Evaluate" {
			evaluate = json.RawMessage(s.Input)
		}
	}
	return map[string]any{
		"api-calls-window.json": first, "api-calls-poison.json": poison, "api-calls-final.json": final,
		"runs-window.json": runsFirst, "runs-final.json": runsFinal, "evaluate.json": evaluate,
	}
}

// windowSample reads a window sample.
func windowSample(t *testing.T, name string) (sample.WindowEvent, []byte) {
	t.Helper()
	var ev sample.WindowEvent
	sample.Decode(t, "errorrate/"+name, &ev)
	return ev, sample.Read(t, "errorrate/"+name)
}

// invokeRaw runs a sample file's bytes through the handler.
func invokeRaw(t *testing.T, h *Handler, raw []byte) response {
	t.Helper()
	out, err := h.Invoke(context.Background(), raw)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	var r response
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return r
}

// sameState says whether two window states are the same JSON object.
func sameState(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}

// TestSampleEvents checks every sample in events/errorrate against the code
// that builds it, then runs the window's invocations in order through the
// handler: each returns the state the next carries, the poison record is
// the one failure reported, and the final invocations write exactly the
// counts of the samples' rows and runs.
func TestSampleEvents(t *testing.T) {
	tpl, err := triggers.ReadTemplate(sample.TemplatePath(t), sample.Stage)
	if err != nil {
		t.Fatal(err)
	}
	built := errorrateSamples(t, tpl)
	names := slices.Sorted(maps.Keys(built))
	for _, name := range names {
		sample.Golden(t, "errorrate/"+name, built[name])
	}
	if got := sample.Files(t, "errorrate"); !slices.Equal(got, names) {
		t.Errorf("events/errorrate holds %v, this test builds %v", got, names)
	}

	t.Run("api calls window", func(t *testing.T) {
		parts := newFakeParts()
		h := sampleHandler(parts)
		first, rawFirst := windowSample(t, "api-calls-window.json")
		poison, rawPoison := windowSample(t, "api-calls-poison.json")
		final, rawFinal := windowSample(t, "api-calls-final.json")
		if r := invokeRaw(t, h, rawFirst); len(r.BatchItemFailures) != 0 || !sameState(r.State, poison.State) || len(parts.calls) != 0 {
			t.Errorf("first batch: failures %+v, state %s (the next batch carries %s), %d items written; want no failure, the next batch's state, nothing written yet",
				r.BatchItemFailures, r.State, poison.State, len(parts.calls))
		}
		poisonSeq := ""
		for _, rec := range poison.Records {
			if _, ok := rec.Change.NewImage["started_at"]; !ok {
				poisonSeq = rec.Change.SequenceNumber
			}
		}
		r := invokeRaw(t, h, rawPoison)
		if len(r.BatchItemFailures) != 1 || r.BatchItemFailures[0].ItemIdentifier != poisonSeq || poisonSeq == "" || !sameState(r.State, final.State) {
			t.Errorf("poison batch: failures %+v, state %s (the final invocation carries %s); want the row without started_at (%s) alone reported, the final's state",
				r.BatchItemFailures, r.State, final.State, poisonSeq)
		}
		if r := invokeRaw(t, h, rawFinal); len(r.BatchItemFailures) != 0 || string(r.State) != `{"v":1}` {
			t.Errorf("final: failures %+v, state %s; want none and a fresh state", r.BatchItemFailures, r.State)
		}
		want := countCalls(t, append(first.Records, poison.Records...))
		if got := parts.totals(); !sameCounts(got, want) {
			t.Errorf("the final invocation wrote %v, want the samples' rows but the poison counted once each: %v", got, want)
		}
		all := want["all@2026-11-24T06:31Z"]
		if all.Calls != 12 || all.Failures != 1 || all.RateLimited != 1 || all.CustomerErrors != 1 {
			t.Errorf("the samples' minute counts %+v; want 12 calls: a Server Error, a 429 and a 401 among them", all)
		}
	})
	t.Run("runs window", func(t *testing.T) {
		parts := newFakeParts()
		h := sampleHandler(parts)
		first, rawFirst := windowSample(t, "runs-window.json")
		final, rawFinal := windowSample(t, "runs-final.json")
		if r := invokeRaw(t, h, rawFirst); len(r.BatchItemFailures) != 0 || !sameState(r.State, final.State) {
			t.Errorf("runs batch: failures %+v, state %s; want none and the final invocation's state %s", r.BatchItemFailures, r.State, final.State)
		}
		invokeRaw(t, h, rawFinal)
		var want errorrate.RunCounts
		for _, rec := range first.Records {
			var run snapkeep.Run
			if err := dynamo.UnmarshalStreamImage(rec.Change.NewImage, &run); err != nil {
				t.Fatal(err)
			}
			want.Record(&run)
		}
		got := parts.runs[sampleMinute.Format(errorrate.MinuteFormat)+"#"+cleanShard(first.ShardID)+"#"+first.Records[0].Change.SequenceNumber]
		if len(parts.runs) != 1 || fmt.Sprint(got) != fmt.Sprint(want) || want.Succeeded != 2 || want.Failed != 1 || want.TimedOut != 1 || want.Skipped != 1 {
			t.Errorf("run parts %v; want one part of the minute with %+v (2 succeeded, a failure, a time-out, a skip)", parts.runs, want)
		}
	})
	t.Run("evaluate", func(t *testing.T) {
		h := sampleHandler(newFakeParts())
		h.Evaluator = &errorrate.Evaluator{Stats: emptyStats{}, Incidents: emptyIncidents{}, Runs: emptyStats{}, Alerts: nil,
			Now: func() time.Time { return sampleMinute.Add(time.Minute) }, Logger: discard}
		out, err := h.Handle(context.Background(), sample.Read(t, "errorrate/evaluate.json"))
		if sum, ok := out.(errorrate.Summary); err != nil || !ok || sum.Dimensions != 1 {
			t.Errorf("evaluate: %+v, %v; want the all dimension evaluated", out, err)
		}
	})
}

// countCalls counts the rows of INSERT records by shared/dynamo's decoding
// of the whole image (not the handler's fast path), skipping the rows
// that cannot be counted: per "dimension@minute".
func countCalls(t *testing.T, recs []events.DynamoDBEventRecord) map[string]errorrate.Counts {
	t.Helper()
	agg := errorrate.NewAggregate()
	for _, rec := range recs {
		var c snapkeep.APICall
		if err := dynamo.UnmarshalStreamImage(rec.Change.NewImage, &c); err != nil {
			t.Fatal(err)
		}
		if c.StartedAt.IsZero() {
			continue
		}
		if err := agg.Add(&c); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]errorrate.Counts{}
	for _, k := range agg.Keys() {
		out[k.String()] = agg.Get(k)
	}
	return out
}

// TestSampleTimes: every record of the samples was written after what it
// records (a call after it ended, a run write at or after its
// updated_at), in its window; a run's rows are numbered up to its
// api_calls.
func TestSampleTimes(t *testing.T) {
	apiCalls := map[string]int{} // run id → highest seq in the samples
	for _, name := range []string{"api-calls-window.json", "api-calls-poison.json"} {
		ev, _ := windowSample(t, name)
		for _, rec := range ev.Records {
			var c snapkeep.APICall
			if err := dynamo.UnmarshalStreamImage(rec.Change.NewImage, &c); err != nil {
				t.Fatal(err)
			}
			apiCalls[c.RunID] = max(apiCalls[c.RunID], c.Seq)
			written := rec.Change.ApproximateCreationDateTime.UTC()
			if end := c.StartedAt.Add(time.Duration(c.DurationMS) * time.Millisecond); !c.StartedAt.IsZero() && written.Before(end.Truncate(time.Second)) {
				t.Errorf("%s: row %s/%d stamped %v, before the call ended at %v", name, c.RunID, c.Seq, written, end)
			}
		}
	}
	ev, _ := windowSample(t, "runs-window.json")
	for _, rec := range ev.Records {
		var run snapkeep.Run
		if err := dynamo.UnmarshalStreamImage(rec.Change.NewImage, &run); err != nil {
			t.Fatal(err)
		}
		written := rec.Change.ApproximateCreationDateTime.UTC()
		if run.FinishedAt == nil || written.Before(run.FinishedAt.Truncate(time.Second)) || written.Before(run.UpdatedAt.Truncate(time.Second)) ||
			written.Sub(run.UpdatedAt) > time.Second || run.ClaimedAt.Before(run.ScheduledAt) || run.FinishedAt.Before(run.ClaimedAt) {
			t.Errorf("run %s: slot %v, claimed %v, finished %v, updated %v, stamped %v; want them in that order, stamped within a second of its write",
				run.RunID, run.ScheduledAt, run.ClaimedAt, run.FinishedAt, run.UpdatedAt, written)
		}
		if seq, ok := apiCalls[run.RunID]; ok && seq > run.APICalls {
			t.Errorf("run %s has %d api calls, but its row %d is in the samples", run.RunID, run.APICalls, seq)
		}
	}
}

// TestEnvFile: events/env.json's ErrorRateFunction settings load and are
// the ones the function reads.
func TestEnvFile(t *testing.T) {
	sample.CheckEnv(t, "ErrorRateFunction", func(getenv func(string) string) error {
		_, err := loadSettings(getenv)
		return err
	})
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
