package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/infra/browsertest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/escalation/escalationtest"
)

// The HTML report in a real browser (infra/browsertest: Debian's
// chromium, headless; the check never skips).

// renderFixtureHTML renders the escalationtest fixture's incident through
// `snapctl report --format html --out`: the incident read from moto's
// Incidents table, the counts, calls and runs from the fixture's source.
func renderFixtureHTML(t *testing.T) (string, *escalationtest.Scenario) {
	t.Helper()
	sc := escalationtest.Incident12h()
	c := newCLI(t)
	c.now = sc.Now
	is := &dynamo.IncidentStore{Client: c.env.DynamoDB, Table: c.vars[dynamo.Incidents.EnvVar]}
	if err := is.Create(context.Background(), sc.Incident); err != nil {
		t.Fatal(err)
	}
	c.setup = func(a *app) {
		a.clients.Escalation = func(dynamo.Client, *target, func() time.Time) escalation.Source { return sc.Source }
	}
	out := filepath.Join(t.TempDir(), "report.html")
	c.ok("report", "--incident", sc.Incident.IncidentID, "--format", "html", "--out", out)
	return out, sc
}

// TestReportHTMLInChromium renders the report `snapctl report --format
// html` writes in headless Chromium: every section and the chart are in
// the rendered DOM, laid out and drawn.
func TestReportHTMLInChromium(t *testing.T) {
	t.Parallel()
	page, _ := renderFixtureHTML(t)
	browsertest.CheckReport(t, page)
}
