package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/secrets"
)

// TestMain starts one moto server for the package's tests; snapctl finds it
// through AWS_ENDPOINT_URL like any AWS client.
func TestMain(m *testing.M) { awstest.Main(m) }

// cli runs snapctl commands against one test's fresh tables.
type cli struct {
	t      *testing.T
	env    *awstest.Env
	vars   map[string]string
	now    time.Time
	prefix string
	// setup, when set, adjusts each run's app (fake clients, a terminal).
	setup func(*app)
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	env := awstest.New(t)
	c := &cli{
		t: t, env: env, vars: map[string]string{},
		now:    time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC),
		prefix: "snapkeep/test-" + randomHex(t, 4) + "/accounts/",
	}
	for _, spec := range dynamo.AllTables() {
		c.vars[spec.EnvVar] = env.TableName(spec)
	}
	c.vars[secrets.EnvPrefix] = c.prefix
	return c
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs snapctl with args, stdin as its standard input.
func (c *cli) run(stdin string, args ...string) result {
	c.t.Helper()
	var stdout, stderr bytes.Buffer
	a := newApp(strings.NewReader(stdin), &stdout, &stderr, func(k string) string { return c.vars[k] })
	a.now = func() time.Time { return c.now }
	if c.setup != nil {
		c.setup(a)
	}
	code := a.run(context.Background(), args)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// ok runs snapctl and fails the test unless it exits 0.
func (c *cli) ok(args ...string) result {
	c.t.Helper()
	r := c.run("", args...)
	if r.code != exitOK {
		c.t.Fatalf("snapctl %s: exit %d, want 0\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// jsonOut runs snapctl with -o json and decodes its output into v.
func (c *cli) jsonOut(v any, args ...string) {
	c.t.Helper()
	r := c.ok(append(args, "-o", "json")...)
	reflect.ValueOf(v).Elem().SetZero() // fields the output omits must not keep old values
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		c.t.Fatalf("snapctl %s -o json: output is not JSON: %v\n%s", strings.Join(args, " "), err, r.stdout)
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// assertFails checks the exit code and that stderr mentions every want.
func assertFails(t *testing.T, r result, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr does not mention %q:\n%s", w, r.stderr)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	c := newCLI(t)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no command", nil, []string{"snapctl needs a command"}},
		{"unknown command", []string{"polcy"}, []string{`unknown command "polcy"`, "did you mean policy"}},
		{"unknown subcommand", []string{"policy", "frobnicate"}, []string{`unknown command "frobnicate" for "snapctl policy"`}},
		{"group without subcommand", []string{"policy"}, []string{"snapctl policy needs a command"}},
		{"unknown flag", []string{"policy", "list", "--bogus"}, []string{"unknown flag: --bogus", "snapctl policy list --help"}},
		{"bad output format", []string{"policy", "list", "-o", "xml"}, []string{`-o/--output: unknown format "xml"`, "json, csv, yaml"}},
		{"missing argument", []string{"policy", "get"}, []string{"exactly 1 argument (the policy id)", "snapctl policy get --help"}},
		{"extra argument", []string{"customer", "get", "a", "b"}, []string{"exactly 1 argument"}},
		{"bad flag value", []string{"policy", "put", "--id", "p", "--droplet", "twelve"}, []string{"--droplet"}},
		{"next count", []string{"policy", "next", "pol-1", "-n", "0"}, []string{"-n 0: must be 1-1000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertFails(t, c.run("", tt.args...), exitUsage, tt.want...)
		})
	}
}

// TestHelpEverywhere runs --help on every command: it must succeed and show
// examples.
func TestHelpEverywhere(t *testing.T) {
	c := newCLI(t)
	var paths [][]string
	var walk func(cmd *cobra.Command, path []string)
	walk = func(cmd *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range cmd.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			walk(sub, append(append([]string{}, path...), sub.Name()))
		}
	}
	walk(newApp(nil, nil, nil, nil).rootCommand(), nil)
	if len(paths) < 14 {
		t.Fatalf("found %d commands, want at least 14: %v", len(paths), paths)
	}
	for _, p := range paths {
		t.Run(strings.Join(append([]string{"snapctl"}, p...), " "), func(t *testing.T) {
			r := c.ok(append(p, "--help")...)
			if !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "snapctl ") {
				t.Errorf("--help has no examples:\n%s", r.stdout)
			}
		})
	}
}

func TestMissingTableIsAFailureWithAHint(t *testing.T) {
	c := newCLI(t)
	r := c.run("", "policy", "list", "--policies-table", "no-such-table-"+randomHex(t, 4))
	assertFails(t, r, exitFailure, "--policies-table")
}

func TestTableNamesFromEnvironmentAndFlags(t *testing.T) {
	a := newApp(nil, nil, nil, func(k string) string {
		return map[string]string{"POLICIES_TABLE": "p-env", "TOKEN_SECRET_PREFIX": "snapkeep/prod/accounts/", "MAILINGS_TABLE": "m-env"}[k]
	})
	root := a.rootCommand()
	if err := root.ParseFlags([]string{"--customers-table", "c-flag", "--stats-table", "s-flag"}); err != nil {
		t.Fatal(err)
	}
	tg, err := a.target(context.Background(), aws.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, got, want string }{
		{"policies from env", tg.table(dynamo.Policies), "p-env"},
		{"customers from flag", tg.table(dynamo.Customers), "c-flag"},
		{"runs default", tg.table(dynamo.Runs), "snapkeep-local-RunsTable"},
		{"api calls default", tg.table(dynamo.APICalls), "snapkeep-local-ApiCallsTable"},
		{"incidents default", tg.table(dynamo.Incidents), "snapkeep-local-IncidentsTable"},
		{"stats from flag", tg.table(dynamo.Stats), "s-flag"},
		{"mailings from env", tg.table(dynamo.Mailings), "m-env"},
		{"secret prefix from env", tg.secretPrefix.value, "snapkeep/prod/accounts/"},
		{"schedule group default", tg.scheduleGroup.value, "snapkeep-local"},
		{"stage default", tg.stage, "local"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	b := newApp(nil, nil, nil, nil)
	b.rootCommand()
	tb, err := b.target(context.Background(), aws.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if tb.table(dynamo.Policies) != "snapkeep-local-PoliciesTable" || tb.secretPrefix.value != "snapkeep/local/accounts/" ||
		tb.table(dynamo.Stats) != "snapkeep-local-StatsTable" || tb.table(dynamo.Mailings) != "snapkeep-local-MailingsTable" {
		t.Errorf("defaults: policies %q, prefix %q, stats %q, mailings %q", tb.table(dynamo.Policies), tb.secretPrefix.value,
			tb.table(dynamo.Stats), tb.table(dynamo.Mailings))
	}
}
