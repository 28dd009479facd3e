package awstest

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/infra/awslocal"
	"github.com/snapkeep/snapkeep/shared/dynamo"
)

// StreamRecords returns the records written to spec's table stream since the
// previous call for that table (since the table was created on the first
// call), as Lambda delivers them to a stream handler (events.DynamoDBEventRecord:
// EventName INSERT/MODIFY/REMOVE, Keys, NewImage, OldImage, SequenceNumber,
// StreamViewType, EventSourceArn = the stream ARN). It reads the stream
// through the DynamoDB Streams API (awslocal.StreamReader).
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
	r := e.readers[spec.LogicalID]
	if r == nil {
		r = awslocal.NewStreamReader(e.Config, name)
		e.readers[spec.LogicalID] = r
	}
	e.mu.Unlock()
	return r.Read(ctx)
}

// EventRecord converts a record read from the DynamoDB Streams API into the
// record Lambda delivers to a stream handler; see awslocal.EventRecord.
var EventRecord = awslocal.EventRecord
