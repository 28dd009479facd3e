package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/notify"
	"github.com/snapkeep/snapkeep/shared/runstream"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Handler is the notify function: a Runs stream batch (the event source
// mapping's filter lets through failures and recoveries only) or the
// periodic trigger's {"tick": true}. The work is shared/notify's.
type Handler struct {
	// Service tells the customers.
	Service *notify.Service
	// Log gets a line per input it refuses.
	Log *slog.Logger
}

// Handle decodes the input and hands it to the service. A stream batch
// answers with the partial batch response (the first record that failed
// for now, from which Lambda delivers the batch again); the tick with
// what it did, and an error when a mailing failed for now (the next tick
// tries again). Any other input is an error saying what was expected.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("notify: input is not a JSON object: want a Runs stream batch or {\"tick\": true}")
	}
	if _, ok := probe["Records"]; ok {
		var ev events.DynamoDBEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("notify: input has Records but is not a DynamoDB stream batch: %w", err)
		}
		return h.Stream(ctx, ev), nil
	}
	var tick struct {
		Tick bool `json:"tick"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tick); err != nil || !tick.Tick {
		h.Log.ErrorContext(ctx, "notify: input refused", "input", snapkeep.Bound(string(raw), 200))
		return nil, fmt.Errorf("notify: want a Runs stream batch or {\"tick\": true}")
	}
	return h.Service.Tick(ctx)
}

// Stream handles one Runs stream batch and reports the first record that
// failed for now.
func (h *Handler) Stream(ctx context.Context, ev events.DynamoDBEvent) events.DynamoDBEventResponse {
	changes := make([]notify.Change, len(ev.Records))
	for i, rec := range ev.Records {
		changes[i] = change(rec)
	}
	resp := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	if i := h.Service.Batch(ctx, changes); i >= 0 {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: ev.Records[i].Change.SequenceNumber})
	}
	return resp
}

// change decodes one record; a record that does not decode keeps what
// can be read of it (its key, its new status) and why.
func change(rec events.DynamoDBEventRecord) notify.Change {
	ch := notify.Change{ID: rec.EventID}
	var key struct {
		PolicyID    string    `dynamodbav:"policy_id"`
		ScheduledAt time.Time `dynamodbav:"scheduled_at"`
	}
	if err := dynamo.UnmarshalStreamImage(rec.Change.Keys, &key); err == nil {
		ch.Key = snapkeep.NewRunKey(key.PolicyID, key.ScheduledAt)
	}
	c, err := runstream.Decode(rec)
	if err != nil {
		ch.Err = err
		if name := badAttribute(rec.Change.NewImage); name != "" {
			ch.Err = fmt.Errorf("attribute %s of the new image: %w", name, err)
		}
		var status struct {
			Status snapkeep.RunStatus `dynamodbav:"status"`
		}
		if dynamo.UnmarshalStreamImage(rec.Change.NewImage, &status) == nil {
			ch.Status = status.Status
		}
		return ch
	}
	ch.Old, ch.New = c.Old, c.New
	if ch.New != nil {
		ch.Key = ch.New.Key()
	}
	return ch
}

// badAttribute names the first attribute (by name) of img that does not
// decode into a run on its own, or "".
func badAttribute(img map[string]events.DynamoDBAttributeValue) string {
	names := make([]string, 0, len(img))
	for name := range img {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		var probe snapkeep.Run
		if dynamo.UnmarshalStreamImage(map[string]events.DynamoDBAttributeValue{name: img[name]}, &probe) != nil {
			return name
		}
	}
	return ""
}
