package local

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/snapkeep/snapkeep/shared/sqsqueue"
)

// QueueAPI is the part of *sqs.Client a QueueDeliverer uses, with the
// SDK's signatures.
type QueueAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

var _ QueueAPI = (*sqs.Client)(nil)

// QueueConfig configures a QueueDeliverer.
type QueueConfig struct {
	// Client reads and deletes the queue's messages (moto's SQS).
	Client QueueAPI
	// QueueURL is the queue's URL.
	QueueURL string
	// QueueARN is the event source ARN the events carry.
	QueueARN string
	// Invoke runs the function with an events.SQSEvent payload.
	Invoke InvokeFunc
	// BatchSize is the mapping's batch size (default 10, SQS's largest
	// without a batching window).
	BatchSize int
	// Due reads when a message is due from its body (sqsqueue.DueOf). The
	// senders send undelayed on a virtual clock; the QueueDeliverer holds
	// each message as the DelaySeconds they would send on AWS would
	// (sqsqueue.Delay): until its due time, but at most sqsqueue.MaxDelay
	// (15 minutes) after it was sent, so a longer wait arrives early, as
	// on AWS, and the function sends it on. A message Due cannot read
	// (nil Due: every message) is visible at once.
	Due func(body string) (time.Time, bool)
	// VisibilityTimeout is the queue's (triggers.QueueSource's; 0: SQS's
	// default, 30 s): a message whose delivery failed is visible, and
	// delivered, again that long after it was received.
	VisibilityTimeout time.Duration
	// MaxReceives is the queue's redrive maxReceiveCount: a message
	// received this many times goes to DeadLetterURL when it is next
	// visible, instead of being delivered again (0: never).
	MaxReceives int
	// DeadLetterURL is the redrive target ("": the message is deleted).
	DeadLetterURL string
	// ReportBatchItemFailures is the mapping's FunctionResponseTypes
	// setting (triggers.QueueSource's): with it, a response's
	// batchItemFailures fail only the messages they name; without it
	// (false, AWS's default: "to let your function report specific
	// failures in a batch, include the value ReportBatchItemFailures in
	// FunctionResponseTypes", the Lambda Developer Guide's SQS
	// parameters) the response is not read, so an invocation that
	// returns fails nothing and its whole batch is deleted.
	ReportBatchItemFailures bool
}

// defaultVisibilityTimeout is SQS's, for a queue that sets none.
const defaultVisibilityTimeout = 30 * time.Second

// QueueDeliverer delivers an SQS queue's messages to a function the way an
// SQS event source mapping does, on a virtual clock. At each Tick it takes every message off the queue (a message is
// taken as sent at the first Tick that receives it: the runner ticks right
// after each invocation that may send) and holds each until it is
// visible: until its delay ends (QueueConfig.Due), or, after a failed
// delivery, until VisibilityTimeout after that receive. It invokes the
// function with the visible messages, in batches of at most BatchSize
// (events.SQSEvent), deletes those the invocation did not fail (see
// QueueConfig.ReportBatchItemFailures and batchFailures), and moves a
// message received MaxReceives times to the dead-letter queue once it is
// visible again, as SQS's redrive does. NextDue says when the next held
// message becomes visible, so a runner's clock can stop there. A Tick
// that fails (moto refused a delete or a send) loses no message: those it
// did not get to are held as they were, one whose delete failed is
// delivered again after the visibility timeout, as on SQS. Not safe for
// concurrent use.
type QueueDeliverer struct {
	cfg     QueueConfig
	held    []*heldMessage
	stats   QueueStats
	dropped func(body string) bool
}

// heldMessage is a message taken off the queue, hidden until visible.
type heldMessage struct {
	id, receipt, body string
	visible           time.Time
	receives          int
	// deadLettered is set once the message is on the dead-letter queue,
	// so a redrive whose delete failed is not sent there twice.
	deadLettered bool
}

// QueueStats counts what a QueueDeliverer did.
type QueueStats struct {
	// Received counts messages taken off the queue.
	Received int
	// Invocations counts function invocations.
	Invocations int
	// Delivered counts message deliveries (a redelivery counts again).
	Delivered int
	// Failed counts deliveries the function reported failed.
	Failed int
	// DeadLettered counts messages moved to the dead-letter queue.
	DeadLettered int
	// Dropped counts messages a Drop rule lost on purpose.
	Dropped int
}

// NewQueue returns a QueueDeliverer for cfg.
func NewQueue(cfg QueueConfig) (*QueueDeliverer, error) {
	if cfg.Client == nil || cfg.QueueURL == "" || cfg.Invoke == nil {
		return nil, fmt.Errorf("local queue: Client, QueueURL and Invoke are required")
	}
	if cfg.VisibilityTimeout < 0 || cfg.MaxReceives < 0 {
		return nil, fmt.Errorf("local queue: VisibilityTimeout %s and MaxReceives %d: want neither negative", cfg.VisibilityTimeout, cfg.MaxReceives)
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 10
	}
	if cfg.VisibilityTimeout == 0 {
		cfg.VisibilityTimeout = defaultVisibilityTimeout
	}
	return &QueueDeliverer{cfg: cfg}, nil
}

// Drop loses, on purpose, every message taken off the queue from now on
// whose body lose reports (nil: none): a test of what the backstop
// recovers.
func (q *QueueDeliverer) Drop(lose func(body string) bool) { q.dropped = lose }

// Stats returns the counts so far.
func (q *QueueDeliverer) Stats() QueueStats { return q.stats }

// Held is how many messages taken off the queue are not visible yet
// (delayed, or hidden after a failed delivery).
func (q *QueueDeliverer) Held() int { return len(q.held) }

// NextDue is when the first held message becomes visible; ok is false
// when none is held. Messages still on the queue are not known until a
// Tick takes them off.
func (q *QueueDeliverer) NextDue() (next time.Time, ok bool) {
	for _, m := range q.held {
		if !ok || m.visible.Before(next) {
			next, ok = m.visible, true
		}
	}
	return next, ok
}

// Tick takes new messages off the queue and delivers, earliest first,
// those visible at now; it repeats while deliveries queue more messages
// that are visible at once. A message that fails now is hidden for the
// visibility timeout, so it is not delivered again in this Tick. On an
// error the messages not yet settled stay held, as they were.
func (q *QueueDeliverer) Tick(ctx context.Context, now time.Time) error {
	for round := 0; round < 100; round++ {
		if err := q.receive(ctx, now); err != nil {
			return err
		}
		due, err := q.redrive(ctx, q.takeDue(now))
		if err != nil {
			return err
		}
		if len(due) == 0 {
			return nil
		}
		for len(due) > 0 {
			n := min(q.cfg.BatchSize, len(due))
			if err := q.deliver(ctx, now, due[:n]); err != nil {
				q.held = append(q.held, due[n:]...) // not delivered: as they were
				return err
			}
			due = due[n:]
		}
	}
	return fmt.Errorf("local queue: messages keep coming due at %s", now)
}

// receive moves every message on the queue into held, each visible when
// the delay its sender would have given it, sent at now, ends. A message
// received is held even when the delete of a dropped one beside it fails
// (moto hides it for 12 hours: a receive that returned it is its only
// copy).
func (q *QueueDeliverer) receive(ctx context.Context, now time.Time) error {
	for {
		out, err := q.cfg.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(q.cfg.QueueURL), MaxNumberOfMessages: 10, VisibilityTimeout: 43200,
		})
		if err != nil {
			return fmt.Errorf("local queue: receive: %w", err)
		}
		if len(out.Messages) == 0 {
			return nil
		}
		var failed error
		for _, m := range out.Messages {
			q.stats.Received++
			body := aws.ToString(m.Body)
			if q.dropped != nil && q.dropped(body) {
				q.stats.Dropped++
				if err := q.delete(ctx, aws.ToString(m.ReceiptHandle)); err != nil && failed == nil {
					failed = err
				}
				continue
			}
			h := &heldMessage{id: aws.ToString(m.MessageId), receipt: aws.ToString(m.ReceiptHandle), body: body, visible: now}
			if q.cfg.Due != nil {
				if due, ok := q.cfg.Due(body); ok {
					h.visible = now.Add(time.Duration(sqsqueue.Delay(due, now)) * time.Second)
				}
			}
			q.held = append(q.held, h)
		}
		if failed != nil {
			return failed
		}
	}
}

// takeDue removes and returns the held messages visible at now, earliest
// first.
func (q *QueueDeliverer) takeDue(now time.Time) []*heldMessage {
	sort.SliceStable(q.held, func(a, b int) bool { return q.held[a].visible.Before(q.held[b].visible) })
	n := 0
	for n < len(q.held) && !q.held[n].visible.After(now) {
		n++
	}
	due := q.held[:n:n]
	q.held = append([]*heldMessage(nil), q.held[n:]...)
	return due
}

// redrive moves the messages of due already received MaxReceives times to
// the dead-letter queue and returns the others. On an error it puts back
// in held, as they were, every message of due it did not move.
func (q *QueueDeliverer) redrive(ctx context.Context, due []*heldMessage) ([]*heldMessage, error) {
	keep := make([]*heldMessage, 0, len(due))
	for i, m := range due {
		if q.cfg.MaxReceives == 0 || m.receives < q.cfg.MaxReceives {
			keep = append(keep, m)
			continue
		}
		if err := q.deadLetter(ctx, m); err != nil {
			q.held = append(append(q.held, keep...), due[i:]...)
			return nil, err
		}
	}
	return keep, nil
}

// deadLetter sends m to the dead-letter queue (once, however often it is
// called) and deletes it from the queue.
func (q *QueueDeliverer) deadLetter(ctx context.Context, m *heldMessage) error {
	if q.cfg.DeadLetterURL != "" && !m.deadLettered {
		if _, err := q.cfg.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.cfg.DeadLetterURL), MessageBody: aws.String(m.body)}); err != nil {
			return fmt.Errorf("local queue: dead-letter: %w", err)
		}
	}
	m.deadLettered = true
	if err := q.delete(ctx, m.receipt); err != nil {
		return err
	}
	q.stats.DeadLettered++
	return nil
}

// deliver invokes the function with msgs, received at now, and settles
// each: deleted, or hidden until the visibility timeout ends. A message
// whose delete fails is hidden too (SQS delivers it again then); the
// first such error is returned once every message is settled.
func (q *QueueDeliverer) deliver(ctx context.Context, now time.Time, msgs []*heldMessage) error {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(msgs))}
	for i, m := range msgs {
		ev.Records[i] = events.SQSMessage{MessageId: m.id, ReceiptHandle: m.receipt, Body: m.body,
			EventSource: "aws:sqs", EventSourceARN: q.cfg.QueueARN, AWSRegion: "us-east-1",
			Attributes: map[string]string{"ApproximateReceiveCount": fmt.Sprint(m.receives + 1)}}
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		q.held = append(q.held, msgs...) // not delivered: as they were
		return fmt.Errorf("local queue: event: %w", err)
	}
	for _, m := range msgs {
		m.receives++
	}
	q.stats.Invocations++
	q.stats.Delivered += len(msgs)
	out, ierr := q.cfg.Invoke(ctx, payload)
	failed := q.batchFailures(msgs, out, ierr)
	var first error
	for _, m := range msgs {
		if !failed[m.id] {
			err := q.delete(ctx, m.receipt)
			if err == nil {
				continue
			}
			if first == nil {
				first = err
			}
		} else {
			q.stats.Failed++
		}
		m.visible = now.Add(q.cfg.VisibilityTimeout)
		q.held = append(q.held, m)
	}
	return first
}

// batchFailures returns the ids of msgs an invocation failed, read as
// Lambda reads an SQS mapping's result. An invocation error fails the
// whole batch. Without ReportBatchItemFailures the response is not read:
// the others fail nothing. With it, the AWS Lambda Developer Guide
// ("Using Lambda with Amazon SQS", section "Success and failure
// conditions", https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#sqs-batchfailurereporting-conditions;
// source awsdocs/aws-lambda-developer-guide, doc_source/with-sqs.md)
// says a batch is a complete success for an empty or null
// batchItemFailures list and an empty or null response, and a complete
// failure for "an invalid JSON response", "an empty string
// itemIdentifier", "a null itemIdentifier", "an itemIdentifier with a bad
// key name" and "an itemIdentifier value with a message ID that doesn't
// exist"; otherwise the messages named fail. Keys are matched exactly as
// written (encoding/json's case-insensitive matching would read a
// misnamed key).
func (q *QueueDeliverer) batchFailures(msgs []*heldMessage, out []byte, ierr error) map[string]bool {
	if ierr != nil {
		return allOf(msgs)
	}
	if !q.cfg.ReportBatchItemFailures {
		return nil
	}
	var resp map[string]json.RawMessage // null: a null response
	if err := json.Unmarshal(out, &resp); err != nil {
		return allOf(msgs)
	}
	var items []map[string]json.RawMessage // absent or null: none failed
	if raw, ok := resp["batchItemFailures"]; ok && json.Unmarshal(raw, &items) != nil {
		return allOf(msgs)
	}
	inBatch := allOf(msgs)
	failed := map[string]bool{}
	for _, item := range items {
		var id string
		if err := json.Unmarshal(item["itemIdentifier"], &id); err != nil || !inBatch[id] {
			return inBatch // missing, null, not a string, empty or unknown
		}
		failed[id] = true
	}
	return failed
}

// allOf is the set of msgs' ids.
func allOf(msgs []*heldMessage) map[string]bool {
	ids := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		ids[m.id] = true
	}
	return ids
}

func (q *QueueDeliverer) delete(ctx context.Context, receipt string) error {
	if _, err := q.cfg.Client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.cfg.QueueURL), ReceiptHandle: aws.String(receipt)}); err != nil {
		return fmt.Errorf("local queue: delete: %w", err)
	}
	return nil
}
