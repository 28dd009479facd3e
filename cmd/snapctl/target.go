package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/pflag"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/secrets"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
)

// Environment variables snapctl reads besides the tables' (dynamo.TableSpec.EnvVar).
const (
	envStack         = "SNAPKEEP_STACK"
	envScheduleGroup = "SCHEDULE_GROUP"
	envFunction      = "SNAPSHOT_FUNCTION_ARN"
)

// The local stack's names (cmd/snaplocal), the default target.
var (
	localStage         = support.LocalStage
	localTablePrefix   = support.StackPrefix + localStage + "-" // infra/awslocal.DefaultPrefix
	localSecretPrefix  = support.SecretPrefix(localStage)
	localScheduleGroup = support.ScheduleGroup(localStage)
	localFunction      = support.StackPrefix + localStage + "-SnapshotFunction"
)

// tableFlag is a table snapctl reads, with the flag that names it.
type tableFlag struct {
	spec dynamo.TableSpec
	flag string
}

// tableFlags are the tables snapctl reads (Stats: report and broadcast;
// Mailings: broadcast's sent log).
var tableFlags = []tableFlag{
	{dynamo.Policies, "policies-table"},
	{dynamo.Customers, "customers-table"},
	{dynamo.Runs, "runs-table"},
	{dynamo.APICalls, "api-calls-table"},
	{dynamo.Incidents, "incidents-table"},
	{dynamo.Stats, "stats-table"},
	{dynamo.Mailings, "mailings-table"},
}

// globalFlags are the root command's persistent flags.
type globalFlags struct {
	output, region, profile string
	stack, stage            string
	explain                 bool
	tables                  map[string]*string // by logical id
	secretPrefix            string
	scheduleGroup           string
	set                     *pflag.FlagSet
}

func (g *globalFlags) changed(name string) bool {
	return g.set != nil && g.set.Changed(name)
}

// setting is one resolved name and where it came from.
type setting struct {
	value, source string
}

// target is the stack snapctl works on: the names of its tables, secrets,
// schedule group and snapshot function.
type target struct {
	// stack is the CloudFormation stack, nil for the local stack or names
	// given one by one.
	stack         *support.Stack
	stage         string
	tables        map[string]setting // by logical id
	secretPrefix  setting
	scheduleGroup setting
}

// table returns the name of spec's table.
func (t *target) table(spec dynamo.TableSpec) string { return t.tables[spec.LogicalID].value }

// target resolves the stack's names once: each from its flag, else the
// stack's outputs (--stack, SNAPKEEP_STACK, or the stack of --stage), else
// its environment variable, else the local stack's. A name the stack gives
// overrides the environment's with a note on stderr, never silently.
func (a *app) target(ctx context.Context, cfg aws.Config) (*target, error) {
	if a.tgt != nil {
		return a.tgt, nil
	}
	name, stage, err := a.stackName()
	if err != nil {
		return nil, err
	}
	t := &target{stage: stage, tables: map[string]setting{}}
	if name != "" {
		st, err := support.FindStack(ctx, a.clients.CloudFormation(cfg), name)
		if errors.Is(err, snapkeep.ErrNotFound) {
			return nil, withHint(err, "Check the name (aws cloudformation list-stacks), AWS_REGION and AWS_PROFILE; a stage's stack is named snapkeep-<stage>.")
		}
		if err != nil {
			return nil, err
		}
		if err := st.MatchStage(stage); err != nil {
			return nil, err
		}
		t.stack, t.stage = st, st.Stage
	}
	for _, tf := range tableFlags {
		out, ok := "", false
		if t.stack != nil {
			out, ok = t.stack.Table(tf.spec)
			if !ok && !a.flags.changed(tf.flag) {
				return nil, fmt.Errorf("stack %s has no output %s: redeploy it from this template.yaml, or pass --%s: %w",
					t.stack.Name, support.TableOutput(tf.spec), tf.flag, snapkeep.ErrInvalid)
			}
		}
		t.tables[tf.spec.LogicalID] = a.pick(tf.flag, *a.flags.tables[tf.spec.LogicalID], tf.spec.EnvVar, out, localTablePrefix+tf.spec.LogicalID, t.stack)
	}
	var prefix, group string
	if t.stack != nil {
		prefix, group = t.stack.SecretPrefix(), t.stack.ScheduleGroup()
	}
	t.secretPrefix = a.pick("secret-prefix", a.flags.secretPrefix, secrets.EnvPrefix, prefix, localSecretPrefix, t.stack)
	t.scheduleGroup = a.pick("schedule-group", a.flags.scheduleGroup, envScheduleGroup, group, localScheduleGroup, t.stack)
	a.tgt = t
	return t, nil
}

// stackName returns the stack to read (none for the local stack or names
// given one by one) and the stage asked for.
func (a *app) stackName() (name, stage string, err error) {
	name, stage = a.flags.stack, a.flags.stage
	if name == "" {
		name = a.getenv(envStack)
	}
	if stage != "" {
		if err := support.CheckStage(stage); err != nil {
			return "", "", usagef("--stage: %v", err)
		}
	}
	switch {
	case name == "" && stage != "" && stage != localStage:
		name = support.StackName(stage)
	case name == "" && stage == "":
		stage = localStage
	}
	return name, stage, nil
}

// pick resolves one name: the flag's value when given, else the stack's
// output, else the environment variable, else the local default.
func (a *app) pick(flag, flagValue, env, fromStack, local string, st *support.Stack) setting {
	if a.flags.changed(flag) {
		return setting{value: flagValue, source: "--" + flag}
	}
	ev := a.getenv(env)
	if fromStack != "" {
		if ev != "" && ev != fromStack {
			fmt.Fprintf(a.stderr, "note: %s=%s from the environment is ignored: stack %s names %s (pass --%s to choose)\n", env, ev, st.Name, fromStack, flag)
		}
		return setting{value: fromStack, source: "stack " + st.Name}
	}
	if ev != "" {
		return setting{value: ev, source: "$" + env}
	}
	return setting{value: local, source: "the local stack's default"}
}

// snapshotFunction returns the function `run now` invokes: --function,
// else the stack's output, else $SNAPSHOT_FUNCTION_ARN, else the local
// stack's name.
func (a *app) snapshotFunction(t *target, flagValue string, changed bool) setting {
	if changed {
		return setting{value: flagValue, source: "--function"}
	}
	if t.stack != nil {
		if v, ok := t.stack.SnapshotFunction(); ok {
			return setting{value: v, source: "stack " + t.stack.Name}
		}
	}
	if v := a.getenv(envFunction); v != "" {
		return setting{value: v, source: "$" + envFunction}
	}
	return setting{value: localFunction, source: "the local stack's default"}
}
