package support

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// StackClient is the part of *cloudformation.Client FindStack uses, with
// the SDK's own method signature.
type StackClient interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

var _ StackClient = (*cloudformation.Client)(nil)

// Output keys of template.yaml that snapctl reads besides the tables'
// (TableOutput).
const (
	OutputStage             = "Stage"
	OutputTokenSecretPrefix = "TokenSecretPrefix"
	OutputScheduleGroup     = "ScheduleGroupName"
	OutputSnapshotFunction  = "SnapshotFunctionArn"
	// OutputAppURL is the customers' app the messages link to (the
	// AppURL parameter).
	OutputAppURL = "AppURL"
	// OutputBroadcastSender is snapctl broadcast's sender: the
	// BroadcastSenderAddress parameter, else SenderAddress.
	OutputBroadcastSender = "BroadcastSenderAddress"
	// OutputBroadcastConfigurationSet is snapctl broadcast's SES
	// configuration set (BroadcastConfigurationSet, else
	// SESConfigurationSet): a conditional output, absent when the stack
	// has neither.
	OutputBroadcastConfigurationSet = "BroadcastConfigurationSet"
)

// OutputKeys are the Outputs keys of template.yaml that snapctl reads:
// the tables' (TableOutput of each of dynamo.AllTables) and the others
// above. OutputBroadcastConfigurationSet is among them though a stack
// may leave it out.
func OutputKeys() []string {
	keys := []string{OutputStage, OutputTokenSecretPrefix, OutputScheduleGroup, OutputSnapshotFunction,
		OutputAppURL, OutputBroadcastSender, OutputBroadcastConfigurationSet}
	for _, spec := range dynamo.AllTables() {
		keys = append(keys, TableOutput(spec))
	}
	return keys
}

// StackPrefix starts every snapkeep stack's name: a stage's stack is
// "snapkeep-<stage>" (samconfig.toml names it so), its schedule group too,
// and its token secrets are "snapkeep/<stage>/accounts/<account_id>".
const StackPrefix = "snapkeep-"

// LocalStage is the stage of the local stack (cmd/snaplocal), which is not
// a CloudFormation stack: its names are fixed.
const LocalStage = "local"

// stageRule is template.yaml's AllowedPattern of the Stage parameter.
var stageRule = regexp.MustCompile(`^[a-z][a-z0-9-]{0,15}$`)

// CheckStage reports whether stage is one template.yaml accepts.
func CheckStage(stage string) error {
	if !stageRule.MatchString(stage) {
		return fmt.Errorf("stage %q must be 1-16 lower-case letters, digits or '-', starting with a letter (template.yaml's Stage): %w", stage, snapkeep.ErrInvalid)
	}
	return nil
}

// StackName is the stack name of a stage by the convention.
func StackName(stage string) string { return StackPrefix + stage }

// SecretPrefix is the token secret prefix of a stage (the template's
// TOKEN_SECRET_PREFIX).
func SecretPrefix(stage string) string { return "snapkeep/" + stage + "/accounts/" }

// ScheduleGroup is the schedule group of a stage (the template's ScheduleGroup).
func ScheduleGroup(stage string) string { return StackPrefix + stage }

// TableOutput is the Outputs key of a table's name in template.yaml, e.g.
// "RunsTableName" for RunsTable.
func TableOutput(spec dynamo.TableSpec) string {
	return strings.TrimSuffix(spec.LogicalID, "Table") + "TableName"
}

// Stack is a deployed snapkeep stack as CloudFormation describes it.
type Stack struct {
	// Name is the stack's name.
	Name string
	// Status is the stack's status, e.g. UPDATE_COMPLETE.
	Status string
	// Stage is the stack's stage: its Stage output, else its Stage
	// parameter.
	Stage string
	// Outputs are the stack's outputs by key.
	Outputs map[string]string
}

// FindStack describes the named stack and checks it is one snapkeep can
// use: it exists, is not failed or rolled back, tells its stage, and is
// named StackName(stage). A missing stack is an error wrapping
// snapkeep.ErrNotFound; a stack whose name and stage disagree wraps
// snapkeep.ErrInvalid.
func FindStack(ctx context.Context, c StackClient, name string) (*Stack, error) {
	out, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ValidationError" && strings.Contains(ae.ErrorMessage(), "does not exist") {
		return nil, fmt.Errorf("no CloudFormation stack %q in this account and region: %w", name, snapkeep.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("describe stack %q: %w", name, err)
	}
	if len(out.Stacks) != 1 {
		return nil, fmt.Errorf("describe stack %q: %d stacks answered, want 1", name, len(out.Stacks))
	}
	st := stackOf(out.Stacks[0])
	if err := st.check(name); err != nil {
		return nil, err
	}
	return st, nil
}

func stackOf(s cftypes.Stack) *Stack {
	st := &Stack{Name: aws.ToString(s.StackName), Status: string(s.StackStatus), Outputs: map[string]string{}}
	for _, o := range s.Outputs {
		st.Outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	st.Stage = st.Outputs[OutputStage]
	if st.Stage == "" {
		for _, p := range s.Parameters {
			if aws.ToString(p.ParameterKey) == "Stage" {
				st.Stage = aws.ToString(p.ParameterValue)
			}
		}
	}
	return st
}

// check refuses a stack snapkeep cannot use.
func (s *Stack) check(asked string) error {
	switch {
	case strings.HasSuffix(s.Status, "_FAILED"), s.Status == string(cftypes.StackStatusRollbackComplete),
		s.Status == string(cftypes.StackStatusDeleteInProgress):
		return fmt.Errorf("stack %q is %s: its tables may not exist; fix or redeploy it (sam deploy): %w", asked, s.Status, snapkeep.ErrInvalid)
	case s.Stage == "":
		return fmt.Errorf("stack %q has no Stage output or parameter: is it a snapkeep stack? %w", asked, snapkeep.ErrInvalid)
	case s.Name != StackName(s.Stage):
		return fmt.Errorf("stack %q is stage %q, but a stage's stack must be named %q (samconfig.toml): deploy it under that name, or pass --stack %s: %w",
			s.Name, s.Stage, StackName(s.Stage), StackName(s.Stage), snapkeep.ErrInvalid)
	}
	return nil
}

// Table returns the stack's name of spec's table, from its Outputs.
func (s *Stack) Table(spec dynamo.TableSpec) (string, bool) {
	v, ok := s.Outputs[TableOutput(spec)]
	return v, ok && v != ""
}

// SecretPrefix returns the stack's token secret prefix: its
// TokenSecretPrefix output, else the stage's by the convention.
func (s *Stack) SecretPrefix() string {
	if v := s.Outputs[OutputTokenSecretPrefix]; v != "" {
		return v
	}
	return SecretPrefix(s.Stage)
}

// ScheduleGroup returns the stack's schedule group: its ScheduleGroupName
// output, else the stage's by the convention.
func (s *Stack) ScheduleGroup() string {
	if v := s.Outputs[OutputScheduleGroup]; v != "" {
		return v
	}
	return ScheduleGroup(s.Stage)
}

// SnapshotFunction returns the snapshot function's ARN from the stack's
// outputs.
func (s *Stack) SnapshotFunction() (string, bool) {
	v := s.Outputs[OutputSnapshotFunction]
	return v, v != ""
}

// AppURL returns the customers' app the stack's messages link to (its
// AppURL output).
func (s *Stack) AppURL() (string, bool) {
	v := s.Outputs[OutputAppURL]
	return v, v != ""
}

// BroadcastSender returns the verified SES address snapctl broadcast
// sends from: the stack's BroadcastSenderAddress output (its
// BroadcastSenderAddress parameter, else its SenderAddress). The
// stack's operator policy (SupportOperatorPolicy) sends from no other.
func (s *Stack) BroadcastSender() (string, bool) {
	v := s.Outputs[OutputBroadcastSender]
	return v, v != ""
}

// BroadcastConfigurationSet returns the SES configuration set of snapctl
// broadcast's mail, and whether the stack tells: a stack whose template
// has the broadcast's outputs leaves this one out when it has no set
// (then it returns "", true); an older stack has neither (then "",
// false, and the caller may look elsewhere).
func (s *Stack) BroadcastConfigurationSet() (string, bool) {
	if v := s.Outputs[OutputBroadcastConfigurationSet]; v != "" {
		return v, true
	}
	_, tells := s.BroadcastSender()
	return "", tells
}

// MatchStage checks the stage given beside the stack (--stage) against
// the stack's own: they must not disagree. An empty stage matches.
func (s *Stack) MatchStage(stage string) error {
	if stage == "" || stage == s.Stage {
		return nil
	}
	return fmt.Errorf("stage %q was given, but stack %q is stage %q: drop one of them, or pass --stack %s: %w",
		stage, s.Name, s.Stage, StackName(stage), snapkeep.ErrInvalid)
}
