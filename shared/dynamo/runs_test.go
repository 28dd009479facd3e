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
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func newRunStore(t *testing.T) (*dynamo.RunStore, *dynamo.APICallStore) {
	env := awstest.New(t)
	rs := &dynamo.RunStore{Client: env.DynamoDB, Table: env.TableName(dynamo.Runs), CallsTable: env.TableName(dynamo.APICalls)}
	return rs, &dynamo.APICallStore{Client: env.DynamoDB, Table: env.TableName(dynamo.APICalls)}
}

var runSlot = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)

func claimRun(policy string, slot time.Time) *snapkeep.Run {
	k := snapkeep.NewRunKey(policy, slot)
	lease := slot.Add(6 * time.Minute)
	return &snapkeep.Run{
		PolicyID: policy, ScheduledAt: slot, RunID: k.RunID(), CustomerID: "c1", AccountID: "a1",
		Resource:    snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "42", Region: "nyc3"},
		ResourceKey: "droplet:42", Trigger: snapkeep.TriggerScheduled, Status: snapkeep.RunClaimed,
		ClaimedAt: slot, Deadline: slot.Add(6 * time.Hour), LeaseUntil: &lease, NextCheckAt: &lease,
		Unfinished: snapkeep.UnfinishedShard, UpdatedAt: slot.Add(123 * time.Nanosecond),
	}
}

func calls(n int) []snapkeep.APICall {
	out := make([]snapkeep.APICall, n)
	for i := range out {
		out[i] = snapkeep.APICall{Operation: "get_action", Attempt: 1, Method: "GET", Path: fmt.Sprintf("/v2/actions/%d", i),
			StatusCode: 200, StartedAt: runSlot.Add(time.Duration(i) * time.Second), ExpiresAt: runSlot.Unix() + 86400}
	}
	return out
}

func TestRunStoreClaimGetSave(t *testing.T) {
	ctx := context.Background()
	rs, cs := newRunStore(t)
	run := claimRun("p1", runSlot)
	if err := rs.Claim(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := rs.Claim(ctx, claimRun("p1", runSlot)); !errors.Is(err, snapkeep.ErrConflict) {
		t.Fatalf("second claim: %v, want ErrConflict", err)
	}
	got, err := rs.Get(ctx, run.Key())
	if err != nil {
		t.Fatal(err)
	}
	if !got.UpdatedAt.Equal(run.UpdatedAt) || got.Status != snapkeep.RunClaimed || got.ResourceKey != "droplet:42" {
		t.Fatalf("got %+v", got)
	}
	if _, err := rs.Get(ctx, snapkeep.NewRunKey("p1", runSlot.Add(time.Hour))); !errors.Is(err, snapkeep.ErrNotFound) {
		t.Errorf("missing run: %v", err)
	}

	// Save with calls: the rows are numbered after the run's count.
	next := *got
	next.Status = snapkeep.RunInProgress
	next.ActionID = 1900000001
	next.UpdatedAt = got.UpdatedAt.Add(time.Nanosecond)
	if err := rs.Save(ctx, got, &next, calls(2)); err != nil {
		t.Fatal(err)
	}
	if next.APICalls != 2 {
		t.Errorf("api_calls = %d", next.APICalls)
	}
	// A writer holding the old version loses, and writes nothing.
	stale := *got
	stale.UpdatedAt = got.UpdatedAt.Add(2 * time.Nanosecond)
	if err := rs.Save(ctx, got, &stale, calls(1)); !errors.Is(err, snapkeep.ErrConflict) {
		t.Fatalf("stale save: %v, want ErrConflict", err)
	}
	// Another attempt appends its calls: seq 3.
	if err := rs.AppendCalls(ctx, run.Key(), calls(1)); err != nil {
		t.Fatal(err)
	}
	cur, _ := rs.Get(ctx, run.Key())
	if cur.APICalls != 3 || cur.ActionID != 1900000001 {
		t.Fatalf("after append: %+v", cur)
	}
	// The owner's save against the pre-append count conflicts.
	fin := next
	fin.UpdatedAt = next.UpdatedAt.Add(time.Second)
	if err := rs.Save(ctx, &next, &fin, calls(1)); !errors.Is(err, snapkeep.ErrConflict) {
		t.Fatalf("save after append: %v", err)
	}
	// Terminal with 150 calls: more than one save holds, so the first 51
	// are appended ahead (seqs 4..54) and the save writes the last 99.
	now := runSlot.Add(10 * time.Minute)
	fin.Status, fin.FinishedAt, fin.Unfinished, fin.NextCheckAt, fin.LeaseUntil = snapkeep.RunFailed, &now, "", nil, nil
	fin.ErrorClass = snapkeep.ClassProviderError
	many := calls(150)
	if err := rs.Save(ctx, cur, &fin, many); !errors.Is(err, snapkeep.ErrInvalid) {
		t.Fatalf("save of 150 calls: %v, want ErrInvalid", err)
	}
	if err := rs.AppendCalls(ctx, run.Key(), many[:150-dynamo.MaxSaveCalls]); err != nil {
		t.Fatal(err)
	}
	if cur, err = rs.Get(ctx, run.Key()); err != nil {
		t.Fatal(err)
	}
	if err := rs.Save(ctx, cur, &fin, many[150-dynamo.MaxSaveCalls:]); err != nil {
		t.Fatal(err)
	}
	rows, err := cs.ListByRun(ctx, run.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 153 || fin.APICalls != 153 {
		t.Errorf("%d rows, api_calls %d, want 153", len(rows), fin.APICalls)
	}
	for i, c := range rows {
		if c.Seq != i+1 || c.RunID != run.RunID {
			t.Fatalf("row %d: seq %d run %q", i, c.Seq, c.RunID)
		}
	}
	final, _ := rs.Get(ctx, run.Key())
	if final.Unfinished != "" || final.NextCheckAt != nil || final.Status != snapkeep.RunFailed || final.APICalls != 153 {
		t.Errorf("final %+v", final)
	}
	fails, err := rs.Failures(ctx, snapkeep.ClassProviderError, runSlot)
	if err != nil || len(fails) != 1 {
		t.Errorf("failures: %d, %v", len(fails), err)
	}
	due, _, err := rs.DueUnfinished(ctx, runSlot.Add(24*time.Hour), 10)
	if err != nil || len(due) != 0 {
		t.Errorf("a terminal run is due: %d, %v", len(due), err)
	}
}

func TestRunStoreQueries(t *testing.T) {
	ctx := context.Background()
	rs, _ := newRunStore(t)
	for i := 0; i < 5; i++ {
		r := claimRun("p1", runSlot.Add(time.Duration(i)*time.Hour))
		next := runSlot.Add(time.Duration(i)*time.Hour + 90*time.Second + 500*time.Millisecond) // rounded up to whole seconds
		r.NextCheckAt = &next
		if err := rs.Claim(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	other := claimRun("p2", runSlot)
	other.CustomerID, other.ResourceKey, other.Resource.ID = "c2", "droplet:43", "43"
	if err := rs.Claim(ctx, other); err != nil {
		t.Fatal(err)
	}
	due, _, err := rs.DueUnfinished(ctx, runSlot.Add(2*time.Hour+91*time.Second), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 4 { // p1 at 0h, 1h, 2h and p2
		t.Errorf("%d due, want 4", len(due))
	}
	due, _, err = rs.DueUnfinished(ctx, runSlot.Add(2*time.Hour+90*time.Second), 100)
	if err != nil || len(due) != 3 {
		t.Errorf("%d due just before the 2h run's check (rounded up), want 3: %v", len(due), err)
	}
	limited, _, err := rs.DueUnfinished(ctx, runSlot.Add(24*time.Hour), 2)
	if err != nil || len(limited) != 2 {
		t.Errorf("limit 2: %d, %v", len(limited), err)
	}
	for _, tc := range []struct {
		name string
		f    func() ([]snapkeep.Run, error)
		want int
	}{
		{"by policy", func() ([]snapkeep.Run, error) { return rs.ListByPolicy(ctx, "p1", runSlot.Add(time.Hour)) }, 4},
		{"by customer", func() ([]snapkeep.Run, error) { return rs.ListByCustomer(ctx, "c1", runSlot) }, 5},
		{"by resource", func() ([]snapkeep.Run, error) { return rs.ListByResource(ctx, "droplet:43", runSlot) }, 1},
		{"failures", func() ([]snapkeep.Run, error) { return rs.Failures(ctx, snapkeep.ClassNetwork, runSlot) }, 0},
	} {
		got, err := tc.f()
		if err != nil || len(got) != tc.want {
			t.Errorf("%s: %d, %v; want %d", tc.name, len(got), err, tc.want)
		}
	}
}

// dbFake is a dynamo.Client made of function fields; a call to a nil field
// fails the test.
type dbFake struct {
	t                  testing.TB
	getItem            func(context.Context, *dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error)
	putItem            func(context.Context, *dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error)
	updateItem         func(context.Context, *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error)
	query              func(context.Context, *dynamodb.QueryInput) (*dynamodb.QueryOutput, error)
	batchWriteItem     func(context.Context, *dynamodb.BatchWriteItemInput) (*dynamodb.BatchWriteItemOutput, error)
	transactWriteItems func(context.Context, *dynamodb.TransactWriteItemsInput) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ dynamo.Client = (*dbFake)(nil)

func (f *dbFake) unexpected(op string) error {
	f.t.Helper()
	f.t.Errorf("unexpected %s", op)
	return fmt.Errorf("dbFake: unexpected %s", op)
}

func (f *dbFake) GetItem(ctx context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if f.getItem == nil {
		return nil, f.unexpected("GetItem")
	}
	return f.getItem(ctx, in)
}

func (f *dbFake) PutItem(ctx context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if f.putItem == nil {
		return nil, f.unexpected("PutItem")
	}
	return f.putItem(ctx, in)
}

func (f *dbFake) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if f.updateItem == nil {
		return nil, f.unexpected("UpdateItem")
	}
	return f.updateItem(ctx, in)
}

func (f *dbFake) DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return nil, f.unexpected("DeleteItem")
}

func (f *dbFake) Query(ctx context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	if f.query == nil {
		return nil, f.unexpected("Query")
	}
	return f.query(ctx, in)
}

func (f *dbFake) Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	return nil, f.unexpected("Scan")
}

func (f *dbFake) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	if f.batchWriteItem == nil {
		return nil, f.unexpected("BatchWriteItem")
	}
	return f.batchWriteItem(ctx, in)
}

func (f *dbFake) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if f.transactWriteItems == nil {
		return nil, f.unexpected("TransactWriteItems")
	}
	return f.transactWriteItems(ctx, in)
}

// flakyDB is the moto client whose BatchWriteItem and TransactWriteItems
// calls with the given 1-based numbers fail as throttled, writing nothing.
type flakyDB struct {
	*dynamodb.Client
	failBatch, failTransact map[int]bool
	batches, transacts      int
}

var errThrottled = &types.ProvisionedThroughputExceededException{Message: aws.String("throttled (test)")}

func (f *flakyDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	f.batches++
	if f.failBatch[f.batches] {
		return nil, errThrottled
	}
	return f.Client.BatchWriteItem(ctx, in, opts...)
}

func (f *flakyDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	f.transacts++
	if f.failTransact[f.transacts] {
		return nil, errThrottled
	}
	return f.Client.TransactWriteItems(ctx, in, opts...)
}

// retryOnce runs op; when it fails, it runs it again (as a caller retries
// a throttled write) and fails the test if that fails too. It returns how
// many times op failed.
func retryOnce(t *testing.T, what string, op func() error) int {
	t.Helper()
	if err := op(); err != nil {
		t.Logf("%s failed once: %v", what, err)
		if err := op(); err != nil {
			t.Fatalf("%s failed again: %v", what, err)
		}
		return 1
	}
	return 0
}

// checkRows fails t unless the run's rows are exactly seqs 1..n of its
// run id and the stored run counts n.
func checkRows(t *testing.T, rs *dynamo.RunStore, cs *dynamo.APICallStore, key snapkeep.RunKey, n int) {
	t.Helper()
	rows, err := cs.ListByRun(context.Background(), key.RunID())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n {
		t.Errorf("%d rows, want %d", len(rows), n)
	}
	for i, c := range rows {
		if c.Seq != i+1 || c.RunID != key.RunID() {
			t.Fatalf("row %d: seq %d run %q", i, c.Seq, c.RunID)
		}
	}
	run, err := rs.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if run.APICalls != n {
		t.Errorf("api_calls = %d, want %d", run.APICalls, n)
	}
}

// TestRunStoreAppendCallsRetryIsIdempotent: the second BatchWriteItem of
// an append is throttled once; the caller retries with the same slice,
// which re-puts the same seqs instead of reserving new ones.
func TestRunStoreAppendCallsRetryIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rs, cs := newRunStore(t)
	db := &flakyDB{Client: rs.Client.(*dynamodb.Client), failBatch: map[int]bool{2: true}}
	rs.Client = db
	run := claimRun("p1", runSlot)
	if err := rs.Claim(ctx, run); err != nil {
		t.Fatal(err)
	}
	const n = 60 // three batches
	cs60 := calls(n)
	if failed := retryOnce(t, "append", func() error { return rs.AppendCalls(ctx, run.Key(), cs60) }); failed != 1 {
		t.Fatalf("the throttle never fired (%d batches)", db.batches)
	}
	checkRows(t, rs, cs, run.Key(), n)
	for i, c := range cs60 {
		if c.Seq != i+1 {
			t.Fatalf("call %d has seq %d in the caller's slice", i, c.Seq)
		}
	}
}

// TestRunStoreSave156Requests is the old failure: 156 calls to record at
// the end of a run, with the second BatchWriteItem and the first
// TransactWriteItems throttled once. Save refuses more than one
// transaction's worth (writing nothing); appending the head and saving the
// tail, each retried once, gives exactly 156 rows.
func TestRunStoreSave156Requests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rs, cs := newRunStore(t)
	db := &flakyDB{Client: rs.Client.(*dynamodb.Client), failBatch: map[int]bool{2: true}, failTransact: map[int]bool{1: true}}
	rs.Client = db
	run := claimRun("p1", runSlot)
	if err := rs.Claim(ctx, run); err != nil {
		t.Fatal(err)
	}
	prev, err := rs.Get(ctx, run.Key())
	if err != nil {
		t.Fatal(err)
	}
	next := *prev
	now := runSlot.Add(20 * time.Minute)
	next.Status, next.FinishedAt, next.Unfinished, next.NextCheckAt, next.LeaseUntil = snapkeep.RunSucceeded, &now, "", nil, nil
	next.UpdatedAt = now
	all := calls(156)
	if err := rs.Save(ctx, prev, &next, all); !errors.Is(err, snapkeep.ErrInvalid) || !strings.Contains(err.Error(), "156 calls") {
		t.Fatalf("save of 156 calls: %v, want ErrInvalid naming the count", err)
	}
	if db.batches+db.transacts != 0 || next.APICalls != 0 || all[0].Seq != 0 {
		t.Fatalf("the refused save wrote (%d batches, %d transactions) or numbered (api_calls %d, seq %d)",
			db.batches, db.transacts, next.APICalls, all[0].Seq)
	}
	head, tail := all[:len(all)-dynamo.MaxSaveCalls], all[len(all)-dynamo.MaxSaveCalls:]
	failures := retryOnce(t, "append", func() error { return rs.AppendCalls(ctx, run.Key(), head) })
	if prev, err = rs.Get(ctx, run.Key()); err != nil {
		t.Fatal(err)
	}
	failures += retryOnce(t, "save", func() error { return rs.Save(ctx, prev, &next, tail) })
	if failures != 2 {
		t.Fatalf("%d throttles fired, want 2", failures)
	}
	checkRows(t, rs, cs, run.Key(), 156)
	if got, _ := rs.Get(ctx, run.Key()); got.Status != snapkeep.RunSucceeded || next.APICalls != 156 {
		t.Errorf("run %s, next.APICalls %d", got.Status, next.APICalls)
	}
}

// TestRunStoreSaveAfterFailedAppend: an append reserved seqs 1..3 but its
// rows were not written; the caller hands the same calls, with two new
// ones, to Save: they are written under their seqs, the new ones after.
// Against the run as it was before the reservation the save conflicts.
func TestRunStoreSaveAfterFailedAppend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rs, cs := newRunStore(t)
	db := &flakyDB{Client: rs.Client.(*dynamodb.Client), failBatch: map[int]bool{1: true}}
	rs.Client = db
	run := claimRun("p1", runSlot)
	if err := rs.Claim(ctx, run); err != nil {
		t.Fatal(err)
	}
	stale, _ := rs.Get(ctx, run.Key())
	pending := calls(3)
	if err := rs.AppendCalls(ctx, run.Key(), pending); err == nil {
		t.Fatal("the throttled append succeeded")
	}
	if pending[2].Seq != 3 {
		t.Fatalf("reserved seqs not in the slice: %+v", pending)
	}
	next := *stale
	next.UpdatedAt = stale.UpdatedAt.Add(time.Second)
	all := append(pending, calls(2)...)
	if err := rs.Save(ctx, stale, &next, all); !errors.Is(err, snapkeep.ErrConflict) {
		t.Fatalf("save against the run read before the reservation: %v, want ErrConflict", err)
	}
	if all[3].Seq != 0 || all[0].Seq != 1 {
		t.Fatalf("a failed save changed the seqs: %d, %d", all[0].Seq, all[3].Seq)
	}
	cur, _ := rs.Get(ctx, run.Key())
	if err := rs.Save(ctx, cur, &next, all); err != nil {
		t.Fatal(err)
	}
	checkRows(t, rs, cs, run.Key(), 5)
	if next.APICalls != 5 || all[4].Seq != 5 {
		t.Errorf("next.APICalls %d, last seq %d", next.APICalls, all[4].Seq)
	}
}

// TestRunStoreSaveRenumbersAfterConflict: a save loses to an append by
// another attempt; its calls keep no seq from the failed save, so the
// retry against the re-read run numbers them after the appended ones.
func TestRunStoreSaveRenumbersAfterConflict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rs, cs := newRunStore(t)
	run := claimRun("p1", runSlot)
	if err := rs.Claim(ctx, run); err != nil {
		t.Fatal(err)
	}
	prev, _ := rs.Get(ctx, run.Key())
	if err := rs.AppendCalls(ctx, run.Key(), calls(2)); err != nil {
		t.Fatal(err)
	}
	next := *prev
	next.UpdatedAt = prev.UpdatedAt.Add(time.Second)
	mine := calls(3)
	if err := rs.Save(ctx, prev, &next, mine); !errors.Is(err, snapkeep.ErrConflict) {
		t.Fatalf("save: %v, want ErrConflict", err)
	}
	if mine[0].Seq != 0 || next.APICalls != prev.APICalls {
		t.Fatalf("the failed save left seq %d, api_calls %d", mine[0].Seq, next.APICalls)
	}
	cur, _ := rs.Get(ctx, run.Key())
	if err := rs.Save(ctx, cur, &next, mine); err != nil {
		t.Fatal(err)
	}
	checkRows(t, rs, cs, run.Key(), 5)
	if mine[0].Seq != 3 {
		t.Errorf("first call numbered %d, want 3", mine[0].Seq)
	}
}

// poisonRun stores run's item, changed by spoil, around the store, as a
// hand edit in the console would.
func poisonRun(t *testing.T, db *dynamodb.Client, table string, run *snapkeep.Run, spoil func(map[string]types.AttributeValue)) {
	t.Helper()
	item, err := attributevalue.MarshalMap(run)
	if err != nil {
		t.Fatal(err)
	}
	spoil(item)
	if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatal(err)
	}
}

func setAttr(name string, v types.AttributeValue) func(map[string]types.AttributeValue) {
	return func(item map[string]types.AttributeValue) { item[name] = v }
}

// poisons are unreadable runs: each attribute of the wrong type.
var poisons = []struct {
	attr  string
	spoil func(map[string]types.AttributeValue)
}{
	{"attempts", setAttr("attempts", &types.AttributeValueMemberS{Value: "three"})},
	{"notices", setAttr("notices", &types.AttributeValueMemberS{Value: "sent"})},
	{"updated_at", setAttr("updated_at", &types.AttributeValueMemberS{Value: "yesterday"})},
	{"requests", func(item map[string]types.AttributeValue) { // and no updated_at at all
		item["requests"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"from": &types.AttributeValueMemberBOOL{Value: true}}}
		delete(item, "updated_at")
	}},
}

// TestRunStoreDueQuarantinesUnreadable: unreadable items at the head of the
// unfinished index neither fail the sweep's query nor take its slots; they
// leave the index (key and attributes kept, quarantined_at and
// quarantine_reason set) and the next query sees only the good runs.
func TestRunStoreDueQuarantinesUnreadable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rs, _ := newRunStore(t)
	db := rs.Client.(*dynamodb.Client)
	var logs strings.Builder
	rs.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	at := runSlot.Add(5 * time.Hour)
	rs.Now = func() time.Time { return at }
	for i := 0; i < 3; i++ {
		if err := rs.Claim(ctx, claimRun("p1", runSlot.Add(time.Duration(i)*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range poisons {
		poisonRun(t, db, rs.Table, claimRun(fmt.Sprintf("bad-%d", i), runSlot.Add(-time.Hour)), p.spoil) // due first
	}
	now := runSlot.Add(3 * time.Hour)
	res, err := rs.Due(ctx, now, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 3 || len(res.Quarantined) != len(poisons) || len(res.Skipped) != 0 {
		t.Fatalf("%d runs, %d quarantined, %d skipped; want 3, %d, 0", len(res.Runs), len(res.Quarantined), len(res.Skipped), len(poisons))
	}
	for _, r := range res.Runs {
		if r.PolicyID != "p1" {
			t.Errorf("due run %s", r.RunID)
		}
	}
	for i, p := range poisons {
		id := fmt.Sprintf("bad-%d", i)
		q := res.Quarantined[i]
		if q.Key["policy_id"] != id || q.Key["scheduled_at"] != "2026-11-24T02:00:00Z" || !strings.Contains(q.Err.Error(), "attribute "+p.attr) {
			t.Errorf("quarantined %d: key %v, error %v; want %s, attribute %s", i, q.Key, q.Err, id, p.attr)
		}
		if !strings.Contains(logs.String(), `policy_id=\"`+id+`\"`) {
			t.Errorf("no log line names %s:\n%s", id, logs.String())
		}
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(rs.Table), Key: map[string]types.AttributeValue{
			"policy_id": &types.AttributeValueMemberS{Value: id}, "scheduled_at": &types.AttributeValueMemberS{Value: q.Key["scheduled_at"]},
		}})
		if err != nil {
			t.Fatal(err)
		}
		item := out.Item
		qa, _ := item["quarantined_at"].(*types.AttributeValueMemberS)
		why, _ := item["quarantine_reason"].(*types.AttributeValueMemberS)
		if _, still := item["unfinished"]; still || qa == nil || qa.Value != "2026-11-24T08:00:00Z" || why == nil || !strings.Contains(why.Value, p.attr) {
			t.Errorf("stored %s: unfinished %v, quarantined_at %v, reason %v", id, item["unfinished"], qa, why)
		}
		if _, kept := item["run_id"]; !kept {
			t.Errorf("stored %s lost its attributes: %v", id, item)
		}
	}
	again, err := rs.Due(ctx, now, 10)
	if err != nil || len(again.Runs) != 3 || len(again.Quarantined)+len(again.Skipped) != 0 {
		t.Errorf("second query: %d runs, %d quarantined, %d skipped, %v", len(again.Runs), len(again.Quarantined), len(again.Skipped), err)
	}
	if due, _, err := rs.DueUnfinished(ctx, now, 10); err != nil || len(due) != 3 {
		t.Errorf("DueUnfinished: %d runs, %v", len(due), err)
	}
}

// TestRunStoreDueQuarantineFails: when the quarantine write fails, the
// unreadable item is reported skipped and the good runs of the same page
// are still returned. The write is conditioned on the version read.
func TestRunStoreDueQuarantineFails(t *testing.T) {
	t.Parallel()
	good, err := attributevalue.MarshalMap(claimRun("p1", runSlot))
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := attributevalue.MarshalMap(claimRun("bad", runSlot))
	bad["attempts"] = &types.AttributeValueMemberS{Value: "three"}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"item changed", &types.ConditionalCheckFailedException{Message: aws.String("no")}, "changed since the index was read"},
		{"write failed", errThrottled, "throttled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var update *dynamodb.UpdateItemInput
			rs := &dynamo.RunStore{Table: "runs", CallsTable: "calls", Logger: slog.New(slog.DiscardHandler), Client: &dbFake{t: t,
				query: func(_ context.Context, in *dynamodb.QueryInput) (*dynamodb.QueryOutput, error) {
					// Both items are in the (legacy) shard the claims use.
					if in.ExpressionAttributeValues[":u"].(*types.AttributeValueMemberS).Value != snapkeep.UnfinishedShard {
						return &dynamodb.QueryOutput{}, nil
					}
					return &dynamodb.QueryOutput{Items: []map[string]types.AttributeValue{bad, good}}, nil
				},
				updateItem: func(_ context.Context, in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
					update = in
					return nil, tc.err
				},
			}}
			res, err := rs.Due(context.Background(), runSlot.Add(time.Hour), 10)
			if err != nil || len(res.Runs) != 1 || res.Runs[0].PolicyID != "p1" || len(res.Quarantined) != 0 || len(res.Skipped) != 1 {
				t.Fatalf("Due = %+v, %v; want p1 and one skipped", res, err)
			}
			if msg := res.Skipped[0].Err.Error(); !strings.Contains(msg, "attribute attempts") || !strings.Contains(msg, tc.want) {
				t.Errorf("skipped error %q", msg)
			}
			if update == nil {
				t.Fatal("no quarantine write")
			}
			if !reflect.DeepEqual(update.Key["policy_id"], bad["policy_id"]) || !reflect.DeepEqual(update.Key["scheduled_at"], bad["scheduled_at"]) ||
				!strings.HasPrefix(aws.ToString(update.UpdateExpression), "REMOVE unfinished ") ||
				aws.ToString(update.ConditionExpression) != "unfinished = :u AND updated_at = :v" ||
				!reflect.DeepEqual(update.ExpressionAttributeValues[":v"], bad["updated_at"]) {
				t.Errorf("quarantine write %+v", update)
			}
		})
	}
}

// TestRunStoreListsSkipUnreadable: the support queries return the readable
// runs around an unreadable one, and log its key.
func TestRunStoreListsSkipUnreadable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rs, _ := newRunStore(t)
	var logs strings.Builder
	rs.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	failed := func(slot time.Time) *snapkeep.Run {
		r := claimRun("p1", slot)
		end := slot.Add(time.Hour)
		r.Status, r.ErrorClass, r.FinishedAt, r.Unfinished, r.NextCheckAt, r.LeaseUntil = snapkeep.RunFailed, snapkeep.ClassNetwork, &end, "", nil, nil
		return r
	}
	if err := rs.Claim(ctx, claimRun("p1", runSlot)); err != nil {
		t.Fatal(err)
	}
	if err := rs.Claim(ctx, failed(runSlot.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	poisonRun(t, rs.Client.(*dynamodb.Client), rs.Table, failed(runSlot.Add(2*time.Hour)), poisons[0].spoil)
	for _, tc := range []struct {
		name string
		f    func() ([]snapkeep.Run, error)
		want int
	}{
		{"by policy", func() ([]snapkeep.Run, error) { return rs.ListByPolicy(ctx, "p1", runSlot) }, 2},
		{"by customer", func() ([]snapkeep.Run, error) { return rs.ListByCustomer(ctx, "c1", runSlot) }, 2},
		{"by resource", func() ([]snapkeep.Run, error) { return rs.ListByResource(ctx, "droplet:42", runSlot) }, 2},
		{"failures", func() ([]snapkeep.Run, error) { return rs.Failures(ctx, snapkeep.ClassNetwork, runSlot) }, 1},
	} {
		logs.Reset()
		got, err := tc.f()
		if err != nil || len(got) != tc.want {
			t.Errorf("%s: %d runs, %v; want %d", tc.name, len(got), err, tc.want)
		}
		if line := logs.String(); !strings.Contains(line, `scheduled_at=\"2026-11-24T05:00:00Z\"`) || !strings.Contains(line, "attribute attempts") {
			t.Errorf("%s: log %q does not name the unreadable item", tc.name, line)
		}
	}
}

// TestRunStoreRejectsOverLimits: what DynamoDB would reject for its size
// (moto accepts it all) is refused before any request, with an error that
// names the item and its size, and leaves the caller's run and calls as
// they were.
func TestRunStoreRejectsOverLimits(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", 450*1024)
	bigRun := func() *snapkeep.Run { r := claimRun("p1", runSlot); r.ErrorDetail = huge; return r }
	bigCall := func(n, size int) []snapkeep.APICall {
		cs := calls(n)
		for i := range cs {
			cs[i].ErrorMessage = strings.Repeat("m", size)
		}
		return cs
	}
	for _, tc := range []struct {
		name  string
		calls []snapkeep.APICall
		op    func(rs *dynamo.RunStore, prev, next *snapkeep.Run, calls []snapkeep.APICall) error
		want  string
	}{
		{"run over 400 KB, claim", nil, func(rs *dynamo.RunStore, _, _ *snapkeep.Run, _ []snapkeep.APICall) error {
			return rs.Claim(context.Background(), bigRun())
		}, "claim run p1#2026-11-24T03:00:00Z: run p1#2026-11-24T03:00:00Z: item is 461"},
		{"run over 400 KB, save", calls(2), func(rs *dynamo.RunStore, prev, next *snapkeep.Run, cs []snapkeep.APICall) error {
			next.ErrorDetail = huge
			return rs.Save(context.Background(), prev, next, cs)
		}, "run p1#2026-11-24T03:00:00Z: item is 461"},
		{"row over 400 KB, save", bigCall(2, 450*1024), func(rs *dynamo.RunStore, prev, next *snapkeep.Run, cs []snapkeep.APICall) error {
			return rs.Save(context.Background(), prev, next, cs)
		}, "api call p1#2026-11-24T03:00:00Z/6 (GET /v2/actions/0): item is 46"},
		{"rows over 4 MB, save", bigCall(dynamo.MaxSaveCalls, 45*1024), func(rs *dynamo.RunStore, prev, next *snapkeep.Run, cs []snapkeep.APICall) error {
			return rs.Save(context.Background(), prev, next, cs)
		}, "the run and its 99 calls are 4580326 bytes, over DynamoDB's transaction limit of 4194304"},
		{"more calls than a save holds", calls(dynamo.MaxSaveCalls + 1), func(rs *dynamo.RunStore, prev, next *snapkeep.Run, cs []snapkeep.APICall) error {
			return rs.Save(context.Background(), prev, next, cs)
		}, "100 calls, over the 99 one transaction holds"},
		{"row over 400 KB, append", append(calls(1), bigCall(1, 450*1024)...), func(rs *dynamo.RunStore, _, next *snapkeep.Run, cs []snapkeep.APICall) error {
			return rs.AppendCalls(context.Background(), next.Key(), cs)
		}, "api call p1#2026-11-24T03:00:00Z/(new) (GET /v2/actions/0): item is 46"},
		{"policy id over the key limit", nil, func(rs *dynamo.RunStore, _, _ *snapkeep.Run, _ []snapkeep.APICall) error {
			return rs.Claim(context.Background(), claimRun(strings.Repeat("p", 3000), runSlot))
		}, "key attribute policy_id is 3000 bytes, over DynamoDB's limit of 2048"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := &dynamo.RunStore{Table: "runs", CallsTable: "calls", Client: &dbFake{t: t}}
			prev := claimRun("p1", runSlot)
			prev.APICalls = 5
			next := *prev
			next.UpdatedAt = prev.UpdatedAt.Add(time.Second)
			err := tc.op(rs, prev, &next, tc.calls)
			if !errors.Is(err, snapkeep.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrInvalid with %q", err, tc.want)
			}
			if next.APICalls != 5 {
				t.Errorf("next.APICalls = %d after a refused write", next.APICalls)
			}
			for i, c := range tc.calls {
				if c.Seq != 0 {
					t.Errorf("call %d numbered %d by a refused write", i, c.Seq)
				}
			}
		})
	}
}

// TestRunStoreSaveChecksSeqs: calls whose seq Save cannot honour are
// refused before any request.
func TestRunStoreSaveChecksSeqs(t *testing.T) {
	t.Parallel()
	withSeq := func(seqs ...int) []snapkeep.APICall {
		cs := calls(len(seqs))
		for i, s := range seqs {
			cs[i].Seq = s
		}
		return cs
	}
	otherRun := calls(1)
	otherRun[0].RunID = "p2#2026-11-24T03:00:00Z"
	for _, tc := range []struct {
		name  string
		calls []snapkeep.APICall
		want  error
	}{
		{"another run's call", otherRun, snapkeep.ErrInvalid},
		{"negative seq", withSeq(-1), snapkeep.ErrInvalid},
		{"seq given twice", withSeq(2, 2), snapkeep.ErrInvalid},
		{"seq beyond prev's count", withSeq(0, 6), snapkeep.ErrConflict},
	} {
		rs := &dynamo.RunStore{Table: "runs", CallsTable: "calls", Client: &dbFake{t: t}}
		prev := claimRun("p1", runSlot)
		prev.APICalls = 5
		next := *prev
		next.UpdatedAt = prev.UpdatedAt.Add(time.Second)
		var before []int
		for _, c := range tc.calls {
			before = append(before, c.Seq)
		}
		if err := rs.Save(context.Background(), prev, &next, tc.calls); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		for i, c := range tc.calls {
			if c.Seq != before[i] {
				t.Errorf("%s: call %d's seq changed from %d to %d", tc.name, i, before[i], c.Seq)
			}
		}
	}
}

// BenchmarkRunStoreSave measures a Save of a run with three calls (a
// successful droplet run's step) against a fake that accepts it: the
// marshalling and the limit checks, no network.
func BenchmarkRunStoreSave(b *testing.B) {
	rs := &dynamo.RunStore{Table: "runs", CallsTable: "calls", Client: &dbFake{t: b,
		transactWriteItems: func(context.Context, *dynamodb.TransactWriteItemsInput) (*dynamodb.TransactWriteItemsOutput, error) {
			return &dynamodb.TransactWriteItemsOutput{}, nil
		},
	}}
	prev := claimRun("p1", runSlot)
	template := calls(3)
	cs := make([]snapkeep.APICall, len(template))
	b.ReportAllocs()
	for b.Loop() {
		next := *prev
		next.UpdatedAt = prev.UpdatedAt.Add(time.Second)
		copy(cs, template)
		if err := rs.Save(context.Background(), prev, &next, cs); err != nil {
			b.Fatal(err)
		}
	}
}
