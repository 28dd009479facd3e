package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/shared/runstream"
)

// Handler follows the Runs table's stream. For now it logs each run that
// reaches a terminal status with its error class; the per-minute counts, the
// detector and the ops alert are the errorrate issue's work.
type Handler struct {
	// Log receives one JSON line per finished run.
	Log *slog.Logger
}

// Handle processes one stream batch and reports the records that failed.
func (h *Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	return runstream.Handle(ctx, h.Log, ev, func(ctx context.Context, ch runstream.Change) error {
		if !ch.Finished() {
			return nil
		}
		h.Log.InfoContext(ctx, "run finished",
			"run_id", ch.New.RunID, "status", string(ch.New.Status),
			"error_class", string(ch.New.ErrorClass), "region", ch.New.Region)
		return nil
	}), nil
}
