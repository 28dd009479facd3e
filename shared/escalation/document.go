package escalation

import (
	"fmt"
	"strings"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Section is one section of the report. Its ID is the HTML element id and
// its Title the heading in every format; both are stable, so checks (a
// headless browser, a test, ops' bookmarks) can find each section.
type Section struct {
	// ID is the section's HTML id, e.g. "daily-rates".
	ID string
	// Title is its heading, e.g. "Daily error rates, last 30 days".
	Title string
}

// The report's sections, in order.
var (
	SectionIncident = Section{ID: "incident", Title: "Incident window"}
	SectionDaily    = Section{ID: "daily-rates", Title: "Daily error rates, last 30 days"}
	SectionAffected = Section{ID: "affected", Title: "Affected resources and calls"}
	SectionErrors   = Section{ID: "errors", Title: "Top provider errors"}
	SectionHeaders  = Section{ID: "headers", Title: "Header samples of failing calls"}
	SectionTimeline = Section{ID: "timeline", Title: "Timeline of one affected resource"}
	SectionImpact   = Section{ID: "impact", Title: "Customer impact"}
	// SectionNotes appears only when Build left something out.
	SectionNotes = Section{ID: "notes", Title: "Notes"}
)

// Sections returns the sections every rendering has, in order.
func Sections() []Section {
	return []Section{SectionIncident, SectionDaily, SectionAffected, SectionErrors,
		SectionHeaders, SectionTimeline, SectionImpact}
}

// document is the report laid out once, format-neutral: the renderers
// only escape and arrange it, so every format says the same thing.
type document struct {
	Title    string
	Meta     [][2]string
	Summary  string
	Sections []docSection
	// Chart is the daily chart (drawn by HTML only).
	Chart *chart
}

type docSection struct {
	Section
	Parts []part
}

// part is one block of a section: a sub-heading, a paragraph, a table or
// the chart.
type part struct {
	Sub   string
	Para  string
	Table *table
	Chart bool
}

// table is a table of already formatted (not yet escaped) cells.
type table struct {
	Head []string
	// Right marks the columns aligned right (numbers).
	Right []bool
	Rows  [][]string
}

func (r *Report) document() *document {
	d := &document{Title: r.title(), Meta: r.meta(), Summary: r.summary(), Chart: newChart(r)}
	d.Sections = []docSection{
		{SectionIncident, r.incidentParts()},
		{SectionDaily, r.dailyParts()},
		{SectionAffected, r.affectedParts()},
		{SectionErrors, r.errorParts()},
		{SectionHeaders, r.headerParts()},
		{SectionTimeline, r.timelineParts()},
		{SectionImpact, r.impactParts()},
	}
	if len(r.Notes) > 0 {
		var parts []part
		for _, n := range r.Notes {
			parts = append(parts, part{Para: n})
		}
		d.Sections = append(d.Sections, docSection{SectionNotes, parts})
	}
	return d
}

func (r *Report) title() string {
	return fmt.Sprintf("snapkeep escalation report: %s API error rate on %s", Provider, trafficName(r.Dimension))
}

// trafficName names a dimension in prose: "all traffic", or the
// dimension itself ("operation:snapshot_droplet").
func trafficName(dim snapkeep.Dimension) string {
	if dim == snapkeep.DimensionAll {
		return "all traffic"
	}
	return clean(string(dim), 100)
}

// callsOf names a dimension's calls in prose: "calls",
// "snapshot_droplet calls", "calls in region nyc3".
func callsOf(dim snapkeep.Dimension) string {
	s := clean(string(dim), 100)
	switch {
	case dim == snapkeep.DimensionAll:
		return "calls"
	case strings.HasPrefix(s, "operation:"):
		return strings.TrimPrefix(s, "operation:") + " calls"
	case strings.HasPrefix(s, "region:"):
		return "calls in region " + strings.TrimPrefix(s, "region:")
	}
	return s + " calls"
}

func (r *Report) meta() [][2]string {
	var m [][2]string
	if inc := r.Incident; inc != nil {
		state := string(inc.State)
		m = append(m, [2]string{"Incident", fmt.Sprintf("%s (%s)", clean(inc.IncidentID, 200), clean(state, 32))})
	}
	m = append(m,
		[2]string{"Provider", Provider + " API"},
		[2]string{"Traffic", trafficName(r.Dimension)},
		[2]string{"Window", formatWindow(r.Window)},
		[2]string{"Generated", formatTime(r.GeneratedAt) + " UTC"},
	)
	return m
}

// ThinBaselineDays is the least days with calls for a baseline the
// report states as "the other N of the last 30 days"; with fewer, it says
// how many days the baseline really comes from (the detector, too, needs
// 7 days of roll-ups before it trusts a measured baseline).
const ThinBaselineDays = 7

// summary is the paragraph to forward as is.
func (r *Report) summary() string {
	var s strings.Builder
	s.WriteString(r.rateSentence())
	if inc := r.Incident; inc != nil && inc.Kind == snapkeep.IncidentPipeline {
		fmt.Fprintf(&s, " This is a pipeline incident, not a rise in %s's error rate: snapkeep recorded no call outcome after a snapshot fell due at %s UTC.",
			Provider, formatTime(inc.StartedAt))
	}
	switch {
	case len(r.Resources) == 0 && r.InWindow.Calls == 0:
		fmt.Fprintf(&s, " No failed call was recorded either, so no droplet or volume is known to be affected; %s.", r.failedRunsClause())
	case len(r.Resources) == 0:
		fmt.Fprintf(&s, " No droplet or volume was affected; %s.", r.failedRunsClause())
	default:
		fmt.Fprintf(&s, " %s in %s %s affected; %s.", counted(len(r.Resources), "droplet or volume", "droplets and volumes"),
			counted(r.AffectedAccounts, "account", "accounts"), plural(len(r.Resources), "was", "were"), r.failedRunsClause())
	}
	if r.AffectedTotal > 0 {
		fmt.Fprintf(&s, " Every affected call, with its x-request-id, is in the attached %s.", r.CSVFilename())
	}
	return s.String()
}

// rateSentence opens the summary: the window's rate against the
// baseline, or, when no call outcome was recorded in the window (a
// stalled pipeline, or no traffic), that there is no rate to compare.
func (r *Report) rateSentence() string {
	w := r.InWindow
	if w.Calls == 0 {
		return fmt.Sprintf("In the window %s, no call outcomes were recorded for snapkeep's %s to the %s API, so there is no error rate to compare%s.",
			formatWindow(r.Window), callsOf(r.Dimension), Provider, r.noRateComparison())
	}
	return fmt.Sprintf("In the window %s, %s of snapkeep's %s to the %s API failed on %s's side (%s of %s), %s.",
		formatWindow(r.Window), formatRate(w.Rate()), callsOf(r.Dimension), Provider, Provider,
		formatCount(w.ProviderFailures), formatCount(w.Calls), r.comparison())
}

// noRateComparison ends the summary's sentence for a window without
// calls with what the baseline was, for each kind of baseline.
func (r *Report) noRateComparison() string {
	b := r.Baseline
	switch {
	case b.Calls == 0:
		return ", and " + r.baselineSpan() + " had no calls either"
	case b.ProviderFailures == 0:
		return fmt.Sprintf(" with the baseline's (no provider-side failures in %s over %s)", counted(b.Calls, "call", "calls"),
			r.baselineSpan())
	}
	return fmt.Sprintf(" with the baseline of %s over %s (%s of %s)", formatRate(b.Rate()), r.baselineSpan(),
		formatCount(b.ProviderFailures), formatCount(b.Calls))
}

// comparison compares the window's rate with the baseline in the
// summary's words, for each kind of baseline: a rate to compare with,
// calls without a single provider-side failure, or no calls at all. When
// there is no rate, it gives the one the detector assumed instead.
func (r *Report) comparison() string {
	b := r.Baseline
	switch {
	case b.Calls == 0:
		return "with no calls on " + r.baselineSpan() + " to compare with" + r.assumedBaseline()
	case b.ProviderFailures == 0:
		return fmt.Sprintf("against no provider-side failures in %s over %s", counted(b.Calls, "call", "calls"),
			r.baselineSpan()) + r.assumedBaseline()
	}
	return fmt.Sprintf("against a baseline of %s over %s (%s of %s): %s the usual rate", formatRate(b.Rate()), r.baselineSpan(),
		formatCount(b.ProviderFailures), formatCount(b.Calls), formatTimes(r.InWindow.Rate(), b.Rate()))
}

// baselineSpan names the days the baseline comes from: "the other 29 of
// the last 30 days", or for a thin baseline (fewer than ThinBaselineDays
// days with calls) "the 1 day with calls of the last 30".
func (r *Report) baselineSpan() string {
	if n := r.BaselineCallDays; r.thinBaseline() {
		return fmt.Sprintf("the %s with calls of the last %d", counted(n, "day", "days"), DailyDays)
	}
	return fmt.Sprintf("the other %d of the last %d days", r.BaselineDays, DailyDays)
}

// thinBaseline reports whether the baseline comes from some calls on
// fewer than ThinBaselineDays of its days.
func (r *Report) thinBaseline() bool {
	n := r.BaselineCallDays
	return n > 0 && n < ThinBaselineDays && n < r.BaselineDays
}

// assumedBaseline is "; the detector assumes a floor of 0.05%" when the
// report's baseline has no rate and the incident's detector tested
// against one (its floor: a clean or missing history gives no rate), else
// "".
func (r *Report) assumedBaseline() string {
	if r.Incident == nil || r.Incident.BaselineRate <= 0 {
		return ""
	}
	return "; the detector assumes a floor of " + formatRate(r.Incident.BaselineRate)
}

// failedRunsClause is the summary's clause on failed backup runs.
func (r *Report) failedRunsClause() string {
	imp := r.Impact
	if imp.ProviderFailedRuns == 0 {
		return "no backup run failed on " + Provider + "'s side"
	}
	return fmt.Sprintf("%s failed on %s's side, for %s", counted(imp.ProviderFailedRuns, "backup run", "backup runs"), Provider,
		counted(imp.CustomersAffected, "customer", "customers"))
}

func (r *Report) incidentParts() []part {
	w, b := r.InWindow, r.Baseline
	head := fmt.Sprintf("baseline (%s)", counted(r.BaselineDays, "day", "days"))
	if r.BaselineCallDays < r.BaselineDays {
		head = fmt.Sprintf("baseline (%d of %d days with calls)", r.BaselineCallDays, r.BaselineDays)
	}
	t := &table{Head: []string{"", "window", head}, Right: []bool{false, true, true},
		Rows: [][]string{
			{"calls", formatCount(w.Calls), formatCount(b.Calls)},
			{"provider-side failures (5xx, malformed, network)", formatCount(w.ProviderFailures), formatCount(b.ProviderFailures)},
			{"provider-side error rate", rateCell(w), rateCell(b)},
			{"rate limited (429, not counted)", formatCount(w.RateLimited), formatCount(b.RateLimited)},
			{"resource busy (422, not counted)", formatCount(w.Busy), formatCount(b.Busy)},
			{"customer 4xx (not counted)", formatCount(w.Customer4xx), formatCount(b.Customer4xx)},
		}}
	parts := []part{{Para: r.windowSentence()}, {Table: t}}
	if inc := r.Incident; inc != nil {
		parts = append(parts, part{Para: detectorSentence(inc)})
	}
	return parts
}

// windowSentence opens the incident section: the window's rate against
// the baseline's, for each kind of baseline (see comparison), or that the
// window recorded no call outcomes, so there is no rate.
func (r *Report) windowSentence() string {
	w, b := r.InWindow, r.Baseline
	from := ""
	if r.thinBaseline() {
		from = fmt.Sprintf(" from %s with calls", counted(r.BaselineCallDays, "day", "days"))
	}
	if w.Calls == 0 {
		lead := fmt.Sprintf("Window %s: no call outcomes were recorded in the window, so there is no error rate to compare", formatWindow(r.Window))
		switch {
		case b.Calls == 0:
			return lead + ", and the baseline days had no calls either."
		case b.ProviderFailures == 0:
			return fmt.Sprintf("%s; the baseline%s had no provider-side failures in %s.", lead, from, counted(b.Calls, "call", "calls"))
		}
		return fmt.Sprintf("%s with the baseline of %s%s.", lead, formatRate(b.Rate()), from)
	}
	lead := fmt.Sprintf("Window %s: error rate %s", formatWindow(r.Window), formatRate(w.Rate()))
	switch {
	case b.Calls == 0:
		return lead + "; the baseline days had no calls, so there is no rate to compare with."
	case b.ProviderFailures == 0:
		return fmt.Sprintf("%s; the baseline%s had no provider-side failures in %s.", lead, from, counted(b.Calls, "call", "calls"))
	}
	return fmt.Sprintf("%s against a baseline of %s%s, %s the baseline.", lead, formatRate(b.Rate()), from,
		formatTimes(w.Rate(), b.Rate()))
}

// detectorSentence says what the incident's detector saw: the change and
// the rates it measured, or for a pipeline incident (or one without a
// call since its change) that it measured no rate.
func detectorSentence(inc *snapkeep.Incident) string {
	det := clean(inc.Detector, 64)
	var p string
	switch {
	case inc.Kind == snapkeep.IncidentPipeline:
		p = fmt.Sprintf("Detector %s raised the alarm at %s UTC: a snapshot fell due at %s UTC and no call outcome had been recorded since, so snapkeep's own pipeline had stalled; there is no error rate to report.",
			det, formatTime(inc.OpenedAt), formatTime(inc.StartedAt))
	case inc.Calls == 0:
		p = fmt.Sprintf("Detector %s estimated the change at %s UTC and raised the alarm at %s UTC; its baseline was %s, and it counted no calls since the change, so it has no rate since.",
			det, formatTime(inc.StartedAt), formatTime(inc.OpenedAt), formatRate(inc.BaselineRate))
	default:
		p = fmt.Sprintf("Detector %s estimated the change at %s UTC and raised the alarm at %s UTC; its baseline was %s, the rate since the change %s (%s of %s), the peak %s.",
			det, formatTime(inc.StartedAt), formatTime(inc.OpenedAt), formatRate(inc.BaselineRate),
			formatRate(inc.Rate), formatCount(inc.Failures), counted(inc.Calls, "call", "calls"), formatRate(inc.PeakRate))
	}
	if inc.ResolvedAt != nil {
		return p + fmt.Sprintf(" Resolved at %s UTC.", formatTime(*inc.ResolvedAt))
	}
	return p + " Still open."
}

// rateCell is c's provider-side error rate for a table cell, "—" without
// calls (a rate of nothing is not 0%).
func rateCell(c CallCounts) string {
	if c.Calls == 0 {
		return "—"
	}
	return formatRate(c.Rate())
}

func (r *Report) dailyParts() []part {
	t := &table{Head: []string{"day (UTC)", "calls", "provider failures", "rate", "rate limited", "busy", "customer 4xx", "in window"},
		Right: []bool{false, true, true, true, true, true, true, false}}
	var pending []string
	for _, d := range r.Daily {
		mark := ""
		if r.Window.Overlaps(Window{From: d.Day, To: d.Day.AddDate(0, 0, 1)}) {
			mark = "yes"
		}
		t.Rows = append(t.Rows, []string{dayLabel(d), formatCount(d.Calls), formatCount(d.ProviderFailures),
			rateCell(d.CallCounts), formatCount(d.RateLimited), formatCount(d.Busy), formatCount(d.Customer4xx), mark})
		if d.FromMinutes {
			pending = append(pending, pendingDay(d))
		}
	}
	parts := []part{
		{Para: fmt.Sprintf("The %s per UTC day. The rate counts provider-side failures only; the days the window overlaps are left out of the baseline.", callsOf(r.Dimension))},
		{Chart: true},
		{Table: t},
	}
	if len(pending) > 0 {
		parts = append(parts, part{Para: strings.Join(pending, " ")})
	}
	return parts
}

// dayLabel is the day cell of the daily table: "2026-11-24", or
// "2026-11-24 (so far)" for the day in progress.
func dayLabel(d DailyRow) string {
	if d.Partial() {
		return d.Day.Format(layoutDay) + " (so far)"
	}
	return d.Day.Format(layoutDay)
}

// pendingDay says where the counts of a row without a daily roll-up come
// from.
func pendingDay(d DailyRow) string {
	day := d.Day.Format(layoutDay)
	if d.Partial() {
		return fmt.Sprintf("%s is still in progress, so it has no daily roll-up yet: its row counts the day so far, 00:00 to %s UTC, from the per-minute counts.",
			day, d.Through.UTC().Format(layoutHM))
	}
	return fmt.Sprintf("%s has no daily roll-up yet (the detector writes one after the day is over): its row counts the whole day from the per-minute counts.", day)
}

func (r *Report) affectedParts() []part {
	if r.AffectedTotal == 0 {
		return []part{{Para: "No provider-side failed calls in the window."}}
	}
	parts := []part{{Para: fmt.Sprintf("%s on %s in %s. %s",
		counted(r.AffectedTotal, "provider-side failed call", "provider-side failed calls"),
		counted(len(r.Resources), "droplet or volume", "droplets and volumes"), counted(r.AffectedAccounts, "account", "accounts"),
		r.inlineSentence())}}
	res := &table{Head: []string{"resource", "region", "account", "failed calls", "runs", "first (UTC)", "last (UTC)"},
		Right: []bool{false, false, false, true, true, false, false}}
	for i, x := range r.Resources {
		if i == min(r.InlineRows, MaxInlineResources) {
			break
		}
		res.Rows = append(res.Rows, []string{x.ResourceKey, x.Region, x.AccountID, formatCount(x.Failures), formatCount(x.Runs),
			formatTime(x.First), formatTime(x.Last)})
	}
	calls := &table{Head: []string{"time (UTC)", "operation", "resource", "region", "account", "status", "error id", "x-request-id"},
		Right: []bool{false, false, false, false, false, true, false, false}}
	for i, c := range r.Affected {
		if i == r.InlineRows {
			break
		}
		calls.Rows = append(calls.Rows, []string{formatTime(c.At), string(c.Operation), c.ResourceKey, c.Region, c.AccountID,
			statusText(c.HTTPStatus), errorIDText(c), c.RequestID})
	}
	return append(parts, part{Sub: "Resources"}, part{Table: res}, part{Sub: "Calls"}, part{Table: calls})
}

// inlineSentence says what the attached CSV holds and how much of each
// table is shown: "all 10 resources and the first 25 of 250 calls".
func (r *Report) inlineSentence() string {
	calls := min(r.AffectedTotal, len(r.Affected), r.InlineRows)
	resources := min(len(r.Resources), r.InlineRows, MaxInlineResources)
	if calls == r.AffectedTotal && resources == len(r.Resources) {
		return fmt.Sprintf("The attached %s lists %s too.", r.CSVFilename(), plural(r.AffectedTotal, "it", "them"))
	}
	return fmt.Sprintf("The attached %s lists every one; shown here are %s and %s.", r.CSVFilename(),
		shownOf(resources, len(r.Resources), "resource", "resources"), shownOf(calls, r.AffectedTotal, "call", "calls"))
}

// shownOf says how many of total rows a table shows: "all 10 calls",
// "the one resource", "the first 25 of 250 calls", "none of the 250
// calls".
func shownOf(shown, total int, one, many string) string {
	switch {
	case shown >= total && total == 1:
		return "the one " + one
	case shown >= total:
		return "all " + counted(total, one, many)
	case shown == 0:
		return "none of the " + counted(total, one, many)
	case shown == 1:
		return "the first of " + counted(total, one, many)
	}
	return fmt.Sprintf("the first %d of %s", shown, counted(total, one, many))
}

// errorIDText is the error id, or what stands for it when there is none.
func errorIDText(c AffectedCall) string {
	switch {
	case c.ErrorID != "":
		return c.ErrorID
	case c.HTTPStatus == 0:
		return "(no response)"
	}
	return "(none)"
}

func (r *Report) errorParts() []part {
	if len(r.TopErrors) == 0 {
		return []part{{Para: "No provider errors in the window."}}
	}
	t := &table{Head: []string{"status", "error id", "message", "calls", "first (UTC)", "last (UTC)", "sample x-request-id"},
		Right: []bool{true, false, false, true, false, false, false}}
	for _, e := range r.TopErrors {
		id, msg := e.ErrorID, cut(e.Message, inlineMessage)
		switch {
		case id == "" && e.HTTPStatus == 0:
			id = "(no response)"
		case id == "" && msg == "":
			id, msg = "(none)", "(no JSON error body)"
		}
		t.Rows = append(t.Rows, []string{statusText(e.HTTPStatus), id, msg, formatCount(e.Count),
			formatTime(e.First), formatTime(e.Last), e.SampleRequestID})
	}
	parts := []part{{Table: t}}
	if r.OtherErrors > 0 {
		parts = append(parts, part{Para: fmt.Sprintf("%s failed with other answers (in the CSV).", counted(r.OtherErrors, "more call", "more calls"))})
	}
	return parts
}

func (r *Report) headerParts() []part {
	if len(r.Headers) == 0 {
		return []part{{Para: "No failing calls to sample."}}
	}
	which := counted(len(r.Headers), "failing call", "failing calls") + ", one of each kind of error first, then spread over the window."
	if len(r.Headers) == 1 {
		which = "The one failing call."
	}
	parts := []part{{Para: fmt.Sprintf("%s Authorization is recorded as %s; any header whose value looks like a token is left out. Bodies are never recorded.",
		which, snapkeep.Redacted)}}
	for i, h := range r.Headers {
		parts = append(parts, part{Sub: fmt.Sprintf("%d. %s UTC · %s · %s %s → %s · x-request-id %s", i+1, formatTime(h.At),
			h.Operation, h.Method, h.Path, statusText(h.HTTPStatus), orNone(h.RequestID))})
		parts = append(parts, part{Table: headerTable("request header", h.Request)}, part{Table: headerTable("response header", h.Response)})
	}
	return parts
}

func headerTable(kind string, hs []Header) *table {
	t := &table{Head: []string{kind, "value"}, Right: []bool{false, false}}
	for _, h := range hs {
		t.Rows = append(t.Rows, []string{h.Name, h.Value})
	}
	if len(hs) == 0 {
		t.Rows = [][]string{{"(none)", ""}}
	}
	return t
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func (r *Report) timelineParts() []part {
	tl := r.Timeline
	if tl == nil {
		return []part{{Para: "No affected resource to follow."}}
	}
	kind := "no hourly policy"
	if tl.Hourly {
		kind = "an hourly policy"
	}
	parts := []part{{Para: fmt.Sprintf("%s in %s, %s, %s in the window; chosen: %s. Its runs scheduled in the window:",
		tl.ResourceKey, orNone(tl.Region), kind, counted(tl.Failures, "affected call", "affected calls"), tl.Chosen)}}
	t := &table{Head: []string{"slot (UTC)", "policy", "status", "class", "attempts", "calls", "failed calls", "finished (UTC)", "x-request-ids"},
		Right: []bool{false, false, false, false, true, true, true, false, false}}
	for _, run := range tl.Runs {
		finished := ""
		if run.FinishedAt != nil {
			finished = formatTime(*run.FinishedAt)
		}
		t.Rows = append(t.Rows, []string{formatTime(run.Slot), run.PolicyID, string(run.Status), string(run.Class),
			formatCount(run.Attempts), formatCount(run.APICalls), formatCount(run.FailedCalls), finished, strings.Join(run.RequestIDs, " ")})
	}
	parts = append(parts, part{Table: t})
	if tl.RunsOmitted > 0 {
		parts = append(parts, part{Para: fmt.Sprintf("%s not listed.", counted(tl.RunsOmitted, "later run is", "later runs are"))})
	}
	return parts
}

func (r *Report) impactParts() []part {
	imp := r.Impact
	term := imp.Terminal
	parts := []part{{Para: fmt.Sprintf("Runs that ended in the window, all customers: %s succeeded, %s failed, %s timed out, %s skipped.",
		formatCount(term.Succeeded), formatCount(term.Failed), formatCount(term.TimedOut), formatCount(term.Skipped))}}
	if len(imp.Classes) == 0 {
		return append(parts, part{Para: "No run failed in the window."})
	}
	t := &table{Head: []string{"class", "provider-side", "failed", "timed out", "customers"}, Right: []bool{false, false, true, true, true}}
	for _, c := range imp.Classes {
		side := "no"
		if c.ProviderSide {
			side = "yes"
		}
		t.Rows = append(t.Rows, []string{string(c.Class), side, formatCount(c.Failed), formatCount(c.TimedOut), formatCount(c.Customers)})
	}
	return append(parts, part{Table: t}, part{Para: failedRunsSentence(imp)})
}

// failedRunsSentence sums up the failed runs of every class and those on
// the provider's side.
func failedRunsSentence(imp Impact) string {
	all := counted(imp.FailedRuns, "run", "runs") + " failed in all"
	customers := counted(imp.CustomersAffected, "customer", "customers")
	switch {
	case imp.ProviderFailedRuns == 0:
		return fmt.Sprintf("%s; none on %s's side.", all, Provider)
	case imp.FailedRuns == 1:
		return fmt.Sprintf("%s, on %s's side, for %s.", all, Provider, customers)
	}
	return fmt.Sprintf("%s; %s of them on %s's side, for %s.", all, formatCount(imp.ProviderFailedRuns), Provider, customers)
}
