package errorrate_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// The simulation: traffic on a virtual clock, one minute at a time, fed
// to the real detector (Params.Step) and the burn-rate rule
// (BurnRule.Step) side by side. Everything is drawn from PCG generators
// with fixed seeds, so every run prints the same figures.

// simEpoch is the virtual clock's origin (a UTC midnight).
var simEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	simBaseRate  = 0.0005        // the normal provider failure rate, 0.05%
	simCycle     = 0.8           // daily traffic cycle: ±80% around the mean
	simPeakHour  = 3             // traffic peaks at 03:00 UTC (nightly backups)
	simIncident  = 12 * 60       // incident length, minutes (the motivating one)
	simAfter     = 12 * 60       // minutes watched after an incident, for its resolution
	simHistory   = 30            // days of daily roll-ups behind the baseline
	simFADays    = 30            // days of an incident-free run
	simBurst     = 20            // failures in the one-minute burst
	perAccount   = 4             // resources per account
	chronicEvery = 60            // the broken customer's runs, minutes apart
	simSeedSalt  = 0x5eed_c0ffee // mixed into every seed
)

// chronicAttempts are the broken customer's attempts within each run
// (minutes after the slot): the first try and the run path's retries.
var chronicAttempts = []int{0, 2, 6, 14}

// simConfig is one traffic volume.
type simConfig struct {
	callsPerHour float64
	// cycle is the daily cycle's amplitude: 0 for flat traffic.
	cycle     float64
	resources []string
	accounts  []string
}

func newSimConfig(callsPerHour, cycle float64) *simConfig {
	n := max(40, int(callsPerHour/3)) // about three calls per resource an hour
	c := &simConfig{callsPerHour: callsPerHour, cycle: cycle}
	for i := 0; i < n; i++ {
		c.resources = append(c.resources, fmt.Sprintf("droplet:%d", 3000000+i))
		c.accounts = append(c.accounts, fmt.Sprintf("acct-%d", i/perAccount))
	}
	return c
}

// mean is the expected calls in minute t (minutes since simEpoch).
func (c *simConfig) mean(t int) float64 {
	hour := float64(t%1440) / 60
	return c.callsPerHour / 60 * (1 + c.cycle*math.Cos(2*math.Pi*(hour-simPeakHour)/24))
}

// minute draws minute t's counts for the dimension "all" at failure rate p.
func (c *simConfig) minute(rng *rand.Rand, t int, p float64) errorrate.Counts {
	var out errorrate.Counts
	n := poisson(rng, c.mean(t))
	fails := 0
	if p > 0 {
		// Geometric skips between failures: O(failures), not O(calls).
		for i := geometric(rng, p); i < n; i += 1 + geometric(rng, p) {
			fails++
			r := rng.IntN(len(c.resources))
			out.Record(errorrate.OutcomeProviderFailure, c.accounts[r], c.resources[r])
		}
	}
	out.Calls += int64(n - fails)
	return out
}

// burst adds simBurst failures from distinct resources in one minute.
func (c *simConfig) burst(rng *rand.Rand, out *errorrate.Counts) {
	for _, r := range rng.Perm(len(c.resources))[:simBurst] {
		out.Record(errorrate.OutcomeProviderFailure, c.accounts[r], c.resources[r])
	}
}

// history draws days of daily roll-ups at the base rate.
func (c *simConfig) history(rng *rand.Rand, days int) []errorrate.Counts {
	out := make([]errorrate.Counts, days)
	for i := range out {
		calls := poisson(rng, c.callsPerHour*24)
		out[i] = errorrate.Counts{Calls: int64(calls), Failures: int64(poisson(rng, float64(calls)*simBaseRate))}
	}
	return out
}

func poisson(rng *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 40 {
		return max(0, int(math.Round(mean+math.Sqrt(mean)*rng.NormFloat64())))
	}
	limit, k, prod := math.Exp(-mean), 0, rng.Float64()
	for prod > limit {
		k++
		prod *= rng.Float64()
	}
	return k
}

// geometric is the number of successes before the first failure.
func geometric(rng *rand.Rand, p float64) int {
	if p >= 1 {
		return 0
	}
	return int(math.Floor(math.Log(1-rng.Float64()) / math.Log(1-p)))
}

func seeded(parts ...uint64) *rand.Rand {
	h := uint64(simSeedSalt)
	for _, p := range parts {
		h = (h ^ p) * 0x100000001b3
	}
	return rand.New(rand.NewPCG(h, h>>7|1))
}

// pair steps both detectors over the same minutes.
type pair struct {
	params   errorrate.Params
	rule     errorrate.BurnRule
	baseline errorrate.Baseline
	cs       errorrate.State
	bs       errorrate.BurnState
}

// simParams are the detector's parameters under test.
var simParams = errorrate.DefaultParams()

func newPair(b errorrate.Baseline) *pair {
	return &pair{
		params: simParams, rule: errorrate.DefaultBurnRule(), baseline: b,
		cs: errorrate.State{Dimension: snapkeep.DimensionAll},
		bs: errorrate.BurnState{Dimension: snapkeep.DimensionAll},
	}
}

func (p *pair) step(c errorrate.Counts, t int) (cusum, burn errorrate.Decision) {
	at := simEpoch.Add(time.Duration(t) * time.Minute)
	p.cs, cusum = p.params.Step(p.cs, c, p.baseline, at)
	p.bs, burn = p.rule.Step(p.bs, c, at)
	return cusum, burn
}

// trial is one incident run's outcome for one detector.
type trial struct {
	delay      int  // minutes from the incident's start to the alarm
	missed     bool // no alarm during the incident
	startError int  // change point estimate minus the true start, minutes
	alarms     int  // alarms during the incident (1 is right)
	preempted  bool // a false alarm before the start was still firing at the start
	resolved   int  // minutes from the incident's end to the resolution, -1 if none
}

// incidentTrial runs baseline traffic for a random warm-up (6-30 h, so the
// incident starts at any time of day), then the incident at rate q for 12
// hours, then 12 hours of baseline. The detectors never see the start.
func incidentTrial(cfg *simConfig, q float64, seed uint64) (cusum, burn trial, oracle int) {
	rng := seeded(uint64(cfg.callsPerHour), math.Float64bits(q), math.Float64bits(cfg.cycle), seed)
	p := newPair(simParams.Baseline(cfg.history(rng, simHistory)))
	start := 6*60 + rng.IntN(24*60)
	end := start + simIncident
	cusum, burn = trial{missed: true, resolved: -1}, trial{missed: true, resolved: -1}
	oracle, seen := -1, int64(0)
	for t := 0; t < end+simAfter; t++ {
		rate := simBaseRate
		if t >= start && t < end {
			rate = q
		}
		if t == start {
			cusum.preempted, burn.preempted = p.cs.Firing, p.bs.Firing
		}
		c := cfg.minute(rng, t, rate)
		if t >= start && t < end && oracle < 0 {
			if seen += c.Failures; seen >= oracleFailures {
				oracle = t + 1 - start
			}
		}
		cd, bd := p.step(c, t)
		note(&cusum, cd, t, start, end)
		note(&burn, bd, t, start, end)
		if !burn.missed && !cusum.missed && cusum.resolved >= 0 && burn.resolved >= 0 {
			break
		}
	}
	return cusum, burn, oracle
}

// oracleFailures is the failures the oracle waits for: the fewest the
// evidence guard accepts. Its delay (the end of the minute of the
// incident's third failure, knowing the start) bounds what any detector
// needing three failures can do.
const oracleFailures = 3

func note(tr *trial, d errorrate.Decision, t, start, end int) {
	minutes := func(at time.Time) int { return int(at.Sub(simEpoch) / time.Minute) }
	switch {
	case d.Action == errorrate.ActionFire && t >= start && t < end:
		tr.alarms++
		if tr.missed {
			tr.missed = false
			tr.delay = minutes(d.At) - start
			tr.startError = minutes(d.StartedAt) - start
		}
	case d.Action == errorrate.ActionResolve && t >= end && !tr.missed && tr.resolved < 0:
		tr.resolved = minutes(d.At) - end
	}
}

// falseAlarmRun runs 30 incident-free days with the nuisances: one
// customer failing every call (days 2-28, four attempts an hour), a
// one-minute burst of 20 failures from distinct resources (day 10) and the
// daily cycle. The baseline is recomputed every midnight from the last 30
// days' roll-ups, the run's own days included, as production does.
func falseAlarmRun(cfg *simConfig, seed uint64) (cusum, burn int) {
	rng := seeded(uint64(cfg.callsPerHour), 0xfa15e, seed)
	days := cfg.history(rng, simHistory)
	p := newPair(simParams.Baseline(days))
	offset := rng.IntN(chronicEvery)
	burstAt := 10*1440 + rng.IntN(1440)
	var today errorrate.Counts
	for t := 0; t < simFADays*1440; t++ {
		if t > 0 && t%1440 == 0 {
			days = append(days[1:], today)
			today = errorrate.Counts{}
			p.baseline = p.params.Baseline(days)
		}
		c := cfg.minute(rng, t, simBaseRate)
		if t >= 2*1440 && t < 28*1440 && slices.Contains(chronicAttempts, (t-offset+chronicEvery)%chronicEvery) {
			c.Record(errorrate.OutcomeProviderFailure, "acct-broken", "droplet:broken")
		}
		if t == burstAt {
			cfg.burst(rng, &c)
		}
		today.Add(errorrate.Counts{Calls: c.Calls, Failures: c.Failures})
		cd, bd := p.step(c, t)
		if cd.Action == errorrate.ActionFire {
			cusum++
		}
		if bd.Action == errorrate.ActionFire {
			burn++
		}
	}
	return cusum, burn
}

// simulation is the whole benchmark's configuration.
type simulation struct {
	volumes   []float64 // of the incident runs
	rates     []float64
	cycles    []float64 // daily cycle amplitudes of the incident runs
	trials    int       // incident runs per (cycle, volume, rate)
	faVolumes []float64 // of the incident-free runs
	faMonths  int       // incident-free 30-day runs per volume
}

// fullSimulation is the benchmark's: every rate and volume, flat and
// cyclic traffic.
var fullSimulation = simulation{
	volumes:   []float64{60, 600, 6000},
	rates:     []float64{0.005, 0.01, 0.015, 0.02, 0.05},
	cycles:    []float64{0, simCycle},
	trials:    200,
	faVolumes: []float64{60, 600, 6000},
	faMonths:  20,
}

// targetSimulation is the part of it the Done-when targets are about,
// with the same seeds (so the same figures): TestSimulationTable runs it.
var targetSimulation = simulation{
	volumes:   []float64{600, 6000},
	rates:     []float64{0.015},
	cycles:    []float64{0},
	trials:    200,
	faVolumes: []float64{60, 600, 6000},
	faMonths:  20,
}

// cell is one (cycle, volume, rate) row of results.
type cell struct {
	cycle, volume, rate float64
	cusum, burn         summary
	oracle              float64 // median minutes to the third failure
}

type summary struct {
	median, p90        float64 // minutes; +Inf when more than half (a tenth) missed
	missRate           float64
	startError         float64 // median change-point error, minutes (CUSUM)
	realarms           float64 // mean alarms beyond the first per detected incident
	resolvedMedian     float64 // median minutes from the end to the resolution
	unresolvedFraction float64
	preempted          int // trials left out: a false alarm was firing at the start
}

func summarize(ts []trial) summary {
	var delays, errs, res []float64
	var s summary
	extra, detected, unresolved := 0, 0, 0
	for _, t := range ts {
		if t.preempted {
			s.preempted++
			continue
		}
		if t.missed {
			delays = append(delays, math.Inf(1))
			continue
		}
		detected++
		delays = append(delays, float64(t.delay))
		errs = append(errs, float64(t.startError))
		extra += t.alarms - 1
		if t.resolved < 0 {
			unresolved++
		} else {
			res = append(res, float64(t.resolved))
		}
	}
	s.median, s.p90 = quantile(delays, 0.5), quantile(delays, 0.9)
	s.missRate = float64(len(delays)-detected) / float64(len(delays))
	s.startError = quantile(errs, 0.5)
	s.resolvedMedian = quantile(res, 0.5)
	if detected > 0 {
		s.realarms = float64(extra) / float64(detected)
		s.unresolvedFraction = float64(unresolved) / float64(detected)
	}
	return s
}

// quantile is the nearest-rank quantile (NaN for no values).
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[max(0, int(math.Ceil(q*float64(len(s))))-1)]
}

type simResults struct {
	cells       []cell
	falseAlarms map[float64][2]float64 // per volume: CUSUM, burn rate, per 30 days
}

func (sim simulation) run() simResults {
	res := simResults{falseAlarms: map[float64][2]float64{}}
	for _, cy := range sim.cycles {
		for _, v := range sim.volumes {
			for _, q := range sim.rates {
				res.cells = append(res.cells, runCell(cy, v, q, sim.trials))
			}
		}
	}
	for _, v := range sim.faVolumes {
		res.falseAlarms[v] = runFalseAlarms(v, sim.faMonths)
	}
	return res
}

// runCell runs trials incidents at rate q on traffic of volume calls/h
// with the given daily cycle.
func runCell(cycle, volume, q float64, trials int) cell {
	cfg := newSimConfig(volume, cycle)
	var cs, bs []trial
	var oracle []float64
	for i := 0; i < trials; i++ {
		c, b, o := incidentTrial(cfg, q, uint64(i))
		cs, bs = append(cs, c), append(bs, b)
		oracle = append(oracle, float64(o))
	}
	return cell{cycle: cycle, volume: volume, rate: q, cusum: summarize(cs), burn: summarize(bs), oracle: quantile(oracle, 0.5)}
}

// runFalseAlarms returns the CUSUM's and the burn-rate rule's false
// alarms per 30 days over months incident-free runs.
func runFalseAlarms(volume float64, months int) [2]float64 {
	cfg := newSimConfig(volume, simCycle)
	var fc, fb int
	for i := 0; i < months; i++ {
		c, b := falseAlarmRun(cfg, uint64(i))
		fc, fb = fc+c, fb+b
	}
	return [2]float64{float64(fc) / float64(months), float64(fb) / float64(months)}
}

func (res simResults) cell(cycle, volume, rate float64) cell {
	for _, c := range res.cells {
		if c.cycle == cycle && c.volume == volume && c.rate == rate {
			return c
		}
	}
	panic(fmt.Sprintf("no cell %v/%v/%v", cycle, volume, rate))
}

func minutes(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "miss"
	case math.IsNaN(v):
		return "–"
	}
	return fmt.Sprintf("%.0f", v)
}

// markdown renders the results as BENCHMARKS.md shows them.
func (res simResults) markdown(sim simulation) string {
	var b strings.Builder
	for _, cy := range sim.cycles {
		if cy == 0 {
			fmt.Fprintf(&b, "Incidents at flat traffic (Poisson at the stated calls/h), %d incidents of 12 h per row.\n\n", sim.trials)
		} else {
			fmt.Fprintf(&b, "\nIncidents under the daily cycle (±%.0f%% around the stated mean, peak 03:00 UTC), starting at a random hour, %d per row.\n\n", 100*cy, sim.trials)
		}
		res.incidentTable(&b, cy)
	}
	fmt.Fprintf(&b, "\nFalse alarms per 30 incident-free days with the nuisances (mean of %d runs of 30 days).\n\n", sim.faMonths)
	b.WriteString("| calls/h | CUSUM | burn rate |\n|---:|---:|---:|\n")
	for _, v := range sim.faVolumes {
		fa := res.falseAlarms[v]
		fmt.Fprintf(&b, "| %.0f | %.2f | %.2f |\n", v, fa[0], fa[1])
	}
	return b.String()
}

func (res simResults) incidentTable(b *strings.Builder, cycle float64) {
	b.WriteString("| calls/h | incident | CUSUM median | CUSUM p90 | CUSUM miss | burn median | burn p90 | burn miss | speed-up | 3rd failure | start error | resolved after | re-alarms |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range res.cells {
		if c.cycle != cycle {
			continue
		}
		speed := "–"
		if !math.IsInf(c.cusum.median, 1) && c.cusum.median > 0 {
			if math.IsInf(c.burn.median, 1) {
				speed = "∞"
			} else {
				speed = fmt.Sprintf("%.1f×", c.burn.median/c.cusum.median)
			}
		}
		fmt.Fprintf(b, "| %.0f | %.1f%% | %s | %s | %.1f%% | %s | %s | %.1f%% | %s | %s | %s | %s | %.2f |\n",
			c.volume, 100*c.rate, minutes(c.cusum.median), minutes(c.cusum.p90), 100*c.cusum.missRate,
			minutes(c.burn.median), minutes(c.burn.p90), 100*c.burn.missRate, speed, minutes(c.oracle),
			minutes(c.cusum.startError), minutes(c.cusum.resolvedMedian), c.cusum.realarms)
	}
}
