package escalation_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/escalation/escalationtest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// countingSource records every read Build makes through a Source.
type countingSource struct {
	escalation.Source
	counts map[string]int
	hours  []string
	// ranges holds the [from, to) of every ranged read.
	ranges []readRange
}

type readRange struct {
	method   string
	from, to time.Time
}

func newCounting(src escalation.Source) *countingSource {
	return &countingSource{Source: src, counts: map[string]int{}}
}

func (c *countingSource) note(method string, from, to time.Time) {
	c.counts[method]++
	c.ranges = append(c.ranges, readRange{method, from, to})
}

func (c *countingSource) DailyCounts(ctx context.Context, dim snapkeep.Dimension, from, to time.Time) ([]escalation.DayCounts, error) {
	c.note("DailyCounts", from, to)
	return c.Source.DailyCounts(ctx, dim, from, to)
}

func (c *countingSource) WindowCounts(ctx context.Context, dim snapkeep.Dimension, from, to time.Time) (escalation.CallCounts, error) {
	c.note("WindowCounts", from, to)
	return c.Source.WindowCounts(ctx, dim, from, to)
}

func (c *countingSource) TerminalRuns(ctx context.Context, from, to time.Time) (escalation.RunCounts, error) {
	c.note("TerminalRuns", from, to)
	return c.Source.TerminalRuns(ctx, from, to)
}

func (c *countingSource) FailedCalls(ctx context.Context, hour string) ([]snapkeep.APICall, error) {
	c.counts["FailedCalls"]++
	c.hours = append(c.hours, hour)
	return c.Source.FailedCalls(ctx, hour)
}

func (c *countingSource) ResourceRuns(ctx context.Context, key string, from, to time.Time) ([]snapkeep.Run, error) {
	c.note("ResourceRuns", from, to)
	return c.Source.ResourceRuns(ctx, key, from, to)
}

func (c *countingSource) FailedRuns(ctx context.Context, class snapkeep.ErrorClass, from, to time.Time) ([]snapkeep.Run, error) {
	c.note("FailedRuns", from, to)
	return c.Source.FailedRuns(ctx, class, from, to)
}

// TestBuildReadsBounded checks Build reads through the interfaces only,
// each method a bounded number of times: the failures-by-hour index once
// per hour of the window (each hour once, none outside it), the minute
// counts once per day of the window and at most twice more for the rest
// of a day not rolled up yet (never past now), never "everything".
func TestBuildReadsBounded(t *testing.T) {
	sc := scenario(t)
	tests := []struct {
		name string
		in   escalation.BuildInput
	}{
		{"resolved incident", escalation.BuildInput{Incident: sc.Incident, Now: sc.Now}},
		{"open incident", escalation.BuildInput{Incident: openIncident(sc), Now: escalationtest.FixtureChange.Add(3*time.Hour + 20*time.Minute)}},
		{"range of 24h", escalation.BuildInput{From: sc.Now.Add(-24 * time.Hour), To: sc.Now, Now: sc.Now}},
		{"range of 7 days", escalation.BuildInput{From: sc.Now.Add(-escalation.MaxWindow), To: sc.Now, Now: sc.Now}},
		{"forced resource", escalation.BuildInput{Incident: sc.Incident, Now: sc.Now, ResourceKey: "droplet:3170001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newCounting(sc.Source)
			r, err := escalation.Build(context.Background(), src, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			w := r.Window
			hours := int(w.To.Sub(w.From.Truncate(time.Hour)).Hours() + 0.999999)
			firstDay := w.From.Truncate(24 * time.Hour)
			days := int(w.To.Add(-time.Nanosecond).Truncate(24*time.Hour).Sub(firstDay)/(24*time.Hour)) + 1
			want := map[string][2]int{ // method: min, max calls
				"DailyCounts": {1, 1}, "WindowCounts": {days, days + 2}, "TerminalRuns": {1, 1},
				"FailedCalls": {hours, hours}, "ResourceRuns": {1, escalation.MaxDeepDiveCandidates},
				"FailedRuns": {len(snapkeep.ErrorClasses()), len(snapkeep.ErrorClasses())},
			}
			for m, lim := range want {
				if n := src.counts[m]; n < lim[0] || n > lim[1] {
					t.Errorf("%s called %d times, want %d..%d", m, n, lim[0], lim[1])
				}
			}
			seen := map[string]bool{}
			for _, h := range src.hours {
				at, err := time.Parse(snapkeep.FailureHourFormat, h)
				if err != nil || seen[h] || at.Before(w.From.Truncate(time.Hour)) || !at.Before(w.To) {
					t.Errorf("FailedCalls(%q): not a distinct hour of the window %v", h, w)
				}
				seen[h] = true
			}
			earliest := w.To.AddDate(0, 0, -escalation.DailyDays-1)
			var minutes []readRange // WindowCounts reads, in order: none may share a minute
			for _, rr := range src.ranges {
				if rr.method == "WindowCounts" {
					minutes = append(minutes, rr)
				}
			}
			sort.Slice(minutes, func(i, j int) bool { return minutes[i].from.Before(minutes[j].from) })
			for i := 1; i < len(minutes); i++ {
				prev, cur := minutes[i-1], minutes[i]
				if last := prev.to.Add(-time.Nanosecond).Truncate(time.Minute); !last.Before(cur.from.Truncate(time.Minute)) {
					t.Errorf("WindowCounts read [%v, %v) and [%v, %v): the minute %v twice", prev.from, prev.to, cur.from, cur.to, last)
				}
			}
			for _, rr := range src.ranges {
				if rr.from.Before(earliest) || rr.to.After(w.To.AddDate(0, 0, 1)) || !rr.from.Before(rr.to) {
					t.Errorf("%s read [%v, %v): outside the 30 days up to the window", rr.method, rr.from, rr.to)
				}
				switch rr.method {
				case "DailyCounts":
				case "WindowCounts":
					if rr.from.Before(firstDay) || rr.to.After(tt.in.Now) {
						t.Errorf("%s read [%v, %v): beyond the window's days up to now %v", rr.method, rr.from, rr.to, tt.in.Now)
					}
				default:
					if rr.from.Before(w.From.Truncate(time.Hour)) || rr.to.After(w.To) {
						t.Errorf("%s read [%v, %v): beyond the window %v", rr.method, rr.from, rr.to, w)
					}
				}
			}
		})
	}
}

func openIncident(sc *escalationtest.Scenario) *snapkeep.Incident {
	inc := *sc.Incident
	inc.State, inc.OpenState, inc.ResolvedAt = snapkeep.IncidentFiring, snapkeep.OpenIncident, nil
	return &inc
}

func TestBuildWindow(t *testing.T) {
	sc := scenario(t)
	now := escalationtest.FixtureChange.Add(3*time.Hour + 20*time.Minute)
	tests := []struct {
		name      string
		in        escalation.BuildInput
		from, to  time.Time
		dimension snapkeep.Dimension
	}{
		{"resolved incident: change point to resolution", escalation.BuildInput{Incident: sc.Incident, Now: sc.Now},
			escalationtest.FixtureChange, escalationtest.FixtureResolved, escalationtest.FixtureDimension},
		{"open incident: change point to now", escalation.BuildInput{Incident: openIncident(sc), Now: now},
			escalationtest.FixtureChange, now, escalationtest.FixtureDimension},
		{"incident with an explicit window", escalation.BuildInput{Incident: sc.Incident, Now: sc.Now,
			From: escalationtest.FixtureChange.Add(-time.Hour), To: sc.Now},
			escalationtest.FixtureChange.Add(-time.Hour), sc.Now, escalationtest.FixtureDimension},
		{"range without dimension is all", escalation.BuildInput{From: now.Add(-time.Hour), To: now, Now: now},
			now.Add(-time.Hour), now, snapkeep.DimensionAll},
		{"range of a region", escalation.BuildInput{From: now.Add(-time.Hour), To: now, Now: now, Dimension: snapkeep.RegionDimension("sfo3")},
			now.Add(-time.Hour), now, "region:sfo3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := escalation.Build(context.Background(), sc.Source, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Window.From.Equal(tt.from) || !r.Window.To.Equal(tt.to) || r.Dimension != tt.dimension {
				t.Errorf("window %v dimension %s, want [%v, %v) %s", r.Window, r.Dimension, tt.from, tt.to, tt.dimension)
			}
			for _, c := range r.Affected {
				if !r.Window.Contains(c.At) {
					t.Errorf("affected call at %v outside the window", c.At)
				}
				if tt.dimension == "region:sfo3" && c.Region != "sfo3" {
					t.Errorf("affected call in %s, want sfo3 only", c.Region)
				}
			}
		})
	}
}

func TestBuildRejects(t *testing.T) {
	sc := scenario(t)
	now := sc.Now
	tests := []struct {
		name string
		in   escalation.BuildInput
		want string
	}{
		{"no now", escalation.BuildInput{Incident: sc.Incident}, "now is required"},
		{"no window, no incident", escalation.BuildInput{Now: now}, "a window (from and to) or an incident is required"},
		{"only from", escalation.BuildInput{Now: now, From: now.Add(-time.Hour)}, "a window (from and to) or an incident is required"},
		{"from after to", escalation.BuildInput{Now: now, From: now, To: now.Add(-time.Hour)}, "is not before to"},
		{"in the future", escalation.BuildInput{Now: now, From: now.Add(-time.Hour), To: now.Add(time.Hour)}, "after now"},
		{"too long", escalation.BuildInput{Now: now, From: now.Add(-8 * 24 * time.Hour), To: now}, "is 8d long; at most 7d"},
		{"bad dimension", escalation.BuildInput{Now: now, From: now.Add(-time.Hour), To: now, Dimension: "zone:x"},
			`dimension "zone:x": want all, region:<slug> or operation:<name>`},
		{"empty region", escalation.BuildInput{Now: now, From: now.Add(-time.Hour), To: now, Dimension: "region:"}, "dimension"},
		{"negative rows", escalation.BuildInput{Now: now, From: now.Add(-time.Hour), To: now, InlineRows: -1}, "may not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := escalation.Build(context.Background(), sc.Source, tt.in)
			if err == nil {
				t.Fatal("Build succeeded, want an error")
			}
			if !errors.Is(err, snapkeep.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}

// TestBuildSourceErrors checks a failing read is reported with what was read.
func TestBuildSourceErrors(t *testing.T) {
	sc := scenario(t)
	boom := errors.New("throttled")
	tests := []struct {
		method string
		want   string
	}{
		{"DailyCounts", "daily counts of operation:snapshot_droplet: throttled"},
		{"FailedCalls", "failed calls of hour 2026-11-24T06: throttled"},
		{"ResourceRuns", "runs of droplet:3164444: throttled"},
		{"FailedRuns", "failed runs of class provider_error: throttled"},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			src := &failingSource{Source: sc.Source, method: tt.method, err: boom}
			_, err := escalation.Build(context.Background(), src, escalation.BuildInput{Incident: sc.Incident, Now: sc.Now})
			if !errors.Is(err, boom) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one wrapping %v containing %q", err, boom, tt.want)
			}
		})
	}
}

type failingSource struct {
	escalation.Source
	method string
	err    error
}

func (f *failingSource) DailyCounts(ctx context.Context, dim snapkeep.Dimension, from, to time.Time) ([]escalation.DayCounts, error) {
	if f.method == "DailyCounts" {
		return nil, f.err
	}
	return f.Source.DailyCounts(ctx, dim, from, to)
}

func (f *failingSource) FailedCalls(ctx context.Context, hour string) ([]snapkeep.APICall, error) {
	if f.method == "FailedCalls" {
		return nil, f.err
	}
	return f.Source.FailedCalls(ctx, hour)
}

func (f *failingSource) ResourceRuns(ctx context.Context, key string, from, to time.Time) ([]snapkeep.Run, error) {
	if f.method == "ResourceRuns" {
		return nil, f.err
	}
	return f.Source.ResourceRuns(ctx, key, from, to)
}

func (f *failingSource) FailedRuns(ctx context.Context, class snapkeep.ErrorClass, from, to time.Time) ([]snapkeep.Run, error) {
	if f.method == "FailedRuns" {
		return nil, f.err
	}
	return f.Source.FailedRuns(ctx, class, from, to)
}

// TestDeepDive checks the timeline follows the hourly droplet, with the
// request ids of its failed attempts, and that a forced resource wins.
func TestDeepDive(t *testing.T) {
	sc := scenario(t)
	r := incidentReport(t)
	tl := r.Timeline
	if tl == nil || tl.ResourceKey != sc.HourlyResource || !tl.Hourly {
		t.Fatalf("timeline = %+v, want the hourly %s", tl, sc.HourlyResource)
	}
	if len(tl.Runs) != 13 {
		t.Errorf("timeline has %d runs, want the 13 hourly slots 06:15..18:15", len(tl.Runs))
	}
	byID := map[string]escalation.AffectedCall{}
	for _, c := range r.Affected {
		byID[c.RequestID] = c
	}
	failed := 0
	for _, run := range tl.Runs {
		if run.Status == snapkeep.RunFailed {
			failed++
			if run.Class != snapkeep.ClassProviderError || run.Attempts != 3 {
				t.Errorf("failed run %+v, want provider_error after 3 attempts", run)
			}
		}
		if run.FailedCalls > 0 && len(run.RequestIDs) == 0 {
			t.Errorf("run %v had %d failed calls but no request ids", run.Slot, run.FailedCalls)
		}
		for _, id := range run.RequestIDs {
			if c, ok := byID[id]; ok && c.ResourceKey != sc.HourlyResource {
				t.Errorf("run %v lists request id %s of %s", run.Slot, id, c.ResourceKey)
			}
		}
	}
	if failed != 1 {
		t.Errorf("%d failed runs in the timeline, want 1", failed)
	}
	forced, err := escalation.Build(context.Background(), sc.Source, escalation.BuildInput{Incident: sc.Incident, Now: sc.Now,
		ResourceKey: "droplet:3170001"})
	if err != nil {
		t.Fatal(err)
	}
	if forced.Timeline.ResourceKey != "droplet:3170001" || forced.Timeline.Chosen != "asked for" || len(forced.Timeline.Runs) != 1 {
		t.Errorf("forced timeline = %+v, want droplet:3170001's one run", forced.Timeline)
	}
}

// TestMaxRows checks a report keeps at most MaxRows affected calls, counts
// the rest and says so.
func TestMaxRows(t *testing.T) {
	sc := scenario(t)
	r, err := escalation.Build(context.Background(), sc.Source, escalation.BuildInput{Incident: sc.Incident, Now: sc.Now, MaxRows: 10, InlineRows: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Affected) != 10 || r.AffectedTotal <= 10 {
		t.Errorf("kept %d of %d, want 10 of more", len(r.Affected), r.AffectedTotal)
	}
	note := fmt.Sprintf("%d affected calls are counted but not listed: a report keeps at most 10.", r.AffectedTotal-10)
	if len(r.Notes) != 1 || r.Notes[0] != note {
		t.Errorf("notes = %q, want [%q]", r.Notes, note)
	}
	if md := string(render(t, r, escalation.FormatMarkdown)); !strings.Contains(md, "## Notes\n\n"+note) {
		t.Error("the Markdown does not show the note")
	}
}

// TestNoFailures checks a quiet window renders every section with a
// sentence saying there is nothing, and no deep dive.
func TestNoFailures(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	src := escalationtest.NewSource(from, from.AddDate(0, 0, 31))
	for m := from; m.Before(from.AddDate(0, 0, 31)); m = m.Add(time.Minute) {
		src.CountCalls(m, "nyc3", snapkeep.OpSnapshotDroplet, 3)
	}
	now := from.AddDate(0, 0, 31)
	r, err := escalation.Build(context.Background(), src, escalation.BuildInput{From: now.Add(-time.Hour), To: now, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if r.Timeline != nil || r.AffectedTotal != 0 || r.InWindow.Calls != 180 {
		t.Errorf("timeline %v, affected %d, calls %d; want none, 0, 180", r.Timeline, r.AffectedTotal, r.InWindow.Calls)
	}
	txt := strings.Join(strings.Fields(string(render(t, r, escalation.FormatText))), " ") // unwrapped
	for _, want := range []string{"No provider-side failed calls in the window.", "No provider errors in the window.",
		"No failing calls to sample.", "No affected resource to follow.", "No run failed in the window.",
		"against no provider-side failures in 125,280 calls over the other 29 of the last 30 days.",
		"the baseline had no provider-side failures in 125,280 calls.", "No droplet or volume was affected; no backup run failed"} {
		if !strings.Contains(txt, want) {
			t.Errorf("text lacks %q", want)
		}
	}
}
