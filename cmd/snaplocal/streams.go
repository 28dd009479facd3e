package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/snapkeep/snapkeep/shared/dynamo"
)

// streamReader reads one table's DynamoDB stream through the Streams API as
// Lambda's event source mapping does (TRIM_HORIZON, every shard, in order),
// remembering where it stopped in each shard.
type streamReader struct {
	ddb     *dynamodb.Client
	streams *dynamodbstreams.Client
	table   string
	region  string
	arn     string
	iters   map[string]*string // shard id -> next iterator
}

func newStreamReader(cfg aws.Config, table string) *streamReader {
	return &streamReader{
		ddb:     dynamodb.NewFromConfig(cfg),
		streams: dynamodbstreams.NewFromConfig(cfg),
		table:   table,
		region:  cfg.Region,
		iters:   map[string]*string{},
	}
}

// Read returns the records written since the previous Read, as Lambda
// delivers them to a stream handler.
func (r *streamReader) Read(ctx context.Context) ([]events.DynamoDBEventRecord, error) {
	if r.arn == "" {
		out, err := r.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(r.table)})
		if err != nil {
			return nil, fmt.Errorf("describe table %s: %w", r.table, err)
		}
		if out.Table.LatestStreamArn == nil {
			return nil, fmt.Errorf("table %s has no stream", r.table)
		}
		r.arn = aws.ToString(out.Table.LatestStreamArn)
	}
	var shards []streamtypes.Shard
	var start *string
	for {
		out, err := r.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(r.arn), ExclusiveStartShardId: start})
		if err != nil {
			return nil, fmt.Errorf("describe stream of %s: %w", r.table, err)
		}
		shards = append(shards, out.StreamDescription.Shards...)
		if start = out.StreamDescription.LastEvaluatedShardId; start == nil {
			break
		}
	}
	var recs []events.DynamoDBEventRecord
	for _, shard := range shards {
		id := aws.ToString(shard.ShardId)
		iter, seen := r.iters[id]
		if !seen {
			out, err := r.streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
				StreamArn: aws.String(r.arn), ShardId: shard.ShardId, ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon,
			})
			if err != nil {
				return nil, fmt.Errorf("stream of %s, shard %s: %w", r.table, id, err)
			}
			iter = out.ShardIterator
		}
		for iter != nil {
			out, err := r.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				return nil, fmt.Errorf("stream of %s, shard %s: get records: %w", r.table, id, err)
			}
			for _, rec := range out.Records {
				ev, err := eventRecord(rec, r.arn, r.region)
				if err != nil {
					return nil, fmt.Errorf("stream of %s: %w", r.table, err)
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

// eventRecord converts a Streams API record to Lambda's event record.
func eventRecord(rec streamtypes.Record, streamARN, region string) (events.DynamoDBEventRecord, error) {
	ev := events.DynamoDBEventRecord{
		AWSRegion:      region,
		EventID:        aws.ToString(rec.EventID),
		EventName:      string(rec.EventName),
		EventSource:    "aws:dynamodb",
		EventVersion:   aws.ToString(rec.EventVersion),
		EventSourceArn: streamARN,
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
