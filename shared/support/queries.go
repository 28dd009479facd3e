package support

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDB is the part of *dynamodb.Client the queries use, with the SDK's
// own method signatures. It has no Scan on purpose: every read is by key
// or index.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

var _ DynamoDB = (*dynamodb.Client)(nil)

// Tables are the physical table names the queries read (a deployed
// stack's are CloudFormation's, e.g. "snapkeep-prod-RunsTable-1A2B3C").
type Tables struct {
	// Policies is read for a policy's time zone and status.
	Policies string
	// Customers is not queried yet; it is here for the commands around them.
	Customers string
	// Runs is read by its key and its four indexes.
	Runs string
	// APICalls is read by run_id and index by-request-id.
	APICalls string
	// Incidents is read by incident_id and index open.
	Incidents string
}

// Queries answers support's questions from the stack's tables.
type Queries struct {
	// DB is the DynamoDB client.
	DB DynamoDB
	// Tables names the tables.
	Tables Tables
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Trace, when set, is given every read once it is done (all its pages),
	// for --explain and for tests.
	Trace func(Read)
	// Log gets a warning for every stored item a read skips because it does
	// not decode; nil means slog.Default().
	Log *slog.Logger
}

// Read is one logical DynamoDB read: a GetItem, or a Query with all the
// pages it took.
type Read struct {
	// What says in words what was read, e.g. "runs of policy pol-web1".
	What string
	// Query is the first page's input of a Query (nil for a GetItem).
	Query *dynamodb.QueryInput
	// Get is the input of a GetItem (nil for a Query).
	Get *dynamodb.GetItemInput
	// MaxItems is the number of matching items the read stopped at (0: all).
	MaxItems int
	// Pages counts the requests made.
	Pages int
	// Count is how many items DynamoDB returned; Scanned how many it read
	// (more than Count only when a filter dropped some).
	Count, Scanned int
}

// Skipped is a stored item a read passed over because it does not decode
// as what the table holds (an attribute of the wrong type, written by
// hand); its key is kept so ops can find and fix it.
type Skipped struct {
	// Key is the item's key attributes as text, "name=value" pairs.
	Key string
	// Reason says what did not decode.
	Reason string
}

func (q *Queries) now() time.Time {
	if q.Now == nil {
		return time.Now()
	}
	return q.Now()
}

func (q *Queries) log() *slog.Logger {
	if q.Log == nil {
		return slog.Default()
	}
	return q.Log
}

func (q *Queries) trace(r Read) {
	if q.Trace != nil {
		q.Trace(r)
	}
}

// page is what a paged query found: the decoded items, those it skipped,
// and whether it stopped at its limit with more possibly left.
type page[T any] struct {
	Items   []T
	Skipped []Skipped
	More    bool
}

// queryItems runs in page by page, decoding item by item into T, until
// limit items (0: every page). keyNames name the item's key attributes for
// Skipped. in is not changed.
func queryItems[T any](ctx context.Context, q *Queries, what string, in *dynamodb.QueryInput, limit int, keyNames ...string) (page[T], error) {
	var res page[T]
	first := *in
	cur := first
	read := Read{What: what, Query: &first, MaxItems: limit}
	defer func() { q.trace(read) }()
	for {
		if limit > 0 && cur.FilterExpression == nil {
			cur.Limit = aws.Int32(int32(limit - len(res.Items)))
		}
		out, err := q.DB.Query(ctx, &cur)
		if err != nil {
			return res, fmt.Errorf("query %s in table %s: %w", what, aws.ToString(in.TableName), err)
		}
		read.Pages++
		read.Count += int(out.Count)
		read.Scanned += int(out.ScannedCount)
		for _, item := range out.Items {
			if limit > 0 && len(res.Items) == limit {
				res.More = true
				return res, nil
			}
			var v T
			if err := attributevalue.UnmarshalMap(item, &v); err != nil {
				res.Skipped = append(res.Skipped, q.skip(ctx, what, item, firstBadAttr[T](item, err), keyNames))
				continue
			}
			res.Items = append(res.Items, v)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return res, nil
		}
		if limit > 0 && len(res.Items) >= limit {
			res.More = true
			return res, nil
		}
		cur.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// getItem reads one item by key into T; found is false when there is none.
func getItem[T any](ctx context.Context, q *Queries, what, table string, key map[string]types.AttributeValue) (*T, bool, error) {
	in := &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)}
	read := Read{What: what, Get: in, Pages: 1}
	defer func() { q.trace(read) }()
	out, err := q.DB.GetItem(ctx, in)
	if err != nil {
		return nil, false, fmt.Errorf("get %s from table %s: %w", what, table, err)
	}
	if out.Item == nil {
		return nil, false, nil
	}
	read.Count, read.Scanned = 1, 1
	v := new(T)
	if err := attributevalue.UnmarshalMap(out.Item, v); err != nil {
		return nil, false, fmt.Errorf("get %s: the stored item does not decode (%s)", what, firstBadAttr[T](out.Item, err))
	}
	return v, true, nil
}

func (q *Queries) skip(ctx context.Context, what string, item map[string]types.AttributeValue, reason string, keyNames []string) Skipped {
	s := Skipped{Key: keyText(item, keyNames), Reason: reason}
	q.log().WarnContext(ctx, "skipped a stored item that does not decode", "query", what, "key", s.Key, "reason", s.Reason)
	return s
}

// keyText returns the named attributes of item as name="value" pairs.
func keyText(item map[string]types.AttributeValue, names []string) string {
	parts := make([]string, 0, len(names))
	for _, n := range names {
		switch v := item[n].(type) {
		case *types.AttributeValueMemberS:
			parts = append(parts, fmt.Sprintf("%s=%q", n, v.Value))
		case *types.AttributeValueMemberN:
			parts = append(parts, fmt.Sprintf("%s=%s", n, v.Value))
		}
	}
	return strings.Join(parts, " ")
}

// firstBadAttr says which attribute of item does not decode into a T:
// the first by name that fails on its own, else err's text.
func firstBadAttr[T any](item map[string]types.AttributeValue, err error) string {
	names := make([]string, 0, len(item))
	for n := range item {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		var probe T
		if aerr := attributevalue.UnmarshalMap(map[string]types.AttributeValue{n: item[n]}, &probe); aerr != nil {
			return "attribute " + n + ": " + aerr.Error()
		}
	}
	return err.Error()
}

// str is a string attribute value.
func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
