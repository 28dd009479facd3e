package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/smithy-go"

	"github.com/snapkeep/snapkeep/infra/awslocal"
)

// TestMotoLauncher checks the claim of motopatch.go: moto started through
// the launcher answers exactly as moto_server does. It starts both, creates
// the Runs, ApiCalls and Policies tables from template.yaml on each, runs
// one deterministic sequence of DynamoDB and DynamoDB Streams calls against
// both, and compares every HTTP response body byte for byte, after masking
// only the fields moto fills from the clock or from random bytes
// (launcherVolatile). The sequence: puts and batch writes of items with
// every attribute type; updates that create and modify items, with each
// ReturnValues; gets; TransactWriteItems that succeed and ones that fail
// (a ConditionCheck, an Update's own condition, two operations on one
// item, an update of a key, a missing table, a Put without its sort key,
// an entry with two operations), each failure followed by a scan of every
// table and a read of every stream from its start; scans; and a Query of
// every partition of each table and index, on both keys, with filters,
// projections, both orders, limits and ExclusiveStartKey pagination.
// Last, it checks on the launcher that a stream iterator held across the
// failed transactions reads what a fresh one does (checkHeldIterators).
//
// Both servers run with PYTHONHASHSEED=0: moto orders the members of a
// string set that an update has added to or deleted from by Python's
// string hash, which is randomised per process, so two plain moto_servers
// would otherwise differ too.
func TestMotoLauncher(t *testing.T) {
	t.Setenv("PYTHONHASHSEED", "0")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	tpl, err := awslocal.FindTemplate()
	if err != nil {
		t.Fatal(err)
	}
	defs, err := awslocal.Tables(tpl)
	if err != nil {
		t.Fatal(err)
	}
	fx, err := newLauncherFixture(defs, "motopatch-")
	if err != nil {
		t.Fatal(err)
	}
	launcher, err := writeMotoLauncher(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	plain, patched := startMotoTwins(ctx, t, launcher)
	if out := patched.moto.Output(); !strings.Contains(out, launcherPatchedBanner) {
		t.Fatalf("moto started through the launcher did not say %q, so it may be moto unpatched; its output:\n%s", launcherPatchedBanner, out)
	}

	// The steps are one sequence, each working on what the ones before
	// it left, so they are not subtests (which -run could pick apart).
	steps := launcherSteps(fx)
	compared := 0
	for i, st := range steps {
		compared += compareLauncherStep(ctx, t, fmt.Sprintf("step %d of %d, %q", i+1, len(steps), st.name), st, plain, patched)
	}
	checkHeldIterators(ctx, t, fx, patched)
	t.Logf("%d steps, %d responses compared", len(steps), compared)
}

// startMotoTwins starts plain moto_server and moto through the launcher,
// at once (each takes seconds to import moto), with clients that record
// every response.
func startMotoTwins(ctx context.Context, t *testing.T, launcher string) (plain, patched *motoTwin) {
	t.Helper()
	twins := []*motoTwin{{label: "moto_server"}, {label: "launcher"}}
	commands := []string{"", launcher}
	errs := make([]error, len(twins))
	var wg sync.WaitGroup
	for i, tw := range twins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = tw.start(ctx, commands[i])
		}()
	}
	wg.Wait()
	for _, tw := range twins {
		if tw.moto != nil {
			t.Cleanup(tw.moto.Stop)
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return twins[0], twins[1]
}

// motoTwin is one of the two moto servers under comparison.
type motoTwin struct {
	label   string
	moto    *awslocal.Moto
	rec     *recordingClient
	ddb     *dynamodb.Client
	streams *dynamodbstreams.Client
	// held is each table's stream iterator taken by the "hold" step, and
	// how many records had been read through it.
	held map[string]heldIterator
}

type heldIterator struct {
	iter *string
	read int
}

func (tw *motoTwin) start(ctx context.Context, command string) error {
	m, err := awslocal.StartMoto(ctx, awslocal.Options{Command: command})
	if err != nil {
		return fmt.Errorf("%s: %w", tw.label, err)
	}
	tw.moto = m
	cfg, err := awslocal.Config(ctx, m.Endpoint)
	if err != nil {
		return fmt.Errorf("%s: %w", tw.label, err)
	}
	tw.rec = &recordingClient{next: awshttp.NewBuildableClient()}
	cfg.HTTPClient = tw.rec
	// One attempt per call: a retry would add a response to one side only.
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	tw.ddb = dynamodb.NewFromConfig(cfg)
	tw.streams = dynamodbstreams.NewFromConfig(cfg)
	tw.held = map[string]heldIterator{}
	return nil
}

// recordingClient is the SDK's HTTP client, keeping each request and
// response body. It sends the request's JSON with its object keys sorted:
// the SDK writes a map (an item's attributes, ExpressionAttributeValues,
// BatchGetItem's tables) in Go's random map order, and moto keeps what it
// is given in the order it came, so the two servers would otherwise be
// asked, and answer, in different orders. (moto does not check the
// request's signature.)
type recordingClient struct {
	next  aws.HTTPClient
	mu    sync.Mutex
	calls []recordedCall
}

type recordedCall struct {
	target  string // X-Amz-Target: the API and operation
	request []byte
	status  int
	body    []byte
}

func (r *recordingClient) Do(req *http.Request) (*http.Response, error) {
	call := recordedCall{target: req.Header.Get("X-Amz-Target")}
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("record request %s: %w", call.target, err)
		}
		if body, err = sortedJSON(body); err != nil {
			return nil, fmt.Errorf("record request %s: %w", call.target, err)
		}
		call.request = body
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	resp, err := r.next.Do(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("record response %s: %w", call.target, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	call.status, call.body = resp.StatusCode, body
	r.mu.Lock()
	r.calls = append(r.calls, call)
	r.mu.Unlock()
	return resp, nil
}

// sortedJSON returns the JSON text body with every object's keys sorted,
// its numbers as they were written.
func sortedJSON(body []byte) ([]byte, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return body, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("request body is not JSON: %w", err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

// take returns the calls recorded since the last take.
func (r *recordingClient) take() []recordedCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	calls := r.calls
	r.calls = nil
	return calls
}

// launcherStep is one step of the sequence both servers run.
type launcherStep struct {
	name string
	// wantErr is the API error code both servers must answer the step's
	// last call with; "" when every call must succeed.
	wantErr string
	run     func(ctx context.Context, tw *motoTwin) error
}

// launcherVolatile matches the response fields moto fills from the clock
// or from random bytes, which differ between any two servers:
//   - StreamArn, LatestStreamArn, StreamLabel, LatestStreamLabel: the
//     stream's label is the time its table was created;
//   - ShardIterator, NextShardIterator: 472 random bytes and the label;
//   - eventID: a random UUID per stream record;
//   - ApproximateCreationDateTime, CreationDateTime,
//     CreationRequestDateTime: the time of the write or of the creation;
//   - TableId: a random UUID per table;
//   - SizeBytes of a stream record: moto's length of the record's JSON,
//     which holds the record's time as a float of as many digits as it
//     needs (the images it measures are compared whole).
//
// Everything else is compared as moto wrote it: the items and their
// attributes, Count and ScannedCount, LastEvaluatedKey, cancellation
// reasons, error types and messages, ItemCount and TableSizeBytes, and the
// stream records' SequenceNumber (moto numbers a shard's records from a
// constant, so a failed transaction that leaves a record behind, or takes
// one too many away, shows).
var launcherVolatile = regexp.MustCompile(`"(StreamArn|LatestStreamArn|StreamLabel|LatestStreamLabel|ShardIterator|NextShardIterator|eventID|ApproximateCreationDateTime|CreationDateTime|CreationRequestDateTime|TableId|SizeBytes)": ("(?:[^"\\]|\\.)*"|[-+.0-9eE]+)`)

func maskVolatile(body []byte) []byte {
	return launcherVolatile.ReplaceAll(body, []byte(`"$1": "<volatile>"`))
}

// compareLauncherStep runs st on both servers, compares their answers, and
// returns how many responses it compared.
func compareLauncherStep(ctx context.Context, t *testing.T, step string, st launcherStep, plain, patched *motoTwin) int {
	t.Helper()
	errPlain := st.run(ctx, plain)
	callsPlain := plain.rec.take()
	errPatched := st.run(ctx, patched)
	callsPatched := patched.rec.take()
	for _, side := range []struct {
		tw  *motoTwin
		err error
	}{{plain, errPlain}, {patched, errPatched}} {
		if got := apiErrorCode(side.err); got != st.wantErr {
			t.Errorf("%s: %s: error %q, want %q (%v)", step, side.tw.label, got, st.wantErr, side.err)
		}
	}
	if len(callsPlain) != len(callsPatched) {
		t.Errorf("%s: %d calls to moto_server, %d to the launcher:\nmoto_server: %s\nlauncher:    %s",
			step, len(callsPlain), len(callsPatched), callTargets(callsPlain), callTargets(callsPatched))
		return 0
	}
	if len(callsPlain) == 0 {
		t.Errorf("%s: the step made no call", step)
	}
	for i := range callsPlain {
		a, b := callsPlain[i], callsPatched[i]
		bodyA, bodyB := maskVolatile(a.body), maskVolatile(b.body)
		if a.target == b.target && a.status == b.status && bytes.Equal(bodyA, bodyB) {
			continue
		}
		t.Errorf("%s: call %d of %d differs: %s %s\nmoto_server: %s %d\n%s\nlauncher:    %s %d\n%s",
			step, i+1, len(callsPlain), a.target, clipBody(a.request, 600),
			a.target, a.status, showDifference(bodyA, bodyB),
			b.target, b.status, showDifference(bodyB, bodyA))
	}
	return len(callsPlain)
}

func apiErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return "not an API error: " + err.Error()
}

func callTargets(calls []recordedCall) string {
	targets := make([]string, len(calls))
	for i, c := range calls {
		targets[i] = c.target
	}
	return strings.Join(targets, " ")
}

// showDifference returns body whole when it is short, else the part of it
// around the first byte where it differs from other.
func showDifference(body, other []byte) string {
	const whole, around = 3000, 700
	if len(body) <= whole {
		return string(body)
	}
	at := 0
	for at < len(body) && at < len(other) && body[at] == other[at] {
		at++
	}
	from, to := max(0, at-around), min(len(body), at+around)
	return fmt.Sprintf("(%d bytes; they first differ at byte %d) ...%s...", len(body), at, body[from:to])
}

func clipBody(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}

// checkHeldIterators reads each stream through the iterator the "hold"
// step took before the failed transactions, and checks that it returns
// exactly the records a fresh read returns after the ones it had already
// read: the failed transactions' records are gone and the later writes'
// are there. Only the launcher is checked: moto_server's rollback swaps
// each table for a copy made before the transaction, so an iterator taken
// earlier still reads the old table's stream, with the failed
// transaction's records in it and none of the later ones.
func checkHeldIterators(ctx context.Context, t *testing.T, fx *launcherFixture, tw *motoTwin) {
	defer tw.rec.take()
	for _, tbl := range fx.streamed() {
		held, ok := tw.held[tbl.name]
		if !ok {
			t.Fatalf("%s: no held iterator (the hold step failed)", tbl.name)
		}
		later, _, err := drainShard(ctx, tw, held.iter)
		if err != nil {
			t.Fatalf("%s: read through the held iterator: %v", tbl.name, err)
		}
		all, err := readWholeStream(ctx, tw, tbl.name)
		if err != nil {
			t.Fatalf("%s: %v", tbl.name, err)
		}
		if held.read > len(all) {
			t.Fatalf("%s: %d records read before the failed transactions, %d in the stream now", tbl.name, held.read, len(all))
		}
		want := recordIDs(all[held.read:])
		if got := recordIDs(later); got != want || len(later) == 0 {
			t.Errorf("%s: the held iterator read %d records [%s], want the %d written since [%s]", tbl.name, len(later), got, len(all)-held.read, want)
		}
	}
}

func recordIDs(recs []streamtypes.Record) string {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = aws.ToString(r.Dynamodb.SequenceNumber) + "/" + aws.ToString(r.EventID)
	}
	return strings.Join(ids, " ")
}

// streamShard returns the ARN of table's stream and the id of its shard.
func streamShard(ctx context.Context, tw *motoTwin, table string) (string, string, error) {
	desc, err := tw.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return "", "", fmt.Errorf("describe table %s: %w", table, err)
	}
	arn := aws.ToString(desc.Table.LatestStreamArn)
	stream, err := tw.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn)})
	if err != nil {
		return "", "", fmt.Errorf("describe stream of %s: %w", table, err)
	}
	shards := stream.StreamDescription.Shards
	if len(shards) != 1 {
		return "", "", fmt.Errorf("stream of %s has %d shards, moto has one", table, len(shards))
	}
	return arn, aws.ToString(shards[0].ShardId), nil
}

// readWholeStream reads table's stream from its start, seven records a call.
func readWholeStream(ctx context.Context, tw *motoTwin, table string) ([]streamtypes.Record, error) {
	arn, shard, err := streamShard(ctx, tw, table)
	if err != nil {
		return nil, err
	}
	it, err := tw.streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
		StreamArn: aws.String(arn), ShardId: aws.String(shard), ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		return nil, fmt.Errorf("stream of %s: get iterator: %w", table, err)
	}
	recs, _, err := drainShard(ctx, tw, it.ShardIterator)
	if err != nil {
		return nil, fmt.Errorf("stream of %s: %w", table, err)
	}
	return recs, nil
}

// drainShard reads through iter until a read returns nothing, and returns
// the records and the iterator to read on with.
func drainShard(ctx context.Context, tw *motoTwin, iter *string) ([]streamtypes.Record, *string, error) {
	var recs []streamtypes.Record
	for pages := 0; iter != nil; pages++ {
		if pages == 200 {
			return nil, nil, errors.New("get records: still reading after 200 pages")
		}
		out, err := tw.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(7)})
		if err != nil {
			return nil, nil, fmt.Errorf("get records: %w", err)
		}
		recs = append(recs, out.Records...)
		iter = out.NextShardIterator
		if len(out.Records) == 0 {
			break
		}
	}
	return recs, iter, nil
}

// launcherSteps is the whole sequence: load, writes, the battery of
// queries, transactions, the battery again.
func launcherSteps(fx *launcherFixture) []launcherStep {
	steps := []launcherStep{{name: "create the tables from template.yaml", run: func(ctx context.Context, tw *motoTwin) error {
		_, err := awslocal.CreateTables(ctx, tw.ddb, fx.defs(), fx.prefix)
		return err
	}}}
	steps = append(steps, fx.emptyMapKeyStep())
	steps = append(steps, fx.loadSteps()...)
	steps = append(steps, fx.writeSteps()...)
	steps = append(steps, fx.stateStep("after the writes"), fx.holdStep())
	steps = append(steps, fx.transactionSteps()...)
	steps = append(steps, fx.afterTransactionWrites()...)
	steps = append(steps, fx.scanSteps()...)
	steps = append(steps, fx.querySteps()...)
	return steps
}

// stateStep scans every table and reads every stream from its start.
func (fx *launcherFixture) stateStep(when string) launcherStep {
	return launcherStep{name: when + ": every table and stream", run: func(ctx context.Context, tw *motoTwin) error {
		for _, tbl := range fx.tables {
			if err := scanPages(ctx, tw, &dynamodb.ScanInput{TableName: aws.String(tbl.name)}); err != nil {
				return err
			}
		}
		for _, tbl := range fx.streamed() {
			if _, err := readWholeStream(ctx, tw, tbl.name); err != nil {
				return err
			}
		}
		return nil
	}}
}

// holdStep reads every stream to its end and keeps the iterator, for
// checkHeldIterators.
func (fx *launcherFixture) holdStep() launcherStep {
	return launcherStep{name: "hold an iterator on every stream", run: func(ctx context.Context, tw *motoTwin) error {
		for _, tbl := range fx.streamed() {
			arn, shard, err := streamShard(ctx, tw, tbl.name)
			if err != nil {
				return err
			}
			it, err := tw.streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
				StreamArn: aws.String(arn), ShardId: aws.String(shard), ShardIteratorType: streamtypes.ShardIteratorTypeTrimHorizon,
			})
			if err != nil {
				return err
			}
			recs, next, err := drainShard(ctx, tw, it.ShardIterator)
			if err != nil {
				return err
			}
			tw.held[tbl.name] = heldIterator{iter: next, read: len(recs)}
		}
		return nil
	}}
}

func scanPages(ctx context.Context, tw *motoTwin, in *dynamodb.ScanInput) error {
	for pages := 0; ; pages++ {
		if pages == 100 {
			return fmt.Errorf("scan %s: still paging after 100 pages", aws.ToString(in.TableName))
		}
		out, err := tw.ddb.Scan(ctx, in)
		if err != nil {
			return err
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

func queryPages(ctx context.Context, tw *motoTwin, in *dynamodb.QueryInput) error {
	for pages := 0; ; pages++ {
		if pages == 100 {
			return fmt.Errorf("query %s: still paging after 100 pages", aws.ToString(in.TableName))
		}
		out, err := tw.ddb.Query(ctx, in)
		if err != nil {
			return err
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// launcherFixture is the tables of the comparison, read from the template,
// and the items loaded into them.
type launcherFixture struct {
	prefix string
	tables []*fixtureTable
	byID   map[string]*fixtureTable
}

// fixtureTable is one table and its generated items.
type fixtureTable struct {
	def   awslocal.TableDef
	name  string
	items []map[string]types.AttributeValue
}

// launcherTables are the tables compared, with how many items each gets:
// Runs and ApiCalls (the snapshot function's transaction writes both; the
// queries of support, detection and notices read their indexes) and
// Policies, whose key has no sort key.
var launcherTables = []struct {
	logicalID string
	items     int
}{{"RunsTable", 21}, {"ApiCallsTable", 19}, {"PoliciesTable", 11}}

func newLauncherFixture(defs []awslocal.TableDef, prefix string) (*launcherFixture, error) {
	fx := &launcherFixture{prefix: prefix, byID: map[string]*fixtureTable{}}
	for _, want := range launcherTables {
		var def *awslocal.TableDef
		for i := range defs {
			if defs[i].LogicalID == want.logicalID {
				def = &defs[i]
			}
		}
		if def == nil {
			return nil, fmt.Errorf("template.yaml has no %s", want.logicalID)
		}
		if def.StreamViewType == "" {
			return nil, fmt.Errorf("template.yaml: %s has no stream; the comparison reads it", want.logicalID)
		}
		tbl := &fixtureTable{def: *def, name: prefix + def.LogicalID}
		keys := map[string]int{}
		for i := range want.items {
			item := tbl.item(i, want.items)
			key := avString(item[def.PartitionKey])
			if def.SortKey != "" {
				key += " " + avString(item[def.SortKey])
			}
			if j, dup := keys[key]; dup {
				return nil, fmt.Errorf("%s: items %d and %d have the same key %s", def.LogicalID, j, i, key)
			}
			keys[key] = i
			tbl.items = append(tbl.items, item)
		}
		fx.tables = append(fx.tables, tbl)
		fx.byID[def.LogicalID] = tbl
	}
	return fx, nil
}

func (fx *launcherFixture) defs() []awslocal.TableDef {
	defs := make([]awslocal.TableDef, len(fx.tables))
	for i, tbl := range fx.tables {
		defs[i] = tbl.def
	}
	return defs
}

func (fx *launcherFixture) streamed() []*fixtureTable {
	var out []*fixtureTable
	for _, tbl := range fx.tables {
		if tbl.def.StreamViewType != "" {
			out = append(out, tbl)
		}
	}
	return out
}

// keyAttrs returns the attributes of the table's and its indexes' keys,
// sorted, each with its role: "hash" or "range" of an index, or "table
// hash" / "table range".
func (tbl *fixtureTable) keyAttrs() ([]string, map[string]string) {
	roles := map[string]string{tbl.def.PartitionKey: "table hash"}
	if tbl.def.SortKey != "" {
		roles[tbl.def.SortKey] = "table range"
	}
	for _, idx := range tbl.def.Indexes {
		if _, ok := roles[idx.PartitionKey]; !ok {
			roles[idx.PartitionKey] = "hash"
		}
		if _, ok := roles[idx.SortKey]; idx.SortKey != "" && !ok {
			roles[idx.SortKey] = "range"
		}
	}
	names := make([]string, 0, len(roles))
	for a := range roles {
		names = append(names, a)
	}
	sort.Strings(names)
	return names, roles
}

// item returns item i of n: its table key (three partitions, sort keys
// written out of order), the key attributes of every index (each left out
// of some items, for the sparse indexes; few distinct sort key values, so
// that index order falls back to the table's key), and payload attributes
// of every DynamoDB type.
func (tbl *fixtureTable) item(i, n int) map[string]types.AttributeValue {
	item := fixturePayload(i)
	names, roles := tbl.keyAttrs()
	for k, a := range names {
		typ := tbl.def.Attributes[a]
		switch roles[a] {
		case "table hash":
			if tbl.def.SortKey == "" {
				item[a] = fixtureKeyValue(typ, fmt.Sprintf("%s-%02d", a, (i*7)%n), (i*7)%n)
			} else {
				item[a] = fixtureKeyValue(typ, []string{a + "-0", a + "-1", "ünï-" + a}[i%3], i%3)
			}
		case "table range":
			j := (i * 8) % n // unique while n is odd
			item[a] = fixtureKeyValue(typ, fmt.Sprintf("2024-06-01T%02d:%02d:00Z", j/4, j%4*15), j*3-20)
		case "hash":
			if (i+k)%4 != 0 {
				item[a] = fixtureKeyValue(typ, []string{a + "-a", "ü " + a}[(i+k)%2], (i+k)%2)
			}
		case "range":
			if (i+k)%5 != 0 {
				item[a] = fixtureKeyValue(typ, fmt.Sprintf("2024-06-02T%02d:30:00Z", (i*3)%4), (i*3)%4)
			}
		}
	}
	return item
}

func fixtureKeyValue(typ, s string, n int) types.AttributeValue {
	if typ == "N" {
		if n%2 != 0 {
			return avN(strconv.Itoa(n) + ".5")
		}
		return avN(strconv.Itoa(n))
	}
	return avS(s)
}

// fixturePayload is the non-key attributes of item i: maps, lists, sets,
// nested maps, empty strings, unicode, and binary on some items only (the
// launcher writes items without binary its own way).
func fixturePayload(i int) map[string]types.AttributeValue {
	titles := []string{
		"Grüße, 世界 🚀", "quote \" backslash \\ newline \n tab \t", "עברית ‏mixed‎ RTL", "\u2028line\u2029sep \u0000nul", "",
		"e\u0301 combining, ﬁ ligature, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
	}
	item := map[string]types.AttributeValue{
		"title":   avS(titles[i%len(titles)]),
		"status":  avS([]string{"ok", "failed", "timed out"}[i%3]),
		"count":   avN(strconv.Itoa((i * 11) % 17)),
		"big":     avN("-12345678901234567890.123456789"),
		"empty":   avS(""),
		"flag":    &types.AttributeValueMemberBOOL{Value: i%2 == 0},
		"nothing": &types.AttributeValueMemberNULL{Value: true},
		"tags":    &types.AttributeValueMemberSS{Value: []string{"t" + strconv.Itoa(i%4), "ünï", "zeta", "alpha"}},
		"sizes":   &types.AttributeValueMemberNS{Value: []string{strconv.Itoa(i), "2.5", "-3", "1e3"}},
		"payload": avM(map[string]types.AttributeValue{
			"nested": avM(map[string]types.AttributeValue{"deep": avS("tief ü " + strconv.Itoa(i)), "n": avN(strconv.Itoa(i % 5))}),
			"list":   avL(avS("x"), avN("1"), &types.AttributeValueMemberBOOL{Value: false}, &types.AttributeValueMemberNULL{Value: true}, avM(nil), avL()),
			"empty":  avS(""),
			"ß-key":  avM(map[string]types.AttributeValue{"a.b": avS("dotted"), "#:": avS("odd name")}),
		}),
		"notes":     avL(avS("first"), avN("2"), avL(avS("in"), avL(avN("3"))), avM(map[string]types.AttributeValue{"k": avS("v")})),
		"ünïcödé 名": avS("attribute name in unicode"),
	}
	if i%3 == 0 {
		item["blob"] = &types.AttributeValueMemberB{Value: []byte{0, 1, 2, 0xfe, 0xff, byte(i)}}
	}
	if i%6 == 0 {
		item["blobs"] = &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2, 3}, []byte("ü")}}
	}
	if i%5 == 1 {
		item["deep_blob"] = avM(map[string]types.AttributeValue{"inner": avL(avS("s"), &types.AttributeValueMemberB{Value: []byte("bytes")})})
	}
	return item
}

func avS(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func avN(n string) types.AttributeValue { return &types.AttributeValueMemberN{Value: n} }
func avL(v ...types.AttributeValue) types.AttributeValue {
	if v == nil {
		v = []types.AttributeValue{}
	}
	return &types.AttributeValueMemberL{Value: v}
}

func avM(m map[string]types.AttributeValue) types.AttributeValue {
	if m == nil {
		m = map[string]types.AttributeValue{}
	}
	return &types.AttributeValueMemberM{Value: m}
}

// key returns the table key of item i.
func (tbl *fixtureTable) key(i int) map[string]types.AttributeValue {
	return tbl.keyOf(tbl.items[i])
}

func (tbl *fixtureTable) keyOf(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	key := map[string]types.AttributeValue{tbl.def.PartitionKey: item[tbl.def.PartitionKey]}
	if tbl.def.SortKey != "" {
		key[tbl.def.SortKey] = item[tbl.def.SortKey]
	}
	return key
}

// newItem returns an item that is not in the table: item i's attributes
// under a new key.
func (tbl *fixtureTable) newItem(tag string, i int) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{}
	for a, v := range tbl.items[i] {
		item[a] = v
	}
	for a, v := range tbl.newKey(tag) {
		item[a] = v
	}
	return item
}

// replacement returns item from's attributes under item i's key.
func (tbl *fixtureTable) replacement(i, from int) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{}
	for a, v := range tbl.items[from] {
		item[a] = v
	}
	for a, v := range tbl.key(i) {
		item[a] = v
	}
	return item
}

// newKey returns a key no item has: tag in its strings, a number from tag
// in its numbers.
func (tbl *fixtureTable) newKey(tag string) map[string]types.AttributeValue {
	n := 1000
	for _, c := range tag {
		n += int(c)
	}
	key := map[string]types.AttributeValue{tbl.def.PartitionKey: fixtureKeyValue(tbl.def.Attributes[tbl.def.PartitionKey], "new "+tag, n)}
	if tbl.def.SortKey != "" {
		key[tbl.def.SortKey] = fixtureKeyValue(tbl.def.Attributes[tbl.def.SortKey], "2030-01-01T00:00:00Z "+tag, n)
	}
	return key
}

// loadSteps puts every item: one PutItem each in Runs and Policies,
// BatchWriteItem in ApiCalls.
func (fx *launcherFixture) loadSteps() []launcherStep {
	var steps []launcherStep
	for _, tbl := range fx.tables {
		if tbl.def.LogicalID == "ApiCallsTable" {
			steps = append(steps, launcherStep{name: "BatchWriteItem " + tbl.def.LogicalID, run: func(ctx context.Context, tw *motoTwin) error {
				for from := 0; from < len(tbl.items); from += 8 {
					var reqs []types.WriteRequest
					for _, item := range tbl.items[from:min(from+8, len(tbl.items))] {
						reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
					}
					if _, err := tw.ddb.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{tbl.name: reqs}}); err != nil {
						return err
					}
				}
				return nil
			}})
			continue
		}
		steps = append(steps, launcherStep{name: "PutItem every item of " + tbl.def.LogicalID, run: func(ctx context.Context, tw *motoTwin) error {
			for _, item := range tbl.items {
				if _, err := tw.ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tbl.name), Item: item}); err != nil {
					return err
				}
			}
			return nil
		}})
	}
	return steps
}

// payloadNames are the expression attribute names of the payload.
var payloadNames = map[string]string{
	"#t": "title", "#s": "status", "#c": "count", "#f": "flag", "#z": "nothing", "#g": "tags", "#n": "sizes",
	"#p": "payload", "#d": "deep", "#e": "nested", "#l": "list", "#o": "notes", "#b": "blob", "#u": "ünïcödé 名",
}

var exprPlaceholder = regexp.MustCompile(`#[A-Za-z0-9_]+`)

// exprNames returns the expression attribute names exprs use, from extra
// and payloadNames (DynamoDB refuses names an expression does not use).
func exprNames(extra map[string]string, exprs ...string) map[string]string {
	names := map[string]string{}
	for _, expr := range exprs {
		for _, ph := range exprPlaceholder.FindAllString(expr, -1) {
			if name, ok := extra[ph]; ok {
				names[ph] = name
			} else if name, ok := payloadNames[ph]; ok {
				names[ph] = name
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	return names
}

// update is an UpdateItem of the item at key.
func (tbl *fixtureTable) update(key map[string]types.AttributeValue, expr string, values map[string]types.AttributeValue, rv types.ReturnValue) *dynamodb.UpdateItemInput {
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String(tbl.name), Key: key, UpdateExpression: aws.String(expr),
		ExpressionAttributeNames: map[string]string{}, ReturnValues: rv,
	}
	if len(values) > 0 {
		in.ExpressionAttributeValues = values
	}
	return in
}

// writeSteps are single-item writes and reads: PutItem, UpdateItem,
// DeleteItem, GetItem, BatchGetItem.
func (fx *launcherFixture) writeSteps() []launcherStep {
	runs, calls, policies := fx.byID["RunsTable"], fx.byID["ApiCallsTable"], fx.byID["PoliciesTable"]
	put := func(tbl *fixtureTable, item map[string]types.AttributeValue, mod func(*dynamodb.PutItemInput)) func(context.Context, *motoTwin) error {
		return func(ctx context.Context, tw *motoTwin) error {
			in := &dynamodb.PutItemInput{TableName: aws.String(tbl.name), Item: item}
			mod(in)
			_, err := tw.ddb.PutItem(ctx, in)
			return err
		}
	}
	failIfExists := func(in *dynamodb.PutItemInput) {
		in.ConditionExpression = aws.String("attribute_not_exists(#t)")
		in.ExpressionAttributeNames = map[string]string{"#t": "title"}
		in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	}
	steps := []launcherStep{
		{name: "PutItem replacing an item, ReturnValues ALL_OLD", run: put(runs, runs.replacement(3, 4), func(in *dynamodb.PutItemInput) { in.ReturnValues = types.ReturnValueAllOld })},
		{name: "PutItem failing its condition on an item with binary, ALL_OLD on failure", wantErr: "ConditionalCheckFailedException", run: put(runs, runs.items[0], failIfExists)},
		{name: "PutItem failing its condition, ALL_OLD on failure", wantErr: "ConditionalCheckFailedException", run: put(calls, calls.items[1], failIfExists)},
		{name: "PutItem of a new item, ReturnValues ALL_OLD", run: put(policies, policies.newItem("put", 2), func(in *dynamodb.PutItemInput) { in.ReturnValues = types.ReturnValueAllOld })},
	}
	steps = append(steps, fx.updateSteps()...)
	return append(steps, fx.readSteps()...)
}

func (fx *launcherFixture) updateSteps() []launcherStep {
	runs, calls, policies := fx.byID["RunsTable"], fx.byID["ApiCallsTable"], fx.byID["PoliciesTable"]
	update := func(in *dynamodb.UpdateItemInput, mod ...func(*dynamodb.UpdateItemInput)) func(context.Context, *motoTwin) error {
		return func(ctx context.Context, tw *motoTwin) error {
			for _, m := range mod {
				m(in)
			}
			in.ExpressionAttributeNames = exprNames(in.ExpressionAttributeNames, aws.ToString(in.UpdateExpression), aws.ToString(in.ConditionExpression))
			_, err := tw.ddb.UpdateItem(ctx, in)
			return err
		}
	}
	modify := "SET #p.#e.#d = :d, #c = #c + :one, #o = list_append(#o, :more) REMOVE #z ADD #n :ns DELETE #g :del"
	modifyValues := map[string]types.AttributeValue{
		":d": avS("geändert ✓"), ":one": avN("1"), ":more": avL(avS("appended"), avM(map[string]types.AttributeValue{"x": avN("0.001")})),
		":ns": &types.AttributeValueMemberNS{Value: []string{"42", "-0.5"}}, ":del": &types.AttributeValueMemberSS{Value: []string{"zeta"}},
	}
	created := map[string]types.AttributeValue{
		":t": avS("créé par UpdateItem"), ":s": avS("ok"), ":c": avN("0"), ":p": runs.items[1]["payload"], ":g": &types.AttributeValueMemberSS{Value: []string{"b", "a", "ç"}},
	}
	return []launcherStep{
		{name: "UpdateItem creating an item, ReturnValues ALL_NEW", run: update(runs.update(runs.newKey("created"), "SET #t = :t, #s = :s, #c = :c, #p = :p, #g = :g", created, types.ReturnValueAllNew))},
		{name: "UpdateItem modifying maps, lists and sets, ReturnValues UPDATED_OLD", run: update(runs.update(runs.key(1), modify, modifyValues, types.ReturnValueUpdatedOld))},
		{name: "UpdateItem modifying, ReturnValues UPDATED_NEW", run: update(calls.update(calls.key(2), modify, modifyValues, types.ReturnValueUpdatedNew))},
		{name: "UpdateItem adding set members, ReturnValues ALL_OLD", run: update(runs.update(runs.key(2), "SET #f = :f, #p.#l[1] = :x ADD #g :g", map[string]types.AttributeValue{
			":f": &types.AttributeValueMemberBOOL{Value: true}, ":x": avN("99"), ":g": &types.AttributeValueMemberSS{Value: []string{"new-1", "new-2", "ünï"}},
		}, types.ReturnValueAllOld))},
		{name: "UpdateItem setting binary, ReturnValues ALL_NEW", run: update(policies.update(policies.key(1), "SET #b = :b", map[string]types.AttributeValue{":b": &types.AttributeValueMemberB{Value: []byte("\x00bin")}}, types.ReturnValueAllNew))},
		{name: "UpdateItem of an item with no sort key, ReturnValues UPDATED_NEW", run: update(policies.update(policies.key(3), "SET #t = :t REMOVE #o", map[string]types.AttributeValue{":t": avS("")}, types.ReturnValueUpdatedNew))},
		{name: "UpdateItem moving an item between index partitions, ReturnValues ALL_NEW", run: update(fx.moveInIndexes(runs, 5))},
		{name: "UpdateItem moving an ApiCalls item between index partitions", run: update(fx.moveInIndexes(calls, 6))},
		{name: "UpdateItem failing its condition, ALL_OLD on failure", wantErr: "ConditionalCheckFailedException", run: update(runs.update(runs.key(7), "SET #t = :t", map[string]types.AttributeValue{":t": avS("never"), ":c": avN("-1")}, types.ReturnValueAllNew), func(in *dynamodb.UpdateItemInput) {
			in.ConditionExpression = aws.String("#c = :c")
			in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
		})},
		{name: "UpdateItem of a key attribute", wantErr: "ValidationException", run: update(runs.update(runs.key(8), "SET #k = :k", map[string]types.AttributeValue{":k": avS("x")}, types.ReturnValueAllNew), func(in *dynamodb.UpdateItemInput) {
			in.ExpressionAttributeNames["#k"] = runs.def.PartitionKey
		})},
		{name: "DeleteItem, ReturnValues ALL_OLD", run: func(ctx context.Context, tw *motoTwin) error {
			_, err := tw.ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(runs.name), Key: runs.key(9), ReturnValues: types.ReturnValueAllOld})
			return err
		}},
		{name: "DeleteItem of a missing item, ReturnValues ALL_OLD", run: func(ctx context.Context, tw *motoTwin) error {
			_, err := tw.ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(calls.name), Key: calls.newKey("missing"), ReturnValues: types.ReturnValueAllOld})
			return err
		}},
	}
}

// moveInIndexes is an UpdateItem of item i that puts it in another
// partition of every index whose key is not the table's, and takes it out
// of the first index with a sort key of its own.
func (fx *launcherFixture) moveInIndexes(tbl *fixtureTable, i int) *dynamodb.UpdateItemInput {
	names, roles := tbl.keyAttrs()
	var set []string
	values := map[string]types.AttributeValue{}
	extra := map[string]string{}
	removed := ""
	for k, a := range names {
		ph := "#k" + strconv.Itoa(k)
		switch roles[a] {
		case "hash":
			extra[ph] = a
			set = append(set, fmt.Sprintf("%s = :v%d", ph, k))
			values[":v"+strconv.Itoa(k)] = fixtureKeyValue(tbl.def.Attributes[a], "ü "+a, 1)
		case "range":
			if removed == "" {
				extra[ph], removed = a, ph
			}
		}
	}
	expr := "SET " + strings.Join(set, ", ")
	if removed != "" {
		expr += " REMOVE " + removed
	}
	in := tbl.update(tbl.key(i), expr, values, types.ReturnValueAllNew)
	for k, v := range extra {
		in.ExpressionAttributeNames[k] = v
	}
	return in
}

func (fx *launcherFixture) readSteps() []launcherStep {
	runs, calls, policies := fx.byID["RunsTable"], fx.byID["ApiCallsTable"], fx.byID["PoliciesTable"]
	get := func(tbl *fixtureTable, key map[string]types.AttributeValue, mod func(*dynamodb.GetItemInput)) func(context.Context, *motoTwin) error {
		return func(ctx context.Context, tw *motoTwin) error {
			in := &dynamodb.GetItemInput{TableName: aws.String(tbl.name), Key: key}
			if mod != nil {
				mod(in)
			}
			_, err := tw.ddb.GetItem(ctx, in)
			return err
		}
	}
	return []launcherStep{
		{name: "GetItem", run: get(runs, runs.key(1), nil)},
		{name: "GetItem of an item with binary", run: get(runs, runs.key(0), nil)},
		{name: "GetItem of an item with binary nested in a map", run: get(calls, calls.key(1), nil)},
		{name: "GetItem with a ProjectionExpression of nested paths, ConsistentRead", run: get(calls, calls.key(2), func(in *dynamodb.GetItemInput) {
			in.ProjectionExpression = aws.String("#p.#e.#d, #p.#l, #o, #u, #g, #b")
			in.ExpressionAttributeNames = exprNames(nil, *in.ProjectionExpression)
			in.ConsistentRead = aws.Bool(true)
		})},
		{name: "GetItem of a missing item", run: get(policies, policies.newKey("missing"), nil)},
		{name: "BatchGetItem across three tables", run: func(ctx context.Context, tw *motoTwin) error {
			req := map[string]types.KeysAndAttributes{}
			for _, tbl := range fx.tables {
				req[tbl.name] = types.KeysAndAttributes{Keys: []map[string]types.AttributeValue{tbl.key(4), tbl.key(0), tbl.newKey("missing"), tbl.key(3)}}
			}
			_, err := tw.ddb.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			return err
		}},
	}
}

func txPut(tbl *fixtureTable, item map[string]types.AttributeValue) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(tbl.name), Item: item}}
}

func txUpdate(tbl *fixtureTable, key map[string]types.AttributeValue, expr string, values map[string]types.AttributeValue) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(tbl.name), Key: key, UpdateExpression: aws.String(expr),
		ExpressionAttributeNames: exprNames(nil, expr), ExpressionAttributeValues: values,
	}}
}

func txDelete(tbl *fixtureTable, key map[string]types.AttributeValue) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(tbl.name), Key: key}}
}

// txCheck is a ConditionCheck that returns the item when it fails.
func txCheck(tbl *fixtureTable, key map[string]types.AttributeValue, cond string, values map[string]types.AttributeValue) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: aws.String(tbl.name), Key: key, ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: exprNames(nil, cond), ExpressionAttributeValues: values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}
}

func transact(items ...types.TransactWriteItem) func(context.Context, *motoTwin) error {
	return func(ctx context.Context, tw *motoTwin) error {
		_, err := tw.ddb.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		return err
	}
}

// transactionSteps are TransactWriteItems that succeed, then ones that
// fail in each way moto fails one, each failure followed by every table
// and stream (which the failure must have left as they were).
func (fx *launcherFixture) transactionSteps() []launcherStep {
	steps := fx.transactionsThatSucceed()
	steps = append(steps, fx.stateStep("after the transactions that succeed"))
	for _, st := range fx.transactionsThatFail() {
		st.name = "TransactWriteItems " + st.name
		steps = append(steps, st, fx.stateStep("after the transaction that "+strings.TrimPrefix(st.name, "TransactWriteItems ")))
	}
	return steps
}

// The transactions' updates (txBump of an item that is there, txCreate of
// one that is not) and conditions.
const (
	txBump   = "SET #s = :s, #p.#e.#d = :d ADD #c :one"
	txCreate = "SET #s = :s, #t = :d ADD #c :one"
	txExists = "attribute_exists(#t)"
	txAbsent = "attribute_not_exists(#t)"
)

var txBumpValues = map[string]types.AttributeValue{":s": avS("changed in a transaction"), ":d": avS("txn ✓"), ":one": avN("1")}

func (fx *launcherFixture) transactionsThatSucceed() []launcherStep {
	runs, calls, policies := fx.byID["RunsTable"], fx.byID["ApiCallsTable"], fx.byID["PoliciesTable"]
	return []launcherStep{
		{name: "TransactWriteItems Put + Update + ConditionCheck across tables", run: transact(
			txPut(runs, runs.newItem("txn ok", 3)),
			txUpdate(calls, calls.key(3), txBump, txBumpValues),
			txCheck(policies, policies.key(0), txExists, nil),
			txCheck(runs, runs.key(4), "#s = :st", map[string]types.AttributeValue{":st": runs.items[4]["status"]}),
		)},
		{name: "TransactWriteItems creating with Update, replacing with Put, Delete", run: transact(
			txUpdate(calls, calls.newKey("txn created"), txCreate, txBumpValues),
			txPut(runs, runs.replacement(2, 0)),
			txPut(policies, policies.replacement(4, 5)),
			txDelete(runs, runs.key(10)),
		)},
	}
}

func (fx *launcherFixture) transactionsThatFail() []launcherStep {
	runs, calls, policies := fx.byID["RunsTable"], fx.byID["ApiCallsTable"], fx.byID["PoliciesTable"]
	return []launcherStep{
		{name: "fails on its last ConditionCheck", wantErr: "TransactionCanceledException", run: transact(
			txPut(runs, runs.newItem("txn failed", 5)),
			txPut(runs, runs.replacement(11, 6)),
			txUpdate(calls, calls.key(4), txBump, txBumpValues),
			txDelete(policies, policies.key(5)),
			txUpdate(calls, calls.newKey("txn failed"), txCreate, txBumpValues),
			txDelete(runs, runs.key(12)),
			txCheck(runs, runs.key(13), txAbsent, nil),
		)},
		{name: "fails on its first ConditionCheck, of an item with binary", wantErr: "TransactionCanceledException", run: transact(
			txCheck(runs, runs.key(0), txAbsent, nil),
			txPut(runs, runs.newItem("txn failed first", 6)),
			txUpdate(runs, runs.key(14), txBump, txBumpValues),
		)},
		{name: "fails on an Update's own condition, and on two ConditionChecks", wantErr: "TransactionCanceledException", run: transact(
			txPut(policies, policies.newItem("txn failed update", 6)),
			func() types.TransactWriteItem {
				u := txUpdate(runs, runs.key(15), txBump, txBumpValues)
				u.Update.ConditionExpression = aws.String("#c = :never")
				u.Update.ExpressionAttributeNames = exprNames(nil, txBump, "#c = :never")
				u.Update.ExpressionAttributeValues = map[string]types.AttributeValue{":s": avS("x"), ":d": avS("y"), ":one": avN("1"), ":never": avN("-1")}
				u.Update.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
				return u
			}(),
			txUpdate(calls, calls.key(5), txBump, txBumpValues),
			txCheck(calls, calls.key(0), txAbsent, nil),
			txCheck(policies, policies.key(3), txAbsent, nil),
		)},
		{name: "fails on two operations on one item", wantErr: "ValidationException", run: transact(
			txUpdate(runs, runs.key(16), txBump, txBumpValues),
			txPut(calls, calls.newItem("txn twice", 7)),
			txDelete(policies, policies.key(6)),
			txCheck(runs, runs.key(16), txExists, nil),
		)},
		{name: "fails on an Update of a key attribute", wantErr: "ValidationException", run: transact(
			txPut(runs, runs.newItem("txn key update", 8)),
			txDelete(runs, runs.key(17)),
			func() types.TransactWriteItem {
				u := txUpdate(calls, calls.key(6), "SET #k = :k", map[string]types.AttributeValue{":k": fixtureKeyValue(calls.def.Attributes[calls.def.SortKey], "x", 7)})
				u.Update.ExpressionAttributeNames = map[string]string{"#k": calls.def.SortKey}
				return u
			}(),
		)},
		{name: "fails on a table that does not exist", wantErr: "ResourceNotFoundException", run: transact(
			txPut(runs, runs.newItem("txn no table", 9)),
			txUpdate(calls, calls.key(7), txBump, txBumpValues),
			txPut(&fixtureTable{def: runs.def, name: fx.prefix + "NoSuchTable"}, runs.items[1]),
		)},
		{name: "fails on a Put without its sort key", wantErr: "TransactionCanceledException", run: transact(
			txPut(runs, runs.newItem("txn no sort key", 10)),
			txUpdate(policies, policies.key(7), txBump, txBumpValues),
			txPut(calls, func() map[string]types.AttributeValue {
				item := calls.newItem("txn no sort key", 8)
				delete(item, calls.def.SortKey)
				return item
			}()),
		)},
		{name: "fails on an entry with two operations", wantErr: "ValidationException", run: transact(
			txPut(runs, runs.newItem("txn two in one", 11)),
			txUpdate(runs, runs.key(18), txBump, txBumpValues),
			func() types.TransactWriteItem {
				c := txCheck(runs, runs.key(19), txExists, nil)
				c.Delete = txDelete(runs, runs.key(19)).Delete
				return c
			}(),
		)},
	}
}

// afterTransactionWrites writes to every table once more, for the held
// iterators to read.
func (fx *launcherFixture) afterTransactionWrites() []launcherStep {
	var steps []launcherStep
	for _, tbl := range fx.tables {
		steps = append(steps, launcherStep{name: "PutItem and UpdateItem after the transactions in " + tbl.def.LogicalID, run: func(ctx context.Context, tw *motoTwin) error {
			if _, err := tw.ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tbl.name), Item: tbl.newItem("after", 2)}); err != nil {
				return err
			}
			in := tbl.update(tbl.key(1), "SET #t = :t", map[string]types.AttributeValue{":t": avS("after the transactions")}, types.ReturnValueAllNew)
			in.ExpressionAttributeNames = exprNames(nil, *in.UpdateExpression)
			_, err := tw.ddb.UpdateItem(ctx, in)
			return err
		}})
	}
	return append(steps, fx.stateStep("after the writes that follow the transactions"))
}

// scanSteps scan each table and each index, paged, filtered and projected.
func (fx *launcherFixture) scanSteps() []launcherStep {
	var steps []launcherStep
	for _, tbl := range fx.tables {
		indexes := []string{""}
		for _, idx := range tbl.def.Indexes {
			indexes = append(indexes, idx.Name)
		}
		for _, index := range indexes {
			name := "Scan " + tbl.def.LogicalID
			if index != "" {
				name += " index " + index
			}
			steps = append(steps, launcherStep{name: name + ", filtered, 4 a page", run: func(ctx context.Context, tw *motoTwin) error {
				filter := "#c >= :c OR contains(#g, :g)"
				in := &dynamodb.ScanInput{
					TableName: aws.String(tbl.name), Limit: aws.Int32(4), FilterExpression: aws.String(filter),
					ExpressionAttributeNames:  exprNames(nil, filter),
					ExpressionAttributeValues: map[string]types.AttributeValue{":c": avN("9"), ":g": avS("t1")},
				}
				if index != "" {
					in.IndexName = aws.String(index)
				}
				return scanPages(ctx, tw, in)
			}})
		}
		steps = append(steps, launcherStep{name: "Scan " + tbl.def.LogicalID + " projected, COUNT", run: func(ctx context.Context, tw *motoTwin) error {
			proj := "#p.#e, #o, #b, #u"
			if err := scanPages(ctx, tw, &dynamodb.ScanInput{TableName: aws.String(tbl.name), ProjectionExpression: aws.String(proj), ExpressionAttributeNames: exprNames(nil, proj)}); err != nil {
				return err
			}
			return scanPages(ctx, tw, &dynamodb.ScanInput{TableName: aws.String(tbl.name), Select: types.SelectCount})
		}})
	}
	return steps
}

// fixtureKeySchema is the key of a table or of one of its indexes.
type fixtureKeySchema struct {
	index, hash, rng string
}

func (tbl *fixtureTable) keySchemas() []fixtureKeySchema {
	out := []fixtureKeySchema{{hash: tbl.def.PartitionKey, rng: tbl.def.SortKey}}
	for _, idx := range tbl.def.Indexes {
		out = append(out, fixtureKeySchema{index: idx.Name, hash: idx.PartitionKey, rng: idx.SortKey})
	}
	return out
}

// partitions returns the distinct values of attr among the items, in
// order, and one value no item has.
func (tbl *fixtureTable) partitions(attr string) []types.AttributeValue {
	seen := map[string]types.AttributeValue{}
	for _, item := range tbl.items {
		if v, ok := item[attr]; ok {
			seen[avString(v)] = v
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]types.AttributeValue, 0, 5)
	for _, k := range keys[:min(len(keys), 4)] {
		out = append(out, seen[k])
	}
	return append(out, fixtureKeyValue(tbl.def.Attributes[attr], "no such partition", 424242))
}

func avString(v types.AttributeValue) string {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return "S:" + v.Value
	case *types.AttributeValueMemberN:
		return "N:" + v.Value
	}
	return fmt.Sprintf("%T", v)
}

// rangeBounds returns a lower bound, a prefix (S) and a BETWEEN pair for
// the sort key attr of the items in the partition hash = value.
func (tbl *fixtureTable) rangeBounds(hash string, value types.AttributeValue, attr string) (lo types.AttributeValue, prefix string, between [2]types.AttributeValue) {
	typ := tbl.def.Attributes[attr]
	var vals []string
	for _, item := range tbl.items {
		if v, ok := item[attr]; ok && avString(item[hash]) == avString(value) {
			vals = append(vals, strings.SplitN(avString(v), ":", 2)[1])
		}
	}
	if typ == "N" {
		nums := make([]float64, len(vals))
		for i, v := range vals {
			nums[i], _ = strconv.ParseFloat(v, 64)
		}
		sort.Float64s(nums)
		if len(nums) == 0 {
			return avN("0"), "", [2]types.AttributeValue{avN("-1"), avN("1")}
		}
		f := func(x float64) types.AttributeValue { return avN(strconv.FormatFloat(x, 'f', -1, 64)) }
		return f(nums[len(nums)/3]), "", [2]types.AttributeValue{f(nums[len(nums)/4]), f(nums[len(nums)*3/4])}
	}
	sort.Strings(vals)
	if len(vals) == 0 {
		return avS("m"), "m", [2]types.AttributeValue{avS("a"), avS("z")}
	}
	mid := vals[len(vals)/3]
	return avS(mid), mid[:min(len(mid), 12)], [2]types.AttributeValue{avS(vals[len(vals)/4]), avS(vals[len(vals)*3/4])}
}

// querySteps query every partition of every table and index four ways:
// all of it; descending after a lower bound, filtered, 3 a page; a prefix
// (S) or BETWEEN (N) of the sort key, filtered and projected, 2 a page;
// COUNT, descending, filtered on a nested attribute, 4 a page.
func (fx *launcherFixture) querySteps() []launcherStep {
	var steps []launcherStep
	for _, tbl := range fx.tables {
		for _, ks := range tbl.keySchemas() {
			where := tbl.def.LogicalID
			if ks.index != "" {
				where += " index " + ks.index
			}
			for _, v := range tbl.partitions(ks.hash) {
				steps = append(steps, launcherStep{
					name: fmt.Sprintf("Query %s %s = %s", where, ks.hash, avString(v)),
					run: func(ctx context.Context, tw *motoTwin) error {
						for _, in := range tbl.queries(ks, v) {
							if err := queryPages(ctx, tw, in); err != nil {
								return err
							}
						}
						return nil
					},
				})
			}
		}
	}
	return append(steps, fx.legacyQueryStep())
}

// queries are the four queries of the partition hash = v of ks.
func (tbl *fixtureTable) queries(ks fixtureKeySchema, v types.AttributeValue) []*dynamodb.QueryInput {
	keyNames := map[string]string{"#h": ks.hash}
	if ks.rng != "" {
		keyNames["#r"] = ks.rng
	}
	query := func(key, filter, proj string, values map[string]types.AttributeValue) *dynamodb.QueryInput {
		in := &dynamodb.QueryInput{
			TableName: aws.String(tbl.name), KeyConditionExpression: aws.String(key),
			ExpressionAttributeNames: exprNames(keyNames, key, filter, proj), ExpressionAttributeValues: map[string]types.AttributeValue{":h": v},
		}
		if ks.index != "" {
			in.IndexName = aws.String(ks.index)
		}
		if filter != "" {
			in.FilterExpression = aws.String(filter)
		}
		if proj != "" {
			in.ProjectionExpression = aws.String(proj)
		}
		for k, x := range values {
			in.ExpressionAttributeValues[k] = x
		}
		return in
	}
	all := query("#h = :h", "", "", nil)
	desc := query("#h = :h", "#c >= :c", "", map[string]types.AttributeValue{":c": avN("5")})
	part := query("#h = :h", "contains(#g, :g) OR attribute_exists(#b)", "#t, #p.#e.#d, #b, #g, #h", map[string]types.AttributeValue{":g": avS("t2")})
	count := query("#h = :h", "#p.#e.#n < :x", "", map[string]types.AttributeValue{":x": avN("3")})
	if ks.rng != "" {
		lo, prefix, between := tbl.rangeBounds(ks.hash, v, ks.rng)
		desc = query("#h = :h AND #r > :lo", "#c >= :c", "", map[string]types.AttributeValue{":c": avN("5"), ":lo": lo})
		if tbl.def.Attributes[ks.rng] == "S" {
			part = query("#h = :h AND begins_with(#r, :pre)", "contains(#g, :g) OR attribute_exists(#b)", "#t, #p.#e.#d, #b, #g, #h, #r",
				map[string]types.AttributeValue{":g": avS("t2"), ":pre": avS(prefix)})
		} else {
			part = query("#h = :h AND #r BETWEEN :a AND :b", "contains(#g, :g) OR attribute_exists(#b)", "#t, #p.#e.#d, #b, #g, #h, #r",
				map[string]types.AttributeValue{":g": avS("t2"), ":a": between[0], ":b": between[1]})
		}
	}
	desc.ScanIndexForward, desc.Limit = aws.Bool(false), aws.Int32(3)
	part.Limit = aws.Int32(2)
	count.Select, count.ScanIndexForward, count.Limit = types.SelectCount, aws.Bool(false), aws.Int32(4)
	count.ReturnConsumedCapacity = types.ReturnConsumedCapacityIndexes
	return []*dynamodb.QueryInput{all, desc, part, count}
}

// legacyQueryStep queries with KeyConditions, which the launcher's Query
// leaves to moto on an index.
func (fx *launcherFixture) legacyQueryStep() launcherStep {
	runs := fx.byID["RunsTable"]
	return launcherStep{name: "Query with KeyConditions, of the table and of an index", run: func(ctx context.Context, tw *motoTwin) error {
		for _, ks := range runs.keySchemas()[:2] {
			in := &dynamodb.QueryInput{TableName: aws.String(runs.name), KeyConditions: map[string]types.Condition{
				ks.hash: {ComparisonOperator: types.ComparisonOperatorEq, AttributeValueList: []types.AttributeValue{runs.partitions(ks.hash)[1]}},
			}, ScanIndexForward: aws.Bool(false), Limit: aws.Int32(3)}
			if ks.index != "" {
				in.IndexName = aws.String(ks.index)
			}
			if err := queryPages(ctx, tw, in); err != nil {
				return err
			}
		}
		return nil
	}}
}

// emptyMapKeyStep writes and reads an item with a map that has an entry
// named "", in a table of its own with no stream. moto writes such an entry
// wrong (its value's members straight into the map, so the SDK cannot read
// the response); the launcher must write it the same way.
func (fx *launcherFixture) emptyMapKeyStep() launcherStep {
	pk := fx.byID["PoliciesTable"].def.PartitionKey
	def := awslocal.TableDef{LogicalID: "EmptyMapKeys", PartitionKey: pk, Attributes: map[string]string{pk: fx.byID["PoliciesTable"].def.Attributes[pk]}}
	name := fx.prefix + def.LogicalID
	key := map[string]types.AttributeValue{def.PartitionKey: fixtureKeyValue(def.Attributes[def.PartitionKey], "empty map key", 1)}
	item := map[string]types.AttributeValue{"m": avM(map[string]types.AttributeValue{"": avS("empty name"), "k": avS("v")})}
	for a, v := range key {
		item[a] = v
	}
	return launcherStep{name: "PutItem and GetItem of a map with an entry named \"\"", run: func(ctx context.Context, tw *motoTwin) error {
		if _, err := awslocal.CreateTables(ctx, tw.ddb, []awslocal.TableDef{def}, fx.prefix); err != nil {
			return err
		}
		if _, err := tw.ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(name), Item: item}); err != nil {
			return err
		}
		_, err := tw.ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(name), Key: key})
		var unreadable *smithy.DeserializationError
		if err != nil && !errors.As(err, &unreadable) {
			return err
		}
		_, err = tw.ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		return err
	}}
}
