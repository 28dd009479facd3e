package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Counting exactly once on the streams: each event source mapping has a
// 60-second tumbling window. The window's state carries the aggregate so
// far and the first and last sequence numbers folded; a record at or
// below the last is skipped (a retried, bisected or re-delivered batch
// never counts twice). On the window's final invocation (and when a
// window is ended early) the aggregate is written as one item per
// (dimension, minute), keyed by minute, shard and the part's first
// sequence number: an idempotent put, so a replayed window writes the
// same items again and the parts of an early-ended window add up.

// windowEvent is a DynamoDB stream batch with the tumbling-window fields
// (events.DynamoDBTimeWindowEvent, but with the state as this function's
// own JSON: Lambda passes any JSON object back). Window is nil for a batch
// without windows (a mapping without TumblingWindowInSeconds, or the
// demo), which is then counted as a window part of its own.
// The records stay raw JSON until each is decoded on its own
// (decodeRecord).
type windowEvent struct {
	Records                 []json.RawMessage `json:"Records"`
	Window                  *events.Window    `json:"window,omitempty"`
	State                   json.RawMessage   `json:"state,omitempty"`
	ShardID                 string            `json:"shardId,omitempty"`
	EventSourceARN          string            `json:"eventSourceARN,omitempty"`
	IsFinalInvokeForWindow  bool              `json:"isFinalInvokeForWindow"`
	IsWindowTerminatedEarly bool              `json:"isWindowTerminatedEarly"`
}

// windowResponse is the answer Lambda reads: the state (always an object:
// without it the invocation counts as failed) and the records that failed.
type windowResponse struct {
	State             *windowState                      `json:"state"`
	BatchItemFailures []events.DynamoDBBatchItemFailure `json:"batchItemFailures"`
}

// stateVersion is the version of windowState's JSON.
const stateVersion = 1

// windowState is what a window carries between invocations.
type windowState struct {
	V int `json:"v,omitempty"`
	// First and Last are the sequence numbers of the first and the last
	// record folded (counted or passed over as not counted).
	First string `json:"first,omitempty"`
	Last  string `json:"last,omitempty"`
	// Calls (ApiCalls stream) or Runs (Runs stream) is the aggregate.
	Calls *errorrate.Aggregate    `json:"calls,omitempty"`
	Runs  *errorrate.RunAggregate `json:"runs,omitempty"`
}

// noShard names the part of a batch delivered without a shard id.
const noShard = "direct"

// streamKind says which table's stream a batch is from.
type streamKind int

const (
	callsStream streamKind = iota + 1
	runsStream
)

func decodeState(raw json.RawMessage) (*windowState, error) {
	st := &windowState{}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, st); err != nil {
			return nil, fmt.Errorf("window state: %w", err)
		}
	}
	switch st.V {
	case 0:
		st = &windowState{V: stateVersion}
	case stateVersion:
	default:
		return nil, fmt.Errorf("window state: version %d, want %d", st.V, stateVersion)
	}
	if st.Calls == nil {
		st.Calls = errorrate.NewAggregate()
	}
	if st.Runs == nil {
		st.Runs = errorrate.NewRunAggregate()
	}
	return st, nil
}

// empty says whether nothing has been folded into st.
func (st *windowState) empty() bool { return st.First == "" }

// window handles one invocation of a windowed stream mapping.
func (h *Handler) window(ctx context.Context, ev *windowEvent, recs []streamRecord, kind streamKind) (*windowResponse, error) {
	st, err := decodeState(ev.State)
	if err != nil {
		return nil, err
	}
	resp := &windowResponse{State: st, BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	for i := range recs {
		rec := &recs[i]
		if err := st.fold(rec); err != nil {
			h.Log.ErrorContext(ctx, "errorrate: stream record cannot be counted; reported as failed (after the retries it goes to the on-failure queue)",
				"event_id", rec.eventID, "sequence_number", rec.seq, "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.seq})
		}
	}
	if ev.Window != nil && !ev.IsFinalInvokeForWindow && !ev.IsWindowTerminatedEarly {
		return resp, nil
	}
	if err := h.writePart(ctx, ev, st, kind); err != nil {
		return nil, err
	}
	if len(resp.BatchItemFailures) == 0 {
		// The window is done: Lambda drops the state. (With failures the
		// state goes back, so the retried records are folded on top of it
		// and the part is written again under the same key.)
		resp.State = &windowState{V: stateVersion}
	}
	return resp, nil
}

// fold counts one decoded record into st, or says why it cannot (its
// image does not decode, or lacks what counting needs). A record at or
// below st.Last was folded before and is passed over; so is one that is
// not counted (not an INSERT of a call row; not the write that finished a
// run), which still moves st.Last.
func (st *windowState) fold(rec *streamRecord) error {
	if rec.err != nil {
		return rec.err
	}
	if rec.seq == "" {
		return fmt.Errorf("record %s has no sequence number", rec.eventID)
	}
	if st.Last != "" && !seqLess(st.Last, rec.seq) {
		return nil
	}
	switch {
	case rec.call != nil:
		if err := st.Calls.Add(rec.call); err != nil {
			return err
		}
	case rec.run != nil:
		if err := st.Runs.Add(rec.run); err != nil {
			return err
		}
	}
	if st.First == "" {
		st.First = rec.seq
	}
	st.Last = rec.seq
	return nil
}

// writePart writes the window part's items and its metric lines.
func (h *Handler) writePart(ctx context.Context, ev *windowEvent, st *windowState, kind streamKind) error {
	if st.empty() {
		return nil
	}
	part := dynamo.Part{Shard: cleanShard(ev.ShardID), FirstSeq: st.First}
	if kind == runsStream {
		if st.Runs.Len() == 0 {
			return nil
		}
		n, err := h.Stats.PutRunParts(ctx, part, st.Runs)
		h.Log.InfoContext(ctx, "errorrate: run counts written", "shard", part.Shard, "first_seq", part.FirstSeq, "items", n)
		return err
	}
	if st.Calls.Len() == 0 {
		return nil
	}
	n, err := h.Stats.PutCallParts(ctx, part, st.Calls)
	if err != nil {
		return err
	}
	h.Log.InfoContext(ctx, "errorrate: call counts written", "shard", part.Shard, "first_seq", part.FirstSeq,
		"items", n, "last_seq", st.Last, "terminated_early", ev.IsWindowTerminatedEarly)
	if err := writeMetrics(h.Metrics, st.Calls); err != nil {
		h.Log.WarnContext(ctx, "errorrate: metric lines not written", "error", err.Error())
	}
	return nil
}

// cleanShard makes a shard id usable in a Stats key (no '#').
func cleanShard(id string) string {
	if id == "" {
		return noShard
	}
	return snapkeep.Bound(strings.ReplaceAll(id, "#", "_"), 128)
}

// seqLess orders stream sequence numbers: decimal strings of any length.
func seqLess(a, b string) bool {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
