package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Bounds of ScanPolicyIDs: DynamoDB allows up to 1,000,000 scan segments;
// a page is kept to at most MaxPolicyScanPage keys.
const (
	MaxPolicyScanPage     = 1000
	MaxPolicyScanSegments = 1000000
)

// ScanPolicyIDs returns one page of policy ids: up to limit keys of scan
// segment `segment` (0-based) of `segments`, from cursor ("" is the
// segment's start), and the cursor of the next page ("" when the segment
// is done).
//
// It is the one place that reads every policy: the schedules reconciler
// (shared/policysync.Reconciler) compares the whole table with Scheduler.
// So it is bounded: one Scan request per call, Limit keys per page, only
// the key projected, an eventually consistent read (the reconciler
// re-reads each policy with a consistent GetItem before acting), and the
// caller paces the calls. Segments make it parallel-safe: each segment is
// a disjoint part of the table that can be paged on its own.
func (s *PolicyStore) ScanPolicyIDs(ctx context.Context, segment, segments, limit int, cursor string) ([]string, string, error) {
	switch {
	case segments < 1 || segments > MaxPolicyScanSegments:
		return nil, "", fmt.Errorf("scan policy ids: %d segments: must be 1-%d", segments, MaxPolicyScanSegments)
	case segment < 0 || segment >= segments:
		return nil, "", fmt.Errorf("scan policy ids: segment %d: must be 0-%d", segment, segments-1)
	case limit < 1 || limit > MaxPolicyScanPage:
		return nil, "", fmt.Errorf("scan policy ids: limit %d: must be 1-%d", limit, MaxPolicyScanPage)
	}
	in := &dynamodb.ScanInput{
		TableName:                aws.String(s.Table),
		Limit:                    aws.Int32(int32(limit)),
		ProjectionExpression:     aws.String("#k"),
		ExpressionAttributeNames: map[string]string{"#k": attrPolicyID},
	}
	if segments > 1 {
		in.Segment, in.TotalSegments = aws.Int32(int32(segment)), aws.Int32(int32(segments))
	}
	if cursor != "" {
		in.ExclusiveStartKey = policyKey(cursor)
	}
	out, err := s.Client.Scan(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("scan policy ids (segment %d of %d): %w", segment, segments, err)
	}
	ids := make([]string, 0, len(out.Items))
	for _, item := range out.Items {
		// The key is a string by the table's schema.
		if v, ok := item[attrPolicyID].(*types.AttributeValueMemberS); ok && v.Value != "" {
			ids = append(ids, v.Value)
		}
	}
	next := ""
	if len(out.LastEvaluatedKey) > 0 {
		v, ok := out.LastEvaluatedKey[attrPolicyID].(*types.AttributeValueMemberS)
		if !ok || v.Value == "" {
			return nil, "", fmt.Errorf("scan policy ids (segment %d of %d): LastEvaluatedKey %v has no string %s", segment, segments, out.LastEvaluatedKey, attrPolicyID)
		}
		next = v.Value
	}
	return ids, next, nil
}
