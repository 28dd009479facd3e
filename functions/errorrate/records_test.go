package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/events/sample"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Test helpers: stream records as Lambda delivers them, a fake Stats
// writer and a simple stand-in for a windowed event source mapping (the
// integration tests use infra/local's Deliverer instead).

const (
	testCallsTable = "snapkeep-dev-ApiCallsTable"
	testRunsTable  = "snapkeep-dev-RunsTable"
	testShard      = "shardId-00000001795500000000-0a1b2c3d"
)

func streamARN(table string) string {
	return "arn:aws:dynamodb:us-east-1:123456789012:table/" + table + "/stream/2026-11-24T00:00:00.000"
}

var discard = slog.New(slog.DiscardHandler)

func seqOf(n int) string { return fmt.Sprintf("%021d", 4000000000000000000+n) }

// callRecord is the INSERT of an ApiCalls row.
func callRecord(n int, c snapkeep.APICall) events.DynamoDBEventRecord {
	item, err := attributevalue.MarshalMap(c)
	if err != nil {
		panic(err)
	}
	return events.DynamoDBEventRecord{
		AWSRegion: "us-east-1", EventID: fmt.Sprintf("ev-%d", n), EventName: "INSERT", EventSource: "aws:dynamodb",
		EventVersion: "1.1", EventSourceArn: streamARN(testCallsTable),
		Change: events.DynamoDBStreamRecord{
			ApproximateCreationDateTime: events.SecondsEpochTime{Time: c.StartedAt.Truncate(time.Second).Add(time.Second)},
			Keys:                        sample.Image(map[string]types.AttributeValue{"run_id": item["run_id"], "seq": item["seq"]}),
			NewImage:                    sample.Image(item), SequenceNumber: seqOf(n), SizeBytes: 400, StreamViewType: "NEW_IMAGE",
		},
	}
}

// poisonRecord is an ApiCalls INSERT whose image does not decode: its
// started_at is not a time.
func poisonRecord(n int) events.DynamoDBEventRecord {
	r := callRecord(n, testCall(0, 0, snapkeep.OpGetAction, ""))
	r.Change.NewImage["started_at"] = events.NewStringAttribute("yesterday at noon")
	return r
}

// runRecord is the MODIFY of a run from old to new.
func runRecord(n int, old, cur *snapkeep.Run) events.DynamoDBEventRecord {
	img := func(r *snapkeep.Run) map[string]events.DynamoDBAttributeValue {
		item, err := attributevalue.MarshalMap(r)
		if err != nil {
			panic(err)
		}
		return sample.Image(item)
	}
	return events.DynamoDBEventRecord{
		AWSRegion: "us-east-1", EventID: fmt.Sprintf("run-ev-%d", n), EventName: "MODIFY", EventSource: "aws:dynamodb",
		EventVersion: "1.1", EventSourceArn: streamARN(testRunsTable),
		Change: events.DynamoDBStreamRecord{
			OldImage: img(old), NewImage: img(cur), SequenceNumber: seqOf(n), StreamViewType: "NEW_AND_OLD_IMAGES",
		},
	}
}

var testT0 = time.Date(2026, 11, 24, 6, 10, 0, 0, time.UTC)

// testCall is call i of minute m, with class.
func testCall(i, m int, op snapkeep.Operation, class snapkeep.ErrorClass) snapkeep.APICall {
	res := fmt.Sprintf("droplet:%d", 3164440+i%7)
	c := snapkeep.APICall{RunID: fmt.Sprintf("pol-%d#2026-11-24T06:00:00Z", i%7), Seq: i + 1, PolicyID: fmt.Sprintf("pol-%d", i%7),
		ResourceKey: res, Region: []string{"nyc3", "ams3", "fra1"}[i%3], AccountID: fmt.Sprintf("acct-%d", i%5),
		Host: "api.digitalocean.com", Operation: op, Attempt: 1, Method: "GET", Path: "/v2/actions/1",
		StartedAt: testT0.Add(time.Duration(m)*time.Minute + time.Duration(i%50)*time.Second), DurationMS: 120, Class: class}
	if class != "" {
		c.StatusCode, c.ErrorID, c.ErrorMessage, c.FailureHour = 500, "server_error", "Server Error", c.StartedAt.Format(snapkeep.FailureHourFormat)
	} else {
		c.StatusCode = 200
	}
	// The headers a row records (what most of its bytes are).
	reqID := fmt.Sprintf("5f3e%04x-9c1d-4b7a-8e2f-%012x", i, i*7919)
	c.ProviderRequestID = reqID
	c.RequestHeaders = map[string]string{"authorization": snapkeep.Redacted, "user-agent": "snapkeep/1.0 godo/1.236.0",
		"accept": "application/json", "content-type": "application/json"}
	c.ResponseHeaders = map[string]string{
		"date": c.StartedAt.Format(time.RFC1123), "content-type": "application/json; charset=utf-8",
		"ratelimit-limit": "5000", "ratelimit-remaining": fmt.Sprint(4999 - i%4000), "ratelimit-reset": "1795500000",
		"x-request-id": reqID, "cf-ray": fmt.Sprintf("8e%014x-EWR", i), "server": "cloudflare",
		"cache-control": "max-age=0, private, must-revalidate", "vary": "Accept-Encoding",
		"x-content-type-options": "nosniff", "x-frame-options": "SAMEORIGIN", "strict-transport-security": "max-age=31536000",
	}
	return c
}

// mixedCalls is n calls over minutes 0..minutes-1: mostly successes, every
// 13th a Server Error on snapshot_droplet, every 17th a 429.
func mixedCalls(n, minutes int) []events.DynamoDBEventRecord {
	recs := make([]events.DynamoDBEventRecord, n)
	for i := range recs {
		op, class := snapkeep.OpGetAction, snapkeep.ErrorClass("")
		switch {
		case i%13 == 0:
			op, class = snapkeep.OpSnapshotDroplet, snapkeep.ClassProviderError
		case i%17 == 0:
			class = snapkeep.ClassRateLimited
		case i%3 == 0:
			op = snapkeep.OpListSnapshots
		}
		recs[i] = callRecord(i+1, testCall(i, i*minutes/n, op, class))
	}
	return recs
}

// fakeParts is the Stats writer: one entry per item key, as DynamoDB
// keeps them (a put under the same key replaces).
type fakeParts struct {
	mu     sync.Mutex
	calls  map[string]errorrate.Counts
	runs   map[string]errorrate.RunCounts
	writes int
	fail   error
}

func newFakeParts() *fakeParts {
	return &fakeParts{calls: map[string]errorrate.Counts{}, runs: map[string]errorrate.RunCounts{}}
}

func (p *fakeParts) PutCallParts(_ context.Context, part dynamo.Part, agg *errorrate.Aggregate) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return 0, p.fail
	}
	for _, k := range agg.Keys() {
		p.calls[k.String()+"#"+part.Shard+"#"+part.FirstSeq] = agg.Get(k)
		p.writes++
	}
	return agg.Len(), nil
}

func (p *fakeParts) PutRunParts(_ context.Context, part dynamo.Part, agg *errorrate.RunAggregate) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range agg.Minutes() {
		p.runs[m.Format(errorrate.MinuteFormat)+"#"+part.Shard+"#"+part.FirstSeq] = agg.Get(m)
		p.writes++
	}
	return agg.Len(), nil
}

// totals sums the call parts per "dimension@minute".
func (p *fakeParts) totals() map[string]errorrate.Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]errorrate.Counts{}
	for k, c := range p.calls {
		key, _, _ := strings.Cut(k, "#")
		sum := out[key]
		sum.Add(c)
		out[key] = sum
	}
	return out
}

func newTestHandler(parts partWriter) *Handler {
	return &Handler{Stats: parts, CallsTable: testCallsTable, RunsTable: testRunsTable, Log: discard}
}

// response is a window invocation's answer as Lambda reads it.
type response struct {
	State             json.RawMessage                   `json:"state"`
	BatchItemFailures []events.DynamoDBBatchItemFailure `json:"batchItemFailures"`
}

// invoke sends ev through Handle as JSON, as Lambda does.
func invoke(t testing.TB, h *Handler, ev windowEvent) (response, error) {
	t.Helper()
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.Handle(context.Background(), raw)
	if err != nil {
		return response{}, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	var r response
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("response %s: %v", b, err)
	}
	return r, nil
}

// mapping stands in for a windowed event source mapping: it delivers one
// window's records in batches of size, each with the state the last
// successful invocation returned, retries from the lowest reported
// failure (at most retries times, then moves past the batch), and ends
// with the final invocation. It returns the sequence numbers given up.
type mapping struct {
	t       testing.TB
	h       *Handler
	size    int
	retries int
	arn     string
}

func (m mapping) window(recs []events.DynamoDBEventRecord) (gaveUp []string) {
	m.t.Helper()
	return m.windowRaw(raws(recs))
}

// windowRaw is window over records as raw JSON.
func (m mapping) windowRaw(recs []json.RawMessage) (gaveUp []string) {
	m.t.Helper()
	win := &events.Window{Start: events.RFC3339EpochTime{Time: testT0}, End: events.RFC3339EpochTime{Time: testT0.Add(time.Minute)}}
	state := json.RawMessage(`{}`)
	call := func(batch []json.RawMessage, final bool) response {
		ev := windowEvent{Records: batch, Window: win, State: state, ShardID: testShard, EventSourceARN: m.arn, IsFinalInvokeForWindow: final}
		r, err := invoke(m.t, m.h, ev)
		if err != nil {
			m.t.Fatalf("invoke: %v", err)
		}
		return r
	}
	for start := 0; start < len(recs); start += m.size {
		batch := recs[start:min(start+m.size, len(recs))]
		for try := 0; ; try++ {
			r := call(batch, false)
			state = r.State
			if len(r.BatchItemFailures) == 0 {
				break
			}
			at := indexOf(batch, r.BatchItemFailures[0].ItemIdentifier)
			if try == m.retries {
				for _, rec := range batch[at:] {
					gaveUp = append(gaveUp, seqIn(rec))
				}
				break
			}
			batch = batch[at:]
		}
	}
	if r := call(nil, true); len(r.BatchItemFailures) != 0 || string(r.State) != `{"v":1}` {
		m.t.Fatalf("final invocation answered %+v, want no failures and a fresh state", r)
	}
	return gaveUp
}

func indexOf(recs []json.RawMessage, seq string) int {
	for i, r := range recs {
		if seqIn(r) == seq {
			return i
		}
	}
	panic("no record " + seq)
}

// seqIn is a raw record's sequence number.
func seqIn(raw json.RawMessage) string {
	var k recordKey
	if err := json.Unmarshal(raw, &k); err != nil {
		panic(err)
	}
	return k.Change.SequenceNumber
}

// raws is recs as the raw JSON Lambda sends.
func raws(recs []events.DynamoDBEventRecord) []json.RawMessage {
	out := make([]json.RawMessage, len(recs))
	for i, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			panic(err)
		}
		out[i] = b
	}
	return out
}
