package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// TestFastDecodeAgrees checks the fast path against the store's decoding:
// for every record, the attributes counting reads come out as
// shared/dynamo decodes the whole image, and both refuse a started_at
// that is not a time.
func TestFastDecodeAgrees(t *testing.T) {
	recs := mixedCalls(200, 4)
	bare := testCall(1, 0, "", "")
	bare.Region, bare.AccountID, bare.ResourceKey = "", "", ""
	unix := callRecord(900, testCall(2, 0, snapkeep.OpDeleteSnapshot, snapkeep.ClassNetwork))
	unix.Change.NewImage["started_at"] = events.NewNumberAttribute("1795500600")
	recs = append(recs, callRecord(901, bare), unix)
	for i, raw := range raws(recs) {
		fast := decodeRecord(raw, callsStream)
		var full snapkeep.APICall
		if err := dynamo.UnmarshalStreamImage(recs[i].Change.NewImage, &full); err != nil || fast.err != nil {
			t.Fatalf("record %d: full decode %v, fast %v", i, err, fast.err)
		}
		c := fast.call
		if c.RunID != full.RunID || c.Seq != full.Seq || c.ResourceKey != full.ResourceKey || c.Region != full.Region ||
			c.AccountID != full.AccountID || c.Operation != full.Operation || c.Class != full.Class || !c.StartedAt.Equal(full.StartedAt) {
			t.Errorf("record %d: fast %+v\nfull %+v", i, *c, full)
		}
		fo, fd := errorrate.Classify(c)
		wo, wd := errorrate.Classify(&full)
		if fo != wo || len(fd) != len(wd) {
			t.Errorf("record %d: classified %v %v, want %v %v", i, fo, fd, wo, wd)
		}
	}
	poison := poisonRecord(5)
	var full snapkeep.APICall
	fast := decodeRecord(raws([]events.DynamoDBEventRecord{poison})[0], callsStream)
	if err := dynamo.UnmarshalStreamImage(poison.Change.NewImage, &full); err == nil || fast.err == nil || fast.seq != poison.Change.SequenceNumber {
		t.Errorf("poison: full decode %v, fast %v (seq %q); want both refused, the sequence number kept", err, fast.err, fast.seq)
	}
}

// TestBatchWithUndecodableRecord: a record the one-pass decoding cannot
// read (a string attribute holding a number) sends the batch down the
// record-by-record path: it alone is reported, the rest count.
func TestBatchWithUndecodableRecord(t *testing.T) {
	recs := raws(mixedCalls(20, 1))
	bad := strings.Replace(string(recs[7]), `"region":{"S":"`, `"region":{"S":42,"x":"`, 1)
	if bad == string(recs[7]) {
		t.Fatal("the test record has no region to spoil")
	}
	recs[7] = json.RawMessage(bad)
	parts := newFakeParts()
	h := newTestHandler(parts)
	win := &events.Window{Start: events.RFC3339EpochTime{Time: testT0}, End: events.RFC3339EpochTime{Time: testT0.Add(time.Minute)}}
	r, err := invoke(t, h, windowEvent{Records: recs, Window: win, State: json.RawMessage(`{}`), ShardID: testShard,
		EventSourceARN: streamARN(testCallsTable)})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.BatchItemFailures) != 1 || r.BatchItemFailures[0].ItemIdentifier != seqIn(recs[7]) {
		t.Fatalf("failures %+v, want record 7 alone", r.BatchItemFailures)
	}
	var st windowState
	if err := json.Unmarshal(r.State, &st); err != nil || st.Calls.Get(errorrate.Key{Dimension: "all", Minute: testT0}).Calls != 19 {
		t.Errorf("state %s: want the other 19 calls", r.State)
	}
}
