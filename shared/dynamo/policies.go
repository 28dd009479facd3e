package dynamo

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Attribute names the policy and customer stores write themselves.
const (
	attrPolicyID      = "policy_id"
	attrCustomerID    = "customer_id"
	attrEnabled       = "enabled"
	attrInvalidReason = "invalid_reason"
	attrCreatedAt     = "created_at"
	attrUpdatedAt     = "updated_at"
)

// PolicyStore stores snapkeep.Policy items in the Policies table.
//
// Put writes with a single UpdateItem rather than PutItem: every attribute
// of the policy is SET, attributes the policy no longer has (an omitted
// time zone, a cleared invalid reason, ...) are REMOVEd, and created_at is
// written with if_not_exists, so an existing item keeps the time it was
// first stored without a read-then-write race. The Policies stream sees one
// INSERT or MODIFY record per Put, exactly as with PutItem.
type PolicyStore struct {
	// Client is the DynamoDB client.
	Client Client
	// Table is the Policies table's name.
	Table string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Get returns the policy with the given id, or an error wrapping
// snapkeep.ErrNotFound. An item that cannot be read as a policy (an
// attribute of the wrong type, written around the store, e.g. in the
// console) is an error wrapping snapkeep.ErrInvalid that names the
// attribute, so that functions/schedules marks the policy instead of
// retrying it forever.
func (s *PolicyStore) Get(ctx context.Context, policyID string) (*snapkeep.Policy, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.Table),
		Key:            policyKey(policyID),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get policy %q: %w", policyID, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("get policy %q: %w", policyID, snapkeep.ErrNotFound)
	}
	var p snapkeep.Policy
	if err := attributevalue.UnmarshalMap(out.Item, &p); err != nil {
		return nil, fmt.Errorf("get policy %q: the stored item is not a readable policy: %s: %w", policyID, decodeProblem(out.Item, err), snapkeep.ErrInvalid)
	}
	return &p, nil
}

// decodeProblem names the first attribute (by name) of item that does not
// decode into a Policy, with the decoder's reason; err is the whole item's
// decode error, used when no single attribute is at fault.
func decodeProblem(item map[string]types.AttributeValue, err error) string {
	names := make([]string, 0, len(item))
	for name := range item {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		var p snapkeep.Policy
		if aerr := attributevalue.UnmarshalMap(map[string]types.AttributeValue{name: item[name]}, &p); aerr != nil {
			return fmt.Sprintf("attribute %s: %v", name, aerr)
		}
	}
	return err.Error()
}

// Put creates or replaces the policy. It sets p.UpdatedAt to now; an
// existing item keeps its created_at, a new one gets p.CreatedAt or, when
// that is zero, now. On success p holds the stored CreatedAt and UpdatedAt.
func (s *PolicyStore) Put(ctx context.Context, p *snapkeep.Policy) error {
	if p == nil || p.PolicyID == "" {
		return fmt.Errorf("put policy: policy_id is required: %w", snapkeep.ErrInvalid)
	}
	now := clock(s.Now)
	in := *p
	in.UpdatedAt = now
	if in.CreatedAt.IsZero() {
		in.CreatedAt = now
	}
	item, err := attributevalue.MarshalMap(in)
	if err != nil {
		return fmt.Errorf("put policy %q: encode item: %w", p.PolicyID, err)
	}
	stored, err := putKeepingCreated(ctx, s.Client, s.Table, attrPolicyID, item, policyAttrs)
	if err != nil {
		return fmt.Errorf("put policy %q: %w", p.PolicyID, err)
	}
	var got snapkeep.Policy
	if err := attributevalue.UnmarshalMap(stored, &got); err != nil {
		return fmt.Errorf("put policy %q: decode stored item: %w", p.PolicyID, err)
	}
	p.CreatedAt, p.UpdatedAt = got.CreatedAt, got.UpdatedAt
	return nil
}

// Delete removes the policy, or returns an error wrapping
// snapkeep.ErrNotFound when there is none.
func (s *PolicyStore) Delete(ctx context.Context, policyID string) error {
	_, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                aws.String(s.Table),
		Key:                      policyKey(policyID),
		ConditionExpression:      aws.String("attribute_exists(#k)"),
		ExpressionAttributeNames: map[string]string{"#k": attrPolicyID},
	})
	if isConditionFailed(err) {
		return fmt.Errorf("delete policy %q: %w", policyID, snapkeep.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete policy %q: %w", policyID, err)
	}
	return nil
}

// List returns the customer's policies ordered by policy id, using the
// by-customer index; customerID "" lists every policy (a paginated scan,
// in no particular order).
func (s *PolicyStore) List(ctx context.Context, customerID string) ([]snapkeep.Policy, error) {
	var (
		policies []snapkeep.Policy
		start    map[string]types.AttributeValue
	)
	for {
		var (
			items []map[string]types.AttributeValue
			next  map[string]types.AttributeValue
		)
		if customerID == "" {
			out, err := s.Client.Scan(ctx, &dynamodb.ScanInput{
				TableName:         aws.String(s.Table),
				ExclusiveStartKey: start,
			})
			if err != nil {
				return nil, fmt.Errorf("list policies: %w", err)
			}
			items, next = out.Items, out.LastEvaluatedKey
		} else {
			out, err := s.Client.Query(ctx, &dynamodb.QueryInput{
				TableName:                 aws.String(s.Table),
				IndexName:                 aws.String(IndexPoliciesByCustomer),
				KeyConditionExpression:    aws.String("#c = :c"),
				ExpressionAttributeNames:  map[string]string{"#c": attrCustomerID},
				ExpressionAttributeValues: map[string]types.AttributeValue{":c": &types.AttributeValueMemberS{Value: customerID}},
				ExclusiveStartKey:         start,
			})
			if err != nil {
				return nil, fmt.Errorf("list policies of customer %q: %w", customerID, err)
			}
			items, next = out.Items, out.LastEvaluatedKey
		}
		for _, item := range items {
			var p snapkeep.Policy
			if err := attributevalue.UnmarshalMap(item, &p); err != nil {
				id := ""
				if v, ok := item[attrPolicyID].(*types.AttributeValueMemberS); ok {
					id = v.Value
				}
				return nil, fmt.Errorf("list policies: stored policy %q is not a readable policy: %s: %w", id, decodeProblem(item, err), snapkeep.ErrInvalid)
			}
			policies = append(policies, p)
		}
		if len(next) == 0 {
			return policies, nil
		}
		start = next
	}
}

// SetEnabled pauses (false) or resumes (true) the policy and sets its
// updated_at. It writes only when the flag changes, so pausing a paused
// policy adds no stream record. A missing policy is an error wrapping
// snapkeep.ErrNotFound.
func (s *PolicyStore) SetEnabled(ctx context.Context, policyID string, enabled bool) error {
	now, err := attributevalue.Marshal(clock(s.Now))
	if err != nil {
		return fmt.Errorf("set policy %q enabled=%t: %w", policyID, enabled, err)
	}
	_, err = s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.Table),
		Key:                 policyKey(policyID),
		UpdateExpression:    aws.String("SET #e = :e, #u = :u"),
		ConditionExpression: aws.String("attribute_exists(#k) AND (attribute_not_exists(#e) OR #e <> :e)"),
		ExpressionAttributeNames: map[string]string{
			"#k": attrPolicyID, "#e": attrEnabled, "#u": attrUpdatedAt,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":e": &types.AttributeValueMemberBOOL{Value: enabled},
			":u": now,
		},
	})
	if isConditionFailed(err) {
		// Either the policy is gone or the flag already has this value.
		if gerr := s.mustExist(ctx, policyID); gerr != nil {
			return fmt.Errorf("set policy %q enabled=%t: %w", policyID, enabled, gerr)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("set policy %q enabled=%t: %w", policyID, enabled, err)
	}
	return nil
}

// MarkInvalid records why the stored policy cannot be scheduled; reason ""
// clears the mark. It writes only when invalid_reason differs (a condition
// expression), reporting whether it changed anything, so a marked policy's
// own stream record does not cause another write. It leaves updated_at
// alone: the mark is the system's verdict, not a change to the policy. A
// missing policy is an error wrapping snapkeep.ErrNotFound.
func (s *PolicyStore) MarkInvalid(ctx context.Context, policyID, reason string) (bool, error) {
	in := &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.Table),
		Key:                      policyKey(policyID),
		ExpressionAttributeNames: map[string]string{"#k": attrPolicyID, "#r": attrInvalidReason},
	}
	if reason == "" {
		in.UpdateExpression = aws.String("REMOVE #r")
		in.ConditionExpression = aws.String("attribute_exists(#k) AND attribute_exists(#r)")
	} else {
		in.UpdateExpression = aws.String("SET #r = :r")
		in.ConditionExpression = aws.String("attribute_exists(#k) AND (attribute_not_exists(#r) OR #r <> :r)")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":r": &types.AttributeValueMemberS{Value: reason}}
	}
	_, err := s.Client.UpdateItem(ctx, in)
	if isConditionFailed(err) {
		// Either the policy is gone or the reason is already the same.
		if gerr := s.mustExist(ctx, policyID); gerr != nil {
			return false, fmt.Errorf("mark policy %q invalid: %w", policyID, gerr)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mark policy %q invalid: %w", policyID, err)
	}
	return true, nil
}

func policyKey(policyID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPolicyID: &types.AttributeValueMemberS{Value: policyID}}
}

// policyAttrs and customerAttrs are every attribute the domain types are
// stored under, from their dynamodbav tags.
var (
	policyAttrs   = attrNames(reflect.TypeFor[snapkeep.Policy]())
	customerAttrs = attrNames(reflect.TypeFor[snapkeep.Customer]())
)

// attrNames lists the attribute names of a struct type's dynamodbav tags,
// descending into untagged embedded structs as attributevalue does.
func attrNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("dynamodbav")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			names = append(names, attrNames(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

// itemUpdater is the part of Client putKeepingCreated uses.
type itemUpdater interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// putKeepingCreated writes item under its key attribute with one UpdateItem:
// it SETs every attribute of item (created_at only if the stored item has
// none) and REMOVEs each of known that item lacks. It returns the stored
// item.
func putKeepingCreated(ctx context.Context, c itemUpdater, table, keyAttr string, item map[string]types.AttributeValue, known []string) (map[string]types.AttributeValue, error) {
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	var set, remove []string
	attrs := make([]string, 0, len(item))
	for a := range item {
		attrs = append(attrs, a)
	}
	sort.Strings(attrs) // a stable expression, easier to read in a trace
	for i, a := range attrs {
		if a == keyAttr {
			continue
		}
		n, v := fmt.Sprintf("#a%d", i), fmt.Sprintf(":v%d", i)
		names[n], values[v] = a, item[a]
		if a == attrCreatedAt {
			set = append(set, fmt.Sprintf("%s = if_not_exists(%s, %s)", n, n, v))
		} else {
			set = append(set, n+" = "+v)
		}
	}
	for i, a := range known {
		if _, ok := item[a]; ok || a == keyAttr {
			continue
		}
		n := fmt.Sprintf("#r%d", i)
		names[n] = a
		remove = append(remove, n)
	}
	expr := "SET " + strings.Join(set, ", ")
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
	}
	out, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(table),
		Key:                       map[string]types.AttributeValue{keyAttr: item[keyAttr]},
		UpdateExpression:          aws.String(expr),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if err != nil {
		return nil, err
	}
	return out.Attributes, nil
}

func clock(now func() time.Time) time.Time {
	if now == nil {
		return time.Now().UTC()
	}
	return now().UTC()
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// mustExist returns nil when the policy's item exists, readable or not,
// and snapkeep.ErrNotFound when it does not. It reads only the key.
func (s *PolicyStore) mustExist(ctx context.Context, policyID string) error {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(s.Table),
		Key:                      policyKey(policyID),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#k"),
		ExpressionAttributeNames: map[string]string{"#k": attrPolicyID},
	})
	if err != nil {
		return fmt.Errorf("read policy: %w", err)
	}
	if out.Item == nil {
		return snapkeep.ErrNotFound
	}
	return nil
}
