package snapshot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/docloud"
	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/snapshot"
)

// memStore is an in-memory snapshot.RunStore with the same conditional
// semantics as dynamo.RunStore, including the droplet locks.
type memStore struct {
	mu    sync.Mutex
	runs  map[string]snapkeep.Run
	calls map[string]map[int]snapkeep.APICall
	locks map[string]snapkeep.Lock
	// byPolicy holds each policy's run ids (Previous reads them).
	byPolicy map[string][]string
	writes   int
	// failSave, when set, is asked before each Save; a non-nil error is
	// returned without writing (a crash or an outage).
	failSave func(next *snapkeep.Run) error
	// failAppend, when set, is asked before each AppendCalls (after seqs
	// were reserved, as when DynamoDB throttles the rows' batch write).
	failAppend func(calls []snapkeep.APICall) error
	// poisoned counts items DueUnfinished quarantines, for tests.
	poisoned int
	// maxSaveCalls is the most calls one Save carried.
	maxSaveCalls int
}

func newMemStore() *memStore {
	return &memStore{runs: map[string]snapkeep.Run{}, calls: map[string]map[int]snapkeep.APICall{}, locks: map[string]snapkeep.Lock{},
		byPolicy: map[string][]string{}}
}

func (m *memStore) Claim(ctx context.Context, run *snapkeep.Run) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.claimLocked(run)
}

func (m *memStore) claimLocked(run *snapkeep.Run) error {
	id := run.Key().RunID()
	if _, ok := m.runs[id]; ok {
		return fmt.Errorf("claim: %w", snapkeep.ErrConflict)
	}
	m.writes++
	m.runs[id] = *run
	m.byPolicy[run.PolicyID] = append(m.byPolicy[run.PolicyID], id)
	return nil
}

func (m *memStore) ClaimLocked(_ context.Context, run *snapkeep.Run, lock snapkeep.Lock) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.runs[run.Key().RunID()]; ok {
		return fmt.Errorf("claim: %w", snapkeep.ErrConflict)
	}
	if err := m.checkLock(lock); err != nil {
		return err
	}
	if err := m.claimLocked(run); err != nil {
		return err
	}
	m.locks[lock.Key] = lock
	return nil
}

func (m *memStore) checkLock(lock snapkeep.Lock) error {
	if cur, ok := m.locks[lock.Key]; ok && cur.Owner != lock.Owner && cur.Until.After(lock.Now) {
		return &snapkeep.LockedError{Key: lock.Key, Until: cur.Until}
	}
	return nil
}

func (m *memStore) Get(_ context.Context, key snapkeep.RunKey) (*snapkeep.Run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.runs[key.RunID()]
	if !ok {
		return nil, fmt.Errorf("get: %w", snapkeep.ErrNotFound)
	}
	return &r, nil
}

func (m *memStore) Save(ctx context.Context, prev, next *snapkeep.Run, calls []snapkeep.APICall) error {
	return m.save(ctx, prev, next, calls, nil)
}

func (m *memStore) SaveLocked(ctx context.Context, prev, next *snapkeep.Run, calls []snapkeep.APICall, lock snapkeep.Lock) error {
	return m.save(ctx, prev, next, calls, &lock)
}

// save is Save, taking lock too when it is not nil. Like the SDK, it fails
// on a context that has ended.
func (m *memStore) save(ctx context.Context, prev, next *snapkeep.Run, calls []snapkeep.APICall, lock *snapkeep.Lock) error {
	if m.failSave != nil {
		if err := m.failSave(next); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(calls) > snapshot.MaxCallsPerSave {
		return fmt.Errorf("save: %d calls do not fit one transaction: %w", len(calls), snapkeep.ErrInvalid)
	}
	m.maxSaveCalls = max(m.maxSaveCalls, len(calls))
	id := next.Key().RunID()
	cur, ok := m.runs[id]
	if !ok || !cur.UpdatedAt.Equal(prev.UpdatedAt) || cur.APICalls != prev.APICalls {
		return fmt.Errorf("save: %w", snapkeep.ErrConflict)
	}
	if !next.UpdatedAt.After(prev.UpdatedAt) {
		return fmt.Errorf("save: updated_at must increase: %w", snapkeep.ErrInvalid)
	}
	if lock != nil {
		if err := m.checkLock(*lock); err != nil {
			return err
		}
		m.locks[lock.Key] = *lock
	}
	m.writes++
	n := m.putCalls(id, prev.APICalls, calls)
	next.APICalls = prev.APICalls + n
	m.runs[id] = *next
	return nil
}

// putCalls numbers the calls without a seq after base (writing it back)
// and stores every call by its seq; it returns how many were numbered.
func (m *memStore) putCalls(id string, base int, calls []snapkeep.APICall) int {
	if m.calls[id] == nil {
		m.calls[id] = map[int]snapkeep.APICall{}
	}
	n := 0
	for i := range calls {
		if calls[i].Seq == 0 {
			n++
			calls[i].Seq = base + n
		}
		if calls[i].RunID == "" {
			calls[i].RunID = id
		}
		m.calls[id][calls[i].Seq] = calls[i]
	}
	return n
}

func (m *memStore) AppendCalls(ctx context.Context, key snapkeep.RunKey, calls []snapkeep.APICall) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	id := key.RunID()
	cur, ok := m.runs[id]
	if !ok {
		return fmt.Errorf("append: %w", snapkeep.ErrNotFound)
	}
	m.writes++
	if m.failAppend != nil {
		if err := m.failAppend(calls); err != nil {
			// The seqs were reserved (the atomic ADD) but the rows' write
			// failed: the caller retries with the same seqs.
			n := 0
			for i := range calls {
				if calls[i].Seq == 0 {
					n++
					calls[i].Seq = cur.APICalls + n
				}
			}
			cur.APICalls += n
			m.runs[id] = cur
			return err
		}
	}
	cur.APICalls += m.putCalls(id, cur.APICalls, calls)
	m.runs[id] = cur
	return nil
}

func (m *memStore) Previous(_ context.Context, key snapkeep.RunKey) (*snapkeep.Run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var best *snapkeep.Run
	for _, id := range m.byPolicy[key.PolicyID] {
		r := m.runs[id]
		if !r.ScheduledAt.Before(key.ScheduledAt) || !r.Status.Terminal() || r.Status == snapkeep.RunSkipped {
			continue
		}
		if best == nil || r.ScheduledAt.After(best.ScheduledAt) {
			r := r
			best = &r
		}
	}
	return best, nil
}

func (m *memStore) DueUnfinished(_ context.Context, now time.Time, limit int) ([]snapkeep.Run, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []snapkeep.Run
	for _, r := range m.runs {
		if r.Unfinished != "" && r.NextCheckAt != nil && !r.NextCheckAt.After(now) {
			due = append(due, r)
		}
	}
	sort.Slice(due, func(a, b int) bool {
		if !due[a].NextCheckAt.Equal(*due[b].NextCheckAt) {
			return due[a].NextCheckAt.Before(*due[b].NextCheckAt)
		}
		return due[a].RunID < due[b].RunID
	})
	if len(due) > limit {
		due = due[:limit]
	}
	q := m.poisoned
	m.poisoned = 0
	return due, q, nil
}

// run returns the stored run with the id.
func (m *memStore) run(t *testing.T, id string) snapkeep.Run {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.runs[id]
	if !ok {
		t.Fatalf("no run %s", id)
	}
	return r
}

// callRows returns the run's ApiCalls rows by seq, failing the test unless
// they are numbered 1..Run.APICalls without gaps.
func (m *memStore) callRows(t *testing.T, id string) []snapkeep.APICall {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.runs[id]
	rows := m.calls[id]
	if len(rows) != r.APICalls {
		t.Errorf("run %s: %d ApiCalls rows, run says %d", id, len(rows), r.APICalls)
	}
	out := make([]snapkeep.APICall, 0, len(rows))
	for seq := 1; seq <= len(rows); seq++ {
		c, ok := rows[seq]
		if !ok {
			t.Errorf("run %s: no ApiCalls row with seq %d", id, seq)
			continue
		}
		out = append(out, c)
	}
	return out
}

type memPolicies struct {
	mu sync.Mutex
	m  map[string]snapkeep.Policy
}

func (p *memPolicies) Get(_ context.Context, id string) (*snapkeep.Policy, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pol, ok := p.m[id]
	if !ok {
		return nil, fmt.Errorf("policy %q: %w", id, snapkeep.ErrNotFound)
	}
	return &pol, nil
}

type memTokens map[string]string

func (m memTokens) Token(_ context.Context, account string) (string, error) {
	t, ok := m[account]
	if !ok {
		return "", fmt.Errorf("token of %q: %w", account, snapkeep.ErrNotFound)
	}
	return t, nil
}

// handlerTransport serves requests with an in-process dotest fake, without
// a network.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(strings.NewReader(string(b)))
	}
	r.Host = r.URL.Host
	r.RequestURI = r.URL.RequestURI()
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// rig is a service on in-memory fakes and a virtual clock.
type rig struct {
	t      *testing.T
	clock  *dotest.Clock
	fake   *dotest.Server
	store  *memStore
	pols   *memPolicies
	token  string
	svc    *snapshot.Service
	logBuf *strings.Builder
	logMu  *sync.Mutex
}

var start = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

const dropletID = 3164444

func newRig(t *testing.T) *rig {
	t.Helper()
	clock := dotest.NewClock(start)
	fake := dotest.New(dotest.WithVirtualClock(clock), dotest.WithActionDuration(3*time.Minute))
	token := dotest.NewToken()
	fake.AddToken(token)
	if err := fake.AddDroplet(dotest.Droplet{ID: dropletID, Disk: 25}); err != nil {
		t.Fatal(err)
	}
	if err := fake.AddVolume(dotest.Volume{ID: "506f78a4-e098-11e5-ad9f-000f53306ae1"}); err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, clock: clock, fake: fake, store: newMemStore(), token: token, logBuf: &strings.Builder{}, logMu: &sync.Mutex{}}
	r.pols = &memPolicies{m: map[string]snapkeep.Policy{
		"p1": {PolicyID: "p1", CustomerID: "c1", AccountID: "acct1", Enabled: true, Schedule: "rate(1 hour)",
			Resource:  snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: fmt.Sprint(dropletID), Region: "nyc3"},
			Retention: snapkeep.Retention{KeepLast: 3}},
		"v1": {PolicyID: "v1", CustomerID: "c1", AccountID: "acct1", Enabled: true, Schedule: "rate(1 hour)",
			Resource:  snapkeep.Resource{Kind: snapkeep.ResourceVolume, ID: "506f78a4-e098-11e5-ad9f-000f53306ae1", Region: "nyc3"},
			Retention: snapkeep.Retention{KeepLast: 2}},
	}}
	r.svc = newRigService(r, fake)
	return r
}

// newRigService wires a service to the rig's store and policies and fake.
func newRigService(r *rig, fake *dotest.Server) *snapshot.Service {
	clock := r.clock
	return &snapshot.Service{
		Runs:     r.store,
		Policies: r.pols,
		Tokens:   memTokens{"acct1": r.token},
		Connect: func(token string, rec snapshot.Recorder) snapshot.DigitalOcean {
			return docloud.New(token, docloud.WithBaseURL("http://dotest.invalid"), docloud.WithRecorder(rec),
				docloud.WithClock(clock.Now), docloud.WithHTTPTransport(handlerTransport{fake}))
		},
		Now:   clock.Now,
		Sleep: func(_ context.Context, d time.Duration) error { clock.Advance(d); return nil },
		Log:   slog.New(slog.NewJSONHandler(lockedWriter{r.logBuf, r.logMu}, nil)),
	}
}

type lockedWriter struct {
	b  *strings.Builder
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (r *rig) logs() string {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	return r.logBuf.String()
}

func (r *rig) invoke(input string) *snapshot.Outcome {
	r.t.Helper()
	out, err := r.svc.Invoke(context.Background(), json.RawMessage(input))
	if err != nil {
		r.t.Fatalf("invoke %s: %v", input, err)
	}
	return out
}

// settle runs the one-minute sweep on the virtual clock until the run is
// terminal, at most steps times, and returns it.
func (r *rig) settle(id string, steps int) snapkeep.Run {
	r.t.Helper()
	for i := 0; i < steps; i++ {
		run := r.store.run(r.t, id)
		if run.Status.Terminal() {
			return run
		}
		if next := run.NextCheckAt; next != nil && next.After(r.clock.Now()) {
			r.clock.Set(*next)
		} else {
			r.clock.Advance(time.Minute)
		}
		r.invoke(`{"sweep": true}`)
	}
	run := r.store.run(r.t, id)
	if !run.Status.Terminal() {
		r.t.Fatalf("run %s still %s after %d sweeps", id, run.Status, steps)
	}
	return run
}

func slotInput(policy string, slot time.Time) string {
	return fmt.Sprintf(`{"policy_id": %q, "scheduled_time": %q}`, policy, slot.UTC().Format(snapkeep.SlotTimeFormat))
}
