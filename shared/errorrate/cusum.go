package errorrate

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Detector names, as snapkeep.Incident.Detector records them.
const (
	DetectorCUSUM    = "cusum"
	DetectorBurnRate = "burn_rate"
	DetectorSilence  = "silence"
)

// Action is what a detector step asks of the incident lifecycle.
type Action string

// Actions.
const (
	// ActionNone: nothing changes (the dimension is quiet, watched, held
	// by the guard, or still firing).
	ActionNone Action = ""
	// ActionFire: open an incident (alert ops once).
	ActionFire Action = "fire"
	// ActionResolve: resolve the open incident (tell ops once).
	ActionResolve Action = "resolve"
)

// Resolution reasons (Decision.Reason with ActionResolve).
const (
	ReasonRecovered      = "recovered"
	ReasonTrafficStopped = "traffic_stopped"
)

// MaxEpisodeIDs bounds the accounts and resources an episode remembers
// (the smallest ids, like Counts); AffectedAccounts and AffectedResources
// of this value mean "this many or more".
const MaxEpisodeIDs = 64

// State is the CUSUM detector's state for one dimension, stored between
// minute evaluations (JSON: about 2 KB with a month of history; at most
// about 12 KB with full id sets). The zero value (with its Dimension set) is a new
// dimension. Step never changes the State it is given.
type State struct {
	// Dimension is the dimension watched.
	Dimension snapkeep.Dimension `json:"dimension"`
	// Minute is the last minute stepped (zero before the first): a minute
	// not after it is not stepped again, so a repeated evaluation changes
	// nothing.
	Minute time.Time `json:"minute,omitzero"`
	// LastCall is the last minute that had calls.
	LastCall time.Time `json:"last_call,omitzero"`
	// Traffic is the recent traffic in calls an hour (an exponential
	// average over Params.TrafficMinutes), which sets the threshold.
	Traffic float64 `json:"traffic,omitempty"`
	// S is the CUSUM statistic (0 while nothing is unusual).
	S float64 `json:"s,omitempty"`
	// Firing is true from the alarm to the resolution.
	Firing bool `json:"firing,omitempty"`
	// OpenedAt is the alarm time while firing.
	OpenedAt time.Time `json:"opened_at,omitzero"`
	// Recovery is the recovery statistic while firing (the same
	// likelihood ratio, reversed: evidence the rate is back to p0), and
	// RecoverySince the minute it last left zero.
	Recovery      float64   `json:"recovery,omitempty"`
	RecoverySince time.Time `json:"recovery_since,omitzero"`
	// Episode accumulates the counts since the change point.
	Episode Episode `json:"episode,omitzero"`
	// Sources are the recently failing resources, for chronic ones.
	Sources []Source `json:"sources,omitempty"`
	// Today and History are the detector's own daily roll-up of the
	// calls and failures it counted (chronic resources and firing minutes
	// left out): the current day so far, and the last MaxHistoryDays
	// complete days with calls. Learned is the baseline computed from
	// History at the start of each day; once it covers MinBaselineDays
	// days it replaces the baseline given to Step, so that one
	// customer's broken droplet cannot raise the baseline and blind the
	// detector.
	Today   Day      `json:"today,omitzero"`
	History []Day    `json:"history,omitempty"`
	Learned Baseline `json:"learned,omitzero"`
}

// Episode is what happened since the statistic last left zero (the
// estimated change point), through an incident to its resolution.
type Episode struct {
	// Start is the change point: the minute the statistic left zero.
	Start time.Time `json:"start,omitzero"`
	// Calls and Failures count every call and provider-side failure since
	// Start (chronic resources included: these are the raw figures ops
	// compares with the baseline).
	Calls    int64 `json:"calls,omitempty"`
	Failures int64 `json:"failures,omitempty"`
	// Accounts and Resources are those with failures since Start, the
	// MaxEpisodeIDs smallest.
	Accounts  []string `json:"accounts,omitempty"`
	Resources []string `json:"resources,omitempty"`
	// Peak is the highest rate of a completed PeakWindow with at least
	// MinCalls calls; Bucket* count the current window.
	Peak           float64   `json:"peak,omitempty"`
	BucketStart    time.Time `json:"bucket_start,omitzero"`
	BucketCalls    int64     `json:"bucket_calls,omitempty"`
	BucketFailures int64     `json:"bucket_failures,omitempty"`
}

// Source is a resource that failed recently.
type Source struct {
	// Resource is the resource's id as Counts.FailedResources has it.
	Resource string `json:"r"`
	// Minutes counts the distinct minutes it failed in while tracked.
	Minutes int `json:"m"`
	// Counted is how many of those minutes the current episode's
	// statistic counted (taken back if it turns chronic).
	Counted int `json:"n,omitempty"`
	// Last is the last minute it failed in.
	Last time.Time `json:"last"`
}

// Decision is the outcome of one detector step for one dimension, with
// the figures an incident is made of.
type Decision struct {
	// Dimension is the state's dimension.
	Dimension snapkeep.Dimension
	// Detector is DetectorCUSUM or DetectorBurnRate.
	Detector string
	// Minute is the minute evaluated; At its end, when its counts were
	// complete: the alarm or resolution time.
	Minute, At time.Time
	// Action is what changes; Firing whether the dimension is firing
	// after the step.
	Action Action
	Firing bool
	// Reason is why it resolved (ReasonRecovered, ReasonTrafficStopped);
	// Held why the statistic is over the threshold but no alarm was
	// raised (the evidence guard or the quiet-hours floor); Skipped why
	// the minute was not stepped (already evaluated).
	Reason, Held, Skipped string
	// Statistic and Threshold are the CUSUM statistic and h after the
	// step; Recovery the recovery statistic while firing.
	Statistic, Threshold, Recovery float64
	// StartedAt is the estimated change point (zero when the statistic is
	// at zero), OpenedAt the alarm time (zero unless firing or resolved).
	StartedAt, OpenedAt time.Time
	// BaselineRate is p0; Rate the failure rate since StartedAt; PeakRate
	// the highest PeakWindow rate since then (at least Rate).
	BaselineRate, Rate, PeakRate float64
	// Calls and Failures since StartedAt.
	Calls, Failures int64
	// AffectedAccounts and AffectedResources: distinct, with provider-side
	// failures since StartedAt (MaxEpisodeIDs means that many or more).
	AffectedAccounts, AffectedResources int
}

// Step advances a dimension's detector by one minute: s is its state after
// the previous minute, c the minute's counts (zero for a minute without
// calls), b the dimension's baseline from the roll-ups (used until the
// state's own History covers MinBaselineDays days) and minute the minute
// the counts are of (any time within it). Minutes must come in order; skipped minutes
// count as minutes without calls. A minute not after s.Minute is not
// stepped again: s comes back unchanged with Decision.Skipped set. Step is
// pure: the same arguments give the same result, and s is not changed.
func (p Params) Step(s State, c Counts, b Baseline, minute time.Time) (State, Decision) {
	m := Minute(minute)
	if !s.Minute.IsZero() && !m.After(s.Minute) {
		d := p.decision(s, baselineOf(s, b), m)
		d.Skipped = fmt.Sprintf("minute %s already evaluated (state is at %s)", m.Format(MinuteFormat), s.Minute.Format(MinuteFormat))
		return s, d
	}
	s = s.clone()
	p.rollover(&s, m)
	b = baselineOf(s, b)
	s.Traffic = p.traffic(s, c, b, m)
	s.Minute = m
	if c.Calls > 0 {
		s.LastCall = m
	}
	s.forgetSources(m, p.ChronicForget)
	_, _, gain, loss := p.rates(b)
	h := p.Threshold(s.Traffic)
	chronic := s.chronic(p)
	x, n := effective(c, chronic)
	if s.Firing {
		return p.stepFiring(s, c, b, m, p.recoveryLLR(s.Episode, b, x, n), h)
	}
	llr := float64(x)*gain + float64(n-x)*loss
	s.Today.Calls += n
	s.Today.Failures += x
	return p.stepWatching(s, c, b, m, stepInput{llr: llr, gain: gain, h: h, chronic: chronic})
}

// traffic is the traffic average after minute m: a new state starts from
// the baseline's mean, and skipped minutes count as minutes without calls.
func (p Params) traffic(s State, c Counts, b Baseline, m time.Time) float64 {
	keep := math.Exp(-1 / float64(p.TrafficMinutes))
	t := s.Traffic
	if s.Minute.IsZero() {
		t = b.CallsPerHour
	} else if gap := int(m.Sub(s.Minute)/time.Minute) - 1; gap > 0 {
		t *= math.Pow(keep, float64(gap))
	}
	return keep*t + (1-keep)*60*float64(c.Calls)
}

// recoveryLLR is a minute's evidence that the rate is back at p0 rather
// than still at the incident's: the log-likelihood ratio of p0 against
// pr, the episode's own rate kept between 2·p0 and p1 (so a mild incident
// must get well below its own rate, and a severe one at least below p1's
// break-even rate, before it resolves).
func (p Params) recoveryLLR(e Episode, b Baseline, x, n int64) float64 {
	p0, p1, _, _ := p.rates(b)
	pr := p1
	if e.Calls > 0 {
		pr = math.Min(math.Max(float64(e.Failures)/float64(e.Calls), 2*p0), p1)
	}
	return float64(x)*math.Log(p0/pr) + float64(n-x)*math.Log((1-p0)/(1-pr))
}

type stepInput struct {
	llr, gain, h float64
	chronic      []string
}

// stepWatching is a step while not firing: the CUSUM proper.
func (p Params) stepWatching(s State, c Counts, b Baseline, m time.Time, in stepInput) (State, Decision) {
	s.S = math.Min(math.Max(0, s.S+math.Min(in.llr, p.MaxStep*in.h)), p.MaxStatistic*in.h)
	s.noteSources(p, c, m, in.chronic, s.S > 0)
	if now := s.chronic(p); len(now) > 0 {
		for i := range s.Sources {
			src := &s.Sources[i]
			if slices.Contains(now, src.Resource) && !slices.Contains(in.chronic, src.Resource) {
				s.S = math.Max(0, s.S-float64(src.Counted)*in.gain)
				src.Counted = 0
			}
		}
		in.chronic = now
	}
	if s.S == 0 {
		s.endEpisode()
		return s, p.decision(s, b, m)
	}
	if s.Episode.Start.IsZero() {
		s.Episode.Start = m
	}
	s.Episode.add(c, m, p)
	d := p.decision(s, b, m)
	if s.S < in.h {
		return s, d
	}
	if held := p.guard(s.Episode, in.chronic); held != "" {
		d.Held = held
		return s, d
	}
	s.Firing, s.OpenedAt, s.Recovery, s.RecoverySince = true, d.At, 0, time.Time{}
	d = p.decision(s, b, m)
	d.Action = ActionFire
	return s, d
}

// stepFiring is a step while firing: the episode goes on counting, and the
// recovery statistic decides the resolution.
func (p Params) stepFiring(s State, c Counts, b Baseline, m time.Time, llr, h float64) (State, Decision) {
	s.Episode.add(c, m, p)
	s.noteSources(p, c, m, nil, false)
	reason := ""
	rec := s.Recovery + llr
	if s.Recovery == 0 && rec > 0 {
		s.RecoverySince = m
	}
	s.Recovery = math.Max(0, rec)
	switch {
	case !s.LastCall.IsZero() && m.Sub(s.LastCall) >= time.Duration(p.StopMinutes)*time.Minute:
		reason = ReasonTrafficStopped
	case s.Recovery >= p.ResolveH*h && m.Sub(s.RecoverySince) >= time.Duration(p.ResolveMinutes-1)*time.Minute:
		reason = ReasonRecovered
	}
	d := p.decision(s, b, m)
	if reason == "" {
		return s, d
	}
	d.Action, d.Reason, d.Firing = ActionResolve, reason, false
	s.Firing, s.OpenedAt, s.Recovery, s.RecoverySince, s.S = false, time.Time{}, 0, time.Time{}, 0
	s.endEpisode()
	return s, d
}

// guard is the minimum-evidence guard and the quiet-hours floor: it says
// why the episode is not enough for an alarm, or "" when it is.
func (p Params) guard(e Episode, chronic []string) string {
	resources := 0
	for _, r := range e.Resources {
		if !slices.Contains(chronic, r) {
			resources++
		}
	}
	switch {
	case e.Calls < p.MinCalls:
		return fmt.Sprintf("quiet: %d calls since the change point, need %d", e.Calls, p.MinCalls)
	case resources < p.MinResources:
		return fmt.Sprintf("evidence: failures from %d resources (chronic ones left out), need %d", resources, p.MinResources)
	case len(e.Accounts) < p.MinAccounts:
		return fmt.Sprintf("evidence: failures from %d accounts, need %d", len(e.Accounts), p.MinAccounts)
	}
	return ""
}

// effective returns the minute's failures the statistic counts, x (each
// failing resource once, chronic ones left out), and the calls it weighs
// them against, n (the calls less the failures not counted).
func effective(c Counts, chronic []string) (x, n int64) {
	distinct := int64(len(c.FailedResources))
	if len(c.FailedResources) >= MaxMinuteIDs {
		distinct = c.Failures // the set was cut: a storm, count every failure
	}
	distinct = min(distinct, c.Failures)
	for _, r := range chronic {
		if _, found := slices.BinarySearch(c.FailedResources, r); found {
			distinct--
		}
	}
	x = max(0, distinct)
	return x, c.Calls - (c.Failures - x)
}

// decision reports s after a step of minute m.
func (p Params) decision(s State, b Baseline, m time.Time) Decision {
	p0, _, _, _ := p.rates(b)
	e := s.Episode
	d := Decision{
		Dimension: s.Dimension, Detector: DetectorCUSUM, Minute: m, At: m.Add(time.Minute),
		Firing: s.Firing, Statistic: s.S, Threshold: p.Threshold(s.Traffic), Recovery: s.Recovery,
		StartedAt: e.Start, OpenedAt: s.OpenedAt, BaselineRate: p0,
		Calls: e.Calls, Failures: e.Failures,
		AffectedAccounts: len(e.Accounts), AffectedResources: len(e.Resources),
	}
	if e.Calls > 0 {
		d.Rate = float64(e.Failures) / float64(e.Calls)
	}
	d.PeakRate = math.Max(e.Peak, d.Rate)
	if e.BucketCalls >= p.MinCalls && e.BucketCalls > 0 {
		d.PeakRate = math.Max(d.PeakRate, float64(e.BucketFailures)/float64(e.BucketCalls))
	}
	return d
}

// add counts a minute into the episode.
func (e *Episode) add(c Counts, m time.Time, p Params) {
	e.Calls += c.Calls
	e.Failures += c.Failures
	e.Accounts = unite(e.Accounts, c.FailedAccounts, MaxEpisodeIDs)
	e.Resources = unite(e.Resources, c.FailedResources, MaxEpisodeIDs)
	bucket := time.Unix(m.Unix()-m.Unix()%int64(p.PeakWindow/time.Second), 0).UTC()
	if !bucket.Equal(e.BucketStart) {
		if e.BucketCalls >= p.MinCalls && e.BucketCalls > 0 {
			e.Peak = math.Max(e.Peak, float64(e.BucketFailures)/float64(e.BucketCalls))
		}
		e.BucketStart, e.BucketCalls, e.BucketFailures = bucket, 0, 0
	}
	e.BucketCalls += c.Calls
	e.BucketFailures += c.Failures
}

// endEpisode forgets the episode: the statistic is back at zero.
func (s *State) endEpisode() {
	s.Episode = Episode{}
	for i := range s.Sources {
		s.Sources[i].Counted = 0
	}
}

// clone copies s deeply enough that changing the copy leaves s as it
// was (id sets and History are only ever replaced, never changed in
// place).
func (s State) clone() State {
	s.Sources = slices.Clone(s.Sources)
	return s
}
