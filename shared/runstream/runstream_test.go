package runstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"slices"
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
		// The first record of each: a droplet's snapshot found done, a
		// volume's requests failing for the whole slot window.
		{"../../events/errorrate/runs-window.json", snapkeep.RunInProgress, snapkeep.RunSucceeded, "", true},
		{"../../events/notify/run-failed.json", snapkeep.RunClaimed, snapkeep.RunFailed, snapkeep.ClassProviderError, true},
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

func TestHandleStopsAtFirstFailure(t *testing.T) {
	good := loadEvent(t, "../../events/notify/run-failed.json").Records[0]
	good.Change.SequenceNumber = "100"
	bad := good
	bad.Change.SequenceNumber = "200"
	bad.Change.NewImage = map[string]events.DynamoDBAttributeValue{
		"policy_id": events.NewStringAttribute("p"),
		"attempts":  events.NewStringAttribute("not a number"),
	}
	refused := good
	refused.Change.SequenceNumber = "300"
	after := good
	after.Change.SequenceNumber = "400"

	tests := []struct {
		name      string
		records   []events.DynamoDBEventRecord
		refuse    string // sequence number fn fails on
		wantFail  string // "" for none
		wantCalls []string
		wantLog   string
	}{
		{"all good", []events.DynamoDBEventRecord{good, refused, after}, "", "", []string{"100", "300", "400"}, ""},
		{"undecodable record", []events.DynamoDBEventRecord{good, bad, refused, after}, "", "200", []string{"100"}, `decode new image of record`},
		{"refused record", []events.DynamoDBEventRecord{good, refused, after}, "300", "300", []string{"100", "300"}, "downstream refused"},
		{"first record refused", []events.DynamoDBEventRecord{good, refused}, "100", "100", []string{"100"}, "downstream refused"},
		{"empty batch", nil, "", "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			var calls []string
			resp := Handle(context.Background(), log, events.DynamoDBEvent{Records: tt.records},
				func(_ context.Context, _ Change) error {
					n := tt.records[len(calls)].Change.SequenceNumber
					calls = append(calls, n)
					if n == tt.refuse {
						return errors.New("downstream refused")
					}
					return nil
				})
			var got []string
			for _, f := range resp.BatchItemFailures {
				got = append(got, f.ItemIdentifier)
			}
			var want []string
			if tt.wantFail != "" {
				want = []string{tt.wantFail}
			}
			if !slices.Equal(got, want) {
				t.Errorf("failures %v, want %v", got, want)
			}
			if !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("fn saw records %v, want %v (nothing after the first failure)", calls, tt.wantCalls)
			}
			if tt.wantLog != "" && (!bytes.Contains(logs.Bytes(), []byte(tt.wantLog)) || !bytes.Contains(logs.Bytes(), []byte(`"sequence_number":"`+tt.wantFail+`"`))) {
				t.Errorf("log lacks %q and the sequence number:\n%s", tt.wantLog, logs.String())
			}
			b, _ := json.Marshal(resp)
			wantJSON := `{"batchItemFailures":[]}`
			if tt.wantFail != "" {
				wantJSON = `{"batchItemFailures":[{"itemIdentifier":"` + tt.wantFail + `"}]}`
			}
			if string(b) != wantJSON {
				t.Errorf("response JSON %s, want Lambda's shape %s", b, wantJSON)
			}
		})
	}
}
