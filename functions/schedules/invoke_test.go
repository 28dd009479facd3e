package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/shared/policysync"
)

// fakeReconciler is a Reconciler of function fields.
type fakeReconciler struct {
	reconcile func(ctx context.Context) (*policysync.Report, error)
}

func (f *fakeReconciler) Reconcile(ctx context.Context) (*policysync.Report, error) {
	return f.reconcile(ctx)
}

// invokeRig is a handler whose syncer and reconciler record being called.
func invokeRig(rep *policysync.Report, err error) (*Handler, *[]string) {
	var calls []string
	return &Handler{
		Syncer: &fakeSyncer{sync: func(_ context.Context, id string) (policysync.Outcome, error) {
			calls = append(calls, "sync "+id)
			return policysync.OutcomeScheduled, nil
		}},
		Reconciler: &fakeReconciler{reconcile: func(context.Context) (*policysync.Report, error) {
			calls = append(calls, "reconcile")
			return rep, err
		}},
	}, &calls
}

func TestInvokeDispatches(t *testing.T) {
	batch, err := json.Marshal(events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{record("7", "pol-a", "INSERT")}})
	if err != nil {
		t.Fatal(err)
	}
	done := &policysync.Report{Complete: true}
	tests := []struct {
		name      string
		input     string
		wantCalls string
		wantErr   string
	}{
		{name: "stream batch", input: string(batch), wantCalls: "sync pol-a"},
		{name: "empty stream batch", input: `{"Records": []}`, wantCalls: ""},
		{name: "reconcile", input: `{"reconcile": true}`, wantCalls: "reconcile"},
		{name: "reconcile false", input: `{"reconcile": false}`, wantErr: "unrecognised input"},
		{name: "sweep input", input: `{"sweep": true}`, wantErr: `want a Policies stream batch`},
		{name: "not an object", input: `[1]`, wantErr: "not a JSON object"},
		{name: "broken batch", input: `{"Records": 3}`, wantErr: "not a DynamoDB stream batch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, calls := invokeRig(done, nil)
			out, err := h.Invoke(context.Background(), json.RawMessage(tt.input))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Invoke(%s) = %v, want an error containing %q", tt.input, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Invoke(%s): %v", tt.input, err)
			}
			if got := strings.Join(*calls, ", "); got != tt.wantCalls {
				t.Errorf("calls %q, want %q", got, tt.wantCalls)
			}
			switch out := out.(type) {
			case events.DynamoDBEventResponse:
				if tt.wantCalls == "reconcile" || len(out.BatchItemFailures) != 0 {
					t.Errorf("response %+v", out)
				}
			case *policysync.Report:
				if out != done {
					t.Errorf("report %+v, want the reconciler's", out)
				}
			default:
				t.Errorf("response of type %T", out)
			}
		})
	}
}

// The stream response keeps Lambda's partial-batch shape.
func TestInvokeStreamResponseShape(t *testing.T) {
	h := &Handler{Syncer: &fakeSyncer{sync: func(context.Context, string) (policysync.Outcome, error) {
		return "", errors.New("boom")
	}}}
	batch, _ := json.Marshal(events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{record("42", "pol-a", "MODIFY")}})
	out, err := h.Invoke(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	if string(b) != `{"batchItemFailures":[{"itemIdentifier":"42"}]}` {
		t.Errorf("response %s", b)
	}
}

func TestReconcileFailsTheInvocationWhenItMust(t *testing.T) {
	boom := errors.New("scan failed")
	tests := []struct {
		name    string
		rep     *policysync.Report
		err     error
		wantErr string
	}{
		{name: "complete", rep: &policysync.Report{Complete: true, Created: policysync.Repairs{Count: 3}}},
		{name: "incomplete", rep: &policysync.Report{Stopped: "time budget used up"}, wantErr: "incomplete (time budget used up)"},
		{name: "a repair failed", rep: &policysync.Report{Complete: true, Failed: policysync.Repairs{Count: 1}, FailedError: "throttled"}, wantErr: "1 of 0 policies could not be repaired (first: throttled)"},
		{name: "could not compare", rep: &policysync.Report{Stopped: "scan failed"}, err: boom, wantErr: "scan failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := invokeRig(tt.rep, tt.err)
			rep, err := h.Reconcile(context.Background())
			if rep != tt.rep {
				t.Errorf("report %+v, want the reconciler's", rep)
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}
