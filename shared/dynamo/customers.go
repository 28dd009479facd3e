package dynamo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// CustomerStore stores snapkeep.Customer items in the Customers table. Put
// keeps an existing item's created_at the same way PolicyStore.Put does
// (one UpdateItem with if_not_exists).
type CustomerStore struct {
	// Client is the DynamoDB client.
	Client Client
	// Table is the Customers table's name.
	Table string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Get returns the customer with the given id, or an error wrapping
// snapkeep.ErrNotFound.
func (s *CustomerStore) Get(ctx context.Context, customerID string) (*snapkeep.Customer, error) {
	return getItem[snapkeep.Customer](ctx, s.Client, s.Table, map[string]types.AttributeValue{attrCustomerID: &types.AttributeValueMemberS{Value: customerID}}, fmt.Sprintf("customer %q", customerID))
}

// Put creates or replaces the customer. It sets c.UpdatedAt to now; an
// existing item keeps its created_at, a new one gets c.CreatedAt or, when
// that is zero, now. On success c holds the stored CreatedAt and UpdatedAt.
func (s *CustomerStore) Put(ctx context.Context, c *snapkeep.Customer) error {
	if c == nil || c.CustomerID == "" {
		return fmt.Errorf("put customer: customer_id is required: %w", snapkeep.ErrInvalid)
	}
	now := clock(s.Now)
	in := *c
	in.UpdatedAt = now
	if in.CreatedAt.IsZero() {
		in.CreatedAt = now
	}
	item, err := attributevalue.MarshalMap(in)
	if err != nil {
		return fmt.Errorf("put customer %q: encode item: %w", c.CustomerID, err)
	}
	stored, err := putKeepingCreated(ctx, s.Client, s.Table, attrCustomerID, item, customerAttrs)
	if err != nil {
		return fmt.Errorf("put customer %q: %w", c.CustomerID, err)
	}
	var got snapkeep.Customer
	if err := attributevalue.UnmarshalMap(stored, &got); err != nil {
		return fmt.Errorf("put customer %q: decode stored item: %w", c.CustomerID, err)
	}
	c.CreatedAt, c.UpdatedAt = got.CreatedAt, got.UpdatedAt
	return nil
}

// blockAttrs names the Customer attribute that stops each channel.
var blockAttrs = map[string]string{
	snapkeep.ChannelEmail: "email_blocked",
	snapkeep.ChannelSlack: "slack_blocked",
}

// Block records why messages to the customer on channel stopped (a
// suppressed address, a Slack webhook that answers 404 or 410): it sets
// email_blocked or slack_blocked to reason (bounded to 1 KB) and
// updated_at, with one UpdateItem, leaving every other attribute as it
// is. A missing customer is an error wrapping snapkeep.ErrNotFound; an
// unknown channel or an empty reason one wrapping snapkeep.ErrInvalid.
func (s *CustomerStore) Block(ctx context.Context, customerID, channel, reason string) error {
	attr, ok := blockAttrs[channel]
	switch {
	case !ok:
		return fmt.Errorf("block customer %q: channel %q: want email or slack: %w", customerID, channel, snapkeep.ErrInvalid)
	case strings.TrimSpace(reason) == "":
		return fmt.Errorf("block customer %q on %s: the reason is empty: %w", customerID, channel, snapkeep.ErrInvalid)
	}
	now, err := attributevalue.Marshal(clock(s.Now))
	if err != nil {
		return err
	}
	_, err = s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.Table),
		Key:                      map[string]types.AttributeValue{attrCustomerID: &types.AttributeValueMemberS{Value: customerID}},
		UpdateExpression:         aws.String("SET #b = :r, #u = :u"),
		ConditionExpression:      aws.String("attribute_exists(#k)"),
		ExpressionAttributeNames: map[string]string{"#b": attr, "#u": attrUpdatedAt, "#k": attrCustomerID},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":r": &types.AttributeValueMemberS{Value: snapkeep.Bound(reason, maxNoticeError)},
			":u": now,
		},
	})
	if isConditionFailed(err) {
		return fmt.Errorf("block customer %q on %s: %w", customerID, channel, snapkeep.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("block customer %q on %s: %w", customerID, channel, err)
	}
	return nil
}

// Delete deletes the customer's item if it exists (a conditional
// DeleteItem); a missing one is an error wrapping snapkeep.ErrNotFound.
func (s *CustomerStore) Delete(ctx context.Context, customerID string) error {
	_, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:           aws.String(s.Table),
		Key:                 map[string]types.AttributeValue{attrCustomerID: &types.AttributeValueMemberS{Value: customerID}},
		ConditionExpression: aws.String("attribute_exists(customer_id)"),
	})
	if isConditionFailed(err) {
		return fmt.Errorf("delete customer %q: %w", customerID, snapkeep.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete customer %q: %w", customerID, err)
	}
	return nil
}
