package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
	"github.com/snapkeep/snapkeep/shared/support/supporttest"
)

// stackCLI is a cli with no table names in its environment, and a stack
// in moto holding a small fixture.
func stackCLI(t *testing.T) (*cli, *supporttest.Stack) {
	t.Helper()
	c := newCLI(t)
	c.vars = map[string]string{}
	c.now = supporttest.Now
	st := supporttest.NewStack(t, c.env, supporttest.StackOptions{})
	supporttest.Generate(supporttest.Size{Customers: 2, PoliciesPerCustomer: 2, Slots: 3}).Write(t, c.env.DynamoDB, support.Tables{
		Policies: st.Table(dynamo.Policies), Customers: st.Table(dynamo.Customers), Runs: st.Table(dynamo.Runs),
		APICalls: st.Table(dynamo.APICalls), Incidents: st.Table(dynamo.Incidents),
	})
	return c, st
}

func TestStackGivesTheNames(t *testing.T) {
	c, st := stackCLI(t)
	ways := []struct {
		name string
		vars map[string]string
		args []string
	}{
		{"--stack", nil, []string{"--stack", st.Name}},
		{"SNAPKEEP_STACK", map[string]string{envStack: st.Name}, nil},
		{"--stage alone", nil, []string{"--stage", st.Stage}},
		{"--stack and a matching --stage", nil, []string{"--stack", st.Name, "--stage", st.Stage}},
	}
	for _, w := range ways {
		t.Run(w.name, func(t *testing.T) {
			c.vars = w.vars
			var runs []snapkeep.Run
			c.jsonOut(&runs, append(w.args, "runs", "--policy", "pol-000")...)
			if len(runs) != 3 {
				t.Errorf("runs of pol-000 through the stack's table: %d, want 3", len(runs))
			}
		})
	}
	c.vars = nil

	// The token goes to the stack's prefix, snapkeep/<stage>/accounts/.
	token := newToken(t)
	r := c.run(token+"\n", "--stack", st.Name, "account", "set-token", "acct-stack")
	if r.code != exitOK || !strings.Contains(r.stdout, "snapkeep/"+st.Stage+"/accounts/acct-stack") {
		t.Fatalf("set-token through the stack: exit %d, %s %s", r.code, r.stdout, r.stderr)
	}
	out, err := secretsmanager.NewFromConfig(c.env.Config).GetSecretValue(context.Background(),
		&secretsmanager.GetSecretValueInput{SecretId: aws.String("snapkeep/" + st.Stage + "/accounts/acct-stack")})
	if err != nil || aws.ToString(out.SecretString) != token {
		t.Errorf("the stack's secret: %v (holds the token: %t)", err, out != nil && aws.ToString(out.SecretString) == token)
	}
	r = c.ok("--stack", st.Name, "account", "list")
	if !strings.Contains(r.stdout, "acct-stack") || strings.Contains(r.stdout, token) {
		t.Errorf("account list through the stack:\n%s", r.stdout)
	}
}

func TestExplicitNamesOverrideTheStack(t *testing.T) {
	c, st := stackCLI(t)
	// A flag wins over the stack, silently: it was asked for.
	r := c.run("", "--stack", st.Name, "--runs-table", "no-such-table", "runs", "--policy", "pol-000")
	assertFails(t, r, exitFailure, "no-such-table")
	// The environment loses to the stack, with a note.
	c.vars = map[string]string{"RUNS_TABLE": "snapkeep-local-RunsTable"}
	r = c.ok("--stack", st.Name, "runs", "--policy", "pol-000")
	if !strings.Contains(r.stderr, "note: RUNS_TABLE=snapkeep-local-RunsTable from the environment is ignored: stack "+st.Name+" names "+st.Table(dynamo.Runs)) {
		t.Errorf("no note of the overridden environment:\n%s", r.stderr)
	}
}

func TestStackAndStageMustAgree(t *testing.T) {
	c, st := stackCLI(t)
	odd := supporttest.NewStack(t, c.env, supporttest.StackOptions{Name: "my-backups-" + st.Stage, Stage: st.Stage + "b"})
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"stage disagrees", []string{"--stack", st.Name, "--stage", "prod"}, []string{`stage "prod" was given, but stack "` + st.Name + `" is stage "` + st.Stage + `"`}},
		{"name off the convention", []string{"--stack", odd.Name}, []string{`must be named "snapkeep-` + st.Stage + `b"`}},
		{"no such stack", []string{"--stack", "snapkeep-nosuch"}, []string{`no CloudFormation stack "snapkeep-nosuch"`, "snapkeep-<stage>"}},
		{"no stack for the stage", []string{"--stage", "nosuch"}, []string{`no CloudFormation stack "snapkeep-nosuch"`}},
		{"bad stage", []string{"--stage", "Prod"}, []string{`--stage: stage "Prod" must be`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertFails(t, c.run("", append(tt.args, "runs", "--policy", "pol-000")...), exitUsage, tt.want...)
		})
	}
}
