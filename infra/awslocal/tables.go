package awslocal

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DefaultPrefix is the prefix of local table names: "<prefix><LogicalID>".
const DefaultPrefix = "snapkeep-local-"

// TableAPI is the part of *dynamodb.Client that CreateTables and DeleteTables
// use, with the SDK's method signatures.
type TableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	DeleteTable(ctx context.Context, in *dynamodb.DeleteTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteTableOutput, error)
}

var _ TableAPI = (*dynamodb.Client)(nil)

// CreateTables creates each table of defs as "<prefix><LogicalID>" with
// exactly the template's keys, attribute types, global secondary indexes,
// stream and TTL, and waits until each is active. Tables are on-demand
// (PAY_PER_REQUEST) whatever the template's billing mode. A table that
// already exists is left as it is (its TTL is still set). It returns logical
// id -> physical table name.
func CreateTables(ctx context.Context, client TableAPI, defs []TableDef, prefix string) (map[string]string, error) {
	names := make(map[string]string, len(defs))
	for _, def := range defs {
		name := prefix + def.LogicalID
		if err := createTable(ctx, client, def, name); err != nil {
			return names, fmt.Errorf("create table %s (%s): %w", name, def.LogicalID, err)
		}
		names[def.LogicalID] = name
	}
	return names, nil
}

// CreateTableInput builds the CreateTable request for def named name.
func CreateTableInput(def TableDef, name string) *dynamodb.CreateTableInput {
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   keySchema(def.PartitionKey, def.SortKey),
	}
	attrNames := make([]string, 0, len(def.Attributes))
	for a := range def.Attributes {
		attrNames = append(attrNames, a)
	}
	sort.Strings(attrNames)
	for _, a := range attrNames {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(a),
			AttributeType: types.ScalarAttributeType(def.Attributes[a]),
		})
	}
	for _, idx := range def.Indexes {
		p := &types.Projection{ProjectionType: types.ProjectionType(idx.ProjectionType)}
		if len(idx.NonKeyAttributes) > 0 {
			p.NonKeyAttributes = append([]string(nil), idx.NonKeyAttributes...)
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(idx.Name),
			KeySchema:  keySchema(idx.PartitionKey, idx.SortKey),
			Projection: p,
		})
	}
	if def.StreamViewType != "" {
		in.StreamSpecification = &types.StreamSpecification{
			StreamEnabled:  aws.Bool(true),
			StreamViewType: types.StreamViewType(def.StreamViewType),
		}
	}
	return in
}

func keySchema(hash, rng string) []types.KeySchemaElement {
	ks := []types.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash}}
	if rng != "" {
		ks = append(ks, types.KeySchemaElement{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange})
	}
	return ks
}

func createTable(ctx context.Context, client TableAPI, def TableDef, name string) error {
	_, err := client.CreateTable(ctx, CreateTableInput(def, name))
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return err
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 50 * time.Millisecond
		o.MaxDelay = time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 2*time.Minute); err != nil {
		return fmt.Errorf("wait until active: %w", err)
	}
	if def.TTLAttribute != "" {
		_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName: aws.String(name),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{
				AttributeName: aws.String(def.TTLAttribute),
				Enabled:       aws.Bool(true),
			},
		})
		// DynamoDB refuses to enable TTL that is already enabled.
		if err != nil && !isTTLAlreadyEnabled(ctx, client, name, def.TTLAttribute) {
			return fmt.Errorf("enable TTL on %s: %w", def.TTLAttribute, err)
		}
	}
	return nil
}

// isTTLAlreadyEnabled reports whether TTL on attr is already enabled.
func isTTLAlreadyEnabled(ctx context.Context, client TableAPI, name, attr string) bool {
	out, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil || out.TimeToLiveDescription == nil {
		return false
	}
	ttl := out.TimeToLiveDescription
	return aws.ToString(ttl.AttributeName) == attr &&
		(ttl.TimeToLiveStatus == types.TimeToLiveStatusEnabled || ttl.TimeToLiveStatus == types.TimeToLiveStatusEnabling)
}

// DeleteTables deletes the named tables; tables that do not exist are not
// an error.
func DeleteTables(ctx context.Context, client TableAPI, names map[string]string) error {
	var errs []error
	for _, name := range names {
		_, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		var nf *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &nf) {
			errs = append(errs, fmt.Errorf("delete table %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
