package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// previousLook bounds how many of a policy's latest runs Previous reads to
// find a finished one (an hourly policy rarely has more than one still in
// progress).
const previousLook = 5

// Previous returns the policy's newest finished run scheduled before key's
// slot, or nil when there is none among its previousLook latest. It reads
// the table's own key (policy_id, scheduled_at descending), eventually
// consistent: one read of at most previousLook items.
func (s *RunStore) Previous(ctx context.Context, key snapkeep.RunKey) (*snapkeep.Run, error) {
	what := "previous runs of policy " + key.PolicyID
	runs, err := s.query(ctx, what, &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("policy_id = :k AND scheduled_at < :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":k": &types.AttributeValueMemberS{Value: key.PolicyID},
			":t": &types.AttributeValueMemberS{Value: runTime(key.ScheduledAt)},
		},
		ScanIndexForward: aws.Bool(false),
	}, previousLook, s.skip(ctx, what))
	if err != nil {
		return nil, fmt.Errorf("previous run of %s: %w", key, err)
	}
	for i := range runs {
		if runs[i].Status.Terminal() && runs[i].Status != snapkeep.RunSkipped {
			return &runs[i], nil
		}
	}
	return nil, nil
}
