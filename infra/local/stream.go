package local

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/snapkeep/snapkeep/infra/awslocal"
)

// Stream is a table's DynamoDB stream as a Deliverer reads it: each Read
// returns the records written since the previous Read, in stream order
// within each shard, each with the id of its shard. Each Deliverer needs a
// Stream of its own, as each event source mapping has its own iterator.
type Stream interface {
	Read(ctx context.Context) ([]ShardRecord, error)
}

// ShardRecord is a stream record and the shard it was read from.
type ShardRecord struct {
	// ShardID is the stream shard's id.
	ShardID string
	// Record is the record as Lambda hands it to a function.
	Record events.DynamoDBEventRecord
}

// RecordReader reads a table's stream records in order; it is the method
// of *awslocal.StreamReader that TableStream uses.
type RecordReader interface {
	Read(ctx context.Context) ([]events.DynamoDBEventRecord, error)
}

// StreamsAPI is the part of the DynamoDB Streams client TableStream
// calls, with the SDK's signature.
type StreamsAPI interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
}

var (
	_ RecordReader = (*awslocal.StreamReader)(nil)
	_ StreamsAPI   = (*dynamodbstreams.Client)(nil)
	_ Stream       = (*TableStream)(nil)
)

// TableStream is a Stream of one table of the local stack: it reads the
// records with awslocal.StreamReader (every shard, from TRIM_HORIZON, as
// Lambda's event source mapping reads them) and labels them with their
// shard. StreamReader does not say which shard a record came from, so
// TableStream describes the stream and requires it to have one shard, which
// moto's streams always have (one fixed shard id for ever); a stream with
// more shards is an error.
type TableStream struct {
	reader  RecordReader
	streams StreamsAPI
	shard   map[string]string // stream ARN -> its one shard id
}

// NewTableStream returns a Stream of table's stream through cfg.
func NewTableStream(cfg aws.Config, table string) *TableStream {
	return &TableStream{
		reader:  awslocal.NewStreamReader(cfg, table),
		streams: dynamodbstreams.NewFromConfig(cfg),
		shard:   map[string]string{},
	}
}

// NewStream is NewTableStream over any reader and Streams client (tests).
func NewStream(reader RecordReader, streams StreamsAPI) *TableStream {
	return &TableStream{reader: reader, streams: streams, shard: map[string]string{}}
}

// Read returns the records written since the previous Read.
func (s *TableStream) Read(ctx context.Context) ([]ShardRecord, error) {
	recs, err := s.reader.Read(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ShardRecord, 0, len(recs))
	for _, r := range recs {
		id, err := s.shardOf(ctx, r.EventSourceArn)
		if err != nil {
			return nil, err
		}
		out = append(out, ShardRecord{ShardID: id, Record: r})
	}
	return out, nil
}

func (s *TableStream) shardOf(ctx context.Context, arn string) (string, error) {
	if id, ok := s.shard[arn]; ok {
		return id, nil
	}
	var ids []string
	var start *string
	for {
		out, err := s.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn), ExclusiveStartShardId: start})
		if err != nil {
			return "", fmt.Errorf("describe stream %s: %w", arn, err)
		}
		for _, sh := range out.StreamDescription.Shards {
			ids = append(ids, aws.ToString(sh.ShardId))
		}
		if start = out.StreamDescription.LastEvaluatedShardId; start == nil {
			break
		}
	}
	if len(ids) != 1 {
		return "", fmt.Errorf("stream %s has %d shards: the local runner needs awslocal.StreamReader to say which shard each record came from to deliver more than one", arn, len(ids))
	}
	s.shard[arn] = ids[0]
	return ids[0], nil
}
