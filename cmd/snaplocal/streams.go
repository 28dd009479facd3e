package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/snapkeep/snapkeep/infra/awslocal"
	"github.com/snapkeep/snapkeep/infra/local"
)

// sharedStream reads one table's stream for every event source mapping of
// that table (the Runs stream feeds errorrate and notify), so each record
// is fetched from moto once: Pull reads what is new, and each consumer's
// reader (Consumer) hands it what was pulled since its last Read. Each
// mapping keeps its own position, as on AWS; only the fetching is shared.
//
// It reads moto's one shard directly: the stream ARN and shard id are
// looked up once, then each Pull is one GetRecords (moto's streams have
// one shard for ever; awslocal.StreamReader describes the stream on
// every read, which costs a moto request per read and per mapping).
type sharedStream struct {
	table   string
	ddb     *dynamodb.Client
	streams *dynamodbstreams.Client
	region  string

	arn, shard string
	iter       *string
	started    bool
	buffers    [][]local.ShardRecord
}

// getRecordsLimit is GetRecords' Limit; a page shorter than it is the end.
const getRecordsLimit = 1000

func newSharedStream(cfg aws.Config, table string) *sharedStream {
	return &sharedStream{table: table, ddb: dynamodb.NewFromConfig(cfg), streams: dynamodbstreams.NewFromConfig(cfg), region: cfg.Region}
}

// Consumer returns a new mapping's reader of the stream.
func (s *sharedStream) Consumer() local.Stream {
	s.buffers = append(s.buffers, nil)
	return consumer{s: s, i: len(s.buffers) - 1}
}

type consumer struct {
	s *sharedStream
	i int
}

// Read hands over what was pulled since the last Read.
func (c consumer) Read(context.Context) ([]local.ShardRecord, error) {
	out := c.s.buffers[c.i]
	c.s.buffers[c.i] = nil
	return out, nil
}

// Pull reads the records written since the last Pull into every
// consumer's buffer, and returns how many there were.
func (s *sharedStream) Pull(ctx context.Context) (int, error) {
	if err := s.start(ctx); err != nil {
		return 0, err
	}
	n := 0
	for s.iter != nil {
		out, err := s.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: s.iter, Limit: aws.Int32(getRecordsLimit)})
		if err != nil {
			return n, fmt.Errorf("stream of %s: get records: %w", s.table, err)
		}
		for _, rec := range out.Records {
			ev, err := awslocal.EventRecord(rec, s.arn, s.region)
			if err != nil {
				return n, fmt.Errorf("stream of %s: %w", s.table, err)
			}
			for i := range s.buffers {
				s.buffers[i] = append(s.buffers[i], local.ShardRecord{ShardID: s.shard, Record: ev})
			}
			n++
		}
		s.iter = out.NextShardIterator
		if len(out.Records) < getRecordsLimit {
			break
		}
	}
	return n, nil
}

// start finds the stream's one shard and its TRIM_HORIZON iterator.
func (s *sharedStream) start(ctx context.Context) error {
	if s.started {
		return nil
	}
	t, err := s.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)})
	if err != nil {
		return fmt.Errorf("describe table %s: %w", s.table, err)
	}
	if t.Table.LatestStreamArn == nil {
		return fmt.Errorf("table %s has no stream", s.table)
	}
	s.arn = aws.ToString(t.Table.LatestStreamArn)
	d, err := s.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(s.arn)})
	if err != nil {
		return fmt.Errorf("describe stream of %s: %w", s.table, err)
	}
	if n := len(d.StreamDescription.Shards); n != 1 || d.StreamDescription.LastEvaluatedShardId != nil {
		return fmt.Errorf("stream of %s has %d shards: the local runner reads moto's one", s.table, n)
	}
	s.shard = aws.ToString(d.StreamDescription.Shards[0].ShardId)
	it, err := s.streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(s.arn),
		ShardId: aws.String(s.shard), ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon})
	if err != nil {
		return fmt.Errorf("stream of %s: get iterator: %w", s.table, err)
	}
	s.iter, s.started = it.ShardIterator, true
	return nil
}
