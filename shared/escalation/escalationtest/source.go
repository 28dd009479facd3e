// Package escalationtest provides an in-memory escalation.Source that
// keeps the same indexes as the DynamoDB tables (per-minute Stats, the
// ApiCalls failures-by-hour index, the Runs by-resource and
// failures-by-class indexes), a realistic incident fixture and a
// synthetic generator for benchmarks.
package escalationtest

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Source is an in-memory escalation.Source. Its queries cost what an index
// Query costs: a lookup and a copy of the matching items (as decoding
// them would), never a walk over everything. Not safe for concurrent
// writes; fill it, then read.
type Source struct {
	start   time.Time
	minutes int
	stats   map[snapkeep.Dimension][]escalation.CallCounts
	runs    []escalation.RunCounts
	// failedByHour is the failures-by-hour index, byResource and
	// failedByClass the Runs indexes.
	failedByHour  map[string][]snapkeep.APICall
	byResource    map[string][]snapkeep.Run
	failedByClass map[snapkeep.ErrorClass][]snapkeep.Run
	dirty         bool
}

var _ escalation.Source = (*Source)(nil)

// NewSource returns an empty source whose per-minute counts cover [from, to).
func NewSource(from, to time.Time) *Source {
	from = from.UTC().Truncate(time.Minute)
	n := int(to.Sub(from) / time.Minute)
	return &Source{start: from, minutes: n,
		stats:         map[snapkeep.Dimension][]escalation.CallCounts{},
		runs:          make([]escalation.RunCounts, n),
		failedByHour:  map[string][]snapkeep.APICall{},
		byResource:    map[string][]snapkeep.Run{},
		failedByClass: map[snapkeep.ErrorClass][]snapkeep.Run{},
	}
}

// minute returns t's index in the per-minute counts, or -1 outside them.
func (s *Source) minute(t time.Time) int {
	i := int(t.Sub(s.start) / time.Minute)
	if t.Before(s.start) || i >= s.minutes {
		return -1
	}
	return i
}

// count adds c to the minute of at in the dimensions of (region, op).
func (s *Source) count(at time.Time, region string, op snapkeep.Operation, c escalation.CallCounts) {
	m := s.minute(at)
	if m < 0 {
		return
	}
	for _, dim := range []snapkeep.Dimension{snapkeep.DimensionAll, snapkeep.RegionDimension(region), snapkeep.OperationDimension(op)} {
		row := s.stats[dim]
		if row == nil {
			row = make([]escalation.CallCounts, s.minutes)
			s.stats[dim] = row
		}
		row[m] = row[m].Add(c)
	}
}

// CountCalls counts n successful calls of op in region at at (they are
// not stored: the failures-by-hour index holds failed calls only).
func (s *Source) CountCalls(at time.Time, region string, op snapkeep.Operation, n int) {
	s.count(at, region, op, escalation.CallCounts{Calls: int64(n)})
}

// AddCall counts c by its class and, when it failed, stores it in the
// failures-by-hour index (FailureHour is set from StartedAt if empty).
func (s *Source) AddCall(c snapkeep.APICall) { s.addCall(c, 1) }

// AddFailure is AddCall for a failed call already counted as one of
// CountCalls's calls: it counts only the failure.
func (s *Source) AddFailure(c snapkeep.APICall) { s.addCall(c, 0) }

func (s *Source) addCall(c snapkeep.APICall, calls int64) {
	counts := escalation.CallCounts{Calls: calls}
	switch {
	case c.Class == "":
	case c.Class.Info().ProviderSide:
		counts.ProviderFailures = 1
	case c.Class == snapkeep.ClassRateLimited:
		counts.RateLimited = 1
	case c.Class == snapkeep.ClassResourceBusy:
		counts.Busy = 1
	case c.Class.Info().CustomerAction != "":
		counts.Customer4xx = 1
	}
	s.count(c.StartedAt, c.Region, c.Operation, counts)
	if !c.Failed() && c.Class == "" {
		return
	}
	if c.FailureHour == "" {
		c.FailureHour = c.StartedAt.UTC().Format(snapkeep.FailureHourFormat)
	}
	s.failedByHour[c.FailureHour] = append(s.failedByHour[c.FailureHour], c)
	s.dirty = true
}

// AddRun stores r in the by-resource index and, when it failed or timed
// out with a class, in the failures-by-class index; a terminal run is
// counted at its FinishedAt.
func (s *Source) AddRun(r snapkeep.Run) {
	if r.RunID == "" {
		r.RunID = r.Key().RunID()
	}
	if r.ResourceKey == "" {
		r.ResourceKey = r.Resource.Key()
	}
	s.byResource[r.ResourceKey] = append(s.byResource[r.ResourceKey], r)
	if r.ErrorClass != "" && r.FinishedAt != nil && (r.Status == snapkeep.RunFailed || r.Status == snapkeep.RunTimedOut) {
		s.failedByClass[r.ErrorClass] = append(s.failedByClass[r.ErrorClass], r)
	}
	if r.FinishedAt != nil {
		s.CountRuns(*r.FinishedAt, r.Status, 1)
	}
	s.dirty = true
}

// CountRuns counts n runs that reached status at at, without storing them.
func (s *Source) CountRuns(at time.Time, status snapkeep.RunStatus, n int) {
	m := s.minute(at)
	if m < 0 {
		return
	}
	switch status {
	case snapkeep.RunSucceeded:
		s.runs[m].Succeeded += int64(n)
	case snapkeep.RunFailed:
		s.runs[m].Failed += int64(n)
	case snapkeep.RunTimedOut:
		s.runs[m].TimedOut += int64(n)
	case snapkeep.RunSkipped:
		s.runs[m].Skipped += int64(n)
	}
}

// sortIndexes orders every index by its sort key, once after writes.
func (s *Source) sortIndexes() {
	if !s.dirty {
		return
	}
	for _, calls := range s.failedByHour {
		sort.SliceStable(calls, func(i, j int) bool { return calls[i].StartedAt.Before(calls[j].StartedAt) })
	}
	for _, runs := range s.byResource {
		sort.SliceStable(runs, func(i, j int) bool { return runs[i].ScheduledAt.Before(runs[j].ScheduledAt) })
	}
	for _, runs := range s.failedByClass {
		sort.SliceStable(runs, func(i, j int) bool { return runs[i].FinishedAt.Before(*runs[j].FinishedAt) })
	}
	s.dirty = false
}

// DailyCounts sums the per-minute counts of each UTC day in [from, to)
// that is over by the end of the counts (the source's now), as the
// detector's daily roll-ups do: it writes a day's roll-up only once the
// day is over, so the day in progress has none. Days without calls are
// left out.
func (s *Source) DailyCounts(ctx context.Context, dim snapkeep.Dimension, from, to time.Time) ([]escalation.DayCounts, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	end := s.start.Add(time.Duration(s.minutes) * time.Minute)
	var out []escalation.DayCounts
	for day := from.UTC(); day.Before(to) && !day.AddDate(0, 0, 1).After(end); day = day.AddDate(0, 0, 1) {
		c, _ := s.WindowCounts(ctx, dim, day, day.AddDate(0, 0, 1))
		if c.Calls > 0 {
			out = append(out, escalation.DayCounts{Day: day, CallCounts: c})
		}
	}
	return out, nil
}

// WindowCounts sums dim's per-minute counts over [from, to).
func (s *Source) WindowCounts(ctx context.Context, dim snapkeep.Dimension, from, to time.Time) (escalation.CallCounts, error) {
	if err := ctx.Err(); err != nil {
		return escalation.CallCounts{}, err
	}
	var sum escalation.CallCounts
	row := s.stats[dim]
	for i, end := s.clamp(from, to); i < end && row != nil; i++ {
		sum = sum.Add(row[i])
	}
	return sum, nil
}

// TerminalRuns sums the per-minute run counts over [from, to).
func (s *Source) TerminalRuns(ctx context.Context, from, to time.Time) (escalation.RunCounts, error) {
	if err := ctx.Err(); err != nil {
		return escalation.RunCounts{}, err
	}
	var sum escalation.RunCounts
	for i, end := s.clamp(from, to); i < end; i++ {
		r := s.runs[i]
		sum.Succeeded += r.Succeeded
		sum.Failed += r.Failed
		sum.TimedOut += r.TimedOut
		sum.Skipped += r.Skipped
	}
	return sum, nil
}

// clamp returns the minute indexes of [from, to) within the counts.
func (s *Source) clamp(from, to time.Time) (int, int) {
	i := int(from.Sub(s.start) / time.Minute)
	j := int((to.Sub(s.start) + time.Minute - 1) / time.Minute)
	return max(i, 0), min(j, s.minutes)
}

// FailedCalls returns a copy of one hour of the failures-by-hour index.
func (s *Source) FailedCalls(ctx context.Context, hour string) ([]snapkeep.APICall, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := time.Parse(snapkeep.FailureHourFormat, hour); err != nil {
		return nil, fmt.Errorf("failed calls: hour %q: want %s: %w", hour, snapkeep.FailureHourFormat, snapkeep.ErrInvalid)
	}
	s.sortIndexes()
	return append([]snapkeep.APICall(nil), s.failedByHour[hour]...), nil
}

// ResourceRuns returns a copy of the resource's runs scheduled in [from, to).
func (s *Source) ResourceRuns(ctx context.Context, resourceKey string, from, to time.Time) ([]snapkeep.Run, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.sortIndexes()
	runs := s.byResource[resourceKey]
	i := sort.Search(len(runs), func(i int) bool { return !runs[i].ScheduledAt.Before(from) })
	j := sort.Search(len(runs), func(i int) bool { return !runs[i].ScheduledAt.Before(to) })
	return append([]snapkeep.Run(nil), runs[i:j]...), nil
}

// FailedRuns returns a copy of class's failed runs finished in [from, to).
func (s *Source) FailedRuns(ctx context.Context, class snapkeep.ErrorClass, from, to time.Time) ([]snapkeep.Run, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.sortIndexes()
	runs := s.failedByClass[class]
	i := sort.Search(len(runs), func(i int) bool { return !runs[i].FinishedAt.Before(from) })
	j := sort.Search(len(runs), func(i int) bool { return !runs[i].FinishedAt.Before(to) })
	return append([]snapkeep.Run(nil), runs[i:j]...), nil
}
