package snapshot_test

import (
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net/http"
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

// The load simulation drives the real run service and the real follow-up
// path (Service.FollowUps, the queued form, the backstop sweep) with
// in-memory fakes of DynamoDB (a RunStore with DynamoDB's conditional
// semantics that counts every read and write by partition key, index keys
// included), SQS (per-message delays capped at 15 minutes, an event source
// mapping with bounded concurrency and batches of ten) and DigitalOcean
// (the dotest fake, reached through the real docloud client, with its
// per-token budgets of 5,000 an hour and 250 a minute, snapshots of a
// minute per GB, and an hour of 2% "Server Error" on snapshot requests), on
// a virtual clock. See BENCHMARKS.md ("Scale") for the method and figures:
//
//	go test ./shared/snapshot -run '^$' -bench BenchmarkLoad -benchtime 1x -timeout 60m

// simConfig is one simulation.
type simConfig struct {
	// Policies is how many hourly policies there are.
	Policies int
	// Heavy is how many of them belong to one large account (its token's
	// budget is shared by all of them); the rest belong to accounts of 1
	// to 20 policies.
	Heavy int
	// Containers is how many Lambda containers share the work (each has
	// its own clients, so its own view of a token's budget).
	Containers int
	// Concurrency is the follow-up queue's MaximumConcurrency.
	Concurrency int
	// Seed makes the run deterministic.
	Seed uint64
	// Prior gives every policy a successful run the hour before (the
	// steady state: a run expects its snapshot to take about as long as
	// the last one did); without it every run is a policy's first.
	Prior bool
}

// simResult is what a simulation measured.
type simResult struct {
	Runs, Succeeded, Failed, TimedOut, OnTime int
	ByClass                                   map[snapkeep.ErrorClass]int
	HeavyByClass                              map[snapkeep.ErrorClass]int    // the large account's share
	ClassSample                               map[snapkeep.ErrorClass]string // one message per class
	DelayP50, DelayP99, DelayMax              time.Duration
	HeavyDelayP99, OthersDelayP99             time.Duration
	DOCalls, DDBReads, DDBWrites              int
	DDBReadUnits, DDBWriteUnits               float64
	DDBIndexUnits                             float64 // the share of DDBWriteUnits the indexes take
	HotKey                                    string
	HotKeyPerSecond                           float64 // its busiest minute's writes, per second
	HotKeyPeakSecond                          int     // its busiest second's writes
	UnfinishedWrites                          int     // writes on the unfinished index's keys
	SQSRequests, Invocations                  int
	LambdaGBSeconds                           float64
	SecretsReads                              int
	BudgetDelayed, RateLimited                int
	Elapsed                                   time.Duration
}

// Prices (us-east-1, on demand, as of 2026-12-01; sources in BENCHMARKS.md).
const (
	priceLambdaRequest = 0.20 / 1e6   // per request
	priceLambdaGBs     = 0.0000133334 // per GB-second, arm64
	priceDDBWrite      = 0.625 / 1e6  // per write request unit
	priceDDBRead       = 0.125 / 1e6  // per read request unit
	priceSQS           = 0.40 / 1e6   // per request (64 KB chunk)
	priceScheduler     = 1.00 / 1e6   // per scheduled invocation
	priceSecrets       = 0.05 / 1e4   // per API call
	lambdaMemoryGB     = 256.0 / 1024 // the template's MemorySize
	doLatency          = 150 * time.Millisecond
	ddbLatency         = 6 * time.Millisecond
	invocationOverhead = 20 * time.Millisecond
)

// CostPer1000 is the cost of 1,000 runs by the counts.
func (r simResult) CostPer1000() float64 {
	runs := float64(r.Runs)
	cost := float64(r.Invocations)*priceLambdaRequest + r.LambdaGBSeconds*priceLambdaGBs +
		r.DDBWriteUnits*priceDDBWrite + r.DDBReadUnits*priceDDBRead + float64(r.SQSRequests)*priceSQS +
		runs*priceScheduler + float64(r.SecretsReads)*priceSecrets
	return cost / runs * 1000
}

// sim is a running simulation.
type sim struct {
	cfg     simConfig
	now     time.Time
	rng     *mrand.Rand
	fake    *dotest.Server
	store   *simStore
	svcs    []*snapshot.Service
	tokens  *countingSecrets
	events  eventQueue
	queue   []simMessage // visible follow-ups, oldest first
	slots   []time.Time  // the consumers' next free times
	delays  []time.Duration
	heavyD  []time.Duration
	otherD  []time.Duration
	heavy   map[string]bool // policy ids of the heavy account
	sqs     int
	invokes int
	gbs     float64
	// doCalls counts the HTTP requests the clients made.
	doCalls int
}

// countingTransport counts the requests it hands to the fake.
type countingTransport struct {
	handlerTransport
	n *int
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	*c.n++
	return c.handlerTransport.RoundTrip(r)
}

type simMessage struct {
	key     snapkeep.RunKey
	due     time.Time
	visible time.Time
}

type event struct {
	at   time.Time
	kind int // evFire, evVisible, evPoll, evSweep
	seq  int
	key  snapkeep.RunKey
	msg  simMessage
}

const (
	evFire = iota
	evVisible
	evPoll
	evSweep
)

type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

var simSeq int

func (s *sim) push(e event) {
	simSeq++
	e.seq = simSeq
	heap.Push(&s.events, e)
}

// simQueue is the service's FollowUps: an SQS queue whose messages become
// visible when due, at most 15 minutes after they are sent.
type simQueue struct{ s *sim }

func (q simQueue) Send(_ context.Context, key snapkeep.RunKey, due time.Time) error {
	q.s.sqs++
	visible := due
	if max := q.s.now.Add(15 * time.Minute); visible.After(max) {
		visible = max
	}
	if visible.Before(q.s.now) {
		visible = q.s.now
	}
	q.s.push(event{at: visible, kind: evVisible, msg: simMessage{key: key, due: due, visible: visible}})
	return nil
}

// countingSecrets hands out the accounts' tokens and counts the reads.
type countingSecrets struct {
	mu     sync.Mutex
	tokens map[string]string
	reads  int
}

func (c *countingSecrets) Token(_ context.Context, account string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	t, ok := c.tokens[account]
	if !ok {
		return "", fmt.Errorf("token of %q: %w", account, snapkeep.ErrNotFound)
	}
	return t, nil
}

func newSim(cfg simConfig) *sim {
	start := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	s := &sim{cfg: cfg, now: start.Add(-time.Minute), rng: mrand.New(mrand.NewPCG(cfg.Seed, 7)), heavy: map[string]bool{}}
	s.store = newSimStore(s)
	s.fake = dotest.New(dotest.WithClock(func() time.Time { return s.now }), dotest.WithSeed(cfg.Seed))
	s.tokens = &countingSecrets{tokens: map[string]string{}}
	pols := &memPolicies{m: map[string]snapkeep.Policy{}}
	account, left := 0, 0
	for i := 0; i < cfg.Policies; i++ {
		acct := "heavy"
		if i >= cfg.Heavy {
			if left == 0 {
				account++
				left = 1 + s.rng.IntN(20)
			}
			left--
			acct = fmt.Sprintf("acct-%05d", account)
		}
		if _, ok := s.tokens.tokens[acct]; !ok {
			tok := dotest.NewToken()
			s.tokens.tokens[acct] = tok
			s.fake.AddToken(tok)
		}
		gb := int(math.Round(math.Exp(s.rng.Float64() * math.Log(200)))) // log-uniform 1..200 GB
		// About a minute per GB, 15% either side of the previous hour's.
		took := time.Duration(float64(gb) * (0.85 + 0.3*s.rng.Float64()) * float64(time.Minute))
		if err := s.fake.AddDroplet(dotest.Droplet{ID: 100000 + i, Disk: gb, ActionDuration: took}); err != nil {
			panic(err)
		}
		id := fmt.Sprintf("p%06d", i)
		minute := 0 // 30% of customers choose :00
		if s.rng.Float64() >= 0.3 {
			minute = s.rng.IntN(60)
		}
		pols.m[id] = snapkeep.Policy{PolicyID: id, CustomerID: "c-" + acct, AccountID: acct, Enabled: true,
			Schedule: fmt.Sprintf("cron(%d * * * ? *)", minute), Retention: snapkeep.Retention{KeepLast: 3},
			Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: fmt.Sprint(100000 + i), Region: "nyc3"}}
		if acct == "heavy" {
			s.heavy[id] = true
		}
		if cfg.Prior {
			s.store.prior[id] = &snapkeep.Run{PolicyID: id, Status: snapkeep.RunSucceeded, Resource: pols.m[id].Resource,
				ScheduledAt: start.Add(time.Duration(minute-60) * time.Minute), ActionSeconds: gb * 60}
		}
		s.push(event{at: start.Add(time.Duration(minute) * time.Minute), kind: evFire, key: snapkeep.NewRunKey(id, start.Add(time.Duration(minute)*time.Minute))})
	}
	// Scheduler delivers up to 1,000 targets a second: a slot's burst is
	// spread accordingly.
	s.spreadFires()
	// An hour of 2% "Server Error" on snapshot requests.
	s.fake.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Status: 500, Operation: snapkeep.OpSnapshotDroplet,
		From: start.Add(20 * time.Minute), Until: start.Add(80 * time.Minute), Rate: 0.02})
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	for c := 0; c < cfg.Containers; c++ {
		s.svcs = append(s.svcs, &snapshot.Service{
			Runs: s.store, Policies: pols, Tokens: s.tokens, FollowUps: simQueue{s},
			Connect: func(token string, rec snapshot.Recorder) snapshot.DigitalOcean {
				return docloud.New(token, docloud.WithBaseURL("http://dotest.invalid"), docloud.WithRecorder(rec),
					docloud.WithClock(func() time.Time { return s.now }), docloud.WithHTTPTransport(countingTransport{handlerTransport{s.fake}, &s.doCalls}))
			},
			Now:   func() time.Time { return s.now },
			Sleep: func(context.Context, time.Duration) error { return nil }, // waits are not modelled within an invocation
			Log:   log,
		})
	}
	s.slots = make([]time.Time, cfg.Concurrency)
	for m := 5; m <= 8*60; m += 5 {
		s.push(event{at: start.Add(time.Duration(m) * time.Minute), kind: evSweep})
	}
	return s
}

// spreadFires delays the fire events beyond Scheduler's 1,000 a second.
func (s *sim) spreadFires() {
	sort.Sort(s.events)
	var last time.Time
	for i := range s.events {
		e := &s.events[i]
		if e.kind != evFire {
			continue
		}
		if !last.IsZero() && e.at.Before(last.Add(time.Millisecond)) {
			e.at = last.Add(time.Millisecond)
		}
		last = e.at
	}
	heap.Init(&s.events)
}

// invoke runs one Lambda invocation on a container at now and accounts for
// its duration (calls to DigitalOcean and DynamoDB made, plus overhead).
func (s *sim) invoke(container int, input string) time.Duration {
	before, ddb := s.doCalls, s.store.ops()
	if _, err := s.svcs[container].Invoke(context.Background(), json.RawMessage(input)); err != nil {
		panic(fmt.Sprintf("invoke %s: %v", input, err))
	}
	d := invocationOverhead + time.Duration(s.doCalls-before)*doLatency + time.Duration(s.store.ops()-ddb)*ddbLatency
	s.invokes++
	s.gbs += d.Seconds() * lambdaMemoryGB
	return d
}

func (s *sim) container(key snapkeep.RunKey) int {
	h := 0
	for _, c := range key.RunID() {
		h = h*31 + int(c)
	}
	if h < 0 {
		h = -h
	}
	return h % len(s.svcs)
}

// poll starts consumer invocations for the visible messages while a
// consumer is free, in batches of ten.
func (s *sim) poll() {
	for len(s.queue) > 0 {
		i := 0
		for j := range s.slots {
			if s.slots[j].Before(s.slots[i]) {
				i = j
			}
		}
		if s.slots[i].After(s.now) {
			s.push(event{at: s.slots[i], kind: evPoll})
			return
		}
		n := min(10, len(s.queue))
		batch := s.queue[:n]
		s.queue = s.queue[n:]
		s.sqs += 2 // the mapping's ReceiveMessage and DeleteMessageBatch
		var longest time.Duration
		for _, m := range batch {
			if !m.due.After(s.now.Add(2 * time.Second)) {
				d := s.now.Sub(m.due)
				s.delays = append(s.delays, d)
				if s.heavy[m.key.PolicyID] {
					s.heavyD = append(s.heavyD, d)
				} else {
					s.otherD = append(s.otherD, d)
				}
			}
			in := fmt.Sprintf(`{"policy_id":%q,"scheduled_time":%q,"follow_up":true,"due":%q}`, m.key.PolicyID, m.key.Slot(), m.due.UTC().Format(time.RFC3339))
			longest = max(longest, s.invoke(s.container(m.key), in)) // the batch's messages run side by side
		}
		s.invokes -= len(batch) - 1 // one invocation for the batch
		s.slots[i] = s.now.Add(longest)
	}
}

// run plays the events until none is left.
func (s *sim) run() {
	for s.events.Len() > 0 {
		e := heap.Pop(&s.events).(event)
		if e.at.After(s.now) {
			s.now = e.at
		}
		switch e.kind {
		case evFire:
			s.invoke(s.container(e.key), slotInput(e.key.PolicyID, e.key.ScheduledAt))
		case evVisible:
			s.queue = append(s.queue, e.msg)
			s.poll()
		case evPoll:
			s.poll()
		case evSweep:
			if s.store.unfinished() == 0 && s.now.After(time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)) {
				continue
			}
			s.invoke(0, `{"sweep": true}`)
		}
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[int(math.Min(float64(len(ds)-1), math.Ceil(p*float64(len(ds)))-1))]
}

func simulate(cfg simConfig) simResult {
	began := time.Now()
	s := newSim(cfg)
	s.run()
	r := simResult{ByClass: map[snapkeep.ErrorClass]int{}, HeavyByClass: map[snapkeep.ErrorClass]int{},
		ClassSample: map[snapkeep.ErrorClass]string{}, Invocations: s.invokes, LambdaGBSeconds: s.gbs,
		SQSRequests: s.sqs, SecretsReads: s.tokens.reads, DOCalls: s.doCalls}
	for _, run := range s.store.all() {
		r.Runs++
		switch run.Status {
		case snapkeep.RunSucceeded:
			r.Succeeded++
		case snapkeep.RunFailed:
			r.Failed++
		case snapkeep.RunTimedOut:
			r.TimedOut++
		}
		if run.ErrorClass != "" {
			r.ByClass[run.ErrorClass]++
			if s.heavy[run.PolicyID] {
				r.HeavyByClass[run.ErrorClass]++
			}
			if _, ok := r.ClassSample[run.ErrorClass]; !ok {
				r.ClassSample[run.ErrorClass] = run.ErrorDetail
			}
		}
		if run.Status.Terminal() && run.FinishedAt != nil && !run.FinishedAt.After(run.Deadline) {
			r.OnTime++
		}
		if run.BudgetDelays > 0 {
			r.BudgetDelayed++
		}
	}
	for _, q := range s.fake.Requests() {
		if q.Status == 429 {
			r.RateLimited++
		}
	}
	r.DelayP50, r.DelayP99 = percentile(s.delays, 0.50), percentile(s.delays, 0.99)
	r.DelayMax = percentile(s.delays, 1)
	r.HeavyDelayP99, r.OthersDelayP99 = percentile(s.heavyD, 0.99), percentile(s.otherD, 0.99)
	r.DDBReads, r.DDBWrites, r.DDBReadUnits = s.store.reads, s.store.writes, s.store.readUnits
	r.DDBWriteUnits, r.DDBIndexUnits = s.store.writeUnits+s.store.indexUnits, s.store.indexUnits
	r.HotKey, r.HotKeyPerSecond, r.HotKeyPeakSecond = s.store.hottest()
	r.UnfinishedWrites = s.store.unfinishedWrites
	r.Elapsed = time.Since(began)
	return r
}

// BenchmarkLoad runs the simulation at 1k, 10k and 100k hourly policies
// (one hour of slots, followed to their end) and reports per size the
// figures BENCHMARKS.md's scale table holds.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		for _, prior := range []bool{false, true} {
			b.Run(fmt.Sprintf("policies=%d/prior=%v", n, prior), func(b *testing.B) { benchLoad(b, n, prior) })
		}
	}
}

// benchLoad is one simulation of BenchmarkLoad.
func benchLoad(b *testing.B, n int, prior bool) {
	cfg := simConfig{Policies: n, Heavy: n / 50, Containers: 50, Concurrency: 50, Seed: 1, Prior: prior}
	r := simulate(cfg)
	runs := float64(r.Runs)
	b.ReportMetric(r.DelayP50.Seconds(), "delay-p50-s")
	b.ReportMetric(r.DelayP99.Seconds(), "delay-p99-s")
	b.ReportMetric(r.OthersDelayP99.Seconds(), "others-delay-p99-s")
	b.ReportMetric(r.HeavyDelayP99.Seconds(), "heavy-delay-p99-s")
	b.ReportMetric(float64(r.OnTime)/runs*100, "on-time-%")
	b.ReportMetric(float64(r.Succeeded)/runs*100, "succeeded-%")
	b.ReportMetric(float64(r.DOCalls)/runs, "do-calls/run")
	b.ReportMetric(float64(r.DDBReads)/runs, "ddb-reads/run")
	b.ReportMetric(float64(r.DDBWrites)/runs, "ddb-writes/run")
	b.ReportMetric(r.DDBWriteUnits/runs, "ddb-write-units/run")
	b.ReportMetric(r.DDBIndexUnits/runs, "ddb-index-write-units/run")
	b.ReportMetric(r.HotKeyPerSecond, "hot-key-writes/s")
	b.ReportMetric(float64(r.UnfinishedWrites)/runs, "unfinished-index-writes/run")
	b.ReportMetric(float64(r.SQSRequests)/runs, "sqs/run")
	b.ReportMetric(float64(r.Invocations)/runs, "invocations/run")
	b.ReportMetric(r.CostPer1000(), "usd/1000runs")
	b.Logf("%d policies: %d runs (%d succeeded, %d failed, %d timed out; %d on time) classes %v (the large account's %v; e.g. %q); "+
		"follow-up delay p50 %s p99 %s max %s (heavy account p99 %s, others %s); %d DigitalOcean calls, %d 429s, %d runs delayed by their own budget; "+
		"DynamoDB %d reads (%.0f units) %d writes (%.0f units, %.0f of them the indexes'); hottest key %s: %.1f writes/s over its busiest minute, %d in its busiest second; "+
		"%d SQS requests, %d invocations, %.0f GB-s, %d secret reads; $%.4f per 1,000 runs; simulated in %s",
		n, r.Runs, r.Succeeded, r.Failed, r.TimedOut, r.OnTime, r.ByClass, r.HeavyByClass, r.ClassSample, r.DelayP50, r.DelayP99, r.DelayMax,
		r.HeavyDelayP99, r.OthersDelayP99, r.DOCalls, r.RateLimited, r.BudgetDelayed, r.DDBReads, r.DDBReadUnits, r.DDBWrites, r.DDBWriteUnits, r.DDBIndexUnits,
		r.HotKey, r.HotKeyPerSecond, r.HotKeyPeakSecond, r.SQSRequests, r.Invocations, r.LambdaGBSeconds, r.SecretsReads, r.CostPer1000(), r.Elapsed)
}

// The simulation itself is deterministic and its accounting adds up: a
// small run checks the figures it would report.
func TestLoadSimulationSmall(t *testing.T) {
	cfg := simConfig{Policies: 300, Heavy: 60, Containers: 5, Concurrency: 5, Seed: 3}
	a, b := simulate(cfg), simulate(cfg)
	if a.Runs != 300 || a.OnTime != a.Runs {
		t.Errorf("%d runs, %d on time: every run must end by its deadline", a.Runs, a.OnTime)
	}
	if a.Succeeded < 250 {
		t.Errorf("only %d of 300 runs succeeded (classes %v)", a.Succeeded, a.ByClass)
	}
	a.Elapsed, b.Elapsed = 0, 0
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("two runs with one seed differ:\n%+v\n%+v", a, b)
	}
	if a.DDBWrites == 0 || a.SQSRequests == 0 || a.HotKeyPerSecond <= 0 || !strings.Contains(a.HotKey, "#") {
		t.Errorf("accounting missing: %+v", a)
	}
	if a.DelayP99 > 2*time.Minute {
		t.Errorf("follow-up delay p99 %s at 300 policies", a.DelayP99)
	}
	// With every policy's previous snapshot time known, runs look at their
	// actions when they are due to complete: fewer calls and writes.
	cfg.Prior = true
	p := simulate(cfg)
	if p.Succeeded < a.Succeeded || 2*p.DOCalls > a.DOCalls || 2*p.DDBWrites > a.DDBWrites {
		t.Errorf("with the previous runs' times: %d succeeded, %d DigitalOcean calls, %d writes; without: %d, %d, %d; want at least as many successes for half the calls and writes",
			p.Succeeded, p.DOCalls, p.DDBWrites, a.Succeeded, a.DOCalls, a.DDBWrites)
	}
}
