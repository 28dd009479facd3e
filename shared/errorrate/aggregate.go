package errorrate

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Key names one entry of an Aggregate: a dimension and the UTC minute the
// calls started in.
type Key struct {
	// Dimension is "all", "region:<slug>" or "operation:<op>".
	Dimension snapkeep.Dimension
	// Minute is the start of the minute, UTC, without monotonic reading.
	Minute time.Time
}

// String is "dimension@2006-01-02T15:04Z", as errors and logs show a key.
func (k Key) String() string {
	return string(k.Dimension) + "@" + k.Minute.UTC().Format(MinuteFormat)
}

// MinuteFormat is how a minute is written in keys and incident ids.
const MinuteFormat = "2006-01-02T15:04Z"

// Minute returns the start of t's minute in UTC, the form Key.Minute and
// the detector's minutes take.
func Minute(t time.Time) time.Time { return time.Unix(unixMinute(t), 0).UTC() }

// unixMinute is the Unix second that starts t's minute (floor, also before
// 1970).
func unixMinute(t time.Time) int64 {
	s := t.Unix()
	if r := s % 60; r != 0 {
		if r < 0 {
			r += 60
		}
		s -= r
	}
	return s
}

type aggKey struct {
	dim    snapkeep.Dimension
	minute int64 // Unix seconds of the minute's start
}

// Aggregate folds call outcomes into Counts per (dimension, minute). Two
// aggregates merge by adding their counts, so the parts of a stream window
// (a window terminated early goes on in a fresh part; each shard has its
// own) add up to the whole in any order.
// The zero value is not ready: use NewAggregate. Not safe for concurrent use.
type Aggregate struct {
	counts map[aggKey]*Counts
	// Dimension names built once per region and operation, so folding a
	// call allocates nothing for them.
	regions map[string]snapkeep.Dimension
	ops     map[snapkeep.Operation]snapkeep.Dimension
}

// NewAggregate returns an empty aggregate.
func NewAggregate() *Aggregate {
	return &Aggregate{
		counts:  make(map[aggKey]*Counts),
		regions: make(map[string]snapkeep.Dimension),
		ops:     make(map[snapkeep.Operation]snapkeep.Dimension),
	}
}

// Add counts one call in each of its dimensions (see Classify), in the
// minute it started. A call without a start time is refused.
func (a *Aggregate) Add(call *snapkeep.APICall) error {
	if call.StartedAt.IsZero() {
		return fmt.Errorf("count call %s/%d: no started_at", call.RunID, call.Seq)
	}
	o := outcomeOf(call.Class)
	m := unixMinute(call.StartedAt)
	a.record(snapkeep.DimensionAll, m, o, call)
	if labelOK(call.Region) {
		d, ok := a.regions[call.Region]
		if !ok {
			d = snapkeep.RegionDimension(call.Region)
			a.regions[call.Region] = d
		}
		a.record(d, m, o, call)
	}
	if labelOK(string(call.Operation)) {
		d, ok := a.ops[call.Operation]
		if !ok {
			d = snapkeep.OperationDimension(call.Operation)
			a.ops[call.Operation] = d
		}
		a.record(d, m, o, call)
	}
	return nil
}

func (a *Aggregate) record(d snapkeep.Dimension, minute int64, o Outcome, call *snapkeep.APICall) {
	k := aggKey{dim: d, minute: minute}
	c := a.counts[k]
	if c == nil {
		c = &Counts{}
		a.counts[k] = c
	}
	c.Record(o, call.AccountID, call.ResourceKey)
}

// AddCounts adds c to the entry k (e.g. a stored shard's part when
// summing over shards). k.Minute must start a minute and c must be valid.
func (a *Aggregate) AddCounts(k Key, c Counts) error {
	if k.Dimension == "" {
		return errors.New("add counts: empty dimension")
	}
	if !k.Minute.Equal(Minute(k.Minute)) {
		return fmt.Errorf("add counts %s: minute %s does not start a minute", k, k.Minute.Format(time.RFC3339Nano))
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("add counts %s: %w", k, err)
	}
	a.add(aggKey{dim: k.Dimension, minute: k.Minute.Unix()}, c)
	return nil
}

func (a *Aggregate) add(k aggKey, c Counts) {
	if have := a.counts[k]; have != nil {
		have.Add(c)
		return
	}
	c.FailedAccounts = append([]string(nil), c.FailedAccounts...)
	c.FailedResources = append([]string(nil), c.FailedResources...)
	a.counts[k] = &c
}

// Merge adds every entry of b to a; b is not changed and shares nothing
// with a afterwards.
func (a *Aggregate) Merge(b *Aggregate) {
	for k, c := range b.counts {
		a.add(k, *c)
	}
}

// Len is the number of (dimension, minute) entries.
func (a *Aggregate) Len() int { return len(a.counts) }

// Keys returns the entries' keys by dimension, then minute.
func (a *Aggregate) Keys() []Key {
	ks := a.sortedKeys()
	out := make([]Key, len(ks))
	for i, k := range ks {
		out[i] = Key{Dimension: k.dim, Minute: time.Unix(k.minute, 0).UTC()}
	}
	return out
}

func (a *Aggregate) sortedKeys() []aggKey {
	ks := make([]aggKey, 0, len(a.counts))
	for k := range a.counts {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if ks[i].dim != ks[j].dim {
			return ks[i].dim < ks[j].dim
		}
		return ks[i].minute < ks[j].minute
	})
	return ks
}

// Get returns a copy of the entry k's counts (zero when absent).
func (a *Aggregate) Get(k Key) Counts {
	c := a.counts[aggKey{dim: k.Dimension, minute: unixMinute(k.Minute)}]
	if c == nil {
		return Counts{}
	}
	out := *c
	out.FailedAccounts = append([]string(nil), c.FailedAccounts...)
	out.FailedResources = append([]string(nil), c.FailedResources...)
	return out
}

// aggregateVersion is the version of the JSON form.
const aggregateVersion = 1

// wireAggregate is the compact JSON form: entries sorted by dimension and
// minute, short field names, zero counts left out.
type wireAggregate struct {
	Version int         `json:"v"`
	Entries []wireEntry `json:"e"`
}

type wireEntry struct {
	Dimension      snapkeep.Dimension `json:"d"`
	Minute         int64              `json:"t"` // Unix seconds
	Calls          int64              `json:"c"`
	Failures       int64              `json:"f,omitempty"`
	RateLimited    int64              `json:"rl,omitempty"`
	Busy           int64              `json:"b,omitempty"`
	CustomerErrors int64              `json:"ce,omitempty"`
	Other          int64              `json:"o,omitempty"`
	Accounts       []string           `json:"a,omitempty"`
	Resources      []string           `json:"r,omitempty"`
}

// MarshalJSON writes the compact form carried as tumbling-window state:
// {"v":1,"e":[{"d":"all","t":<unix s>,"c":calls,"f":failures,"rl":...,
// "b":...,"ce":...,"o":...,"a":[accounts],"r":[resources]}]}, sorted, so
// equal aggregates encode to equal bytes. Sizes are in the package doc.
func (a *Aggregate) MarshalJSON() ([]byte, error) {
	w := wireAggregate{Version: aggregateVersion, Entries: make([]wireEntry, 0, len(a.counts))}
	for _, k := range a.sortedKeys() {
		c := a.counts[k]
		w.Entries = append(w.Entries, wireEntry{
			Dimension: k.dim, Minute: k.minute, Calls: c.Calls, Failures: c.Failures,
			RateLimited: c.RateLimited, Busy: c.Busy, CustomerErrors: c.CustomerErrors, Other: c.Other,
			Accounts: c.FailedAccounts, Resources: c.FailedResources,
		})
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the compact form, replacing a's entries. It refuses
// an unknown version, an entry without a dimension, a minute that is not
// a whole minute, a repeated key and invalid counts, naming the entry.
func (a *Aggregate) UnmarshalJSON(data []byte) error {
	var w wireAggregate
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("decode aggregate: %w", err)
	}
	if w.Version != aggregateVersion {
		return fmt.Errorf("decode aggregate: version %d, want %d", w.Version, aggregateVersion)
	}
	fresh := NewAggregate()
	for i, e := range w.Entries {
		k := aggKey{dim: e.Dimension, minute: e.Minute}
		c := Counts{Calls: e.Calls, Failures: e.Failures, RateLimited: e.RateLimited, Busy: e.Busy,
			CustomerErrors: e.CustomerErrors, Other: e.Other, FailedAccounts: e.Accounts, FailedResources: e.Resources}
		switch {
		case e.Dimension == "":
			return fmt.Errorf("decode aggregate: entry %d: empty dimension", i)
		case e.Minute%60 != 0:
			return fmt.Errorf("decode aggregate: entry %d (%s): t=%d is not a whole minute", i, e.Dimension, e.Minute)
		case fresh.counts[k] != nil:
			return fmt.Errorf("decode aggregate: entry %d: %s@%d repeated", i, e.Dimension, e.Minute)
		}
		if err := c.Validate(); err != nil {
			return fmt.Errorf("decode aggregate: entry %d (%s@%d): %w", i, e.Dimension, e.Minute, err)
		}
		fresh.counts[k] = &c
	}
	*a = *fresh
	return nil
}
