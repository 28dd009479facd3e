package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/notice"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// The fakes keep the ports' state in memory with the stores' semantics;
// their function fields, when set, run before the in-memory behaviour
// and may fail a call (a non-nil error is returned as is).

// noticeClaim applies a claim to notices as shared/dynamo does.
func noticeClaim(notices map[string]snapkeep.Notice, channel string, n snapkeep.Notice, takeover func(snapkeep.Notice) bool) (snapkeep.Notice, bool) {
	e, ok := notices[channel]
	if !ok || (takeover != nil && e.ID == "" && e.Error == "" && takeover(e)) {
		notices[channel] = n
		return n, true
	}
	return e, false
}

type memRuns struct {
	mu        sync.Mutex
	runs      map[snapkeep.RunKey]*snapkeep.Run
	claims    int
	ClaimFunc func(key snapkeep.RunKey, channel string) error
}

func (m *memRuns) put(r *snapkeep.Run) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.runs == nil {
		m.runs = map[snapkeep.RunKey]*snapkeep.Run{}
	}
	c := *r
	m.runs[r.Key()] = &c
}

func (m *memRuns) get(key snapkeep.RunKey) *snapkeep.Run {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.runs[key]; r != nil {
		c := *r
		c.Notices = map[string]snapkeep.Notice{}
		for k, v := range r.Notices {
			c.Notices[k] = v
		}
		return &c
	}
	return nil
}

func (m *memRuns) ClaimNotice(_ context.Context, key snapkeep.RunKey, channel string, n snapkeep.Notice, takeover func(snapkeep.Notice) bool) (snapkeep.Notice, bool, error) {
	if m.ClaimFunc != nil {
		if err := m.ClaimFunc(key, channel); err != nil {
			return snapkeep.Notice{}, false, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.claims++
	r := m.runs[key]
	if r == nil {
		return snapkeep.Notice{}, false, snapkeep.ErrNotFound
	}
	if r.Notices == nil {
		r.Notices = map[string]snapkeep.Notice{}
	}
	got, ok := noticeClaim(r.Notices, channel, n, takeover)
	return got, ok, nil
}

func (m *memRuns) RecordNotice(_ context.Context, key snapkeep.RunKey, channel string, claimedAt time.Time, n snapkeep.Notice) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.runs[key]
	if r == nil || !r.Notices[channel].At.Equal(claimedAt) {
		return snapkeep.ErrConflict
	}
	r.Notices[channel] = n
	return nil
}

func (m *memRuns) ReleaseNotice(_ context.Context, key snapkeep.RunKey, channel string, claimedAt time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.runs[key]
	if r == nil || !r.Notices[channel].At.Equal(claimedAt) || r.Notices[channel].ID != "" {
		return snapkeep.ErrConflict
	}
	delete(r.Notices, channel)
	return nil
}

func (m *memRuns) Get(_ context.Context, key snapkeep.RunKey) (*snapkeep.Run, error) {
	if r := m.get(key); r != nil {
		return r, nil
	}
	return nil, snapkeep.ErrNotFound
}

func (m *memRuns) sorted(policyID string) []snapkeep.Run {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []snapkeep.Run
	for k, r := range m.runs {
		if k.PolicyID == policyID {
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ScheduledAt.Before(out[j].ScheduledAt) })
	return out
}

func (m *memRuns) Recent(_ context.Context, policyID string, before time.Time, limit int) ([]snapkeep.Run, error) {
	var out []snapkeep.Run
	runs := m.sorted(policyID)
	for i := len(runs) - 1; i >= 0 && len(out) < limit; i-- {
		if runs[i].ScheduledAt.Before(before) {
			out = append(out, runs[i])
		}
	}
	return out, nil
}

func (m *memRuns) NextAfter(_ context.Context, policyID string, after time.Time) (*snapkeep.Run, error) {
	for _, r := range m.sorted(policyID) {
		if r.ScheduledAt.After(after) {
			return &r, nil
		}
	}
	return nil, nil
}

type memCustomers struct {
	mu      sync.Mutex
	byID    map[string]*snapkeep.Customer
	GetFunc func(id string) error
}

func (m *memCustomers) Get(_ context.Context, id string) (*snapkeep.Customer, error) {
	if m.GetFunc != nil {
		if err := m.GetFunc(id); err != nil {
			return nil, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.byID[id]
	if c == nil {
		return nil, snapkeep.ErrNotFound
	}
	v := *c
	return &v, nil
}

func (m *memCustomers) Block(_ context.Context, id, channel, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.byID[id]
	if c == nil {
		return snapkeep.ErrNotFound
	}
	if channel == snapkeep.ChannelEmail {
		c.EmailBlocked = reason
	} else {
		c.SlackBlocked = reason
	}
	return nil
}

type memPolicies map[string]*snapkeep.Policy

func (m memPolicies) Get(_ context.Context, id string) (*snapkeep.Policy, error) {
	if p := m[id]; p != nil {
		return p, nil
	}
	return nil, snapkeep.ErrNotFound
}

type memIncidents struct {
	mu   sync.Mutex
	byID map[string]*snapkeep.Incident
	// lists counts ListOpen calls.
	lists int
}

func (m *memIncidents) ListOpen(context.Context) ([]snapkeep.Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lists++
	var out []snapkeep.Incident
	for _, inc := range m.byID {
		if inc.Open() {
			out = append(out, *inc)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OpenedAt.Before(out[j].OpenedAt) })
	return out, nil
}

func (m *memIncidents) Get(_ context.Context, id string) (*snapkeep.Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if inc := m.byID[id]; inc != nil {
		c := *inc
		return &c, nil
	}
	return nil, snapkeep.ErrNotFound
}

type memMailings struct {
	mu        sync.Mutex
	items     map[[2]string]*Mailing
	ClaimFunc func(id, customer, which, channel string) error
}

func (m *memMailings) AddRun(_ context.Context, r MailingRun) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.items == nil {
		m.items = map[[2]string]*Mailing{}
	}
	k := [2]string{r.MailingID, r.CustomerID}
	it := m.items[k]
	if it == nil {
		it = &Mailing{MailingID: r.MailingID, CustomerID: r.CustomerID, Kind: r.Kind, IncidentID: r.IncidentID, Pending: r.Pending, DueAt: r.DueAt.Truncate(time.Second)}
		m.items[k] = it
	}
	closed := (r.ClosedBy == MapNotices && it.Notices != nil) || (r.ClosedBy == MapResolved && it.Resolved != nil)
	if closed {
		return false, snapkeep.ErrConflict
	}
	if slices.Contains(it.RunIDs, r.RunID) {
		return true, nil
	}
	if len(it.RunIDs) >= r.MaxRuns {
		it.Dropped++
		return false, nil
	}
	it.RunIDs = append(it.RunIDs, r.RunID)
	return true, nil
}

func (m *memMailings) Get(_ context.Context, id, customer string) (*Mailing, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.items[[2]string{id, customer}]
	if it == nil {
		return nil, snapkeep.ErrNotFound
	}
	c := *it
	c.RunIDs = slices.Clone(it.RunIDs)
	c.Notices, c.Resolved = cloneNotices(it.Notices), cloneNotices(it.Resolved)
	return &c, nil
}

func cloneNotices(m map[string]snapkeep.Notice) map[string]snapkeep.Notice {
	if m == nil {
		return nil
	}
	out := map[string]snapkeep.Notice{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (m *memMailings) notices(id, customer, which string) (*map[string]snapkeep.Notice, error) {
	it := m.items[[2]string{id, customer}]
	if it == nil {
		return nil, snapkeep.ErrNotFound
	}
	if which == MapResolved {
		return &it.Resolved, nil
	}
	return &it.Notices, nil
}

func (m *memMailings) ClaimNotice(_ context.Context, id, customer, which, channel string, n snapkeep.Notice, takeover func(snapkeep.Notice) bool) (snapkeep.Notice, bool, error) {
	if m.ClaimFunc != nil {
		if err := m.ClaimFunc(id, customer, which, channel); err != nil {
			return snapkeep.Notice{}, false, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ns, err := m.notices(id, customer, which)
	if err != nil {
		return snapkeep.Notice{}, false, err
	}
	if *ns == nil {
		*ns = map[string]snapkeep.Notice{}
	}
	got, ok := noticeClaim(*ns, channel, n, takeover)
	return got, ok, nil
}

func (m *memMailings) RecordNotice(_ context.Context, id, customer, which, channel string, claimedAt time.Time, n snapkeep.Notice) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ns, err := m.notices(id, customer, which)
	if err != nil {
		return err
	}
	if !(*ns)[channel].At.Equal(claimedAt) {
		return snapkeep.ErrConflict
	}
	(*ns)[channel] = n
	return nil
}

func (m *memMailings) ReleaseNotice(_ context.Context, id, customer, which, channel string, claimedAt time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ns, err := m.notices(id, customer, which)
	if err != nil {
		return err
	}
	if !(*ns)[channel].At.Equal(claimedAt) {
		return snapkeep.ErrConflict
	}
	delete(*ns, channel)
	return nil
}

func (m *memMailings) Done(_ context.Context, id, customer string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.items[[2]string{id, customer}]
	if it == nil {
		return snapkeep.ErrNotFound
	}
	it.Pending = ""
	return nil
}

func (m *memMailings) Pending(_ context.Context, pending string, dueBy time.Time, limit int) ([]Mailing, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Mailing
	for _, it := range m.items {
		if it.Pending == pending && !it.DueAt.After(dueBy) {
			out = append(out, *it)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MailingID+out[i].CustomerID < out[j].MailingID+out[j].CustomerID })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// fakeMailer records every email and answers with SendFunc (nil: a
// message id "ses-<n>").
type fakeMailer struct {
	mu       sync.Mutex
	sent     []Email
	SendFunc func(e Email) (string, error)
}

func (f *fakeMailer) Send(_ context.Context, e Email) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, e)
	if f.SendFunc != nil {
		return f.SendFunc(e)
	}
	return fmt.Sprintf("ses-%d", len(f.sent)), nil
}

func (f *fakeMailer) to(addr string) []Email {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Email
	for _, e := range f.sent {
		if e.To == addr {
			out = append(out, e)
		}
	}
	return out
}

type post struct {
	url     string
	payload []byte
}

type fakePoster struct {
	mu       sync.Mutex
	posts    []post
	PostFunc func(url string) error
}

func (f *fakePoster) Post(_ context.Context, url string, payload []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.posts = append(f.posts, post{url, payload})
	if f.PostFunc != nil {
		return f.PostFunc(url)
	}
	return nil
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// rig is a Service over the fakes.
type rig struct {
	svc       *Service
	runs      *memRuns
	customers *memCustomers
	policies  memPolicies
	incidents *memIncidents
	mailings  *memMailings
	mailer    *fakeMailer
	slack     *fakePoster
	clock     *clock
	logs      *bytes.Buffer
	sleeps    []time.Duration
}

var (
	slotAt   = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	finished = slotAt.Add(30 * time.Minute)
)

func newRig(t testing.TB) *rig {
	t.Helper()
	renderer, err := notice.New(notice.Links{AppURL: "https://app.snapkeep.example"})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{runs: &memRuns{}, customers: &memCustomers{byID: map[string]*snapkeep.Customer{}}, policies: memPolicies{},
		incidents: &memIncidents{byID: map[string]*snapkeep.Incident{}}, mailings: &memMailings{}, mailer: &fakeMailer{},
		slack: &fakePoster{}, clock: &clock{t: finished.Add(5 * time.Second)}, logs: &bytes.Buffer{}}
	ids := 0
	r.svc = &Service{Runs: r.runs, Customers: r.customers, Policies: r.policies, Incidents: r.incidents, Mailings: r.mailings,
		Email: r.mailer, Slack: r.slack, Notices: renderer, Now: r.clock.Now, Config: Config{DigestHour: DefaultDigestHour},
		NewID: func() string { ids++; return fmt.Sprintf("id%d", ids) },
		Sleep: func(_ context.Context, d time.Duration) error {
			r.sleeps = append(r.sleeps, d)
			r.clock.Advance(d)
			return nil
		},
		Logger: slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if err := r.svc.Check(); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) customer(id string, mode snapkeep.NotificationMode, slack bool) *snapkeep.Customer {
	c := &snapkeep.Customer{CustomerID: id, Name: "Customer " + id, Email: id + "@example.com", NotificationMode: mode, PreferencesToken: "tok-" + id}
	if slack {
		c.SlackWebhookURL = "https://hooks.slack.com/services/T0/B0/" + id
	}
	r.customers.byID[id] = c
	return c
}

func (r *rig) policy(id, customer string) *snapkeep.Policy {
	p := &snapkeep.Policy{PolicyID: id, CustomerID: customer, AccountID: "acct", Enabled: true,
		Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "3164444", Region: "nyc3"},
		Schedule: "cron(0 * * * ? *)", Retention: snapkeep.Retention{KeepLast: 7}}
	r.policies[id] = p
	return p
}

// run is policy's run of slot at, with status and class; it is stored.
func (r *rig) run(policy, customer string, at time.Time, status snapkeep.RunStatus, class snapkeep.ErrorClass, prev snapkeep.RunStatus) *snapkeep.Run {
	key := snapkeep.NewRunKey(policy, at)
	fin := at.Add(30 * time.Minute)
	run := &snapkeep.Run{PolicyID: policy, ScheduledAt: at, RunID: key.RunID(), CustomerID: customer,
		Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "3164444", Region: "nyc3"}, ResourceKey: "droplet:3164444",
		Trigger: snapkeep.TriggerScheduled, Status: status, ErrorClass: class, PrevStatus: prev, Attempts: 1,
		ClaimedAt: at, FinishedAt: &fin, Deadline: at.Add(6 * time.Hour), UpdatedAt: fin}
	if class == snapkeep.ClassProviderError {
		run.HTTPStatus, run.ProviderErrorID, run.ProviderMessage, run.ProviderRequestID = 500, "server_error", "Server Error", "req-"+key.Slot()
	}
	r.runs.put(run)
	return run
}

// finishing is the stream change that made run terminal.
func finishing(run *snapkeep.Run) Change {
	old := *run
	old.Status, old.ErrorClass, old.FinishedAt = snapkeep.RunInProgress, "", nil
	return Change{ID: "ev-" + run.RunID, Key: run.Key(), Old: &old, New: run}
}

func changes(runs ...*snapkeep.Run) []Change {
	out := make([]Change, len(runs))
	for i, r := range runs {
		out[i] = finishing(r)
	}
	return out
}

// notice returns run's stored notice on channel.
func (r *rig) notice(run *snapkeep.Run, channel string) snapkeep.Notice {
	return r.runs.get(run.Key()).Notices[channel]
}

func (r *rig) openIncident(id string, dim snapkeep.Dimension) *snapkeep.Incident {
	inc := &snapkeep.Incident{IncidentID: id, Kind: snapkeep.IncidentProvider, Dimension: dim, Class: snapkeep.ClassProviderError,
		State: snapkeep.IncidentFiring, OpenState: snapkeep.OpenIncident, StartedAt: slotAt.Add(-20 * time.Minute), OpenedAt: slotAt.Add(-10 * time.Minute),
		Detector: "cusum", BaselineRate: 0.0005, Rate: 0.015, PeakRate: 0.02, Calls: 20000, Failures: 300,
		AffectedAccounts: 40, AffectedResources: 250, FailedRuns: 120, AffectedCustomers: 35, UpdatedAt: slotAt}
	r.incidents.byID[id] = inc
	return inc
}

func (r *rig) resolve(id string, at time.Time) {
	inc := r.incidents.byID[id]
	inc.State, inc.OpenState, inc.ResolvedAt, inc.UpdatedAt = snapkeep.IncidentResolved, "", &at, at
}

var errTransient = errors.New("throttled for a while")
