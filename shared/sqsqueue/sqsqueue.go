// Package sqsqueue is the SQS adapter of the run path's follow-up queue:
// each run that must be checked later is one message, delayed until its
// check is due (at most SQS's 15 minutes; a longer wait arrives early and
// is sent on by the run service).
package sqsqueue

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// MaxDelay is SQS's longest per-message delay.
const MaxDelay = 15 * time.Minute

// Client is the part of *sqs.Client FollowUps uses, with the SDK's
// signature.
type Client interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

var _ Client = (*sqs.Client)(nil)

// FollowUps sends follow-up messages to one queue.
type FollowUps struct {
	// Client is the SQS client.
	Client Client
	// QueueURL is the follow-up queue's URL.
	QueueURL string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NoDelay sends every message without a delay: for a local stack on a
	// virtual clock, whose runner holds each message until the clock
	// reaches its due time (DueOf) instead of SQS.
	NoDelay bool
}

// Message is a follow-up's body: the snapshot function's queued input form
// (shared/snapshot.Request with follow_up and due).
type Message struct {
	PolicyID      string `json:"policy_id"`
	ScheduledTime string `json:"scheduled_time"`
	FollowUp      bool   `json:"follow_up"`
	Due           string `json:"due"`
}

// Send queues a check of key due at due, delayed by the time until then
// (rounded up to the second, so it never arrives early; at most MaxDelay).
func (f *FollowUps) Send(ctx context.Context, key snapkeep.RunKey, due time.Time) error {
	body, err := json.Marshal(Message{PolicyID: key.PolicyID, ScheduledTime: key.Slot(), FollowUp: true,
		Due: due.UTC().Format(time.RFC3339)})
	if err != nil {
		return fmt.Errorf("follow-up of %s: %w", key, err)
	}
	delay := Delay(due, f.now())
	if f.NoDelay {
		delay = 0
	}
	_, err = f.Client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:     aws.String(f.QueueURL),
		MessageBody:  aws.String(string(body)),
		DelaySeconds: delay,
	})
	if err != nil {
		return fmt.Errorf("follow-up of %s: send: %w", key, err)
	}
	return nil
}

// Delay is the message delay, in whole seconds, for a check due at due sent
// at now: the time until due rounded up, between 0 and MaxDelay.
func Delay(due, now time.Time) int32 {
	d := due.Sub(now)
	if d <= 0 {
		return 0
	}
	if d > MaxDelay {
		return int32(MaxDelay / time.Second)
	}
	s := d / time.Second
	if d%time.Second != 0 {
		s++
	}
	return int32(s)
}

// DueOf reads a follow-up message's due time; ok is false when body is not
// a follow-up.
func DueOf(body string) (due time.Time, ok bool) {
	var m Message
	if json.Unmarshal([]byte(body), &m) != nil || !m.FollowUp {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, m.Due)
	return t, err == nil
}

func (f *FollowUps) now() time.Time {
	if f.Now == nil {
		return time.Now()
	}
	return f.Now()
}
