package main

import (
	"encoding/csv"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
	"github.com/snapkeep/snapkeep/shared/support/supporttest"
)

// smallFixture is enough data for the commands; shared/support's tests
// query thousands of runs.
var smallFixture = supporttest.Size{Customers: 4, PoliciesPerCustomer: 3, Slots: 5}

// seededCLI is a cli on tables holding a fixture, its clock at the
// fixture's Now.
func seededCLI(t *testing.T) (*cli, *supporttest.Fixture) {
	t.Helper()
	c := newCLI(t)
	c.now = supporttest.Now
	fx := supporttest.Generate(smallFixture)
	fx.Write(t, c.env.DynamoDB, support.Tables{
		Policies: c.vars[dynamo.Policies.EnvVar], Customers: c.vars[dynamo.Customers.EnvVar], Runs: c.vars[dynamo.Runs.EnvVar],
		APICalls: c.vars[dynamo.APICalls.EnvVar], Incidents: c.vars[dynamo.Incidents.EnvVar],
	})
	return c, fx
}

func ids(runs []snapkeep.Run) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.RunID
	}
	sort.Strings(out)
	return out
}

func TestRunsLastNight(t *testing.T) {
	c, fx := seededCLI(t)
	// cust-01 is in New York: its last night is 22:00Z on the 26th to
	// 13:00Z on the 27th, which holds its 02:00 EDT (06:00Z) slots of the 27th.
	var want []snapkeep.Run
	for _, r := range fx.Runs {
		if r.CustomerID == "cust-01" && r.ScheduledAt.Format("2006-01-02") == "2026-03-27" {
			want = append(want, r)
		}
	}
	if len(want) != 3 {
		t.Fatalf("fixture: %d runs of cust-01 last night, want 3", len(want))
	}
	var got []snapkeep.Run
	c.jsonOut(&got, "runs", "--customer", "cust-01", "--last-night")
	if strings.Join(ids(got), " ") != strings.Join(ids(want), " ") {
		t.Errorf("runs --last-night = %v, want %v", ids(got), ids(want))
	}

	r := c.ok("runs", "--customer", "cust-01", "--last-night", "--explain")
	for _, s := range []string{"LOCAL (America/New_York)", "Fri 27 Mar 02:", "EDT", want[0].PolicyID} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("table lacks %q:\n%s", s, r.stdout)
		}
	}
	for _, s := range []string{"Thu 26 Mar 18:00 EDT – Fri 27 Mar 09:00 EDT", "aws dynamodb query", "time zones of customer",
		"--index-name by-customer", `"2026-03-26T22:00:00Z"`, `"2026-03-27T12:59:59Z"`, "3 items returned, 3 read"} {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr (range note and --explain) lacks %q:\n%s", s, r.stderr)
		}
	}

	// The droplet's night is its policy's; --tz overrides it.
	drop := strings.TrimPrefix(want[0].ResourceKey, "droplet:")
	r = c.ok("runs", "--droplet", drop, "--last-night", "--tz", "Asia/Tokyo", "-o", "csv")
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || len(rows) < 1 || rows[0][1] != "LOCAL (Asia/Tokyo)" {
		t.Errorf("csv %q, %v", r.stdout, err)
	}
}

func TestRunsFormatsAndFilters(t *testing.T) {
	c, fx := seededCLI(t)
	var failed []snapkeep.Run
	for _, r := range fx.Runs {
		if r.CustomerID == "cust-00" && (r.Status == snapkeep.RunFailed || r.Status == snapkeep.RunTimedOut) {
			failed = append(failed, r)
		}
	}
	if len(failed) == 0 {
		t.Fatal("fixture: cust-00 has no failures")
	}
	args := []string{"runs", "--customer", "cust-00", "--status", "failed,timed_out"}
	var viaJSON, viaYAML []snapkeep.Run
	c.jsonOut(&viaJSON, args...)
	r := c.ok(append(args, "-o", "yaml")...)
	var raw any
	if err := yaml.Unmarshal([]byte(r.stdout), &raw); err != nil {
		t.Fatalf("yaml: %v\n%s", err, r.stdout)
	}
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, &viaYAML); err != nil {
		t.Fatal(err)
	}
	r = c.ok(append(args, "-o", "csv")...)
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join(ids(failed), " ")
	for name, got := range map[string][]snapkeep.Run{"json": viaJSON, "yaml": viaYAML} {
		if strings.Join(ids(got), " ") != want {
			t.Errorf("-o %s: %v, want %v", name, ids(got), want)
		}
	}
	if len(rows) != len(failed)+1 || rows[0][0] != "SLOT (UTC)" {
		t.Errorf("-o csv: %d rows, want a header and %d", len(rows), len(failed))
	}
	r = c.ok("runs", "--policy", "pol-000", "--since", "2d")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "SLOT (UTC)") {
		t.Errorf("two days of a daily policy: want a header and 2 rows:\n%s", r.stdout)
	}
	r = c.ok("runs", "--policy", "pol-000", "--from", "2020-01-01", "--to", "2020-01-02")
	if !strings.Contains(r.stdout, `No runs of policy "pol-000" in that range.`) {
		t.Errorf("empty range: %q", r.stdout)
	}
}

func TestFailuresCallsRunShow(t *testing.T) {
	c, fx := seededCLI(t)
	var pe *snapkeep.Run
	retrying := 0
	for i := range fx.Runs {
		r := &fx.Runs[i]
		if r.ErrorClass == snapkeep.ClassProviderError && r.APICalls > 0 && pe == nil {
			pe = r
		}
		if r.RetryClass == snapkeep.ClassProviderError && !r.Status.Terminal() {
			retrying++
		}
	}
	if pe == nil || retrying == 0 {
		t.Fatalf("fixture: no provider_error run with calls (%v) or none retrying (%d)", pe, retrying)
	}
	var out struct {
		Failed   []snapkeep.Run `json:"failed"`
		Retrying []snapkeep.Run `json:"retrying"`
	}
	c.jsonOut(&out, "failures", "--class", "provider_error", "--since", "7d")
	found := false
	for _, r := range out.Failed {
		found = found || r.RunID == pe.RunID
		if r.ErrorClass != snapkeep.ClassProviderError {
			t.Errorf("failures --class provider_error listed %s of %s", r.RunID, r.ErrorClass)
		}
	}
	if !found || len(out.Retrying) != retrying {
		t.Errorf("failures: %s found %t, %d retrying (want %d)", pe.RunID, found, len(out.Retrying), retrying)
	}
	r := c.ok("failures", "--class", "provider_error", "--since", "7d")
	for _, s := range []string{"STATE", "retrying", pe.ProviderRequestID, pe.CustomerID} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("failures table lacks %q:\n%s", s, r.stdout)
		}
	}

	r = c.ok("run", "show", pe.PolicyID, pe.ScheduledAt.Format(snapkeep.SlotTimeFormat))
	for _, s := range []string{"Why:", "provider_error", "Server Error", pe.ProviderRequestID, "DigitalOcean calls (" + itoa(pe.APICalls) + ")", "list_snapshots"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("run show lacks %q:\n%s", s, r.stdout)
		}
	}
	var d support.RunDetail
	c.jsonOut(&d, "run", "show", pe.RunID)
	if d.Run == nil || d.Run.RunID != pe.RunID || d.Explanation == "" || len(d.Calls) != pe.APICalls {
		t.Errorf("run show -o json = %+v", d)
	}

	var calls []snapkeep.APICall
	c.jsonOut(&calls, "calls", "--run", pe.RunID)
	if len(calls) != pe.APICalls || calls[0].Seq != 1 {
		t.Errorf("calls --run: %d calls, want %d in seq order", len(calls), pe.APICalls)
	}
	c.jsonOut(&calls, "calls", "--request-id", pe.ProviderRequestID)
	if len(calls) != 1 || calls[0].RunID != pe.RunID || calls[0].StatusCode != 500 {
		t.Errorf("calls --request-id: %+v", calls)
	}
	r = c.ok("calls", "--request-id", "no-such-request")
	if !strings.Contains(r.stdout, "No calls found") {
		t.Errorf("no calls: %q", r.stdout)
	}
	assertFails(t, c.run("", "run", "show", pe.PolicyID, "2020-01-01T00:00:00Z"), exitUsage, "no run of policy", "snapctl runs --policy "+pe.PolicyID)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestIncidentsCommands(t *testing.T) {
	c, fx := seededCLI(t)
	var open []snapkeep.Incident
	c.jsonOut(&open, "incidents", "list")
	if len(open) != 3 || open[0].IncidentID != "provider_error#region:nyc3#2026-03-27T11:30Z" {
		t.Errorf("incidents list: %+v", open)
	}
	r := c.ok("incidents", "list")
	if !strings.Contains(r.stdout, "region:nyc3") || strings.Contains(r.stdout, "resolved") {
		t.Errorf("incidents list table:\n%s", r.stdout)
	}
	resolved := fx.Incidents[3].IncidentID
	r = c.ok("incidents", "show", resolved)
	for _, s := range []string{"State:", "resolved", "Failure rate:", "2.10%"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("incidents show lacks %q:\n%s", s, r.stdout)
		}
	}
	assertFails(t, c.run("", "incidents", "show", "nope"), exitUsage, `no incident "nope"`, "snapctl incidents list")
	assertFails(t, c.run("", "incidents", "list", "--all"), exitUsage, "--all and --since go together")
	// Every incident opened in the last three days, open or resolved,
	// through the by-month index: the resolved fra1 one too, not the
	// week-old one.
	var recent []snapkeep.Incident
	c.jsonOut(&recent, "incidents", "list", "--all", "--since", "3d")
	var ids []string
	for _, inc := range recent {
		ids = append(ids, inc.IncidentID)
	}
	want := []string{fx.Incidents[1].IncidentID, fx.Incidents[0].IncidentID, fx.Incidents[2].IncidentID, fx.Incidents[4].IncidentID}
	if !slices.Equal(ids, want) {
		t.Errorf("incidents list --all --since 3d = %v, want %v (newest first)", ids, want)
	}
}
