package escalation_test

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/escalation/escalationtest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// The small fleets of these tests: a report at 12:00 on smallToday about
// an incident from 06:00 to 11:00 on snapshot_droplet.
var (
	smallToday = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	smallNow   = smallToday.Add(12 * time.Hour)
	smallFrom  = smallToday.Add(6 * time.Hour)
	smallTo    = smallToday.Add(11 * time.Hour)
)

// smallFleet describes a small fleet's traffic for one report.
type smallFleet struct {
	// history is the calls and provider-side failures of the days before
	// today, by how many days before (1: yesterday).
	history map[int][2]int
	// before, inWindow and after are today's successful calls before,
	// in and after the window.
	before, inWindow, after int
	// failures are the window's provider-side failures, spread over it,
	// on resources different droplets in as many accounts; the first
	// failedRuns of them failed their run (one customer each).
	failures, resources, failedRuns int
	// floor is the detector's baseline rate (the incident's).
	floor float64
	// kind is the incident's kind (default provider), or noIncident for
	// a report on the window alone.
	kind snapkeep.IncidentKind
	// inline is the report's InlineRows (0: the default).
	inline int
}

// noIncident as a smallFleet's kind reports on the window alone, as
// snapctl report --since does.
const noIncident snapkeep.IncidentKind = "none"

// build fills a Source with f and builds the report of its incident.
func (f smallFleet) build(t *testing.T) (*escalation.Report, *escalationtest.Source) {
	t.Helper()
	src := escalationtest.NewSource(smallToday.AddDate(0, 0, -escalation.DailyDays), smallNow)
	for ago, c := range f.history {
		day, ok := smallToday.AddDate(0, 0, -ago), c[0]-c[1]
		// The successes a third each at 06:00, 13:00 and 18:00.
		src.CountCalls(day.Add(6*time.Hour), "nyc3", snapkeep.OpSnapshotDroplet, ok/3)
		src.CountCalls(day.Add(13*time.Hour), "nyc3", snapkeep.OpSnapshotDroplet, ok/3)
		src.CountCalls(day.Add(18*time.Hour), "nyc3", snapkeep.OpSnapshotDroplet, ok-2*(ok/3))
		noon := day.Add(12 * time.Hour)
		for i := 0; i < c[1]; i++ {
			src.AddCall(f.failedCall(noon.Add(time.Duration(i)*time.Second), i))
		}
	}
	src.CountCalls(smallToday.Add(time.Hour), "nyc3", snapkeep.OpSnapshotDroplet, f.before)
	src.CountCalls(smallFrom.Add(30*time.Minute), "nyc3", snapkeep.OpSnapshotDroplet, f.inWindow)
	src.CountCalls(smallTo.Add(20*time.Minute), "nyc3", snapkeep.OpSnapshotDroplet, f.after)
	for i := 0; i < f.failures; i++ {
		at := smallFrom.Add(time.Duration(i+1) * smallTo.Sub(smallFrom) / time.Duration(f.failures+1)).Truncate(time.Minute)
		src.AddCall(f.failedCall(at, i%max(f.resources, 1)))
		if i < f.failedRuns {
			src.AddRun(f.failedRun(at, i))
		}
	}
	r, err := escalation.Build(context.Background(), src, f.input())
	if err != nil {
		t.Fatal(err)
	}
	return r, src
}

// input is what the report is built from: f's incident (by its kind) or
// its window alone.
func (f smallFleet) input() escalation.BuildInput {
	in := escalation.BuildInput{Now: smallNow, InlineRows: f.inline}
	resolved := smallTo
	switch f.kind {
	case noIncident:
		in.From, in.To = smallFrom, smallTo
	case snapkeep.IncidentPipeline:
		in.Incident = &snapkeep.Incident{IncidentID: "pipeline#all#2026-11-24T06:00Z", Kind: snapkeep.IncidentPipeline,
			Dimension: snapkeep.DimensionAll, Class: snapkeep.ClassInternal, State: snapkeep.IncidentResolved,
			StartedAt: smallFrom, OpenedAt: smallFrom.Add(20 * time.Minute), ResolvedAt: &resolved, Detector: "silence"}
	default:
		in.Incident = &snapkeep.Incident{IncidentID: "provider_error#operation:snapshot_droplet#2026-11-24T06:00Z",
			Kind: snapkeep.IncidentProvider, Dimension: snapkeep.OperationDimension(snapkeep.OpSnapshotDroplet),
			State: snapkeep.IncidentResolved, StartedAt: smallFrom, OpenedAt: smallFrom.Add(20 * time.Minute),
			ResolvedAt: &resolved, Detector: "cusum", BaselineRate: f.floor}
	}
	return in
}

func (f smallFleet) failedCall(at time.Time, n int) snapkeep.APICall {
	id := fmt.Sprint(3_170_000 + n)
	return snapkeep.APICall{RunID: fmt.Sprintf("pol-%s#%s", id, at.Truncate(time.Minute).Format(time.RFC3339)), Seq: 1,
		ResourceKey: "droplet:" + id, Region: "nyc3", AccountID: "acct-" + id, Operation: snapkeep.OpSnapshotDroplet,
		Method: "POST", Path: "/v2/droplets/" + id + "/actions", StartedAt: at, StatusCode: 500, ErrorID: "server_error",
		ErrorMessage: "Server Error", ProviderRequestID: fmt.Sprintf("rid-%d-%d", at.Unix(), n), Class: snapkeep.ClassProviderError}
}

func (f smallFleet) failedRun(at time.Time, n int) snapkeep.Run {
	id := fmt.Sprint(3_170_000 + n)
	res := snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: id, Region: "nyc3"}
	slot, done := at.Truncate(time.Minute), at.Add(30*time.Minute)
	return snapkeep.Run{PolicyID: "pol-" + id, ScheduledAt: slot, CustomerID: "cust-" + id, AccountID: "acct-" + id,
		Resource: res, ResourceKey: res.Key(), Status: snapkeep.RunFailed, ErrorClass: snapkeep.ClassProviderError,
		Attempts: 3, APICalls: 6, FinishedAt: &done}
}

// everyDay is history on each of the n days before today.
func everyDay(n, calls, failures int) map[int][2]int {
	h := map[int][2]int{}
	for ago := 1; ago <= n; ago++ {
		h[ago] = [2]int{calls, failures}
	}
	return h
}

// prose is every rendering's text with whitespace folded, for phrases
// that the text format wraps.
func prose(t *testing.T, r *escalation.Report) map[escalation.Format]string {
	t.Helper()
	out := map[escalation.Format]string{}
	for _, f := range []escalation.Format{escalation.FormatText, escalation.FormatMarkdown, escalation.FormatHTML} {
		text := string(render(t, r, f))
		if f == escalation.FormatHTML {
			text = html.UnescapeString(text)
		}
		out[f] = strings.Join(strings.Fields(text), " ")
	}
	return out
}

// TestBaselineWording checks the summary and the incident section compare
// the window with each kind of baseline in plain English: a rate, calls
// without a failure, no calls at all, and a baseline of few days.
func TestBaselineWording(t *testing.T) {
	tests := []struct {
		name  string
		fleet smallFleet
		want  []string
	}{
		{"rate known", smallFleet{history: everyDay(29, 20_000, 10), inWindow: 950, failures: 50, resources: 5, floor: 0.0005},
			[]string{"against a baseline of 0.05% over the other 29 of the last 30 days (290 of 580,000): 100× the usual rate.",
				"error rate 5.0% against a baseline of 0.05%, 100× the baseline."}},
		{"zero-failure baseline", smallFleet{history: everyDay(29, 20_000, 0), inWindow: 950, failures: 50, resources: 5, floor: 0.0005},
			[]string{"against no provider-side failures in 580,000 calls over the other 29 of the last 30 days; the detector assumes a floor of 0.05%.",
				"error rate 5.0%; the baseline had no provider-side failures in 580,000 calls."}},
		{"one day of history, no failures (the demo)", smallFleet{history: map[int][2]int{1: {592, 0}}, before: 40, inWindow: 100,
			after: 10, failures: 10, resources: 5, floor: 0.0005},
			[]string{"against no provider-side failures in 592 calls over the 1 day with calls of the last 30; the detector assumes a floor of 0.05%.",
				"the baseline from 1 day with calls had no provider-side failures in 592 calls.", "baseline (1 of 29 days with calls)"}},
		{"no baseline calls", smallFleet{inWindow: 100, failures: 7, resources: 5, floor: 0.0005},
			[]string{"with no calls on the other 29 of the last 30 days to compare with; the detector assumes a floor of 0.05%.",
				"the baseline days had no calls, so there is no rate to compare with.", "baseline (0 of 29 days with calls)"}},
		{"thin baseline with a rate", smallFleet{history: everyDay(3, 10_000, 5), inWindow: 950, failures: 50, resources: 5},
			[]string{"against a baseline of 0.05% over the 3 days with calls of the last 30 (15 of 30,000): 100× the usual rate.",
				"against a baseline of 0.05% from 3 days with calls, 100× the baseline."}},
		{"no floor to state", smallFleet{history: everyDay(29, 20_000, 0), inWindow: 950, failures: 50, resources: 5},
			[]string{"against no provider-side failures in 580,000 calls over the other 29 of the last 30 days. "}},
	}
	bad := regexp.MustCompile(`no baseline|baseline of 0%|0% over the`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := tt.fleet.build(t)
			for f, text := range prose(t, r) {
				for _, want := range tt.want {
					if !strings.Contains(text, want) {
						t.Errorf("%s lacks %q", f, want)
					}
				}
				if m := bad.FindString(text); m != "" {
					t.Errorf("%s says %q", f, m)
				}
				if strings.Count(text, "the detector assumes a floor") > 1 {
					t.Errorf("%s states the floor more than once", f)
				}
			}
		})
	}
}

// noRate finds a rate, a ratio or a count stated for a window without
// calls: "0%", "0×", "(0 of 0)".
var noRate = regexp.MustCompile(`\b0%|0×|\b0 of 0\b`)

// TestNoCallsWording checks a window without a single call outcome — a
// pipeline incident (snapkeep stopped recording outcomes) or a quiet
// window — says plainly that there is no rate, in every sentence, for
// each kind of baseline, and never "0%", "0×" or "(0 of 0)".
func TestNoCallsWording(t *testing.T) {
	tests := []struct {
		name  string
		fleet smallFleet
		want  []string
	}{
		{"pipeline incident", smallFleet{history: everyDay(29, 20_000, 10), after: 10, kind: snapkeep.IncidentPipeline},
			[]string{"no call outcomes were recorded for snapkeep's calls to the DigitalOcean API, so there is no error rate to compare with the baseline of 0.05% over the other 29 of the last 30 days (290 of 580,000).",
				"This is a pipeline incident, not a rise in DigitalOcean's error rate: snapkeep recorded no call outcome after a snapshot fell due at 2026-11-24 06:00:00 UTC.",
				"no call outcomes were recorded in the window, so there is no error rate to compare with the baseline of 0.05%.",
				"Detector silence raised the alarm at 2026-11-24 06:20:00 UTC: a snapshot fell due at 2026-11-24 06:00:00 UTC and no call outcome had been recorded since, so snapkeep's own pipeline had stalled; there is no error rate to report. Resolved at 2026-11-24 11:00:00 UTC."}},
		{"pipeline incident, thin clean baseline", smallFleet{history: map[int][2]int{1: {592, 0}}, kind: snapkeep.IncidentPipeline},
			[]string{"so there is no error rate to compare with the baseline's (no provider-side failures in 592 calls over the 1 day with calls of the last 30).",
				"so there is no error rate to compare; the baseline from 1 day with calls had no provider-side failures in 592 calls."}},
		{"quiet window, clean baseline", smallFleet{history: everyDay(29, 20_000, 0), before: 40, kind: noIncident},
			[]string{"In the window 2026-11-24 06:00:00 – 11:00:00 UTC (5h), no call outcomes were recorded for snapkeep's calls to the DigitalOcean API, so there is no error rate to compare with the baseline's (no provider-side failures in 580,000 calls over the other 29 of the last 30 days). No failed call was recorded either, so no droplet or volume is known to be affected; no backup run failed on DigitalOcean's side.",
				"so there is no error rate to compare; the baseline had no provider-side failures in 580,000 calls."}},
		{"no calls at all", smallFleet{kind: noIncident},
			[]string{"so there is no error rate to compare, and the other 29 of the last 30 days had no calls either.",
				"so there is no error rate to compare, and the baseline days had no calls either."}},
		{"provider incident without calls", smallFleet{history: everyDay(29, 20_000, 10), floor: 0.0005},
			[]string{"so there is no error rate to compare with the baseline of 0.05% over",
				"its baseline was 0.05%, and it counted no calls since the change, so it has no rate since."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := tt.fleet.build(t)
			if r.InWindow.Calls != 0 {
				t.Fatalf("the window has %d calls, want none", r.InWindow.Calls)
			}
			for f, text := range prose(t, r) {
				for _, want := range tt.want {
					if !strings.Contains(text, want) {
						t.Errorf("%s lacks %q", f, want)
					}
				}
				if strings.Contains(text, "the usual rate") || strings.Contains(text, "the detector assumes a floor") {
					t.Errorf("%s compares a rate it does not have", f)
				}
			}
			if m := noRate.FindString(sentencesOf(string(render(t, r, escalation.FormatMarkdown)))); m != "" {
				t.Errorf("the report says %q of a window without calls", m)
			}
		})
	}
}

// TestInlineSentence checks the affected section says exactly how much of
// each table it shows: all of one, the first N of M of the other.
func TestInlineSentence(t *testing.T) {
	history := everyDay(29, 20_000, 10)
	tests := []struct {
		name  string
		fleet smallFleet
		want  string
	}{
		{"everything shown", smallFleet{history: history, inWindow: 100, failures: 5, resources: 5, inline: 10},
			"lists them too."},
		{"all resources, some calls", smallFleet{history: history, inWindow: 100, failures: 12, resources: 10, inline: 10},
			"lists every one; shown here are all 10 resources and the first 10 of 12 calls."},
		{"some of each", smallFleet{history: history, inWindow: 100, failures: 12, resources: 12, inline: 10},
			"lists every one; shown here are the first 10 of 12 resources and the first 10 of 12 calls."},
		{"the one resource", smallFleet{history: history, inWindow: 100, failures: 12, resources: 1, inline: 10},
			"lists every one; shown here are the one resource and the first 10 of 12 calls."},
		{"one row of each", smallFleet{history: history, inWindow: 100, failures: 3, resources: 3, inline: 1},
			"lists every one; shown here are the first of 3 resources and the first of 3 calls."},
		{"more resources than are ever listed", smallFleet{history: history, inWindow: 100, failures: 30, resources: 30, inline: 30},
			"lists every one; shown here are the first 25 of 30 resources and all 30 calls."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := tt.fleet.build(t)
			for f, text := range prose(t, r) {
				if !strings.Contains(text, "The attached "+r.CSVFilename()+" "+tt.want) {
					t.Errorf("%s lacks %q", f, tt.want)
				}
			}
		})
	}
}

// singularNoun finds a count of 1 before a plural noun of the report's
// sentences ("1 customers", "1 backup runs").
var singularNoun = regexp.MustCompile(`\b1 (provider-side failed |failed |affected |backup |failing |more |later )?(calls|customers|accounts|runs|days|droplets|resources)\b`)

// pluralNoun finds a count other than 1 before a singular noun.
var pluralNoun = regexp.MustCompile(`\b([02-9]|\d\d+) (provider-side failed |affected |backup |failing |more |later )?(call|customer|account|run|day|droplet or volume|resource)\b`)

// sentencesOf is a Markdown report without its tables and headings,
// whitespace folded: its sentences.
func sentencesOf(md string) string {
	var keep []string
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") && !strings.HasPrefix(line, "#") {
			keep = append(keep, line)
		}
	}
	return strings.Join(strings.Fields(strings.Join(keep, " ")), " ")
}

// TestCountedNouns checks every counted noun of the report's sentences
// agrees with its count: 1 backup run, 1 customer, 1 droplet or volume,
// and the plural for every other count.
func TestCountedNouns(t *testing.T) {
	tests := []struct {
		name  string
		fleet smallFleet
		want  []string
	}{
		{"one of each", smallFleet{history: everyDay(29, 20_000, 10), inWindow: 100, failures: 1, resources: 1, failedRuns: 1, floor: 0.0005},
			[]string{"1 droplet or volume in 1 account was affected; 1 backup run failed on DigitalOcean's side, for 1 customer.",
				"1 provider-side failed call on 1 droplet or volume in 1 account.", "lists it too.",
				"1 affected call in the window; chosen: the only affected resource.", "The one failing call.",
				"1 run failed in all, on DigitalOcean's side, for 1 customer."}},
		{"five of each", smallFleet{history: everyDay(29, 20_000, 10), inWindow: 100, failures: 5, resources: 5, failedRuns: 5, floor: 0.0005},
			[]string{"5 droplets and volumes in 5 accounts were affected; 5 backup runs failed on DigitalOcean's side, for 5 customers.",
				"5 provider-side failed calls on 5 droplets and volumes in 5 accounts.", "lists them too.",
				"5 failing calls, one of each kind of error first", "5 runs failed in all; 5 of them on DigitalOcean's side, for 5 customers."}},
		{"failures without failed runs", smallFleet{history: everyDay(29, 20_000, 10), inWindow: 100, failures: 2, resources: 1, floor: 0.0005},
			[]string{"1 droplet or volume in 1 account was affected; no backup run failed on DigitalOcean's side.",
				"2 provider-side failed calls on 1 droplet or volume in 1 account.", "2 affected calls in the window"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := tt.fleet.build(t)
			for f, text := range prose(t, r) {
				for _, want := range tt.want {
					if !strings.Contains(text, want) {
						t.Errorf("%s lacks %q", f, want)
					}
				}
			}
			sentences := sentencesOf(string(render(t, r, escalation.FormatMarkdown)))
			if m := singularNoun.FindString(sentences); m != "" {
				t.Errorf("the report says %q", m)
			}
			if m := pluralNoun.FindString(sentences); m != "" {
				t.Errorf("the report says %q", m)
			}
		})
	}
}

// lateRollUps is a Source whose daily roll-ups lack the days in missing,
// as when the detector has not rolled them up yet.
type lateRollUps struct {
	escalation.Source
	missing map[time.Time]bool
}

func (s lateRollUps) DailyCounts(ctx context.Context, dim snapkeep.Dimension, from, to time.Time) ([]escalation.DayCounts, error) {
	days, err := s.Source.DailyCounts(ctx, dim, from, to)
	var kept []escalation.DayCounts
	for _, d := range days {
		if !s.missing[d.Day] {
			kept = append(kept, d)
		}
	}
	return kept, err
}

// TestDaysNotRolledUp checks a window day without its daily roll-up (the
// day in progress, or one the detector has not rolled up) shows its
// per-minute counts — the whole day, or so far — rather than zero calls,
// with every minute counted once.
func TestDaysNotRolledUp(t *testing.T) {
	fleet := smallFleet{history: map[int][2]int{1: {592, 0}, 2: {700, 1}}, before: 40, inWindow: 100, after: 6, failures: 10,
		resources: 5, floor: 0.0005}
	yesterday, quiet := smallToday.AddDate(0, 0, -1), smallToday.AddDate(0, 0, -3)
	tests := []struct {
		name    string
		in      *escalation.BuildInput
		missing []time.Time
		// rows are the days not rolled up, each counted to its through.
		rows    []time.Time
		through []time.Time
		want    []string
	}{
		{"the day in progress", nil, nil, []time.Time{smallToday}, []time.Time{smallNow},
			[]string{"2026-11-24 (so far)", "2026-11-24 is still in progress, so it has no daily roll-up yet: its row counts the day so far, 00:00 to 12:00 UTC, from the per-minute counts."}},
		{"a window over midnight, yesterday not rolled up", &escalation.BuildInput{From: yesterday.Add(20 * time.Hour), To: smallTo, Now: smallNow}, []time.Time{yesterday}, []time.Time{yesterday, smallToday}, []time.Time{smallToday, smallNow},
			[]string{"2026-11-23 has no daily roll-up yet (the detector writes one after the day is over): its row counts the whole day from the per-minute counts."}},
		{"a window of a finished day", &escalation.BuildInput{From: yesterday.Add(6*time.Hour + 30*time.Second), To: yesterday.Add(13*time.Hour + 30*time.Second), Now: smallNow}, []time.Time{yesterday}, []time.Time{yesterday}, []time.Time{smallToday}, nil},
		// The detector writes no roll-up for a day without calls: it is
		// not waiting for one.
		{"a window of a finished day without calls", &escalation.BuildInput{From: quiet.Add(6 * time.Hour), To: quiet.Add(13 * time.Hour), Now: smallNow}, []time.Time{quiet}, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, src := fleet.build(t)
			if tt.in != nil {
				missing := map[time.Time]bool{}
				for _, d := range tt.missing {
					missing[d] = true
				}
				var err error
				if r, err = escalation.Build(context.Background(), lateRollUps{Source: src, missing: missing}, *tt.in); err != nil {
					t.Fatal(err)
				}
			}
			byDay := map[time.Time]escalation.DailyRow{}
			for _, d := range r.Daily {
				byDay[d.Day] = d
				if d.FromMinutes && !contains(tt.rows, d.Day) {
					t.Errorf("%s counted from the minutes, but it is rolled up or finished without calls", d.Day.Format(time.DateOnly))
				}
			}
			for i, day := range tt.rows {
				row := byDay[day]
				want, _ := src.WindowCounts(context.Background(), r.Dimension, day, tt.through[i])
				if !row.FromMinutes || !row.Through.Equal(tt.through[i]) || row.CallCounts != want || want.Calls == 0 {
					t.Errorf("%s: from minutes %v through %v counts %+v; want through %v counts %+v", day.Format(time.DateOnly),
						row.FromMinutes, row.Through, row.CallCounts, tt.through[i], want)
				}
				if partial := tt.through[i].Before(day.AddDate(0, 0, 1)); row.Partial() != partial {
					t.Errorf("%s: partial %v, want %v", day.Format(time.DateOnly), row.Partial(), partial)
				}
			}
			want, _ := src.WindowCounts(context.Background(), r.Dimension, r.Window.From, r.Window.To)
			if r.InWindow != want {
				t.Errorf("window counts %+v, want %+v (read in one go)", r.InWindow, want)
			}
			for f, text := range prose(t, r) {
				for _, w := range tt.want {
					if !strings.Contains(text, w) {
						t.Errorf("%s lacks %q", f, w)
					}
				}
				if len(tt.rows) == 0 && strings.Contains(text, "no daily roll-up") {
					t.Errorf("%s says a day waits for its roll-up, but every window day is rolled up or finished without calls", f)
				}
			}
		})
	}
}

func contains(days []time.Time, day time.Time) bool {
	for _, d := range days {
		if d.Equal(day) {
			return true
		}
	}
	return false
}
