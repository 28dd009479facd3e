package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
	"github.com/snapkeep/snapkeep/shared/support/supporttest"
)

// The incident stack: a day of hourly backups of many customers through a
// 12-hour DigitalOcean incident in nyc3, stored in moto through the stores.
var (
	stackNow      = time.Date(2026, 11, 24, 19, 30, 0, 0, time.UTC)
	stackChange   = time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)
	stackResolved = time.Date(2026, 11, 24, 18, 52, 0, 0, time.UTC)
)

// Customers of the incident stack by what is special about them (customer i).
const (
	stackOptedOut = 4  // notification mode none
	stackBlocked  = 8  // email blocked: a suppressed address
	stackNoToken  = 13 // no preferences token: no one-click unsubscribe
)

// incidentStack is a seeded moto stack and what it holds.
type incidentStack struct {
	// c runs snapctl on the stack (nil in benchmarks, which run the app
	// themselves); env and vars are its tables.
	c         *cli
	env       *awstest.Env
	vars      map[string]string
	tag       string
	incident  snapkeep.Incident
	customers []snapkeep.Customer
	runs      []snapkeep.Run
	calls     []snapkeep.APICall
}

// seedIncidentStack stores n customers with three hourly policies each
// (two droplets in nyc3, one in fra1; every sixth customer has all three
// in fra1) and their runs of the last 24 hours: during the incident about
// a quarter of the nyc3 runs fail with provider_error (one failed call
// each), a twelfth of the fra1 ones too (outside the incident's
// dimension), a few runs fail with auth_revoked, every fifteenth
// customer's runs all succeed; plus the Stats the errorrate function
// would have written (minute parts, run counts, 30 daily roll-ups).
func seedIncidentStack(t *testing.T, n int) *incidentStack {
	t.Helper()
	c := newCLI(t)
	c.now = stackNow
	s := &incidentStack{c: c, env: c.env, vars: c.vars, tag: randomHex(t, 4)}
	s.seed(t, n)
	return s
}

// seed stores the stack's data (see seedIncidentStack).
func (s *incidentStack) seed(tb testing.TB, n int) {
	tb.Helper()
	fx := &supporttest.Fixture{}
	for i := 0; i < n; i++ {
		s.addCustomer(fx, i)
	}
	s.incident = snapkeep.Incident{IncidentID: "provider_error#region:nyc3#2026-11-24T07:00Z", Kind: snapkeep.IncidentProvider,
		Dimension: snapkeep.RegionDimension("nyc3"), Class: snapkeep.ClassProviderError, State: snapkeep.IncidentResolved,
		StartedAt: stackChange, OpenedAt: stackChange.Add(21 * time.Minute), OpenedMonth: "2026-11", ResolvedAt: &stackResolved,
		Detector: "cusum", BaselineRate: 0.0005, Rate: 0.018, PeakRate: 0.04, Calls: 52_000, Failures: 936, UpdatedAt: stackResolved}
	fx.Incidents = []snapkeep.Incident{s.incident}
	fx.Customers, fx.Runs, fx.Calls = s.customers, s.runs, s.calls
	fx.Write(tb, s.env.DynamoDB, support.Tables{
		Policies: s.vars[dynamo.Policies.EnvVar], Customers: s.vars[dynamo.Customers.EnvVar], Runs: s.vars[dynamo.Runs.EnvVar],
		APICalls: s.vars[dynamo.APICalls.EnvVar], Incidents: s.vars[dynamo.Incidents.EnvVar],
	})
	s.writeStats(tb)
}

func (s *incidentStack) email(i int) string {
	return fmt.Sprintf("ops-%s@cust%03d.example", s.tag, i)
}

func (s *incidentStack) addCustomer(fx *supporttest.Fixture, i int) {
	id := fmt.Sprintf("cust-%03d", i)
	modes := []snapkeep.NotificationMode{snapkeep.NotifyEveryFailure, snapkeep.NotifyFirstFailure, snapkeep.NotifyDailyDigest}
	c := snapkeep.Customer{CustomerID: id, Name: fmt.Sprintf("Customer %03d", i), Email: s.email(i),
		NotificationMode: modes[i%len(modes)], PreferencesToken: fmt.Sprintf("pt_%s%020d", s.tag, i)}
	switch i {
	case stackOptedOut:
		c.NotificationMode = snapkeep.NotifyNone
	case stackBlocked:
		c.EmailBlocked = "Suppressed: the address is on the account's suppression list"
	case stackNoToken:
		c.PreferencesToken = ""
	}
	s.customers = append(s.customers, c)
	for j := 0; j < 3; j++ {
		region := []string{"nyc3", "nyc3", "fra1"}[j]
		if i%6 == 5 {
			region = "fra1"
		}
		p := snapkeep.Policy{PolicyID: fmt.Sprintf("pol-%03d-%d", i, j), CustomerID: id, AccountID: "acct-" + id,
			Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: fmt.Sprint(3_100_000 + 10*i + j), Region: region},
			Schedule: "cron(0 * * * ? *)", TimeZone: []string{"Europe/Berlin", "America/New_York", ""}[i%3],
			Retention: snapkeep.Retention{KeepLast: 24}, Enabled: true, CreatedAt: stackNow.AddDate(0, -2, 0), UpdatedAt: stackNow.AddDate(0, -2, 0)}
		fx.Policies = append(fx.Policies, p)
		for k := 0; k < 24; k++ {
			s.addRun(&p, i, j, k)
		}
	}
}

// addRun adds policy p's run of slot k (hours after 19:00 the day before).
func (s *incidentStack) addRun(p *snapkeep.Policy, i, j, k int) {
	slot := stackNow.Truncate(time.Hour).Add(time.Duration(k-24) * time.Hour)
	done := slot.Add(time.Duration(12+(i+j)%7) * time.Minute)
	r := snapkeep.Run{PolicyID: p.PolicyID, ScheduledAt: slot, RunID: snapkeep.NewRunKey(p.PolicyID, slot).RunID(),
		CustomerID: p.CustomerID, AccountID: p.AccountID, ResourceKey: p.Resource.Key(), Resource: p.Resource,
		Trigger: snapkeep.TriggerScheduled, Status: snapkeep.RunSucceeded, Attempts: 1, APICalls: 2,
		ClaimedAt: slot.Add(2 * time.Second), FinishedAt: &done, Deadline: slot.Add(6 * time.Hour), UpdatedAt: done}
	h := (i*31 + j*7 + k*13) % 48
	inIncident := !done.Before(stackChange) && done.Before(stackResolved)
	switch {
	case i%15 == 14:
	case inIncident && p.Region == "nyc3" && h%4 == 0, inIncident && p.Region == "fra1" && h%12 == 1:
		r.Status, r.ErrorClass, r.HTTPStatus = snapkeep.RunFailed, snapkeep.ClassProviderError, 500
		r.ProviderErrorID, r.ProviderMessage = "server_error", "Server Error"
		r.ProviderRequestID = fmt.Sprintf("req-%03d-%d-%02d", i, j, k)
		r.Attempts, r.APICalls = 4, 5
	case k == 8 && j == 2 && i%20 == 9:
		r.Status, r.ErrorClass, r.HTTPStatus = snapkeep.RunFailed, snapkeep.ClassAuthRevoked, 401
	}
	s.runs = append(s.runs, r)
	if r.ErrorClass == snapkeep.ClassProviderError {
		at := done.Add(-30 * time.Second)
		s.calls = append(s.calls, snapkeep.APICall{RunID: r.RunID, Seq: 1, PolicyID: r.PolicyID, ResourceKey: r.ResourceKey,
			Region: r.Region, AccountID: r.AccountID, Host: "api.digitalocean.com", Operation: snapkeep.OpSnapshotDroplet,
			Attempt: 4, Method: "POST", Path: "/v2/droplets/" + r.ID + "/actions", StatusCode: 500, Class: snapkeep.ClassProviderError,
			ErrorID: "server_error", ErrorMessage: "Server Error", ProviderRequestID: r.ProviderRequestID,
			StartedAt: at, DurationMS: 120, FailureHour: at.UTC().Format(snapkeep.FailureHourFormat),
			ExpiresAt:       stackNow.Add(90 * 24 * time.Hour).Unix(),
			ResponseHeaders: map[string]string{"x-request-id": r.ProviderRequestID, "ratelimit-remaining": "4321"}})
	}
}

// writeStats writes what the errorrate function keeps in Stats: the
// minute parts of every call (a list_snapshots and a snapshot_droplet
// call per run), the terminal runs per minute, and 30 daily roll-ups.
func (s *incidentStack) writeStats(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	st := &dynamo.StatsStore{Client: s.env.DynamoDB, Table: s.vars[dynamo.Stats.EnvVar]}
	calls, runs := errorrate.NewAggregate(), errorrate.NewRunAggregate()
	for i := range s.runs {
		r := &s.runs[i]
		for _, op := range []snapkeep.Operation{snapkeep.OpListSnapshots, snapkeep.OpSnapshotDroplet} {
			c := snapkeep.APICall{RunID: r.RunID, Region: r.Region, Operation: op, AccountID: r.AccountID,
				ResourceKey: r.ResourceKey, StartedAt: r.FinishedAt.Add(-time.Minute)}
			if op == snapkeep.OpSnapshotDroplet && r.ErrorClass != "" {
				c.Class = r.ErrorClass
			}
			if err := calls.Add(&c); err != nil {
				t.Fatal(err)
			}
		}
		if err := runs.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	part := dynamo.Part{Shard: "shardId-000000000001", FirstSeq: "100"}
	if _, err := st.PutCallParts(ctx, part, calls); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutRunParts(ctx, part, runs); err != nil {
		t.Fatal(err)
	}
	perDay := int64(2 * len(s.runs))
	for d := 1; d <= 30; d++ {
		day := stackNow.Truncate(24*time.Hour).AddDate(0, 0, -d)
		for _, dim := range []snapkeep.Dimension{snapkeep.DimensionAll, snapkeep.RegionDimension("nyc3")} {
			if err := st.PutDaily(ctx, dim, errorrate.DayCounts{Day: day, Counts: errorrate.Counts{Calls: perDay, Failures: int64(d % 3)}}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// affectedCalls counts the stored failed calls in [from, to) in region
// ("" for all).
func (s *incidentStack) affectedCalls(from, to time.Time, region string) int {
	n := 0
	for _, c := range s.calls {
		if !c.StartedAt.Before(from) && c.StartedAt.Before(to) && (region == "" || c.Region == region) {
			n++
		}
	}
	return n
}

func TestReportSectionsInEveryFormat(t *testing.T) {
	t.Parallel()
	s := seedIncidentStack(t, 12)
	args := [][]string{
		{"report", "--incident", s.incident.IncidentID},
		{"report", "--since", "2026-11-24T06:00:00Z", "--until", "2026-11-24T19:00:00Z", "--dimension", "region:nyc3"},
	}
	for _, base := range args {
		for _, f := range []string{"md", "html", "text"} {
			t.Run(base[1]+" "+f, func(t *testing.T) {
				r := s.c.ok(append(base, "--format", f)...)
				for _, sec := range escalation.Sections() {
					want := sec.Title
					if f == "html" {
						want = `<section id="` + sec.ID + `"`
					}
					if !strings.Contains(r.stdout, want) {
						t.Errorf("%s report lacks section %s (%q)", f, sec.ID, want)
					}
				}
				if f == "html" && !strings.Contains(r.stdout, `<svg`) {
					t.Error("html report has no chart")
				}
				if !strings.Contains(r.stdout, "nyc3") || !strings.Contains(r.stdout, "server_error") {
					t.Errorf("%s report does not tell the region and error id", f)
				}
			})
		}
	}
	// The CSV holds every affected call of the window, one row each.
	r := s.c.ok("report", "--incident", s.incident.IncidentID, "--format", "csv")
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := s.affectedCalls(stackChange, stackResolved, "nyc3")
	if want == 0 || len(rows) != want+1 || strings.Join(rows[0], ",") != strings.Join(escalation.CSVHeader, ",") {
		t.Errorf("csv: %d rows, want the header and %d affected calls", len(rows), want)
	}
}

// TestReportOut: --out writes the report and, for html and md, the CSV
// of the affected calls beside it under the name the report says is
// attached; a report named as its own CSV is refused, not overwritten.
func TestReportOut(t *testing.T) {
	t.Parallel()
	s := seedIncidentStack(t, 6)
	dir := t.TempDir()
	out := filepath.Join(dir, "incident.html")
	r := s.c.ok("report", "--incident", s.incident.IncidentID, "--out", out)
	html, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.stdout != "" || !strings.Contains(string(html), `<section id="impact"`) || !strings.Contains(r.stderr, "wrote "+out) {
		t.Errorf("--out html: stdout %q, stderr %q, file %d bytes", r.stdout, r.stderr, len(html))
	}
	// The window starts at the change, 07:00: the name the report gives.
	const incidentCSV = "snapkeep-affected-calls-20261124T0700Z.csv"
	affected := s.affectedCalls(stackChange, stackResolved, "nyc3")
	rows, err := csv.NewReader(mustOpen(t, filepath.Join(dir, incidentCSV))).ReadAll()
	if err != nil || len(rows) != affected+1 {
		t.Errorf("the CSV beside the html: %d rows, %v", len(rows), err)
	}
	if !strings.Contains(string(html), "attached "+incidentCSV) {
		t.Errorf("the html report does not refer to %s, the CSV written beside it", incidentCSV)
	}
	if want := fmt.Sprintf("wrote %s (%d affected calls, the CSV the report refers to)", filepath.Join(dir, incidentCSV), affected); !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q lacks %q", r.stderr, want)
	}
	// A .md file is Markdown without --format; its CSV goes beside it too,
	// named after its own window (from 12 hours before now, 07:30).
	md := filepath.Join(dir, "report.md")
	s.c.ok("report", "--since", "12h", "--out", md)
	if b, _ := os.ReadFile(md); !strings.HasPrefix(string(b), "# ") || !strings.Contains(string(b), "attached snapkeep-affected-calls-20261124T0730Z.csv") {
		t.Errorf("--out report.md is not Markdown referring to its CSV: %.80q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "snapkeep-affected-calls-20261124T0730Z.csv")); err != nil {
		t.Errorf("no CSV beside report.md: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("%d files in the directory, want 4 (no temporary file left): %v", len(entries), entries)
	}
	// An html report at its CSV's path is refused, naming both paths.
	clash := filepath.Join(t.TempDir(), incidentCSV)
	r = s.c.run("", "report", "--incident", s.incident.IncidentID, "--format", "html", "--out", clash)
	assertFails(t, r, exitUsage, "--out", clash)
	if strings.Count(r.stderr, clash) < 2 {
		t.Errorf("the refusal names %s %d times, want both paths: %s", clash, strings.Count(r.stderr, clash), r.stderr)
	}
	if _, err := os.Stat(clash); err == nil {
		t.Errorf("%s was written", clash)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestReportBadFlags(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.now = stackNow
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"neither", []string{"report"}, exitUsage, []string{"exactly one of --incident ID or --since WHEN"}},
		{"both", []string{"report", "--incident", "x", "--since", "24h"}, exitUsage, []string{"exactly one of"}},
		{"until alone", []string{"report", "--incident", "x", "--until", "1h"}, exitUsage, []string{"--until needs --since"}},
		{"bad since", []string{"report", "--since", "yesterday"}, exitUsage, []string{`--since: "yesterday" is neither an age`}},
		{"bad format", []string{"report", "--since", "24h", "--format", "pdf"}, exitUsage, []string{`--format: "pdf" is not a report format`}},
		{"too long", []string{"report", "--since", "8d"}, exitUsage, []string{"at most 7d"}},
		{"reversed", []string{"report", "--since", "2h", "--until", "5h"}, exitUsage, []string{"is not before"}},
		{"future", []string{"report", "--since", "1h", "--until", "2026-11-25"}, exitUsage, []string{"after now"}},
		{"bad dimension", []string{"report", "--since", "1h", "--dimension", "zone:nyc3"}, exitUsage, []string{`dimension "zone:nyc3"`}},
		{"inline rows", []string{"report", "--since", "1h", "--inline-rows", "0"}, exitUsage, []string{"--inline-rows 0: must be 1-"}},
		{"inline rows not a number", []string{"report", "--since", "1h", "--inline-rows", "many"}, exitUsage, []string{`--inline-rows: "many" is not a number`}},
		{"unknown incident", []string{"report", "--incident", "provider_error#all#2026-01-01T00:00Z"}, exitUsage, []string{"no incident", "snapctl incidents list"}},
		{"out in a missing directory", []string{"report", "--since", "1h", "--out", filepath.Join(t.TempDir(), "no", "r.html")}, exitFailure, []string{"--out", "Check that the directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.run("", tt.args...)
			assertFails(t, r, tt.code, tt.want...)
			if strings.Contains(r.stderr, "strconv.") || strings.Contains(r.stderr, "parsing time") {
				t.Errorf("stderr leaks parser internals: %s", r.stderr)
			}
		})
	}
}
