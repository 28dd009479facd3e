package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
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
