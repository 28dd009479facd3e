package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/snapkeep/snapkeep/shared/docloud"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/secrets"
	"github.com/snapkeep/snapkeep/shared/snapshot"
)

// The DigitalOcean adapter is the run service's port.
var _ snapshot.DigitalOcean = (*docloud.Client)(nil)

// clients are the outside world newHandler wires the service to: the AWS
// clients, and for tests a clock, a sleep and DigitalOcean client options.
type clients struct {
	DynamoDB dynamo.Client
	Secrets  secrets.Client
	// Now is the clock; nil means time.Now (tests pass a virtual one).
	Now func() time.Time
	// Sleep waits; nil means a timer (tests pass a virtual one).
	Sleep func(ctx context.Context, d time.Duration) error
	// DigitalOcean adds options to every DigitalOcean client (tests: a
	// fake's transport).
	DigitalOcean []docloud.Option
}

// handler is the Lambda handler.
type handler struct {
	svc *snapshot.Service
	log *slog.Logger
}

// newHandler wires the service from the configuration and clients.
func newHandler(e env, c clients, log *slog.Logger) *handler {
	now := c.Now
	if now == nil {
		now = time.Now
	}
	opts := []docloud.Option{docloud.WithClock(now)}
	if e.BaseURL != "" {
		opts = append(opts, docloud.WithBaseURL(e.BaseURL))
	}
	opts = append(opts, c.DigitalOcean...)
	svc := &snapshot.Service{
		Runs:     &dynamo.RunStore{Client: c.DynamoDB, Table: e.RunsTable, CallsTable: e.CallsTable, LeasesTable: e.LeasesTable, Now: now, Logger: log},
		Policies: &dynamo.PolicyStore{Client: c.DynamoDB, Table: e.PoliciesTable, Now: now},
		Tokens:   &secrets.Store{Client: c.Secrets, Prefix: e.SecretPrefix},
		Connect: func(token string, rec snapshot.Recorder) snapshot.DigitalOcean {
			return docloud.New(token, append([]docloud.Option{docloud.WithRecorder(rec)}, opts...)...)
		},
		Now:    now,
		Sleep:  c.Sleep,
		Log:    log,
		Config: e.Config,
	}
	return &handler{svc: svc, log: log}
}

// Handle decodes the input, runs it and reports the outcome. A malformed
// input or a failed run is not an error (no asynchronous retry); an error
// is returned only when the run's state could not be read or written, so
// that Lambda retries the delivery (a duplicate delivery is harmless).
func (h *handler) Handle(ctx context.Context, raw json.RawMessage) (*snapshot.Outcome, error) {
	out, err := h.svc.Invoke(ctx, raw)
	if err != nil {
		h.log.ErrorContext(ctx, "snapshot invocation failed", "error", err.Error())
		return out, err
	}
	h.log.InfoContext(ctx, "snapshot invocation done", "kind", out.Kind, "run_id", out.RunID, "status", out.Status,
		"action", out.Action, "due", out.Due, "handled", out.Handled, "failed", out.Failed)
	return out, nil
}
