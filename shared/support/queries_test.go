package support_test

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/notice"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
	"github.com/snapkeep/snapkeep/shared/support/supporttest"
)

// TestMain starts one moto server for the package's tests.
func TestMain(m *testing.M) { awstest.Main(m) }

// counter wraps the client and counts what DynamoDB read and returned, so
// a test sees every query's ScannedCount and Count whatever the code under
// test reports. It has no Scan: support.DynamoDB has none.
type counter struct {
	db support.DynamoDB
	mu sync.Mutex
	// queries, gets count the requests; count and scanned sum the Query
	// answers' Count and ScannedCount.
	queries, gets, count, scanned int
	// byIndex counts queries per table index ("" for the table's key).
	byIndex map[string]int
}

func (c *counter) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := c.db.Query(ctx, in, optFns...)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queries++
	if in.IndexName != nil {
		c.byIndex[*in.IndexName]++
	} else {
		c.byIndex[""]++
	}
	if err == nil {
		c.count += int(out.Count)
		c.scanned += int(out.ScannedCount)
	}
	return out, err
}

func (c *counter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.mu.Lock()
	c.gets++
	c.mu.Unlock()
	return c.db.GetItem(ctx, in, optFns...)
}

func (c *counter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queries, c.gets, c.count, c.scanned, c.byIndex = 0, 0, 0, 0, map[string]int{}
}

// seeded is one moto stack holding the default fixture.
type seeded struct {
	env *awstest.Env
	fx  *supporttest.Fixture
	cnt *counter
	q   *support.Queries
	// traced are the reads Queries reported since the last reset.
	traced []support.Read
}

func newSeeded(t *testing.T) *seeded {
	t.Helper()
	env := awstest.New(t)
	tables := support.Tables{
		Policies: env.TableName(dynamo.Policies), Customers: env.TableName(dynamo.Customers),
		Runs: env.TableName(dynamo.Runs), APICalls: env.TableName(dynamo.APICalls), Incidents: env.TableName(dynamo.Incidents),
	}
	fx := supporttest.Generate(supporttest.DefaultSize)
	fx.Write(t, env.DynamoDB, tables)
	s := &seeded{env: env, fx: fx, cnt: &counter{db: env.DynamoDB, byIndex: map[string]int{}}}
	s.q = &support.Queries{DB: s.cnt, Tables: tables, Now: func() time.Time { return supporttest.Now },
		Trace: func(r support.Read) { s.traced = append(s.traced, r) }}
	return s
}

func (s *seeded) reset() { s.cnt.reset(); s.traced = nil }

// newestFirst returns the runs' ids, newest slot first and, for runs of
// the same slot (an index orders equal sort keys in no defined way), by id;
// ok is false when runs were not newest first.
func newestFirst(runs []snapkeep.Run) (ids []string, ok bool) {
	ok = true
	for i := 1; i < len(runs); i++ {
		if runs[i].ScheduledAt.After(runs[i-1].ScheduledAt) {
			ok = false
		}
	}
	c := append([]snapkeep.Run(nil), runs...)
	sort.SliceStable(c, func(i, j int) bool {
		if !c[i].ScheduledAt.Equal(c[j].ScheduledAt) {
			return c[i].ScheduledAt.After(c[j].ScheduledAt)
		}
		return c[i].RunID < c[j].RunID
	})
	return runIDs(c), ok
}

// runIDs returns the runs' ids in order.
func runIDs(runs []snapkeep.Run) []string {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.RunID
	}
	return ids
}

// expect returns the fixture's runs matching keep, newest slot first, at
// most limit.
func (s *seeded) expect(keep func(r *snapkeep.Run) bool, limit int) []snapkeep.Run {
	var out []snapkeep.Run
	for i := range s.fx.Runs {
		if keep(&s.fx.Runs[i]) {
			out = append(out, s.fx.Runs[i])
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ScheduledAt.After(out[j].ScheduledAt) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

func (s *seeded) count(keep func(r *snapkeep.Run) bool) int { return len(s.expect(keep, 0)) }

func inRange(rg support.Range, t time.Time) bool { return rg.Contains(t) }

func TestQueriesReadOnlyWhatTheyReturn(t *testing.T) {
	s := newSeeded(t)
	if n := len(s.fx.Runs); n < 2900 {
		t.Fatalf("fixture has %d runs, want thousands", n)
	}
	now := supporttest.Now
	week := support.Since(now, 7*24*time.Hour)
	// Hard-coded, not computed by LastNight: 18:00 EDT on the 26th to
	// 09:00 EDT on the 27th (Now is 08:00 in New York: the night is on).
	nyNight := support.Range{From: time.Date(2026, 3, 26, 22, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 27, 13, 0, 0, 0, time.UTC)}
	failedish := []snapkeep.RunStatus{snapkeep.RunFailed, snapkeep.RunTimedOut}
	drop := s.fx.Policies[9].Resource.Key() // shared by pol-008 and pol-009
	vol := s.fx.Policies[6].Resource.Key()
	tests := []struct {
		name  string
		rq    support.RunQuery
		want  func(r *snapkeep.Run) bool // the runs returned
		inKey func(r *snapkeep.Run) bool // the runs of the key and range (what a filter reads)
		index string
	}{
		{"policy, all time", support.RunQuery{Subject: support.Subject{PolicyID: "pol-017"}, Limit: 1000},
			func(r *snapkeep.Run) bool { return r.PolicyID == "pol-017" }, nil, ""},
		{"policy, last week", support.RunQuery{Subject: support.Subject{PolicyID: "pol-017"}, Range: week},
			func(r *snapkeep.Run) bool { return r.PolicyID == "pol-017" && inRange(week, r.ScheduledAt) }, nil, ""},
		{"customer, New York's last night", support.RunQuery{Subject: support.Subject{CustomerID: "cust-01"}, Range: nyNight},
			func(r *snapkeep.Run) bool { return r.CustomerID == "cust-01" && inRange(nyNight, r.ScheduledAt) }, nil, dynamo.IndexRunsByCustomer},
		{"droplet of two policies, last week", support.RunQuery{Subject: support.Subject{ResourceKey: drop}, Range: week},
			func(r *snapkeep.Run) bool { return r.ResourceKey == drop && inRange(week, r.ScheduledAt) }, nil, dynamo.IndexRunsByResource},
		{"volume, all time", support.RunQuery{Subject: support.Subject{ResourceKey: vol}, Limit: 1000},
			func(r *snapkeep.Run) bool { return r.ResourceKey == vol }, nil, dynamo.IndexRunsByResource},
		{"customer, the newest 7 (the limit)", support.RunQuery{Subject: support.Subject{CustomerID: "cust-05"}, Limit: 7},
			func(r *snapkeep.Run) bool { return r.CustomerID == "cust-05" }, nil, dynamo.IndexRunsByCustomer},
		{"customer, failed or timed out", support.RunQuery{Subject: support.Subject{CustomerID: "cust-02"}, Statuses: failedish, Limit: 1000},
			func(r *snapkeep.Run) bool { return r.CustomerID == "cust-02" && slices.Contains(failedish, r.Status) },
			func(r *snapkeep.Run) bool { return r.CustomerID == "cust-02" }, dynamo.IndexRunsByCustomer},
		{"customer, provider_error failed or retrying, last week", support.RunQuery{Subject: support.Subject{CustomerID: "cust-00"}, Class: snapkeep.ClassProviderError, Range: week},
			func(r *snapkeep.Run) bool {
				return r.CustomerID == "cust-00" && inRange(week, r.ScheduledAt) &&
					(r.ErrorClass == snapkeep.ClassProviderError || r.RetryClass == snapkeep.ClassProviderError)
			},
			func(r *snapkeep.Run) bool { return r.CustomerID == "cust-00" && inRange(week, r.ScheduledAt) }, dynamo.IndexRunsByCustomer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.reset()
			res, err := s.q.Runs(context.Background(), tt.rq)
			if err != nil {
				t.Fatal(err)
			}
			limit := tt.rq.Limit
			if limit == 0 {
				limit = support.DefaultLimit
			}
			all := s.expect(tt.want, 0)
			want := s.expect(tt.want, limit)
			if len(want) == 0 {
				t.Fatalf("the fixture has no runs for this case: the test would prove nothing")
			}
			got, ordered := newestFirst(res.Runs)
			if w, _ := newestFirst(want); !slices.Equal(got, w) || !ordered || res.More != (len(all) > limit) {
				t.Errorf("runs (newest first: %t, more: %t)\n got %v\nwant %v", ordered, res.More, got, w)
			}
			read := len(want)
			if tt.inKey != nil {
				read = s.count(tt.inKey)
			}
			s.checkReads(t, len(want), read, tt.index)
		})
	}
}

// checkReads checks what DynamoDB returned and read, through which index,
// and that Queries traced the same.
func (s *seeded) checkReads(t *testing.T, returned, read int, index string) {
	t.Helper()
	if s.cnt.count != returned || s.cnt.scanned != read {
		t.Errorf("DynamoDB returned %d and read %d items, want %d and %d", s.cnt.count, s.cnt.scanned, returned, read)
	}
	if s.cnt.byIndex[index] != s.cnt.queries || s.cnt.gets != 0 {
		t.Errorf("queries by index %v (and %d gets), want all through %q", s.cnt.byIndex, s.cnt.gets, index)
	}
	if len(s.traced) != 1 || s.traced[0].Count != s.cnt.count || s.traced[0].Scanned != s.cnt.scanned {
		t.Errorf("traced %+v, want one read of %d/%d", s.traced, s.cnt.count, s.cnt.scanned)
	}
}

func TestFailuresAcrossCustomersIncludeRunsRetrying(t *testing.T) {
	s := newSeeded(t)
	now := supporttest.Now
	day := support.Since(now, 24*time.Hour)
	threeDays := support.Since(now, 3*24*time.Hour)
	tests := []struct {
		name     string
		fq       support.FailureQuery
		failed   func(r *snapkeep.Run) bool
		retrying func(r *snapkeep.Run) bool // nil: not asked for
	}{
		{"provider_error, last day", support.FailureQuery{Classes: []snapkeep.ErrorClass{snapkeep.ClassProviderError}, Range: day},
			func(r *snapkeep.Run) bool {
				return r.ErrorClass == snapkeep.ClassProviderError && inRange(day, *r.FinishedAt)
			},
			func(r *snapkeep.Run) bool { return !r.Status.Terminal() && r.RetryClass == snapkeep.ClassProviderError }},
		{"every class, three days", support.FailureQuery{Range: threeDays, Limit: 1000},
			func(r *snapkeep.Run) bool { return r.ErrorClass != "" && inRange(threeDays, *r.FinishedAt) },
			func(r *snapkeep.Run) bool { return !r.Status.Terminal() && r.RetryClass != "" }},
		{"network, a past range", support.FailureQuery{Classes: []snapkeep.ErrorClass{snapkeep.ClassNetwork}, Range: support.Range{From: now.Add(-10 * 24 * time.Hour), To: now.Add(-2 * 24 * time.Hour)}},
			func(r *snapkeep.Run) bool {
				return r.ErrorClass == snapkeep.ClassNetwork && !r.FinishedAt.Before(now.Add(-10*24*time.Hour)) && r.FinishedAt.Before(now.Add(-2*24*time.Hour))
			}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.reset()
			res, err := s.q.Failures(context.Background(), tt.fq)
			if err != nil {
				t.Fatal(err)
			}
			want := s.expect(tt.failed, 0)
			if len(want) == 0 {
				t.Fatalf("the fixture has no such failures: the test would prove nothing")
			}
			assertSameRuns(t, "failed", res.Failed, want)
			for i := 1; i < len(res.Failed); i++ {
				if res.Failed[i].FinishedAt.After(*res.Failed[i-1].FinishedAt) {
					t.Errorf("failed runs not newest first at %d", i)
				}
			}
			failureReads := s.cnt.byIndex[dynamo.IndexRunsFailures]
			if tt.retrying == nil {
				if res.RetryingIncluded || len(res.Retrying) > 0 || s.cnt.byIndex[dynamo.IndexRunsUnfinished] != 0 {
					t.Errorf("a past range asked for runs retrying now")
				}
				if s.cnt.scanned != s.cnt.count || s.cnt.count != len(want) {
					t.Errorf("read %d, returned %d, want %d and %d", s.cnt.scanned, s.cnt.count, len(want), len(want))
				}
				return
			}
			retry := s.expect(tt.retrying, 0)
			if len(retry) == 0 {
				t.Fatalf("the fixture has no such retrying runs")
			}
			assertSameRuns(t, "retrying", res.Retrying, retry)
			// The failures index reads exactly the failures, the sparse
			// retrying index exactly the runs retrying: nothing read is
			// thrown away.
			if s.cnt.count != len(want)+len(retry) || s.cnt.scanned != s.cnt.count {
				t.Errorf("returned %d and read %d, want %d and the same (%d queries of failures-by-class)",
					s.cnt.count, s.cnt.scanned, len(want)+len(retry), failureReads)
			}
			if s.cnt.byIndex[dynamo.IndexRunsUnfinished] != 0 || s.cnt.byIndex[dynamo.IndexRunsRetrying] == 0 ||
				s.cnt.byIndex[dynamo.IndexRunsFailures]+s.cnt.byIndex[dynamo.IndexRunsRetrying] != s.cnt.queries {
				t.Errorf("queries by index %v", s.cnt.byIndex)
			}
		})
	}
}

// assertSameRuns compares runs as sets of ids (ties in an index's sort key
// come back in no defined order).
func assertSameRuns(t *testing.T, what string, got, want []snapkeep.Run) {
	t.Helper()
	g, w := runIDs(got), runIDs(want)
	sort.Strings(g)
	sort.Strings(w)
	if !slices.Equal(g, w) {
		t.Errorf("%s runs\n got %v\nwant %v", what, g, w)
	}
}

func TestRunCallsAndRequestIDs(t *testing.T) {
	s := newSeeded(t)
	ctx := context.Background()
	var failed *snapkeep.Run
	for i := range s.fx.Runs {
		if r := &s.fx.Runs[i]; r.ErrorClass == snapkeep.ClassProviderError && r.APICalls > 1 {
			failed = r
			break
		}
	}
	if failed == nil {
		t.Fatal("the fixture has no provider_error run with calls")
	}
	s.reset()
	d, err := s.q.Run(ctx, failed.Key())
	if err != nil {
		t.Fatal(err)
	}
	if d.Run.RunID != failed.RunID || d.Explanation == "" || d.Explanation != notice.Explain(failed) {
		t.Errorf("run %s, explanation %q; want %s explained as notice.Explain does", d.Run.RunID, d.Explanation, failed.RunID)
	}
	if len(d.Calls) != failed.APICalls || d.Calls[len(d.Calls)-1].ProviderRequestID != failed.ProviderRequestID {
		t.Errorf("calls %+v, want %d ending in request %s", d.Calls, failed.APICalls, failed.ProviderRequestID)
	}
	if s.cnt.gets != 1 || s.cnt.queries != 1 || s.cnt.scanned != failed.APICalls {
		t.Errorf("%d gets, %d queries reading %d items", s.cnt.gets, s.cnt.queries, s.cnt.scanned)
	}

	s.reset()
	res, err := s.q.CallsByRequestID(ctx, failed.ProviderRequestID)
	if err != nil || len(res.Calls) != 1 || res.Calls[0].RunID != failed.RunID || s.cnt.scanned != 1 {
		t.Errorf("by request id: %+v, %v (read %d)", res, err, s.cnt.scanned)
	}
	s.reset()
	res, err = s.q.CallsByRequestID(ctx, "req-shared")
	if err != nil || len(res.Calls) != 2 || res.Calls[0].RunID >= res.Calls[1].RunID || s.cnt.scanned != 2 {
		t.Errorf("shared request id: %+v, %v (read %d), want 2 calls by run", res, err, s.cnt.scanned)
	}

	_, err = s.q.Run(ctx, snapkeep.NewRunKey("pol-000", supporttest.Now.Add(time.Hour)))
	if !errors.Is(err, snapkeep.ErrNotFound) {
		t.Errorf("a missing run: %v, want ErrNotFound", err)
	}
	if _, err := s.q.CallsByRequestID(ctx, " "); !errors.Is(err, snapkeep.ErrInvalid) {
		t.Errorf("an empty request id: %v, want ErrInvalid", err)
	}
}

func TestIncidentsOpenAndByID(t *testing.T) {
	s := newSeeded(t)
	ctx := context.Background()
	s.reset()
	res, err := s.q.OpenIncidents(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, inc := range res.Incidents {
		got = append(got, inc.IncidentID)
	}
	want := []string{"provider_error#region:nyc3#2026-03-27T11:30Z", "provider_error#all#2026-03-27T11:00Z", "provider_error#operation:snapshot_droplet#2026-03-27T09:00Z"}
	if !slices.Equal(got, want) || s.cnt.scanned != 3 || s.cnt.count != 3 {
		t.Errorf("open incidents %v (read %d), want %v", got, s.cnt.scanned, want)
	}
	inc, err := s.q.Incident(ctx, "provider_error#all#2026-03-20T06:10Z")
	if err != nil || inc.State != snapkeep.IncidentResolved || inc.ResolvedAt == nil {
		t.Errorf("resolved incident: %+v, %v", inc, err)
	}
	if _, err := s.q.Incident(ctx, "nope"); !errors.Is(err, snapkeep.ErrNotFound) {
		t.Errorf("missing incident: %v", err)
	}
}

func TestZones(t *testing.T) {
	s := newSeeded(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		subject support.Subject
		zone    string
		wantErr []string
	}{
		{"policy", support.Subject{PolicyID: "pol-005"}, "America/New_York", nil},
		{"customer in one zone", support.Subject{CustomerID: "cust-02"}, "Asia/Tokyo", nil},
		{"customer in UTC", support.Subject{CustomerID: "cust-07"}, "UTC", nil},
		{"volume: its newest run's policy", support.Subject{ResourceKey: s.fx.Policies[6].Resource.Key()}, "America/New_York", nil},
		{"deleted policy", support.Subject{PolicyID: "pol-gone"}, "UTC", nil},
		{"customer in two zones", support.Subject{CustomerID: supporttest.MixedCustomer}, "", []string{"2 time zones", "Asia/Tokyo (pol-016, pol-018)", "Europe/Berlin (pol-015, pol-017, pol-019)", "--tz"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z, err := s.q.Zone(ctx, tt.subject)
			if tt.wantErr != nil {
				if !errors.Is(err, snapkeep.ErrInvalid) {
					t.Fatalf("err %v, want ErrInvalid", err)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil || z.Location.String() != tt.zone {
				t.Errorf("zone %v (%s), %v; want %s", z.Location, z.Source, err, tt.zone)
			}
		})
	}
}

// TestRunsWrittenByTheStore checks the queries read what RunStore writes
// (the fixture writes the same items with BatchWriteItem).
func TestRunsWrittenByTheStore(t *testing.T) {
	s := newSeeded(t)
	ctx := context.Background()
	store := &dynamo.RunStore{Client: s.env.DynamoDB, Table: s.q.Tables.Runs, CallsTable: s.q.Tables.APICalls,
		LeasesTable: s.env.TableName(dynamo.Leases), Now: func() time.Time { return supporttest.Now }}
	var want []string
	for h := 1; h <= 3; h++ {
		slot := supporttest.Now.Add(-time.Duration(h) * time.Hour)
		next := supporttest.Now.Add(time.Minute)
		r := &snapkeep.Run{PolicyID: "pol-claimed", ScheduledAt: slot, CustomerID: "cust-claimed", Status: snapkeep.RunClaimed,
			Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "999", Region: "nyc3"}, ResourceKey: "droplet:999",
			RetryClass: snapkeep.ClassProviderError, Unfinished: snapkeep.UnfinishedShard, NextCheckAt: &next,
			ClaimedAt: slot, Deadline: slot.Add(6 * time.Hour), Trigger: snapkeep.TriggerOnDemand}
		if err := store.Claim(ctx, r); err != nil {
			t.Fatal(err)
		}
		want = append(want, r.Key().RunID())
	}
	for _, subj := range []support.Subject{{PolicyID: "pol-claimed"}, {CustomerID: "cust-claimed"}, {ResourceKey: "droplet:999"}} {
		res, err := s.q.Runs(ctx, support.RunQuery{Subject: subj, Range: support.Since(supporttest.Now, 150*time.Minute)})
		if err != nil || !slices.Equal(runIDs(res.Runs), want[:2]) {
			t.Errorf("%s: %v, %v; want %v", subj, runIDs(res.Runs), err, want[:2])
		}
	}
	res, err := s.q.Failures(ctx, support.FailureQuery{Classes: []snapkeep.ErrorClass{snapkeep.ClassProviderError}, Range: support.Since(supporttest.Now, time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range res.Retrying {
		if r.PolicyID == "pol-claimed" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d of the store's retrying runs found, want 3", n)
	}
}
