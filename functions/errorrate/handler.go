package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"

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

// Handle routes one invocation: a stream batch (with or without window
// fields) answers with the window state and the records that failed; the
// schedule's {"evaluate": true} with what the evaluation did. Anything
// else is an error saying what was expected.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil || probe == nil {
		return nil, fmt.Errorf("errorrate: input is not a JSON object: want a DynamoDB stream batch or {\"evaluate\": true}")
	}
	if _, ok := probe["Records"]; ok {
		var ev windowEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("errorrate: input has Records but is not a DynamoDB stream batch: %w", err)
		}
		kind, err := h.kindOf(&ev)
		if err != nil {
			return nil, err
		}
		return h.window(ctx, &ev, kind)
	}
	var in struct {
		Evaluate bool `json:"evaluate"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || !in.Evaluate {
		h.Log.ErrorContext(ctx, "errorrate: input refused", "input", snapkeep.Bound(string(raw), 200))
		return nil, fmt.Errorf("errorrate: want a DynamoDB stream batch or {\"evaluate\": true}")
	}
	return h.Evaluator.Evaluate(ctx)
}

// kindOf tells the stream by the table named in its ARN
// (arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>).
func (h *Handler) kindOf(ev *windowEvent) (streamKind, error) {
	arn := ev.EventSourceARN
	if arn == "" && len(ev.Records) > 0 {
		arn = ev.Records[0].EventSourceArn
	}
	switch table := tableOfStream(arn); {
	case table != "" && table == h.CallsTable:
		return callsStream, nil
	case table != "" && table == h.RunsTable:
		return runsStream, nil
	}
	return 0, fmt.Errorf("errorrate: a batch from stream %q, not the %s or %s table's", snapkeep.Bound(arn, 200), h.CallsTable, h.RunsTable)
}

func tableOfStream(arn string) string {
	_, rest, ok := strings.Cut(arn, ":table/")
	if !ok {
		return ""
	}
	table, _, _ := strings.Cut(rest, "/stream/")
	return table
}
