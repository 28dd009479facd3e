package escalation_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/snapkeep/snapkeep/shared/escalation"
)

// TestSectionsInEveryFormat checks every section is present, under its
// stable heading or id, in every rendering of both kinds of report.
func TestSectionsInEveryFormat(t *testing.T) {
	reports := map[string]func(testing.TB) *escalation.Report{"incident": incidentReport, "range": rangeReport}
	for name, build := range reports {
		r := build(t)
		md := string(render(t, r, escalation.FormatMarkdown))
		txt := string(render(t, r, escalation.FormatText))
		html := string(render(t, r, escalation.FormatHTML))
		for _, s := range escalation.Sections() {
			if !strings.Contains(md, "\n## "+s.Title+"\n") {
				t.Errorf("%s: Markdown has no heading %q", name, "## "+s.Title)
			}
			if !strings.Contains(txt, "\n"+s.Title+"\n"+strings.Repeat("-", len([]rune(s.Title)))+"\n") {
				t.Errorf("%s: text has no heading %q", name, s.Title)
			}
			if !strings.Contains(html, `<section id="`+s.ID+`">`+"\n<h2>"+s.Title+"</h2>") {
				t.Errorf("%s: HTML has no <section id=%q> headed %q", name, s.ID, s.Title)
			}
		}
	}
}

// TestHTMLSelfContained checks the HTML page has what a browser check
// looks for and loads nothing from outside.
func TestHTMLSelfContained(t *testing.T) {
	html := string(render(t, incidentReport(t), escalation.FormatHTML))
	for _, want := range []string{"<title>", "<style>", `<svg xmlns="http://www.w3.org/2000/svg" id="daily-rate-chart"`,
		`class="baseline"`, `class="shade"`, `class="winrate"`, "provider-side error rate", "day (UTC)", "<table>", "</html>"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	bad := regexp.MustCompile(`(?i)<script|\son\w+=|javascript:|\ssrc=|<link|@import|url\(|<iframe|<img`)
	if m := bad.FindString(html); m != "" {
		t.Errorf("HTML holds %q: it must load nothing and run nothing", m)
	}
	if got := strings.Count(html, `<rect class="bar`); got != escalation.DailyDays {
		t.Errorf("chart has %d bars, want %d", got, escalation.DailyDays)
	}
	if got := strings.Count(html, `class="bar window"`); got != 1 {
		t.Errorf("chart marks %d bars as in the window, want 1", got)
	}
}

// TestInlineBounds checks the renderings show at most InlineRows
// affected calls while the CSV holds them all.
func TestInlineBounds(t *testing.T) {
	r := incidentReport(t)
	if r.AffectedTotal <= r.InlineRows {
		t.Fatalf("fixture has only %d affected calls; the test needs more than %d", r.AffectedTotal, r.InlineRows)
	}
	csv := string(render(t, r, escalation.FormatCSV))
	if got := strings.Count(csv, "\n") - 1; got != r.AffectedTotal {
		t.Errorf("CSV has %d rows, want %d", got, r.AffectedTotal)
	}
	md := string(render(t, r, escalation.FormatMarkdown))
	shown := 0
	for _, c := range r.Affected {
		if strings.Contains(md, c.RequestID) && c.RequestID != "" {
			shown++
		}
	}
	// Request ids also appear in the top errors, header samples and the
	// timeline, so count rows of the calls table instead.
	calls := md[strings.Index(md, "### Calls"):strings.Index(md, "## "+escalation.SectionErrors.Title)]
	if rows := strings.Count(calls, "\n| 2026-"); rows != r.InlineRows {
		t.Errorf("Markdown lists %d calls inline, want %d", rows, r.InlineRows)
	}
	if shown == 0 {
		t.Error("no affected request id appears in the Markdown")
	}
	if len(r.Headers) != escalation.MaxHeaderSamples {
		t.Errorf("header samples = %d, want %d", len(r.Headers), escalation.MaxHeaderSamples)
	}
	if len(r.TopErrors) > escalation.MaxTopErrors || len(r.TopErrors) == 0 {
		t.Errorf("top errors = %d, want 1..%d", len(r.TopErrors), escalation.MaxTopErrors)
	}
}
