package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/policysync"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// DeadlineMargin is how long before the invocation's deadline Handle stops
// starting work, leaving time to return the partial batch response.
const DeadlineMargin = 3 * time.Second

// Syncer reconciles one policy's schedule with the Policies table
// (*policysync.Syncer implements it).
type Syncer interface {
	Sync(ctx context.Context, policyID string) (policysync.Outcome, error)
}

// Reconciler compares every policy with every schedule and repairs the
// differences (*policysync.Reconciler implements it).
type Reconciler interface {
	Reconcile(ctx context.Context) (*policysync.Report, error)
}

// Handler follows the Policies table's stream and keeps each policy's
// EventBridge Scheduler schedule in step; every period it also reconciles
// the whole table with Scheduler, repairing what the stream missed.
type Handler struct {
	// Syncer does the work for each policy named by a record.
	Syncer Syncer
	// Reconciler does the periodic reconcile.
	Reconciler Reconciler
	// Logger receives a line per failed record; nil discards.
	Logger *slog.Logger
}

// ReconcileInput is what the function's Reconcile schedule sends
// (template.yaml: {"reconcile": true}).
type ReconcileInput struct {
	// Reconcile asks for a reconcile.
	Reconcile bool `json:"reconcile"`
}

// Invoke is the Lambda entry point. A Policies stream batch (an object with
// "Records") goes to Handle, with its partial batch response; the
// Reconcile schedule's input ({"reconcile": true}) goes to Reconcile.
// Anything else is an error naming both.
func (h *Handler) Invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	var in struct {
		Records json.RawMessage `json:"Records"`
		ReconcileInput
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, fmt.Errorf("schedules function: the input is not a JSON object: %w", err)
	}
	switch {
	case in.Records != nil:
		var ev events.DynamoDBEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("schedules function: the input is not a DynamoDB stream batch: %w", err)
		}
		return h.Handle(ctx, ev)
	case in.Reconcile:
		return h.Reconcile(ctx)
	}
	return nil, fmt.Errorf(`schedules function: unrecognised input %s: want a Policies stream batch ({"Records": [...]}) or {"reconcile": true}`,
		snapkeep.Bound(string(raw), 200))
}

// Reconcile runs one reconcile and returns its report (the reconciler
// logs it). The invocation fails when the run could not compare
// everything or a repair failed, so that the function's errors alarm tells
// ops; the next period tries again.
func (h *Handler) Reconcile(ctx context.Context) (*policysync.Report, error) {
	rep, err := h.Reconciler.Reconcile(ctx)
	if err != nil {
		return rep, err
	}
	return rep, rep.Err()
}

// Handle processes a stream batch in order. Each record only names a policy
// (its key); the syncer reconciles that policy from the table, so INSERT,
// MODIFY and REMOVE are handled alike and a replayed record changes nothing.
//
// Failures are reported per record as Lambda's ReportBatchItemFailures
// expects for DynamoDB streams: ItemIdentifier is the record's
// SequenceNumber. Once a policy's record fails, the policy's later records
// in the batch are reported too, without being processed, so that they are
// retried after it, in order; other policies' records go on. (Lambda
// restarts the shard from the lowest reported sequence number, so records
// after it that did succeed are delivered again; they are idempotent.)
// An invalid policy is not a failure: the syncer marks it and the batch
// goes on. Handle itself never returns an error, which would make Lambda
// retry the whole batch.
//
// Work stops shortly before the invocation's deadline (see DeadlineMargin):
// the records not reached are reported as failures, so that Lambda retries
// just those instead of the whole batch after a timeout.
func (h *Handler) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) > 2*DeadlineMargin {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-DeadlineMargin))
		defer cancel()
	}
	resp := events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	failed := map[string]bool{} // policy ids whose earlier record failed
	for _, rec := range ev.Records {
		seq := rec.Change.SequenceNumber
		policyID, err := policyIDOf(rec)
		switch {
		case err != nil:
			// Not a Policies record we can read: report it, so that after
			// its retries it lands in the stream's failure queue for ops.
		case ctx.Err() != nil:
			err = fmt.Errorf("policy %s: not processed: %w", policyID, context.Cause(ctx))
		case failed[policyID]:
			err = fmt.Errorf("policy %s: an earlier record of this policy in the batch failed", policyID)
		default:
			var outcome policysync.Outcome
			outcome, err = h.Syncer.Sync(ctx, policyID)
			if err == nil {
				h.log().DebugContext(ctx, "policies stream record done",
					"policy_id", policyID, "event_name", rec.EventName, "sequence_number", seq, "outcome", string(outcome))
			}
		}
		if err == nil {
			continue
		}
		if policyID != "" {
			failed[policyID] = true
		}
		h.log().ErrorContext(ctx, "policies stream record failed",
			"policy_id", policyID, "event_id", rec.EventID, "event_name", rec.EventName,
			"sequence_number", seq, "error", err.Error())
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: seq})
	}
	return resp, nil
}

// policyIDOf returns the policy id in the record's key.
func policyIDOf(rec events.DynamoDBEventRecord) (string, error) {
	key := dynamo.Policies.PartitionKey.Name
	av, ok := rec.Change.Keys[key]
	if !ok || av.DataType() != events.DataTypeString || av.String() == "" {
		return "", fmt.Errorf("record %s (sequence number %s) has no string key %q", rec.EventID, rec.Change.SequenceNumber, key)
	}
	return av.String(), nil
}

func (h *Handler) log() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}
