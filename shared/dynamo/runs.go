package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// TransactMax is DynamoDB's limit of items per TransactWriteItems.
const TransactMax = 100

// RunStore stores snapkeep.Run items in the Runs table and, with each run
// write, the run's ApiCalls rows, so a run's APICalls always equals the
// number of its rows.
//
// Concurrency control is optimistic: every write of a run is a whole-item
// put conditioned on the updated_at and api_calls the writer read. The
// snapshot service makes updated_at strictly increase with every write, so
// it is the run's version; api_calls also moves when an attempt that lost
// the run appends its calls (AppendCalls). Times that are index sort keys
// (next_check_at, finished_at) are stored as whole seconds, so that they
// sort as text.
type RunStore struct {
	// Client is the DynamoDB client.
	Client Client
	// Table is the Runs table's name.
	Table string
	// CallsTable is the ApiCalls table's name.
	CallsTable string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Claim stores run if no run has its key (a conditional put), else returns
// an error wrapping snapkeep.ErrConflict: the slot is someone else's.
func (s *RunStore) Claim(ctx context.Context, run *snapkeep.Run) error {
	item, err := s.runItem(run)
	if err != nil {
		return fmt.Errorf("claim run %s: %w", run.Key(), err)
	}
	_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.Table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(policy_id)"),
	})
	if isConditionFailed(err) {
		return fmt.Errorf("claim run %s: already claimed: %w", run.Key(), snapkeep.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("claim run %s: %w", run.Key(), err)
	}
	return nil
}

// Get returns the run with a strongly consistent read, or an error
// wrapping snapkeep.ErrNotFound.
func (s *RunStore) Get(ctx context.Context, key snapkeep.RunKey) (*snapkeep.Run, error) {
	return getItem[snapkeep.Run](ctx, s.Client, s.Table, runKeyItem(key), "run "+key.String())
}

// Save replaces the stored run with next and writes calls as the run's
// ApiCalls rows (seq prev.APICalls+1, ...), in one TransactWriteItems, if
// the stored run still has prev's updated_at and api_calls; otherwise it
// writes nothing and returns an error wrapping snapkeep.ErrConflict. It
// sets next.APICalls to prev.APICalls+len(calls) and the calls' Seq (and
// RunID when empty). Without calls it is one conditional PutItem. With more
// than TransactMax-1 calls it takes several transactions, each conditioned
// on the previous one; the leading ones move only api_calls (so the Runs
// stream sees the new state once). If a later one fails, the earlier rows
// stay written and counted.
func (s *RunStore) Save(ctx context.Context, prev, next *snapkeep.Run, calls []snapkeep.APICall) error {
	key := next.Key()
	if prev.Key() != key {
		return fmt.Errorf("save run %s: prev is run %s: %w", key, prev.Key(), snapkeep.ErrInvalid)
	}
	if !next.UpdatedAt.After(prev.UpdatedAt) {
		return fmt.Errorf("save run %s: updated_at must increase: %w", key, snapkeep.ErrInvalid)
	}
	for i := range calls {
		if calls[i].RunID == "" {
			calls[i].RunID = key.RunID()
		}
		calls[i].Seq = prev.APICalls + i + 1
	}
	expCalls := prev.APICalls
	for start := 0; ; {
		end := min(start+TransactMax-1, len(calls))
		final := end == len(calls)
		var err error
		if final {
			next.APICalls = prev.APICalls + end
			err = s.saveChunk(ctx, next, prev.UpdatedAt, expCalls, calls[start:end])
		} else {
			err = s.countChunk(ctx, key, prev.UpdatedAt, expCalls, prev.APICalls+end, calls[start:end])
		}
		if err != nil {
			return fmt.Errorf("save run %s: %w", key, err)
		}
		if final {
			return nil
		}
		expCalls = prev.APICalls + end
		start = end
	}
}

// countChunk writes calls and moves only the run's api_calls to total (a
// leading part of a Save with more calls than one transaction holds), so
// the Runs stream sees no premature state change.
func (s *RunStore) countChunk(ctx context.Context, key snapkeep.RunKey, expUpdated time.Time, expCalls, total int, calls []snapkeep.APICall) error {
	updated, err := attributevalue.Marshal(expUpdated.UTC())
	if err != nil {
		return err
	}
	items := make([]types.TransactWriteItem, 0, len(calls)+1)
	items = append(items, types.TransactWriteItem{Update: &types.Update{
		TableName:           aws.String(s.Table),
		Key:                 runKeyItem(key),
		UpdateExpression:    aws.String("SET api_calls = :t"),
		ConditionExpression: aws.String("updated_at = :u AND api_calls = :n"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":u": updated,
			":n": &types.AttributeValueMemberN{Value: strconv.Itoa(expCalls)},
			":t": &types.AttributeValueMemberN{Value: strconv.Itoa(total)},
		},
	}})
	return s.transact(ctx, items, calls)
}

func (s *RunStore) saveChunk(ctx context.Context, next *snapkeep.Run, expUpdated time.Time, expCalls int, calls []snapkeep.APICall) error {
	item, err := s.runItem(next)
	if err != nil {
		return err
	}
	updated, err := attributevalue.Marshal(expUpdated.UTC())
	if err != nil {
		return err
	}
	cond := aws.String("updated_at = :u AND api_calls = :n")
	values := map[string]types.AttributeValue{
		":u": updated,
		":n": &types.AttributeValueMemberN{Value: strconv.Itoa(expCalls)},
	}
	if len(calls) == 0 {
		_, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(s.Table), Item: item,
			ConditionExpression: cond, ExpressionAttributeValues: values,
		})
		if isConditionFailed(err) {
			return fmt.Errorf("changed by another writer: %w", snapkeep.ErrConflict)
		}
		return err
	}
	items := make([]types.TransactWriteItem, 0, len(calls)+1)
	items = append(items, types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(s.Table), Item: item,
		ConditionExpression: cond, ExpressionAttributeValues: values,
	}})
	return s.transact(ctx, items, calls)
}

// transact writes items and the calls' rows in one TransactWriteItems; a
// failed condition is an error wrapping snapkeep.ErrConflict.
func (s *RunStore) transact(ctx context.Context, items []types.TransactWriteItem, calls []snapkeep.APICall) error {
	for i := range calls {
		ci, err := marshalAPICall(&calls[i])
		if err != nil {
			return fmt.Errorf("call %d: %w", calls[i].Seq, err)
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.CallsTable), Item: ci}})
	}
	_, err := s.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return fmt.Errorf("changed by another writer: %w", snapkeep.ErrConflict)
			}
		}
	}
	return err
}

// AppendCalls writes calls as the run's next ApiCalls rows without
// otherwise changing the run: it reserves their seq with an atomic ADD to
// api_calls, then writes the rows with BatchWriteItem. It is for the calls
// of an attempt that lost the run to another, so that no call is lost. A
// missing run is an error wrapping snapkeep.ErrNotFound.
func (s *RunStore) AppendCalls(ctx context.Context, key snapkeep.RunKey, calls []snapkeep.APICall) error {
	if len(calls) == 0 {
		return nil
	}
	out, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       runKeyItem(key),
		UpdateExpression:          aws.String("ADD api_calls :n"),
		ConditionExpression:       aws.String("attribute_exists(policy_id)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: strconv.Itoa(len(calls))}},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if isConditionFailed(err) {
		return fmt.Errorf("append calls to run %s: %w", key, snapkeep.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("append calls to run %s: %w", key, err)
	}
	var total int
	if err := attributevalue.Unmarshal(out.Attributes["api_calls"], &total); err != nil {
		return fmt.Errorf("append calls to run %s: read api_calls: %w", key, err)
	}
	for i := range calls {
		if calls[i].RunID == "" {
			calls[i].RunID = key.RunID()
		}
		calls[i].Seq = total - len(calls) + i + 1
	}
	cs := &APICallStore{Client: s.Client, Table: s.CallsTable}
	if err := cs.Put(ctx, calls); err != nil {
		return fmt.Errorf("append calls to run %s: %w", key, err)
	}
	return nil
}

// DueUnfinished returns up to limit unfinished runs whose next_check_at is
// at or before now, earliest first, from the sparse unfinished index
// (eventually consistent: read the run again before acting on it).
func (s *RunStore) DueUnfinished(ctx context.Context, now time.Time, limit int) ([]snapkeep.Run, error) {
	return s.query(ctx, "due unfinished runs", &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		IndexName:              aws.String(IndexRunsUnfinished),
		KeyConditionExpression: aws.String("unfinished = :u AND next_check_at <= :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":u":   &types.AttributeValueMemberS{Value: snapkeep.UnfinishedShard},
			":now": &types.AttributeValueMemberS{Value: runTime(now.Truncate(time.Second))},
		},
	}, limit)
}

// ListByPolicy returns the policy's runs scheduled at or after since,
// oldest first.
func (s *RunStore) ListByPolicy(ctx context.Context, policyID string, since time.Time) ([]snapkeep.Run, error) {
	return s.query(ctx, "runs of policy "+policyID, &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("policy_id = :k AND scheduled_at >= :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":k": &types.AttributeValueMemberS{Value: policyID},
			":t": &types.AttributeValueMemberS{Value: runTime(since.Truncate(time.Second))},
		},
	}, 0)
}

// ListByCustomer returns the customer's runs scheduled at or after since,
// oldest first (by-customer index).
func (s *RunStore) ListByCustomer(ctx context.Context, customerID string, since time.Time) ([]snapkeep.Run, error) {
	return s.queryIndex(ctx, IndexRunsByCustomer, "customer_id", customerID, "scheduled_at", since)
}

// ListByResource returns the runs of a resource (Resource.Key(), e.g.
// "droplet:3164444") scheduled at or after since, oldest first (by-resource
// index).
func (s *RunStore) ListByResource(ctx context.Context, resourceKey string, since time.Time) ([]snapkeep.Run, error) {
	return s.queryIndex(ctx, IndexRunsByResource, "resource_key", resourceKey, "scheduled_at", since)
}

// Failures returns the runs that failed or timed out with class and
// finished at or after since, oldest first (sparse failures-by-class index).
func (s *RunStore) Failures(ctx context.Context, class snapkeep.ErrorClass, since time.Time) ([]snapkeep.Run, error) {
	return s.queryIndex(ctx, IndexRunsFailures, "error_class", string(class), "finished_at", since)
}

func (s *RunStore) queryIndex(ctx context.Context, index, pk, value, sk string, since time.Time) ([]snapkeep.Run, error) {
	return s.query(ctx, fmt.Sprintf("runs by %s %q", pk, value), &dynamodb.QueryInput{
		TableName:                aws.String(s.Table),
		IndexName:                aws.String(index),
		KeyConditionExpression:   aws.String("#k = :k AND #t >= :t"),
		ExpressionAttributeNames: map[string]string{"#k": pk, "#t": sk},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":k": &types.AttributeValueMemberS{Value: value},
			":t": &types.AttributeValueMemberS{Value: runTime(since.Truncate(time.Second))},
		},
	}, 0)
}

// query runs in page by page up to limit items (0: all).
func (s *RunStore) query(ctx context.Context, what string, in *dynamodb.QueryInput, limit int) ([]snapkeep.Run, error) {
	var runs []snapkeep.Run
	for {
		if limit > 0 {
			in.Limit = aws.Int32(int32(limit - len(runs)))
		}
		out, err := s.Client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", what, err)
		}
		page := make([]snapkeep.Run, 0, len(out.Items))
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &page); err != nil {
			return nil, fmt.Errorf("query %s: decode items: %w", what, err)
		}
		runs = append(runs, page...)
		if len(out.LastEvaluatedKey) == 0 || (limit > 0 && len(runs) >= limit) {
			return runs, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// runItem marshals a run, normalising times to UTC and index sort keys to
// whole seconds.
func (s *RunStore) runItem(run *snapkeep.Run) (map[string]types.AttributeValue, error) {
	r := *run
	r.ScheduledAt = r.ScheduledAt.UTC().Truncate(time.Second)
	if r.RunID == "" {
		r.RunID = r.Key().RunID()
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = clock(s.Now)
	}
	r.UpdatedAt = r.UpdatedAt.UTC()
	r.ClaimedAt = r.ClaimedAt.UTC()
	r.Deadline = r.Deadline.UTC()
	utcPtr := func(t *time.Time, round func(time.Time) time.Time) *time.Time {
		if t == nil {
			return nil
		}
		v := round(t.UTC())
		return &v
	}
	same := func(t time.Time) time.Time { return t }
	r.StartedAt = utcPtr(r.StartedAt, same)
	r.LeaseUntil = utcPtr(r.LeaseUntil, same)
	r.FinishedAt = utcPtr(r.FinishedAt, func(t time.Time) time.Time { return t.Truncate(time.Second) })
	r.NextCheckAt = utcPtr(r.NextCheckAt, func(t time.Time) time.Time {
		if u := t.Truncate(time.Second); !u.Equal(t) {
			return u.Add(time.Second)
		}
		return t
	})
	run.UpdatedAt = r.UpdatedAt
	return attributevalue.MarshalMap(&r)
}

func runKeyItem(key snapkeep.RunKey) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"policy_id":    &types.AttributeValueMemberS{Value: key.PolicyID},
		"scheduled_at": &types.AttributeValueMemberS{Value: runTime(key.ScheduledAt)},
	}
}

// runTime is how the Runs table stores a time (as attributevalue does).
func runTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
