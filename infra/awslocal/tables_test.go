package awslocal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"reflect"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func uniquePrefix(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "awslocal-test-" + hex.EncodeToString(b) + "-"
}

// describeDef reads a table back from DynamoDB as a TableDef.
func describeDef(t *testing.T, client *dynamodb.Client, logicalID, name string) TableDef {
	t.Helper()
	ctx := context.Background()
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatalf("describe %s: %v", name, err)
	}
	tbl := out.Table
	if tbl.TableStatus != types.TableStatusActive {
		t.Errorf("%s: status %s, want ACTIVE", name, tbl.TableStatus)
	}
	def := TableDef{LogicalID: logicalID, Attributes: map[string]string{}}
	for _, a := range tbl.AttributeDefinitions {
		def.Attributes[aws.ToString(a.AttributeName)] = string(a.AttributeType)
	}
	def.PartitionKey, def.SortKey = sdkKeys(tbl.KeySchema)
	for _, g := range tbl.GlobalSecondaryIndexes {
		idx := IndexDef{Name: aws.ToString(g.IndexName), ProjectionType: string(g.Projection.ProjectionType), NonKeyAttributes: g.Projection.NonKeyAttributes}
		idx.PartitionKey, idx.SortKey = sdkKeys(g.KeySchema)
		def.Indexes = append(def.Indexes, idx)
	}
	sort.Slice(def.Indexes, func(i, j int) bool { return def.Indexes[i].Name < def.Indexes[j].Name })
	if s := tbl.StreamSpecification; s != nil && aws.ToBool(s.StreamEnabled) {
		def.StreamViewType = string(s.StreamViewType)
	}
	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatalf("describe TTL of %s: %v", name, err)
	}
	if d := ttl.TimeToLiveDescription; d != nil && d.TimeToLiveStatus == types.TimeToLiveStatusEnabled {
		def.TTLAttribute = aws.ToString(d.AttributeName)
	}
	return def
}

func sdkKeys(ks []types.KeySchemaElement) (hash, rng string) {
	for _, k := range ks {
		if k.KeyType == types.KeyTypeHash {
			hash = aws.ToString(k.AttributeName)
		} else {
			rng = aws.ToString(k.AttributeName)
		}
	}
	return hash, rng
}

func TestCreateTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path, err := FindTemplate()
	if err != nil {
		t.Fatal(err)
	}
	defs, err := Tables(path)
	if err != nil {
		t.Fatal(err)
	}
	extra, err := ParseTables([]byte(intrinsicsTemplate))
	if err != nil {
		t.Fatal(err)
	}
	defs = append(defs, extra...)
	cfg, err := Config(ctx, sharedMoto.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	client := dynamodb.NewFromConfig(cfg)
	prefix := uniquePrefix(t)

	names, err := CreateTables(ctx, client, defs, prefix)
	t.Cleanup(func() {
		if err := DeleteTables(context.Background(), client, names); err != nil {
			t.Error(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != len(defs) {
		t.Fatalf("created %d tables, want %d", len(names), len(defs))
	}
	for _, def := range defs {
		name := names[def.LogicalID]
		if name != prefix+def.LogicalID {
			t.Errorf("%s: name %q, want %q", def.LogicalID, name, prefix+def.LogicalID)
		}
		want := def
		want.Indexes = append([]IndexDef(nil), def.Indexes...)
		sort.Slice(want.Indexes, func(i, j int) bool { return want.Indexes[i].Name < want.Indexes[j].Name })
		if got := describeDef(t, client, def.LogicalID, name); !reflect.DeepEqual(got, want) {
			t.Errorf("%s in moto =\n%+v\ntemplate:\n%+v", def.LogicalID, got, want)
		}
	}

	// Idempotent: creating again keeps the tables and their items.
	item := map[string]types.AttributeValue{"policy_id": &types.AttributeValueMemberS{Value: "p1"}}
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(names["PoliciesTable"]), Item: item}); err != nil {
		t.Fatal(err)
	}
	again, err := CreateTables(ctx, client, defs, prefix)
	if err != nil {
		t.Fatalf("CreateTables again: %v", err)
	}
	if !reflect.DeepEqual(again, names) {
		t.Errorf("second CreateTables names %v, want %v", again, names)
	}
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(names["PoliciesTable"]), Key: item})
	if err != nil || out.Item == nil {
		t.Errorf("item lost by the second CreateTables: %v %v", out, err)
	}

	if err := DeleteTables(ctx, client, names); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(names["PoliciesTable"])}); err == nil {
		t.Error("table still there after DeleteTables")
	}
	if err := DeleteTables(ctx, client, names); err != nil {
		t.Errorf("DeleteTables of deleted tables: %v", err)
	}
}

func TestCreateTableInput(t *testing.T) {
	def := TableDef{
		LogicalID: "T", Attributes: map[string]string{"b": "N", "a": "S"}, PartitionKey: "a",
		Indexes:        []IndexDef{{Name: "i", PartitionKey: "b", ProjectionType: "KEYS_ONLY"}},
		StreamViewType: "KEYS_ONLY",
	}
	in := CreateTableInput(def, "p-T")
	want := &dynamodb.CreateTableInput{
		TableName:   aws.String("p-T"),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   []types.KeySchemaElement{{AttributeName: aws.String("a"), KeyType: types.KeyTypeHash}},
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("a"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("b"), AttributeType: types.ScalarAttributeTypeN},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String("i"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("b"), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}},
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeKeysOnly},
	}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("CreateTableInput =\n%+v\nwant\n%+v", in, want)
	}
}

func TestConfig(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-central-1")
	cfg, err := Config(context.Background(), "http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-central-1" || aws.ToString(cfg.BaseEndpoint) != "http://127.0.0.1:1" {
		t.Errorf("region %q endpoint %q", cfg.Region, aws.ToString(cfg.BaseEndpoint))
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != FakeAccessKeyID {
		t.Errorf("credentials %+v, %v", creds, err)
	}
	t.Setenv("AWS_REGION", "")
	if cfg, _ := Config(context.Background(), "http://x"); cfg.Region != DefaultRegion {
		t.Errorf("default region %q", cfg.Region)
	}
	if _, err := Config(context.Background(), ""); err == nil {
		t.Error("Config with no endpoint: no error")
	}
}
