package errorrate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// This file is the minute evaluation (the functions/errorrate schedule's
// {"evaluate": true}): the service that steps every watched dimension's
// detector over the closed minutes, turns its decisions into incidents
// and sends ops one alert and one resolution notice per incident. It
// declares the ports it needs; shared/dynamo and the function implement
// them.

// Notice is which message to ops a send is.
type Notice string

// Notices.
const (
	// NoticeAlert is the ops alert of an opened incident, with its report.
	NoticeAlert Notice = "alert"
	// NoticeResolution is the notice that the incident resolved.
	NoticeResolution Notice = "resolution"
)

// ErrUndeliverable is wrapped by an Alerter's error when the notice can
// never be delivered (the recipient or sender refused for good): the
// incident records the error and the notice is not tried again. Any
// other error is retried at the next evaluation.
var ErrUndeliverable = errors.New("ops notice cannot be delivered")

// FoldedPrefix starts the AlertID (and ResolutionID) of an incident that
// opened while another provider incident was already open: it is the same
// provider event seen in another dimension (a 2% failure rate of
// snapshot_droplet also lifts "all" and the regions), so ops gets no
// separate email for it. The rest of the id is the incident it was folded
// into, whose resolution notice waits until the folded ones have resolved.
const FoldedPrefix = "folded:"

// Watch is what the evaluator keeps per dimension between evaluations:
// the detector's state, the baseline it tests against (recomputed once a
// day from the daily roll-ups), the last day it rolled up and the
// incidents whose notices are still owed. It is stored as one item and
// written only if unchanged since it was read (Rev), so concurrent
// evaluators never regress it.
type Watch struct {
	// Dimension is the dimension watched (or PipelineWatch).
	Dimension snapkeep.Dimension `json:"dimension"`
	// State is the CUSUM detector's state; its Minute is the last minute
	// stepped.
	State State `json:"state"`
	// Baseline is the dimension's baseline from the daily roll-ups of the
	// BaselineDays before BaselineDay.
	Baseline    Baseline  `json:"baseline"`
	BaselineDay time.Time `json:"baseline_day,omitzero"`
	// RolledUp is the last UTC day whose roll-up this watch wrote.
	RolledUp time.Time `json:"rolled_up,omitzero"`
	// Incident is the id of the dimension's open incident, as this watch
	// opened it: the open index is eventually consistent, and a
	// resolution must never miss its incident.
	Incident string `json:"incident,omitempty"`
	// Pending are the incidents whose ops notices are owed (a send failed
	// for now, a claim is in flight, or a resolution waits for folded
	// incidents).
	Pending []string `json:"pending,omitempty"`
	// Rev is the stored version (not part of the JSON): SaveWatch writes
	// only if the stored Rev is still this one, and increments it.
	Rev int64 `json:"-"`
}

// PipelineWatch is the Watch of the pipeline (silence) rule, which keeps
// only its pending notices.
const PipelineWatch snapkeep.Dimension = "pipeline"

// DayCounts is one UTC day's roll-up of a dimension's calls.
type DayCounts struct {
	// Day is the day's midnight, UTC.
	Day time.Time
	Counts
}

// EvalStats is the Stats table as the evaluation reads and writes it.
type EvalStats interface {
	// Dimensions returns the dimensions that had calls on the UTC days
	// from the day of from to the day of to (the registry).
	Dimensions(ctx context.Context, from, to time.Time) ([]snapkeep.Dimension, error)
	// LoadWatch returns the dimension's Watch, or an error wrapping
	// snapkeep.ErrNotFound.
	LoadWatch(ctx context.Context, dim snapkeep.Dimension) (*Watch, error)
	// SaveWatch stores w if the stored Rev is still w.Rev (or none is
	// stored and w.Rev is 0) and increments w.Rev; otherwise an error
	// wrapping snapkeep.ErrConflict.
	SaveWatch(ctx context.Context, w *Watch) error
	// MinuteCounts returns dim's counts for the minutes in [from, to),
	// summed over shards and window parts.
	MinuteCounts(ctx context.Context, dim snapkeep.Dimension, from, to time.Time) (*Aggregate, error)
	// DailyCounts returns dim's daily roll-ups of the days in [from, to).
	DailyCounts(ctx context.Context, dim snapkeep.Dimension, from, to time.Time) ([]DayCounts, error)
	// PutDaily writes a day's roll-up (an idempotent put).
	PutDaily(ctx context.Context, dim snapkeep.Dimension, day DayCounts) error
	// RunCounts sums the terminal runs of the minutes in [from, to).
	RunCounts(ctx context.Context, from, to time.Time) (RunCounts, error)
}

// IncidentStore is the Incidents table (shared/dynamo.IncidentStore):
// Get is strongly consistent; Create writes only if absent and Update
// only if the item is still prev (both wrap snapkeep.ErrConflict
// otherwise); ListOpen reads the sparse open index.
type IncidentStore interface {
	Get(ctx context.Context, id string) (*snapkeep.Incident, error)
	Create(ctx context.Context, inc *snapkeep.Incident) error
	Update(ctx context.Context, prev, next *snapkeep.Incident) error
	ListOpen(ctx context.Context) ([]snapkeep.Incident, error)
}

// DueRuns tells the silence rule whether snapshots were expected.
type DueRuns interface {
	// FirstDue returns the earliest next check of an unfinished run in
	// [from, to] (zero when none): one Query of the Runs unfinished
	// index with Limit 1 (however the index is sharded later).
	FirstDue(ctx context.Context, from, to time.Time) (time.Time, error)
}

// Alerter sends one notice to ops about inc and returns the message's
// id. An error wrapping ErrUndeliverable is final; any other is retried.
type Alerter interface {
	Send(ctx context.Context, inc *snapkeep.Incident, n Notice) (string, error)
}

// Evaluation defaults (Evaluator's zero fields).
const (
	// DefaultLag is how long after a minute ends it is stepped: the
	// ApiCalls stream's 60-second tumbling windows must have had their
	// final invocations.
	DefaultLag = 2 * time.Minute
	// DefaultMaxCatchUp bounds the minutes one evaluation steps per
	// dimension; an evaluator that was down catches up this fast.
	DefaultMaxCatchUp = 180
	// DefaultMaxDimensions bounds the dimensions watched (all first,
	// then those with open incidents, then the registry's by name).
	DefaultMaxDimensions = 64
	// DefaultClaimTimeout is how old a claim to send a notice must be,
	// without an outcome, before another evaluation takes it over.
	DefaultClaimTimeout = 5 * time.Minute
	// BaselineDays is how many daily roll-ups the baseline reads.
	BaselineDays = 30
	// maxRollUps bounds the daily roll-ups written per dimension and
	// evaluation (catching up after an outage).
	maxRollUps = 3
	// silenceLookback bounds how far back the silence rule looks for a
	// due run when no call was ever seen.
	silenceLookback = 24 * time.Hour
)

// Evaluator is the minute evaluation. Params, Silence and the defaults
// above apply where its fields are zero.
type Evaluator struct {
	Stats     EvalStats
	Incidents IncidentStore
	Runs      DueRuns
	Alerts    Alerter
	// Params are the detector's parameters (zero: DefaultParams).
	Params *Params
	// Silence is the pipeline rule (zero Minutes: DefaultSilenceRule).
	Silence SilenceRule
	// Lag, MaxCatchUp, MaxDimensions and ClaimTimeout: see the defaults.
	Lag           time.Duration
	MaxCatchUp    int
	MaxDimensions int
	ClaimTimeout  time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Logger gets a line per evaluation and per problem (nil: slog.Default()).
	Logger *slog.Logger
}

// Summary is what one evaluation did.
type Summary struct {
	// Through is the last minute stepped (the last closed minute).
	Through time.Time
	// Dimensions and Minutes count the dimensions evaluated and the
	// minutes stepped over all of them.
	Dimensions, Minutes int
	// Opened, Resolved and Folded count incident transitions written.
	Opened, Resolved, Folded int
	// Alerts and Resolutions count the notices sent.
	Alerts, Resolutions int
}

// Check says what is missing or wrong in the evaluator's configuration.
func (e *Evaluator) Check() error {
	var errs []error
	if e.Stats == nil || e.Incidents == nil || e.Runs == nil || e.Alerts == nil {
		errs = append(errs, errors.New("Stats, Incidents, Runs and Alerts are required"))
	}
	if err := e.params().Validate(); err != nil {
		errs = append(errs, err)
	}
	if e.Lag < 0 || e.MaxCatchUp < 0 || e.MaxDimensions < 0 || e.ClaimTimeout < 0 || e.Silence.Minutes < 0 {
		errs = append(errs, errors.New("Lag, MaxCatchUp, MaxDimensions, ClaimTimeout and Silence.Minutes may not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("errorrate evaluator: %w", err)
	}
	return nil
}

// Evaluate steps every watched dimension through the minutes closed since
// its last evaluation (at most MaxCatchUp), writes the incidents its
// decisions make, runs the silence rule and sends the notices owed. Each
// dimension is independent: one that fails (its error is returned, joined
// with the others') does not stop the rest, and is stepped again next
// time from where its Watch was saved.
func (e *Evaluator) Evaluate(ctx context.Context) (Summary, error) {
	now := e.now()
	r := &evalRun{e: e, now: now, last: Minute(now.Add(-e.lag())).Add(-time.Minute),
		open: map[string]*snapkeep.Incident{}, fresh: map[string]bool{}, created: map[string]bool{}}
	r.sum.Through = r.last
	open, err := e.Incidents.ListOpen(ctx)
	if err != nil {
		return r.sum, fmt.Errorf("evaluate: %w", err)
	}
	for i := range open {
		r.open[open[i].IncidentID] = &open[i]
	}
	dims, err := r.dimensions(ctx)
	if err != nil {
		return r.sum, fmt.Errorf("evaluate: %w", err)
	}
	var errs []error
	var all *Watch
	var watches []*Watch
	for _, dim := range dims {
		w, err := r.dimension(ctx, dim)
		if err != nil {
			errs = append(errs, fmt.Errorf("evaluate %s: %w", dim, err))
			continue
		}
		watches = append(watches, w)
		if dim == snapkeep.DimensionAll {
			all = w
		}
	}
	if w, err := r.pipeline(ctx, all); err != nil {
		errs = append(errs, fmt.Errorf("evaluate pipeline: %w", err))
	} else if w != nil {
		watches = append(watches, w)
	}
	r.group(ctx)
	for _, w := range watches {
		r.owed(w)
		r.deliverPending(ctx, w)
		if err := r.saveWatch(ctx, w); err != nil {
			errs = append(errs, fmt.Errorf("evaluate %s: %w", w.Dimension, err))
		}
	}
	e.logger().InfoContext(ctx, "errorrate evaluation", "through", r.last.Format(MinuteFormat),
		"dimensions", r.sum.Dimensions, "minutes", r.sum.Minutes, "opened", r.sum.Opened, "resolved", r.sum.Resolved,
		"folded", r.sum.Folded, "alerts", r.sum.Alerts, "resolutions", r.sum.Resolutions, "errors", len(errs))
	return r.sum, errors.Join(errs...)
}

// evalRun is one evaluation's working set.
type evalRun struct {
	e    *Evaluator
	now  time.Time
	last time.Time // the last closed minute
	// open holds the open incidents as last known (the open index, then
	// what this run wrote or read); fresh marks those read consistently.
	open  map[string]*snapkeep.Incident
	fresh map[string]bool
	// created are the incidents this run opened.
	created map[string]bool
	sum     Summary
}

// dimensions lists the dimensions to evaluate: all, those with an open
// incident (so they go on to resolve even without traffic), then those
// the registry saw today or yesterday, at most MaxDimensions.
func (r *evalRun) dimensions(ctx context.Context) ([]snapkeep.Dimension, error) {
	reg, err := r.e.Stats.Dimensions(ctx, r.last.Add(-24*time.Hour), r.last)
	if err != nil {
		return nil, fmt.Errorf("dimensions: %w", err)
	}
	var withIncident []snapkeep.Dimension
	for _, inc := range r.open {
		if inc.Kind == snapkeep.IncidentProvider {
			withIncident = append(withIncident, inc.Dimension)
		}
	}
	slices.Sort(withIncident)
	slices.Sort(reg)
	out := []snapkeep.Dimension{snapkeep.DimensionAll}
	for _, d := range append(withIncident, reg...) {
		if d != "" && d != PipelineWatch && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	if max := r.e.maxDimensions(); len(out) > max {
		r.e.logger().WarnContext(ctx, "errorrate: too many dimensions; the rest are not watched",
			"dimensions", len(out), "watched", max)
		out = out[:max]
	}
	return out, nil
}

// dimension steps one dimension; its notices are sent and its Watch saved
// once every dimension has been stepped.
func (r *evalRun) dimension(ctx context.Context, dim snapkeep.Dimension) (*Watch, error) {
	w, err := r.loadWatch(ctx, dim)
	if err != nil {
		return nil, err
	}
	if err := r.rollUp(ctx, w); err != nil {
		return nil, err
	}
	if err := r.step(ctx, w); err != nil {
		return nil, err
	}
	r.sum.Dimensions++
	return w, nil
}

func (r *evalRun) loadWatch(ctx context.Context, dim snapkeep.Dimension) (*Watch, error) {
	w, err := r.e.Stats.LoadWatch(ctx, dim)
	if errors.Is(err, snapkeep.ErrNotFound) {
		return &Watch{Dimension: dim, State: State{Dimension: dim}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load watch: %w", err)
	}
	w.State.Dimension = dim
	return w, nil
}

// saveWatch stores w; losing to a concurrent evaluator is not an error
// (it stepped the same minutes to the same decisions).
func (r *evalRun) saveWatch(ctx context.Context, w *Watch) error {
	err := r.e.Stats.SaveWatch(ctx, w)
	if errors.Is(err, snapkeep.ErrConflict) {
		r.e.logger().InfoContext(ctx, "errorrate: another evaluation saved the watch first", "dimension", string(w.Dimension))
		return nil
	}
	if err != nil {
		return fmt.Errorf("save watch: %w", err)
	}
	return nil
}

// rollUp writes the daily roll-ups of the days completed since the watch
// last did (at most maxRollUps, yesterday first for a new watch) and
// recomputes the baseline once a day.
func (r *evalRun) rollUp(ctx context.Context, w *Watch) error {
	today := dayOf(r.last)
	start := today.AddDate(0, 0, -1)
	if !w.RolledUp.IsZero() {
		start = w.RolledUp.AddDate(0, 0, 1)
	}
	for n, day := 0, start; day.Before(today) && n < maxRollUps; n, day = n+1, day.AddDate(0, 0, 1) {
		agg, err := r.e.Stats.MinuteCounts(ctx, w.Dimension, day, day.AddDate(0, 0, 1))
		if err != nil {
			return fmt.Errorf("roll up %s: %w", day.Format(time.DateOnly), err)
		}
		var total Counts
		for _, k := range agg.Keys() {
			c := agg.Get(k)
			c.FailedAccounts, c.FailedResources = nil, nil
			total.Add(c)
		}
		if total.Calls > 0 {
			if err := r.e.Stats.PutDaily(ctx, w.Dimension, DayCounts{Day: day, Counts: total}); err != nil {
				return fmt.Errorf("roll up %s: %w", day.Format(time.DateOnly), err)
			}
		}
		w.RolledUp = day
	}
	if w.BaselineDay.Equal(today) {
		return nil
	}
	days, err := r.e.Stats.DailyCounts(ctx, w.Dimension, today.AddDate(0, 0, -BaselineDays), today)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	counts := make([]Counts, len(days))
	for i, d := range days {
		counts[i] = d.Counts
	}
	w.Baseline, w.BaselineDay = r.e.params().Baseline(counts), today
	return nil
}

// step steps w's detector through the closed minutes it has not stepped
// yet and acts on the decisions. Figures of a firing incident are written
// once per evaluation (the last decision's), not once per minute.
func (r *evalRun) step(ctx context.Context, w *Watch) error {
	from, to := r.span(w)
	if from.After(to) {
		return nil
	}
	counts, err := r.e.Stats.MinuteCounts(ctx, w.Dimension, from, to.Add(time.Minute))
	if err != nil {
		return fmt.Errorf("minute counts: %w", err)
	}
	p := r.e.params()
	var firing *Decision
	for m := from; !m.After(to); m = m.Add(time.Minute) {
		st, d := p.Step(w.State, counts.Get(Key{Dimension: w.Dimension, Minute: m}), w.Baseline, m)
		w.State = st
		r.sum.Minutes++
		switch {
		case d.Action != ActionNone:
			firing = nil
			if err := r.decide(ctx, w, d); err != nil {
				return err
			}
		case d.Firing && d.Skipped == "":
			firing = &d
		}
	}
	if firing != nil {
		return r.decide(ctx, w, *firing)
	}
	return nil
}

// span is the minutes to step: from the one after the watch's last (for a
// new watch, the last hour) to the last closed minute, at most MaxCatchUp.
func (r *evalRun) span(w *Watch) (from, to time.Time) {
	n := r.e.maxCatchUp()
	to = r.last
	if w.State.Minute.IsZero() {
		from = r.last.Add(-time.Duration(min(n, 60)-1) * time.Minute)
	} else {
		from = w.State.Minute.Add(time.Minute)
	}
	if limit := from.Add(time.Duration(n-1) * time.Minute); to.After(limit) {
		to = limit
	}
	return from, to
}

// pipeline runs the silence rule once the all dimension is caught up (its
// LastCall is then current): a pipeline incident opens when a run has
// been due for Silence.Minutes with no call outcome since, and resolves
// when outcomes come again.
func (r *evalRun) pipeline(ctx context.Context, all *Watch) (*Watch, error) {
	if all == nil || !all.State.Minute.Equal(r.last) {
		return nil, nil
	}
	w, err := r.loadWatch(ctx, PipelineWatch)
	if err != nil {
		return nil, err
	}
	if err := r.remember(ctx, w); err != nil {
		return nil, err
	}
	var open *snapkeep.Incident
	for _, inc := range r.open {
		if inc.Kind == snapkeep.IncidentPipeline && inc.Open() {
			open = inc
		}
	}
	if open, err = r.refresh(ctx, open); err != nil {
		return nil, err
	}
	act := Activity{LastCall: all.State.LastCall}
	from := r.now.Add(-silenceLookback)
	if !act.LastCall.IsZero() {
		from = act.LastCall.Add(time.Minute)
	}
	// A run due after the last call can have waited Silence.Minutes only
	// if the last call is older than that: otherwise skip the read.
	quiet := act.LastCall.IsZero() || r.now.Sub(from) >= time.Duration(r.e.silence().Minutes)*time.Minute
	if open == nil && quiet {
		if act.FirstDue, err = r.e.Runs.FirstDue(ctx, from, r.now); err != nil {
			return nil, fmt.Errorf("first due run: %w", err)
		}
	}
	next, tr := r.e.silence().Evaluate(open, act, r.now)
	if err := r.apply(ctx, w, open, next, tr); err != nil {
		return nil, err
	}
	return w, nil
}

func (e *Evaluator) now() time.Time {
	if e.Now == nil {
		return time.Now().UTC()
	}
	return e.Now().UTC()
}

func (e *Evaluator) params() Params {
	if e.Params == nil {
		return DefaultParams()
	}
	return *e.Params
}

func (e *Evaluator) silence() SilenceRule {
	if e.Silence.Minutes == 0 {
		return DefaultSilenceRule()
	}
	return e.Silence
}

func (e *Evaluator) lag() time.Duration          { return cmp.Or(e.Lag, DefaultLag) }
func (e *Evaluator) maxCatchUp() int             { return cmp.Or(e.MaxCatchUp, DefaultMaxCatchUp) }
func (e *Evaluator) maxDimensions() int          { return cmp.Or(e.MaxDimensions, DefaultMaxDimensions) }
func (e *Evaluator) claimTimeout() time.Duration { return cmp.Or(e.ClaimTimeout, DefaultClaimTimeout) }

func (e *Evaluator) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.Default()
	}
	return e.Logger
}

// dayOf is t's UTC midnight.
func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
