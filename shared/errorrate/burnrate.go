package errorrate

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// BurnRule is Google SRE's multi-window, multi-burn-rate alert (The Site
// Reliability Workbook, "Alerting on SLOs"), kept beside the CUSUM
// detector over the same minute counts as the comparison baseline: it
// fires while, for some window pair, both the long and the short window
// burn the error budget (1 - SLO) at least Factor times as fast as
// allowed. It estimates no change point.
type BurnRule struct {
	// SLO is the success objective, e.g. 0.999.
	SLO float64
	// Windows are the (long, short, factor) pairs; any burning pair fires.
	Windows []BurnWindow
	// MinCalls is the quiet-hours floor: a long window with fewer calls
	// never fires.
	MinCalls int64
}

// BurnWindow is one pair of a BurnRule.
type BurnWindow struct {
	// Long and Short are the two windows, whole minutes, both ending with
	// the minute stepped.
	Long, Short time.Duration
	// Factor is the burn rate both must reach: their failure rate at least
	// Factor × (1 - SLO).
	Factor float64
}

// DefaultBurnRule is the workbook's paging rule for a 99.9% SLO: 1h and 5m
// at 14.4× (2% of a 30-day budget in an hour), or 6h and 30m at 6× (5% in
// six hours), with the detector's quiet-hours floor.
func DefaultBurnRule() BurnRule {
	return BurnRule{
		SLO: 0.999,
		Windows: []BurnWindow{
			{Long: time.Hour, Short: 5 * time.Minute, Factor: 14.4},
			{Long: 6 * time.Hour, Short: 30 * time.Minute, Factor: 6},
		},
		MinCalls: DefaultParams().MinCalls,
	}
}

// Validate says what is wrong with the rule.
func (r BurnRule) Validate() error {
	if r.SLO <= 0 || r.SLO >= 1 {
		return fmt.Errorf("burn rule: SLO %v must be in (0, 1)", r.SLO)
	}
	if len(r.Windows) == 0 {
		return errors.New("burn rule: no windows")
	}
	for i, w := range r.Windows {
		if w.Short < time.Minute || w.Long < w.Short || w.Long%time.Minute != 0 || w.Short%time.Minute != 0 || w.Factor <= 0 {
			return fmt.Errorf("burn rule: window %d (%v/%v at %v×): need whole minutes, 1m <= short <= long, factor > 0", i, w.Long, w.Short, w.Factor)
		}
	}
	return nil
}

// BurnState is the rule's state for one dimension: the last minutes'
// calls and failures (a ring as long as the longest window), stored
// between evaluations like State.
type BurnState struct {
	// Dimension is the dimension watched.
	Dimension snapkeep.Dimension `json:"dimension"`
	// Minute is the last minute stepped.
	Minute time.Time `json:"minute,omitzero"`
	// Calls and Failures are per minute, indexed by Unix minute modulo
	// their length (360 for the default rule: about 2 KB of JSON).
	Calls    []int32 `json:"calls,omitempty"`
	Failures []int32 `json:"failures,omitempty"`
	// Firing and OpenedAt as in State.
	Firing   bool      `json:"firing,omitempty"`
	OpenedAt time.Time `json:"opened_at,omitzero"`
}

// ringMinutes is the length of the ring: the longest window.
func (r BurnRule) ringMinutes() int {
	n := 1
	for _, w := range r.Windows {
		n = max(n, int(w.Long/time.Minute))
	}
	return n
}

// Step advances the rule by one minute, like Params.Step: pure, minutes in
// order, a repeated minute skipped. The decision's Rate, Calls and
// Failures are the first burning pair's long window (else the first
// pair's); BaselineRate is the error budget 1 - SLO.
func (r BurnRule) Step(s BurnState, c Counts, minute time.Time) (BurnState, Decision) {
	m := Minute(minute)
	d := Decision{Dimension: s.Dimension, Detector: DetectorBurnRate, Minute: m, At: m.Add(time.Minute),
		BaselineRate: 1 - r.SLO}
	if !s.Minute.IsZero() && !m.After(s.Minute) {
		d.Firing, d.OpenedAt, d.StartedAt = s.Firing, s.OpenedAt, s.OpenedAt
		d.Skipped = fmt.Sprintf("minute %s already evaluated", m.Format(MinuteFormat))
		return s, d
	}
	n := r.ringMinutes()
	calls, fails := make([]int32, n), make([]int32, n)
	if len(s.Calls) == n && len(s.Failures) == n && !s.Minute.IsZero() {
		copy(calls, s.Calls)
		copy(fails, s.Failures)
		for t := s.Minute.Add(time.Minute); t.Before(m) && m.Sub(t) < time.Duration(n)*time.Minute; t = t.Add(time.Minute) {
			i := ringIndex(t, n)
			calls[i], fails[i] = 0, 0
		}
		if m.Sub(s.Minute) >= time.Duration(n)*time.Minute {
			clear(calls)
			clear(fails)
		}
	}
	i := ringIndex(m, n)
	calls[i], fails[i] = clamp32(c.Calls), clamp32(c.Failures)
	s.Calls, s.Failures, s.Minute = calls, fails, m
	burning := false
	for k, w := range r.Windows {
		lc, lf := windowSum(calls, fails, m, w.Long)
		sc, sf := windowSum(calls, fails, m, w.Short)
		limit := w.Factor * (1 - r.SLO)
		hot := lc >= r.MinCalls && lc > 0 && sc > 0 &&
			float64(lf) >= limit*float64(lc) && float64(sf) >= limit*float64(sc)
		if k == 0 || (hot && !burning) {
			d.Calls, d.Failures = lc, lf
		}
		burning = burning || hot
	}
	if d.Calls > 0 {
		d.Rate = float64(d.Failures) / float64(d.Calls)
	}
	d.PeakRate = d.Rate
	switch {
	case burning && !s.Firing:
		s.Firing, s.OpenedAt, d.Action = true, d.At, ActionFire
	case !burning && s.Firing:
		d.OpenedAt, d.StartedAt = s.OpenedAt, s.OpenedAt
		s.Firing, s.OpenedAt, d.Action, d.Reason = false, time.Time{}, ActionResolve, ReasonRecovered
	}
	d.Firing = s.Firing
	if s.Firing {
		d.OpenedAt, d.StartedAt = s.OpenedAt, s.OpenedAt
	}
	return s, d
}

func ringIndex(t time.Time, n int) int {
	i := int((t.Unix() / 60) % int64(n))
	if i < 0 {
		i += n
	}
	return i
}

// windowSum sums the ring over the window of length w ending with minute m.
func windowSum(calls, fails []int32, m time.Time, w time.Duration) (c, f int64) {
	n := len(calls)
	k := int(w / time.Minute)
	i := ringIndex(m, n)
	for j := 0; j < k; j++ {
		c += int64(calls[i])
		f += int64(fails[i])
		if i--; i < 0 {
			i = n - 1
		}
	}
	return c, f
}

// clamp32 stores a minute's count in the ring (a minute never has 2^31
// calls; the clamp only keeps a corrupt count from wrapping).
func clamp32(v int64) int32 { return int32(min(max(v, 0), math.MaxInt32)) }
