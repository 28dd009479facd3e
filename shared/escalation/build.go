package escalation

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Bounds on what a report holds, so that its size and Build's cost follow
// the affected items and never the total traffic.
const (
	// DailyDays is how many UTC days the daily table and chart cover.
	DailyDays = 30
	// MaxWindow bounds the window: the failures-by-hour index is read one
	// hour at a time, so a week is 168 reads.
	MaxWindow = 7 * 24 * time.Hour
	// DefaultInlineRows is how many affected calls the renderings show
	// inline when BuildInput.InlineRows is 0 (the CSV holds them all).
	DefaultInlineRows = 25
	// DefaultMaxRows bounds the affected calls a report keeps (and the CSV
	// holds) when BuildInput.MaxRows is 0; the rest are only counted.
	DefaultMaxRows = 100_000
	// MaxHeaderSamples bounds the header samples.
	MaxHeaderSamples = 10
	// MaxTopErrors bounds the top provider errors listed.
	MaxTopErrors = 10
	// MaxDeepDiveCandidates bounds the resources whose runs are read to
	// pick the deep-dive resource (one by-resource Query each).
	MaxDeepDiveCandidates = 5
	// MaxTimelineRuns bounds the deep-dive runs listed.
	MaxTimelineRuns = 200
	// MaxRunRequestIDs bounds the request ids listed per deep-dive run.
	MaxRunRequestIDs = 8
	// MaxInlineResources bounds the affected resources listed inline.
	MaxInlineResources = 25
)

// BuildInput says what to report on.
type BuildInput struct {
	// Incident is the incident reported on; nil for a range report (then
	// From and To are required).
	Incident *snapkeep.Incident
	// From and To override the window; zero takes the incident's: its
	// change point to its resolution, or to Now while it is open.
	From, To time.Time
	// Now is the time of the report; the window may not end after it.
	Now time.Time
	// Dimension is the traffic to report on without an incident; empty
	// means all. With an incident the incident's dimension is used.
	Dimension snapkeep.Dimension
	// ResourceKey forces the deep-dive resource (e.g. "droplet:3164444");
	// empty picks the affected resource with the most runs in the window,
	// preferring hourly policies.
	ResourceKey string
	// InlineRows is how many affected calls to show inline (0: DefaultInlineRows).
	InlineRows int
	// MaxRows bounds the affected calls kept for the CSV (0: DefaultMaxRows).
	MaxRows int
}

// plan is a validated BuildInput.
type plan struct {
	in       BuildInput
	dim      snapkeep.Dimension
	match    func(*snapkeep.APICall) bool
	window   Window
	daily    Window
	hours    []string
	inline   int
	maxRows  int
	resource string
}

// Build gathers the escalation report through src, reading only indexes:
// one daily roll-up read, one window count per UTC day the window
// overlaps (and at most two more in all for the rest of a window day not
// rolled up yet), one run count, one failures-by-hour Query per hour of
// the window, at most MaxDeepDiveCandidates by-resource Queries and one
// failures-by-class Query per error class. Its time and memory grow with
// the failed calls and runs of the window, never with the total traffic.
// Bad input is an error wrapping snapkeep.ErrInvalid.
func Build(ctx context.Context, src Source, in BuildInput) (*Report, error) {
	p, err := newPlan(in)
	if err != nil {
		return nil, fmt.Errorf("escalation report: %w", err)
	}
	r := &Report{
		GeneratedAt: in.Now.UTC(),
		Incident:    in.Incident,
		Dimension:   p.dim,
		Window:      p.window,
		InlineRows:  p.inline,
	}
	if err := gatherCounts(ctx, src, p, r); err != nil {
		return nil, fmt.Errorf("escalation report: %w", err)
	}
	g := newCallGatherer(p)
	for _, hour := range p.hours {
		calls, err := src.FailedCalls(ctx, hour)
		if err != nil {
			return nil, fmt.Errorf("escalation report: failed calls of hour %s: %w", hour, err)
		}
		g.add(calls)
	}
	g.finish(r)
	if r.Timeline, err = deepDive(ctx, src, p, g); err != nil {
		return nil, fmt.Errorf("escalation report: %w", err)
	}
	if err := gatherImpact(ctx, src, p, &r.Impact); err != nil {
		return nil, fmt.Errorf("escalation report: %w", err)
	}
	return r, nil
}

// newPlan validates in and works out the window, the dimension and the
// hours to read.
func newPlan(in BuildInput) (*plan, error) {
	if in.Now.IsZero() {
		return nil, fmt.Errorf("now is required: %w", snapkeep.ErrInvalid)
	}
	p := &plan{in: in, dim: in.Dimension, inline: in.InlineRows, maxRows: in.MaxRows,
		resource: strings.TrimSpace(in.ResourceKey)}
	from, to := in.From, in.To
	if inc := in.Incident; inc != nil {
		p.dim = inc.Dimension
		if from.IsZero() {
			from = inc.StartedAt
		}
		if to.IsZero() {
			to = in.Now
			if inc.ResolvedAt != nil {
				to = *inc.ResolvedAt
			}
		}
	}
	if p.dim == "" {
		p.dim = snapkeep.DimensionAll
	}
	var err error
	if p.match, err = matcher(p.dim); err != nil {
		return nil, err
	}
	if p.window, err = checkWindow(from, to, in.Now); err != nil {
		return nil, err
	}
	if p.inline < 0 || p.maxRows < 0 {
		return nil, fmt.Errorf("inline rows %d and max rows %d may not be negative: %w", p.inline, p.maxRows, snapkeep.ErrInvalid)
	}
	if p.inline == 0 {
		p.inline = DefaultInlineRows
	}
	if p.maxRows == 0 {
		p.maxRows = DefaultMaxRows
	}
	lastDay := dayOf(p.window.To.Add(-time.Nanosecond))
	p.daily = Window{From: lastDay.AddDate(0, 0, 1-DailyDays), To: lastDay.AddDate(0, 0, 1)}
	p.hours = hoursOf(p.window)
	return p, nil
}

// checkWindow returns [from, to) in UTC, or an error saying what is wrong.
func checkWindow(from, to, now time.Time) (Window, error) {
	switch {
	case from.IsZero() || to.IsZero():
		return Window{}, fmt.Errorf("a window (from and to) or an incident is required: %w", snapkeep.ErrInvalid)
	case !from.Before(to):
		return Window{}, fmt.Errorf("window from %s is not before to %s: %w", stamp(from), stamp(to), snapkeep.ErrInvalid)
	case to.After(now):
		return Window{}, fmt.Errorf("window ends at %s, after now (%s): %w", stamp(to), stamp(now), snapkeep.ErrInvalid)
	case to.Sub(from) > MaxWindow:
		return Window{}, fmt.Errorf("window %s to %s is %s long; at most %s (the failures-by-hour index is read one hour at a time): %w",
			stamp(from), stamp(to), shortDuration(to.Sub(from)), shortDuration(MaxWindow), snapkeep.ErrInvalid)
	}
	return Window{From: from.UTC(), To: to.UTC()}, nil
}

// matcher returns whether a call belongs to dim.
func matcher(dim snapkeep.Dimension) (func(*snapkeep.APICall) bool, error) {
	s := string(dim)
	switch {
	case dim == snapkeep.DimensionAll:
		return func(*snapkeep.APICall) bool { return true }, nil
	case strings.HasPrefix(s, "region:") && len(s) > len("region:"):
		region := strings.TrimPrefix(s, "region:")
		return func(c *snapkeep.APICall) bool { return c.Region == region }, nil
	case strings.HasPrefix(s, "operation:") && len(s) > len("operation:"):
		op := snapkeep.Operation(strings.TrimPrefix(s, "operation:"))
		return func(c *snapkeep.APICall) bool { return c.Operation == op }, nil
	}
	return nil, fmt.Errorf("dimension %q: want all, region:<slug> or operation:<name>: %w", snapkeep.Bound(s, 64), snapkeep.ErrInvalid)
}

// hoursOf lists the failures-by-hour partitions w touches.
func hoursOf(w Window) []string {
	var hours []string
	for h := w.From.Truncate(time.Hour); h.Before(w.To); h = h.Add(time.Hour) {
		hours = append(hours, h.Format(snapkeep.FailureHourFormat))
	}
	return hours
}

// dayOf returns t's UTC midnight.
func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// gatherCounts reads the daily roll-ups, the window's counts (one
// WindowCounts read per UTC day the window overlaps) and the terminal
// runs, and works out the baseline from the days the window does not
// touch.
func gatherCounts(ctx context.Context, src StatsReader, p *plan, r *Report) error {
	days, err := src.DailyCounts(ctx, p.dim, p.daily.From, p.daily.To)
	if err != nil {
		return fmt.Errorf("daily counts of %s: %w", p.dim, err)
	}
	byDay := make(map[time.Time]CallCounts, DailyDays)
	for _, d := range days {
		day := dayOf(d.Day)
		if p.daily.Contains(day) {
			byDay[day] = byDay[day].Add(d.CallCounts)
		}
	}
	r.Daily = make([]DailyRow, 0, DailyDays)
	for day := p.daily.From; day.Before(p.daily.To); day = day.AddDate(0, 0, 1) {
		counts, rolledUp := byDay[day]
		row := DailyRow{DayCounts: DayCounts{Day: day, CallCounts: counts}, Through: day.AddDate(0, 0, 1)}
		switch {
		case p.window.Overlaps(Window{From: day, To: row.Through}):
			if err := windowDay(ctx, src, p, &row, rolledUp, &r.InWindow); err != nil {
				return err
			}
		default:
			r.Baseline = r.Baseline.Add(counts)
			r.BaselineDays++
			if counts.Calls > 0 {
				r.BaselineCallDays++
			}
		}
		r.Daily = append(r.Daily, row)
	}
	if r.Impact.Terminal, err = src.TerminalRuns(ctx, p.window.From, p.window.To); err != nil {
		return fmt.Errorf("terminal run counts: %w", err)
	}
	return nil
}

// windowDay adds the window's part of row's day to in and, when the
// roll-ups do not hold the day yet (the day in progress, or one the
// detector has not rolled up), counts the row from the per-minute rows
// instead: the window's part just read, plus the rest of the day up to
// the report's time. The rest is read in whole minutes beside the
// window's, so no minute is read or counted twice. A finished day whose
// minutes hold no call is not marked FromMinutes: the detector never
// rolls up a day without calls, so no roll-up is pending.
func windowDay(ctx context.Context, src StatsReader, p *plan, row *DailyRow, rolledUp bool, in *CallCounts) error {
	day := Window{From: row.Day, To: row.Through}
	part := Window{From: later(day.From, p.window.From), To: earlier(day.To, p.window.To)}
	c, err := src.WindowCounts(ctx, p.dim, part.From, part.To)
	if err != nil {
		return fmt.Errorf("window counts of %s: %w", p.dim, err)
	}
	*in = in.Add(c)
	if rolledUp {
		return nil
	}
	row.FromMinutes, row.Through, row.CallCounts = true, earlier(day.To, p.in.Now.UTC()), c
	rest := []Window{{From: day.From, To: part.From.Truncate(time.Minute)}, {From: ceilMinute(part.To), To: row.Through}}
	for _, w := range rest {
		if !w.From.Before(w.To) {
			continue
		}
		c, err := src.WindowCounts(ctx, p.dim, w.From, w.To)
		if err != nil {
			return fmt.Errorf("counts of %s on %s, not rolled up yet: %w", p.dim, day.From.Format(layoutDay), err)
		}
		row.CallCounts = row.CallCounts.Add(c)
	}
	if !row.Partial() && row.CallCounts.Calls == 0 {
		// A finished day without calls gets no roll-up (the detector
		// writes none for it): it is a day without calls, not one
		// waiting for its roll-up.
		row.FromMinutes = false
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// ceilMinute rounds t up to a whole minute.
func ceilMinute(t time.Time) time.Time {
	if m := t.Truncate(time.Minute); m.Before(t) {
		return m.Add(time.Minute)
	}
	return t
}
