package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// callsFake is a dynamo.APICallsClient made of function fields.
type callsFake struct {
	batchWriteItem func(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	query          func(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

func (f *callsFake) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	return f.batchWriteItem(ctx, in, optFns...)
}

func (f *callsFake) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return f.query(ctx, in, optFns...)
}

// onePerQuery is the real moto client with every Query limited to one item,
// so that pagination is exercised.
type onePerQuery struct{ *dynamodb.Client }

func (c onePerQuery) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	in.Limit = aws.Int32(1)
	return c.Client.Query(ctx, in, optFns...)
}

var callsStart = time.Date(2026, 11, 24, 12, 58, 59, 0, time.UTC)

// makeCalls returns n calls of run, seq 1..n, 20 seconds apart from
// 12:58:59, every third one failed: seq 3 at 12:59:39, seq 6 at 13:00:39,
// seq 9 at 13:01:39.
func makeCalls(run string, n int) []snapkeep.APICall {
	calls := make([]snapkeep.APICall, n)
	for i := range calls {
		at := callsStart.Add(time.Duration(i) * 20 * time.Second)
		c := snapkeep.APICall{
			RunID: run, Seq: i + 1, PolicyID: "pol-1", ResourceKey: "droplet:3164444", Region: "nyc3",
			Operation: "action_poll", Attempt: 1, Method: "GET", Path: fmt.Sprintf("/v2/actions/%d", i),
			RequestHeaders:    map[string]string{"authorization": snapkeep.Redacted, "accept": "application/json"},
			StatusCode:        200,
			ResponseHeaders:   map[string]string{"x-request-id": fmt.Sprintf("%s-req-%d", run, i+1), "ratelimit-remaining": "4000"},
			StartedAt:         at,
			DurationMS:        int64(100 + i),
			ProviderRequestID: fmt.Sprintf("%s-req-%d", run, i+1),
			ExpiresAt:         at.Add(30 * 24 * time.Hour).Unix(),
		}
		if i%3 == 2 {
			c.StatusCode, c.ErrorID, c.ErrorMessage = 500, "server_error", "Server Error"
			c.FailureHour = at.Format(snapkeep.FailureHourFormat)
		}
		calls[i] = c
	}
	return calls
}

func newAPICallStore(t *testing.T) (*dynamo.APICallStore, *awstest.Env) {
	t.Helper()
	env := awstest.New(t)
	return &dynamo.APICallStore{Client: onePerQuery{env.DynamoDB}, Table: env.TableName(dynamo.APICalls)}, env
}

func TestAPICallStorePutListByRun(t *testing.T) {
	t.Parallel()
	s, _ := newAPICallStore(t)
	ctx := context.Background()
	run := snapkeep.NewRunKey("pol-1", callsStart).RunID()
	want := makeCalls(run, 30) // two batches
	other := makeCalls("pol-2#2026-11-24T12:00:00Z", 2)
	if err := s.Put(ctx, append(append([]snapkeep.APICall(nil), want...), other...)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := s.ListByRun(ctx, run)
	if err != nil {
		t.Fatalf("ListByRun: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("ListByRun returned %d calls, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("call %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	none, err := s.ListByRun(ctx, "pol-9#2026-11-24T12:00:00Z")
	if err != nil || len(none) != 0 {
		t.Errorf("ListByRun of an unknown run = %v, %v; want none", none, err)
	}
}

func TestAPICallStoreByRequestID(t *testing.T) {
	t.Parallel()
	s, _ := newAPICallStore(t)
	ctx := context.Background()
	calls := makeCalls("pol-1#2026-11-24T12:00:00Z", 4)
	calls[3].ProviderRequestID = "" // a transport error: no request id
	calls[3].StatusCode, calls[3].TransportError = 0, "read: connection reset by peer"
	if err := s.Put(ctx, calls); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := s.ByRequestID(ctx, calls[1].ProviderRequestID)
	if err != nil {
		t.Fatalf("ByRequestID: %v", err)
	}
	if len(got) != 1 || !reflect.DeepEqual(got[0], calls[1]) {
		t.Errorf("ByRequestID = %+v, want call 2", got)
	}
	got, err = s.ByRequestID(ctx, "nope")
	if err != nil || len(got) != 0 {
		t.Errorf("ByRequestID(nope) = %v, %v", got, err)
	}
	if _, err := s.ByRequestID(ctx, ""); !errors.Is(err, snapkeep.ErrInvalid) {
		t.Errorf("ByRequestID(\"\") error = %v, want ErrInvalid", err)
	}
}

func TestAPICallStoreFailuresInHour(t *testing.T) {
	t.Parallel()
	s, _ := newAPICallStore(t)
	ctx := context.Background()
	a := makeCalls("pol-1#2026-11-24T12:00:00Z", 9)
	b := makeCalls("pol-2#2026-11-24T12:00:00Z", 3)
	// Half a second after pol-1's seq 6: fractions of a second must still
	// sort by time.
	b[2].StartedAt = time.Date(2026, 11, 24, 13, 0, 39, 500_000_000, time.UTC)
	b[2].FailureHour = "2026-11-24T13"
	if err := s.Put(ctx, append(a, b...)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := s.FailuresInHour(ctx, "2026-11-24T13")
	if err != nil {
		t.Fatalf("FailuresInHour: %v", err)
	}
	var ids []string
	for _, c := range got {
		ids = append(ids, fmt.Sprintf("%s/%d", c.RunID[:5], c.Seq))
	}
	if want := []string{"pol-1/6", "pol-2/3", "pol-1/9"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("FailuresInHour(13) = %v, want %v", ids, want)
	}
	got, err = s.FailuresInHour(ctx, "2026-11-24T12")
	if err != nil || len(got) != 1 || got[0].Seq != 3 || got[0].RunID != a[0].RunID {
		t.Errorf("FailuresInHour(12) = %+v, %v; want pol-1 seq 3", got, err)
	}
	if _, err := s.FailuresInHour(ctx, "2026-11-24 12h"); !errors.Is(err, snapkeep.ErrInvalid) {
		t.Errorf("bad hour error = %v, want ErrInvalid", err)
	}
}

func TestAPICallStorePutInvalid(t *testing.T) {
	t.Parallel()
	s := &dynamo.APICallStore{Table: "t", Client: &callsFake{
		batchWriteItem: func(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
			t.Error("BatchWriteItem called for invalid input")
			return &dynamodb.BatchWriteItemOutput{}, nil
		},
	}}
	dup := makeCalls("r#2026-11-24T12:00:00Z", 2)
	dup[1].Seq = 1
	for name, calls := range map[string][]snapkeep.APICall{
		"no run id": {{Seq: 1}},
		"no seq":    {{RunID: "r#2026-11-24T12:00:00Z"}},
		"duplicate": dup,
	} {
		if err := s.Put(context.Background(), calls); !errors.Is(err, snapkeep.ErrInvalid) {
			t.Errorf("%s: Put error = %v, want ErrInvalid", name, err)
		}
	}
	if err := s.Put(context.Background(), nil); err != nil {
		t.Errorf("Put(nil) = %v", err)
	}
}

func TestAPICallStorePutRetriesUnprocessed(t *testing.T) {
	t.Parallel()
	calls := makeCalls("r#2026-11-24T12:00:00Z", 30)
	var batches []int
	written := map[string]bool{}
	perRequest := 2
	var waits []time.Duration
	s := &dynamo.APICallStore{
		Table: "calls",
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil },
		Client: &callsFake{
			batchWriteItem: func(_ context.Context, in *dynamodb.BatchWriteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
				reqs := in.RequestItems["calls"]
				if len(in.RequestItems) != 1 || len(reqs) == 0 || len(reqs) > dynamo.BatchWriteMax {
					t.Fatalf("BatchWriteItem with %d tables, %d items", len(in.RequestItems), len(reqs))
				}
				batches = append(batches, len(reqs))
				// Process only the first perRequest items of each request.
				n := min(perRequest, len(reqs))
				for _, r := range reqs[:n] {
					item := r.PutRequest.Item
					key := item["run_id"].(*types.AttributeValueMemberS).Value + "/" + item["seq"].(*types.AttributeValueMemberN).Value
					if written[key] {
						t.Errorf("item %s written twice", key)
					}
					written[key] = true
				}
				out := &dynamodb.BatchWriteItemOutput{}
				if n < len(reqs) {
					out.UnprocessedItems = map[string][]types.WriteRequest{"calls": reqs[n:]}
				}
				return out, nil
			},
		},
	}
	err := s.Put(context.Background(), calls[:5])
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if want := []int{5, 3, 1}; !reflect.DeepEqual(batches, want) {
		t.Errorf("batch sizes = %v, want %v", batches, want)
	}
	if want := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}; !reflect.DeepEqual(waits, want) {
		t.Errorf("waits = %v, want %v", waits, want)
	}
	if len(written) != 5 {
		t.Errorf("%d items written, want 5", len(written))
	}

	// 30 calls: chunks of 25 and 5.
	batches, waits, written, perRequest = nil, nil, map[string]bool{}, 10
	if err := s.Put(context.Background(), calls); err != nil {
		t.Fatalf("Put 30: %v", err)
	}
	if want := []int{25, 15, 5, 5}; !reflect.DeepEqual(batches, want) || len(written) != 30 {
		t.Errorf("batches %v, %d written", batches, len(written))
	}
}

func TestAPICallStorePutGivesUp(t *testing.T) {
	t.Parallel()
	tries := 0
	var waits []time.Duration
	s := &dynamo.APICallStore{
		Table: "calls",
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil },
		Client: &callsFake{
			batchWriteItem: func(_ context.Context, in *dynamodb.BatchWriteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
				tries++
				return &dynamodb.BatchWriteItemOutput{UnprocessedItems: in.RequestItems}, nil
			},
		},
	}
	err := s.Put(context.Background(), makeCalls("r#2026-11-24T12:00:00Z", 3))
	if err == nil || !strings.Contains(err.Error(), "3 items still unprocessed") {
		t.Fatalf("Put error = %v, want unprocessed items", err)
	}
	if tries != 9 {
		t.Errorf("%d tries, want 9 (1 + 8 retries)", tries)
	}
	if last := waits[len(waits)-1]; last != 2*time.Second {
		t.Errorf("last wait %s, want capped at 2s; all %v", last, waits)
	}

	// A cancelled context ends the wait with its error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Sleep = nil
	if err := s.Put(ctx, makeCalls("r#2026-11-24T12:00:00Z", 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a cancelled ctx = %v, want context.Canceled", err)
	}
}

func TestAPICallStoreQueryError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	s := &dynamo.APICallStore{Table: "calls", Client: &callsFake{
		query: func(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
			return nil, boom
		},
	}}
	if _, err := s.ListByRun(context.Background(), "r"); !errors.Is(err, boom) || !strings.Contains(err.Error(), `run "r"`) {
		t.Errorf("ListByRun error = %v", err)
	}
}

// TestAPICallStoreSkipsUnreadable: a row with an attribute of the wrong
// type is skipped (and logged with its key); the run's other rows are
// returned.
func TestAPICallStoreSkipsUnreadable(t *testing.T) {
	t.Parallel()
	s, env := newAPICallStore(t)
	var logs strings.Builder
	s.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	ctx := context.Background()
	run := "pol-1#2026-11-24T12:00:00Z"
	if err := s.Put(ctx, makeCalls(run, 3)); err != nil {
		t.Fatal(err)
	}
	_, err := env.DynamoDB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table),
		Key: map[string]types.AttributeValue{
			"run_id": &types.AttributeValueMemberS{Value: run}, "seq": &types.AttributeValueMemberN{Value: "2"},
		},
		UpdateExpression:          aws.String("SET attempt = :a"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": &types.AttributeValueMemberS{Value: "second"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ListByRun(ctx, run)
	if err != nil || len(got) != 2 || got[0].Seq != 1 || got[1].Seq != 3 {
		t.Fatalf("ListByRun = %d calls, %v; want seqs 1 and 3", len(got), err)
	}
	if line := logs.String(); !strings.Contains(line, `seq=\"2\"`) || !strings.Contains(line, "attribute attempt") {
		t.Errorf("log %q does not name the unreadable row", line)
	}
	fails, err := s.FailuresInHour(ctx, "2026-11-24T12")
	if err != nil || len(fails) != 1 {
		t.Errorf("FailuresInHour = %d, %v; want seq 3", len(fails), err)
	}
}

// TestAPICallStorePutTooLarge: a row over DynamoDB's 400 KB is refused
// before any batch is written, naming the row and its size.
func TestAPICallStorePutTooLarge(t *testing.T) {
	t.Parallel()
	s := &dynamo.APICallStore{Table: "t", Client: &callsFake{
		batchWriteItem: func(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
			t.Error("BatchWriteItem called with an oversized row")
			return &dynamodb.BatchWriteItemOutput{}, nil
		},
	}}
	calls := makeCalls("r#2026-11-24T12:00:00Z", 30)
	calls[27].ErrorMessage = strings.Repeat("e", 410*1024)
	err := s.Put(context.Background(), calls)
	if !errors.Is(err, snapkeep.ErrInvalid) || !strings.Contains(err.Error(), "api call r#2026-11-24T12:00:00Z/28 (GET /v2/actions/27): item is 420") {
		t.Errorf("Put error = %v, want ErrInvalid naming row 28 and its size", err)
	}
}
