// Package runstream turns a Runs table stream batch (as Lambda delivers it)
// into run changes for the functions that follow the Runs stream (errorrate,
// notify), and reports partial batch failures in Lambda's own shape.
package runstream

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Change is one Runs stream record decoded: the run before and after the
// write. Old is nil for an INSERT, New is nil for a REMOVE.
type Change struct {
	// EventName is INSERT, MODIFY or REMOVE.
	EventName string
	// Old is the run before the write.
	Old *snapkeep.Run
	// New is the run after the write.
	New *snapkeep.Run
}

// Finished reports whether this write is the one that made the run
// terminal: the new image is terminal and the old one was not. Replays of
// later writes (for example setting Notified) are therefore not counted
// twice.
func (c Change) Finished() bool {
	if c.New == nil || !c.New.Status.Terminal() {
		return false
	}
	return c.Old == nil || !c.Old.Status.Terminal()
}

// Decode converts one stream record into a Change.
func Decode(rec events.DynamoDBEventRecord) (Change, error) {
	ch := Change{EventName: rec.EventName}
	if len(rec.Change.OldImage) > 0 {
		ch.Old = new(snapkeep.Run)
		if err := dynamo.UnmarshalStreamImage(rec.Change.OldImage, ch.Old); err != nil {
			return Change{}, fmt.Errorf("decode old image of record %s: %w", rec.EventID, err)
		}
	}
	if len(rec.Change.NewImage) > 0 {
		ch.New = new(snapkeep.Run)
		if err := dynamo.UnmarshalStreamImage(rec.Change.NewImage, ch.New); err != nil {
			return Change{}, fmt.Errorf("decode new image of record %s: %w", rec.EventID, err)
		}
	}
	return ch, nil
}

// Handle decodes each record of the batch in order and passes it to fn. At
// the first record that fails to decode or whose fn fails, it stops and
// reports that record's sequence number, as Lambda's ReportBatchItemFailures
// expects for a stream: Lambda checkpoints the records before it and
// delivers the batch again from the failed one. The records after it are
// not processed out of order ahead of it; they come again with the retry.
// Every record can still be delivered more than once, so fn must be
// idempotent.
func Handle(ctx context.Context, log *slog.Logger, ev events.DynamoDBEvent, fn func(context.Context, Change) error) events.DynamoDBEventResponse {
	resp := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	for i, rec := range ev.Records {
		ch, err := Decode(rec)
		if err == nil {
			err = fn(ctx, ch)
		}
		if err != nil {
			log.ErrorContext(ctx, "runs stream record failed; the batch is retried from it",
				"event_id", rec.EventID, "sequence_number", rec.Change.SequenceNumber,
				"unprocessed", len(ev.Records)-i, "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures,
				events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
			return resp
		}
	}
	return resp
}
