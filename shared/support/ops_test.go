package support_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/policysync"
	"github.com/snapkeep/snapkeep/shared/scheduler"
	"github.com/snapkeep/snapkeep/shared/scheduler/schedulertest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
	"github.com/snapkeep/snapkeep/shared/support/supporttest"
)

// invoker is a support.Invoker of a function field.
type invoker struct {
	invoke func(*lambda.InvokeInput) (*lambda.InvokeOutput, error)
}

func (f invoker) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	return f.invoke(in)
}

func TestRunNow(t *testing.T) {
	const fn = "arn:aws:lambda:eu-west-1:123456789012:function:snapkeep-prod-SnapshotFunction-AbC"
	var got *lambda.InvokeInput
	answer := func(payload string, fnErr string) invoker {
		return invoker{func(in *lambda.InvokeInput) (*lambda.InvokeOutput, error) {
			got = in
			out := &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(payload)}
			if fnErr != "" {
				out.FunctionError = aws.String(fnErr)
			}
			return out, nil
		}}
	}
	res, err := support.RunNow(context.Background(), answer(`{"kind":"on_demand","run_id":"pol-web1#2026-03-27T12:00:00Z","status":"in_progress","action":"claimed"}`, ""), fn, "pol-web1")
	if err != nil {
		t.Fatal(err)
	}
	if res.RunID != "pol-web1#2026-03-27T12:00:00Z" || res.Status != snapkeep.RunInProgress || res.Action != "claimed" || res.Function != fn {
		t.Errorf("result %+v", res)
	}
	var payload map[string]any
	if err := json.Unmarshal(got.Payload, &payload); err != nil || len(payload) != 1 || payload["policy_id"] != "pol-web1" {
		t.Errorf("payload %s, want exactly {\"policy_id\": \"pol-web1\"}", got.Payload)
	}
	if aws.ToString(got.FunctionName) != fn || got.InvocationType != lambdatypes.InvocationTypeRequestResponse {
		t.Errorf("invoked %s (%s)", aws.ToString(got.FunctionName), got.InvocationType)
	}

	tests := []struct {
		name     string
		c        invoker
		policy   string
		want     string
		invalid  bool
		notCalls bool
	}{
		{"function error", answer(`{"errorMessage":"run pol-web1: get policy: ThrottlingException","errorType":"wrapError"}`, "Unhandled"), "pol-web1",
			"the function failed (Unhandled): run pol-web1: get policy: ThrottlingException", false, false},
		{"not the snapshot function", answer(`<html>`, ""), "pol-web1", "is not the snapshot function's outcome; is --function", false, false},
		{"invoke fails", invoker{func(*lambda.InvokeInput) (*lambda.InvokeOutput, error) {
			return nil, &lambdatypes.ResourceNotFoundException{Message: aws.String("Function not found")}
		}}, "pol-web1", "Function not found", false, false},
		{"bad policy id", answer(`{}`, ""), "pol web1", "is not a policy id", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			_, err := support.RunNow(context.Background(), tt.c, fn, tt.policy)
			if err == nil || !strings.Contains(err.Error(), tt.want) || errors.Is(err, snapkeep.ErrInvalid) != tt.invalid {
				t.Errorf("err %v, want one saying %q (invalid %t)", err, tt.want, tt.invalid)
			}
			if tt.notCalls && got != nil {
				t.Errorf("invoked the function for bad input")
			}
		})
	}
}

func TestPolicyStatusAndSchedule(t *testing.T) {
	env := awstest.New(t)
	tables := support.Tables{Policies: env.TableName(dynamo.Policies), Runs: env.TableName(dynamo.Runs),
		APICalls: env.TableName(dynamo.APICalls), Customers: env.TableName(dynamo.Customers), Incidents: env.TableName(dynamo.Incidents)}
	fx := supporttest.Generate(supporttest.Size{Customers: 1, PoliciesPerCustomer: 3, Slots: 4})
	fx.Write(t, env.DynamoDB, tables)
	g := schedulertest.NewGroup(t, env)
	scheds := &scheduler.Schedules{Client: g.Client, Group: g.Name, TargetARN: schedulertest.TargetARN, RoleARN: schedulertest.RoleARN}
	if _, err := scheds.Apply(context.Background(), policysync.SpecFor(&fx.Policies[0])); err != nil {
		t.Fatal(err)
	}
	paused := fx.Policies[0]
	paused.Enabled = false
	invalid := fx.Policies[0]
	invalid.InvalidReason = "schedule: cron needs 6 fields"
	noSchedule := fx.Policies[1]
	q := &support.Queries{DB: env.DynamoDB, Tables: tables}
	tests := []struct {
		name    string
		p       *snapkeep.Policy
		group   string
		exists  bool
		inStep  bool
		problem string
	}{
		{"in step", &fx.Policies[0], g.Name, true, true, ""},
		{"paused but enabled", &paused, g.Name, true, false, "the schedule is ENABLED but the policy wants it DISABLED"},
		{"invalid but scheduled", &invalid, g.Name, true, false, "the policy is invalid but its schedule still exists"},
		{"no schedule", &noSchedule, g.Name, false, false, "the policy has no schedule, so it never runs"},
		{"wrong group", &fx.Policies[0], g.Name + "-nope", false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := q.PolicyStatus(context.Background(), tt.p, g.Client, tt.group)
			if err != nil {
				t.Fatal(err)
			}
			s := st.Schedule
			if tt.group != g.Name {
				if !strings.Contains(s.Error, "does not exist") || s.InStep {
					t.Errorf("schedule %+v, want an error saying the group does not exist", s)
				}
				return
			}
			if s.Exists != tt.exists || s.InStep != tt.inStep || !strings.HasPrefix(s.Problem, tt.problem) || s.Error != "" {
				t.Errorf("schedule %+v, want exists %t, in step %t, problem %q", s, tt.exists, tt.inStep, tt.problem)
			}
			if tt.exists && (s.State == "" || s.Expression != fx.Policies[0].Schedule || s.TimeZone != "Europe/Berlin") {
				t.Errorf("schedule %+v", s)
			}
			var newest *snapkeep.Run
			for i := range fx.Runs {
				if r := &fx.Runs[i]; r.PolicyID == tt.p.PolicyID && (newest == nil || r.ScheduledAt.After(newest.ScheduledAt)) {
					newest = r
				}
			}
			if st.LastRun == nil || st.LastRun.RunID != newest.RunID {
				t.Errorf("last run %+v, want %s", st.LastRun, newest.RunID)
			}
		})
	}
}

func TestCompletePolicyIDs(t *testing.T) {
	env := awstest.New(t)
	tables := support.Tables{Policies: env.TableName(dynamo.Policies), Runs: env.TableName(dynamo.Runs),
		APICalls: env.TableName(dynamo.APICalls), Customers: env.TableName(dynamo.Customers), Incidents: env.TableName(dynamo.Incidents)}
	supporttest.Generate(supporttest.Size{Customers: 3, PoliciesPerCustomer: 4, Slots: 1}).Write(t, env.DynamoDB, tables)
	tests := []struct {
		customer, prefix string
		want             []string
	}{
		{"", "pol-00", []string{"pol-000", "pol-001", "pol-002", "pol-003", "pol-004", "pol-005", "pol-006", "pol-007", "pol-008", "pol-009"}},
		{"", "pol-01", []string{"pol-010", "pol-011"}},
		{"cust-01", "", []string{"pol-004", "pol-005", "pol-006", "pol-007"}},
		{"cust-01", "pol-006", []string{"pol-006"}},
		{"", "nope", nil},
	}
	for _, tt := range tests {
		got := support.CompletePolicyIDs(context.Background(), env.DynamoDB, tables.Policies, tt.customer, tt.prefix)
		if !slices.Equal(got, tt.want) {
			t.Errorf("complete %q of %q = %v, want %v", tt.prefix, tt.customer, got, tt.want)
		}
	}
}

func TestCustomerViewHidesSecrets(t *testing.T) {
	const hook = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"
	c := &snapkeep.Customer{CustomerID: "acme", Name: "Acme", Email: "ops@acme.example", SlackWebhookURL: hook, PreferencesToken: "prefs-secret-token"}
	v := support.ViewCustomer(c)
	var b bytes.Buffer
	for _, write := range []func() error{
		func() error { return support.WriteJSON(&b, v) },
		func() error { return support.WriteYAML(&b, v) },
		func() error { return v.Fields().WriteText(&b, 0) },
		func() error { return v.Fields().Table().WriteCSV(&b) },
	} {
		if err := write(); err != nil {
			t.Fatal(err)
		}
	}
	out := b.String()
	if strings.Contains(out, "hooks.slack.com") || strings.Contains(out, "XXXXSECRET") || strings.Contains(out, "prefs-secret-token") {
		t.Errorf("a secret was printed:\n%s", out)
	}
	if !strings.Contains(out, `"slack_webhook": "set"`) || !strings.Contains(out, "slack_webhook: set") || v.NotificationMode != snapkeep.NotifyEveryFailure {
		t.Errorf("the view does not say the webhook is set:\n%s", out)
	}
	if support.ViewCustomer(&snapkeep.Customer{}).SlackWebhook != support.SecretNone {
		t.Errorf("no webhook is not %q", support.SecretNone)
	}
}
