package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/snapkeep/snapkeep/shared/policysync"
	"github.com/snapkeep/snapkeep/shared/scheduler"
	"github.com/snapkeep/snapkeep/shared/scheduler/schedulertest"
	"github.com/snapkeep/snapkeep/shared/support"
	"github.com/snapkeep/snapkeep/shared/support/supporttest"
)

const webhook = "https://hooks.slack.com/services/T0001/B0001/SeCrEtWeBhOoKpArT"

func TestCustomerOutputNeverShowsTheWebhook(t *testing.T) {
	c := newCLI(t)
	for _, format := range support.Formats() {
		t.Run(format, func(t *testing.T) {
			r := c.ok("customer", "put", "--id", "acme", "--name", "Acme", "--email", "ops@acme.example", "--slack-webhook", webhook, "-o", format)
			g := c.ok("customer", "get", "acme", "-o", format)
			for _, out := range []string{r.stdout, r.stderr, g.stdout, g.stderr} {
				if strings.Contains(out, "hooks.slack.com") || strings.Contains(out, "SeCrEtWeBhOoKpArT") {
					t.Errorf("-o %s printed the webhook URL:\n%s", format, out)
				}
			}
			if !strings.Contains(g.stdout, "set") {
				t.Errorf("-o %s does not say a webhook is set:\n%s", format, g.stdout)
			}
		})
	}
	var v map[string]any
	c.jsonOut(&v, "customer", "get", "acme")
	if v["slack_webhook"] != "set" || v["slack_webhook_url"] != nil {
		t.Errorf("customer get -o json = %v, want \"slack_webhook\": \"set\" and no URL", v)
	}
}

func TestDeleteAsksFirst(t *testing.T) {
	c := newCLI(t)
	c.ok("customer", "put", "--id", "acme", "--name", "Acme", "--email", "ops@acme.example")
	c.ok(webFlags...)
	terminal := func(is bool) { c.setup = func(a *app) { a.interactive = func(io.Reader) bool { return is } } }

	// A customer with policies is refused, whatever the answer.
	assertFails(t, c.run("", "customer", "delete", "acme", "--yes"), exitUsage, "still has 1 policies (pol-web1)")

	terminal(false)
	assertFails(t, c.run("", "policy", "delete", "pol-web1"), exitUsage, "stdin is not a terminal", "pass --yes")
	terminal(true)
	r := c.run("no\n", "policy", "delete", "pol-web1")
	assertFails(t, r, exitUsage, "not confirmed: nothing was changed")
	if !strings.Contains(r.stderr, "Delete policy pol-web1 (droplet 3164444 (nyc3) of customer acme") {
		t.Errorf("the question does not say what is deleted: %q", r.stderr)
	}
	c.ok("policy", "get", "pol-web1") // still there
	r = c.run("yes\n", "policy", "delete", "pol-web1")
	if r.code != exitOK || !strings.Contains(r.stdout, "Deleted policy pol-web1") {
		t.Fatalf("confirmed delete: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	assertFails(t, c.run("", "policy", "get", "pol-web1"), exitUsage, "no policy")

	terminal(false)
	assertFails(t, c.run("", "customer", "delete", "acme"), exitUsage, "pass --yes")
	terminal(true)
	r = c.run("y\n", "customer", "delete", "acme")
	if r.code != exitOK || !strings.Contains(r.stdout, "Deleted customer acme") {
		t.Fatalf("customer delete: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	assertFails(t, c.run("", "customer", "get", "acme"), exitUsage, `no customer "acme"`)
	assertFails(t, c.run("", "customer", "delete", "acme", "--yes"), exitUsage, `no customer "acme"`)
}

func TestPolicyGetShowsScheduleAndLastRun(t *testing.T) {
	c, fx := seededCLI(t)
	g := schedulertest.NewGroup(t, c.env)
	scheds := &scheduler.Schedules{Client: g.Client, Group: g.Name, TargetARN: schedulertest.TargetARN, RoleARN: schedulertest.RoleARN}
	if _, err := scheds.Apply(context.Background(), policysync.SpecFor(&fx.Policies[0])); err != nil {
		t.Fatal(err)
	}
	c.vars[envScheduleGroup] = g.Name
	r := c.ok("policy", "get", "pol-000")
	for _, s := range []string{"Schedule state:", "ENABLED in " + g.Name + ": cron(0 2 * * ? *) Europe/Berlin", "Last run:", "2026-03-27T01:00:00Z claimed"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("policy get lacks %q:\n%s", s, r.stdout)
		}
	}
	r = c.ok("policy", "get", "pol-001")
	if !strings.Contains(r.stdout, "MISSING in "+g.Name+": the policy has no schedule, so it never runs") {
		t.Errorf("policy get of a policy without a schedule:\n%s", r.stdout)
	}
	var out struct {
		PolicyID string `json:"policy_id"`
		Status   struct {
			Schedule support.ScheduleState `json:"schedule"`
			LastRun  struct {
				RunID string `json:"run_id"`
			} `json:"last_run"`
		} `json:"status"`
	}
	c.jsonOut(&out, "policy", "get", "pol-000")
	if out.PolicyID != "pol-000" || !out.Status.Schedule.InStep || out.Status.LastRun.RunID != "pol-000#2026-03-27T01:00:00Z" {
		t.Errorf("policy get -o json = %+v", out)
	}
	// The JSON and YAML are valid put files: the status is ignored.
	for _, format := range []string{"json", "yaml"} {
		path := t.TempDir() + "/p." + format
		if err := writeFile(path, c.ok("policy", "get", "pol-000", "-o", format).stdout); err != nil {
			t.Fatal(err)
		}
		c.ok("policy", "put", "-f", path)
	}
}

// lambdaFake records the snapshot function's invocations.
type lambdaFake struct {
	inputs []*lambda.InvokeInput
}

func (f *lambdaFake) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.inputs = append(f.inputs, in)
	var req struct {
		PolicyID string `json:"policy_id"`
	}
	_ = json.Unmarshal(in.Payload, &req)
	out, _ := json.Marshal(map[string]string{"kind": "on_demand", "run_id": req.PolicyID + "#2026-03-27T12:00:00Z", "status": "in_progress", "action": "claimed"})
	return &lambda.InvokeOutput{StatusCode: 200, Payload: out}, nil
}

func TestRunNowInvokesTheSnapshotFunction(t *testing.T) {
	c, st := stackCLI(t)
	fake := &lambdaFake{}
	c.setup = func(a *app) { a.clients.Lambda = func(aws.Config) support.Invoker { return fake } }
	r := c.ok("--stack", st.Name, "run", "now", "pol-001")
	if len(fake.inputs) != 1 || aws.ToString(fake.inputs[0].FunctionName) != supporttest.SnapshotFunctionARN ||
		string(fake.inputs[0].Payload) != `{"policy_id":"pol-001"}` {
		t.Fatalf("invocations %+v", fake.inputs)
	}
	if !strings.Contains(r.stdout, "Run pol-001#2026-03-27T12:00:00Z: in_progress (claimed)") ||
		!strings.Contains(r.stdout, "snapctl run show pol-001 2026-03-27T12:00:00Z") {
		t.Errorf("run now output: %q", r.stdout)
	}
	var out map[string]any
	c.jsonOut(&out, "--stack", st.Name, "run", "now", "pol-001", "--function", "my-function")
	if out["run_id"] != "pol-001#2026-03-27T12:00:00Z" || aws.ToString(fake.inputs[1].FunctionName) != "my-function" {
		t.Errorf("run now --function -o json = %v (invoked %s)", out, aws.ToString(fake.inputs[1].FunctionName))
	}

	// A paused policy is refused before anything is invoked.
	c.ok("--stack", st.Name, "policy", "pause", "pol-001")
	assertFails(t, c.run("", "--stack", st.Name, "run", "now", "pol-001"), exitUsage, "is paused: resume it first")
	assertFails(t, c.run("", "--stack", st.Name, "run", "now", "pol-nope"), exitUsage, `no policy "pol-nope"`)
	if len(fake.inputs) != 2 {
		t.Errorf("%d invocations, want 2 (refusals invoke nothing)", len(fake.inputs))
	}
}

func TestCompletionAndVersion(t *testing.T) {
	c, _ := seededCLI(t)
	for shell, want := range map[string]string{"bash": "# bash completion V2 for snapctl", "zsh": "#compdef snapctl", "fish": "# fish completion for snapctl"} {
		r := c.ok("completion", shell)
		if !strings.HasPrefix(r.stdout, want) {
			t.Errorf("completion %s starts %q, want %q", shell, firstLine(r.stdout), want)
		}
	}
	// What the shell asks snapctl when completing `snapctl policy get pol-00<TAB>`.
	r := c.ok("__complete", "policy", "get", "pol-00")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); strings.Join(lines[:len(lines)-1], " ") != "pol-000 pol-001 pol-002 pol-003 pol-004 pol-005 pol-006 pol-007 pol-008 pol-009" {
		t.Errorf("completed policy ids:\n%s", r.stdout)
	}
	r = c.ok("__complete", "runs", "--policy", "pol-01")
	if !strings.HasPrefix(r.stdout, "pol-010\npol-011\n:") {
		t.Errorf("completed --policy:\n%s", r.stdout)
	}
	r = c.ok("__complete", "failures", "--class", "prov")
	if !strings.Contains(r.stdout, "provider_error\t") {
		t.Errorf("completed --class:\n%s", r.stdout)
	}

	old := version
	version = "v1.2.3-test"
	defer func() { version = old }()
	r = c.ok("--version")
	if !strings.HasPrefix(r.stdout, "snapctl v1.2.3-test") || !strings.Contains(r.stdout, "go1.") {
		t.Errorf("--version = %q", r.stdout)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
