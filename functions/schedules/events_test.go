package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/policysync"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// memPolicies is a Policies table of one moment, for the syncer.
type memPolicies map[string]snapkeep.Policy

func (m memPolicies) Get(_ context.Context, id string) (*snapkeep.Policy, error) {
	p, ok := m[id]
	if !ok {
		return nil, fmt.Errorf("get policy %q: %w", id, snapkeep.ErrNotFound)
	}
	return &p, nil
}

func (m memPolicies) MarkInvalid(_ context.Context, id, reason string) (bool, error) {
	return false, fmt.Errorf("mark policy %q invalid %q: unexpected in this test", id, reason)
}

// recSchedules records what the syncer asked of Scheduler.
type recSchedules struct {
	applied []policysync.ScheduleSpec
	deleted []string
}

func (r *recSchedules) Apply(_ context.Context, spec policysync.ScheduleSpec) (bool, error) {
	r.applied = append(r.applied, spec)
	return true, nil
}

func (r *recSchedules) Delete(_ context.Context, name string) (bool, error) {
	r.deleted = append(r.deleted, name)
	return true, nil
}

// TestSampleEvents runs the sample events for `sam local invoke
// SchedulesFunction -e events/schedules/<file>` through the handler and the
// real syncer, with the table as it stood when each record was written (the
// record's NewImage, or no item for a REMOVE).
func TestSampleEvents(t *testing.T) {
	const policyID = "pol-nightly-web-1"
	tests := []struct {
		file        string
		eventName   string
		wantApplied *policysync.ScheduleSpec
		wantDeleted bool
	}{
		{
			file: "insert.json", eventName: "INSERT",
			wantApplied: &policysync.ScheduleSpec{
				Name: policyID, Expression: "cron(0 3 * * ? *)", TimeZone: "Europe/Berlin",
				FlexibleWindowMinutes: 15, Enabled: true, Input: policysync.TargetInput(policyID),
			},
		},
		{
			file: "modify-pause.json", eventName: "MODIFY",
			wantApplied: &policysync.ScheduleSpec{
				Name: policyID, Expression: "cron(0 3 * * ? *)", TimeZone: "Europe/Berlin",
				FlexibleWindowMinutes: 15, Enabled: false, Input: policysync.TargetInput(policyID),
			},
		},
		{file: "remove.json", eventName: "REMOVE", wantDeleted: true},
	}
	dir := filepath.Join("..", "..", "events", "schedules")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("%s has %d sample events, this test knows %d: add the new ones here", dir, len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var ev events.DynamoDBEvent
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatalf("decode %s: %v", tt.file, err)
			}
			if len(ev.Records) != 1 {
				t.Fatalf("%s has %d records, want 1", tt.file, len(ev.Records))
			}
			rec := ev.Records[0]
			if rec.EventName != tt.eventName || rec.Change.SequenceNumber == "" {
				t.Fatalf("%s: event %q, sequence number %q", tt.file, rec.EventName, rec.Change.SequenceNumber)
			}
			table := memPolicies{}
			if len(rec.Change.NewImage) > 0 {
				var p snapkeep.Policy
				if err := dynamo.UnmarshalStreamImage(rec.Change.NewImage, &p); err != nil {
					t.Fatalf("%s: NewImage: %v", tt.file, err)
				}
				table[p.PolicyID] = p
			}
			if len(rec.Change.OldImage) > 0 {
				var old snapkeep.Policy
				if err := dynamo.UnmarshalStreamImage(rec.Change.OldImage, &old); err != nil {
					t.Fatalf("%s: OldImage: %v", tt.file, err)
				}
			}
			sched := &recSchedules{}
			h := &Handler{Syncer: &policysync.Syncer{Policies: table, Schedules: sched}}
			// Through the Lambda entry point, as `sam local invoke` would.
			out, err := h.Invoke(context.Background(), b)
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			resp, ok := out.(events.DynamoDBEventResponse)
			if !ok {
				t.Fatalf("Invoke returned a %T, want the stream response", out)
			}
			if len(resp.BatchItemFailures) != 0 {
				t.Fatalf("failures: %+v", resp.BatchItemFailures)
			}
			switch {
			case tt.wantApplied != nil:
				if len(sched.applied) != 1 || sched.applied[0] != *tt.wantApplied || len(sched.deleted) != 0 {
					t.Errorf("applied %+v, deleted %q; want applied %+v", sched.applied, sched.deleted, *tt.wantApplied)
				}
			case tt.wantDeleted:
				if len(sched.deleted) != 1 || sched.deleted[0] != policyID || len(sched.applied) != 0 {
					t.Errorf("applied %+v, deleted %q; want %s deleted", sched.applied, sched.deleted, policyID)
				}
			}
		})
	}
}
