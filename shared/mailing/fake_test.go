package mailing

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/notice"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// The fakes keep what the ports' DynamoDB and SES implementations keep,
// in maps, with the same conditional-write rules.

var t0 = time.Date(2026, 11, 24, 19, 30, 0, 0, time.UTC)

type clock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now, c.slept = c.now.Add(d), c.slept+d
	c.mu.Unlock()
	return nil
}

type memRuns struct {
	byClass map[snapkeep.ErrorClass][]snapkeep.Run
	queries int
}

func (m *memRuns) FailedRuns(_ context.Context, class snapkeep.ErrorClass, from, to time.Time) ([]snapkeep.Run, error) {
	m.queries++
	var out []snapkeep.Run
	for _, r := range m.byClass[class] {
		if r.FinishedAt != nil && !r.FinishedAt.Before(from) && r.FinishedAt.Before(to) {
			out = append(out, r)
		}
	}
	return out, nil
}

type memCustomers struct {
	mu      sync.Mutex
	byID    map[string]*snapkeep.Customer
	blocked map[string]string
}

func (m *memCustomers) Get(_ context.Context, id string) (*snapkeep.Customer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.byID[id]
	if !ok {
		return nil, fmt.Errorf("customer %s: %w", id, snapkeep.ErrNotFound)
	}
	cp := *c
	return &cp, nil
}

func (m *memCustomers) Block(_ context.Context, id, channel, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if channel != snapkeep.ChannelEmail {
		return fmt.Errorf("block %s: channel %q", id, channel)
	}
	m.blocked[id] = reason
	m.byID[id].EmailBlocked = reason
	return nil
}

type memPolicies map[string]*snapkeep.Policy

func (m memPolicies) Get(_ context.Context, id string) (*snapkeep.Policy, error) {
	p, ok := m[id]
	if !ok {
		return nil, fmt.Errorf("policy %s: %w", id, snapkeep.ErrNotFound)
	}
	return p, nil
}

type memCounts struct{ c escalation.CallCounts }

func (m memCounts) WindowCounts(context.Context, snapkeep.Dimension, time.Time, time.Time) (escalation.CallCounts, error) {
	return m.c, nil
}

type memIncidents []snapkeep.Incident

func (m memIncidents) ListOpen(context.Context) ([]snapkeep.Incident, error) { return m, nil }

// memLedger is the Mailings table's broadcast entries: an entry exists
// once claimed; its notice is the claim, then the record.
type memLedger struct {
	mu      sync.Mutex
	entries map[[2]string]*ledgerEntry
	writes  int
}

type ledgerEntry struct {
	e Entry
	n *snapkeep.Notice
}

func (l *memLedger) BroadcastNotices(_ context.Context, id string) (map[string]snapkeep.Notice, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]snapkeep.Notice{}
	for k, v := range l.entries {
		if k[0] == id && v.n != nil {
			out[k[1]] = *v.n
		}
	}
	return out, nil
}

func (l *memLedger) ClaimBroadcast(_ context.Context, e Entry, n snapkeep.Notice, takeover func(snapkeep.Notice) bool) (snapkeep.Notice, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	k := [2]string{e.MailingID, e.CustomerID}
	cur, ok := l.entries[k]
	if !ok {
		l.entries[k] = &ledgerEntry{e: e, n: &n}
		return n, true, nil
	}
	if cur.n == nil || (cur.n.ID == "" && cur.n.Error == "" && takeover != nil && takeover(*cur.n)) {
		cur.n = &n
		return n, true, nil
	}
	return *cur.n, false, nil
}

func (l *memLedger) settle(id, customer string, claimedAt time.Time, n *snapkeep.Notice) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	cur, ok := l.entries[[2]string{id, customer}]
	if !ok || cur.n == nil || !cur.n.At.Equal(claimedAt) || cur.n.ID != "" {
		return fmt.Errorf("entry %s/%s: the claim of %s is not there: %w", id, customer, claimedAt, snapkeep.ErrConflict)
	}
	cur.n = n
	return nil
}

func (l *memLedger) RecordBroadcast(_ context.Context, id, customer string, claimedAt time.Time, n snapkeep.Notice) error {
	return l.settle(id, customer, claimedAt, &n)
}

func (l *memLedger) ReleaseBroadcast(_ context.Context, id, customer string, claimedAt time.Time) error {
	return l.settle(id, customer, claimedAt, nil)
}

// memMailer is SES: it keeps what it accepted. fail, when set, decides
// each send's outcome before it is accepted.
type memMailer struct {
	mu   sync.Mutex
	sent []Email
	fail func(e Email, n int) error
	// after runs once a send is accepted (e.g. to interrupt the run).
	after func(n int)
}

func (m *memMailer) Send(ctx context.Context, e Email) (string, error) {
	m.mu.Lock()
	n := len(m.sent)
	m.mu.Unlock()
	if m.fail != nil {
		if err := m.fail(e, n); err != nil {
			return "", err
		}
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	m.mu.Lock()
	m.sent = append(m.sent, e)
	n = len(m.sent)
	m.mu.Unlock()
	if m.after != nil {
		m.after(n)
	}
	return fmt.Sprintf("ses-%04d", n), nil
}

func (m *memMailer) countTo() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for _, e := range m.sent {
		out[e.To]++
	}
	return out
}

// world is a stack's worth of customers and failed runs.
type world struct {
	runs      *memRuns
	customers *memCustomers
	policies  memPolicies
	ledger    *memLedger
	mailer    *memMailer
	clock     *clock
	incident  *snapkeep.Incident
}

// Customers of newWorld by what is special about them.
const (
	custOptedOut = "cust-none"
	custBlocked  = "cust-blocked"
	custNoEmail  = "cust-noemail"
	custNoToken  = "cust-notoken"
	custUnknown  = "cust-gone"
)

// newWorld has n ordinary customers (cust-000...) with two policies each
// (one droplet in nyc3, one in fra1), each failing three times with
// provider_error during a 12-hour incident on region:nyc3 that ended at
// t0-30m, plus one customer of each special kind.
func newWorld(t testing.TB, n int) *world {
	t.Helper()
	w := &world{
		runs:      &memRuns{byClass: map[snapkeep.ErrorClass][]snapkeep.Run{}},
		customers: &memCustomers{byID: map[string]*snapkeep.Customer{}, blocked: map[string]string{}},
		policies:  memPolicies{},
		ledger:    &memLedger{entries: map[[2]string]*ledgerEntry{}},
		mailer:    &memMailer{},
		clock:     &clock{now: t0},
	}
	start, end := t0.Add(-12*time.Hour-30*time.Minute), t0.Add(-30*time.Minute)
	w.incident = &snapkeep.Incident{IncidentID: "provider_error#region:nyc3#2026-11-24T07:00Z", Kind: snapkeep.IncidentProvider,
		Dimension: snapkeep.RegionDimension("nyc3"), Class: snapkeep.ClassProviderError, State: snapkeep.IncidentResolved,
		StartedAt: start, OpenedAt: start.Add(20 * time.Minute), ResolvedAt: &end, Rate: 0.018, Calls: 52000, Failures: 936,
		AffectedCustomers: n + 4}
	ids := []string{custOptedOut, custBlocked, custNoEmail, custNoToken, custUnknown}
	for i := 0; i < n; i++ {
		ids = append(ids, fmt.Sprintf("cust-%03d", i))
	}
	for i, id := range ids {
		c := &snapkeep.Customer{CustomerID: id, Name: "Customer " + id, Email: "ops@" + id + ".example",
			NotificationMode: snapkeep.NotifyEveryFailure, PreferencesToken: fmt.Sprintf("pt_%024d", i)}
		switch id {
		case custOptedOut:
			c.NotificationMode = snapkeep.NotifyNone
		case custBlocked:
			c.EmailBlocked = "Suppressed: on the account's suppression list"
		case custNoEmail:
			c.Email = ""
		case custNoToken:
			c.PreferencesToken = ""
		}
		if id != custUnknown {
			w.customers.byID[id] = c
		}
		for j, region := range []string{"nyc3", "fra1"} {
			w.addPolicy(id, fmt.Sprintf("pol-%s-%d", id, j), region, int64(3_000_000+10*i+j), start)
		}
	}
	return w
}

// addPolicy adds a policy with three runs failing with provider_error
// during the incident.
func (w *world) addPolicy(customer, policyID, region string, droplet int64, start time.Time) {
	res := snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: fmt.Sprint(droplet), Region: region}
	w.policies[policyID] = &snapkeep.Policy{PolicyID: policyID, CustomerID: customer, AccountID: "acct-" + customer,
		Resource: res, Schedule: "cron(0 */4 * * ? *)", TimeZone: "Europe/Berlin", Retention: snapkeep.Retention{KeepLast: 7}, Enabled: true}
	for k := 0; k < 3; k++ {
		slot := start.Add(time.Duration(1+4*k) * time.Hour).Truncate(time.Hour)
		done := slot.Add(31 * time.Minute)
		w.runs.byClass[snapkeep.ClassProviderError] = append(w.runs.byClass[snapkeep.ClassProviderError], snapkeep.Run{
			PolicyID: policyID, ScheduledAt: slot, RunID: snapkeep.NewRunKey(policyID, slot).RunID(), CustomerID: customer,
			AccountID: "acct-" + customer, ResourceKey: res.Key(), Resource: res, Trigger: snapkeep.TriggerScheduled,
			Status: snapkeep.RunFailed, ErrorClass: snapkeep.ClassProviderError, HTTPStatus: 500,
			ProviderErrorID: "server_error", ProviderMessage: "Server Error", Attempts: 4, ClaimedAt: slot,
			FinishedAt: &done, Deadline: slot.Add(6 * time.Hour), UpdatedAt: done,
		})
	}
}

func (w *world) service(t testing.TB) *Service {
	t.Helper()
	r, err := notice.New(notice.Links{AppURL: "https://app.snapkeep.example"})
	if err != nil {
		t.Fatal(err)
	}
	pace, err := NewPacer(10, w.clock.Now, w.clock.Sleep)
	if err != nil {
		t.Fatal(err)
	}
	return &Service{Runs: w.runs, Customers: w.customers, Policies: w.policies, Ledger: w.ledger,
		Counts:  memCounts{escalation.CallCounts{Calls: 100_000, ProviderFailures: 1_500}},
		Notices: r, Mailer: w.mailer, Pace: pace, Now: w.clock.Now}
}
