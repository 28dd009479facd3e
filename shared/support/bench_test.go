package support_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/snapkeep/snapkeep/shared/support"
	"github.com/snapkeep/snapkeep/shared/support/supporttest"
)

// BenchmarkRunsQuery measures a runs query's own cost (building the query,
// decoding a page of DefaultLimit runs) against an in-memory client: the
// CPU and memory snapctl spends per answer besides DynamoDB's round trip.
func BenchmarkRunsQuery(b *testing.B) {
	fx := supporttest.Generate(supporttest.Size{Customers: 1, PoliciesPerCustomer: 4, Slots: 25})
	page := items(b, fx.Runs[:support.DefaultLimit])
	db := &fakeDB{query: func(*dynamodb.QueryInput) (*dynamodb.QueryOutput, error) {
		return &dynamodb.QueryOutput{Items: page, Count: int32(len(page)), ScannedCount: int32(len(page))}, nil
	}}
	q := &support.Queries{DB: db, Tables: support.Tables{Runs: "Runs"}}
	rq := support.RunQuery{Subject: support.Subject{CustomerID: "cust-00"}, Range: support.Since(supporttest.Now, 7*24*time.Hour)}
	b.ReportAllocs()
	for b.Loop() {
		res, err := q.Runs(context.Background(), rq)
		if err != nil || len(res.Runs) != support.DefaultLimit {
			b.Fatalf("%d runs, %v", len(res.Runs), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(support.DefaultLimit), "ns/run")
}

// BenchmarkRunsTable measures laying out and writing DefaultLimit runs as
// the default table.
func BenchmarkRunsTable(b *testing.B) {
	fx := supporttest.Generate(supporttest.Size{Customers: 1, PoliciesPerCustomer: 4, Slots: 25})
	runs := fx.Runs[:support.DefaultLimit]
	b.ReportAllocs()
	for b.Loop() {
		if err := support.RunsTable(runs, nil).WriteText(io.Discard, 80); err != nil {
			b.Fatal(err)
		}
	}
}
