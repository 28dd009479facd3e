package escalation_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/escalation/escalationtest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	fixtureOnce sync.Once
	fixture     *escalationtest.Scenario
)

// scenario returns the shared incident fixture (built once: it is
// deterministic and read-only).
func scenario(t testing.TB) *escalationtest.Scenario {
	t.Helper()
	fixtureOnce.Do(func() { fixture = escalationtest.Incident12h() })
	return fixture
}

// incidentReport builds the report of the fixture's incident.
func incidentReport(t testing.TB) *escalation.Report {
	t.Helper()
	sc := scenario(t)
	r, err := escalation.Build(context.Background(), sc.Source, escalation.BuildInput{Incident: sc.Incident, Now: sc.Now})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return r
}

// rangeReport builds a report without incident: the last 24 hours of all
// traffic, as snapctl report --since 24h would.
func rangeReport(t testing.TB) *escalation.Report {
	t.Helper()
	sc := scenario(t)
	r, err := escalation.Build(context.Background(), sc.Source, escalation.BuildInput{
		From: sc.Now.Add(-24 * time.Hour), To: sc.Now, Now: sc.Now, InlineRows: 10})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return r
}

func render(t testing.TB, r *escalation.Report, f escalation.Format) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := r.Render(&b, f); err != nil {
		t.Fatalf("Render(%s): %v", f, err)
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	tests := []struct {
		file   string
		report func(testing.TB) *escalation.Report
		format escalation.Format
	}{
		{"incident.md", incidentReport, escalation.FormatMarkdown},
		{"incident.txt", incidentReport, escalation.FormatText},
		{"incident.html", incidentReport, escalation.FormatHTML},
		{"incident.csv", incidentReport, escalation.FormatCSV},
		{"since24h.md", rangeReport, escalation.FormatMarkdown},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := render(t, tt.report(t), tt.format)
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./shared/escalation -update to write it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the rendering (%d vs %d bytes); inspect with -update and git diff\nfirst difference at byte %d",
					path, len(got), len(want), firstDiff(got, want))
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestFixtureIsTheIncident checks the fixture is the incident the report
// is about, so the golden files show what they claim.
func TestFixtureIsTheIncident(t *testing.T) {
	r := incidentReport(t)
	if got := r.InWindow.Rate(); got < 0.012 || got > 0.02 {
		t.Errorf("window rate = %.4f, want about 1.5%%", got)
	}
	if got := r.Baseline.Rate(); got < 0.0003 || got > 0.0007 {
		t.Errorf("baseline rate = %.5f, want about 0.05%%", got)
	}
	if len(r.Daily) != escalation.DailyDays {
		t.Errorf("daily rows = %d, want %d", len(r.Daily), escalation.DailyDays)
	}
	if r.Incident.Calls != r.InWindow.Calls || r.Incident.Failures != r.InWindow.ProviderFailures {
		t.Errorf("incident counts %d/%d, window counts %d/%d", r.Incident.Failures, r.Incident.Calls,
			r.InWindow.ProviderFailures, r.InWindow.Calls)
	}
	if int64(r.AffectedTotal) != r.InWindow.ProviderFailures {
		t.Errorf("affected calls %d, window's provider failures %d", r.AffectedTotal, r.InWindow.ProviderFailures)
	}
	if r.Incident.AffectedResources != len(r.Resources) || r.Incident.AffectedAccounts != r.AffectedAccounts {
		t.Errorf("incident says %d resources / %d accounts, report %d / %d", r.Incident.AffectedResources,
			r.Incident.AffectedAccounts, len(r.Resources), r.AffectedAccounts)
	}
	if r.Incident.FailedRuns != r.Impact.ProviderFailedRuns || r.Incident.AffectedCustomers != r.Impact.CustomersAffected {
		t.Errorf("incident says %d failed runs / %d customers, report %d / %d", r.Incident.FailedRuns,
			r.Incident.AffectedCustomers, r.Impact.ProviderFailedRuns, r.Impact.CustomersAffected)
	}
	for _, c := range r.Affected {
		if c.Operation != snapkeep.OpSnapshotDroplet || !c.Class.Info().ProviderSide || !r.Window.Contains(c.At) {
			t.Errorf("affected call %+v is not a provider-side snapshot_droplet failure in the window", c)
		}
	}
}
