package awslocal

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/snapkeep/snapkeep/shared/dynamo"
)

// StreamReader reads one table's DynamoDB stream through the Streams API
// as Lambda's event source mapping does (TRIM_HORIZON, every shard, in
// order), remembering where it stopped in each shard, and hands the records
// over in the shape Lambda delivers them to a stream handler. The test
// harness (awstest) and the local runner (cmd/snaplocal) both use it.
type StreamReader struct {
	ddb     *dynamodb.Client
	streams *dynamodbstreams.Client
	table   string
	region  string

	mu    sync.Mutex
	arn   string
	iters map[string]*string // shard id -> next iterator; nil when the shard is closed and drained
}

// NewStreamReader returns a reader of table's stream through cfg.
func NewStreamReader(cfg aws.Config, table string) *StreamReader {
	return &StreamReader{
		ddb:     dynamodb.NewFromConfig(cfg),
		streams: dynamodbstreams.NewFromConfig(cfg),
		table:   table,
		region:  cfg.Region,
		iters:   map[string]*string{},
	}
}

// Read returns the records written since the previous Read (since the
// table was created, on the first Read), as events.DynamoDBEventRecord:
// EventName INSERT/MODIFY/REMOVE, Keys, NewImage, OldImage, SequenceNumber,
// StreamViewType, EventSourceArn = the stream ARN.
func (r *StreamReader) Read(ctx context.Context) ([]events.DynamoDBEventRecord, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.arn == "" {
		out, err := r.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(r.table)})
		if err != nil {
			return nil, fmt.Errorf("describe table %s: %w", r.table, err)
		}
		if out.Table.LatestStreamArn == nil {
			return nil, fmt.Errorf("table %s has no stream (template.yaml has no StreamSpecification)", r.table)
		}
		r.arn = aws.ToString(out.Table.LatestStreamArn)
	}
	shards, err := r.shards(ctx)
	if err != nil {
		return nil, err
	}
	var recs []events.DynamoDBEventRecord
	for _, shard := range shards {
		id := aws.ToString(shard.ShardId)
		iter, seen := r.iters[id]
		if !seen {
			out, err := r.streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
				StreamArn:         aws.String(r.arn),
				ShardId:           shard.ShardId,
				ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon,
			})
			if err != nil {
				return nil, fmt.Errorf("stream of %s, shard %s: get iterator: %w", r.table, id, err)
			}
			iter = out.ShardIterator
		}
		for iter != nil {
			out, err := r.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				return nil, fmt.Errorf("stream of %s, shard %s: get records: %w", r.table, id, err)
			}
			for _, rec := range out.Records {
				ev, err := EventRecord(rec, r.arn, r.region)
				if err != nil {
					return nil, fmt.Errorf("stream of %s, shard %s: %w", r.table, id, err)
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

// shards lists all shards of the stream, parents before children as
// DescribeStream returns them.
func (r *StreamReader) shards(ctx context.Context) ([]streamtypes.Shard, error) {
	var shards []streamtypes.Shard
	var start *string
	for {
		out, err := r.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{
			StreamArn:             aws.String(r.arn),
			ExclusiveStartShardId: start,
		})
		if err != nil {
			return nil, fmt.Errorf("describe stream of %s: %w", r.table, err)
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
