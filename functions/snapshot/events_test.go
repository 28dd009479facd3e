package main

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/events/sample"
	"github.com/snapkeep/snapkeep/infra/triggers"
	"github.com/snapkeep/snapkeep/shared/policysync"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/snapshot"
	"github.com/snapkeep/snapkeep/shared/sqsqueue"
)

// The samples in events/snapshot (`sam local invoke SnapshotFunction -e
// events/snapshot/<file> --env-vars events/env.json`) are built here
// (go test ./functions/snapshot -update rewrites them): what EventBridge
// Scheduler, snapctl, the sweep schedule and the follow-up queue's event
// source mapping deliver, on Tuesday 24 November 2026.

// sessionID is the SnapshotFunction role's session as SQS names a sender.
const sessionID = "AROA3X7KQPZ2M5EXAMPLE:snapkeep-local-SnapshotFunction"

// followUp is one queued check: the run, when it is due, when it was sent
// and first received, how often received.
type followUp struct {
	policy         string
	slot, due      time.Time
	sent, received time.Time
	count          int
}

// snapshotSamples builds every sample: name → event.
func snapshotSamples(t *testing.T, tpl *triggers.Template) map[string]any {
	t.Helper()
	const policy = "pol-acme-web-hourly"
	slot := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	scheduled := triggers.Substitute(triggers.Schedule{Name: policy, Group: "snapkeep-" + sample.Stage,
		TargetARN: sample.FunctionARN("SnapshotFunction"), Input: policysync.TargetInput(policy)}, slot, 1)
	ms := func(h, m, s, milli int) time.Time {
		return time.Date(2026, 11, 24, h, m, s, milli*1e6, time.UTC)
	}
	// At 06:31:03 three checks are due in one batch (BatchSize 10,
	// MaximumBatchingWindowInSeconds 1): Acme's 06:00 run (its follow-up
	// sent on early twice, SQS delays at most 15 minutes), Globex's, and
	// Initech's night run, delivered again after the 30-minute visibility
	// timeout (its first check's invocation failed).
	ups := []followUp{
		{policy: policy, slot: slot, due: ms(6, 31, 2, 0), sent: ms(6, 30, 1, 742), received: ms(6, 31, 3, 452), count: 1},
		{policy: "pol-globex-app-hourly", slot: slot, due: ms(6, 31, 3, 0), sent: ms(6, 21, 2, 108), received: ms(6, 31, 3, 452), count: 1},
		{policy: "pol-initech-db", slot: ms(1, 0, 0, 0), due: ms(6, 1, 3, 0), sent: ms(5, 51, 2, 117), received: ms(6, 1, 3, 301), count: 2},
	}
	var batch sample.SQSEvent
	for _, u := range ups {
		body, err := json.Marshal(sqsqueue.Message{PolicyID: u.policy, ScheduledTime: u.slot.Format(snapkeep.SlotTimeFormat), FollowUp: true,
			Due: u.due.Format(time.RFC3339)})
		if err != nil {
			t.Fatal(err)
		}
		batch.Records = append(batch.Records, sample.Message("FollowUpQueue", string(body), sessionID, u.sent, u.received, u.count))
	}
	return map[string]any{
		"scheduled.json":  json.RawMessage(scheduled),
		"on-demand.json":  map[string]string{"policy_id": policy},
		"sweep.json":      json.RawMessage(templateInput(t, tpl, "Sweep")),
		"follow-ups.json": batch,
	}
}

func templateInput(t *testing.T, tpl *triggers.Template, event string) string {
	t.Helper()
	for _, s := range tpl.Schedules {
		if s.Function == "SnapshotFunction" && s.Event == event {
			return s.Input
		}
	}
	t.Fatalf("template.yaml: SnapshotFunction has no schedule %s", event)
	return ""
}

// TestSampleEvents checks every sample in events/snapshot against the code
// that builds it and decodes it as the handler does, unknown fields
// rejected.
func TestSampleEvents(t *testing.T) {
	tpl, err := triggers.ReadTemplate(sample.TemplatePath(t), sample.Stage)
	if err != nil {
		t.Fatal(err)
	}
	built := snapshotSamples(t, tpl)
	var names []string
	for name, ev := range built {
		sample.Golden(t, "snapshot/"+name, ev)
		names = append(names, name)
	}
	slices.Sort(names)
	if got := sample.Files(t, "snapshot"); !slices.Equal(got, names) {
		t.Errorf("events/snapshot holds %v, this test builds %v", got, names)
	}
	for name, want := range map[string]snapshot.Kind{
		"scheduled.json": snapshot.KindScheduled,
		"on-demand.json": snapshot.KindOnDemand,
		"sweep.json":     snapshot.KindSweep,
	} {
		raw := sample.Read(t, "snapshot/"+name)
		if _, ok := sqsBatch(raw); ok {
			t.Errorf("%s reads as a follow-up batch", name)
		}
		req, err := snapshot.DecodeRequest(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if kind, err := req.Kind(); err != nil || kind != want {
			t.Errorf("%s: kind %q, %v; want %q", name, kind, err, want)
		}
	}
	raw, err := os.ReadFile("../../shared/snapshot/testdata/bad-unknown-field.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snapshot.DecodeRequest(raw); !errors.Is(err, snapkeep.ErrInvalid) {
		t.Errorf("a sample with an unknown field decoded: err = %v", err)
	}
}

// TestSampleFollowUps: the follow-up batch is what the FollowUps event
// source mapping delivers (events.SQSEvent, the template's queue and batch
// size), the handler reads it as a batch, and each message is a follow-up
// of the queue's own form, sent before it was due and received after.
func TestSampleFollowUps(t *testing.T) {
	tpl, err := triggers.ReadTemplate(sample.TemplatePath(t), sample.Stage)
	if err != nil {
		t.Fatal(err)
	}
	var src triggers.QueueSource
	for _, q := range tpl.Queues {
		if q.Function == "SnapshotFunction" && q.Event == "FollowUps" {
			src = q
		}
	}
	var ev events.SQSEvent
	sample.Decode(t, "snapshot/follow-ups.json", &ev)
	batch, ok := sqsBatch(sample.Read(t, "snapshot/follow-ups.json"))
	if !ok || len(batch.Records) != len(ev.Records) || len(ev.Records) == 0 || len(ev.Records) > src.BatchSize {
		t.Fatalf("follow-ups.json: read as a batch %v of %d messages (decoded %d); want 1 to the template's %d", ok, len(batch.Records), len(ev.Records), src.BatchSize)
	}
	millis := func(m events.SQSMessage, attr string) time.Time {
		n, err := strconv.ParseInt(m.Attributes[attr], 10, 64)
		if err != nil {
			t.Fatalf("message %s: %s: %v", m.MessageId, attr, err)
		}
		return time.UnixMilli(n).UTC()
	}
	for _, m := range ev.Records {
		if m.EventSource != "aws:sqs" || m.EventSourceARN != sample.QueueARN(src.Queue) || m.AWSRegion != sample.Region {
			t.Errorf("message %s from %s %s (%s), want aws:sqs %s", m.MessageId, m.EventSource, m.EventSourceARN, m.AWSRegion, sample.QueueARN(src.Queue))
		}
		if sum := md5.Sum([]byte(m.Body)); m.Md5OfBody != hex.EncodeToString(sum[:]) {
			t.Errorf("message %s: md5OfBody %s is not its body's", m.MessageId, m.Md5OfBody)
		}
		req, err := snapshot.DecodeRequest(json.RawMessage(m.Body))
		if err != nil {
			t.Fatalf("message %s: %v", m.MessageId, err)
		}
		if kind, err := req.Kind(); err != nil || kind != snapshot.KindQueued {
			t.Errorf("message %s: kind %q, %v; want a queued follow-up", m.MessageId, kind, err)
		}
		due, ok := sqsqueue.DueOf(m.Body)
		sent, received := millis(m, "SentTimestamp"), millis(m, "ApproximateFirstReceiveTimestamp")
		visible := sent.Add(time.Duration(sqsqueue.Delay(due, sent)) * time.Second)
		if !ok || due.After(visible) || received.Before(visible) || received.Sub(visible) > time.Second {
			t.Errorf("message %s: sent %v, due %v (visible %v), first received %v; want it received within a second of its delay", m.MessageId, sent, due, visible, received)
		}
		if n, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"]); n < 1 || n > src.MaxReceiveCount {
			t.Errorf("message %s received %d times; the queue dead-letters after %d", m.MessageId, n, src.MaxReceiveCount)
		}
	}
}

// TestEnvFile: events/env.json's SnapshotFunction settings load and are
// the ones the function reads.
func TestEnvFile(t *testing.T) {
	sample.CheckEnv(t, "SnapshotFunction", func(getenv func(string) string) error {
		_, err := loadEnv(getenv)
		return err
	})
}
