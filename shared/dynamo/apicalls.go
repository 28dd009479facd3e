package dynamo

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/backoff"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// APICallsClient is the part of *dynamodb.Client APICallStore uses, with
// the SDK's own method signatures.
type APICallsClient interface {
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

var _ APICallsClient = (*dynamodb.Client)(nil)

// Batch writing limits.
const (
	// BatchWriteMax is DynamoDB's limit of items per BatchWriteItem.
	BatchWriteMax = 25
	// unprocessedRetries bounds the retries of a batch's unprocessed items.
	unprocessedRetries = 8
	// unprocessedBackoff is the first wait before retrying unprocessed
	// items; it doubles up to unprocessedBackoffMax.
	unprocessedBackoff    = 50 * time.Millisecond
	unprocessedBackoffMax = 2 * time.Second
)

// startedAtFormat is how started_at is stored: fixed width, UTC, so that
// the failures-by-hour index sorts calls by time (RFC 3339 with a variable
// number of fraction digits does not sort as text: "…:00.5Z" < "…:00Z").
const startedAtFormat = "2006-01-02T15:04:05.000000000Z"

// APICallStore stores snapkeep.APICall items, one per HTTP attempt to
// DigitalOcean, in the ApiCalls table (key run_id + seq). Reads decode
// item by item: an item that is not a readable call is skipped and logged
// with its key, never failing the read.
type APICallStore struct {
	// Client is the DynamoDB client.
	Client APICallsClient
	// Table is the ApiCalls table's name.
	Table string
	// Sleep waits between retries of unprocessed items; nil waits on a
	// timer (returning early with ctx's error when ctx ends).
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger gets one warning per unreadable item a read skips, with its
	// key and why; nil means slog.Default().
	Logger *slog.Logger
}

// Put writes calls with BatchWriteItem, BatchWriteMax at a time, retrying
// the items DynamoDB leaves unprocessed with a bounded exponential backoff.
// Every call needs a RunID and a Seq of 1 or more, and no two calls may
// share them, and no row may be over MaxItemBytes or DynamoDB's key size
// limits (errors wrap snapkeep.ErrInvalid and name the row; nothing is
// written then). An existing item with the same key is replaced, so
// putting the same rows again changes nothing. (25 rows of at most 400 KB
// stay under BatchWriteItem's 16 MB, so batches are split by count only.)
func (s *APICallStore) Put(ctx context.Context, calls []snapkeep.APICall) error {
	type key struct {
		run string
		seq int
	}
	seen := make(map[key]bool, len(calls))
	reqs := make([]types.WriteRequest, 0, len(calls))
	for i := range calls {
		c := &calls[i]
		if c.RunID == "" || c.Seq < 1 {
			return fmt.Errorf("put api calls: call %d: run_id and seq >= 1 are required: %w", i, snapkeep.ErrInvalid)
		}
		k := key{c.RunID, c.Seq}
		if seen[k] {
			return fmt.Errorf("put api calls: call %d: duplicate key %s/%d: %w", i, c.RunID, c.Seq, snapkeep.ErrInvalid)
		}
		seen[k] = true
		item, _, err := marshalAPICall(c)
		if err != nil {
			return fmt.Errorf("put api calls: %w", err)
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	for start := 0; start < len(reqs); start += BatchWriteMax {
		end := min(start+BatchWriteMax, len(reqs))
		if err := s.writeBatch(ctx, reqs[start:end]); err != nil {
			return fmt.Errorf("put api calls %d..%d of %d: %w", start+1, end, len(reqs), err)
		}
	}
	return nil
}

func (s *APICallStore) writeBatch(ctx context.Context, reqs []types.WriteRequest) error {
	pending := map[string][]types.WriteRequest{s.Table: reqs}
	wait := unprocessedBackoff
	for try := 0; ; try++ {
		out, err := s.Client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
		if err != nil {
			return err
		}
		pending = out.UnprocessedItems
		n := 0
		for _, rs := range pending {
			n += len(rs)
		}
		if n == 0 {
			return nil
		}
		if try == unprocessedRetries {
			return fmt.Errorf("%d items still unprocessed after %d retries", n, unprocessedRetries)
		}
		if err := s.sleep(ctx, wait); err != nil {
			return fmt.Errorf("%d items unprocessed: %w", n, err)
		}
		wait = min(2*wait, unprocessedBackoffMax)
	}
}

func (s *APICallStore) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	return backoff.Sleep(ctx, d)
}

// marshalAPICall marshals a call as its ApiCalls row and checks the row
// against DynamoDB's item limits; it returns the row and its size.
func marshalAPICall(c *snapkeep.APICall) (map[string]types.AttributeValue, int, error) {
	item, err := apiCallItem(c)
	if err != nil {
		return nil, 0, err
	}
	size, err := checkItem(func() string { return callName(c) }, APICalls, item)
	if err != nil {
		return nil, 0, err
	}
	return item, size, nil
}

func apiCallItem(c *snapkeep.APICall) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", callName(c), err)
	}
	item["started_at"] = &types.AttributeValueMemberS{Value: c.StartedAt.UTC().Format(startedAtFormat)}
	return item, nil
}

// callName names a call in errors: "api call <run_id>/<seq> (GET /v2/...)".
func callName(c *snapkeep.APICall) string {
	seq := "(new)"
	if c.Seq != 0 {
		seq = strconv.Itoa(c.Seq)
	}
	return fmt.Sprintf("api call %s/%s (%s %s)", c.RunID, seq, c.Method, snapkeep.Bound(c.Path, 128))
}

// ListByRun returns a run's calls in seq order (a consistent read, every
// page), or none.
func (s *APICallStore) ListByRun(ctx context.Context, runID string) ([]snapkeep.APICall, error) {
	calls, err := s.query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.Table),
		KeyConditionExpression:    aws.String("run_id = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: runID}},
		ConsistentRead:            aws.Bool(true),
		ScanIndexForward:          aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("list api calls of run %q: %w", runID, err)
	}
	return calls, nil
}

// ByRequestID returns the calls that got DigitalOcean request id requestID
// (normally one), through the by-request-id index, ordered by run and seq.
func (s *APICallStore) ByRequestID(ctx context.Context, requestID string) ([]snapkeep.APICall, error) {
	if requestID == "" {
		return nil, fmt.Errorf("api calls by request id: empty id: %w", snapkeep.ErrInvalid)
	}
	calls, err := s.query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.Table),
		IndexName:                 aws.String(IndexCallsByRequestID),
		KeyConditionExpression:    aws.String("provider_request_id = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: requestID}},
	})
	if err != nil {
		return nil, fmt.Errorf("api calls by request id %q: %w", requestID, err)
	}
	sort.SliceStable(calls, func(i, j int) bool {
		if calls[i].RunID != calls[j].RunID {
			return calls[i].RunID < calls[j].RunID
		}
		return calls[i].Seq < calls[j].Seq
	})
	return calls, nil
}

// FailuresInHour returns the failed calls that started in hour (as
// snapkeep.FailureHourFormat, UTC, e.g. "2026-11-24T12"), oldest first,
// through the failures-by-hour index.
func (s *APICallStore) FailuresInHour(ctx context.Context, hour string) ([]snapkeep.APICall, error) {
	if _, err := time.Parse(snapkeep.FailureHourFormat, hour); err != nil {
		return nil, fmt.Errorf("failed api calls in hour %q: want %s: %w", hour, snapkeep.FailureHourFormat, snapkeep.ErrInvalid)
	}
	calls, err := s.query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.Table),
		IndexName:                 aws.String(IndexCallsFailuresByHr),
		KeyConditionExpression:    aws.String("failure_hour = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: hour}},
		ScanIndexForward:          aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("failed api calls in hour %q: %w", hour, err)
	}
	return calls, nil
}

// query runs in through every page and decodes the items one by one,
// skipping (and logging) those that do not decode.
func (s *APICallStore) query(ctx context.Context, in *dynamodb.QueryInput) ([]snapkeep.APICall, error) {
	var calls []snapkeep.APICall
	for {
		out, err := s.Client.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, item := range out.Items {
			var c snapkeep.APICall
			if err := decodeItem(item, &c); err != nil {
				s.log().WarnContext(ctx, "skipped an api call item that is not readable",
					"key", BadItem{Key: keyText(item, APICalls)}.KeyText(), "error", err.Error())
				continue
			}
			calls = append(calls, c)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return calls, nil
		}
		next := *in
		next.ExclusiveStartKey = out.LastEvaluatedKey
		in = &next
	}
}

func (s *APICallStore) log() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}
