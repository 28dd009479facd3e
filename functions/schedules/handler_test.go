package main

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/shared/policysync"
)

// fakeSyncer is a Syncer of function fields.
type fakeSyncer struct {
	sync func(ctx context.Context, policyID string) (policysync.Outcome, error)
}

func (f *fakeSyncer) Sync(ctx context.Context, policyID string) (policysync.Outcome, error) {
	return f.sync(ctx, policyID)
}

// record returns a stream record for policyID with the given sequence number.
func record(seq, policyID, eventName string) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{
		EventID:     "ev-" + seq,
		EventName:   eventName,
		EventSource: "aws:dynamodb",
		Change: events.DynamoDBStreamRecord{
			SequenceNumber: seq,
			Keys:           map[string]events.DynamoDBAttributeValue{"policy_id": events.NewStringAttribute(policyID)},
		},
	}
}

func TestHandle(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name       string
		records    []events.DynamoDBEventRecord
		results    map[string]error // policy id -> Sync error
		wantSynced []string
		wantFailed []string // sequence numbers
	}{
		{
			name:       "empty batch",
			wantFailed: []string{},
		},
		{
			name: "all succeed, in order",
			records: []events.DynamoDBEventRecord{
				record("100", "a", "INSERT"), record("101", "b", "INSERT"), record("102", "a", "MODIFY"), record("103", "b", "REMOVE"),
			},
			wantSynced: []string{"a", "b", "a", "b"},
			wantFailed: []string{},
		},
		{
			name: "a failed policy's later records fail unprocessed; other policies go on",
			records: []events.DynamoDBEventRecord{
				record("100", "a", "INSERT"), record("101", "b", "INSERT"), record("102", "a", "MODIFY"),
				record("103", "c", "INSERT"), record("104", "a", "REMOVE"), record("105", "b", "MODIFY"),
			},
			results:    map[string]error{"a": errBoom},
			wantSynced: []string{"a", "b", "c", "b"},
			wantFailed: []string{"100", "102", "104"},
		},
		{
			name: "two policies fail",
			records: []events.DynamoDBEventRecord{
				record("100", "a", "INSERT"), record("101", "b", "INSERT"), record("102", "c", "INSERT"), record("103", "b", "MODIFY"),
			},
			results:    map[string]error{"a": errBoom, "b": errBoom},
			wantSynced: []string{"a", "b", "c"},
			wantFailed: []string{"100", "101", "103"},
		},
		{
			name: "a record without a policy id fails alone",
			records: []events.DynamoDBEventRecord{
				record("100", "a", "INSERT"),
				{EventID: "ev-101", EventName: "INSERT", Change: events.DynamoDBStreamRecord{SequenceNumber: "101"}},
				{EventID: "ev-102", EventName: "INSERT", Change: events.DynamoDBStreamRecord{
					SequenceNumber: "102",
					Keys:           map[string]events.DynamoDBAttributeValue{"policy_id": events.NewNumberAttribute("7")},
				}},
				record("103", "a", "MODIFY"),
			},
			wantSynced: []string{"a", "a"},
			wantFailed: []string{"101", "102"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var synced []string
			h := &Handler{Syncer: &fakeSyncer{sync: func(_ context.Context, id string) (policysync.Outcome, error) {
				synced = append(synced, id)
				if err := tt.results[id]; err != nil {
					return "", fmt.Errorf("sync policy %s: %w", id, err)
				}
				return policysync.OutcomeScheduled, nil
			}}}
			resp, err := h.Handle(context.Background(), events.DynamoDBEvent{Records: tt.records})
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if !reflect.DeepEqual(synced, tt.wantSynced) {
				t.Errorf("synced %q, want %q", synced, tt.wantSynced)
			}
			if got := failedSeqs(resp); !reflect.DeepEqual(got, tt.wantFailed) {
				t.Errorf("failures %q, want %q", got, tt.wantFailed)
			}
		})
	}
}

// An invalid policy is not a failure: the syncer marked it, the batch goes on.
func TestHandleInvalidPolicyDoesNotBlock(t *testing.T) {
	var synced []string
	h := &Handler{Syncer: &fakeSyncer{sync: func(_ context.Context, id string) (policysync.Outcome, error) {
		synced = append(synced, id)
		if id == "bad" {
			return policysync.OutcomeInvalid, nil
		}
		return policysync.OutcomeScheduled, nil
	}}}
	resp, err := h.Handle(context.Background(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		record("1", "bad", "INSERT"), record("2", "good", "INSERT"), record("3", "bad", "MODIFY"),
	}})
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if len(resp.BatchItemFailures) != 0 {
		t.Errorf("failures %q, want none", failedSeqs(resp))
	}
	if strings.Join(synced, ",") != "bad,good,bad" {
		t.Errorf("synced %q", synced)
	}
}

func failedSeqs(resp events.DynamoDBEventResponse) []string {
	seqs := []string{}
	for _, f := range resp.BatchItemFailures {
		seqs = append(seqs, f.ItemIdentifier)
	}
	return seqs
}

// Out of time: the records not reached are reported, not processed.
func TestHandleStopsWhenOutOfTime(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var synced []string
	h := &Handler{Syncer: &fakeSyncer{sync: func(_ context.Context, id string) (policysync.Outcome, error) {
		synced = append(synced, id)
		cancel() // time runs out during the first record
		return policysync.OutcomeScheduled, nil
	}}}
	resp, err := h.Handle(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{
		record("1", "a", "INSERT"), record("2", "b", "INSERT"), record("3", "c", "INSERT"),
	}})
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if strings.Join(synced, ",") != "a" {
		t.Errorf("synced %q, want only a", synced)
	}
	if got := failedSeqs(resp); !reflect.DeepEqual(got, []string{"2", "3"}) {
		t.Errorf("failures %q, want [2 3]", got)
	}
}

// The margin is taken off the invocation's deadline.
func TestHandleReservesDeadlineMargin(t *testing.T) {
	deadline := time.Now().Add(time.Hour)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	h := &Handler{Syncer: &fakeSyncer{sync: func(ctx context.Context, _ string) (policysync.Outcome, error) {
		got, ok := ctx.Deadline()
		if !ok || !got.Equal(deadline.Add(-DeadlineMargin)) {
			t.Errorf("sync deadline = %v, want %v", got, deadline.Add(-DeadlineMargin))
		}
		return policysync.OutcomeUnchanged, nil
	}}}
	if _, err := h.Handle(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{record("1", "a", "INSERT")}}); err != nil {
		t.Fatal(err)
	}
}
