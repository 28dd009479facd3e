package supporttest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
)

// Now is the fixture's clock: Friday 27 March 2026, 12:00 UTC (08:00 in
// New York, 13:00 in Berlin, 21:00 in Tokyo).
var Now = time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC)

// Zones are the customers' time zones: customer i's policies are in
// Zones[i%len(Zones)] ("" is UTC), but MixedCustomer's, which alternate
// between Europe/Berlin and Asia/Tokyo.
var Zones = []string{"Europe/Berlin", "America/New_York", "Asia/Tokyo", ""}

// MixedCustomer is the customer whose policies are in two time zones.
const MixedCustomer = "cust-03"

// Size says how big a fixture is.
type Size struct {
	// Customers is how many customers; each has PoliciesPerCustomer
	// policies with a daily run on each of the last Slots days.
	Customers, PoliciesPerCustomer, Slots int
}

// DefaultSize is 20 customers × 5 policies × 30 daily slots: 3,000 runs.
var DefaultSize = Size{Customers: 20, PoliciesPerCustomer: 5, Slots: 30}

// Fixture is a deterministic stack's worth of data.
type Fixture struct {
	// Customers, Policies, Runs, Calls and Incidents are what Write stores;
	// tests compute what a query must return from them.
	Customers []snapkeep.Customer
	Policies  []snapkeep.Policy
	Runs      []snapkeep.Run
	Calls     []snapkeep.APICall
	Incidents []snapkeep.Incident
}

// Generate makes a fixture: each policy runs daily at 02:00 (plus 0-45
// minutes) in its zone, for size.Slots days up to Now. Most runs succeed;
// about one in five fails or times out with a spread of classes
// (provider_error the most common), a few are skipped, and the newest slot
// of every third policy is still unfinished (claimed, or retrying after
// provider_error or network). Every tenth policy backs up the droplet of
// the one before it; every seventh backs up a volume. Runs of the newest
// three days have one to three ApiCalls rows each; two calls of different
// runs share the request id "req-shared".
func Generate(size Size) *Fixture {
	f := &Fixture{}
	for c := 0; c < size.Customers; c++ {
		cust := snapkeep.Customer{CustomerID: fmt.Sprintf("cust-%02d", c), Name: fmt.Sprintf("Customer %d", c),
			Email: fmt.Sprintf("ops@cust%02d.example", c), NotificationMode: snapkeep.NotifyEveryFailure,
			CreatedAt: Now.Add(-90 * 24 * time.Hour), UpdatedAt: Now.Add(-90 * 24 * time.Hour)}
		f.Customers = append(f.Customers, cust)
		for j := 0; j < size.PoliciesPerCustomer; j++ {
			i := len(f.Policies)
			p := f.policy(i, c, j)
			f.Policies = append(f.Policies, p)
			for k := 0; k < size.Slots; k++ {
				f.addRun(&f.Policies[i], i, k)
			}
		}
	}
	f.shareRequestID()
	f.Incidents = incidents()
	return f
}

func (f *Fixture) policy(i, c, j int) snapkeep.Policy {
	zone := Zones[c%len(Zones)]
	if fmt.Sprintf("cust-%02d", c) == MixedCustomer {
		zone = []string{"Europe/Berlin", "Asia/Tokyo"}[j%2]
	}
	res := snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: fmt.Sprint(1000 + i), Region: "nyc3"}
	switch {
	case i%7 == 6:
		res = snapkeep.Resource{Kind: snapkeep.ResourceVolume, ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Region: "fra1"}
	case i%10 == 9 && f.Policies[i-1].Kind == snapkeep.ResourceDroplet:
		res = f.Policies[i-1].Resource
	}
	keep := 7
	if res.Kind == snapkeep.ResourceVolume {
		keep = 5
	}
	return snapkeep.Policy{
		PolicyID: fmt.Sprintf("pol-%03d", i), CustomerID: fmt.Sprintf("cust-%02d", c), AccountID: fmt.Sprintf("acct-%02d", c),
		Resource: res, Schedule: fmt.Sprintf("cron(%d 2 * * ? *)", (i%4)*15), TimeZone: zone,
		Retention: snapkeep.Retention{KeepLast: keep}, Enabled: true,
		CreatedAt: Now.Add(-60 * 24 * time.Hour), UpdatedAt: Now.Add(-60 * 24 * time.Hour),
	}
}

// failClasses are drawn for failed runs, provider_error the most often.
var failClasses = []snapkeep.ErrorClass{
	snapkeep.ClassProviderError, snapkeep.ClassProviderError, snapkeep.ClassProviderError,
	snapkeep.ClassRateLimited, snapkeep.ClassNetwork, snapkeep.ClassAuthRevoked,
	snapkeep.ClassResourceBusy, snapkeep.ClassQuotaExceeded, snapkeep.ClassActionErrored,
}

// addRun adds policy p's run k days back (and its calls).
func (f *Fixture) addRun(p *snapkeep.Policy, i, k int) {
	loc, _ := time.LoadLocation(p.TimeZone)
	day := Now.In(loc)
	slot := time.Date(day.Year(), day.Month(), day.Day()-k, 2, (i%4)*15, 0, 0, loc).UTC()
	if !slot.Before(Now) {
		return
	}
	rng := rand.New(rand.NewPCG(uint64(i), uint64(k)))
	r := snapkeep.Run{
		PolicyID: p.PolicyID, ScheduledAt: slot, RunID: snapkeep.NewRunKey(p.PolicyID, slot).RunID(),
		CustomerID: p.CustomerID, AccountID: p.AccountID, ResourceKey: p.Resource.Key(), Resource: p.Resource,
		Trigger: snapkeep.TriggerScheduled, Attempts: 1, ClaimedAt: slot.Add(3 * time.Second),
		Deadline: slot.Add(6 * time.Hour), UpdatedAt: slot.Add(time.Duration(5+rng.IntN(55)) * time.Minute),
	}
	if k == 0 && i%3 == 0 {
		unfinished(&r, i)
	} else {
		terminal(&r, rng)
	}
	if k < 3 {
		f.addCalls(&r, rng)
	}
	f.Runs = append(f.Runs, r)
}

func unfinished(r *snapkeep.Run, i int) {
	next := Now.Add(time.Duration(i%5) * time.Minute)
	r.NextCheckAt, r.Unfinished = &next, snapkeep.UnfinishedShard
	r.UpdatedAt = Now.Add(-time.Minute)
	switch i % 9 {
	case 0:
		r.Status = snapkeep.RunClaimed
	case 3:
		r.Status, r.RetryClass, r.Attempts = snapkeep.RunInProgress, snapkeep.ClassProviderError, 2
		r.HTTPStatus, r.ProviderErrorID, r.ProviderMessage = 500, "server_error", "Server Error"
	default:
		r.Status, r.RetryClass, r.Attempts = snapkeep.RunClaimed, snapkeep.ClassNetwork, 3
	}
}

func terminal(r *snapkeep.Run, rng *rand.Rand) {
	done := r.UpdatedAt.Truncate(time.Second)
	r.FinishedAt = &done
	switch x := rng.Float64(); {
	case x < 0.78:
		r.Status, r.SnapshotName = snapkeep.RunSucceeded, "snapkeep-"+r.PolicyID+"-"+r.ScheduledAt.Format("20060102T150405Z")
		r.SnapshotID = fmt.Sprint(rng.IntN(1e9))
	case x < 0.90:
		r.Status, r.ErrorClass = snapkeep.RunFailed, failClasses[rng.IntN(len(failClasses))]
		r.ErrorDetail = "the run failed with " + string(r.ErrorClass)
		if r.ErrorClass == snapkeep.ClassProviderError {
			r.HTTPStatus, r.ProviderErrorID, r.ProviderMessage = 500, "server_error", "Server Error"
			r.ProviderRequestID = "req-" + r.RunID
		}
	case x < 0.95:
		r.Status, r.ErrorClass, r.ErrorDetail = snapkeep.RunTimedOut, snapkeep.ClassTimedOut, "the snapshot did not finish before the deadline"
	default:
		r.Status, r.ErrorDetail = snapkeep.RunSkipped, "the policy is disabled"
	}
}

var operations = []snapkeep.Operation{snapkeep.OpListSnapshots, snapkeep.OpSnapshotDroplet, snapkeep.OpGetAction}

func (f *Fixture) addCalls(r *snapkeep.Run, rng *rand.Rand) {
	n := 1 + rng.IntN(3)
	for s := 1; s <= n; s++ {
		c := snapkeep.APICall{
			RunID: r.RunID, Seq: s, PolicyID: r.PolicyID, ResourceKey: r.ResourceKey, Region: r.Region,
			AccountID: r.AccountID, Host: "api.digitalocean.com", Operation: operations[s-1], Attempt: 1,
			Method: "GET", Path: "/v2/droplets/" + r.ID + "/snapshots", StatusCode: 200,
			StartedAt: r.ClaimedAt.Add(time.Duration(s) * time.Second), DurationMS: int64(80 + rng.IntN(400)),
			ProviderRequestID: fmt.Sprintf("req-%s-%d", r.RunID, s), ExpiresAt: Now.Add(90 * 24 * time.Hour).Unix(),
			ResponseHeaders: map[string]string{"ratelimit-remaining": "4999"},
		}
		if s == n && r.ErrorClass == snapkeep.ClassProviderError {
			c.StatusCode, c.ErrorID, c.ErrorMessage, c.Class = 500, "server_error", "Server Error", snapkeep.ClassProviderError
			c.ProviderRequestID = r.ProviderRequestID
			c.FailureHour = c.StartedAt.UTC().Format(snapkeep.FailureHourFormat)
		}
		f.Calls = append(f.Calls, c)
	}
	r.APICalls = n
}

// shareRequestID gives the first calls of the first two runs with calls
// the same request id, "req-shared".
func (f *Fixture) shareRequestID() {
	seen := map[string]bool{}
	for i := range f.Calls {
		if f.Calls[i].Seq == 1 && len(seen) < 2 && !seen[f.Calls[i].RunID] {
			seen[f.Calls[i].RunID] = true
			f.Calls[i].ProviderRequestID = "req-shared"
		}
	}
}

func incidents() []snapkeep.Incident {
	inc := func(id string, opened time.Duration, resolved bool) snapkeep.Incident {
		dim := strings.Split(id, "#")[1]
		i := snapkeep.Incident{IncidentID: id, Kind: snapkeep.IncidentProvider, Dimension: snapkeep.Dimension(dim),
			Class: snapkeep.ClassProviderError, State: snapkeep.IncidentFiring, StartedAt: Now.Add(-opened - 10*time.Minute),
			OpenedAt: Now.Add(-opened), Detector: "cusum", BaselineRate: 0.002, Rate: 0.021, PeakRate: 0.05,
			Calls: 4000, Failures: 84, AffectedCustomers: 7, UpdatedAt: Now.Add(-opened)}
		if resolved {
			at := Now.Add(-opened + 2*time.Hour)
			i.State, i.ResolvedAt = snapkeep.IncidentResolved, &at
		}
		return i
	}
	return []snapkeep.Incident{
		inc("provider_error#all#2026-03-27T11:00Z", time.Hour, false),
		inc("provider_error#region:nyc3#2026-03-27T11:30Z", 30*time.Minute, false),
		inc("provider_error#operation:snapshot_droplet#2026-03-27T09:00Z", 3*time.Hour, false),
		inc("provider_error#all#2026-03-20T06:10Z", 7*24*time.Hour, true),
		inc("provider_error#region:fra1#2026-03-25T02:00Z", 2*24*time.Hour, true),
	}
}

// Write stores the fixture in tables: customers, policies and incidents
// through their stores, ApiCalls rows through APICallStore.Put
// (BatchWriteItem), and runs with BatchWriteItem of the items RunStore
// writes (times in UTC, index sort keys in whole seconds).
func (f *Fixture) Write(t testing.TB, db dynamo.Client, tables support.Tables) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cs := &dynamo.CustomerStore{Client: db, Table: tables.Customers, Now: func() time.Time { return Now }}
	for i := range f.Customers {
		c := f.Customers[i]
		if err := cs.Put(ctx, &c); err != nil {
			t.Fatalf("supporttest: %v", err)
		}
	}
	ps := &dynamo.PolicyStore{Client: db, Table: tables.Policies, Now: func() time.Time { return Now }}
	for i := range f.Policies {
		p := f.Policies[i]
		if err := ps.Put(ctx, &p); err != nil {
			t.Fatalf("supporttest: %v", err)
		}
	}
	is := &dynamo.IncidentStore{Client: db, Table: tables.Incidents}
	for i := range f.Incidents {
		inc := &f.Incidents[i]
		err := is.Create(ctx, inc)
		if errors.Is(err, snapkeep.ErrConflict) {
			// The SDK retries a PutItem whose answer it could not read (a
			// busy moto cuts one off now and then); the retry then meets
			// the first attempt's item: the same version is ours.
			if got, gerr := is.Get(ctx, inc.IncidentID); gerr == nil && got.UpdatedAt.Equal(inc.UpdatedAt) && got.StartedAt.Equal(inc.StartedAt) {
				err = nil
			}
		}
		if err != nil {
			t.Fatalf("supporttest: %v", err)
		}
	}
	calls := append([]snapkeep.APICall(nil), f.Calls...)
	if err := (&dynamo.APICallStore{Client: db, Table: tables.APICalls}).Put(ctx, calls); err != nil {
		t.Fatalf("supporttest: %v", err)
	}
	writeRuns(ctx, t, db, tables.Runs, f.Runs)
}

func writeRuns(ctx context.Context, t testing.TB, db dynamo.Client, table string, runs []snapkeep.Run) {
	t.Helper()
	for start := 0; start < len(runs); start += dynamo.BatchWriteMax {
		var reqs []types.WriteRequest
		for _, r := range runs[start:min(start+dynamo.BatchWriteMax, len(runs))] {
			item, err := attributevalue.MarshalMap(&r)
			if err != nil {
				t.Fatalf("supporttest: %v", err)
			}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		}
		pending := map[string][]types.WriteRequest{table: reqs}
		for try := 0; len(pending[table]) > 0; try++ {
			if try == 10 {
				t.Fatalf("supporttest: %d runs still unprocessed", len(pending[table]))
			}
			out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				t.Fatalf("supporttest: write runs: %v", err)
			}
			pending = out.UnprocessedItems
		}
	}
}
