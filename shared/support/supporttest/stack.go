// Package supporttest helps integration tests of shared/support and
// snapctl against the local stack (moto, through infra/awslocal/awstest):
// a plain CloudFormation stack holding template.yaml's tables, its
// Parameters and Conditions, and the Outputs snapctl reads as the
// template defines them (moto skips a SAM template's Transform
// resources, so the real template cannot be deployed there), and a deterministic
// fixture of customers, policies, thousands of runs, their ApiCalls rows
// and incidents, written through the stores.
package supporttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/snapkeep/snapkeep/infra/awslocal"
	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/support"
)

// SnapshotFunctionARN is the SnapshotFunctionArn output of every test stack.
const SnapshotFunctionARN = "arn:aws:lambda:us-east-1:123456789012:function:snapkeep-test-SnapshotFunction"

// AppURL is the AppURL parameter of a test stack unless its
// StackOptions.Parameters name another (template.yaml's has no default).
const AppURL = "https://app.snapkeep.example"

// StackOptions shape a test stack; the zero value is a well-formed one.
type StackOptions struct {
	// Stage is the Stage parameter; "" is a fresh "t<hex>" stage.
	Stage string
	// Name is the stack name; "" is support.StackName(Stage).
	Name string
	// Without lists Outputs keys to leave out (e.g. "Stage", to make the
	// stack tell its stage only by its parameter).
	Without []string
	// Parameters are template.yaml parameters to pass besides Stage
	// (e.g. BroadcastSenderAddress); AppURL is AppURL unless given.
	Parameters map[string]string
}

// Stack is a test stack in moto.
type Stack struct {
	// Name and Stage are the stack's.
	Name, Stage string
	// Outputs are what DescribeStacks reports.
	Outputs map[string]string
}

// NewStack creates a CloudFormation stack in env's moto with a DynamoDB
// table for each table of template.yaml (same keys and indexes) and the
// Outputs template.yaml gives snapctl, and deletes it when the test ends.
func NewStack(t testing.TB, env *awstest.Env, opt StackOptions) *Stack {
	t.Helper()
	if opt.Stage == "" {
		b := make([]byte, 4)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		opt.Stage = "t" + hex.EncodeToString(b)
	}
	if opt.Name == "" {
		opt.Name = support.StackName(opt.Stage)
	}
	tpl, err := readTemplateParts()
	if err != nil {
		t.Fatalf("supporttest: %v", err)
	}
	body, err := json.Marshal(stackTemplate(awstest.TemplateTables(t), tpl, opt.Without))
	if err != nil {
		t.Fatal(err)
	}
	cf := cloudformation.NewFromConfig(env.Config)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err = cf.CreateStack(ctx, &cloudformation.CreateStackInput{
		StackName: aws.String(opt.Name), TemplateBody: aws.String(string(body)), Parameters: stackParameters(opt),
	})
	if err != nil {
		t.Fatalf("supporttest: create stack %s: %v", opt.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if _, err := cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(opt.Name)}); err != nil {
			t.Errorf("supporttest: delete stack %s: %v", opt.Name, err)
		}
	})
	out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(opt.Name)})
	if err != nil || len(out.Stacks) != 1 {
		t.Fatalf("supporttest: describe stack %s: %v", opt.Name, err)
	}
	st := &Stack{Name: opt.Name, Stage: opt.Stage, Outputs: map[string]string{}}
	for _, o := range out.Stacks[0].Outputs {
		st.Outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return st
}

// Table returns the stack's physical name of spec's table.
func (s *Stack) Table(spec dynamo.TableSpec) string { return s.Outputs[support.TableOutput(spec)] }

// stackParameters are the stack's parameter values: Stage, AppURL
// (template.yaml's has no default) and opt.Parameters, sorted by key.
func stackParameters(opt StackOptions) []cftypes.Parameter {
	values := map[string]string{"AppURL": AppURL}
	for k, v := range opt.Parameters {
		values[k] = v
	}
	values["Stage"] = opt.Stage
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]cftypes.Parameter, 0, len(keys))
	for _, k := range keys {
		out = append(out, cftypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(values[k])})
	}
	return out
}

// stackTemplate is a plain CloudFormation template (JSON) of the tables,
// template.yaml's Parameters and Conditions, and the Outputs snapctl
// reads (support.OutputKeys) as tpl defines them, less those in
// without. The schedule group and the snapshot function are not in a
// plain stack: their outputs are the stage's group and
// SnapshotFunctionARN.
func stackTemplate(defs []awslocal.TableDef, tpl *templateParts, without []string) map[string]any {
	resources := map[string]any{}
	outputs := map[string]any{}
	for _, key := range support.OutputKeys() {
		if o, ok := tpl.Outputs[key]; ok {
			outputs[key] = o
		}
	}
	outputs[support.OutputScheduleGroup] = map[string]any{"Value": map[string]any{"Fn::Sub": "snapkeep-${Stage}"}}
	outputs[support.OutputSnapshotFunction] = map[string]any{"Value": SnapshotFunctionARN}
	for _, d := range defs {
		resources[d.LogicalID] = map[string]any{"Type": "AWS::DynamoDB::Table", "Properties": tableProperties(d)}
	}
	for _, k := range without {
		delete(outputs, k)
	}
	return map[string]any{
		"AWSTemplateFormatVersion": "2010-09-09",
		"Parameters":               tpl.Parameters,
		"Conditions":               tpl.Conditions,
		"Resources":                resources,
		"Outputs":                  outputs,
	}
}

func tableProperties(d awslocal.TableDef) map[string]any {
	names := make([]string, 0, len(d.Attributes))
	for n := range d.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	attrs := make([]any, 0, len(names))
	for _, n := range names {
		attrs = append(attrs, map[string]any{"AttributeName": n, "AttributeType": d.Attributes[n]})
	}
	props := map[string]any{
		"BillingMode":          "PAY_PER_REQUEST",
		"AttributeDefinitions": attrs,
		"KeySchema":            keySchema(d.PartitionKey, d.SortKey),
	}
	var gsis []any
	for _, ix := range d.Indexes {
		gsis = append(gsis, map[string]any{
			"IndexName": ix.Name, "KeySchema": keySchema(ix.PartitionKey, ix.SortKey),
			"Projection": map[string]any{"ProjectionType": "ALL"},
		})
	}
	if len(gsis) > 0 {
		props["GlobalSecondaryIndexes"] = gsis
	}
	return props
}

func keySchema(hash, rng string) []any {
	ks := []any{map[string]any{"AttributeName": hash, "KeyType": "HASH"}}
	if rng != "" {
		ks = append(ks, map[string]any{"AttributeName": rng, "KeyType": "RANGE"})
	}
	return ks
}
