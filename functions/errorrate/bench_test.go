package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// BenchmarkWindowBatch measures what one 1,000-record ApiCalls batch
// costs: the whole invocation as Lambda makes it (the JSON payload through
// Handle: decoding, folding into the window's state, encoding the state),
// followed by the window's final invocation, which writes the Stats items.
// It reports records/s (one core: the handler is single-threaded) and the
// items written per window, which must equal the distinct (dimension,
// minute) keys of the batch, whatever the number of records.
func BenchmarkWindowBatch(b *testing.B) {
	for _, minutes := range []int{1, 5} {
		recs := mixedCalls(1000, minutes)
		keys := len(expected(&testing.T{}, recs))
		win := &events.Window{Start: events.RFC3339EpochTime{Time: testT0}, End: events.RFC3339EpochTime{Time: testT0.Add(time.Minute)}}
		batch, err := json.Marshal(windowEvent{Records: raws(recs), Window: win, State: json.RawMessage(`{}`), ShardID: testShard,
			EventSourceARN: streamARN(testCallsTable)})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("minutes=%d", minutes), func(b *testing.B) {
			parts := newFakeParts()
			h := newTestHandler(parts)
			invoke := h.Invoke // as the Lambda runtime calls it
			ctx := context.Background()
			b.SetBytes(int64(len(batch)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out, err := invoke(ctx, batch)
				if err != nil {
					b.Fatal(err)
				}
				var resp response
				if err := json.Unmarshal(out, &resp); err != nil || len(resp.BatchItemFailures) != 0 {
					b.Fatalf("response %.200s: %v", out, err)
				}
				final, _ := json.Marshal(windowEvent{Window: win, ShardID: testShard, EventSourceARN: streamARN(testCallsTable),
					IsFinalInvokeForWindow: true, State: resp.State})
				if _, err := invoke(ctx, final); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if parts.writes != keys*b.N {
				b.Fatalf("%d items written in %d windows of %d keys, want %d", parts.writes, b.N, keys, keys*b.N)
			}
			b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(parts.writes)/float64(b.N), "writes/window")
		})
	}
}

// BenchmarkRecordByRecord is the fallback path (a batch with a record the
// one-pass decoding cannot read, and every Runs batch): each record
// decoded on its own, then folded.
func BenchmarkRecordByRecord(b *testing.B) {
	recs := raws(mixedCalls(1000, 1))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		st, _ := decodeState(nil)
		for _, raw := range recs {
			rec := decodeRecord(raw, callsStream)
			if err := st.fold(&rec); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "records/s")
}
