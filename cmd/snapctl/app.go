package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dynamotypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/smithy-go"

	"github.com/snapkeep/snapkeep/shared/docloud"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/schedule"
	"github.com/snapkeep/snapkeep/shared/secrets"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
)

// Exit codes.
const (
	exitOK      = 0 // the command did what was asked
	exitFailure = 1 // AWS or another dependency failed
	exitUsage   = 2 // bad input: unknown command or flag, invalid policy, unknown id
)

// Limits and defaults.
const (
	maxNextRuns        = 1000
	defaultNextRuns    = 5
	maxTokenInputBytes = 8 << 10
	// maxCell cuts table cells (CSV, JSON and YAML are never cut).
	maxCell = 80
)

// run is the whole program: main only wires the process's arguments,
// streams and environment into it, and tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return newApp(stdin, stdout, stderr, getenv).run(ctx, args)
}

// clients are the AWS and DigitalOcean clients the commands use, built
// from the AWS configuration, and the escalation report's reader; each
// app has its own, so tests replace them one app at a time (and run in
// parallel): the ones moto cannot serve (Lambda, SES's GetAccount and
// suppression list), or wrapped to count requests or interrupt a run.
type clients struct {
	DynamoDB       func(aws.Config) *dynamodb.Client
	Secrets        func(aws.Config) *secretsmanager.Client
	Scheduler      func(aws.Config) support.ScheduleReader
	CloudFormation func(aws.Config) support.StackClient
	Lambda         func(aws.Config) support.Invoker
	DigitalOcean   func(token, apiURL string) support.AccountChecker
	// SES is broadcast's SES v2 client.
	SES func(aws.Config) sesClient
	// Escalation returns what the escalation report reads: the stack's
	// Stats, ApiCalls and Runs tables through shared/dynamo's adapter.
	// Tests render shared/escalation's fixture through the real command
	// instead (seeding moto with 30 days of per-minute counts would take
	// minutes).
	Escalation func(db dynamo.Client, t *target, now func() time.Time) escalation.Source
}

func defaultClients() clients {
	return clients{
		DynamoDB:       func(c aws.Config) *dynamodb.Client { return dynamodb.NewFromConfig(c) },
		Secrets:        func(c aws.Config) *secretsmanager.Client { return secretsmanager.NewFromConfig(c) },
		Scheduler:      func(c aws.Config) support.ScheduleReader { return scheduler.NewFromConfig(c) },
		CloudFormation: func(c aws.Config) support.StackClient { return cloudformation.NewFromConfig(c) },
		Lambda:         func(c aws.Config) support.Invoker { return lambda.NewFromConfig(c) },
		DigitalOcean: func(token, apiURL string) support.AccountChecker {
			return docloud.New(token, docloud.WithBaseURL(apiURL))
		},
		SES:        func(c aws.Config) sesClient { return sesv2.NewFromConfig(c) },
		Escalation: escalationSource,
	}
}

// escalationSource reads the escalation report's data from the stack's
// tables: index Queries of Stats, ApiCalls and Runs.
func escalationSource(db dynamo.Client, t *target, now func() time.Time) escalation.Source {
	return dynamo.EscalationSource{
		Stats: &dynamo.StatsStore{Client: db, Table: t.table(dynamo.Stats), Now: now},
		Calls: &dynamo.APICallStore{Client: db, Table: t.table(dynamo.APICalls)},
		Runs:  &dynamo.RunStore{Client: db, Table: t.table(dynamo.Runs), Now: now},
	}
}

// app holds what the commands use: the process's streams and environment,
// the clock, how to reach AWS, the global flags and the stack they name.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
	// loadAWS loads the AWS configuration (the standard environment and
	// shared config files, with --region and --profile when given).
	loadAWS func(ctx context.Context, region, profile string) (aws.Config, error)
	// interactive reports whether stdin is a person at a terminal (who
	// can answer a confirmation).
	interactive func(io.Reader) bool
	clients     clients

	flags globalFlags
	cfg   *aws.Config
	tgt   *target
	// redact holds secrets read during this run; they are scrubbed from
	// any error text before it is printed.
	redact []string
}

func newApp(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *app {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return &app{
		stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv,
		now:         time.Now,
		loadAWS:     loadAWSConfig,
		interactive: isTerminal,
		clients:     defaultClients(),
	}
}

// run executes one command line and returns the exit code.
func (a *app) run(ctx context.Context, args []string) int {
	root := a.rootCommand()
	if args == nil {
		args = []string{}
	}
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	err = flagError(err)
	fmt.Fprintf(a.stderr, "snapctl: %s\n", a.scrub(message(err)))
	if hint := hintFor(err); hint != "" {
		fmt.Fprintln(a.stderr, a.scrub(hint))
	}
	code := exitCode(err)
	var ue *usageError
	if errors.As(err, &ue) && cmd != nil {
		fmt.Fprintf(a.stderr, "Run '%s --help' for usage and examples.\n", cmd.CommandPath())
	}
	return code
}

// message is err's text without the trailing ": invalid" or ": not
// found" of the domain's sentinel errors (the rest of the text says it).
func message(err error) string {
	msg := err.Error()
	for _, sentinel := range []error{snapkeep.ErrInvalid, snapkeep.ErrNotFound} {
		msg = strings.TrimSuffix(msg, ": "+sentinel.Error())
	}
	return msg
}

// exitCode maps an error to the process's exit code.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue),
		errors.Is(err, snapkeep.ErrInvalid),
		errors.Is(err, snapkeep.ErrNotFound),
		errors.Is(err, schedule.ErrSyntax):
		return exitUsage
	}
	return exitFailure
}

// tokenPattern matches DigitalOcean tokens (personal access, OAuth, refresh).
var tokenPattern = regexp.MustCompile(`do[opr]_v1_[A-Za-z0-9]+`)

// scrub removes anything that looks like a token, and every secret read in
// this run, from text about to be printed.
func (a *app) scrub(s string) string {
	for _, secret := range a.redact {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "REDACTED")
		}
	}
	return tokenPattern.ReplaceAllString(s, "REDACTED")
}

// usageError is bad input: exit code 2 and a pointer to --help.
type usageError struct{ err error }

// Error returns the message of the bad input.
func (e *usageError) Error() string { return e.err.Error() }

// Unwrap returns the underlying error.
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// hintError adds a line telling the user what to do about err.
type hintError struct {
	err  error
	hint string
}

// Error returns the error's message without the hint.
func (e *hintError) Error() string { return e.err.Error() }

// Unwrap returns the underlying error.
func (e *hintError) Unwrap() error { return e.err }

func withHint(err error, format string, args ...any) error {
	return &hintError{err: err, hint: fmt.Sprintf(format, args...)}
}

// hintFor returns what to do about err: its own hint, or one for the
// common AWS failures.
func hintFor(err error) string {
	var h *hintError
	if errors.As(err, &h) {
		return h.hint
	}
	var (
		rnf *dynamotypes.ResourceNotFoundException
		op  *net.OpError
		dns *net.DNSError
		api smithy.APIError
	)
	switch {
	case errors.As(err, &api) && (api.ErrorCode() == "AccessDeniedException" || api.ErrorCode() == "AccessDenied"):
		return "Your AWS credentials may not make this call: snapctl's operators need the stack's managed policy SupportOperatorPolicy " +
			"(its ARN is the stack's SupportOperatorPolicyArn output; aws iam attach-role-policy --role-name ROLE --policy-arn ARN). " +
			"It is one stage's, and broadcasts only from that stack's broadcast sender."
	case errors.As(err, &rnf):
		return "A table does not exist: point snapctl at the stack with --stack (or SNAPKEEP_STACK), or pass the table names with --policies-table, --runs-table, ... (the defaults are the local stack's); check AWS_REGION/AWS_PROFILE."
	case errors.As(err, &op), errors.As(err, &dns):
		return "Cannot reach the AWS endpoint: for the local stack check that it is running and AWS_ENDPOINT_URL points at it; for AWS check your network and AWS_REGION."
	case strings.Contains(err.Error(), "failed to retrieve credentials"),
		strings.Contains(err.Error(), "failed to refresh cached credentials"),
		strings.Contains(err.Error(), "no EC2 IMDS role found"):
		return "No AWS credentials: set AWS_PROFILE (and run 'aws sso login' if needed) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; for the local stack any fake keys do."
	}
	return ""
}

func loadAWSConfig(ctx context.Context, region, profile string) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	return config.LoadDefaultConfig(ctx, opts...)
}

// awsConfig loads the AWS configuration once per run.
func (a *app) awsConfig(ctx context.Context) (aws.Config, error) {
	if a.cfg != nil {
		return *a.cfg, nil
	}
	cfg, err := a.loadAWS(ctx, a.flags.region, a.flags.profile)
	if err != nil {
		return aws.Config{}, withHint(fmt.Errorf("load AWS configuration: %w", err),
			"Check AWS_PROFILE, AWS_REGION and ~/.aws/config; for the local stack set AWS_ENDPOINT_URL, AWS_REGION and fake AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.")
	}
	if cfg.Region == "" {
		return aws.Config{}, withHint(errors.New("no AWS region configured"),
			"Set AWS_REGION (or a region in your AWS profile), or pass --region.")
	}
	a.cfg = &cfg
	return cfg, nil
}

// session returns the AWS configuration and the stack's names.
func (a *app) session(ctx context.Context) (aws.Config, *target, error) {
	cfg, err := a.awsConfig(ctx)
	if err != nil {
		return aws.Config{}, nil, err
	}
	t, err := a.target(ctx, cfg)
	if err != nil {
		return aws.Config{}, nil, err
	}
	return cfg, t, nil
}

func (a *app) policyStore(ctx context.Context) (*dynamo.PolicyStore, error) {
	cfg, t, err := a.session(ctx)
	if err != nil {
		return nil, err
	}
	return &dynamo.PolicyStore{Client: a.clients.DynamoDB(cfg), Table: t.table(dynamo.Policies), Now: a.now}, nil
}

func (a *app) customerStore(ctx context.Context) (*dynamo.CustomerStore, error) {
	cfg, t, err := a.session(ctx)
	if err != nil {
		return nil, err
	}
	return &dynamo.CustomerStore{Client: a.clients.DynamoDB(cfg), Table: t.table(dynamo.Customers), Now: a.now}, nil
}

func (a *app) secretStore(ctx context.Context) (*secrets.Store, error) {
	cfg, t, err := a.session(ctx)
	if err != nil {
		return nil, err
	}
	return &secrets.Store{Client: a.clients.Secrets(cfg), Prefix: t.secretPrefix.value}, nil
}

// queries returns the support queries on the stack's tables, tracing each
// read to stderr as an aws CLI command when --explain is given.
func (a *app) queries(ctx context.Context) (*support.Queries, error) {
	cfg, t, err := a.session(ctx)
	if err != nil {
		return nil, err
	}
	q := &support.Queries{
		DB: a.clients.DynamoDB(cfg),
		Tables: support.Tables{
			Policies: t.table(dynamo.Policies), Customers: t.table(dynamo.Customers), Runs: t.table(dynamo.Runs),
			APICalls: t.table(dynamo.APICalls), Incidents: t.table(dynamo.Incidents),
		},
		Now: a.now,
	}
	if a.flags.explain {
		q.Trace = func(r support.Read) { fmt.Fprint(a.stderr, support.ExplainRead(r, cfg.Region)) }
	}
	return q, nil
}

// isTerminal reports whether r is a terminal (a character device).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
