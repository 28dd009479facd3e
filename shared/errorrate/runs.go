package errorrate

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// MaxImpactCustomers bounds the customers a RunCounts remembers (the
// smallest ids, like Counts' sets): a customers-affected count of this
// value means "this many or more". The escalation report counts them all
// from the Runs failures-by-class index.
const MaxImpactCustomers = MaxEpisodeIDs

// RunCounts counts the runs that reached a terminal status in one window
// (a minute of the Runs stream): the customer-impact signal, beside the
// call counts. ProviderFailed counts the failed and timed-out runs whose
// class is provider-side (snapkeep.ClassInfo.ProviderSide); Customers are
// their customers.
type RunCounts struct {
	Succeeded      int64 `json:"succeeded,omitempty" dynamodbav:"succeeded,omitempty"`
	Failed         int64 `json:"failed,omitempty" dynamodbav:"failed,omitempty"`
	TimedOut       int64 `json:"timed_out,omitempty" dynamodbav:"timed_out,omitempty"`
	Skipped        int64 `json:"skipped,omitempty" dynamodbav:"skipped,omitempty"`
	ProviderFailed int64 `json:"provider_failed,omitempty" dynamodbav:"provider_failed,omitempty"`
	// Customers are the customers of ProviderFailed runs: sorted, distinct,
	// the MaxImpactCustomers smallest.
	Customers []string `json:"customers,omitempty" dynamodbav:"customers,omitempty"`
}

// Record counts one run that has just reached a terminal status; a run in
// any other status is not counted (false).
func (c *RunCounts) Record(run *snapkeep.Run) bool {
	switch run.Status {
	case snapkeep.RunSucceeded:
		c.Succeeded++
	case snapkeep.RunSkipped:
		c.Skipped++
	case snapkeep.RunFailed, snapkeep.RunTimedOut:
		if run.Status == snapkeep.RunFailed {
			c.Failed++
		} else {
			c.TimedOut++
		}
		if run.ErrorClass.Info().ProviderSide {
			c.ProviderFailed++
			c.Customers = insertID(c.Customers, evidenceID(run.CustomerID), MaxImpactCustomers)
		}
	default:
		return false
	}
	return true
}

// Add adds o to c; associative and commutative like Counts.Add.
func (c *RunCounts) Add(o RunCounts) {
	c.Succeeded += o.Succeeded
	c.Failed += o.Failed
	c.TimedOut += o.TimedOut
	c.Skipped += o.Skipped
	c.ProviderFailed += o.ProviderFailed
	c.Customers = unite(c.Customers, o.Customers, MaxImpactCustomers)
}

// Validate says what is wrong with run counts read from outside.
func (c RunCounts) Validate() error {
	switch {
	case c.Succeeded < 0 || c.Failed < 0 || c.TimedOut < 0 || c.Skipped < 0 || c.ProviderFailed < 0:
		return fmt.Errorf("negative run count in %+v", c.numbers())
	case c.ProviderFailed > c.Failed+c.TimedOut:
		return fmt.Errorf("%d provider-side failed runs but only %d failed or timed out", c.ProviderFailed, c.Failed+c.TimedOut)
	case len(c.Customers) > MaxImpactCustomers || int64(len(c.Customers)) > c.ProviderFailed:
		return fmt.Errorf("%d customers for %d provider-side failed runs (at most %d)", len(c.Customers), c.ProviderFailed, MaxImpactCustomers)
	case !sortedDistinct(c.Customers):
		return fmt.Errorf("customers are not sorted and distinct")
	}
	return nil
}

func (c RunCounts) numbers() RunCounts { c.Customers = nil; return c }

// RunAggregate folds terminal runs into RunCounts per UTC minute of their
// FinishedAt, as Aggregate folds calls. The zero value is not ready: use
// NewRunAggregate. Not safe for concurrent use.
type RunAggregate struct {
	counts map[int64]*RunCounts // by the minute's Unix second
}

// NewRunAggregate returns an empty run aggregate.
func NewRunAggregate() *RunAggregate { return &RunAggregate{counts: map[int64]*RunCounts{}} }

// Add counts a run that has just become terminal in the minute it
// finished. A run without FinishedAt, or not terminal, is refused.
func (a *RunAggregate) Add(run *snapkeep.Run) error {
	if run.FinishedAt == nil || run.FinishedAt.IsZero() {
		return fmt.Errorf("count run %s: no finished_at", run.RunID)
	}
	m := unixMinute(*run.FinishedAt)
	c := a.counts[m]
	if c == nil {
		c = &RunCounts{}
	}
	if !c.Record(run) {
		return fmt.Errorf("count run %s: status %q is not terminal", run.RunID, run.Status)
	}
	a.counts[m] = c
	return nil
}

// AddCounts adds c to the minute's entry (a stored part when summing).
func (a *RunAggregate) AddCounts(minute time.Time, c RunCounts) error {
	if !minute.Equal(Minute(minute)) {
		return fmt.Errorf("add run counts: %s does not start a minute", minute.Format(time.RFC3339Nano))
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("add run counts of %s: %w", minute.UTC().Format(MinuteFormat), err)
	}
	m := minute.Unix()
	if have := a.counts[m]; have != nil {
		have.Add(c)
		return nil
	}
	c.Customers = append([]string(nil), c.Customers...)
	a.counts[m] = &c
	return nil
}

// Len is the number of minutes with runs.
func (a *RunAggregate) Len() int { return len(a.counts) }

// Minutes returns the minutes with runs, oldest first.
func (a *RunAggregate) Minutes() []time.Time {
	ms := make([]int64, 0, len(a.counts))
	for m := range a.counts {
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i] < ms[j] })
	out := make([]time.Time, len(ms))
	for i, m := range ms {
		out[i] = time.Unix(m, 0).UTC()
	}
	return out
}

// Get returns a copy of the minute's counts (zero when none).
func (a *RunAggregate) Get(minute time.Time) RunCounts {
	c := a.counts[unixMinute(minute)]
	if c == nil {
		return RunCounts{}
	}
	out := *c
	out.Customers = append([]string(nil), c.Customers...)
	return out
}

// Total sums every minute.
func (a *RunAggregate) Total() RunCounts {
	var t RunCounts
	for _, m := range a.Minutes() {
		t.Add(*a.counts[m.Unix()])
	}
	return t
}

type wireRuns struct {
	Version int           `json:"v"`
	Entries []wireRunsRow `json:"e"`
}

type wireRunsRow struct {
	Minute int64 `json:"t"`
	RunCounts
}

// MarshalJSON writes {"v":1,"e":[{"t":<unix s>,"succeeded":..,...}]},
// sorted by minute, as a stream window carries it in its state.
func (a *RunAggregate) MarshalJSON() ([]byte, error) {
	w := wireRuns{Version: aggregateVersion, Entries: make([]wireRunsRow, 0, len(a.counts))}
	for _, m := range a.Minutes() {
		w.Entries = append(w.Entries, wireRunsRow{Minute: m.Unix(), RunCounts: *a.counts[m.Unix()]})
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the form MarshalJSON writes, refusing an unknown
// version, a minute that is not whole, a repeated minute or invalid counts.
func (a *RunAggregate) UnmarshalJSON(data []byte) error {
	var w wireRuns
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("decode run aggregate: %w", err)
	}
	if w.Version != aggregateVersion {
		return fmt.Errorf("decode run aggregate: version %d, want %d", w.Version, aggregateVersion)
	}
	fresh := NewRunAggregate()
	for i, e := range w.Entries {
		switch {
		case e.Minute%60 != 0:
			return fmt.Errorf("decode run aggregate: entry %d: t=%d is not a whole minute", i, e.Minute)
		case fresh.counts[e.Minute] != nil:
			return fmt.Errorf("decode run aggregate: entry %d: minute %d repeated", i, e.Minute)
		}
		if err := e.RunCounts.Validate(); err != nil {
			return fmt.Errorf("decode run aggregate: entry %d: %w", i, err)
		}
		c := e.RunCounts
		fresh.counts[e.Minute] = &c
	}
	*a = *fresh
	return nil
}
