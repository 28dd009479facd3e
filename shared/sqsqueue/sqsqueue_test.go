package sqsqueue_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/sqsqueue"
)

func TestMain(m *testing.M) { awstest.Main(m) }

func TestDelay(t *testing.T) {
	now := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		due  time.Time
		want int32
	}{
		{now.Add(-time.Minute), 0},
		{now, 0},
		{now.Add(1500 * time.Millisecond), 2}, // rounded up: never early
		{now.Add(time.Minute), 60},
		{now.Add(15 * time.Minute), 900},
		{now.Add(6 * time.Hour), 900},
	} {
		if got := sqsqueue.Delay(tc.due, now); got != tc.want {
			t.Errorf("Delay(%s) = %d, want %d", tc.due.Sub(now), got, tc.want)
		}
	}
}

// Against moto's SQS: a follow-up is the snapshot function's queued input,
// delayed until it is due.
func TestSendAgainstMoto(t *testing.T) {
	env := awstest.New(t)
	url, _ := env.CreateQueue(t, "follow-ups")
	now := time.Now().UTC().Truncate(time.Second)
	q := &sqsqueue.FollowUps{Client: env.SQS(), QueueURL: url, Now: func() time.Time { return now }}
	key := snapkeep.NewRunKey("p1", time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC))
	if err := q.Send(context.Background(), key, now); err != nil {
		t.Fatal(err)
	}
	if err := q.Send(context.Background(), key, now.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	out, err := env.SQS().ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("%d messages visible now, want 1 (the other is delayed 10 minutes)", len(out.Messages))
	}
	var m sqsqueue.Message
	if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &m); err != nil {
		t.Fatal(err)
	}
	if m.PolicyID != "p1" || m.ScheduledTime != "2026-11-24T03:00:00Z" || !m.FollowUp || m.Due != now.Format(time.RFC3339) {
		t.Errorf("message %+v", m)
	}
}
