package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/docloud"
	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/secrets"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/snapshot"
)

func TestMain(m *testing.M) { awstest.Main(m) }

var slot0 = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)

const (
	dropletID = 3164444
	volumeID  = "506f78a4-e098-11e5-ad9f-000f53306ae1"
)

// countingDB counts the write requests the function makes.
type countingDB struct {
	dynamo.Client
	writes atomic.Int64
}

func (c *countingDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.writes.Add(1)
	return c.Client.PutItem(ctx, in, o...)
}

func (c *countingDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.writes.Add(1)
	return c.Client.UpdateItem(ctx, in, o...)
}

func (c *countingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.writes.Add(1)
	return c.Client.TransactWriteItems(ctx, in, o...)
}

func (c *countingDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	c.writes.Add(1)
	return c.Client.BatchWriteItem(ctx, in, o...)
}

// stack is the function wired to moto and a fake DigitalOcean on a virtual
// clock.
type stack struct {
	t     *testing.T
	env   *awstest.Env
	clock *dotest.Clock
	fake  *dotest.Server
	token string
	h     *handler
	runs  *dynamo.RunStore
	calls *dynamo.APICallStore
	db    *countingDB
	// prefix is the stack's token secret prefix.
	prefix string
	logMu  sync.Mutex
	logs   strings.Builder
}

func (s *stack) Write(p []byte) (int, error) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.logs.Write(p)
}

type stackOpt struct {
	readOnly bool
	policy   func(*snapkeep.Policy)
	// config changes the service's tunables.
	config func(*snapshot.Config)
	// followUps, when set, configures the follow-up queue (it may create
	// one in s.env).
	followUps func(aws *awstest.Env, e *env)
}

func newStack(t *testing.T, o stackOpt) *stack {
	t.Helper()
	ctx := context.Background()
	s := &stack{t: t, env: awstest.New(t), clock: dotest.NewClock(slot0.Add(time.Second))}
	s.fake = dotest.NewServer(dotest.WithVirtualClock(s.clock), dotest.WithActionDuration(3*time.Minute))
	t.Cleanup(s.fake.Close)
	s.token = dotest.NewToken()
	if o.readOnly {
		s.fake.AddReadOnlyToken(s.token)
	} else {
		s.fake.AddToken(s.token)
	}
	if err := s.fake.AddDroplet(dotest.Droplet{ID: dropletID, Disk: 25}); err != nil {
		t.Fatal(err)
	}
	if err := s.fake.AddVolume(dotest.Volume{ID: volumeID, SizeGigaBytes: 10}); err != nil {
		t.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(s.env.Config)
	prefix := s.env.Prefix + "accounts/"
	if err := (&secrets.Store{Client: sm, Prefix: prefix}).PutToken(ctx, "acct1", s.token); err != nil {
		t.Fatal(err)
	}
	pols := &dynamo.PolicyStore{Client: s.env.DynamoDB, Table: s.env.TableName(dynamo.Policies)}
	for _, p := range []snapkeep.Policy{
		{PolicyID: "p1", CustomerID: "c1", AccountID: "acct1", Enabled: true, Schedule: "rate(1 hour)",
			Resource:  snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: fmt.Sprint(dropletID), Region: "nyc3"},
			Retention: snapkeep.Retention{KeepLast: 2}},
		{PolicyID: "v1", CustomerID: "c1", AccountID: "acct1", Enabled: true, Schedule: "rate(1 hour)",
			Resource:  snapkeep.Resource{Kind: snapkeep.ResourceVolume, ID: volumeID, Region: "nyc3"},
			Retention: snapkeep.Retention{KeepLast: 2}},
	} {
		if o.policy != nil {
			o.policy(&p)
		}
		if err := pols.Put(ctx, &p); err != nil {
			t.Fatal(err)
		}
	}
	e := env{
		PoliciesTable: s.env.TableName(dynamo.Policies),
		RunsTable:     s.env.TableName(dynamo.Runs),
		CallsTable:    s.env.TableName(dynamo.APICalls),
		LeasesTable:   s.env.TableName(dynamo.Leases),
		SecretPrefix:  prefix,
		BaseURL:       s.fake.URL,
	}
	if o.config != nil {
		o.config(&e.Config)
	}
	if o.followUps != nil {
		o.followUps(s.env, &e)
	}
	s.prefix = prefix
	s.db = &countingDB{Client: s.env.DynamoDB}
	s.h = newHandler(e, clients{
		DynamoDB:     s.db,
		Secrets:      sm,
		SQS:          s.env.SQS(),
		Now:          s.clock.Now,
		Sleep:        func(_ context.Context, d time.Duration) error { s.clock.Advance(d); return nil },
		DigitalOcean: []docloud.Option{docloud.WithHTTPTimeout(300 * time.Millisecond)},
	}, slog.New(slog.NewJSONHandler(s, nil)))
	s.runs = &dynamo.RunStore{Client: s.env.DynamoDB, Table: e.RunsTable, CallsTable: e.CallsTable}
	s.calls = &dynamo.APICallStore{Client: s.env.DynamoDB, Table: e.CallsTable}
	return s
}

func (s *stack) invoke(input string) *snapshot.Outcome {
	s.t.Helper()
	out, err := s.h.Invoke(context.Background(), json.RawMessage(input))
	if err != nil {
		s.t.Fatalf("invoke %s: %v", input, err)
	}
	return out
}

func (s *stack) run(policy string, slot time.Time) *snapkeep.Run {
	s.t.Helper()
	r, err := s.runs.Get(context.Background(), snapkeep.NewRunKey(policy, slot))
	if err != nil {
		s.t.Fatal(err)
	}
	return r
}

// settle moves the clock to each next check of the run and runs the
// sweep, until the run is terminal (at most steps sweeps).
func (s *stack) settle(policy string, slot time.Time, steps int) *snapkeep.Run {
	s.t.Helper()
	for i := 0; i < steps; i++ {
		r := s.run(policy, slot)
		if r.Status.Terminal() {
			return r
		}
		next := s.clock.Now().Add(time.Minute)
		if r.NextCheckAt != nil && r.NextCheckAt.After(s.clock.Now()) {
			next = *r.NextCheckAt
		}
		s.clock.Set(next)
		s.invoke(`{"sweep": true}`)
	}
	r := s.run(policy, slot)
	if !r.Status.Terminal() {
		s.t.Fatalf("run still %s after %d sweeps: %+v", r.Status, steps, r)
	}
	return r
}

func slotInput(policy string, slot time.Time) string {
	return fmt.Sprintf(`{"policy_id": %q, "scheduled_time": %q}`, policy, slot.UTC().Format(snapkeep.SlotTimeFormat))
}

// checkCalls asserts one ApiCalls row per HTTP request the fake saw,
// numbered 1..Run.APICalls, with headers and Authorization redacted.
func (s *stack) checkCalls(r *snapkeep.Run) []snapkeep.APICall {
	s.t.Helper()
	rows, err := s.calls.ListByRun(context.Background(), r.RunID)
	if err != nil {
		s.t.Fatal(err)
	}
	if len(rows) != r.APICalls {
		s.t.Errorf("%d ApiCalls rows, run.APICalls = %d", len(rows), r.APICalls)
	}
	if n := len(s.fake.Requests()); len(rows) != n {
		s.t.Errorf("%d ApiCalls rows for %d requests at the fake", len(rows), n)
	}
	for i, c := range rows {
		if c.Seq != i+1 {
			s.t.Errorf("row %d has seq %d", i, c.Seq)
		}
		if c.RequestHeaders["authorization"] != snapkeep.Redacted {
			s.t.Errorf("row %d authorization = %q", c.Seq, c.RequestHeaders["authorization"])
		}
		if c.Method == "" || c.Path == "" || c.Operation == "" || c.Attempt < 1 || c.StartedAt.IsZero() || c.ExpiresAt == 0 {
			s.t.Errorf("row %d incomplete: %+v", c.Seq, c)
		}
		if c.StatusCode != 0 && (c.ResponseHeaders["x-request-id"] == "" || c.ResponseHeaders["ratelimit-remaining"] == "" ||
			c.ResponseHeaders["ratelimit-reset"] == "" || c.ResponseHeaders["date"] == "" || c.ProviderRequestID == "") {
			s.t.Errorf("row %d response headers = %v", c.Seq, c.ResponseHeaders)
		}
		// DigitalOcean's JSON error bodies give an id and a message; the
		// edge's HTML pages (502, 504) give neither.
		if c.StatusCode >= 400 && c.StatusCode != 502 && c.StatusCode != 504 && (c.ErrorID == "" || c.ErrorMessage == "") {
			s.t.Errorf("row %d: status %d without error id or message: %+v", c.Seq, c.StatusCode, c)
		}
		// A 2xx is an error only when its body could not be used (a
		// malformed answer: provider_error, with what was wrong).
		if c.StatusCode != 0 && c.StatusCode < 400 && (c.ErrorID != "" || c.TransportError != "" ||
			(c.ErrorMessage != "") != (c.Class == snapkeep.ClassProviderError)) {
			s.t.Errorf("row %d: status %d with an error: %+v", c.Seq, c.StatusCode, c)
		}
		if c.DurationMS < 0 {
			s.t.Errorf("row %d: duration %d ms", c.Seq, c.DurationMS)
		}
		if c.StatusCode == 0 && c.TransportError == "" {
			s.t.Errorf("row %d has neither status nor transport error", c.Seq)
		}
		if c.Failed() != (c.FailureHour != "") {
			s.t.Errorf("row %d failure_hour = %q for status %d", c.Seq, c.FailureHour, c.StatusCode)
		}
		if c.RunID != r.RunID || c.PolicyID != r.PolicyID || c.ResourceKey != r.ResourceKey {
			s.t.Errorf("row %d stamps: %+v", c.Seq, c)
		}
	}
	return rows
}

// checkNoToken scans every table for the token, and the logs.
func (s *stack) checkNoToken() {
	s.t.Helper()
	for id, name := range s.env.Tables {
		p := dynamodb.NewScanPaginator(s.env.DynamoDB, &dynamodb.ScanInput{TableName: aws.String(name)})
		for p.HasMorePages() {
			out, err := p.NextPage(context.Background())
			if err != nil {
				s.t.Fatalf("scan %s: %v", id, err)
			}
			for _, item := range out.Items {
				if strings.Contains(fmt.Sprintf("%#v", item), s.token) || strings.Contains(dump(item), s.token) {
					s.t.Errorf("table %s holds the token", id)
				}
			}
		}
	}
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if strings.Contains(s.logs.String(), s.token) {
		s.t.Error("the log holds the token")
	}
}

func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (s *stack) own(kind, id string) []dotest.Snapshot {
	var out []dotest.Snapshot
	for _, sn := range s.fake.SnapshotsOf(kind, id) {
		if strings.HasPrefix(sn.Name, "snapkeep-") {
			out = append(out, sn)
		}
	}
	return out
}

func TestScenarios(t *testing.T) {
	type want struct {
		status    snapkeep.RunStatus
		class     snapkeep.ErrorClass
		http      int
		errorID   string
		snapshots int // of ours at the fake afterwards
		minPosts  int
		maxPosts  int
		// adopted: the run's action is the one its unconfirmed first POST
		// made, found among the droplet's actions (exactly one POST).
		adopted bool
	}
	ok := want{status: snapkeep.RunSucceeded, snapshots: 1, minPosts: 1, maxPosts: 1}
	adopted := want{status: snapkeep.RunSucceeded, snapshots: 1, minPosts: 1, maxPosts: 1, adopted: true}
	retried := want{status: snapkeep.RunSucceeded, snapshots: 1, minPosts: 2, maxPosts: 3}
	drop := dotest.OpDropletSnapshot
	for _, tc := range []struct {
		name   string
		policy string
		opt    stackOpt
		setup  func(s *stack)
		want   want
	}{
		{name: "success droplet", policy: "p1", want: ok},
		{name: "success volume", policy: "v1", want: ok},
		{name: "500 Server Error once", policy: "p1", setup: fault(dotest.Fault{Kind: dotest.FaultStatus, Status: 500, Operation: drop, Count: 1}), want: retried},
		{name: "500 Server Error always", policy: "p1", setup: fault(dotest.Fault{Kind: dotest.FaultStatus, Status: 500, Operation: drop}),
			want: want{status: snapkeep.RunFailed, class: snapkeep.ClassProviderError, http: 500, errorID: "server_error", minPosts: 3, maxPosts: 6}},
		{name: "500 after the action was made", policy: "p1", setup: fault(dotest.Fault{Kind: dotest.FaultEffectThenStatus, Status: 500, Operation: drop, Count: 1}),
			want: adopted},
		{name: "500 once, the customer's older snapshot action not adopted", policy: "p1", setup: func(s *stack) {
			olderAction(s, slot0.Add(-10*time.Minute))
			olderAction(s, slot0.Add(-snapshot.AdoptSkew-time.Second))
			s.fake.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Status: 500, Operation: drop, Count: 1})
		}, want: retried},
		{name: "502 once", policy: "p1", setup: fault(dotest.Fault{Kind: dotest.FaultStatus, Status: 502, Operation: drop, Count: 1}), want: retried},
		{name: "503 once", policy: "p1", setup: fault(dotest.Fault{Kind: dotest.FaultStatus, Status: 503, Operation: drop, Count: 1}), want: retried},
		{name: "504 once", policy: "p1", setup: fault(dotest.Fault{Kind: dotest.FaultStatus, Status: 504, Operation: drop, Count: 1}), want: retried},
		{name: "504 on volume always", policy: "v1", setup: fault(dotest.Fault{Kind: dotest.FaultStatus, Status: 504, Operation: dotest.OpVolumeSnapshot}),
			want: want{status: snapkeep.RunFailed, class: snapkeep.ClassProviderError, http: 504, minPosts: 3, maxPosts: 6}},
		{name: "429 with retry-after", policy: "p1", setup: fault(dotest.Fault{Kind: dotest.FaultStatus, Status: 429, RetryAfter: 240, Operation: drop, Count: 1}), want: retried},
		{name: "429 always", policy: "p1", setup: fault(dotest.Fault{Kind: dotest.FaultStatus, Status: 429, RetryAfter: 600, Operation: drop}),
			want: want{status: snapkeep.RunFailed, class: snapkeep.ClassRateLimited, http: 429, errorID: "too_many_requests", minPosts: 2, maxPosts: 4}},
		{name: "422 pending event once", policy: "p1", setup: fault(dotest.Fault{Kind: dotest.FaultStatus, Status: 422, Operation: drop, Count: 1}), want: retried},
		{name: "422 pending event always", policy: "p1", setup: fault(dotest.Fault{Kind: dotest.FaultStatus, Status: 422, Operation: drop}),
			want: want{status: snapkeep.RunFailed, class: snapkeep.ClassResourceBusy, http: 422, errorID: "unprocessable_entity", minPosts: 3, maxPosts: 6}},
		{name: "401 revoked token", policy: "p1", setup: func(s *stack) { s.fake.RevokeToken(s.token) },
			want: want{status: snapkeep.RunFailed, class: snapkeep.ClassAuthRevoked, http: 401, errorID: "unauthorized", minPosts: 1, maxPosts: 1}},
		{name: "403 read-only token", policy: "p1", opt: stackOpt{readOnly: true},
			want: want{status: snapkeep.RunFailed, class: snapkeep.ClassAuthRevoked, http: 403, errorID: "forbidden", minPosts: 1, maxPosts: 1}},
		{name: "404 droplet deleted", policy: "p1", setup: func(s *stack) { s.fake.RemoveDroplet(dropletID) },
			want: want{status: snapkeep.RunFailed, class: snapkeep.ClassResourceMissing, http: 404, errorID: "not_found", minPosts: 1, maxPosts: 1}},
		{name: "timeout once", policy: "p1", setup: fault(dotest.Fault{Kind: dotest.FaultHang, Operation: drop, Count: 1}), want: retried},
		{name: "connection reset once", policy: "p1", setup: fault(dotest.Fault{Kind: dotest.FaultReset, Operation: drop, Count: 1}), want: retried},
		{name: "500 after the action was made, 50-minute snapshot", policy: "p1", setup: func(s *stack) {
			slowDroplet(s, 50*time.Minute)
			s.fake.MustAddFault(dotest.Fault{Kind: dotest.FaultEffectThenStatus, Status: 500, Operation: drop, Count: 1})
		}, want: adopted},
		{name: "volume: reset after the snapshot was made", policy: "v1", setup: fault(dotest.Fault{Kind: dotest.FaultEffectThenReset, Operation: dotest.OpVolumeSnapshot, Count: 1}),
			want: want{status: snapkeep.RunSucceeded, snapshots: 1, minPosts: 1, maxPosts: 1}},
		{name: "reset after the action was made", policy: "p1", setup: fault(dotest.Fault{Kind: dotest.FaultEffectThenReset, Operation: drop, Count: 1}),
			want: adopted},
		{name: "malformed JSON", policy: "p1", setup: fault(dotest.Fault{Kind: dotest.FaultMalformed, Operation: drop, Count: 1}),
			want: adopted},
		{name: "action errored once", policy: "p1", setup: fault(dotest.Fault{Kind: dotest.FaultActionErrored, Operation: drop, Count: 1}), want: retried},
		{name: "action errored always", policy: "p1", setup: fault(dotest.Fault{Kind: dotest.FaultActionErrored, Operation: drop}),
			want: want{status: snapkeep.RunFailed, class: snapkeep.ClassActionErrored, minPosts: 3, maxPosts: 12}},
		{name: "action stuck past the deadline", policy: "p1", setup: fault(dotest.Fault{Kind: dotest.FaultActionStuck, Operation: drop, Count: 1}),
			want: want{status: snapkeep.RunTimedOut, class: snapkeep.ClassTimedOut, minPosts: 1, maxPosts: 1}},
		{name: "422 volume snapshot limit", policy: "v1", setup: func(s *stack) {
			for i := 0; i < snapshot.VolumeSnapshotLimit; i++ {
				if _, err := s.fake.AddSnapshot(dotest.Snapshot{ResourceType: "volume", ResourceID: volumeID, Name: fmt.Sprintf("customer-%d", i)}); err != nil {
					s.t.Fatal(err)
				}
			}
		}, want: want{status: snapkeep.RunFailed, class: snapkeep.ClassQuotaExceeded, http: 422, errorID: "unprocessable_entity", minPosts: 1, maxPosts: 1}},
		{name: "completed but not yet listed", policy: "p1", setup: fault(dotest.Fault{Kind: dotest.FaultListingLag, Delay: 4 * time.Minute, Operation: drop, Count: 1}), want: ok},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, tc.opt)
			if tc.setup != nil {
				tc.setup(s)
			}
			s.invoke(slotInput(tc.policy, slot0))
			r := s.settle(tc.policy, slot0, 200)
			w := tc.want
			if r.Status != w.status || r.ErrorClass != w.class {
				t.Errorf("run = %s %q (%q), want %s %q", r.Status, r.ErrorClass, r.ErrorDetail, w.status, w.class)
			}
			if w.http != 0 && (r.HTTPStatus != w.http || r.ProviderRequestID == "" || r.ProviderMessage == "") {
				t.Errorf("run http %d request %q message %q, want %d", r.HTTPStatus, r.ProviderRequestID, r.ProviderMessage, w.http)
			}
			if r.ProviderErrorID != w.errorID {
				t.Errorf("provider error id %q, want %q", r.ProviderErrorID, w.errorID)
			}
			if r.Unfinished != "" || r.NextCheckAt != nil || r.LeaseUntil != nil || r.FinishedAt == nil {
				t.Errorf("terminal run keeps unfinished state: %+v", r)
			}
			if (r.Status == snapkeep.RunSucceeded) != (r.SnapshotID != "") {
				t.Errorf("snapshot id %q for %s", r.SnapshotID, r.Status)
			}
			if r.Status == snapkeep.RunSucceeded && (r.StartedAt == nil || r.Retention == nil || r.Retention.Error != "" || r.ErrorDetail != "" || r.HTTPStatus != 0) {
				t.Errorf("succeeded run: started %v retention %+v detail %q http %d", r.StartedAt, r.Retention, r.ErrorDetail, r.HTTPStatus)
			}
			if r.Status == snapkeep.RunSucceeded {
				if _, ok := s.fake.Snapshot(r.SnapshotID); !ok {
					t.Errorf("snapshot %s of the run is not at the fake", r.SnapshotID)
				}
			}
			kind, id := "droplet", fmt.Sprint(dropletID)
			if tc.policy == "v1" {
				kind, id = "volume", volumeID
			}
			if n := len(s.own(kind, id)); n != w.snapshots {
				t.Errorf("%d snapshots of ours at the fake, want %d", n, w.snapshots)
			}
			if n := s.fake.SnapshotPosts(kind, id); n < w.minPosts || n > w.maxPosts {
				t.Errorf("%d snapshot POSTs, want %d..%d", n, w.minPosts, w.maxPosts)
			}
			if r.Attempts != s.fake.SnapshotPosts(kind, id) {
				t.Errorf("run attempts %d, POSTs %d", r.Attempts, s.fake.SnapshotPosts(kind, id))
			}
			rows := s.checkCalls(r)
			var ops []string
			unconfirmed := false // a POST whose action id never came back
			for _, c := range rows {
				ops = append(ops, fmt.Sprintf("%s#%d=%d", c.Operation, c.Attempt, c.StatusCode))
				if c.Operation == snapkeep.OpSnapshotDroplet && (c.StatusCode == 0 || c.StatusCode >= 500 || (c.StatusCode == 201 && tc.name == "malformed JSON")) {
					unconfirmed = true
				}
			}
			if r.Status == snapkeep.RunSucceeded && tc.policy == "p1" && r.ActionID == 0 && !unconfirmed {
				t.Errorf("succeeded droplet run without its action id")
			}
			if w.adopted {
				checkAdopted(t, s, r, rows)
			}
			if r.ActionID != 0 {
				if a, ok := s.fake.Action(int(r.ActionID)); !ok || a.SnapshotName != r.SnapshotName {
					t.Errorf("run action %d is not one of the run's POSTs at the fake: %+v", r.ActionID, a)
				}
			}
			t.Logf("run %s %s attempts=%d http=%d detail=%q calls=%v", r.Status, r.ErrorClass, r.Attempts, r.HTTPStatus, r.ErrorDetail, ops)
			s.checkNoToken()
			// Each step takes the run (a lease) and writes its result, and
			// makes at least one call; the claim is the one more. (The
			// plain successful droplet run's 1 + attempts is measured by
			// BenchmarkSuccessfulDropletRun.)
			if w, a := s.db.writes.Load(), len(rows); r.Status == snapkeep.RunSucceeded && w > int64(1+2*a) {
				t.Errorf("%d DynamoDB write requests for %d HTTP attempts: over 1 + 2 × attempts", w, a)
			}
		})
	}
}

// checkAdopted asserts the run made exactly one snapshot POST and follows
// the action it made, found by listing the droplet's actions.
func checkAdopted(t *testing.T, s *stack, r *snapkeep.Run, rows []snapkeep.APICall) {
	t.Helper()
	if n := s.fake.SnapshotPosts("droplet", fmt.Sprint(dropletID)); n != 1 {
		t.Errorf("%d snapshot POSTs, want exactly 1", n)
	}
	var ours []dotest.Action
	for _, a := range s.fake.Actions() {
		if a.SnapshotName == r.SnapshotName {
			ours = append(ours, a)
		}
	}
	if len(ours) != 1 || r.ActionID != int64(ours[0].ID) {
		t.Errorf("run action id %d, actions of its POSTs %+v: want the one action adopted", r.ActionID, ours)
	}
	listed := false
	for _, c := range rows {
		listed = listed || (c.Operation == snapkeep.OpListActions && c.StatusCode == 200)
	}
	if !listed {
		t.Error("no list_actions call recorded")
	}
}

// olderAction adds a completed snapshot action of the customer's own on
// the droplet, started at started (before the run).
func olderAction(s *stack, started time.Time) dotest.Action {
	a, err := s.fake.AddAction(dotest.Action{ResourceID: dropletID, StartedAt: started})
	if err != nil {
		s.t.Fatal(err)
	}
	return a
}

// slowDroplet makes the droplet's snapshot actions take d, longer than the
// slot window.
func slowDroplet(s *stack, d time.Duration) {
	s.fake.RemoveDroplet(dropletID)
	if err := s.fake.AddDroplet(dotest.Droplet{ID: dropletID, Disk: 50, ActionDuration: d}); err != nil {
		s.t.Fatal(err)
	}
}

func fault(f dotest.Fault) func(*stack) {
	return func(s *stack) { s.fake.MustAddFault(f) }
}
