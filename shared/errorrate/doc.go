// Package errorrate notices by itself, within minutes, when DigitalOcean's
// API starts failing more than usual: it counts every DigitalOcean HTTP
// attempt by outcome, per dimension and minute; runs a CUSUM change
// detector per dimension; keeps Google SRE's multi-window burn-rate rule
// beside it as the comparison; and turns the detector's decisions into
// incidents (firing → resolved) and a pipeline alarm when call outcomes
// stop arriving altogether.
//
// The package is pure: it imports only the standard library and
// shared/snapkeep, never reads a clock (every step is given its minute)
// and keeps all state in small JSON-serialisable values, so it runs the
// same in Lambda, in snapctl, in the demo and in the simulation on a
// virtual clock. The stream windows, the stores and the alert emails are
// the callers' (functions/errorrate).
//
// # Signals
//
// The main signal is the provider call error rate: every ApiCalls row is
// one HTTP attempt, retries included (retries hide the rate from run
// outcomes: a run that succeeded on its third try still saw two
// failures). Classify gives each row an Outcome from its error class
// (snapkeep.APICall.Class, the one status-to-class rule of shared/docloud;
// an empty class is a success):
//
//   - provider failure: the classes whose ClassInfo.ProviderSide is true —
//     provider_error (5xx, a 2xx whose body could not be used, a 3xx),
//     network, action_errored, timed_out. Only these count as Failures.
//   - rate_limited and resource_busy: counted apart (our request budget
//     and the droplet's own queue, not DigitalOcean's health).
//   - customer errors (auth_revoked, resource_missing, quota_exceeded,
//     invalid_policy): never a provider failure.
//   - other (internal, unknown): in Calls only.
//
// Each call counts in three dimensions: snapkeep.DimensionAll, its region
// (snapkeep.RegionDimension) and its operation (OperationDimension); a
// missing or over-long region or operation (more than MaxDimensionLabel
// bytes) is left out, so customer-controlled text cannot multiply the
// dimensions.
//
// Counts holds one (dimension, minute): Calls, Failures, RateLimited,
// Busy, CustomerErrors, Other, and the accounts and resources whose calls
// failed — bounded sets (the MaxMinuteIDs = 16 smallest ids), which exist
// for the evidence guard. Aggregate folds calls into Counts per (dimension,
// minute). Merging adds the numbers and unites the sets keeping the
// smallest ids, which is associative and commutative, so the parts of a
// tumbling window (the parts of a window terminated early, the shards),
// each counted once, add up to the whole in any order. Its JSON form
// ({"v":1,"e":[{"d":"all","t":<unix s>,"c":..,"f":..,"a":[..],"r":[..]}]})
// is what a window carries as state: about 47 bytes an entry without
// failures (some 20,000 entries in Lambda's 1 MB), about 100 with a failure
// or two (10,000), and at most about 2.2 KB with full sets of the longest
// ids (470). A 15-minute window of 22 dimensions (all, 14 regions, 7
// operations) is 330 entries: 16 KB typically, 0.73 MB in the worst case
// (TestWindowStateFitsLambdasLimit).
//
// The customer-impact signal (terminal runs per class from the Runs
// stream) is not this package's: it feeds the report and the incident's
// FailedRuns and AffectedCustomers.
//
// # The detector: a Bernoulli CUSUM
//
// Provider incidents are rare failures on top of a rarer baseline: the
// motivating one was 1-2% "Server Error" for 12 hours against a normal
// 0.05%. A rate over a fixed window (what the burn-rate rule measures)
// must wait for its window to fill: at 600 calls an hour, a 1.5% rate is
// nine failures an hour, and the 1-hour window reaches 14.4 × 0.1% only
// after about an hour. The CUSUM (Page 1954) instead adds up, call by
// call, the log-likelihood ratio of "the rate is now p1 = K·p0" against
// "it is still p0", and forgets at the pace normal traffic refutes it:
//
//	S = max(0, S + min(x·ln(p1/p0) + (n−x)·ln((1−p1)/(1−p0)), MaxStep·h))
//
// for a minute of n calls with x failures, with an alarm when S ≥ h and
// the evidence guard agrees. For a change from p0 to p1 it is the
// sequential test with the least worst-case delay at a given false-alarm
// rate (Lorden 1971, Moustakides 1986). With the defaults (p0 = 0.05%,
// K = 20) each failure adds ln 20 ≈ 3.0 and each normal call takes off
// 0.0095, so one failure is outweighed by about 314 normal calls, and any
// rate above the break-even (p1−p0)/ln(p1/p0) ≈ 0.32% makes S climb.
//
// The change point, reported as the incident's start (Decision.StartedAt,
// snapkeep.Incident.StartedAt), is the minute S last left zero: the
// likelihood estimate of the CUSUM's change point, not the alarm time.
// In the simulation its median error is 3 minutes at 600 calls/h and 0 at
// 6,000 for a 1.5% incident; with little traffic a stray baseline failure
// shortly before the incident can make it earlier.
//
// # Parameters and how they were tuned
//
// DefaultParams are tuned by the simulation (sim_test.go; figures in
// BENCHMARKS.md) for a 0.05% baseline at 60-6,000 calls an hour:
//
//   - K = 20, p1 = 1% at the floor. At 600 calls/h and H = 7.5, K = 20,
//     30 and 40 gave the same median delay for 1.5% (18 min) with 0.6-0.7
//     false alarms a month; K = 10 was slower (25 min). K = 20 keeps the
//     break-even (0.32%) well below the mildest incident asked about
//     (0.5%; at K = 40 it is 0.53%, above it) and never re-fired an
//     incident, at the cost of a slower resolution (77 minutes after the
//     end at 600 calls/h, against 50 at K = 40).
//   - H = 7.5 at RefCallsPerHour = 600 and below: three failures (9.0)
//     alarm when they fall within about 156 normal calls, four within
//     about 470, two never. A chance triple at 0.05% comes about 0.6 times
//     in 30 days at 600 calls/h (with the nuisances), while a 1.5%
//     incident's third failure comes after 17 minutes (median): the
//     detector's median is 18. H = 7 gave 0.9 false alarms a month for the
//     same median; H = 8 gave 0.35 but 21 minutes.
//   - HPerDecade = 2.3 (= ln 10): the CUSUM's false alarms come about e^h
//     observations apart, so keeping them as rare per day with ten times
//     the traffic takes ln 10 more. The threshold follows the dimension's
//     recent traffic (State.Traffic, a 60-minute average), so it is higher
//     at the peak of the daily cycle than at night. At 6,000 calls/h,
//     h = 9.8: four failures within about 230 calls, a median of 4 minutes
//     for 1.5% and 0.05 false alarms a month.
//   - MaxStep = 0.5: no minute adds more than h/2, so a one-minute burst
//     (20 failures at once) is never an incident alone, while a real one
//     alarms one minute later. MaxStatistic = 2: S stays below 2h, so
//     evidence the guard held back fades within bounded time.
//   - Floor = 0.05% (see Baseline), MaxP1 = 50%.
//
// # The minimum-evidence guard
//
// An alarm needs failures from at least MinResources = 3 distinct
// resources and MinAccounts = 2 distinct accounts since the change point,
// so that one customer's broken droplet, or one account's, is never a
// provider incident. Decision.Held says when the statistic is over the
// threshold but the guard holds ("evidence: failures from 2 resources
// (chronic ones left out), need 3"). The 3 is also what the statistics
// want: at 600 calls/h two chance failures less than ten minutes apart
// happen about ten times a month, a close enough three about once in
// two months.
//
// A droplet that keeps failing (one customer failing every call) would
// otherwise hold S up forever, make the change point days old and let
// the next two chance failures of others pass the guard. So the detector
// keeps the few most recently failing resources (State.Sources, at most
// MaxSources = 8): a resource that failed in ChronicMinutes = 3 distinct
// minutes is chronic (at most MaxChronic = 2, those that failed the most)
// until it has not failed for ChronicForget = 24 hours. A chronic
// resource's failures are left out of the statistic (as failures and as
// calls) and out of the guard, and what it had added to the current S is
// taken back the minute it turns chronic. Each failing resource also
// counts at most once a minute. In a real incident failures come from
// ever new resources, so leaving two out costs nothing; in a total
// outage the alarm comes before any resource has failed three times.
//
// # The quiet-hours floor
//
// No alarm with fewer than MinCalls = 30 calls since the change point: a
// handful of calls at 3 a.m. with two failures among them is no decision.
// The statistic itself already weighs evidence by calls, so the floor
// only stops alarms on almost no traffic.
//
// # Resolution
//
// While firing, the same likelihood ratio runs the other way
// (State.Recovery): evidence that the rate is back at p0 rather than still at the
// incident's own rate (the rate since the start, kept between 2·p0 and
// p1: a mild incident must get well below its own rate, a severe one below
// p1's break-even). The incident resolves when that evidence reaches
// ResolveH·h and has lasted ResolveMinutes = 15, or when no call at all
// came for StopMinutes = 60 (traffic stopped: nothing to judge). In the
// simulation a 1.5% incident resolves a median 15 minutes after its end at
// 6,000 calls/h, 77 at 600 and 11 hours at 60 (where a clean hour is only
// 60 calls), and at most 2 incidents in 100 re-fired after resolving too
// early (the mild 0.5-1% ones).
//
// # Baseline
//
// p0 comes from daily roll-ups of the last 7-30 days (Params.Baseline):
// calls and failures pooled over the days after leaving out the worst
// TrimDays = 10% (so the last incident does not make the next look
// normal), never below Floor = 0.05% (so a perfectly clean history does
// not turn every failure into an alarm), and the Floor with fewer than
// MinBaselineDays = 7 days. The roll-ups given to Step count raw
// failures, including a chronic customer's, which at 600 calls/h would
// raise the baseline from 0.05% to 0.7% within a week and blind the
// detector. So the state keeps its own daily roll-up of what the statistic
// counted (State.History: chronic resources and firing minutes left out)
// and, once it holds 7 days, tests against that (State.Learned,
// Baseline.FromHistory).
//
// # The burn-rate rule
//
// BurnRule is the SRE workbook's paging rule for an SLO of 99.9%: page
// while both the 1-hour and 5-minute windows burn the 0.1% budget at
// 14.4× or more (1.44%), or both the 6-hour and 30-minute windows at 6×
// (0.6%), with the same quiet-hours floor on the long window. It runs over
// the same minute counts (BurnState keeps the last 6 hours) with no
// evidence guard and no change point. In the simulation it is 3.3 times
// slower than the CUSUM at 600 calls/h and 14.5 times at 6,000 for a 1.5%
// incident, misses most 0.5% incidents, and at 60-600 calls/h pages
// hundreds of times a month on one broken customer; at 60 calls/h, where
// one failure in an hour is 1.7%, it pages sooner than the CUSUM, on every
// failure.
//
// # Incidents
//
// NextIncident turns a dimension's decisions into snapkeep.Incident
// values: ActionFire opens one (firing, OpenState "open", StartedAt the
// change point, OpenedAt the alarm, the baseline, rate, peak rate, counts
// and affected accounts and resources since the start); later decisions
// update its figures; ActionResolve resolves it. Its id is
// class#dimension#start minute (IncidentID), so concurrent or retried
// evaluators that step the same state derive the same item, and a
// replayed decision gives TransitionNone. The caller writes an opened
// incident only if absent and a resolution only while firing (conditional
// writes), and alerts ops once per successful write. SilenceRule raises
// the pipeline incident (Kind pipeline, Detector "silence", id
// pipeline#all#<first due minute>) when a snapshot slot fell due
// Minutes = 30 ago and no call outcome arrived since, and resolves it when
// outcomes come again.
//
// # Running it
//
// The evaluator steps each watched dimension once a minute (or catches up
// minute by minute): Params.Step(state, counts, baseline, minute) with the
// sum over shards of the minute's Counts, once the stream windows holding
// that minute have closed (a minute stepped early would count its late
// records never). A repeated minute is skipped (Decision.Skipped), so the
// state can be written with a condition on its Minute and retried freely.
// State is about 2.5 KB of JSON with a month of history (at most about
// 12 KB with full id sets), BurnState about 2.3 KB. One step costs about
// 1.5 µs.
//
// Each dimension has its own false-alarm rate, that of its traffic in the
// table above; watching n sub-dimensions adds theirs up. Raising H by
// ln(n) for the sub-dimensions (the same argument as HPerDecade) keeps
// their sum near one dimension's, at the cost of their speed.
//
// # Reading an alert
//
// "operation:snapshot_droplet at 1.6% against a baseline of 0.05% (32×),
// since 06:10 (alarm 06:28); 57 failures in 3,560 calls from 41 droplets
// in 12 accounts; peak 2.4%" reads: Rate is provider-side failures per
// HTTP attempt since the estimated start, retries included, so it is
// higher than the share of failed runs (most runs succeeded on a retry);
// BaselineRate is the same ratio's normal value over the last 30 days
// (the worst days and chronic customers left out, at least 0.05%); their
// ratio is how far out of the ordinary it is, and at a 0.05% baseline
// anything above about 0.3% for more than a few minutes is not chance.
// PeakRate is the worst 15-minute window (PeakWindow) with at least 30
// calls. Affected counts of 64 (MaxEpisodeIDs) mean 64 or more; the
// escalation report lists them all from the ApiCalls index.
package errorrate
