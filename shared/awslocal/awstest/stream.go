package awstest

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/snapkeep/snapkeep/shared/dynamo"
)

// streamReader remembers where the previous StreamRecords call of a table
// stopped: one shard iterator per shard.
type streamReader struct {
	arn   string
	iters map[string]*string // shard id -> next iterator; nil when the shard is closed and drained
}

// StreamRecords returns the records written to spec's table stream since the
// previous call for that table (since the table was created on the first
// call), as Lambda delivers them to a stream handler (events.DynamoDBEventRecord:
// EventName INSERT/MODIFY/REMOVE, Keys, NewImage, OldImage, SequenceNumber,
// StreamViewType, EventSourceArn = the stream ARN). It reads the stream
// through the DynamoDB Streams API.
func (e *Env) StreamRecords(t testing.TB, spec dynamo.TableSpec) []events.DynamoDBEventRecord {
	t.Helper()
	recs, err := e.streamRecords(spec)
	if err != nil {
		t.Fatalf("awstest: stream records of %s: %v", spec.LogicalID, err)
	}
	return recs
}

func (e *Env) streamRecords(spec dynamo.TableSpec) ([]events.DynamoDBEventRecord, error) {
	name, ok := e.Tables[spec.LogicalID]
	if !ok {
		return nil, fmt.Errorf("template.yaml has no table %s", spec.LogicalID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()

	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.readers[spec.LogicalID]
	if r == nil {
		out, err := e.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return nil, fmt.Errorf("describe table %s: %w", name, err)
		}
		if out.Table.LatestStreamArn == nil {
			return nil, fmt.Errorf("table %s has no stream (template.yaml has no StreamSpecification)", name)
		}
		r = &streamReader{arn: aws.ToString(out.Table.LatestStreamArn), iters: map[string]*string{}}
		e.readers[spec.LogicalID] = r
	}

	shards, err := e.shards(ctx, r.arn)
	if err != nil {
		return nil, err
	}
	var recs []events.DynamoDBEventRecord
	for _, shard := range shards {
		id := aws.ToString(shard.ShardId)
		iter, seen := r.iters[id]
		if !seen {
			out, err := e.streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
				StreamArn:         aws.String(r.arn),
				ShardId:           shard.ShardId,
				ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon,
			})
			if err != nil {
				return nil, fmt.Errorf("shard %s: get iterator: %w", id, err)
			}
			iter = out.ShardIterator
		}
		for iter != nil {
			out, err := e.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				return nil, fmt.Errorf("shard %s: get records: %w", id, err)
			}
			for _, rec := range out.Records {
				ev, err := EventRecord(rec, r.arn, e.Config.Region)
				if err != nil {
					return nil, fmt.Errorf("shard %s: %w", id, err)
				}
				recs = append(recs, ev)
			}
			iter = out.NextShardIterator
			if len(out.Records) == 0 {
				break
			}
		}
		r.iters[id] = iter
	}
	return recs, nil
}

// shards lists all shards of a stream, parents before children as
// DescribeStream returns them.
func (e *Env) shards(ctx context.Context, arn string) ([]streamtypes.Shard, error) {
	var shards []streamtypes.Shard
	var start *string
	for {
		out, err := e.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{
			StreamArn:             aws.String(arn),
			ExclusiveStartShardId: start,
		})
		if err != nil {
			return nil, fmt.Errorf("describe stream %s: %w", arn, err)
		}
		shards = append(shards, out.StreamDescription.Shards...)
		start = out.StreamDescription.LastEvaluatedShardId
		if start == nil {
			return shards, nil
		}
	}
}

// EventRecord converts a record read from the DynamoDB Streams API into the
// record Lambda delivers to a stream handler. region is the stack's region;
// streamARN becomes EventSourceArn.
func EventRecord(rec streamtypes.Record, streamARN, region string) (events.DynamoDBEventRecord, error) {
	ev := events.DynamoDBEventRecord{
		AWSRegion:      region,
		EventID:        aws.ToString(rec.EventID),
		EventName:      string(rec.EventName),
		EventSource:    aws.ToString(rec.EventSource),
		EventVersion:   aws.ToString(rec.EventVersion),
		EventSourceArn: streamARN,
	}
	if ev.EventSource == "" {
		ev.EventSource = "aws:dynamodb"
	}
	if id := rec.UserIdentity; id != nil {
		ev.UserIdentity = &events.DynamoDBUserIdentity{Type: aws.ToString(id.Type), PrincipalID: aws.ToString(id.PrincipalId)}
	}
	sr := rec.Dynamodb
	if sr == nil {
		return ev, fmt.Errorf("record %s has no dynamodb stream record", ev.EventID)
	}
	var err error
	if ev.Change.Keys, err = dynamo.ToStreamImage(sr.Keys); err != nil {
		return ev, fmt.Errorf("record %s: Keys: %w", ev.EventID, err)
	}
	if ev.Change.NewImage, err = dynamo.ToStreamImage(sr.NewImage); err != nil {
		return ev, fmt.Errorf("record %s: NewImage: %w", ev.EventID, err)
	}
	if ev.Change.OldImage, err = dynamo.ToStreamImage(sr.OldImage); err != nil {
		return ev, fmt.Errorf("record %s: OldImage: %w", ev.EventID, err)
	}
	if sr.ApproximateCreationDateTime != nil {
		ev.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *sr.ApproximateCreationDateTime}
	}
	ev.Change.SequenceNumber = aws.ToString(sr.SequenceNumber)
	ev.Change.SizeBytes = aws.ToInt64(sr.SizeBytes)
	ev.Change.StreamViewType = string(sr.StreamViewType)
	return ev, nil
}
