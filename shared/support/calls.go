package support

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// CallsResult is a list of ApiCalls rows.
type CallsResult struct {
	// Calls are the rows, by run and seq.
	Calls []snapkeep.APICall
	// Skipped are rows that do not decode.
	Skipped []Skipped
}

// MaxRequestIDLength bounds a request id asked for (DigitalOcean's are
// UUIDs; stored ones are bounded to snapkeep.MaxProviderText).
const MaxRequestIDLength = snapkeep.MaxProviderText

// CallsOfRun returns the run's DigitalOcean calls in seq order (the
// ApiCalls key, run_id). runID is "<policy_id>#<slot>".
func (q *Queries) CallsOfRun(ctx context.Context, runID string) (*CallsResult, error) {
	if _, err := ParseRunKey(runID, ""); err != nil {
		return nil, err
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(q.Tables.APICalls),
		KeyConditionExpression:    aws.String("run_id = :r"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":r": str(runID)},
		ConsistentRead:            aws.Bool(true),
	}
	p, err := queryItems[snapkeep.APICall](ctx, q, "DigitalOcean calls of run "+runID, in, 0, "run_id", "seq")
	if err != nil {
		return nil, err
	}
	return &CallsResult{Calls: p.Items, Skipped: p.Skipped}, nil
}

// CallsByRequestID returns the calls that got DigitalOcean's request id
// (the x-request-id DigitalOcean support asks about; normally one call),
// through index by-request-id, ordered by run and seq.
func (q *Queries) CallsByRequestID(ctx context.Context, requestID string) (*CallsResult, error) {
	id := strings.TrimSpace(requestID)
	switch {
	case id == "":
		return nil, fmt.Errorf("the request id is empty: %w", snapkeep.ErrInvalid)
	case len(id) > MaxRequestIDLength:
		return nil, fmt.Errorf("the request id is %d bytes, over the %d any stored one has: %w", len(id), MaxRequestIDLength, snapkeep.ErrInvalid)
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(q.Tables.APICalls),
		IndexName:                 aws.String(dynamo.IndexCallsByRequestID),
		KeyConditionExpression:    aws.String("provider_request_id = :r"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":r": str(id)},
	}
	p, err := queryItems[snapkeep.APICall](ctx, q, "DigitalOcean calls with request id "+id, in, 0, "run_id", "seq")
	if err != nil {
		return nil, err
	}
	sort.SliceStable(p.Items, func(i, j int) bool {
		a, b := p.Items[i], p.Items[j]
		if a.RunID != b.RunID {
			return a.RunID < b.RunID
		}
		return a.Seq < b.Seq
	})
	return &CallsResult{Calls: p.Items, Skipped: p.Skipped}, nil
}
