package awstest_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
)

func TestMain(m *testing.M) { awstest.Main(m) }

func TestNewCreatesEveryTable(t *testing.T) {
	t.Parallel()
	env := awstest.New(t)
	for _, spec := range dynamo.AllTables() {
		name := env.TableName(spec)
		if !strings.HasPrefix(name, env.Prefix) || !strings.HasSuffix(name, spec.LogicalID) {
			t.Errorf("%s: table name %q, want %q + logical id", spec.LogicalID, name, env.Prefix)
		}
		out, err := env.DynamoDB.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatalf("%s: describe: %v", spec.LogicalID, err)
		}
		if got := aws.ToString(out.Table.KeySchema[0].AttributeName); got != spec.PartitionKey.Name {
			t.Errorf("%s: partition key %q, want %q", spec.LogicalID, got, spec.PartitionKey.Name)
		}
		if got := len(out.Table.GlobalSecondaryIndexes); got != len(spec.Indexes) {
			t.Errorf("%s: %d indexes, want %d", spec.LogicalID, got, len(spec.Indexes))
		}
		streamOn := out.Table.StreamSpecification != nil && aws.ToBool(out.Table.StreamSpecification.StreamEnabled)
		if streamOn != (spec.Stream != "") {
			t.Errorf("%s: stream enabled %v, want a %q stream", spec.LogicalID, streamOn, spec.Stream)
		}
		if spec.TTLAttribute != "" {
			ttl, err := env.DynamoDB.DescribeTimeToLive(context.Background(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
			if err != nil {
				t.Fatalf("%s: describe TTL: %v", spec.LogicalID, err)
			}
			d := ttl.TimeToLiveDescription
			if aws.ToString(d.AttributeName) != spec.TTLAttribute || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
				t.Errorf("%s: TTL %q %s, want %q ENABLED", spec.LogicalID, aws.ToString(d.AttributeName), d.TimeToLiveStatus, spec.TTLAttribute)
			}
		}
	}
}

func TestEnvsAreIsolated(t *testing.T) {
	t.Parallel()
	a, b := awstest.New(t), awstest.New(t)
	if a.TableName(dynamo.Policies) == b.TableName(dynamo.Policies) {
		t.Fatalf("two Envs share table %s", a.TableName(dynamo.Policies))
	}
	put(t, a, dynamo.Policies, map[string]types.AttributeValue{"policy_id": s("p1")})
	out, err := b.DynamoDB.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(b.TableName(dynamo.Policies))})
	if err != nil {
		t.Fatal(err)
	}
	if out.Count != 0 {
		t.Errorf("item written in one Env is visible in another: %d items", out.Count)
	}
}

func TestSetenv(t *testing.T) {
	env := awstest.New(t)
	env.Setenv(t)
	if got, want := os.Getenv(dynamo.Runs.EnvVar), env.TableName(dynamo.Runs); got != want {
		t.Errorf("%s = %q, want %q", dynamo.Runs.EnvVar, got, want)
	}
}

func TestStreamRecords(t *testing.T) {
	t.Parallel()
	env := awstest.New(t)
	ctx := context.Background()
	table := aws.String(env.TableName(dynamo.Runs))
	key := map[string]types.AttributeValue{"policy_id": s("p1"), "scheduled_at": s("2026-11-24T12:00:00Z")}

	if got := env.StreamRecords(t, dynamo.Runs); len(got) != 0 {
		t.Fatalf("fresh table: %d stream records, want 0", len(got))
	}
	put(t, env, dynamo.Runs, map[string]types.AttributeValue{
		"policy_id": s("p1"), "scheduled_at": s("2026-11-24T12:00:00Z"), "status": s("running"), "attempts": &types.AttributeValueMemberN{Value: "1"},
	})
	if _, err := env.DynamoDB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: table, Key: key,
		UpdateExpression:          aws.String("SET #s = :s"),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": s("failed")},
	}); err != nil {
		t.Fatal(err)
	}
	recs := env.StreamRecords(t, dynamo.Runs)
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2 (INSERT, MODIFY): %+v", len(recs), recs)
	}
	ins, mod := recs[0], recs[1]
	if ins.EventName != "INSERT" || mod.EventName != "MODIFY" {
		t.Errorf("event names %s, %s; want INSERT, MODIFY", ins.EventName, mod.EventName)
	}
	if ins.Change.OldImage != nil {
		t.Errorf("INSERT has an OldImage: %v", ins.Change.OldImage)
	}
	if got := ins.Change.NewImage["attempts"].Number(); got != "1" {
		t.Errorf("INSERT NewImage attempts = %q, want 1", got)
	}
	if got := mod.Change.OldImage["status"].String(); got != "running" {
		t.Errorf("MODIFY OldImage status = %q, want running", got)
	}
	if got := mod.Change.NewImage["status"].String(); got != "failed" {
		t.Errorf("MODIFY NewImage status = %q, want failed", got)
	}
	if got := mod.Change.Keys["scheduled_at"].String(); got != "2026-11-24T12:00:00Z" {
		t.Errorf("MODIFY Keys scheduled_at = %q", got)
	}
	for _, r := range recs {
		if r.Change.StreamViewType != "NEW_AND_OLD_IMAGES" || r.EventSource != "aws:dynamodb" ||
			!strings.Contains(r.EventSourceArn, env.TableName(dynamo.Runs)+"/stream/") || r.Change.SequenceNumber == "" || r.AWSRegion == "" {
			t.Errorf("record metadata: %+v", r)
		}
	}
	if !(ins.Change.SequenceNumber < mod.Change.SequenceNumber) {
		t.Errorf("sequence numbers not increasing: %s, %s", ins.Change.SequenceNumber, mod.Change.SequenceNumber)
	}

	var run struct {
		PolicyID string `dynamodbav:"policy_id"`
		Status   string `dynamodbav:"status"`
		Attempts int    `dynamodbav:"attempts"`
	}
	if err := dynamo.UnmarshalStreamImage(mod.Change.NewImage, &run); err != nil {
		t.Fatal(err)
	}
	if run.PolicyID != "p1" || run.Status != "failed" || run.Attempts != 1 {
		t.Errorf("unmarshalled NewImage = %+v", run)
	}

	if got := env.StreamRecords(t, dynamo.Runs); len(got) != 0 {
		t.Errorf("second call returned %d old records, want 0", len(got))
	}
	if _, err := env.DynamoDB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: key}); err != nil {
		t.Fatal(err)
	}
	recs = env.StreamRecords(t, dynamo.Runs)
	if len(recs) != 1 || recs[0].EventName != "REMOVE" {
		t.Fatalf("after delete: %+v, want one REMOVE", recs)
	}
	if recs[0].Change.NewImage != nil || recs[0].Change.OldImage["status"].String() != "failed" {
		t.Errorf("REMOVE images: new %v old %v", recs[0].Change.NewImage, recs[0].Change.OldImage)
	}
	// Other tables' streams are independent.
	put(t, env, dynamo.Policies, map[string]types.AttributeValue{"policy_id": s("p1")})
	if got := env.StreamRecords(t, dynamo.Runs); len(got) != 0 {
		t.Errorf("Runs stream shows a Policies write: %+v", got)
	}
	if got := env.StreamRecords(t, dynamo.Policies); len(got) != 1 || got[0].EventName != "INSERT" {
		t.Errorf("Policies stream: %+v, want one INSERT", got)
	}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func put(t *testing.T, env *awstest.Env, spec dynamo.TableSpec, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := env.DynamoDB.PutItem(context.Background(), &dynamodb.PutItemInput{
		TableName: aws.String(env.TableName(spec)), Item: item,
	}); err != nil {
		t.Fatalf("put %s: %v", spec.LogicalID, err)
	}
}
