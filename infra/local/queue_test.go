package local_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/snapkeep/snapkeep/infra/local"
	"github.com/snapkeep/snapkeep/shared/sqsqueue"
)

const (
	fakeQueueURL = "https://sqs.us-east-1.amazonaws.com/123456789012/follow-ups"
	fakeDLQURL   = "https://sqs.us-east-1.amazonaws.com/123456789012/follow-ups-dlq"
)

// fakeQueue is an SQS queue with a dead-letter queue: what is sent to
// the queue is visible at once (the local senders send undelayed).
type fakeQueue struct {
	visible []types.Message
	sent    int
	deleted []string   // receipt handles
	dead    []delivery // bodies sent to the dead-letter queue, and when
	// since is the virtual time since the test's start.
	since func() time.Duration
	// failAt makes the nth call (from 1) of an operation ("send" to the
	// dead-letter queue, "delete") fail, once; calls counts them.
	failAt, calls map[string]int
}

// failing says whether this call of op is the one failAt fails.
func (f *fakeQueue) failing(op string) error {
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[op]++
	if f.failAt[op] == f.calls[op] {
		return fmt.Errorf("%s %d: moto is down", op, f.calls[op])
	}
	return nil
}

func (f *fakeQueue) ReceiveMessage(_ context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	n := min(int(in.MaxNumberOfMessages), len(f.visible))
	out := &sqs.ReceiveMessageOutput{Messages: f.visible[:n:n]}
	f.visible = f.visible[n:]
	return out, nil
}

func (f *fakeQueue) DeleteMessage(_ context.Context, in *sqs.DeleteMessageInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	if err := f.failing("delete"); err != nil {
		return nil, err
	}
	if slices.Contains(f.deleted, aws.ToString(in.ReceiptHandle)) {
		return nil, fmt.Errorf("receipt %s deleted twice", aws.ToString(in.ReceiptHandle))
	}
	f.deleted = append(f.deleted, aws.ToString(in.ReceiptHandle))
	return &sqs.DeleteMessageOutput{}, nil
}

func (f *fakeQueue) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	switch aws.ToString(in.QueueUrl) {
	case fakeDLQURL:
		if err := f.failing("send"); err != nil {
			return nil, err
		}
		f.dead = append(f.dead, delivery{body: aws.ToString(in.MessageBody), at: f.since()})
	case fakeQueueURL:
		if in.DelaySeconds != 0 {
			return nil, fmt.Errorf("sent with DelaySeconds %d: the local senders send undelayed", in.DelaySeconds)
		}
		f.sent++
		id := fmt.Sprintf("m%d", f.sent)
		f.visible = append(f.visible, types.Message{MessageId: aws.String(id), ReceiptHandle: aws.String("r-" + id), Body: in.MessageBody})
	default:
		return nil, fmt.Errorf("no queue %s", aws.ToString(in.QueueUrl))
	}
	return &sqs.SendMessageOutput{}, nil
}

// delivery is one message handed to the function, at a virtual time
// (an offset from the test's start).
type delivery struct {
	body     string
	at       time.Duration
	receives string
}

func (d delivery) String() string { return fmt.Sprintf("%s at +%s", d.body, d.at) }

// queueRig is a QueueDeliverer on a fakeQueue; its function records every
// delivery and fails the messages handle refuses.
type queueRig struct {
	t          *testing.T
	start, now time.Time
	fq         *fakeQueue
	q          *local.QueueDeliverer
	got        []delivery
	// handle says whether the function handles a message now (false:
	// it fails); nil handles all.
	handle func(body string, now time.Time) bool
	// failWholeBatch makes a refused message fail the invocation (a
	// function error) instead of being listed in batchItemFailures.
	failWholeBatch bool
}

func newQueueRig(t *testing.T, cfg local.QueueConfig) *queueRig {
	t.Helper()
	r := &queueRig{t: t, start: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC), fq: &fakeQueue{}}
	r.now = r.start
	r.fq.since = func() time.Duration { return r.now.Sub(r.start) }
	cfg.Client, cfg.QueueURL, cfg.QueueARN = r.fq, fakeQueueURL, "arn:aws:sqs:us-east-1:123456789012:follow-ups"
	cfg.Invoke = func(_ context.Context, payload []byte) ([]byte, error) {
		var ev events.SQSEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, err
		}
		var resp events.SQSEventResponse
		for _, m := range ev.Records {
			r.got = append(r.got, delivery{body: m.Body, at: r.now.Sub(r.start), receives: m.Attributes["ApproximateReceiveCount"]})
			if r.handle != nil && !r.handle(m.Body, r.now) {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
		}
		if r.failWholeBatch && len(resp.BatchItemFailures) > 0 {
			return nil, errors.New("function error")
		}
		return json.Marshal(resp)
	}
	q, err := local.NewQueue(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.q = q
	return r
}

func (r *queueRig) send(body string) {
	r.t.Helper()
	if _, err := r.fq.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(fakeQueueURL), MessageBody: aws.String(body)}); err != nil {
		r.t.Fatal(err)
	}
}

func (r *queueRig) tick(at time.Time) {
	r.t.Helper()
	r.now = at
	if err := r.q.Tick(context.Background(), at); err != nil {
		r.t.Fatalf("Tick at +%s: %v", at.Sub(r.start), err)
	}
}

// play ticks at the start and then at every time NextDue reports, up to
// limit after the start, and a second before each of those times (when
// nothing may be delivered); it returns the times NextDue reported.
func (r *queueRig) play(limit time.Duration) []time.Duration {
	r.t.Helper()
	var stops []time.Duration
	r.tick(r.start)
	for {
		next, ok := r.q.NextDue()
		if !ok || next.Sub(r.start) > limit {
			return stops
		}
		if !next.After(r.now) {
			r.t.Fatalf("NextDue %s after a Tick at %s: a held message was visible and not delivered", next, r.now)
		}
		stops = append(stops, next.Sub(r.start))
		n := len(r.got)
		r.tick(next.Add(-time.Second))
		if len(r.got) != n {
			r.t.Errorf("delivered %v a second before NextDue +%s", r.got[n:], next.Sub(r.start))
		}
		r.tick(next)
	}
}

func (r *queueRig) times() []time.Duration {
	var out []time.Duration
	for _, d := range r.got {
		out = append(out, d.at)
	}
	return out
}

// A failed message is hidden for the queue's visibility timeout after
// each receive, and goes to the dead-letter queue when it is visible again
// after maxReceiveCount receives, whether the function reported the item
// failed or the whole invocation failed.
func TestQueueRedeliversAfterVisibilityTimeout(t *testing.T) {
	const m = 30 * time.Minute
	tests := []struct {
		name            string
		vt              time.Duration
		maxReceives     int
		wholeBatchFails bool
		failures        int // deliveries the function fails before it handles the message
		wantAt          []time.Duration
		wantDead        time.Duration // 0: not dead-lettered
		wantDeadBodies  []string
	}{
		{name: "the template's queue: five receives, then the DLQ", vt: m, maxReceives: 5, failures: 99,
			wantAt: []time.Duration{0, m, 2 * m, 3 * m, 4 * m}, wantDead: 5 * m, wantDeadBodies: []string{"fails"}},
		{name: "an invocation error fails the whole batch", vt: m, maxReceives: 5, failures: 99, wholeBatchFails: true,
			wantAt: []time.Duration{0, m, 2 * m, 3 * m, 4 * m}, wantDead: 5 * m, wantDeadBodies: []string{"fails", "fine"}},
		{name: "handled at the third receive", vt: m, maxReceives: 5, failures: 2,
			wantAt: []time.Duration{0, m, 2 * m}},
		{name: "handled at the last receive", vt: m, maxReceives: 3, failures: 2,
			wantAt: []time.Duration{0, m, 2 * m}},
		{name: "one receive allowed", vt: 5 * time.Minute, maxReceives: 1, failures: 99,
			wantAt: []time.Duration{0}, wantDead: 5 * time.Minute, wantDeadBodies: []string{"fails"}},
		{name: "no visibility timeout set: SQS's 30 s", maxReceives: 3, failures: 99,
			wantAt: []time.Duration{0, 30 * time.Second, time.Minute}, wantDead: 90 * time.Second, wantDeadBodies: []string{"fails"}},
		{name: "no redrive policy: delivered for ever", vt: m, failures: 99,
			wantAt: []time.Duration{0, m, 2 * m, 3 * m, 4 * m, 5 * m, 6 * m}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := local.QueueConfig{VisibilityTimeout: tt.vt, MaxReceives: tt.maxReceives, ReportBatchItemFailures: true}
			if tt.maxReceives > 0 {
				cfg.DeadLetterURL = fakeDLQURL
			}
			r := newQueueRig(t, cfg)
			r.failWholeBatch = tt.wholeBatchFails
			calls := 0
			r.handle = func(body string, _ time.Time) bool {
				if body == "fails" {
					calls++
					return calls > tt.failures
				}
				return true
			}
			r.send("fails")
			r.send("fine") // in the same batch: only the failed item comes back
			r.play(6*m + time.Second)
			var failing []time.Duration
			for _, d := range r.got {
				if d.body == "fails" {
					failing = append(failing, d.at)
					if want := fmt.Sprint(len(failing)); d.receives != want {
						t.Errorf("delivery at +%s: ApproximateReceiveCount %s, want %s", d.at, d.receives, want)
					}
				}
			}
			if !slices.Equal(failing, tt.wantAt) {
				t.Errorf("delivered at %v, want %v", failing, tt.wantAt)
			}
			if fine := len(r.got) - len(failing); fine != 1 && !tt.wholeBatchFails {
				t.Errorf("the message handled at once was delivered %d times, want 1", fine)
			}
			var wantDead []delivery
			for _, b := range tt.wantDeadBodies {
				wantDead = append(wantDead, delivery{body: b, at: tt.wantDead})
			}
			if !slices.Equal(r.fq.dead, wantDead) {
				t.Errorf("dead-lettered %v, want %v", r.fq.dead, wantDead)
			}
			if st := r.q.Stats(); st.DeadLettered != len(tt.wantDeadBodies) {
				t.Errorf("stats %+v: want %d dead-lettered", st, len(tt.wantDeadBodies))
			}
		})
	}
}

// A message is held as SendMessage's DelaySeconds would hold it: until it
// is due, but at most 15 minutes; one that comes early is sent on for the
// rest of its wait, as the snapshot function does.
func TestQueueHoldsAtMostSQSsDelay(t *testing.T) {
	tests := []struct {
		name   string
		due    time.Duration // after the send
		wantAt []time.Duration
	}{
		{name: "due in 40 minutes: early at 15 and 30", due: 40 * time.Minute,
			wantAt: []time.Duration{15 * time.Minute, 30 * time.Minute, 40 * time.Minute}},
		{name: "due in 15 minutes exactly", due: 15 * time.Minute, wantAt: []time.Duration{15 * time.Minute}},
		{name: "due in 10 minutes", due: 10 * time.Minute, wantAt: []time.Duration{10 * time.Minute}},
		{name: "due in 20 minutes: early at 15", due: 20 * time.Minute, wantAt: []time.Duration{15 * time.Minute, 20 * time.Minute}},
		{name: "overdue: at once", due: -time.Hour, wantAt: []time.Duration{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newQueueRig(t, local.QueueConfig{Due: sqsqueue.DueOf, VisibilityTimeout: 30 * time.Minute, ReportBatchItemFailures: true})
			due := r.start.Add(tt.due)
			body := followUp(t, due)
			r.handle = func(body string, now time.Time) bool {
				if d, _ := sqsqueue.DueOf(body); d.After(now) {
					r.send(body) // early: sent on, undelayed, as the snapshot function does locally
				}
				return true
			}
			r.send(body)
			stops := r.play(time.Hour)
			if got := r.times(); !slices.Equal(got, tt.wantAt) {
				t.Errorf("delivered at %v, want %v", got, tt.wantAt)
			}
			if tt.wantAt[0] > 0 && !slices.Equal(stops, tt.wantAt) {
				t.Errorf("NextDue reported %v, want %v", stops, tt.wantAt)
			}
		})
	}
}

func followUp(t *testing.T, due time.Time) string {
	t.Helper()
	b, err := json.Marshal(sqsqueue.Message{PolicyID: "p1", ScheduledTime: "2026-11-24T03:00:00Z", FollowUp: true, Due: due.Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// NextDue is the earliest time a held message becomes visible: a delay's
// end or a failed delivery's visibility timeout, whichever comes first.
func TestQueueNextDue(t *testing.T) {
	r := newQueueRig(t, local.QueueConfig{Due: sqsqueue.DueOf, VisibilityTimeout: 10 * time.Minute, ReportBatchItemFailures: true})
	if next, ok := r.q.NextDue(); ok {
		t.Fatalf("NextDue of an empty deliverer: %s, want none", next)
	}
	r.handle = func(body string, _ time.Time) bool { return body != "fails" }
	r.send(followUp(t, r.start.Add(40*time.Minute)))
	r.send(followUp(t, r.start.Add(12*time.Minute)))
	r.send("fails")
	steps := []struct {
		at       time.Duration
		wantNext time.Duration
		wantHeld int
	}{
		{at: 0, wantNext: 10 * time.Minute, wantHeld: 3},               // the failed one, over the follow-ups' 12 and 15
		{at: 5 * time.Minute, wantNext: 10 * time.Minute, wantHeld: 3}, // nothing visible yet
		{at: 10 * time.Minute, wantNext: 12 * time.Minute, wantHeld: 3},
		{at: 12 * time.Minute, wantNext: 15 * time.Minute, wantHeld: 2}, // the 12-minute one handled
		{at: 15 * time.Minute, wantNext: 20 * time.Minute, wantHeld: 1}, // the 40-minute one delivered early (not sent on here)
		{at: 20 * time.Minute, wantNext: 30 * time.Minute, wantHeld: 1},
	}
	for _, s := range steps {
		r.tick(r.start.Add(s.at))
		next, ok := r.q.NextDue()
		if !ok || next.Sub(r.start) != s.wantNext || r.q.Held() != s.wantHeld {
			t.Errorf("after the Tick at +%s: NextDue +%s (%v), Held %d; want +%s, %d", s.at, next.Sub(r.start), ok, r.q.Held(), s.wantNext, s.wantHeld)
		}
	}
	var failed []string
	for _, d := range r.got {
		if d.body == "fails" {
			failed = append(failed, d.at.String())
		}
	}
	if got := strings.Join(failed, " "); got != "0s 10m0s 20m0s" {
		t.Errorf("the failing message was delivered at %s, want 0s 10m0s 20m0s", got)
	}
}

func TestNewQueueRejectsNegatives(t *testing.T) {
	for _, cfg := range []local.QueueConfig{{VisibilityTimeout: -time.Second}, {MaxReceives: -1}} {
		cfg.Client, cfg.QueueURL = &fakeQueue{}, fakeQueueURL
		cfg.Invoke = func(context.Context, []byte) ([]byte, error) { return nil, nil }
		if _, err := local.NewQueue(cfg); err == nil || !strings.Contains(err.Error(), "want neither negative") {
			t.Errorf("NewQueue(%+v): %v, want an error about the negative value", cfg, err)
		}
	}
}

// The function's result is read as Lambda reads an SQS mapping's (the
// Lambda Developer Guide's "Success and failure conditions"): with
// ReportBatchItemFailures a usable batchItemFailures fails the messages it
// names, anything it cannot use fails the whole batch; without it only a
// function error fails anything.
func TestQueueReadsTheResponseAsLambda(t *testing.T) {
	all := []string{"m1", "m2", "m3"}
	tests := []struct {
		name       string
		report     bool
		out        string
		err        error
		wantFailed []string // message ids
	}{
		{name: "the message named fails", report: true, out: `{"batchItemFailures":[{"itemIdentifier":"m2"}]}`, wantFailed: []string{"m2"}},
		{name: "a message named twice fails once", report: true, out: `{"batchItemFailures":[{"itemIdentifier":"m3"},{"itemIdentifier":"m3"}]}`, wantFailed: []string{"m3"}},
		{name: "an empty list: none fails", report: true, out: `{"batchItemFailures":[]}`},
		{name: "a null list: none fails", report: true, out: `{"batchItemFailures":null}`},
		{name: "no list: none fails", report: true, out: `{}`},
		{name: "a null response: none fails", report: true, out: `null`},
		{name: "a key in another case is no list: none fails", report: true, out: `{"BatchItemFailures":[{"itemIdentifier":"m2"}]}`},
		{name: "an identifier not in the batch fails all", report: true, out: `{"batchItemFailures":[{"itemIdentifier":"m2"},{"itemIdentifier":"m9"}]}`, wantFailed: all},
		{name: "a receipt handle is not a message id: all", report: true, out: `{"batchItemFailures":[{"itemIdentifier":"r-m2"}]}`, wantFailed: all},
		{name: "an empty identifier fails all", report: true, out: `{"batchItemFailures":[{"itemIdentifier":""}]}`, wantFailed: all},
		{name: "a null identifier fails all", report: true, out: `{"batchItemFailures":[{"itemIdentifier":null}]}`, wantFailed: all},
		{name: "a misnamed key fails all", report: true, out: `{"batchItemFailures":[{"messageId":"m2"}]}`, wantFailed: all},
		{name: "a key in another case fails all", report: true, out: `{"batchItemFailures":[{"ItemIdentifier":"m2"}]}`, wantFailed: all},
		{name: "a null item fails all", report: true, out: `{"batchItemFailures":[null]}`, wantFailed: all},
		{name: "a list that is not one fails all", report: true, out: `{"batchItemFailures":{"itemIdentifier":"m2"}}`, wantFailed: all},
		{name: "invalid JSON fails all", report: true, out: `{"batchItemFailures":`, wantFailed: all},
		{name: "no response at all fails all", report: true, out: ``, wantFailed: all},
		{name: "a response that is not an object fails all", report: true, out: `"ok"`, wantFailed: all},
		{name: "a function error fails all", report: true, err: errors.New("boom"), wantFailed: all},
		{name: "without ReportBatchItemFailures the list is not read", out: `{"batchItemFailures":[{"itemIdentifier":"m2"}]}`},
		{name: "without it an unknown identifier is not read either", out: `{"batchItemFailures":[{"itemIdentifier":"m9"}]}`},
		{name: "without it invalid JSON is not read", out: `{"batchItemFailures":`},
		{name: "without it a function error still fails all", err: errors.New("boom"), wantFailed: all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fq := &fakeQueue{}
			q, err := local.NewQueue(local.QueueConfig{Client: fq, QueueURL: fakeQueueURL, ReportBatchItemFailures: tt.report,
				Invoke: func(context.Context, []byte) ([]byte, error) { return []byte(tt.out), tt.err }})
			if err != nil {
				t.Fatal(err)
			}
			for range all {
				if _, err := fq.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(fakeQueueURL), MessageBody: aws.String("b")}); err != nil {
					t.Fatal(err)
				}
			}
			if err := q.Tick(context.Background(), time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)); err != nil {
				t.Fatal(err)
			}
			var failed []string
			for _, id := range all {
				if !slices.Contains(fq.deleted, "r-"+id) {
					failed = append(failed, id)
				}
			}
			if !slices.Equal(failed, tt.wantFailed) {
				t.Errorf("failed (not deleted) %v, want %v", failed, tt.wantFailed)
			}
			if st := q.Stats(); st.Invocations != 1 || st.Failed != len(tt.wantFailed) || q.Held() != len(tt.wantFailed) {
				t.Errorf("stats %+v, held %d; want 1 invocation and %d failed and held", st, q.Held(), len(tt.wantFailed))
			}
		})
	}
}

// A Tick that fails midway (moto refuses a dead-letter send or a delete)
// loses no message: those it did not get to are held as they were, and
// the next Tick settles them; a message whose delete failed after a
// delivery comes back after the visibility timeout, as on SQS, and one
// already on the dead-letter queue is not sent there twice.
func TestQueueTickErrorLosesNothing(t *testing.T) {
	const vt = 10 * time.Minute
	tests := []struct {
		name      string
		batchSize int
		fails     bool // the function fails every message
		drop      string
		receives  int // MaxReceives
		failAt    map[string]int
		ticks     []time.Duration
		errTick   int // index in ticks of the Tick that fails
		wantHeld  int // after it
		want      []string
		wantDead  []string
		wantLost  int // messages never deleted (a drop whose delete failed)
	}{
		{name: "a dead-letter send fails", fails: true, receives: 1, failAt: map[string]int{"send": 2},
			ticks: []time.Duration{0, vt, vt}, errTick: 1, wantHeld: 2,
			want: []string{"a +0s #1", "b +0s #1", "c +0s #1"}, wantDead: []string{"a", "b", "c"}},
		{name: "a delete after a dead-letter send fails", fails: true, receives: 1, failAt: map[string]int{"delete": 1},
			ticks: []time.Duration{0, vt, vt}, errTick: 1, wantHeld: 3,
			want: []string{"a +0s #1", "b +0s #1", "c +0s #1"}, wantDead: []string{"a", "b", "c"}},
		{name: "a delete after a delivery fails", batchSize: 1, receives: 5, failAt: map[string]int{"delete": 1},
			ticks: []time.Duration{0, 0, vt}, errTick: 0, wantHeld: 3,
			want: []string{"a +0s #1", "b +0s #1", "c +0s #1", "a +10m0s #2"}},
		{name: "a delete in the middle of a batch fails", receives: 5, failAt: map[string]int{"delete": 2},
			ticks: []time.Duration{0, vt}, errTick: 0, wantHeld: 1,
			want: []string{"a +0s #1", "b +0s #1", "c +0s #1", "b +10m0s #2"}},
		{name: "a dropped message's delete fails", drop: "b", receives: 5, failAt: map[string]int{"delete": 1},
			ticks: []time.Duration{0, 0}, errTick: 0, wantHeld: 2,
			want: []string{"a +0s #1", "c +0s #1"}, wantLost: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newQueueRig(t, local.QueueConfig{BatchSize: tt.batchSize, VisibilityTimeout: vt, MaxReceives: tt.receives,
				DeadLetterURL: fakeDLQURL, ReportBatchItemFailures: true})
			r.handle = func(string, time.Time) bool { return !tt.fails }
			r.q.Drop(func(body string) bool { return body == tt.drop })
			for _, b := range []string{"a", "b", "c"} {
				r.send(b)
			}
			r.fq.failAt = tt.failAt
			for i, at := range tt.ticks {
				r.now = r.start.Add(at)
				err := r.q.Tick(context.Background(), r.now)
				switch {
				case i == tt.errTick && err == nil:
					t.Fatalf("Tick %d at +%s: no error, want the %v failure", i, at, tt.failAt)
				case i == tt.errTick && r.q.Held() != tt.wantHeld:
					t.Errorf("after the failed Tick: %d held, want %d", r.q.Held(), tt.wantHeld)
				case i != tt.errTick && err != nil:
					t.Fatalf("Tick %d at +%s: %v", i, at, err)
				}
			}
			var got []string
			for _, d := range r.got {
				got = append(got, fmt.Sprintf("%s +%s #%s", d.body, d.at, d.receives))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("delivered %v, want %v", got, tt.want)
			}
			var dead []string
			for _, d := range r.fq.dead {
				dead = append(dead, d.body)
			}
			if !slices.Equal(dead, tt.wantDead) {
				t.Errorf("dead-lettered %v, want %v (each once)", dead, tt.wantDead)
			}
			if r.q.Held() != 0 || len(r.fq.deleted) != 3-tt.wantLost {
				t.Errorf("at the end: %d held, deleted %v; want none held and %d deleted once", r.q.Held(), r.fq.deleted, 3-tt.wantLost)
			}
		})
	}
}
