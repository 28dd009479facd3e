package support_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
	"github.com/snapkeep/snapkeep/shared/support/supporttest"
)

func TestFindStackInMoto(t *testing.T) {
	env := awstest.New(t)
	cf := cloudformation.NewFromConfig(env.Config)
	ctx := context.Background()

	st := supporttest.NewStack(t, env, supporttest.StackOptions{})
	got, err := support.FindStack(ctx, cf, st.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got.Stage != st.Stage || got.SecretPrefix() != "snapkeep/"+st.Stage+"/accounts/" || got.ScheduleGroup() != "snapkeep-"+st.Stage {
		t.Errorf("stack %+v: stage %q, prefix %q, group %q", got, got.Stage, got.SecretPrefix(), got.ScheduleGroup())
	}
	for _, spec := range dynamo.AllTables() {
		name, ok := got.Table(spec)
		if !ok || name != st.Table(spec) || !strings.Contains(name, spec.LogicalID) {
			t.Errorf("table %s: %q, %t (want moto's %q)", spec.LogicalID, name, ok, st.Table(spec))
		}
	}
	if fn, ok := got.SnapshotFunction(); !ok || fn != supporttest.SnapshotFunctionARN {
		t.Errorf("snapshot function %q, %t", fn, ok)
	}
	if err := got.MatchStage(st.Stage); err != nil {
		t.Errorf("MatchStage(own stage): %v", err)
	}
	err = got.MatchStage("prod")
	if !errors.Is(err, snapkeep.ErrInvalid) || !strings.Contains(err.Error(), `stage "prod" was given, but stack "`+st.Name+`" is stage "`+st.Stage+`"`) {
		t.Errorf("MatchStage(prod) = %v", err)
	}

	// Without the Stage output (an older template), the parameter tells it.
	old := supporttest.NewStack(t, env, supporttest.StackOptions{Without: []string{support.OutputStage, support.OutputTokenSecretPrefix}})
	got, err = support.FindStack(ctx, cf, old.Name)
	if err != nil || got.Stage != old.Stage || got.SecretPrefix() != "snapkeep/"+old.Stage+"/accounts/" {
		t.Errorf("stack without Stage output: %+v, %v", got, err)
	}

	// A stack whose name and stage disagree is refused.
	odd := supporttest.NewStack(t, env, supporttest.StackOptions{Name: "backups-" + st.Stage + "x", Stage: st.Stage + "x"})
	_, err = support.FindStack(ctx, cf, odd.Name)
	if !errors.Is(err, snapkeep.ErrInvalid) || !strings.Contains(err.Error(), "must be named \"snapkeep-"+st.Stage+"x\"") {
		t.Errorf("misnamed stack: %v", err)
	}

	_, err = support.FindStack(ctx, cf, "snapkeep-nosuch")
	if !errors.Is(err, snapkeep.ErrNotFound) || !strings.Contains(err.Error(), `no CloudFormation stack "snapkeep-nosuch"`) {
		t.Errorf("missing stack: %v", err)
	}
}

// TestStackBroadcastSettingsInMoto: the broadcast's sender, configuration
// set and app come from the stack's outputs as template.yaml defines them:
// the broadcast's own parameters, else the stack's SenderAddress and
// SESConfigurationSet; a stack without the outputs (an older template)
// says it does not tell.
func TestStackBroadcastSettingsInMoto(t *testing.T) {
	env := awstest.New(t)
	cf := cloudformation.NewFromConfig(env.Config)
	tests := []struct {
		name              string
		opt               supporttest.StackOptions
		sender, app       string
		configSet         string
		senderOK, knowSet bool
	}{
		{name: "defaults", sender: "backups@example.com", senderOK: true, app: supporttest.AppURL, knowSet: true},
		{name: "the broadcast's own", opt: supporttest.StackOptions{Parameters: map[string]string{
			"BroadcastSenderAddress": "updates@snapkeep.example", "BroadcastConfigurationSet": "broadcast",
			"SESConfigurationSet": "transactional", "SenderAddress": "backups@snapkeep.example", "AppURL": "https://my.snapkeep.example"}},
			sender: "updates@snapkeep.example", senderOK: true, configSet: "broadcast", knowSet: true, app: "https://my.snapkeep.example"},
		{name: "the stack's sender and set", opt: supporttest.StackOptions{Parameters: map[string]string{
			"SESConfigurationSet": "transactional", "SenderAddress": "backups@snapkeep.example"}},
			sender: "backups@snapkeep.example", senderOK: true, configSet: "transactional", knowSet: true, app: supporttest.AppURL},
		{name: "an older template", opt: supporttest.StackOptions{Without: []string{support.OutputBroadcastSender, support.OutputBroadcastConfigurationSet, support.OutputAppURL}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := supporttest.NewStack(t, env, tt.opt)
			got, err := support.FindStack(context.Background(), cf, st.Name)
			if err != nil {
				t.Fatal(err)
			}
			sender, senderOK := got.BroadcastSender()
			set, knowSet := got.BroadcastConfigurationSet()
			app, appOK := got.AppURL()
			if sender != tt.sender || senderOK != tt.senderOK || set != tt.configSet || knowSet != tt.knowSet || app != tt.app || appOK != (tt.app != "") {
				t.Errorf("sender %q %t, configuration set %q %t, app %q %t; want %q %t, %q %t, %q",
					sender, senderOK, set, knowSet, app, appOK, tt.sender, tt.senderOK, tt.configSet, tt.knowSet, tt.app)
			}
		})
	}
}

// stackFake answers DescribeStacks with one stack.
type stackFake struct{ stack cftypes.Stack }

func (f stackFake) DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	return &cloudformation.DescribeStacksOutput{Stacks: []cftypes.Stack{f.stack}}, nil
}

func TestFindStackRefusesUnusableStacks(t *testing.T) {
	out := func(k, v string) cftypes.Output {
		return cftypes.Output{OutputKey: aws.String(k), OutputValue: aws.String(v)}
	}
	tests := []struct {
		name  string
		stack cftypes.Stack
		want  string
	}{
		{"rolled back", cftypes.Stack{StackName: aws.String("snapkeep-prod"), StackStatus: cftypes.StackStatusRollbackComplete,
			Outputs: []cftypes.Output{out("Stage", "prod")}}, "is ROLLBACK_COMPLETE"},
		{"failed update", cftypes.Stack{StackName: aws.String("snapkeep-prod"), StackStatus: cftypes.StackStatusUpdateRollbackFailed,
			Outputs: []cftypes.Output{out("Stage", "prod")}}, "is UPDATE_ROLLBACK_FAILED"},
		{"no stage", cftypes.Stack{StackName: aws.String("snapkeep-prod"), StackStatus: cftypes.StackStatusCreateComplete}, "no Stage output or parameter"},
		{"stage output disagrees with the name", cftypes.Stack{StackName: aws.String("snapkeep-prod"), StackStatus: cftypes.StackStatusUpdateComplete,
			Outputs: []cftypes.Output{out("Stage", "dev")}}, `is stage "dev", but a stage's stack must be named "snapkeep-dev"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := support.FindStack(context.Background(), stackFake{tt.stack}, aws.ToString(tt.stack.StackName))
			if !errors.Is(err, snapkeep.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want one saying %q", err, tt.want)
			}
		})
	}
	st, err := support.FindStack(context.Background(), stackFake{cftypes.Stack{StackName: aws.String("snapkeep-prod"),
		StackStatus: cftypes.StackStatusUpdateInProgress, Outputs: []cftypes.Output{out("Stage", "prod")}}}, "snapkeep-prod")
	if err != nil || st.Stage != "prod" {
		t.Errorf("a stack being updated still has its outputs: %+v, %v", st, err)
	}
}

func TestStageRule(t *testing.T) {
	for _, ok := range []string{"prod", "dev", "eu-1", "a"} {
		if err := support.CheckStage(ok); err != nil {
			t.Errorf("CheckStage(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Prod", "1prod", "prod_1", "a-very-long-stage-name", "prod/x"} {
		if err := support.CheckStage(bad); !errors.Is(err, snapkeep.ErrInvalid) {
			t.Errorf("CheckStage(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}
