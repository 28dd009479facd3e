package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/email"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// countingDynamo counts the DynamoDB requests the function makes, by kind.
type countingDynamo struct {
	dynamo.Client
	reads, writes, queries atomic.Int64
}

func (c *countingDynamo) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.reads.Add(1)
	return c.Client.GetItem(ctx, in, o...)
}

func (c *countingDynamo) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.writes.Add(1)
	return c.Client.UpdateItem(ctx, in, o...)
}

func (c *countingDynamo) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.writes.Add(1)
	return c.Client.PutItem(ctx, in, o...)
}

func (c *countingDynamo) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.queries.Add(1)
	return c.Client.Query(ctx, in, o...)
}

type countingSES struct {
	email.Client
	calls atomic.Int64
}

func (c *countingSES) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, o ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	c.calls.Add(1)
	return c.Client.SendEmail(ctx, in, o...)
}

func (c *countingSES) GetSuppressedDestination(ctx context.Context, in *sesv2.GetSuppressedDestinationInput, o ...func(*sesv2.Options)) (*sesv2.GetSuppressedDestinationOutput, error) {
	c.calls.Add(1)
	return c.Client.GetSuppressedDestination(ctx, in, o...)
}

// BenchmarkNoticeRequests hands the function batches of 25 failed runs
// (5 customers, email only) against moto and reports what each failure
// notice costs in requests: DynamoDB reads, writes and queries, and SES
// calls (the suppression check and the send). Time per op is moto's, not
// AWS's.
func BenchmarkNoticeRequests(b *testing.B) {
	db, ses := &countingDynamo{}, &countingSES{}
	s := newStack(b, stackOptions{
		wrapDB:  func(c dynamo.Client) dynamo.Client { db.Client = c; return db },
		wrapSES: func(c email.Client) email.Client { ses.Client = c; return ses },
	})
	ctx := context.Background()
	for c := range 5 {
		id := string(rune('a' + c))
		s.customer(id, snapkeep.NotifyEveryFailure, "")
		s.policy("pol-"+id, id, "nyc3")
	}
	policies := map[string]*snapkeep.Policy{}
	for c := range 5 {
		id := string(rune('a' + c))
		policies[id], _ = s.policies.Get(ctx, "pol-"+id)
	}
	n := 0
	for b.Loop() {
		b.StopTimer()
		for i := range 25 {
			id := string(rune('a' + i%5))
			s.finish(policies[id], slot.Add(time.Duration(n*25+i)*time.Hour), snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded)
		}
		recs := s.env.StreamRecords(b, dynamoRuns)
		var batch []eventRecord
		for _, r := range recs {
			if imageStatus(r.Change.NewImage) == "failed" && imageStatus(r.Change.OldImage) == "in_progress" {
				batch = append(batch, r)
			}
		}
		db.reads.Store(0)
		db.writes.Store(0)
		db.queries.Store(0)
		ses.calls.Store(0)
		b.StartTimer()
		if resp := s.handler.Stream(ctx, eventOf(batch)); len(resp.BatchItemFailures) != 0 {
			b.Fatalf("failures %+v", resp)
		}
		n++
	}
	per := func(v int64) float64 { return float64(v) / 25 }
	b.ReportMetric(per(db.reads.Load()), "dynamodb-reads/notice")
	b.ReportMetric(per(db.writes.Load()), "dynamodb-writes/notice")
	b.ReportMetric(per(db.queries.Load()), "dynamodb-queries/notice")
	b.ReportMetric(per(ses.calls.Load()), "ses-calls/notice")
}
