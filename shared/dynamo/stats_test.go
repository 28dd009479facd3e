package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// discardLog is a logger that writes nothing.
var discardLog = slog.New(slog.DiscardHandler)

var statsT0 = time.Date(2026, 11, 24, 6, 10, 0, 0, time.UTC)

// statsCall is a call of the tests: minute m after statsT0, in nyc3.
func statsCall(m int, op snapkeep.Operation, class snapkeep.ErrorClass, resource string) snapkeep.APICall {
	return snapkeep.APICall{RunID: "pol#" + resource, Seq: m + 1, Region: "nyc3", Operation: op, Class: class,
		AccountID: "acct-" + resource, ResourceKey: resource, StartedAt: statsT0.Add(time.Duration(m)*time.Minute + 7*time.Second)}
}

func newStats(t *testing.T) (*dynamo.StatsStore, *awstest.Env) {
	env := awstest.New(t)
	return &dynamo.StatsStore{Client: env.DynamoDB, Table: env.TableName(dynamo.Stats), Logger: discardLog}, env
}

// TestStatsParts: the parts of a minute (shards, early-ended window parts)
// add up; a part written again replaces itself; only the asked minutes
// are read; each part writes one item per (dimension, minute).
func TestStatsParts(t *testing.T) {
	ctx := context.Background()
	s, _ := newStats(t)
	first := errorrate.NewAggregate()
	for i, c := range []snapkeep.APICall{
		statsCall(0, snapkeep.OpSnapshotDroplet, "", "droplet:1"),
		statsCall(0, snapkeep.OpSnapshotDroplet, snapkeep.ClassProviderError, "droplet:2"),
		statsCall(1, snapkeep.OpGetAction, snapkeep.ClassRateLimited, "droplet:3"),
		statsCall(2, snapkeep.OpGetAction, "", "droplet:4"), // outside the range read below
	} {
		if err := first.Add(&c); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	second := errorrate.NewAggregate()
	c := statsCall(0, snapkeep.OpSnapshotDroplet, snapkeep.ClassProviderError, "droplet:5")
	if err := second.Add(&c); err != nil {
		t.Fatal(err)
	}
	parts := []struct {
		part dynamo.Part
		agg  *errorrate.Aggregate
	}{
		{dynamo.Part{Shard: "shardId-1", FirstSeq: "100"}, first},
		{dynamo.Part{Shard: "shardId-1", FirstSeq: "100"}, first},  // replayed
		{dynamo.Part{Shard: "shardId-1", FirstSeq: "250"}, second}, // the window's next part
	}
	for _, p := range parts {
		n, err := s.PutCallParts(ctx, p.part, p.agg)
		if err != nil || n != p.agg.Len() {
			t.Fatalf("PutCallParts %+v = %d, %v; want %d items", p.part, n, err, p.agg.Len())
		}
	}
	got, err := s.MinuteCounts(ctx, "operation:snapshot_droplet", statsT0, statsT0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	sd := got.Get(errorrate.Key{Dimension: "operation:snapshot_droplet", Minute: statsT0})
	if got.Len() != 1 || sd.Calls != 3 || sd.Failures != 2 || fmt.Sprint(sd.FailedResources) != "[droplet:2 droplet:5]" {
		t.Errorf("snapshot_droplet minute counts %+v (%d entries), want 3 calls, 2 failures from droplet:2 and :5", sd, got.Len())
	}
	all, err := s.MinuteCounts(ctx, snapkeep.DimensionAll, statsT0, statsT0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if all.Len() != 2 || all.Get(errorrate.Key{Dimension: "all", Minute: statsT0.Add(time.Minute)}).RateLimited != 1 {
		t.Errorf("all: %d minutes %v, want minutes 0 and 1 only, one 429 in minute 1", all.Len(), all.Keys())
	}
	dims, err := s.Dimensions(ctx, statsT0, statsT0)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(dims) != "[all operation:get_action operation:snapshot_droplet region:nyc3]" {
		t.Errorf("registry %v", dims)
	}
	for _, bad := range []dynamo.Part{{Shard: "", FirstSeq: "1"}, {Shard: "a#b", FirstSeq: "1"}} {
		if _, err := s.PutCallParts(ctx, bad, first); !errors.Is(err, snapkeep.ErrInvalid) {
			t.Errorf("part %+v: %v, want ErrInvalid", bad, err)
		}
	}
}

// TestStatsRunParts: terminal runs per minute, summed over parts.
func TestStatsRunParts(t *testing.T) {
	ctx := context.Background()
	s, _ := newStats(t)
	agg := errorrate.NewRunAggregate()
	for i, st := range []snapkeep.RunStatus{snapkeep.RunSucceeded, snapkeep.RunFailed, snapkeep.RunTimedOut} {
		fin := statsT0.Add(time.Duration(i) * time.Second)
		r := snapkeep.Run{RunID: fmt.Sprint(i), CustomerID: fmt.Sprintf("cust-%d", i), Status: st, FinishedAt: &fin}
		if st != snapkeep.RunSucceeded {
			r.ErrorClass = snapkeep.ClassProviderError
		}
		if err := agg.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	for _, seq := range []string{"1", "1", "9"} {
		if _, err := s.PutRunParts(ctx, dynamo.Part{Shard: "s", FirstSeq: seq}, agg); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.RunCounts(ctx, statsT0, statsT0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got.Succeeded != 2 || got.Failed != 2 || got.TimedOut != 2 || got.ProviderFailed != 4 || len(got.Customers) != 2 {
		t.Errorf("run counts %+v, want two parts of one success, one failure, one timeout", got)
	}
}

// TestStatsDailyAndWatch: roll-ups by day range; the Watch is written only
// over the rev it was read at.
func TestStatsDailyAndWatch(t *testing.T) {
	ctx := context.Background()
	s, _ := newStats(t)
	day := statsT0.Truncate(24 * time.Hour)
	for i := 0; i < 3; i++ {
		d := errorrate.DayCounts{Day: day.AddDate(0, 0, -i), Counts: errorrate.Counts{Calls: int64(100 * (i + 1)), Failures: int64(i)}}
		if err := s.PutDaily(ctx, "all", d); err != nil {
			t.Fatal(err)
		}
	}
	days, err := s.DailyCounts(ctx, "all", day.AddDate(0, 0, -1), day.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 2 || days[0].Calls != 200 || !days[1].Day.Equal(day) || days[1].Calls != 100 {
		t.Errorf("daily counts %+v, want yesterday's 200 and today's 100", days)
	}

	if _, err := s.LoadWatch(ctx, "all"); !errors.Is(err, snapkeep.ErrNotFound) {
		t.Fatalf("LoadWatch of none: %v", err)
	}
	w := &errorrate.Watch{Dimension: "all", State: errorrate.State{Dimension: "all", Minute: statsT0, S: 1.5}, Pending: []string{"x"}}
	if err := s.SaveWatch(ctx, w); err != nil || w.Rev != 1 {
		t.Fatalf("SaveWatch new: %v, rev %d", err, w.Rev)
	}
	stale := *w
	stale.Rev = 0
	if err := s.SaveWatch(ctx, &stale); !errors.Is(err, snapkeep.ErrConflict) {
		t.Errorf("SaveWatch over a newer one: %v, want ErrConflict", err)
	}
	got, err := s.LoadWatch(ctx, "all")
	if err != nil {
		t.Fatal(err)
	}
	if got.Rev != 1 || got.State.S != 1.5 || !got.State.Minute.Equal(statsT0) || fmt.Sprint(got.Pending) != "[x]" {
		t.Errorf("loaded %+v", got)
	}
	got.State.S = 2
	if err := s.SaveWatch(ctx, got); err != nil || got.Rev != 2 {
		t.Errorf("SaveWatch at rev 1: %v, rev %d", err, got.Rev)
	}
}

// TestEscalationSourceRanges: the report's reads take [from, to) from the
// key condition, and the pipeline rule's FirstDue finds the earliest due
// run over the index's shards.
func TestEscalationSourceRanges(t *testing.T) {
	ctx := context.Background()
	s, env := newStats(t)
	runs := &dynamo.RunStore{Client: env.DynamoDB, Table: env.TableName(dynamo.Runs), CallsTable: env.TableName(dynamo.APICalls), Logger: discardLog}
	for i := 0; i < 4; i++ {
		slot := statsT0.Add(time.Duration(i) * time.Hour)
		fin := slot.Add(10 * time.Minute)
		next := slot.Add(time.Duration(i) * time.Minute)
		r := &snapkeep.Run{PolicyID: fmt.Sprintf("pol-%d", i), ScheduledAt: slot, CustomerID: "cust", ResourceKey: "droplet:1",
			Status: snapkeep.RunFailed, ErrorClass: snapkeep.ClassProviderError, FinishedAt: &fin, UpdatedAt: slot}
		if i >= 2 {
			r.Status, r.ErrorClass, r.FinishedAt = snapkeep.RunInProgress, "", nil
			r.Unfinished, r.NextCheckAt = snapkeep.UnfinishedKey(fmt.Sprintf("pol-%d#x", i)), &next
		}
		r.RunID = r.Key().RunID()
		if err := runs.Claim(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	src := dynamo.EscalationSource{Stats: s, Calls: &dynamo.APICallStore{Client: env.DynamoDB, Table: env.TableName(dynamo.APICalls)}, Runs: runs}
	got, err := src.ResourceRuns(ctx, "droplet:1", statsT0, statsT0.Add(2*time.Hour))
	if err != nil || len(got) != 2 || got[1].PolicyID != "pol-1" {
		t.Errorf("ResourceRuns [0h, 2h) = %d runs, %v; want pol-0 and pol-1", len(got), err)
	}
	failed, err := src.FailedRuns(ctx, snapkeep.ClassProviderError, statsT0.Add(10*time.Minute), statsT0.Add(70*time.Minute))
	if err != nil || len(failed) != 1 || failed[0].PolicyID != "pol-0" {
		t.Errorf("FailedRuns [0:10, 1:10) = %d runs, %v; want pol-0 only (pol-1 finished at 1:10)", len(failed), err)
	}
	due, err := runs.FirstDue(ctx, statsT0, statsT0.Add(5*time.Hour))
	if err != nil || !due.Equal(statsT0.Add(2*time.Hour+2*time.Minute)) {
		t.Errorf("FirstDue = %s, %v; want pol-2's 08:12", due, err)
	}
	if due, err := runs.FirstDue(ctx, statsT0.Add(2*time.Hour+3*time.Minute), statsT0.Add(5*time.Hour)); err != nil || !due.Equal(statsT0.Add(3*time.Hour+3*time.Minute)) {
		t.Errorf("FirstDue after pol-2's = %s, %v; want pol-3's", due, err)
	}
	if due, _ := runs.FirstDue(ctx, statsT0, statsT0.Add(time.Hour)); !due.IsZero() {
		t.Errorf("FirstDue before any due run = %s, want none", due)
	}
}

// TestStatsSkipsUnreadableItems: an item written around the store is
// logged and left out, never failing the read.
func TestStatsSkipsUnreadableItems(t *testing.T) {
	ctx := context.Background()
	s, env := newStats(t)
	_, err := env.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: map[string]types.AttributeValue{
		"dimension": &types.AttributeValueMemberS{Value: "calls#all"},
		"window":    &types.AttributeValueMemberS{Value: statsT0.Format(errorrate.MinuteFormat) + "#s#1"},
		"calls":     &types.AttributeValueMemberS{Value: "many"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	agg := errorrate.NewAggregate()
	c := statsCall(0, snapkeep.OpGetAction, "", "droplet:1")
	_ = agg.Add(&c)
	if _, err := s.PutCallParts(ctx, dynamo.Part{Shard: "s", FirstSeq: "2"}, agg); err != nil {
		t.Fatal(err)
	}
	got, err := s.MinuteCounts(ctx, "all", statsT0, statsT0.Add(time.Minute))
	if err != nil || got.Get(errorrate.Key{Dimension: "all", Minute: statsT0}).Calls != 1 {
		t.Errorf("MinuteCounts = %v, %v; want the readable part's one call", got.Keys(), err)
	}
}
