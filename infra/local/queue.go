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
	// Due reads when a message is due from its body (the senders send
	// without SQS's delay on a virtual clock); a message it cannot read
	// is due at once.
	Due func(body string) (time.Time, bool)
	// MaxReceives is the queue's redrive maxReceiveCount: a message that
	// failed this many deliveries goes to DeadLetterURL (0: never).
	MaxReceives int
	// DeadLetterURL is the redrive target.
	DeadLetterURL string
}

// QueueDeliverer delivers an SQS queue's messages to a function the way an
// SQS event source mapping with ReportBatchItemFailures does, on a virtual
// clock: it takes every message off the queue, holds each until the clock
// reaches its due time (what SQS's per-message delay does in AWS), invokes
// the function with batches of at most BatchSize (events.SQSEvent), deletes
// the messages the response does not list as failed, delivers the failed
// ones again at the next Tick and moves a message to the dead-letter queue
// after MaxReceives deliveries. Not safe for concurrent use.
type QueueDeliverer struct {
	cfg     QueueConfig
	held    []*heldMessage
	stats   QueueStats
	dropped func(body string) bool
}

type heldMessage struct {
	id, receipt, body string
	due               time.Time
	receives          int
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
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 10
	}
	return &QueueDeliverer{cfg: cfg}, nil
}

// Drop loses, on purpose, every message taken off the queue from now on
// whose body lose reports (nil: none): a test of what the backstop
// recovers.
func (q *QueueDeliverer) Drop(lose func(body string) bool) { q.dropped = lose }

// Stats returns the counts so far.
func (q *QueueDeliverer) Stats() QueueStats { return q.stats }

// Held is how many messages wait for their due time.
func (q *QueueDeliverer) Held() int { return len(q.held) }

// Tick takes new messages off the queue and delivers, in due order, those
// due at now; it repeats while deliveries queue more messages that are
// already due.
func (q *QueueDeliverer) Tick(ctx context.Context, now time.Time) error {
	for round := 0; round < 100; round++ {
		if err := q.receive(ctx); err != nil {
			return err
		}
		due := q.takeDue(now)
		if len(due) == 0 {
			return nil
		}
		for len(due) > 0 {
			n := min(q.cfg.BatchSize, len(due))
			if err := q.deliver(ctx, due[:n]); err != nil {
				return err
			}
			due = due[n:]
		}
	}
	return fmt.Errorf("local queue: messages keep coming due at %s", now)
}

// receive moves every visible message into held.
func (q *QueueDeliverer) receive(ctx context.Context) error {
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
		for _, m := range out.Messages {
			q.stats.Received++
			body := aws.ToString(m.Body)
			if q.dropped != nil && q.dropped(body) {
				q.stats.Dropped++
				if err := q.delete(ctx, aws.ToString(m.ReceiptHandle)); err != nil {
					return err
				}
				continue
			}
			h := &heldMessage{id: aws.ToString(m.MessageId), receipt: aws.ToString(m.ReceiptHandle), body: body}
			if q.cfg.Due != nil {
				h.due, _ = q.cfg.Due(body)
			}
			q.held = append(q.held, h)
		}
	}
}

// takeDue removes and returns the held messages due at now, earliest first.
func (q *QueueDeliverer) takeDue(now time.Time) []*heldMessage {
	sort.SliceStable(q.held, func(a, b int) bool { return q.held[a].due.Before(q.held[b].due) })
	n := 0
	for n < len(q.held) && !q.held[n].due.After(now) {
		n++
	}
	due := q.held[:n:n]
	q.held = append([]*heldMessage(nil), q.held[n:]...)
	return due
}

// deliver invokes the function with msgs and settles each.
func (q *QueueDeliverer) deliver(ctx context.Context, msgs []*heldMessage) error {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(msgs))}
	for i, m := range msgs {
		m.receives++
		ev.Records[i] = events.SQSMessage{MessageId: m.id, ReceiptHandle: m.receipt, Body: m.body,
			EventSource: "aws:sqs", EventSourceARN: q.cfg.QueueARN, AWSRegion: "us-east-1",
			Attributes: map[string]string{"ApproximateReceiveCount": fmt.Sprint(m.receives)}}
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	q.stats.Invocations++
	q.stats.Delivered += len(msgs)
	out, ierr := q.cfg.Invoke(ctx, payload)
	failed := map[string]bool{}
	var resp events.SQSEventResponse
	switch {
	case ierr != nil || json.Unmarshal(out, &resp) != nil:
		for _, m := range msgs { // the whole batch failed
			failed[m.id] = true
		}
	default:
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
	}
	for _, m := range msgs {
		if !failed[m.id] {
			if err := q.delete(ctx, m.receipt); err != nil {
				return err
			}
			continue
		}
		q.stats.Failed++
		if err := q.retry(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// retry holds a failed message for the next Tick, or dead-letters it.
func (q *QueueDeliverer) retry(ctx context.Context, m *heldMessage) error {
	if q.cfg.MaxReceives == 0 || m.receives < q.cfg.MaxReceives {
		q.held = append(q.held, m)
		return nil
	}
	q.stats.DeadLettered++
	if q.cfg.DeadLetterURL != "" {
		if _, err := q.cfg.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.cfg.DeadLetterURL), MessageBody: aws.String(m.body)}); err != nil {
			return fmt.Errorf("local queue: dead-letter: %w", err)
		}
	}
	return q.delete(ctx, m.receipt)
}

func (q *QueueDeliverer) delete(ctx context.Context, receipt string) error {
	if _, err := q.cfg.Client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.cfg.QueueURL), ReceiptHandle: aws.String(receipt)}); err != nil {
		return fmt.Errorf("local queue: delete: %w", err)
	}
	return nil
}
