package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Handler is the errorrate function. Its three triggers (template.yaml's
// ErrorRateFunction): the ApiCalls stream (every DigitalOcean HTTP
// attempt, INSERTs only) and the Runs stream (the writes that make a run
// terminal), each in 60-second tumbling windows counted exactly once into
// the Stats table; and the one-minute schedule's {"evaluate": true}, which
// steps the detectors, opens and resolves incidents and alerts ops.
type Handler struct {
	// Stats writes the window parts.
	Stats partWriter
	// Evaluator is the minute evaluation.
	Evaluator *errorrate.Evaluator
	// CallsTable and RunsTable are the tables' names: a batch's
	// eventSourceARN says which stream it is from.
	CallsTable, RunsTable string
	// Metrics gets the EMF lines (stdout in Lambda); nil writes none.
	Metrics io.Writer
	// Log gets the function's log lines.
	Log *slog.Logger
}

// partWriter is the part of dynamo.StatsStore the stream windows write to.
type partWriter interface {
	PutCallParts(ctx context.Context, part dynamo.Part, agg *errorrate.Aggregate) (int, error)
	PutRunParts(ctx context.Context, part dynamo.Part, agg *errorrate.RunAggregate) (int, error)
}

var _ partWriter = (*dynamo.StatsStore)(nil)

// Invoke is the handler as the Lambda runtime calls it (lambda.Handler):
// the payload's bytes in, the response's out, without a decoding pass of
// the runtime's own (a 1,000-record batch is about 2 MB of JSON).
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	out, err := h.Handle(ctx, payload)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// fastEvent is a batch decoded in one pass as an ApiCalls batch: each
// record's ids and counted attributes, nothing else (see image.go).
type fastEvent struct {
	Records                 []leanCall      `json:"Records"`
	Window                  *events.Window  `json:"window"`
	State                   json.RawMessage `json:"state"`
	ShardID                 string          `json:"shardId"`
	EventSourceARN          string          `json:"eventSourceARN"`
	IsFinalInvokeForWindow  bool            `json:"isFinalInvokeForWindow"`
	IsWindowTerminatedEarly bool            `json:"isWindowTerminatedEarly"`
	Evaluate                *bool           `json:"evaluate"`
}

// Handle routes one invocation: a stream batch (with or without window
// fields) answers with the window state and the records that failed; the
// schedule's {"evaluate": true} with what the evaluation did. Anything
// else is an error saying what was expected.
//
// An ApiCalls batch is decoded in one pass (fastEvent). A Runs batch, or
// one with a record the fast pass cannot read, is decoded again record by
// record, so that a bad record fails alone.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var fast fastEvent
	ferr := json.Unmarshal(raw, &fast)
	isBatch := fast.Records != nil || fast.Window != nil // a final invocation may have no records
	switch {
	case isBatch && fast.Evaluate == nil:
		meta := &windowEvent{Window: fast.Window, State: fast.State, ShardID: fast.ShardID, EventSourceARN: fast.EventSourceARN,
			IsFinalInvokeForWindow: fast.IsFinalInvokeForWindow, IsWindowTerminatedEarly: fast.IsWindowTerminatedEarly}
		if meta.EventSourceARN == "" && len(fast.Records) > 0 {
			meta.EventSourceARN = fast.Records[0].EventSourceARN
		}
		kind, err := h.kindOf(meta)
		if err != nil {
			return nil, err
		}
		if ferr == nil && kind == callsStream {
			recs := make([]streamRecord, len(fast.Records))
			for i := range fast.Records {
				recs[i] = fast.Records[i].record()
			}
			return h.window(ctx, meta, recs, kind)
		}
		return h.slowBatch(ctx, raw, kind)
	case ferr == nil && fast.Evaluate != nil:
		var tick struct {
			Evaluate bool `json:"evaluate"`
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&tick); err == nil && tick.Evaluate {
			return h.Evaluator.Evaluate(ctx)
		}
	}
	h.Log.ErrorContext(ctx, "errorrate: input refused", "input", snapkeep.Bound(string(raw), 200))
	return nil, fmt.Errorf("errorrate: want a DynamoDB stream batch or {\"evaluate\": true}")
}

// slowBatch decodes the batch with its records as raw JSON, then each
// record on its own.
func (h *Handler) slowBatch(ctx context.Context, raw json.RawMessage, kind streamKind) (any, error) {
	var ev windowEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("errorrate: a DynamoDB stream batch that does not decode: %w", err)
	}
	recs := make([]streamRecord, len(ev.Records))
	for i, r := range ev.Records {
		recs[i] = decodeRecord(r, kind)
	}
	return h.window(ctx, &ev, recs, kind)
}

// kindOf tells the stream by the table named in its ARN
// (arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>).
func (h *Handler) kindOf(ev *windowEvent) (streamKind, error) {
	switch table := tableOfStream(ev.EventSourceARN); {
	case table != "" && table == h.CallsTable:
		return callsStream, nil
	case table != "" && table == h.RunsTable:
		return runsStream, nil
	}
	return 0, fmt.Errorf("errorrate: a batch from stream %q, not the %s or %s table's", snapkeep.Bound(ev.EventSourceARN, 200), h.CallsTable, h.RunsTable)
}

func tableOfStream(arn string) string {
	_, rest, ok := strings.Cut(arn, ":table/")
	if !ok {
		return ""
	}
	table, _, _ := strings.Cut(rest, "/stream/")
	return table
}
