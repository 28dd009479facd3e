package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
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
	"github.com/snapkeep/snapkeep/infra/lambdarun"
	"github.com/snapkeep/snapkeep/infra/triggers"
	"github.com/snapkeep/snapkeep/shared/clockfile"
	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
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
	// OpsWebhookSecret is the local OpsWebhookSecretName: the secret holding
	// the ops Slack webhook's URL (the fake Slack server's).
	OpsWebhookSecret = "snapkeep/" + Stage + "/ops-webhook"
	// SenderAddress is the template's default SenderAddress.
	SenderAddress = "backups@example.com"
	// OpsAddress is the template's default OpsAddress.
	OpsAddress = "ops@example.com"
	// AppURL stands in for the template's AppURL (the customers' app, where
	// the emails' policy and preferences links point).
	AppURL = "https://app.snapkeep.example"
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
var queueIDs = []string{"StreamFailureQueue", "ScheduleDeadLetterQueue", "SnapshotFailureQueue", "FollowUpQueue", "FollowUpDeadLetterQueue"}

// StackOptions configures startStack.
type StackOptions struct {
	// Env is added to each function's environment, by folder name (the
	// template's parameters: SLOT_WINDOW_MINUTES, ...); it wins.
	Env map[string]map[string]string
	// VirtualClock, when set, puts the functions on a virtual clock
	// (SNAPKEEP_CLOCK_FILE, shared/clockfile) starting at this time, and
	// the fake DigitalOcean on the same clock (Stack.Clock); follow-ups
	// are then sent undelayed, for the runner to hold until due.
	VirtualClock time.Time
	// DigitalOcean are options of the fake DigitalOcean.
	DigitalOcean []dotest.Option
	// FunctionLog receives every function's log lines; nil discards them.
	FunctionLog io.Writer
	// MotoLog receives moto's output; nil discards it.
	MotoLog io.Writer
	// MotoPort is moto's loopback port; 0 picks a free one.
	MotoPort int
	// Progress is told about each step; nil says nothing.
	Progress func(format string, args ...any)
}

// Stack is the running local product: moto, the fake DigitalOcean, a fake
// Slack, the tables, schedule group and queues of template.yaml, and the
// four function binaries under the Lambda Runtime API emulator.
type Stack struct {
	// Root is the module root (holding go.mod and template.yaml).
	Root string
	// Dir is the stack's temporary directory (binaries, clock), removed by
	// Close.
	Dir string
	// Moto is the moto server.
	Moto *awslocal.Moto
	// AWS is the configuration for moto.
	AWS aws.Config
	// Tables maps template logical ids to local table names.
	Tables map[string]string
	// Queues and QueueURLs map template logical ids to queue ARNs and URLs.
	Queues, QueueURLs map[string]string
	// DO is the fake DigitalOcean.
	DO *dotest.Server
	// Slack is the fake Slack (customers' and ops' incoming webhooks).
	Slack *SlackHooks
	// Clock is the virtual clock (nil on the real clock).
	Clock *Clock
	// Functions are the running functions by folder name (snapshot,
	// schedules, errorrate, notify).
	Functions map[string]*lambdarun.Function
	// Invocations counts each function's invocations, InvokeTime the
	// milliseconds spent in them.
	Invocations, InvokeTime *Counter
	// Endpoint is where everything reaches moto: a proxy that counts the
	// requests by operation (Proxy).
	Endpoint string
	Proxy    *motoProxy

	// DynamoDB, Scheduler, Secrets and SQS are clients for moto.
	DynamoDB  *dynamodb.Client
	Scheduler *scheduler.Client
	Secrets   *secretsmanager.Client
	SQS       *sqs.Client

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

// Invoke invokes a function by folder name and counts it.
func (s *Stack) Invoke(ctx context.Context, fn string, payload []byte) ([]byte, error) {
	s.Invocations.Add(fn, 1)
	t0 := time.Now()
	defer func() { s.InvokeTime.Add(fn, int(time.Since(t0)/time.Millisecond)) }()
	return s.Functions[fn].Invoke(ctx, payload)
}

// Template is the path of template.yaml.
func (s *Stack) Template() string { return filepath.Join(s.Root, "template.yaml") }

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
	var se *stepError
	if errors.As(err, &se) {
		return err
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
	st = &Stack{Functions: map[string]*lambdarun.Function{}, Invocations: &Counter{}, InvokeTime: &Counter{}}
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
	if err := st.startMoto(ctx, opts.MotoLog, opts.MotoPort); err != nil {
		return st, err
	}

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

	say("starting the fake DigitalOcean API and the fake Slack")
	doOpts := opts.DigitalOcean
	if !opts.VirtualClock.IsZero() {
		st.Clock = &Clock{path: filepath.Join(st.Dir, "clock")}
		if err := st.Clock.Set(opts.VirtualClock); err != nil {
			return st, step("virtual clock", err)
		}
		doOpts = append([]dotest.Option{dotest.WithClock(st.Clock.Now)}, doOpts...)
	}
	st.DO = dotest.NewServer(doOpts...)
	st.closers = append(st.closers, st.DO.Close)
	if st.Slack, err = startSlackHooks(st.Dir); err != nil {
		return st, step("start the fake Slack", err)
	}
	st.closers = append(st.closers, st.Slack.Close)
	if err := st.storeOpsWebhook(ctx); err != nil {
		return st, err
	}

	say("starting the functions under the Lambda Runtime API emulator")
	if err := st.startFunctions(ctx, binDir, opts); err != nil {
		return st, err
	}
	return st, nil
}

// startMoto starts moto through the launcher (motopatch.go), the proxy
// that counts its requests, and the clients for it.
func (s *Stack) startMoto(ctx context.Context, motoLog io.Writer, port int) error {
	launcher, err := writeMotoLauncher(s.Dir)
	if err != nil {
		return step("start moto", err)
	}
	if _, err := exec.LookPath(awslocal.MotoCommand); err != nil {
		return step("start moto", fmt.Errorf("%w (%v); %s", awslocal.ErrMotoNotFound, err, awslocal.InstallHint))
	}
	moto, err := awslocal.StartMoto(ctx, awslocal.Options{Command: launcher, Output: motoLog, Port: port})
	if errors.Is(err, awslocal.ErrPortInUse) {
		return step("start moto", fmt.Errorf("%w; choose another with -moto-port N (0 picks a free one)", err))
	}
	if err != nil {
		return step("start moto", err)
	}
	s.Moto = moto
	s.closers = append(s.closers, moto.Stop)
	if s.Proxy, err = startMotoProxy(moto.Endpoint); err != nil {
		return step("start moto", err)
	}
	s.closers = append(s.closers, s.Proxy.Close)
	s.Endpoint = s.Proxy.URL
	if s.AWS, err = awslocal.Config(ctx, s.Endpoint); err != nil {
		return step("AWS configuration", err)
	}
	s.DynamoDB = dynamodb.NewFromConfig(s.AWS)
	s.Scheduler = scheduler.NewFromConfig(s.AWS)
	s.Secrets = secretsmanager.NewFromConfig(s.AWS)
	s.SQS = sqs.NewFromConfig(s.AWS)
	return nil
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
	names := make([]string, 0, len(functionIDs))
	for name := range functionIDs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		args = append(args, "./functions/"+name)
	}
	cmd := exec.CommandContext(ctx, goTool, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %v: %w\n%s", args, err, out)
	}
	for _, name := range names {
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
	s.Queues, s.QueueURLs = map[string]string{}, map[string]string{}
	for _, id := range queueIDs {
		name := TablePrefix + id
		out, err := s.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			return step("create queue "+name, err)
		}
		attrs, err := s.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
		})
		if err != nil {
			return step("queue "+name+" attributes", err)
		}
		s.Queues[id] = attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
		s.QueueURLs[id] = aws.ToString(out.QueueUrl)
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

// storeOpsWebhook stores the ops webhook's URL (the fake Slack's) in
// Secrets Manager, as ops would for OpsWebhookSecretName.
func (s *Stack) storeOpsWebhook(ctx context.Context) error {
	_, err := s.Secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(OpsWebhookSecret), SecretString: aws.String(s.Slack.URL(OpsSlackPath)),
	})
	return step("store the ops webhook", err)
}

// startFunctions starts the four functions with the timeouts and the
// environment template.yaml gives them (its parameters at their
// defaults: infra/triggers' FunctionConfig), pointed at moto, the fake
// DigitalOcean and the fake Slack; what the template takes from the
// stack's own resources (tables, queues, roles) is the local stack's.
func (s *Stack) startFunctions(ctx context.Context, binDir string, opts StackOptions) error {
	tpl, err := triggers.ReadTemplate(s.Template(), Stage)
	if err != nil {
		return step("read template.yaml", err)
	}
	local := s.localEnv()
	// The snapshot function first: the schedules function needs its ARN.
	for _, fn := range []string{"snapshot", "schedules", "errorrate", "notify"} {
		cfg, ok := tpl.Functions[functionIDs[fn]]
		if !ok {
			return step("start the "+fn+" function", fmt.Errorf("template.yaml has no %s", functionIDs[fn]))
		}
		if fn == "schedules" {
			local[fn]["SNAPSHOT_FUNCTION_ARN"] = s.Functions["snapshot"].ARN()
		}
		vars := map[string]string{}
		for _, m := range []map[string]string{cfg.Env, local["all"], local[fn], opts.Env[fn]} {
			maps.Copy(vars, m)
		}
		if fn == "snapshot" && vars["TOKEN_SECRET_PREFIX"] != TokenSecretPrefix {
			return step("start the snapshot function", fmt.Errorf("template.yaml's TOKEN_SECRET_PREFIX is %q for stage %s; the local stack stores tokens under %q", vars["TOKEN_SECRET_PREFIX"], Stage, TokenSecretPrefix))
		}
		for _, name := range cfg.Provided {
			if _, ok := vars[name]; !ok {
				return step("start the "+fn+" function", fmt.Errorf("template.yaml gives %s from one of the stack's resources, which the local stack does not provide", name))
			}
		}
		f, err := lambdarun.Start(ctx, lambdarun.Options{
			Name:    "snapkeep-" + Stage + "-" + functionIDs[fn],
			Binary:  filepath.Join(binDir, fn),
			Env:     vars,
			Timeout: cfg.Timeout,
			Stdout:  opts.FunctionLog,
		})
		if err != nil {
			return step("start the "+fn+" function", err)
		}
		s.Functions[fn] = f
		s.closers = append(s.closers, func() { f.Close() })
	}
	return nil
}

// localEnv is what the local stack sets over the template's environment,
// for every function ("all") and by function: the AWS SDK pointed at moto,
// the stack's tables, queues and roles, the fakes' addresses and hosts,
// and the local choices (the virtual clock, the hold mode on, to show
// it).
func (s *Stack) localEnv() map[string]map[string]string {
	all := map[string]string{
		"AWS_ENDPOINT_URL":          s.Endpoint,
		"AWS_ACCESS_KEY_ID":         awslocal.FakeAccessKeyID,
		"AWS_SECRET_ACCESS_KEY":     awslocal.FakeSecretAccessKey,
		"AWS_REGION":                s.AWS.Region,
		"AWS_EC2_METADATA_DISABLED": "true",
		// The fake Slack's TLS certificate (Go reads SSL_CERT_FILE).
		"SSL_CERT_FILE": s.Slack.CertFile,
	}
	for _, spec := range dynamo.AllTables() {
		all[spec.EnvVar] = s.Tables[spec.LogicalID]
	}
	if s.Clock != nil {
		all[clockfile.EnvVar] = s.Clock.path
	}
	return map[string]map[string]string{
		"all": all,
		"snapshot": {
			"FOLLOW_UP_QUEUE_URL":  s.QueueURLs["FollowUpQueue"],
			"FOLLOW_UP_NO_DELAY":   strconv.FormatBool(s.Clock != nil),
			"DIGITALOCEAN_API_URL": s.DO.URL,
		},
		"schedules": {
			"SCHEDULE_GROUP":     ScheduleGroup,
			"SCHEDULER_ROLE_ARN": SchedulerRoleARN,
			"SCHEDULE_DLQ_ARN":   s.Queues["ScheduleDeadLetterQueue"],
		},
		"errorrate": {
			"SENDER_ADDRESS": SenderAddress, "OPS_ADDRESS": OpsAddress,
			"OPS_WEBHOOK_SECRET": OpsWebhookSecret, "OPS_WEBHOOK_HOSTS": s.Slack.Host(),
		},
		"notify": {
			"SENDER_ADDRESS": SenderAddress, "APP_URL": AppURL,
			"HOLD_NOTICES_DURING_INCIDENTS": "true", "SLACK_ALLOWED_HOSTS": s.Slack.Host(),
		},
	}
}

// Clock is the runner's clock: the fake DigitalOcean reads it, and every
// Set writes it to the clock file the functions read at each invocation
// (shared/clockfile). A Clock without a file (snaplocal up) only remembers
// the time the runner last stepped to.
type Clock struct {
	path string
	mu   sync.Mutex
	now  time.Time
}

// Now returns the virtual time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t (it never goes back) and writes the file.
func (c *Clock) Set(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Equal(c.now) {
		return nil
	}
	if t.Before(c.now) {
		return fmt.Errorf("virtual clock: %s is before %s", t.Format(time.RFC3339), c.now.Format(time.RFC3339))
	}
	if c.path != "" {
		if err := clockfile.Write(c.path, t); err != nil {
			return err
		}
	}
	c.now = t.UTC()
	return nil
}

// Counter counts by name; safe for concurrent use.
type Counter struct {
	mu sync.Mutex
	m  map[string]int
}

// Add adds n to name's count.
func (c *Counter) Add(name string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[name] += n
}

// Get returns name's count.
func (c *Counter) Get(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[name]
}

// Names returns the names counted, in order.
func (c *Counter) Names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return sortedKeys(c.m)
}

// Total returns the sum of the counts.
func (c *Counter) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.m {
		n += v
	}
	return n
}
