package snapshot_test

import (
	"context"
	"encoding/json"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// simStore is the load simulation's DynamoDB: memStore's conditional
// semantics, with every request counted, in request units by DynamoDB's
// rules (a write unit per KB, twice that in a transaction; a read unit per
// 4 KB strongly consistent, half eventually), and every write counted on
// the partition keys it touches — the table's and each index's — per
// virtual second, to find the hottest key. A policy's own partition keys
// (policy_id, run_id) take a handful of writes per run and are not
// tracked; the shared keys are: the unfinished shards, the retrying,
// failures, by-customer and by-resource index keys, ApiCalls'
// failures-by-hour key, and the droplet locks.
type simStore struct {
	*memStore
	s                     *sim
	reads, writes         int
	readUnits, writeUnits float64
	perSecond             map[keySecond]int
	opCount               int
	unfinishedWrites      int     // writes on the unfinished index's keys
	indexUnits            float64 // write units of the index writes
	// prior is each policy's run of the hour before the simulation (a
	// steady state: every policy has run before), read as its previous.
	prior map[string]*snapkeep.Run
}

type keySecond struct {
	key string
	sec int64
}

func newSimStore(s *sim) *simStore {
	return &simStore{memStore: newMemStore(), s: s, perSecond: map[keySecond]int{}, prior: map[string]*snapkeep.Run{}}
}

func (m *simStore) ops() int { return m.opCount }

func itemKB(v any) float64 {
	b, _ := json.Marshal(v)
	return math.Max(1, math.Ceil(float64(len(b))/1024))
}

func (m *simStore) hit(key string) {
	if key == "" {
		return
	}
	m.perSecond[keySecond{key, m.s.now.Unix()}]++
	if strings.HasPrefix(key, "unfinished#") {
		m.unfinishedWrites++
	}
}

// touch counts a run write on the index keys of the run's old and new
// item, and the write units of the index writes: every index of the Runs
// table projects ALL attributes, so a write to an item in an index costs
// the item's size there too (and a key change, the old entry's delete).
func (m *simStore) touch(old *snapkeep.Run, next *snapkeep.Run) {
	for _, f := range []func(r *snapkeep.Run) string{
		func(r *snapkeep.Run) string { return keyOf("unfinished", r.Unfinished) },
		func(r *snapkeep.Run) string { return keyOf("retrying", string(r.RetryClass)) },
		func(r *snapkeep.Run) string { return keyOf("failures-by-class", string(r.ErrorClass)) },
		func(r *snapkeep.Run) string { return keyOf("by-customer", r.CustomerID) },
		func(r *snapkeep.Run) string { return keyOf("by-resource", r.ResourceKey) },
	} {
		n := f(next)
		m.hit(n)
		if n != "" {
			m.indexUnits += itemKB(next)
		}
		if old != nil {
			if o := f(old); o != n && o != "" {
				m.hit(o) // the index deletes the old entry
				m.indexUnits += itemKB(old)
			}
		}
	}
}

func keyOf(index, value string) string {
	if value == "" {
		return ""
	}
	return index + "#" + value
}

func (m *simStore) countCalls(calls []snapkeep.APICall) {
	for i := range calls {
		m.writeUnits += 2 * itemKB(calls[i])
		for _, key := range []string{calls[i].ProviderRequestID, calls[i].FailureHour} {
			if key != "" { // by-request-id and failures-by-hour, both ALL
				m.indexUnits += itemKB(calls[i])
			}
		}
		m.hit(keyOf("failures-by-hour", calls[i].FailureHour))
	}
}

func (m *simStore) Claim(ctx context.Context, run *snapkeep.Run) error {
	m.opCount++
	m.writes++
	m.writeUnits += itemKB(run)
	err := m.memStore.Claim(ctx, run)
	if err == nil {
		m.touch(nil, run)
	}
	return err
}

func (m *simStore) ClaimLocked(ctx context.Context, run *snapkeep.Run, lock snapkeep.Lock) error {
	m.opCount++
	m.writes++
	m.writeUnits += 2 * (itemKB(run) + 1)
	err := m.memStore.ClaimLocked(ctx, run, lock)
	if err == nil {
		m.touch(nil, run)
		m.hit(keyOf("leases", lock.Key))
	}
	return err
}

func (m *simStore) Get(ctx context.Context, key snapkeep.RunKey) (*snapkeep.Run, error) {
	m.opCount++
	m.reads++
	r, err := m.memStore.Get(ctx, key)
	if err == nil {
		m.readUnits += math.Ceil(itemKB(r) / 4)
	} else {
		m.readUnits++
	}
	return r, err
}

func (m *simStore) save(ctx context.Context, prev, next *snapkeep.Run, calls []snapkeep.APICall, lock *snapkeep.Lock) error {
	m.opCount++
	m.writes++
	units := itemKB(next)
	if len(calls) > 0 || lock != nil {
		units *= 2
	}
	m.writeUnits += units
	var err error
	if lock != nil {
		err = m.memStore.SaveLocked(ctx, prev, next, calls, *lock)
	} else {
		err = m.memStore.Save(ctx, prev, next, calls)
	}
	if err == nil {
		m.touch(prev, next)
		m.countCalls(calls)
		if lock != nil {
			m.writeUnits += 2
			m.hit(keyOf("leases", lock.Key))
		}
	}
	return err
}

func (m *simStore) Save(ctx context.Context, prev, next *snapkeep.Run, calls []snapkeep.APICall) error {
	return m.save(ctx, prev, next, calls, nil)
}

func (m *simStore) SaveLocked(ctx context.Context, prev, next *snapkeep.Run, calls []snapkeep.APICall, lock snapkeep.Lock) error {
	return m.save(ctx, prev, next, calls, &lock)
}

func (m *simStore) AppendCalls(ctx context.Context, key snapkeep.RunKey, calls []snapkeep.APICall) error {
	m.opCount += 2
	m.writes += 1 + (len(calls)+24)/25 // the ADD and the BatchWriteItem requests
	m.writeUnits++
	m.countCalls(calls)
	return m.memStore.AppendCalls(ctx, key, calls)
}

func (m *simStore) Previous(ctx context.Context, key snapkeep.RunKey) (*snapkeep.Run, error) {
	m.opCount++
	m.reads++
	m.readUnits += 0.5 * 2 // up to five small items, eventually consistent
	prev, err := m.memStore.Previous(ctx, key)
	if prev == nil && err == nil {
		prev = m.prior[key.PolicyID]
	}
	return prev, err
}

func (m *simStore) DueUnfinished(ctx context.Context, now time.Time, limit int) ([]snapkeep.Run, int, error) {
	m.opCount += snapkeep.UnfinishedShards + 1
	m.reads += snapkeep.UnfinishedShards + 1
	due, q, err := m.memStore.DueUnfinished(ctx, now, limit)
	m.readUnits += 0.5 * float64(snapkeep.UnfinishedShards+1+len(due))
	return due, q, err
}

// all returns every run.
func (m *simStore) all() []snapkeep.Run {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]snapkeep.Run, 0, len(m.runs))
	for _, r := range m.runs {
		out = append(out, r)
	}
	return out
}

// unfinished counts the runs not yet terminal.
func (m *simStore) unfinished() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, r := range m.runs {
		if !r.Status.Terminal() {
			n++
		}
	}
	return n
}

// hottest returns the shared key with the most writes in one minute (and
// that minute's rate per second), and its busiest second.
func (m *simStore) hottest() (key string, perSecond float64, peak int) {
	perMinute := map[keySecond]int{}
	best := map[string]int{}
	for ks, n := range m.perSecond {
		perMinute[keySecond{ks.key, ks.sec / 60}] += n
		best[ks.key] = max(best[ks.key], n)
	}
	var top keySecond
	topN := 0
	keys := make([]keySecond, 0, len(perMinute))
	for ks := range perMinute {
		keys = append(keys, ks)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].key != keys[j].key {
			return keys[i].key < keys[j].key
		}
		return keys[i].sec < keys[j].sec
	})
	for _, ks := range keys {
		if n := perMinute[ks]; n > topN {
			top, topN = ks, n
		}
	}
	return top.key, float64(topN) / 60, best[top.key]
}
