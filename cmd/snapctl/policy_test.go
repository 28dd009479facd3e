package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

var webFlags = []string{"policy", "put", "--id", "pol-web1", "--customer", "acme", "--account", "acme-main",
	"--droplet", "3164444", "--region", "nyc3", "--schedule", "cron(0 3 * * ? *)", "--tz", "Europe/Berlin",
	"--keep-last", "7", "--flexible-window", "15"}

func TestPolicyPutGetList(t *testing.T) {
	c := newCLI(t)
	r := c.ok(webFlags...)
	if !strings.Contains(r.stdout, "Stored policy pol-web1") {
		t.Errorf("put output: %q", r.stdout)
	}
	if !strings.Contains(r.stderr, `warning: customer "acme" does not exist`) {
		t.Errorf("put of a policy of an unknown customer did not warn: %q", r.stderr)
	}

	var got snapkeep.Policy
	c.jsonOut(&got, "policy", "get", "pol-web1")
	want := snapkeep.Policy{
		PolicyID: "pol-web1", CustomerID: "acme", AccountID: "acme-main",
		Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "3164444", Region: "nyc3"},
		Schedule: "cron(0 3 * * ? *)", TimeZone: "Europe/Berlin",
		Retention: snapkeep.Retention{KeepLast: 7}, Enabled: true, FlexibleWindowMinutes: 15,
		CreatedAt: c.now, UpdatedAt: c.now,
	}
	if !equalPolicy(got, want) {
		t.Errorf("policy get -o json = %s\nwant %s", js(got), js(want))
	}

	r = c.ok("policy", "get", "pol-web1")
	for _, s := range []string{"pol-web1", "droplet 3164444 (nyc3)", "cron(0 3 * * ? *) Europe/Berlin", "last 7", "15 min", "2026-03-27T12:00:00Z"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("policy get output lacks %q:\n%s", s, r.stdout)
		}
	}

	// Replace it a day later with other settings: created_at stays.
	created := c.now
	c.now = c.now.Add(24 * time.Hour)
	c.ok("policy", "put", "--id", "pol-web1", "--customer", "acme", "--account", "acme-main",
		"--volume", "506f78a4-e098-11e5-ad9f-000f53306ae1", "--region", "fra1", "--schedule", "rate(1 day)",
		"--max-age-days", "30", "--disabled")
	c.jsonOut(&got, "policy", "get", "pol-web1")
	want = snapkeep.Policy{
		PolicyID: "pol-web1", CustomerID: "acme", AccountID: "acme-main",
		Resource:  snapkeep.Resource{Kind: snapkeep.ResourceVolume, ID: "506f78a4-e098-11e5-ad9f-000f53306ae1", Region: "fra1"},
		Schedule:  "rate(1 day)",
		Retention: snapkeep.Retention{MaxAgeDays: 30}, Enabled: false,
		CreatedAt: created, UpdatedAt: c.now,
	}
	if !equalPolicy(got, want) {
		t.Errorf("after replace: %s\nwant %s", js(got), js(want))
	}

	c.ok("customer", "put", "--id", "globex", "--name", "Globex", "--email", "ops@globex.example")
	r = c.ok("policy", "put", "--id", "pol-g1", "--customer", "globex", "--account", "globex-1",
		"--droplet", "42", "--region", "sgp1", "--schedule", "cron(15 */6 * * ? *)", "--keep-last", "3")
	if strings.Contains(r.stderr, "warning") {
		t.Errorf("warned about an existing customer: %q", r.stderr)
	}

	var all []snapkeep.Policy
	c.jsonOut(&all, "policy", "list")
	if len(all) != 2 || all[0].PolicyID != "pol-g1" || all[1].PolicyID != "pol-web1" {
		t.Errorf("policy list -o json = %s, want pol-g1 and pol-web1", js(all))
	}
	c.jsonOut(&all, "policy", "list", "--customer", "globex")
	if len(all) != 1 || all[0].PolicyID != "pol-g1" {
		t.Errorf("policy list --customer globex = %s, want pol-g1", js(all))
	}
	c.jsonOut(&all, "policy", "list", "--customer", "nobody")
	if len(all) != 0 {
		t.Errorf("policy list --customer nobody = %s, want none", js(all))
	}

	r = c.ok("policy", "list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "POLICY") || !strings.HasPrefix(lines[1], "pol-g1") ||
		!strings.Contains(lines[2], "volume:506f78a4-e098-11e5-ad9f-000f53306ae1") || !strings.Contains(lines[2], "paused") {
		t.Errorf("policy list table:\n%s", r.stdout)
	}
	r = c.ok("policy", "list", "--customer", "nobody")
	if !strings.Contains(r.stdout, `No policies of customer "nobody"`) {
		t.Errorf("empty list output: %q", r.stdout)
	}
}

// js formats v as JSON for failure messages (%v would print a Policy as its
// embedded Resource's String).
func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func equalPolicy(a, b snapkeep.Policy) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) || !a.UpdatedAt.Equal(b.UpdatedAt) {
		return false
	}
	a.CreatedAt, a.UpdatedAt, b.CreatedAt, b.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b
}

func TestPolicyPutFromFile(t *testing.T) {
	c := newCLI(t)
	c.ok("policy", "put", "-f", "testdata/policy.yaml")
	var got snapkeep.Policy
	c.jsonOut(&got, "policy", "get", "pol-file-yaml")
	want := snapkeep.Policy{
		PolicyID: "pol-file-yaml", CustomerID: "acme", AccountID: "acme-main",
		Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "3164444", Region: "nyc3"},
		Schedule: "cron(30 2 ? * 1 *)", TimeZone: "America/New_York",
		Retention: snapkeep.Retention{KeepLast: 7, MaxAgeDays: 30}, Enabled: true, FlexibleWindowMinutes: 15,
		CreatedAt: c.now, UpdatedAt: c.now,
	}
	if !equalPolicy(got, want) {
		t.Errorf("from yaml: %s\nwant %s", js(got), js(want))
	}

	c.ok("policy", "put", "-f", "testdata/policy.json")
	c.jsonOut(&got, "policy", "get", "pol-file-json")
	want = snapkeep.Policy{
		PolicyID: "pol-file-json", CustomerID: "acme", AccountID: "acme-main",
		Resource: snapkeep.Resource{Kind: snapkeep.ResourceVolume, ID: "506f78a4-e098-11e5-ad9f-000f53306ae1", Region: "fra1"},
		Schedule: "rate(12 hours)", Retention: snapkeep.Retention{KeepLast: 10}, Enabled: false,
		CreatedAt: c.now, UpdatedAt: c.now,
	}
	if !equalPolicy(got, want) {
		t.Errorf("from json: %s\nwant %s", js(got), js(want))
	}

	// get -o json output is a valid file for put.
	out := c.ok("policy", "get", "pol-file-yaml", "-o", "json").stdout
	file := t.TempDir() + "/roundtrip.json"
	if err := writeFile(file, strings.Replace(out, `"keep_last": 7`, `"keep_last": 9`, 1)); err != nil {
		t.Fatal(err)
	}
	c.now = c.now.Add(time.Hour)
	c.ok("policy", "put", "-f", file)
	c.jsonOut(&got, "policy", "get", "pol-file-yaml")
	if got.KeepLast != 9 || !got.UpdatedAt.Equal(c.now) || !got.CreatedAt.Equal(c.now.Add(-time.Hour)) {
		t.Errorf("after round trip: keep_last %d created %v updated %v", got.KeepLast, got.CreatedAt, got.UpdatedAt)
	}
}

func TestPolicyPutBadInput(t *testing.T) {
	c := newCLI(t)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown yaml field", []string{"-f", "testdata/policy-unknown-field.yaml"}, []string{`unknown field "keep_lst"`, "policy-unknown-field.yaml"}},
		{"unknown json field", []string{"-f", "testdata/policy-unknown-field.json"}, []string{`unknown field "timezone"`}},
		{"malformed cron in file", []string{"-f", "testdata/policy-bad-cron.yaml"}, []string{"invalid policy", "schedule", "day-of-week", "Nothing was written"}},
		{"two documents", []string{"-f", "testdata/policy-two-docs.yaml"}, []string{"more than one YAML document"}},
		{"not an object", []string{"-f", "testdata/policy-not-object.json"}, []string{"one object"}},
		{"broken json", []string{"-f", "testdata/policy-broken.json"}, []string{"not valid JSON"}},
		{"unknown extension", []string{"-f", "testdata/policy.txt"}, []string{`unknown file type ".txt"`}},
		{"missing file", []string{"-f", "testdata/nope.yaml"}, []string{"testdata/nope.yaml"}},
		{"file and flags", []string{"-f", "testdata/policy.yaml", "--id", "x"}, []string{"not both", "--id"}},
		{"nothing", nil, []string{"no policy given"}},
		{"no id", []string{"--customer", "acme"}, []string{"--id is required"}},
		{"droplet and volume", append(flagsWithout(webFlags[2:], "--tz"), "--volume", "506f78a4-e098-11e5-ad9f-000f53306ae1"), []string{"--droplet or --volume, not both"}},
		{"no resource", flagsWithout(webFlags[2:], "--droplet"), []string{"--droplet ID or --volume UUID"}},
		{"malformed cron", with(webFlags[2:], "--schedule", "cron(0 3 * * *)"), []string{"invalid policy", "schedule:"}},
		{"cron out of range", with(webFlags[2:], "--schedule", "cron(0 25 * * ? *)"), []string{"schedule: cron field hours"}},
		{"too frequent", with(webFlags[2:], "--schedule", "rate(5 minutes)"), []string{"schedule:", "once an hour"}},
		{"bad time zone", with(webFlags[2:], "--tz", "Mars/Olympus"), []string{"time_zone:"}},
		{"bad keep-last", with(webFlags[2:], "--keep-last", "501"), []string{"keep_last:"}},
		{"bad region", with(webFlags[2:], "--region", "NYC-3"), []string{"region:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertFails(t, c.run("", append([]string{"policy", "put"}, tt.args...)...), exitUsage, tt.want...)
		})
	}
	var all []snapkeep.Policy
	c.jsonOut(&all, "policy", "list")
	if len(all) != 0 {
		t.Errorf("bad input wrote policies: %s", js(all))
	}
}

// with returns args with flag's value replaced.
func with(args []string, flag, value string) []string {
	out := append([]string{}, args...)
	for i := range out {
		if out[i] == flag {
			out[i+1] = value
		}
	}
	return out
}

// flagsWithout returns args without flag and its value.
func flagsWithout(args []string, flag string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == flag {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}

func TestPolicyUnknownID(t *testing.T) {
	c := newCLI(t)
	for _, verb := range []string{"get", "delete", "pause", "resume", "next"} {
		t.Run(verb, func(t *testing.T) {
			r := c.run("", "policy", verb, "pol-nope")
			assertFails(t, r, exitUsage, `no policy "pol-nope" in table `+c.vars["POLICIES_TABLE"], "snapctl policy list")
		})
	}
}

func TestPolicyPauseResumeDelete(t *testing.T) {
	c := newCLI(t)
	c.ok(webFlags...)
	var got snapkeep.Policy
	steps := []struct {
		verb        string
		wantEnabled bool
		wantOut     string
	}{
		{"pause", false, "Paused policy pol-web1"},
		{"pause", false, "Paused policy pol-web1"},
		{"resume", true, "Resumed policy pol-web1"},
	}
	for _, st := range steps {
		r := c.ok("policy", st.verb, "pol-web1")
		if !strings.Contains(r.stdout, st.wantOut) {
			t.Errorf("policy %s output %q, want %q", st.verb, r.stdout, st.wantOut)
		}
		c.jsonOut(&got, "policy", "get", "pol-web1")
		if got.Enabled != st.wantEnabled {
			t.Errorf("after %s: enabled %t, want %t", st.verb, got.Enabled, st.wantEnabled)
		}
	}
	r := c.ok("policy", "delete", "pol-web1", "--yes")
	if !strings.Contains(r.stdout, "Deleted policy pol-web1") {
		t.Errorf("delete output %q", r.stdout)
	}
	assertFails(t, c.run("", "policy", "get", "pol-web1"), exitUsage, "no policy")
	assertFails(t, c.run("", "policy", "delete", "pol-web1", "--yes"), exitUsage, "no policy")
}

func TestPolicyNext(t *testing.T) {
	c := newCLI(t)
	// 03:00 Berlin daily, around the spring-forward night of 2026-03-29.
	c.ok(webFlags...)
	var out struct {
		PolicyID string `json:"policy_id"`
		TimeZone string `json:"time_zone"`
		Next     []struct {
			Local string `json:"local"`
			UTC   string `json:"utc"`
		} `json:"next"`
	}
	c.jsonOut(&out, "policy", "next", "pol-web1", "-n", "3")
	want := []struct{ local, utc string }{
		{"2026-03-28T03:00:00+01:00", "2026-03-28T02:00:00Z"},
		{"2026-03-29T03:00:00+02:00", "2026-03-29T01:00:00Z"},
		{"2026-03-30T03:00:00+02:00", "2026-03-30T01:00:00Z"},
	}
	if out.TimeZone != "Europe/Berlin" || len(out.Next) != len(want) {
		t.Fatalf("policy next -o json = %+v", out)
	}
	for i, w := range want {
		if out.Next[i].Local != w.local || out.Next[i].UTC != w.utc {
			t.Errorf("run %d = %+v, want %s / %s", i+1, out.Next[i], w.local, w.utc)
		}
	}

	r := c.ok("policy", "next", "pol-web1")
	for _, s := range []string{"LOCAL (Europe/Berlin)", "Sat 2026-03-28 03:00 CET", "2026-03-28 02:00Z", "Sun 2026-03-29 03:00 CEST"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("policy next output lacks %q:\n%s", s, r.stdout)
		}
	}
	if n := strings.Count(strings.TrimSpace(r.stdout), "\n"); n != 5 {
		t.Errorf("policy next shows %d runs, want the default 5:\n%s", n, r.stdout)
	}

	// rate() counts from the policy's last write.
	c.ok("policy", "put", "--id", "pol-rate", "--customer", "acme", "--account", "acme-main", "--droplet", "7",
		"--region", "nyc3", "--schedule", "rate(6 hours)", "--keep-last", "4", "--disabled")
	c.now = c.now.Add(time.Hour)
	r = c.ok("policy", "next", "pol-rate", "-n", "2")
	for _, s := range []string{"is paused", "2026-03-27 18:00Z", "2026-03-28 00:00Z"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("policy next of a rate policy lacks %q:\n%s", s, r.stdout)
		}
	}
}

// TestInvalidStoredPolicy covers a policy written around snapctl with a
// malformed schedule and marked invalid by functions/schedules.
func TestInvalidStoredPolicy(t *testing.T) {
	c := newCLI(t)
	ctx := context.Background()
	store := &dynamo.PolicyStore{Client: c.env.DynamoDB, Table: c.vars["POLICIES_TABLE"]}
	p := &snapkeep.Policy{PolicyID: "pol-bad", CustomerID: "acme", AccountID: "acme-main",
		Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "1", Region: "nyc3"},
		Schedule: "cron(0 3 * *)", Retention: snapkeep.Retention{KeepLast: 1}, Enabled: true}
	if err := store.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := store.MarkInvalid(ctx, "pol-bad", "schedule: cron needs 6 fields"); err != nil {
		t.Fatal(err)
	}
	r := c.ok("policy", "get", "pol-bad")
	if !strings.Contains(r.stdout, "INVALID:") || !strings.Contains(r.stdout, "cron needs 6 fields") {
		t.Errorf("policy get of an invalid policy:\n%s", r.stdout)
	}
	r = c.ok("policy", "list")
	if !strings.Contains(r.stdout, "INVALID") {
		t.Errorf("policy list does not flag the invalid policy:\n%s", r.stdout)
	}
	assertFails(t, c.run("", "policy", "next", "pol-bad"), exitUsage, "policy pol-bad: schedule:", "snapctl policy put")

	// Fixing it with put clears the mark.
	c.ok("policy", "put", "--id", "pol-bad", "--customer", "acme", "--account", "acme-main", "--droplet", "1",
		"--region", "nyc3", "--schedule", "cron(0 3 * * ? *)", "--keep-last", "1")
	var got snapkeep.Policy
	c.jsonOut(&got, "policy", "get", "pol-bad")
	if got.InvalidReason != "" {
		t.Errorf("invalid_reason %q kept after a valid put", got.InvalidReason)
	}
}

// TestUnreadableStoredPolicy covers an item edited by hand into something
// that is not a policy: get and list fail as bad input naming the
// attribute; delete still works.
func TestUnreadableStoredPolicy(t *testing.T) {
	c := newCLI(t)
	ctx := context.Background()
	c.ok(webFlags...)
	table := c.vars["POLICIES_TABLE"]
	key := map[string]types.AttributeValue{"policy_id": &types.AttributeValueMemberS{Value: "pol-web1"}}
	out, err := c.env.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	out.Item["keep_last"] = &types.AttributeValueMemberS{Value: "seven"}
	if _, err := c.env.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: out.Item}); err != nil {
		t.Fatal(err)
	}
	assertFails(t, c.run("", "policy", "get", "pol-web1"), exitUsage, `"pol-web1"`, "attribute keep_last")
	assertFails(t, c.run("", "policy", "list"), exitUsage, `"pol-web1"`, "attribute keep_last")
	c.ok("policy", "delete", "pol-web1", "--yes")
}
