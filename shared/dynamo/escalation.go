package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// EscalationSource is what the escalation report reads (escalation.Source),
// over the stores: the Stats daily roll-ups and minute parts, the ApiCalls
// failures-by-hour index and the Runs by-resource and failures-by-class
// indexes. Every read is a key-range Query of one partition, bounded by
// [from, to); nothing scans.
type EscalationSource struct {
	Stats *StatsStore
	Calls *APICallStore
	Runs  *RunStore
}

var (
	_ escalation.Source = EscalationSource{}
	_ errorrate.DueRuns = (*RunStore)(nil)
)

// callCounts converts the detector's counts to the report's.
func callCounts(c errorrate.Counts) escalation.CallCounts {
	return escalation.CallCounts{Calls: c.Calls, ProviderFailures: c.Failures, RateLimited: c.RateLimited,
		Busy: c.Busy, Customer4xx: c.CustomerErrors}
}

// DailyCounts returns dim's daily roll-ups of the days in [from, to).
func (s EscalationSource) DailyCounts(ctx context.Context, dim snapkeep.Dimension, from, to time.Time) ([]escalation.DayCounts, error) {
	days, err := s.Stats.DailyCounts(ctx, dim, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]escalation.DayCounts, len(days))
	for i, d := range days {
		out[i] = escalation.DayCounts{Day: d.Day, CallCounts: callCounts(d.Counts)}
	}
	return out, nil
}

// WindowCounts sums dim's minute parts of the minutes that start in
// [from, to).
func (s EscalationSource) WindowCounts(ctx context.Context, dim snapkeep.Dimension, from, to time.Time) (escalation.CallCounts, error) {
	agg, err := s.Stats.MinuteCounts(ctx, dim, from, to)
	if err != nil {
		return escalation.CallCounts{}, err
	}
	var sum escalation.CallCounts
	for _, k := range agg.Keys() {
		sum = sum.Add(callCounts(agg.Get(k)))
	}
	return sum, nil
}

// TerminalRuns sums the Runs stream's terminal runs of [from, to).
func (s EscalationSource) TerminalRuns(ctx context.Context, from, to time.Time) (escalation.RunCounts, error) {
	c, err := s.Stats.RunCounts(ctx, from, to)
	if err != nil {
		return escalation.RunCounts{}, err
	}
	return escalation.RunCounts{Succeeded: c.Succeeded, Failed: c.Failed, TimedOut: c.TimedOut, Skipped: c.Skipped}, nil
}

// FailedCalls returns the failed calls that started in hour.
func (s EscalationSource) FailedCalls(ctx context.Context, hour string) ([]snapkeep.APICall, error) {
	return s.Calls.FailuresInHour(ctx, hour)
}

// ResourceRuns returns the resource's runs scheduled in [from, to).
func (s EscalationSource) ResourceRuns(ctx context.Context, resourceKey string, from, to time.Time) ([]snapkeep.Run, error) {
	return s.Runs.ListByResourceBetween(ctx, resourceKey, from, to)
}

// FailedRuns returns the runs that failed with class and finished in
// [from, to).
func (s EscalationSource) FailedRuns(ctx context.Context, class snapkeep.ErrorClass, from, to time.Time) ([]snapkeep.Run, error) {
	return s.Runs.FailuresBetween(ctx, class, from, to)
}

// ListByResourceBetween returns the runs of a resource scheduled in
// [from, to), oldest first (by-resource index, the range in the key
// condition). Unreadable items are skipped and logged.
func (s *RunStore) ListByResourceBetween(ctx context.Context, resourceKey string, from, to time.Time) ([]snapkeep.Run, error) {
	return s.queryBetween(ctx, IndexRunsByResource, "resource_key", resourceKey, "scheduled_at", from, to)
}

// FailuresBetween returns the runs that failed or timed out with class
// and finished in [from, to), oldest first (failures-by-class index).
func (s *RunStore) FailuresBetween(ctx context.Context, class snapkeep.ErrorClass, from, to time.Time) ([]snapkeep.Run, error) {
	return s.queryBetween(ctx, IndexRunsFailures, "error_class", string(class), "finished_at", from, to)
}

// secondRange turns [from, to) into the inclusive range of whole-second
// index sort keys (the Runs table stores them in whole seconds); ok is
// false when no whole second is in it.
func secondRange(from, to time.Time) (lo, hi string, ok bool) {
	first := from.UTC().Truncate(time.Second)
	if first.Before(from) {
		first = first.Add(time.Second)
	}
	last := to.UTC().Truncate(time.Second)
	if last.Equal(to) {
		last = last.Add(-time.Second)
	}
	return runTime(first), runTime(last), !last.Before(first)
}

func (s *RunStore) queryBetween(ctx context.Context, index, pk, value, sk string, from, to time.Time) ([]snapkeep.Run, error) {
	lo, hi, ok := secondRange(from, to)
	if !ok {
		return nil, nil
	}
	what := fmt.Sprintf("runs by %s %q", pk, value)
	return s.query(ctx, what, &dynamodb.QueryInput{
		TableName:                aws.String(s.Table),
		IndexName:                aws.String(index),
		KeyConditionExpression:   aws.String("#k = :k AND #t BETWEEN :lo AND :hi"),
		ExpressionAttributeNames: map[string]string{"#k": pk, "#t": sk},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":k":  &types.AttributeValueMemberS{Value: value},
			":lo": &types.AttributeValueMemberS{Value: lo},
			":hi": &types.AttributeValueMemberS{Value: hi},
		},
	}, 0, s.skip(ctx, what))
}

// FirstDue returns the earliest next_check_at of an unfinished run in
// [from, to] (zero when there is none), for the pipeline rule: one Query
// with Limit 1 of each key of the sharded unfinished index
// (snapkeep.UnfinishedKeys), reading the sort key only.
func (s *RunStore) FirstDue(ctx context.Context, from, to time.Time) (time.Time, error) {
	lo, hi, ok := secondRange(from, to.Add(time.Second))
	if !ok {
		return time.Time{}, nil
	}
	var first time.Time
	for _, key := range snapkeep.UnfinishedKeys() {
		out, err := s.Client.Query(ctx, &dynamodb.QueryInput{
			TableName:                aws.String(s.Table),
			IndexName:                aws.String(IndexRunsUnfinished),
			KeyConditionExpression:   aws.String("unfinished = :u AND next_check_at BETWEEN :lo AND :hi"),
			ProjectionExpression:     aws.String("#n"),
			ExpressionAttributeNames: map[string]string{"#n": "next_check_at"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":u":  &types.AttributeValueMemberS{Value: key},
				":lo": &types.AttributeValueMemberS{Value: lo},
				":hi": &types.AttributeValueMemberS{Value: hi},
			},
			Limit: aws.Int32(1),
		})
		if err != nil {
			return time.Time{}, fmt.Errorf("first due run of %s: %w", key, err)
		}
		for _, item := range out.Items {
			v, _ := item["next_check_at"].(*types.AttributeValueMemberS)
			if v == nil {
				continue
			}
			t, err := time.Parse(time.RFC3339Nano, v.Value)
			if err != nil {
				s.log().WarnContext(ctx, "skipped an unfinished run with an unreadable next_check_at", "value", snapkeep.Bound(v.Value, 64))
				continue
			}
			if first.IsZero() || t.Before(first) {
				first = t
			}
		}
	}
	return first, nil
}
