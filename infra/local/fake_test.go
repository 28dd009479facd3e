package local_test

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/infra/local"
)

// fakeStream is a Stream that hands out records the test adds.
type fakeStream struct {
	recs []local.ShardRecord
	next int // sequence numbers from 100
}

func (s *fakeStream) Read(context.Context) ([]local.ShardRecord, error) {
	out := s.recs
	s.recs = nil
	return out, nil
}

const fakeStreamARN = "arn:aws:dynamodb:eu-west-1:111122223333:table/Runs/stream/2026-03-01T00:00:00.000"

// add appends one record per status and returns their sequence numbers.
func (s *fakeStream) add(statuses ...string) []string {
	var seqs []string
	for _, st := range statuses {
		seq := fmt.Sprint(100 + s.next)
		id := fmt.Sprintf("run-%03d", s.next)
		s.next++
		s.recs = append(s.recs, local.ShardRecord{ShardID: "shardId-0001", Record: events.DynamoDBEventRecord{
			EventID: seq, EventName: "INSERT", EventSource: "aws:dynamodb", EventSourceArn: fakeStreamARN, AWSRegion: "eu-west-1",
			Change: events.DynamoDBStreamRecord{
				SequenceNumber:              seq,
				ApproximateCreationDateTime: events.SecondsEpochTime{Time: time.Date(2026, 3, 1, 12, 0, 0, 123e6, time.UTC)},
				Keys:                        map[string]events.DynamoDBAttributeValue{"policy_id": events.NewStringAttribute(id)},
				NewImage: map[string]events.DynamoDBAttributeValue{
					"policy_id": events.NewStringAttribute(id), "status": events.NewStringAttribute(st),
				},
				StreamViewType: "NEW_AND_OLD_IMAGES",
			},
		}})
		seqs = append(seqs, seq)
	}
	return seqs
}
