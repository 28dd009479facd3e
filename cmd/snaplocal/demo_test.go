package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/infra/awslocal"
	"github.com/snapkeep/snapkeep/infra/browsertest"
	"github.com/snapkeep/snapkeep/infra/scenario"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// smokeScenario is the shortened story CI plays: one day, 40 policies (20
// hourly), and an incident loud enough (25% of droplet snapshot requests)
// to be detected within the day at this small fleet's traffic.
func smokeScenario() scenario.Config {
	c := scenario.DefaultConfig()
	c.Policies, c.Hourly, c.Days = 40, 20, 1
	c.IncidentStart, c.IncidentDuration, c.IncidentRate = 8*time.Hour, 12*time.Hour, 0.25
	return c
}

// TestDemo plays the smoke scenario through the real functions and checks
// the summary's figures against what the tables, moto's SES and the fake
// DigitalOcean hold, read another way (per policy and per run, through the
// indexes the product queries), and the escalation report in Chromium.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	report := filepath.Join(t.TempDir(), "demo-report.html")
	var played *Demo
	err := runDemo(context.Background(), DemoOptions{
		Out: &out, Scenario: smokeScenario(), ReportPath: report,
		Inspect: func(ctx context.Context, d *Demo) error {
			played = d
			checkAgainstStores(ctx, t, d, out.String())
			return nil
		},
	})
	if err != nil {
		t.Fatalf("the demo failed: %v\n%s", err, out.String())
	}
	if played == nil {
		t.Fatal("the demo finished without calling Inspect")
	}
	if !strings.Contains(out.String(), "Self-check: every run finished") {
		t.Errorf("the output lacks the self-check's verdict:\n%s", out.String())
	}
	if played.ReportPath != report {
		t.Fatalf("report written to %q, want %q", played.ReportPath, report)
	}
	browsertest.CheckReport(t, report)
	if filepath.Dir(played.CSVPath) != filepath.Dir(report) || !strings.HasPrefix(filepath.Base(played.CSVPath), "snapkeep-affected-calls-") {
		t.Errorf("the affected calls' CSV is %q, want it beside the report under the name the report gives it", played.CSVPath)
	}
	html, _ := os.ReadFile(report)
	if !bytes.Contains(html, []byte(filepath.Base(played.CSVPath))) {
		t.Errorf("the report does not name its CSV %s", filepath.Base(played.CSVPath))
	}
	if csv, err := os.ReadFile(played.CSVPath); err != nil || !bytes.HasPrefix(csv, []byte("time_utc,operation,")) || bytes.Count(csv, []byte("\n")) < 2 {
		t.Errorf("the affected calls' CSV (%v): %.200s", err, csv)
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", out.String())
	}
}

// checkAgainstStores compares the summary and the printed figures with
// the stores, read independently of the summary's scans.
func checkAgainstStores(ctx context.Context, t *testing.T, d *Demo, printed string) {
	t.Helper()
	s := d.Summary
	runs := &dynamo.RunStore{Client: d.DynamoDB, Table: d.TableName(dynamo.Runs), Now: d.Clock.Now}
	calls := &dynamo.APICallStore{Client: d.DynamoDB, Table: d.TableName(dynamo.APICalls)}
	since := d.Fleet.Config.Start.Add(-24 * time.Hour)

	var all []snapkeep.Run
	for _, p := range d.Fleet.Policies {
		got, err := runs.ListByPolicy(ctx, p.PolicyID, since)
		if err != nil {
			t.Fatalf("runs of %s: %v", p.PolicyID, err)
		}
		all = append(all, got...)
	}
	enabledSlots := 0
	for _, sl := range d.Slots {
		if p, ok := d.Fleet.Policy(sl.Schedule); ok && p.Enabled {
			enabledSlots++
		}
	}
	status := map[snapkeep.RunStatus]int{}
	rows, failureEmails := 0, 0
	for _, r := range all {
		status[r.Status]++
		cs, err := calls.ListByRun(ctx, r.RunID)
		if err != nil {
			t.Fatalf("calls of %s: %v", r.RunID, err)
		}
		if len(cs) != r.APICalls {
			t.Errorf("run %s counts %d calls, ApiCalls has %d", r.RunID, r.APICalls, len(cs))
		}
		rows += len(cs)
		if n, ok := r.Notices[snapkeep.ChannelEmail]; ok && n.Kind == snapkeep.NoticeFailure && n.ID != "" {
			failureEmails++
		}
	}

	// Runs: one per enabled slot, the same statuses the summary counts
	// and prints.
	if len(all) != enabledSlots || len(s.Runs) != len(all) {
		t.Errorf("runs: %d slots of enabled policies, %d runs queried by policy, %d in the summary", enabledSlots, len(all), len(s.Runs))
	}
	for st, n := range status {
		if s.ByStatus[st] != n {
			t.Errorf("%s runs: %d queried, %d in the summary", st, n, s.ByStatus[st])
		}
	}
	want := fmt.Sprintf("Runs           %d: %d succeeded, %d failed, %d timed out", len(all),
		status[snapkeep.RunSucceeded], status[snapkeep.RunFailed], status[snapkeep.RunTimedOut])
	if !strings.Contains(printed, want) {
		t.Errorf("the summary does not print %q", want)
	}
	if status[snapkeep.RunFailed] == 0 || status[snapkeep.RunSucceeded] == 0 {
		t.Errorf("the scenario should make runs succeed and fail: %v", status)
	}

	// DigitalOcean calls: every request the fake answered is a row of its
	// run.
	requests := len(d.DO.Requests())
	if rows != requests || s.CallRows != requests {
		t.Errorf("calls: the fake answered %d requests, the runs' rows are %d, the summary counts %d", requests, rows, s.CallRows)
	}
	if want := fmt.Sprintf("%d API calls made, %d logged in ApiCalls", requests, rows); !strings.Contains(printed, want) {
		t.Errorf("the summary does not print %q", want)
	}

	// Snapshots: what the fake deleted is what the runs say retention
	// deleted; each snapshot a run took is at the fake, or deleted since.
	if got, want := len(d.DO.Deleted()), s.Pruned+s.MadeRoom; got != want {
		t.Errorf("the fake deleted %d snapshots, the runs' retention says %d", got, want)
	}
	taken := 0
	for _, r := range all {
		if r.Status == snapkeep.RunSucceeded && r.SnapshotID != "" {
			taken++
			if _, ok := d.DO.Snapshot(r.SnapshotID); !ok && !deleted(d, r.SnapshotID) {
				t.Errorf("run %s took snapshot %s, which the fake never had", r.RunID, r.SnapshotID)
			}
		}
	}
	if want := fmt.Sprintf("Snapshots      %d taken; %d earlier ones deleted", taken, s.Pruned); !strings.Contains(printed, want) {
		t.Errorf("the summary does not print %q", want)
	}

	// Emails: what moto's SES holds, and one failure email per run that
	// records one.
	sent, err := awslocal.SentEmails(ctx, d.Moto.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != len(s.Emails) {
		t.Errorf("moto's SES holds %d emails, the summary %d", len(sent), len(s.Emails))
	}
	if got := s.CustomerEmails()[string(snapkeep.NoticeFailure)]; got != failureEmails {
		t.Errorf("failure emails: %d in SES, %d recorded on the runs", got, failureEmails)
	}
	if got := printedCount(t, printed, "failure"); got != failureEmails {
		t.Errorf("the summary prints %d failure emails, the runs record %d", got, failureEmails)
	}

	// Ops: one alert by email, with the report attached, inside the
	// incident.
	alerts := 0
	for _, e := range s.Emails {
		if e.Kind == "" && opsKind(e.Subject) == opsAlert {
			alerts++
			if len(e.Attachments) == 0 {
				t.Errorf("the ops alert %q has no report attached", e.Subject)
			}
		}
	}
	if alerts != 1 || printedCount(t, printed, "ops alert") != 1 {
		t.Errorf("ops alerts: %d emails, %d printed; want 1", alerts, printedCount(t, printed, "ops alert"))
	}
	if p := s.Provider(); len(p) != 1 || !d.Fleet.Incident.Contains(p[0].OpenedAt) {
		t.Errorf("provider incidents %+v: want one, opened inside %v", p, d.Fleet.Incident)
	}
}

// deleted says whether the fake deleted snapshot id.
func deleted(d *Demo, id string) bool {
	for _, sn := range d.DO.Deleted() {
		if sn.ID == id {
			return true
		}
	}
	return false
}

// printedCount reads the email column of a row of the summary's messages
// table ("    failure                  20     20").
func printedCount(t *testing.T, printed, label string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^    ` + regexp.QuoteMeta(label) + `\s+(\d+)\s+(\d+)$`).FindStringSubmatch(printed)
	if m == nil {
		t.Errorf("the summary has no %q row", label)
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestDemoFlags: bad flags get an error that says what is wrong, before
// anything starts.
func TestDemoFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"demo", "-policies", "5"}, "policies 5: want 30 to 5000"},
		{[]string{"demo", "-incident-start", "tuesday"}, `-incident-start "tuesday": want a duration`},
		{[]string{"demo", "-days", "1"}, "want it inside the 1 simulated days"},
		{[]string{"demo", "extra"}, "unexpected arguments extra"},
		{[]string{"demo", "-evaluate-every", "rate(4 hours)"}, "want a schedule at least every 3h0m0s"},
		{[]string{"demo", "-evaluate-every", "hourly"}, "-evaluate-every: "},
		{[]string{"launch"}, `unknown command "launch"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.want)
			}
		})
	}
}
