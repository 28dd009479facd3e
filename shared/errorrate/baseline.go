package errorrate

import (
	"math"
	"sort"
	"time"
)

// Baseline is a dimension's normal failure rate and traffic, from the
// daily roll-ups of the last 7-30 days (Params.Baseline).
type Baseline struct {
	// Rate is p0, the rate the detector tests against: Measured, but at
	// least Params.Floor.
	Rate float64 `json:"rate"`
	// Measured is the pooled failure rate of the days, the worst
	// Params.TrimDays fraction of days left out (0 with fewer than
	// Params.MinBaselineDays days of traffic).
	Measured float64 `json:"measured"`
	// CallsPerHour is the dimension's mean traffic over all the days; a
	// new State starts its Traffic from it.
	CallsPerHour float64 `json:"calls_per_hour"`
	// Days is how many days with traffic there were.
	Days int `json:"days"`
	// FromHistory is true when the baseline came from the detector's own
	// History rather than the roll-ups given to Step.
	FromHistory bool `json:"from_history,omitempty"`
}

// Baseline computes a dimension's baseline from its daily roll-ups (one
// Counts per UTC day, any order; days without calls are ignored). The rate
// pools calls and failures over the days after leaving out the
// ceil(TrimDays × days) days with the highest rates, so that one incident
// day in the history does not make the next incident look normal; it is
// raised to Floor, so a perfectly clean history does not turn every
// failure into an alarm. With fewer than MinBaselineDays days the rate is
// Floor.
func (p Params) Baseline(days []Counts) Baseline {
	var b Baseline
	var used []Counts
	var calls int64
	for _, d := range days {
		if d.Calls > 0 {
			used = append(used, d)
			calls += d.Calls
		}
	}
	b.Days = len(used)
	if b.Days > 0 {
		b.CallsPerHour = float64(calls) / float64(24*b.Days)
	}
	if b.Days >= p.MinBaselineDays {
		sort.SliceStable(used, func(i, j int) bool { return used[i].Rate() < used[j].Rate() })
		keep := b.Days - int(math.Ceil(p.TrimDays*float64(b.Days)))
		var c, f int64
		for _, d := range used[:max(keep, 1)] {
			c += d.Calls
			f += d.Failures
		}
		b.Measured = float64(f) / float64(c)
	}
	b.Rate = math.Max(b.Measured, p.Floor)
	return b
}

// Day is one UTC day of the detector's own roll-up (State.History).
type Day struct {
	// Start is the day's midnight, UTC.
	Start time.Time `json:"start"`
	// Calls and Failures are the calls and failures the statistic
	// weighed (each failing resource once a minute, chronic ones out).
	Calls    int64 `json:"calls"`
	Failures int64 `json:"failures,omitempty"`
}

// MaxHistoryDays is how many complete days State.History keeps.
const MaxHistoryDays = 30

// rollover starts m's day in s.Today when it is a new day: the finished
// day joins the history (days older than MaxHistoryDays drop out) and the
// learned baseline is recomputed from it.
func (p Params) rollover(s *State, m time.Time) {
	day := m.Truncate(24 * time.Hour)
	if s.Today.Start.Equal(day) {
		return
	}
	h := make([]Day, 0, MaxHistoryDays+1)
	for _, d := range s.History {
		if day.Sub(d.Start) <= MaxHistoryDays*24*time.Hour {
			h = append(h, d)
		}
	}
	if !s.Today.Start.IsZero() && s.Today.Calls > 0 {
		h = append(h, s.Today)
	}
	s.History = h[max(0, len(h)-MaxHistoryDays):]
	s.Today = Day{Start: day}
	days := make([]Counts, len(s.History))
	for i, d := range s.History {
		days[i] = Counts{Calls: d.Calls, Failures: d.Failures}
	}
	s.Learned = p.Baseline(days)
	s.Learned.FromHistory = s.Learned.Days >= p.MinBaselineDays
}

// baselineOf is the baseline Step tests against: the learned one once the
// history has MinBaselineDays days with calls, else the given one.
func baselineOf(s State, given Baseline) Baseline {
	if s.Learned.FromHistory {
		return s.Learned
	}
	return given
}

// Threshold is the alarm threshold h at a traffic of callsPerHour (the
// dimension's recent traffic, State.Traffic): H at RefCallsPerHour and
// below, HPerDecade more for every tenfold traffic above it. More calls an
// hour mean more chances an hour for a chance cluster of failures; the
// CUSUM's false alarms come about e^h observations apart, so raising h by
// ln(10) ≈ 2.3 per decade of traffic keeps them about as rare per day at
// every volume and every hour of the daily cycle.
func (p Params) Threshold(callsPerHour float64) float64 {
	return p.H + p.HPerDecade*math.Log10(math.Max(1, callsPerHour/p.RefCallsPerHour))
}

// maxP0 bounds the baseline rate tested against, so that p1 stays below 1
// in a dimension that is mostly failing anyway.
const maxP0 = 0.45

// rates returns p0 and p1 for a baseline, and the log-likelihood ratio's
// per-failure gain ln(p1/p0) > 0 and per-success loss ln((1-p1)/(1-p0)) < 0.
// p1 is K·p0, but at most MaxP1 (or 2·p0 when that is more, for a baseline
// already near MaxP1).
func (p Params) rates(b Baseline) (p0, p1, gain, loss float64) {
	p0 = math.Min(math.Max(b.Rate, p.Floor), maxP0)
	p1 = math.Min(p.K*p0, math.Max(p.MaxP1, 2*p0))
	return p0, p1, math.Log(p1 / p0), math.Log((1 - p1) / (1 - p0))
}
