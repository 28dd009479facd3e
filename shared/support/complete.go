package support

import (
	"context"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/dynamo"
)

// PolicyScanner is what CompletePolicyIDs needs of *dynamodb.Client, with
// the SDK's own method signatures.
type PolicyScanner interface {
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Completion bounds: a shell waits for the answer.
const (
	// MaxCompletions is the most ids offered.
	MaxCompletions = 200
	// maxCompletionPages bounds the pages a completion reads.
	maxCompletionPages = 3
)

// CompletePolicyIDs returns up to MaxCompletions policy ids starting with
// prefix, sorted, for shell completion. With a customer it queries index
// by-customer (sort key policy_id, so begins_with is a key condition);
// without one it reads the Policies table's ids only (a Scan projecting
// policy_id, at most three pages): the one Scan of this package, bounded,
// and never on a support query's path. Errors give no completions.
func CompletePolicyIDs(ctx context.Context, c PolicyScanner, table, customerID, prefix string) []string {
	var ids []string
	var start map[string]types.AttributeValue
	for page := 0; page < maxCompletionPages && len(ids) < MaxCompletions; page++ {
		items, next, err := completionPage(ctx, c, table, customerID, prefix, start)
		if err != nil {
			return nil
		}
		for _, item := range items {
			var v struct {
				PolicyID string `dynamodbav:"policy_id"`
			}
			if attributevalue.UnmarshalMap(item, &v) == nil && strings.HasPrefix(v.PolicyID, prefix) {
				ids = append(ids, v.PolicyID)
			}
		}
		if len(next) == 0 {
			break
		}
		start = next
	}
	sort.Strings(ids)
	if len(ids) > MaxCompletions {
		ids = ids[:MaxCompletions]
	}
	return ids
}

func completionPage(ctx context.Context, c PolicyScanner, table, customerID, prefix string, start map[string]types.AttributeValue) ([]map[string]types.AttributeValue, map[string]types.AttributeValue, error) {
	names := map[string]string{"#p": "policy_id"}
	values := map[string]types.AttributeValue{}
	if customerID != "" {
		key := "#c = :c"
		names["#c"] = "customer_id"
		values[":c"] = str(customerID)
		if prefix != "" {
			key += " AND begins_with(#p, :p)"
			values[":p"] = str(prefix)
		}
		out, err := c.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String(table), IndexName: aws.String(dynamo.IndexPoliciesByCustomer),
			KeyConditionExpression: aws.String(key), ProjectionExpression: aws.String("#p"),
			ExpressionAttributeNames: names, ExpressionAttributeValues: values,
			ExclusiveStartKey: start, Limit: aws.Int32(MaxCompletions),
		})
		if err != nil {
			return nil, nil, err
		}
		return out.Items, out.LastEvaluatedKey, nil
	}
	in := &dynamodb.ScanInput{
		TableName: aws.String(table), ProjectionExpression: aws.String("#p"),
		ExpressionAttributeNames: names, ExclusiveStartKey: start,
	}
	if prefix != "" {
		in.FilterExpression = aws.String("begins_with(#p, :p)")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":p": str(prefix)}
	}
	out, err := c.Scan(ctx, in)
	if err != nil {
		return nil, nil, err
	}
	return out.Items, out.LastEvaluatedKey, nil
}
