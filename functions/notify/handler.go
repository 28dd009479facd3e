package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/shared/runstream"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Handler follows the Runs table's stream. For now it logs each run that
// newly failed or timed out, with the plain-language cause of its class;
// sending the customer email through SES is the notify issue's work.
type Handler struct {
	// Log receives one JSON line per failed run.
	Log *slog.Logger
}

// Handle processes one stream batch and reports the records that failed.
func (h *Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	return runstream.Handle(ctx, h.Log, ev, func(ctx context.Context, ch runstream.Change) error {
		if !ch.Finished() || (ch.New.Status != snapkeep.RunFailed && ch.New.Status != snapkeep.RunTimedOut) {
			return nil
		}
		info := ch.New.ErrorClass.Info()
		h.Log.InfoContext(ctx, "run failed, customer to be told",
			"run_id", ch.New.RunID, "customer_id", ch.New.CustomerID,
			"error_class", string(ch.New.ErrorClass), "cause", info.Cause,
			"server_affected", info.ServerAffected)
		return nil
	}), nil
}
