package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/infra/local"
	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/sqsqueue"
)

// TestFollowUpsThroughSQS runs 120 policies on the queued follow-up path
// against moto's SQS (messages held until their due time on the virtual
// clock, as SQS's delay would): every run ends through follow-ups, one
// follow-up lost on purpose is recovered by the backstop sweep, and a
// duplicate delivery checks its run once.
func TestFollowUpsThroughSQS(t *testing.T) {
	policies := 120
	if n := os.Getenv("FOLLOWUP_POLICIES"); n != "" {
		policies, _ = strconv.Atoi(n)
	}
	url, arn := "", ""
	s := newStack(t, stackOpt{followUps: func(aws *awstest.Env, e *env) {
		url, arn = aws.CreateQueue(t, "follow-ups")
		e.FollowUpQueueURL, e.FollowUpNoDelay = url, true
	}})
	ctx := context.Background()
	pols := &dynamo.PolicyStore{Client: s.env.DynamoDB, Table: s.env.TableName(dynamo.Policies)}
	for i := 0; i < policies; i++ {
		d := 5000 + i
		if err := s.fake.AddDroplet(dotest.Droplet{ID: d, Disk: 10}); err != nil {
			t.Fatal(err)
		}
		p := snapkeep.Policy{PolicyID: fmt.Sprintf("q%03d", i), CustomerID: "c1", AccountID: "acct1", Enabled: true,
			Schedule: "rate(1 hour)", Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: fmt.Sprint(d), Region: "nyc3"},
			Retention: snapkeep.Retention{KeepLast: 2}}
		if err := pols.Put(ctx, &p); err != nil {
			t.Fatal(err)
		}
	}
	invoke := func(ctx context.Context, payload []byte) ([]byte, error) {
		out, err := s.h.Handle(ctx, payload)
		if err != nil {
			return nil, err
		}
		return json.Marshal(out)
	}
	q, err := local.NewQueue(local.QueueConfig{Client: s.env.SQS(), QueueURL: url, QueueARN: arn, Invoke: invoke,
		Due: sqsqueue.DueOf, MaxReceives: 5, ReportBatchItemFailures: true})
	if err != nil {
		t.Fatal(err)
	}
	lost := `"policy_id":"q007"`
	q.Drop(func(body string) bool { return strings.Contains(body, lost) })
	for i := 0; i < policies; i++ {
		s.invoke(slotInput(fmt.Sprintf("q%03d", i), slot0))
	}
	// A duplicate of q011's first follow-up, as SQS may deliver one.
	dup := sqsqueue.Message{PolicyID: "q011", ScheduledTime: slot0.Format(snapkeep.SlotTimeFormat), FollowUp: true,
		Due: s.run("q011", slot0).NextCheckAt.Format(time.RFC3339)}
	body, _ := json.Marshal(dup)
	if _, err := s.env.SQS().SendMessage(ctx, sqsSend(url, string(body))); err != nil {
		t.Fatal(err)
	}
	backstop := 0
	for minute := 1; minute <= 120; minute++ {
		s.clock.Set(slot0.Add(time.Duration(minute) * time.Minute))
		if err := q.Tick(ctx, s.clock.Now()); err != nil {
			t.Fatal(err)
		}
		q.Drop(nil) // only the first follow-ups taken off the queue
		if minute%5 == 0 {
			backstop += s.invoke(`{"sweep": true}`).Handled
		}
	}
	for i := 0; i < policies; i++ {
		if r := s.run(fmt.Sprintf("q%03d", i), slot0); r.Status != snapkeep.RunSucceeded {
			t.Errorf("q%03d: %s %s %q", i, r.Status, r.ErrorClass, r.ErrorDetail)
		}
	}
	st := q.Stats()
	if st.Dropped != 1 || backstop < 1 {
		t.Errorf("dropped %d follow-ups, backstop handled %d runs; want the lost one recovered by the backstop", st.Dropped, backstop)
	}
	// A delivery that failed (moto slower than the write timeout on a
	// loaded machine) is delivered again after the visibility timeout;
	// meanwhile the backstop may take its run: at most one run each.
	if backstop > 3+st.Failed {
		t.Errorf("the backstop handled %d runs with %d failed deliveries: the follow-ups should carry all but the lost one", backstop, st.Failed)
	}
	if n, want := countGets(s, "q011"), countGets(s, "q012"); n != want || n == 0 {
		t.Errorf("q011 asked about its action %d times, q012 %d: the duplicate follow-up must check nothing", n, want)
	}
	if st.DeadLettered != 0 {
		t.Errorf("queue stats %+v: no follow-up may end in the dead-letter queue", st)
	}
	t.Logf("queue: %+v; backstop handled %d", st, backstop)
	if st.Failed != 0 {
		for _, line := range strings.Split(s.logs.String(), "\n") {
			if strings.Contains(line, "follow-up failed") {
				t.Log(line)
				break
			}
		}
	}
}

func countGets(s *stack, policy string) int {
	return s.countOps(s.run(policy, slot0), snapkeep.OpGetAction)
}

func sqsSend(url, body string) *sqs.SendMessageInput {
	return &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)}
}
