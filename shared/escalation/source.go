package escalation

import (
	"context"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// The readers Build gathers through. Each method is one index read (a
// DynamoDB Query, paged), never a table scan: the adapter over DynamoDB
// implements them against the Stats roll-ups, the ApiCalls
// failures-by-hour index and the Runs by-resource and failures-by-class
// indexes. Ranges are half-open, [from, to), UTC.

// StatsReader reads the Stats table's counts (summed over shards), which
// are what makes the 30-day part of the report cheap: one item per day.
type StatsReader interface {
	// DailyCounts returns dim's call counts for each UTC day in [from, to),
	// from the daily roll-ups; days without traffic may be missing, and
	// so are the day in progress and any day the detector has not rolled
	// up yet (Build counts such window days through WindowCounts).
	DailyCounts(ctx context.Context, dim snapkeep.Dimension, from, to time.Time) ([]DayCounts, error)
	// WindowCounts returns dim's call counts over [from, to) from the
	// per-minute rows: the sum of every minute the range touches. Build
	// reads it once per UTC day of the window, and for the rest of a day
	// not rolled up yet in whole minutes beside the window's.
	WindowCounts(ctx context.Context, dim snapkeep.Dimension, from, to time.Time) (CallCounts, error)
	// TerminalRuns returns the runs that reached a terminal status in
	// [from, to), all customers, from the per-minute run counts.
	TerminalRuns(ctx context.Context, from, to time.Time) (RunCounts, error)
}

// CallReader reads the ApiCalls table's sparse failures-by-hour index.
type CallReader interface {
	// FailedCalls returns every failed call (status 400 or more, or no
	// response) that started in hour, as snapkeep.FailureHourFormat
	// ("2026-11-24T06"), oldest first.
	FailedCalls(ctx context.Context, hour string) ([]snapkeep.APICall, error)
}

// RunReader reads the Runs table's indexes.
type RunReader interface {
	// ResourceRuns returns the runs of resourceKey (e.g. "droplet:3164444")
	// scheduled in [from, to), oldest first (by-resource index).
	ResourceRuns(ctx context.Context, resourceKey string, from, to time.Time) ([]snapkeep.Run, error)
	// FailedRuns returns the runs that ended failed or timed out with class
	// and finished in [from, to), oldest first (sparse failures-by-class
	// index).
	FailedRuns(ctx context.Context, class snapkeep.ErrorClass, from, to time.Time) ([]snapkeep.Run, error)
}

// Source is everything Build reads.
type Source interface {
	StatsReader
	CallReader
	RunReader
}
