package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// deleteCustomer deletes the customer's item if it exists (a conditional
// DeleteItem); a missing one wraps snapkeep.ErrNotFound.
//
// It stands in for dynamo.CustomerStore.Delete, which the store does not
// have yet; once it does, call that instead.
func deleteCustomer(ctx context.Context, s *dynamo.CustomerStore, customerID string) error {
	_, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:           aws.String(s.Table),
		Key:                 map[string]types.AttributeValue{"customer_id": &types.AttributeValueMemberS{Value: customerID}},
		ConditionExpression: aws.String("attribute_exists(customer_id)"),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("delete customer %q: %w", customerID, snapkeep.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete customer %q: %w", customerID, err)
	}
	return nil
}
