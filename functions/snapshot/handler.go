package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/shared/docloud"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/secrets"
	"github.com/snapkeep/snapkeep/shared/snapshot"
	"github.com/snapkeep/snapkeep/shared/sqsqueue"
)

// The DigitalOcean adapter is the run service's port.
var _ snapshot.DigitalOcean = (*docloud.Client)(nil)

// clients are the outside world newHandler wires the service to: the AWS
// clients, and for tests a clock, a sleep and DigitalOcean client options.
type clients struct {
	DynamoDB dynamo.Client
	Secrets  secrets.Client
	// SQS sends the follow-ups (when the configuration names a queue).
	SQS sqsqueue.Client
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
	if e.FollowUpQueueURL != "" {
		svc.FollowUps = &sqsqueue.FollowUps{Client: c.SQS, QueueURL: e.FollowUpQueueURL, Now: now, NoDelay: e.FollowUpNoDelay}
	}
	return &handler{svc: svc, log: log}
}

// Handle decodes the input, runs it and reports the outcome. The input is
// one of the run service's forms (shared/snapshot.Request), or a batch of
// follow-ups from the SQS queue (events.SQSEvent), answered with the
// messages that failed (partial batch response). A malformed input or a
// failed run is not an error (no asynchronous retry); an error is returned
// only when the run's state could not be read or written, so that Lambda
// retries the delivery (a duplicate delivery is harmless).
func (h *handler) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	if batch, ok := sqsBatch(raw); ok {
		return h.handleQueue(ctx, batch), nil
	}
	return h.Invoke(ctx, raw)
}

// Invoke runs one input of the run service's forms and logs its outcome.
func (h *handler) Invoke(ctx context.Context, raw json.RawMessage) (*snapshot.Outcome, error) {
	out, err := h.svc.Invoke(ctx, raw)
	if err != nil {
		h.log.ErrorContext(ctx, "snapshot invocation failed", "error", err.Error())
		return out, err
	}
	h.log.InfoContext(ctx, "snapshot invocation done", "kind", out.Kind, "run_id", out.RunID, "status", out.Status,
		"action", out.Action, "due", out.Due, "handled", out.Handled, "failed", out.Failed, "unhandled", out.Unhandled)
	return out, nil
}

// sqsBatch reads raw as an SQS event, if it is one.
func sqsBatch(raw json.RawMessage) (events.SQSEvent, bool) {
	var probe struct {
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
	}
	if json.Unmarshal(raw, &probe) != nil || len(probe.Records) == 0 || probe.Records[0].EventSource != "aws:sqs" {
		return events.SQSEvent{}, false
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return events.SQSEvent{}, false
	}
	return ev, true
}

// queueConcurrency is how many follow-ups of one batch are worked on at
// once.
const queueConcurrency = 10

// handleQueue runs each follow-up of the batch and reports the ones whose
// run could not be read or written, for SQS to deliver again.
func (h *handler) handleQueue(ctx context.Context, batch events.SQSEvent) events.SQSEventResponse {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, queueConcurrency)
	for _, m := range batch.Records {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out, err := h.svc.Invoke(ctx, json.RawMessage(m.Body))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				h.log.ErrorContext(ctx, "follow-up failed; SQS delivers it again", "message_id", m.MessageId, "error", err.Error())
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				return
			}
			h.log.InfoContext(ctx, "follow-up done", "message_id", m.MessageId, "run_id", out.RunID, "status", out.Status, "action", out.Action)
		}()
	}
	wg.Wait()
	return resp
}
