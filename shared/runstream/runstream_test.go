package runstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func loadEvent(t *testing.T, path string) events.DynamoDBEvent {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return ev
}

func TestDecode(t *testing.T) {
	tests := []struct {
		file         string
		wantOld      snapkeep.RunStatus
		wantNew      snapkeep.RunStatus
		wantClass    snapkeep.ErrorClass
		wantFinished bool
	}{
		{"../../events/errorrate/run-finished.json", snapkeep.RunInProgress, snapkeep.RunSucceeded, "", true},
		{"../../events/notify/run-failed.json", snapkeep.RunInProgress, snapkeep.RunFailed, snapkeep.ClassProviderError, true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ev := loadEvent(t, tt.file)
			ch, err := Decode(ev.Records[0])
			if err != nil {
				t.Fatal(err)
			}
			if ch.Old == nil || ch.New == nil {
				t.Fatalf("want both images, got old=%v new=%v", ch.Old, ch.New)
			}
			if ch.Old.Status != tt.wantOld || ch.New.Status != tt.wantNew {
				t.Errorf("status %s -> %s, want %s -> %s", ch.Old.Status, ch.New.Status, tt.wantOld, tt.wantNew)
			}
			if ch.New.ErrorClass != tt.wantClass {
				t.Errorf("class %q, want %q", ch.New.ErrorClass, tt.wantClass)
			}
			if ch.Finished() != tt.wantFinished {
				t.Errorf("Finished() = %v, want %v", ch.Finished(), tt.wantFinished)
			}
			if got := ch.New.Key().RunID(); got != ch.New.RunID {
				t.Errorf("key run id %q, stored run id %q", got, ch.New.RunID)
			}
		})
	}
}

func TestFinished(t *testing.T) {
	run := func(s snapkeep.RunStatus) *snapkeep.Run { return &snapkeep.Run{Status: s} }
	tests := []struct {
		name     string
		ch       Change
		finished bool
	}{
		{"insert claimed", Change{New: run(snapkeep.RunClaimed)}, false},
		{"insert skipped", Change{New: run(snapkeep.RunSkipped)}, true},
		{"in progress to failed", Change{Old: run(snapkeep.RunInProgress), New: run(snapkeep.RunFailed)}, true},
		{"failed to failed (notified flag set)", Change{Old: run(snapkeep.RunFailed), New: run(snapkeep.RunFailed)}, false},
		{"remove", Change{Old: run(snapkeep.RunFailed)}, false},
	}
	for _, tt := range tests {
		if got := tt.ch.Finished(); got != tt.finished {
			t.Errorf("%s: Finished() = %v, want %v", tt.name, got, tt.finished)
		}
	}
}

func TestHandleReportsFailedRecordsBySequenceNumber(t *testing.T) {
	good := loadEvent(t, "../../events/notify/run-failed.json").Records[0]
	bad := good
	bad.Change.SequenceNumber = "200"
	bad.Change.NewImage = map[string]events.DynamoDBAttributeValue{
		"policy_id": events.NewStringAttribute("p"),
		"attempts":  events.NewStringAttribute("not a number"),
	}
	refused := good
	refused.Change.SequenceNumber = "300"

	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	calls := 0
	resp := Handle(context.Background(), log, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{good, bad, refused}},
		func(_ context.Context, ch Change) error {
			calls++
			if calls == 2 { // the third record: the bad one never reaches fn
				return errors.New("downstream refused")
			}
			return nil
		})
	var got []string
	for _, f := range resp.BatchItemFailures {
		got = append(got, f.ItemIdentifier)
	}
	if len(got) != 2 || got[0] != "200" || got[1] != "300" {
		t.Fatalf("failures %v, want [200 300]", got)
	}
	if calls != 2 {
		t.Errorf("fn called %d times, want 2", calls)
	}
	if !bytes.Contains(logs.Bytes(), []byte("downstream refused")) {
		t.Errorf("log lacks the failure:\n%s", logs.String())
	}
	b, _ := json.Marshal(resp)
	if !bytes.Contains(b, []byte(`"batchItemFailures":[{"itemIdentifier":"200"}`)) {
		t.Errorf("response JSON is not Lambda's shape: %s", b)
	}
}
