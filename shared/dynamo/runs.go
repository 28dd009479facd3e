package dynamo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// RunStore stores snapkeep.Run items in the Runs table and, with each run
// write, the run's ApiCalls rows. A run's APICalls is the highest seq it
// has reserved: each seq is given out once (by a Save that writes its row
// in the same transaction, or by AppendCalls' atomic ADD), and a row is
// only ever written under its own seq, so a retried write replaces a row
// with itself and rows are never duplicated. The rows are 1..APICalls but
// for a reservation whose rows were never written (the caller gave up on
// a failed AppendCalls, or the ADD's answer was lost and the SDK retried
// it): a gap, never a duplicate.
//
// Concurrency control is optimistic: every write of a run is a whole-item
// put conditioned on the updated_at and api_calls the writer read. The
// snapshot service makes updated_at strictly increase with every write, so
// it is the run's version; api_calls also moves when an attempt appends
// calls outside a save (AppendCalls). Times that are index sort keys
// (next_check_at, finished_at) are stored as whole seconds, so that they
// sort as text.
//
// Reads decode item by item: an item that is not a readable run (an
// attribute of the wrong type, written around the store) is skipped and
// logged with its key, never failing the read; Due also quarantines it.
type RunStore struct {
	// Client is the DynamoDB client.
	Client Client
	// Table is the Runs table's name.
	Table string
	// CallsTable is the ApiCalls table's name.
	CallsTable string
	// LeasesTable is the Leases table's name (droplet locks, see
	// ClaimLocked and SaveLocked).
	LeasesTable string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger gets one line per unreadable item a read skips (a warning)
	// or Due quarantines (an error: a run is no longer followed), with its
	// key and why; nil means slog.Default().
	Logger *slog.Logger
}

// Claim stores run if no run has its key (a conditional put), else returns
// an error wrapping snapkeep.ErrConflict: the slot is someone else's. A run
// item over DynamoDB's size limits is an error wrapping snapkeep.ErrInvalid.
func (s *RunStore) Claim(ctx context.Context, run *snapkeep.Run) error {
	item, _, err := s.runItem(run)
	if err != nil {
		return fmt.Errorf("claim run %s: %w", run.Key(), err)
	}
	_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.Table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(policy_id)"),
	})
	if isConditionFailed(err) {
		return fmt.Errorf("claim run %s: already claimed: %w", run.Key(), snapkeep.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("claim run %s: %w", run.Key(), err)
	}
	return nil
}

// Get returns the run with a strongly consistent read, or an error
// wrapping snapkeep.ErrNotFound.
func (s *RunStore) Get(ctx context.Context, key snapkeep.RunKey) (*snapkeep.Run, error) {
	return getItem[snapkeep.Run](ctx, s.Client, s.Table, runKeyItem(key), "run "+key.String())
}

// Save replaces the stored run with next and writes calls as the run's
// ApiCalls rows, all in one atomic write (a conditional PutItem without
// calls, else one TransactWriteItems), if the stored run still has prev's
// updated_at and api_calls; otherwise it writes nothing and returns an
// error wrapping snapkeep.ErrConflict.
//
// Calls with Seq 0 are new: Save numbers them prev.APICalls+1, ... in order.
// Calls with a Seq are rows whose seq was reserved before (by an
// AppendCalls whose rows were not all written) and are written under it;
// such a seq above prev.APICalls means prev is older than that reservation
// (ErrConflict). next.APICalls becomes prev.APICalls plus the new calls.
// Empty RunIDs are set to the run's.
//
// One save holds at most MaxSaveCalls calls and, with the run item,
// MaxTransactBytes; more is an error wrapping snapkeep.ErrInvalid (write
// the rest first with AppendCalls), as is a run item or row over
// MaxItemBytes. Save writes the seqs and next.APICalls only when it
// succeeds: on any error calls and next are as they were (but RunIDs), so
// that a retry against a re-read run numbers the calls afresh. An error
// that is not DynamoDB's answer (the context ended mid-request) leaves
// unknown whether the write happened: read the run back, and if its
// updated_at is next's, it did.
func (s *RunStore) Save(ctx context.Context, prev, next *snapkeep.Run, calls []snapkeep.APICall) error {
	return s.save(ctx, prev, next, calls, nil)
}

// save is Save, taking lock in the same transaction when it is not nil.
func (s *RunStore) save(ctx context.Context, prev, next *snapkeep.Run, calls []snapkeep.APICall, lock *snapkeep.Lock) error {
	key := next.Key()
	if prev.Key() != key {
		return fmt.Errorf("save run %s: prev is run %s: %w", key, prev.Key(), snapkeep.ErrInvalid)
	}
	if !next.UpdatedAt.After(prev.UpdatedAt) {
		return fmt.Errorf("save run %s: updated_at must increase: %w", key, snapkeep.ErrInvalid)
	}
	if max := maxSaveCalls(lock); len(calls) > max {
		return fmt.Errorf("save run %s: %d calls, over the %d one transaction holds with the run (append the rest first): %w",
			key, len(calls), max, snapkeep.ErrInvalid)
	}
	fresh, err := numberCalls(key, prev.APICalls, calls)
	if err != nil {
		return fmt.Errorf("save run %s: %w", key, err)
	}
	count := next.APICalls
	next.APICalls = prev.APICalls + len(fresh)
	if err := s.write(ctx, prev, next, calls, lock); err != nil {
		next.APICalls = count
		for _, i := range fresh {
			calls[i].Seq = 0
		}
		return fmt.Errorf("save run %s: %w", key, err)
	}
	return nil
}

// numberCalls checks calls for a save after base rows and numbers the
// ones without a seq (base+1, ...), returning their indexes. It changes
// nothing but empty RunIDs when it fails.
func numberCalls(key snapkeep.RunKey, base int, calls []snapkeep.APICall) ([]int, error) {
	runID := key.RunID()
	var seen map[int]bool // the seqs given, made when there are any
	fresh := make([]int, 0, len(calls))
	for i := range calls {
		c := &calls[i]
		if c.RunID == "" {
			c.RunID = runID
		}
		switch {
		case c.RunID != runID:
			return nil, fmt.Errorf("call %d is of run %q: %w", i, c.RunID, snapkeep.ErrInvalid)
		case c.Seq < 0:
			return nil, fmt.Errorf("call %d has seq %d: %w", i, c.Seq, snapkeep.ErrInvalid)
		case c.Seq == 0:
			fresh = append(fresh, i)
		case c.Seq > base:
			return nil, fmt.Errorf("call %d has seq %d, reserved after prev was read (api_calls %d): %w", i, c.Seq, base, snapkeep.ErrConflict)
		case seen[c.Seq]:
			return nil, fmt.Errorf("call %d: seq %d given twice: %w", i, c.Seq, snapkeep.ErrInvalid)
		default:
			if seen == nil {
				seen = make(map[int]bool)
			}
			seen[c.Seq] = true
		}
	}
	for k, i := range fresh {
		calls[i].Seq = base + k + 1
	}
	return fresh, nil
}

// write puts next, conditioned on prev's version, with the calls' rows
// and, when lock is not nil, the lock.
func (s *RunStore) write(ctx context.Context, prev, next *snapkeep.Run, calls []snapkeep.APICall, lock *snapkeep.Lock) error {
	item, size, err := s.runItem(next)
	if err != nil {
		return err
	}
	updated, err := attributevalue.Marshal(prev.UpdatedAt.UTC())
	if err != nil {
		return err
	}
	cond := aws.String("updated_at = :u AND api_calls = :n")
	values := map[string]types.AttributeValue{
		":u": updated,
		":n": &types.AttributeValueMemberN{Value: strconv.Itoa(prev.APICalls)},
	}
	if len(calls) == 0 && lock == nil {
		_, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(s.Table), Item: item,
			ConditionExpression: cond, ExpressionAttributeValues: values,
		})
		if isConditionFailed(err) {
			return fmt.Errorf("changed by another writer: %w", snapkeep.ErrConflict)
		}
		return err
	}
	items := make([]types.TransactWriteItem, 0, len(calls)+2)
	items = append(items, types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(s.Table), Item: item,
		ConditionExpression: cond, ExpressionAttributeValues: values,
	}})
	if lock != nil {
		items = append(items, s.lockPut(*lock))
	}
	total := size
	for i := range calls {
		ci, n, err := marshalAPICall(&calls[i])
		if err != nil {
			return err
		}
		total += n
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.CallsTable), Item: ci}})
	}
	if total > MaxTransactBytes {
		return fmt.Errorf("the run and its %d calls are %d bytes, over DynamoDB's transaction limit of %d (4 MB; append calls first): %w",
			len(calls), total, MaxTransactBytes, snapkeep.ErrInvalid)
	}
	_, err = s.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	return s.cancelled(ctx, err, lock)
}

// AppendCalls writes calls as ApiCalls rows of the run without otherwise
// changing it, idempotently per row. Calls with Seq 0 get their seqs
// reserved by one atomic ADD to the run's api_calls, written into the
// slice at once; calls with a Seq (one reserved before: it is not
// checked) are written under it as they are. So a caller whose AppendCalls
// failed after the reservation (a throttled BatchWriteItem) retries with
// the same slice: the rows already written are replaced by themselves and
// no seq is reserved twice.
//
// It is for the calls of an attempt that lost the run to another, and for
// calls written ahead of a Save (which holds at most MaxSaveCalls): that
// Save must be against the run read again, or it conflicts (the last seq
// reserved is the run's api_calls unless another writer appended too).
// Every row is checked against MaxItemBytes before anything is reserved
// or written (errors wrap snapkeep.ErrInvalid); a missing run is an error
// wrapping snapkeep.ErrNotFound.
func (s *RunStore) AppendCalls(ctx context.Context, key snapkeep.RunKey, calls []snapkeep.APICall) error {
	fresh, err := checkAppend(key, calls)
	if err != nil {
		return fmt.Errorf("append calls to run %s: %w", key, err)
	}
	if len(fresh) > 0 {
		if err := s.reserve(ctx, key, calls, fresh); err != nil {
			return fmt.Errorf("append calls to run %s: %w", key, err)
		}
	}
	if err := s.calls().Put(ctx, calls); err != nil {
		return fmt.Errorf("append calls to run %s (their seqs are reserved: retry with the same calls): %w", key, err)
	}
	return nil
}

// reserve adds len(fresh) to the run's api_calls and gives the calls at
// those indexes the seqs it reserved, in order.
func (s *RunStore) reserve(ctx context.Context, key snapkeep.RunKey, calls []snapkeep.APICall, fresh []int) error {
	out, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       runKeyItem(key),
		UpdateExpression:          aws.String("ADD api_calls :n"),
		ConditionExpression:       aws.String("attribute_exists(policy_id)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": &types.AttributeValueMemberN{Value: strconv.Itoa(len(fresh))}},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if isConditionFailed(err) {
		return snapkeep.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("reserve seqs: %w", err)
	}
	var total int
	if err := attributevalue.Unmarshal(out.Attributes["api_calls"], &total); err != nil {
		return fmt.Errorf("reserve seqs: read api_calls: %w", err)
	}
	for k, i := range fresh {
		calls[i].Seq = total - len(fresh) + k + 1
	}
	return nil
}

// seqProbe stands in for a seq not yet reserved when a row's size is
// checked: wider than any seq a run reaches.
const seqProbe = 1 << 40

// checkAppend sets empty RunIDs, checks every call's run, seq and size,
// and returns the indexes of the calls without a seq.
func checkAppend(key snapkeep.RunKey, calls []snapkeep.APICall) ([]int, error) {
	runID := key.RunID()
	var fresh []int
	for i := range calls {
		c := &calls[i]
		if c.RunID == "" {
			c.RunID = runID
		}
		if c.RunID != runID {
			return nil, fmt.Errorf("call %d is of run %q: %w", i, c.RunID, snapkeep.ErrInvalid)
		}
		if c.Seq < 0 {
			return nil, fmt.Errorf("call %d has seq %d: %w", i, c.Seq, snapkeep.ErrInvalid)
		}
		item, err := apiCallItem(c)
		if err != nil {
			return nil, err
		}
		if c.Seq == 0 {
			fresh = append(fresh, i)
			item["seq"] = &types.AttributeValueMemberN{Value: strconv.Itoa(seqProbe)}
		}
		if _, err := checkItem(func() string { return callName(c) }, APICalls, item); err != nil {
			return nil, err
		}
	}
	return fresh, nil
}

func (s *RunStore) calls() *APICallStore {
	return &APICallStore{Client: s.Client, Table: s.CallsTable, Logger: s.Logger}
}

// DueResult is what Due found in the unfinished index.
type DueResult struct {
	// Runs are the due runs, earliest next_check_at first.
	Runs []snapkeep.Run
	// Quarantined are the items that are not readable runs, now taken out
	// of the due set for good: unfinished removed (so they leave the
	// sparse index), quarantined_at and quarantine_reason (the decode
	// error, at most 1 KB) set, everything else, the key included, kept.
	Quarantined []BadItem
	// Skipped are unreadable items whose quarantine failed (the item
	// changed since the index was read, or the write failed; the error
	// says which): still due, they are skipped again next time.
	Skipped []BadItem
}

// Due returns up to limit unfinished runs whose next_check_at is at or
// before now, earliest first, from the sparse unfinished index (eventually
// consistent: read the run again before acting on it). The index is
// sharded (snapkeep.UnfinishedKeys): each key is queried for its earliest
// due runs (a share of limit, twice over, so that one busy shard does not
// leave the others' runs behind) and the results merged. An item there
// that does not decode as a run (an attribute of the wrong type) never
// fails the read nor counts towards limit: it is quarantined with a
// conditional UpdateItem (only if it is still the version read) and
// reported in the result. On an error, the result holds what was
// quarantined so far.
func (s *RunStore) Due(ctx context.Context, now time.Time, limit int) (DueResult, error) {
	var res DueResult
	keys := snapkeep.UnfinishedKeys()
	per := max((2*limit+len(keys)-1)/len(keys), 4)
	if limit <= 0 {
		per = 0
	}
	for _, key := range keys {
		runs, err := s.query(ctx, "due unfinished runs", &dynamodb.QueryInput{
			TableName:              aws.String(s.Table),
			IndexName:              aws.String(IndexRunsUnfinished),
			KeyConditionExpression: aws.String("unfinished = :u AND next_check_at <= :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":u":   &types.AttributeValueMemberS{Value: key},
				":now": &types.AttributeValueMemberS{Value: runTime(now.Truncate(time.Second))},
			},
		}, per, s.quarantineBad(ctx, &res))
		if err != nil {
			return res, err
		}
		res.Runs = append(res.Runs, runs...)
	}
	sort.SliceStable(res.Runs, func(a, b int) bool {
		x, y := res.Runs[a].NextCheckAt, res.Runs[b].NextCheckAt
		if x == nil || y == nil {
			return y != nil
		}
		return x.Before(*y)
	})
	if limit > 0 && len(res.Runs) > limit {
		res.Runs = res.Runs[:limit]
	}
	return res, nil
}

// quarantineBad returns the bad-item handler of Due: it quarantines the
// item and notes it in res.
func (s *RunStore) quarantineBad(ctx context.Context, res *DueResult) func(map[string]types.AttributeValue, error) {
	return func(item map[string]types.AttributeValue, derr error) {
		bad := BadItem{Key: keyText(item, Runs), Err: derr}
		if qerr := s.quarantine(ctx, item, derr); qerr != nil {
			bad.Err = fmt.Errorf("%w; not quarantined: %w", derr, qerr)
			res.Skipped = append(res.Skipped, bad)
			s.log().ErrorContext(ctx, "unfinished run is unreadable and could not be quarantined; skipped",
				"key", bad.KeyText(), "error", bad.Err.Error())
			return
		}
		res.Quarantined = append(res.Quarantined, bad)
		s.log().ErrorContext(ctx, "unfinished run is unreadable; quarantined: it left the unfinished index and is no longer followed",
			"key", bad.KeyText(), "error", derr.Error())
	}
}

// DueUnfinished is Due in the run service's terms (shared/snapshot's
// RunStore): the due runs and how many unreadable items were quarantined
// (each logged with its key).
func (s *RunStore) DueUnfinished(ctx context.Context, now time.Time, limit int) ([]snapkeep.Run, int, error) {
	res, err := s.Due(ctx, now, limit)
	return res.Runs, len(res.Quarantined), err
}

// maxReasonBytes bounds the quarantine_reason stored on a quarantined item.
const maxReasonBytes = 1024

// quarantine takes an unreadable unfinished item out of the due set: it
// removes unfinished and records when and why, if the item is still the
// version read (same updated_at, or still none) and still unfinished.
func (s *RunStore) quarantine(ctx context.Context, item map[string]types.AttributeValue, reason error) error {
	pk, okP := item["policy_id"].(*types.AttributeValueMemberS)
	sk, okS := item["scheduled_at"].(*types.AttributeValueMemberS)
	if !okP || !okS {
		return errors.New("the item has no string key")
	}
	shard, ok := item["unfinished"].(*types.AttributeValueMemberS)
	if !ok {
		return errors.New("the item has no string unfinished key")
	}
	cond := "unfinished = :u AND "
	values := map[string]types.AttributeValue{
		":u":   shard,
		":at":  &types.AttributeValueMemberS{Value: runTime(clock(s.Now))},
		":why": &types.AttributeValueMemberS{Value: snapkeep.Bound(reason.Error(), maxReasonBytes)},
	}
	if v, ok := item["updated_at"]; ok {
		cond += "updated_at = :v"
		values[":v"] = v
	} else {
		cond += "attribute_not_exists(updated_at)"
	}
	_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       map[string]types.AttributeValue{"policy_id": pk, "scheduled_at": sk},
		UpdateExpression:          aws.String("REMOVE unfinished SET quarantined_at = :at, quarantine_reason = :why"),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeValues: values,
	})
	if isConditionFailed(err) {
		return errors.New("the item changed since the index was read")
	}
	return err
}

// ListByPolicy returns the policy's runs scheduled at or after since,
// oldest first. Unreadable items are skipped and logged.
func (s *RunStore) ListByPolicy(ctx context.Context, policyID string, since time.Time) ([]snapkeep.Run, error) {
	what := "runs of policy " + policyID
	return s.query(ctx, what, &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("policy_id = :k AND scheduled_at >= :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":k": &types.AttributeValueMemberS{Value: policyID},
			":t": &types.AttributeValueMemberS{Value: runTime(since.Truncate(time.Second))},
		},
	}, 0, s.skip(ctx, what))
}

// ListByCustomer returns the customer's runs scheduled at or after since,
// oldest first (by-customer index). Unreadable items are skipped and
// logged.
func (s *RunStore) ListByCustomer(ctx context.Context, customerID string, since time.Time) ([]snapkeep.Run, error) {
	return s.queryIndex(ctx, IndexRunsByCustomer, "customer_id", customerID, "scheduled_at", since)
}

// ListByResource returns the runs of a resource (Resource.Key(), e.g.
// "droplet:3164444") scheduled at or after since, oldest first (by-resource
// index). Unreadable items are skipped and logged.
func (s *RunStore) ListByResource(ctx context.Context, resourceKey string, since time.Time) ([]snapkeep.Run, error) {
	return s.queryIndex(ctx, IndexRunsByResource, "resource_key", resourceKey, "scheduled_at", since)
}

// Failures returns the runs that failed or timed out with class and
// finished at or after since, oldest first (sparse failures-by-class
// index). Unreadable items are skipped and logged.
func (s *RunStore) Failures(ctx context.Context, class snapkeep.ErrorClass, since time.Time) ([]snapkeep.Run, error) {
	return s.queryIndex(ctx, IndexRunsFailures, "error_class", string(class), "finished_at", since)
}

func (s *RunStore) queryIndex(ctx context.Context, index, pk, value, sk string, since time.Time) ([]snapkeep.Run, error) {
	what := fmt.Sprintf("runs by %s %q", pk, value)
	return s.query(ctx, what, &dynamodb.QueryInput{
		TableName:                aws.String(s.Table),
		IndexName:                aws.String(index),
		KeyConditionExpression:   aws.String("#k = :k AND #t >= :t"),
		ExpressionAttributeNames: map[string]string{"#k": pk, "#t": sk},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":k": &types.AttributeValueMemberS{Value: value},
			":t": &types.AttributeValueMemberS{Value: runTime(since.Truncate(time.Second))},
		},
	}, 0, s.skip(ctx, what))
}

// skip returns a bad-item handler that logs the item and goes on.
func (s *RunStore) skip(ctx context.Context, what string) func(map[string]types.AttributeValue, error) {
	return func(item map[string]types.AttributeValue, err error) {
		s.log().WarnContext(ctx, "skipped a run item that is not readable", "query", what,
			"key", BadItem{Key: keyText(item, Runs)}.KeyText(), "error", err.Error())
	}
}

// query runs in page by page up to limit runs (0: all), decoding item by
// item; each item that does not decode goes to bad instead (and does not
// count towards limit).
func (s *RunStore) query(ctx context.Context, what string, in *dynamodb.QueryInput, limit int, bad func(map[string]types.AttributeValue, error)) ([]snapkeep.Run, error) {
	var runs []snapkeep.Run
	for {
		if limit > 0 {
			in.Limit = aws.Int32(int32(limit - len(runs)))
		}
		out, err := s.Client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", what, err)
		}
		for _, item := range out.Items {
			var r snapkeep.Run
			if err := decodeItem(item, &r); err != nil {
				bad(item, err)
				continue
			}
			runs = append(runs, r)
		}
		if len(out.LastEvaluatedKey) == 0 || (limit > 0 && len(runs) >= limit) {
			return runs, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// BadItem is a stored item a read skipped because it does not decode as
// the store's type (an attribute of the wrong type, written around the
// store, e.g. by hand in the console).
type BadItem struct {
	// Key is the item's primary key as stored, as text (a number's
	// digits): policy_id and scheduled_at for a run, run_id and seq for an
	// ApiCalls row.
	Key map[string]string
	// Err says why the item does not decode, naming the attribute.
	Err error
}

// KeyText is Key as name="value" pairs in name order, for logs.
func (b BadItem) KeyText() string {
	names := make([]string, 0, len(b.Key))
	for name := range b.Key {
		names = append(names, name)
	}
	sort.Strings(names)
	var sb strings.Builder
	for i, name := range names {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%s=%q", name, b.Key[name])
	}
	return sb.String()
}

// keyText returns the key attributes of spec's table in item as text.
func keyText(item map[string]types.AttributeValue, spec TableSpec) map[string]string {
	key := make(map[string]string, 2)
	for _, attr := range []KeyAttr{spec.PartitionKey, spec.SortKey} {
		switch v := item[attr.Name].(type) {
		case nil:
		case *types.AttributeValueMemberS:
			key[attr.Name] = v.Value
		case *types.AttributeValueMemberN:
			key[attr.Name] = v.Value
		default:
			key[attr.Name] = fmt.Sprintf("(%T)", v)
		}
	}
	return key
}

// decodeItem decodes item into out; when it does not decode, the error
// names the first attribute (by name) that does not.
func decodeItem[T any](item map[string]types.AttributeValue, out *T) error {
	err := attributevalue.UnmarshalMap(item, out)
	if err == nil {
		return nil
	}
	names := make([]string, 0, len(item))
	for name := range item {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		var probe T
		if aerr := attributevalue.UnmarshalMap(map[string]types.AttributeValue{name: item[name]}, &probe); aerr != nil {
			return fmt.Errorf("attribute %s: %w", name, aerr)
		}
	}
	return err
}

func (s *RunStore) log() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

// runItem marshals a run, normalising times to UTC and index sort keys to
// whole seconds, and checks it against DynamoDB's item limits. It returns
// the item and its size.
func (s *RunStore) runItem(run *snapkeep.Run) (map[string]types.AttributeValue, int, error) {
	r := *run
	r.ScheduledAt = r.ScheduledAt.UTC().Truncate(time.Second)
	if r.RunID == "" {
		r.RunID = r.Key().RunID()
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = clock(s.Now)
	}
	r.UpdatedAt = r.UpdatedAt.UTC()
	r.ClaimedAt = r.ClaimedAt.UTC()
	r.Deadline = r.Deadline.UTC()
	utcPtr := func(t *time.Time, round func(time.Time) time.Time) *time.Time {
		if t == nil {
			return nil
		}
		v := round(t.UTC())
		return &v
	}
	same := func(t time.Time) time.Time { return t }
	r.StartedAt = utcPtr(r.StartedAt, same)
	r.LeaseUntil = utcPtr(r.LeaseUntil, same)
	r.FinishedAt = utcPtr(r.FinishedAt, func(t time.Time) time.Time { return t.Truncate(time.Second) })
	r.NextCheckAt = utcPtr(r.NextCheckAt, func(t time.Time) time.Time {
		if u := t.Truncate(time.Second); !u.Equal(t) {
			return u.Add(time.Second)
		}
		return t
	})
	item, err := attributevalue.MarshalMap(&r)
	if err != nil {
		return nil, 0, err
	}
	size, err := checkItem(func() string { return "run " + r.Key().String() }, Runs, item)
	if err != nil {
		return nil, 0, err
	}
	run.UpdatedAt = r.UpdatedAt
	return item, size, nil
}

func runKeyItem(key snapkeep.RunKey) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"policy_id":    &types.AttributeValueMemberS{Value: key.PolicyID},
		"scheduled_at": &types.AttributeValueMemberS{Value: runTime(key.ScheduledAt)},
	}
}

// runTime is how the Runs table stores a time (as attributevalue does).
func runTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
