package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/snapkeep/snapkeep/infra/awslocal"
	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/infra/lambdarun"
)

// Local stack settings: what template.yaml's parameters are for the local
// stage.
const (
	// Stage is the local stack's stage (template parameter Stage).
	Stage = "local"
	// TablePrefix names the local tables "<TablePrefix><LogicalID>".
	TablePrefix = awslocal.DefaultPrefix
	// ScheduleGroup is the template's ScheduleGroup for the local stage.
	ScheduleGroup = "snapkeep-" + Stage
	// TokenSecretPrefix is the SnapshotFunction's TOKEN_SECRET_PREFIX.
	TokenSecretPrefix = "snapkeep/" + Stage + "/accounts/"
	// SenderAddress is the template's default SenderAddress.
	SenderAddress = "backups@example.com"
	// OpsAddress is the template's default OpsAddress.
	OpsAddress = "ops@example.com"
	// AppURL stands in for the template's AppURL (the customers' app, where
	// the emails' policy and preferences links point).
	AppURL = "http://localhost:8080"
	// SchedulerRoleARN stands in for the template's SchedulerInvokeRole.
	SchedulerRoleARN = "arn:aws:iam::" + lambdarun.AccountID + ":role/snapkeep-" + Stage + "-scheduler-invoke"
)

// Function folders under functions/ and their template logical ids.
var functionIDs = map[string]string{
	"snapshot":  "SnapshotFunction",
	"schedules": "SchedulesFunction",
	"errorrate": "ErrorRateFunction",
	"notify":    "NotifyFunction",
}

// Queues of template.yaml the local stack creates.
var queueIDs = []string{"StreamFailureQueue", "ScheduleDeadLetterQueue", "SnapshotFailureQueue"}

// StackOptions configures startStack.
type StackOptions struct {
	// SnapshotEnv is added to the snapshot function's environment (the
	// template's parameters: SLOT_WINDOW_MINUTES, RUN_DEADLINE_HOURS, ...).
	SnapshotEnv map[string]string
	// DigitalOcean are options of the fake DigitalOcean.
	DigitalOcean []dotest.Option
	// FunctionLog receives every function's log lines; nil discards them.
	FunctionLog io.Writer
	// MotoLog receives moto's output; nil discards it.
	MotoLog io.Writer
	// Progress is told about each step; nil says nothing.
	Progress func(format string, args ...any)
}

// Stack is the running local product: moto, the fake DigitalOcean, the
// tables, schedule group and queues of template.yaml, and the four
// function binaries under the Lambda Runtime API emulator.
type Stack struct {
	// Root is the module root (holding go.mod and template.yaml).
	Root string
	// Dir is the stack's temporary directory (binaries), removed by Close.
	Dir string
	// Moto is the moto server.
	Moto *awslocal.Moto
	// AWS is the configuration for moto.
	AWS aws.Config
	// Tables maps template logical ids to local table names.
	Tables map[string]string
	// Queues maps template logical ids to queue ARNs.
	Queues map[string]string
	// DO is the fake DigitalOcean.
	DO *dotest.Server
	// Functions are the running functions by folder name (snapshot,
	// schedules, errorrate, notify).
	Functions map[string]*lambdarun.Function

	// DynamoDB, Scheduler and Secrets are clients for moto.
	DynamoDB  *dynamodb.Client
	Scheduler *scheduler.Client
	Secrets   *secretsmanager.Client

	closers []func()
}

// Close stops everything the stack started, newest first, and removes its
// temporary directory.
func (s *Stack) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// TableName returns the local name of spec's table.
func (s *Stack) TableName(spec dynamo.TableSpec) string { return s.Tables[spec.LogicalID] }

// stepError names the demo step that failed.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func step(name string, err error) error {
	if err == nil {
		return nil
	}
	return &stepError{step: name, err: err}
}

// startStack builds the functions and starts the stack. On error, what was
// started is stopped again.
func startStack(ctx context.Context, opts StackOptions) (st *Stack, err error) {
	say := opts.Progress
	if say == nil {
		say = func(string, ...any) {}
	}
	st = &Stack{Functions: map[string]*lambdarun.Function{}}
	defer func() {
		if err != nil {
			st.Close()
			st = nil
		}
	}()

	tpl, err := awslocal.FindTemplate()
	if err != nil {
		return st, step("find the repository", fmt.Errorf("%w (run snaplocal from inside the snapkeep checkout)", err))
	}
	st.Root = filepath.Dir(tpl)
	if st.Dir, err = os.MkdirTemp("", "snaplocal-"); err != nil {
		return st, step("temporary directory", err)
	}
	st.closers = append(st.closers, func() { os.RemoveAll(st.Dir) })

	say("building the four functions for this machine (go build -tags lambda.norpc)")
	binDir := filepath.Join(st.Dir, "bin")
	if err := buildFunctions(ctx, st.Root, binDir); err != nil {
		return st, step("build the functions", err)
	}

	say("starting moto in server mode")
	moto, err := awslocal.StartMoto(ctx, awslocal.Options{Output: opts.MotoLog})
	if err != nil {
		if errors.Is(err, awslocal.ErrMotoNotFound) {
			return st, step("start moto", fmt.Errorf("moto_server is not installed: run `make tools` (or python3 -m pip install -r infra/requirements.txt): %w", err))
		}
		return st, step("start moto", err)
	}
	st.Moto = moto
	st.closers = append(st.closers, moto.Stop)
	if st.AWS, err = awslocal.Config(ctx, moto.Endpoint); err != nil {
		return st, step("AWS configuration", err)
	}
	st.DynamoDB = dynamodb.NewFromConfig(st.AWS)
	st.Scheduler = scheduler.NewFromConfig(st.AWS)
	st.Secrets = secretsmanager.NewFromConfig(st.AWS)

	say("creating the tables from template.yaml, the schedule group, the queues and the SES identities")
	defs, err := awslocal.Tables(tpl)
	if err != nil {
		return st, step("read template.yaml", err)
	}
	if st.Tables, err = awslocal.CreateTables(ctx, st.DynamoDB, defs, TablePrefix); err != nil {
		return st, step("create tables", err)
	}
	if err := st.createResources(ctx); err != nil {
		return st, err
	}

	say("starting the fake DigitalOcean API")
	st.DO = dotest.NewServer(opts.DigitalOcean...)
	st.closers = append(st.closers, st.DO.Close)

	say("starting the functions under the Lambda Runtime API emulator")
	if err := st.startFunctions(ctx, binDir, opts); err != nil {
		return st, err
	}
	return st, nil
}

// buildFunctions builds the four functions for the host into dir (one
// binary per function, named after its folder).
func buildFunctions(ctx context.Context, root, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	args := []string{"build", "-trimpath", "-buildvcs=false", "-tags", "lambda.norpc", "-o", dir + string(filepath.Separator)}
	for name := range functionIDs {
		args = append(args, "./functions/"+name)
	}
	cmd := exec.CommandContext(ctx, goTool, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %v: %w\n%s", args, err, out)
	}
	for name := range functionIDs {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("function %s was not built: %w", name, err)
		}
	}
	return nil
}

// createResources creates the schedule group, the queues and the SES
// identities of the template.
func (s *Stack) createResources(ctx context.Context) error {
	if _, err := s.Scheduler.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String(ScheduleGroup)}); err != nil {
		return step("create schedule group "+ScheduleGroup, err)
	}
	q := sqs.NewFromConfig(s.AWS)
	s.Queues = map[string]string{}
	for _, id := range queueIDs {
		name := TablePrefix + id
		out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			return step("create queue "+name, err)
		}
		attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
		})
		if err != nil {
			return step("queue "+name+" attributes", err)
		}
		s.Queues[id] = attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	}
	ses := sesv2.NewFromConfig(s.AWS)
	for _, addr := range []string{SenderAddress, OpsAddress} {
		_, err := ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(addr)})
		var exists *sestypes.AlreadyExistsException
		if err != nil && !errors.As(err, &exists) {
			return step("verify SES identity "+addr, err)
		}
	}
	return nil
}

// startFunctions starts the four functions with the environment
// template.yaml gives them, pointed at moto and the fake DigitalOcean.
func (s *Stack) startFunctions(ctx context.Context, binDir string, opts StackOptions) error {
	common := map[string]string{
		"AWS_ENDPOINT_URL":          s.Moto.Endpoint,
		"AWS_ACCESS_KEY_ID":         awslocal.FakeAccessKeyID,
		"AWS_SECRET_ACCESS_KEY":     awslocal.FakeSecretAccessKey,
		"AWS_REGION":                s.AWS.Region,
		"AWS_EC2_METADATA_DISABLED": "true",
		"STAGE":                     Stage,
	}
	for _, spec := range dynamo.AllTables() {
		common[spec.EnvVar] = s.Tables[spec.LogicalID]
	}
	with := func(extra map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range common {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	snapshotEnv := with(map[string]string{
		"API_CALL_RETENTION_DAYS": "90",
		"RUN_DEADLINE_HOURS":      "6",
		"SLOT_WINDOW_MINUTES":     "30",
		"TOKEN_SECRET_PREFIX":     TokenSecretPrefix,
		"DIGITALOCEAN_API_URL":    s.DO.URL,
	})
	for k, v := range opts.SnapshotEnv {
		snapshotEnv[k] = v
	}
	// The snapshot function first: the schedules function needs its ARN.
	order := []struct {
		name    string
		timeout time.Duration
		env     func(snapshotARN string) map[string]string
	}{
		{"snapshot", 300 * time.Second, func(string) map[string]string { return snapshotEnv }},
		{"schedules", 60 * time.Second, func(arn string) map[string]string {
			return with(map[string]string{
				"SCHEDULE_GROUP":        ScheduleGroup,
				"SNAPSHOT_FUNCTION_ARN": arn,
				"SCHEDULER_ROLE_ARN":    SchedulerRoleARN,
				"SCHEDULE_DLQ_ARN":      s.Queues["ScheduleDeadLetterQueue"],
			})
		}},
		{"errorrate", 60 * time.Second, func(string) map[string]string {
			return with(map[string]string{"SENDER_ADDRESS": SenderAddress, "OPS_ADDRESS": OpsAddress, "SES_CONFIGURATION_SET": ""})
		}},
		{"notify", 60 * time.Second, func(string) map[string]string {
			return with(map[string]string{"SENDER_ADDRESS": SenderAddress, "SES_CONFIGURATION_SET": "", "APP_URL": AppURL})
		}},
	}
	snapshotARN := ""
	for _, fn := range order {
		f, err := lambdarun.Start(ctx, lambdarun.Options{
			Name:    "snapkeep-" + Stage + "-" + functionIDs[fn.name],
			Binary:  filepath.Join(binDir, fn.name),
			Env:     fn.env(snapshotARN),
			Timeout: fn.timeout,
			Stdout:  opts.FunctionLog,
		})
		if err != nil {
			return step("start the "+fn.name+" function", err)
		}
		s.Functions[fn.name] = f
		s.closers = append(s.closers, func() { f.Close() })
		if fn.name == "snapshot" {
			snapshotARN = f.ARN()
		}
	}
	return nil
}
