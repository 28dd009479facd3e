package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dynamotypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/spf13/cobra"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/schedule"
	"github.com/snapkeep/snapkeep/shared/secrets"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Exit codes.
const (
	exitOK      = 0 // the command did what was asked
	exitFailure = 1 // AWS or another dependency failed
	exitUsage   = 2 // bad input: unknown command or flag, invalid policy, unknown id
)

// Defaults for the local stack (see shared/awslocal).
const (
	localTablePrefix   = "snapkeep-local-"
	localSecretPrefix  = "snapkeep/local/accounts/"
	outputTable        = "table"
	outputJSON         = "json"
	maxNextRuns        = 1000
	defaultNextRuns    = 5
	maxTokenInputBytes = 8 << 10
)

// run is the whole program: main only wires the process's arguments,
// streams and environment into it, and tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return newApp(stdin, stdout, stderr, getenv).run(ctx, args)
}

// app holds what the commands use: the process's streams and environment,
// the clock, how to load the AWS configuration, and the global flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
	// loadAWS loads the AWS configuration (the standard environment and
	// shared config files, with --region and --profile when given).
	loadAWS func(ctx context.Context, region, profile string) (aws.Config, error)

	// Global flags.
	output         string
	region         string
	profile        string
	policiesTable  string
	customersTable string
	runsTable      string
	apiCallsTable  string
	secretPrefix   string

	cfg *aws.Config
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
		now:     time.Now,
		loadAWS: loadAWSConfig,
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
	fmt.Fprintf(a.stderr, "snapctl: %s\n", a.scrub(err.Error()))
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
	)
	switch {
	case errors.As(err, &rnf):
		return "A table does not exist: pass the stack's table names with --policies-table/--customers-table or POLICIES_TABLE/CUSTOMERS_TABLE (the defaults are the local stack's), and check AWS_REGION/AWS_PROFILE."
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
	cfg, err := a.loadAWS(ctx, a.region, a.profile)
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

func (a *app) policyStore(ctx context.Context) (*dynamo.PolicyStore, error) {
	cfg, err := a.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	return &dynamo.PolicyStore{Client: dynamodb.NewFromConfig(cfg), Table: a.policiesTable, Now: a.now}, nil
}

func (a *app) customerStore(ctx context.Context) (*dynamo.CustomerStore, error) {
	cfg, err := a.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	return &dynamo.CustomerStore{Client: dynamodb.NewFromConfig(cfg), Table: a.customersTable, Now: a.now}, nil
}

func (a *app) secretStore(ctx context.Context) (*secrets.Store, error) {
	cfg, err := a.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	return &secrets.Store{Client: secretsmanager.NewFromConfig(cfg), Prefix: a.secretPrefix}, nil
}

// envDefault returns the environment variable's value, or def when unset.
func (a *app) envDefault(name, def string) string {
	if v := a.getenv(name); v != "" {
		return v
	}
	return def
}

const rootExample = `  # Against the local stack (moto):
  export AWS_ENDPOINT_URL=http://127.0.0.1:5000 AWS_REGION=us-east-1
  snapctl policy list

  # Against a deployed stack, with its table names:
  AWS_PROFILE=prod snapctl --policies-table snapkeep-prod-PoliciesTable-ABC123 policy get pol-123 -o json`

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "snapctl",
		Short: "Manage snapkeep's backup policies, customers and account tokens",
		Long: `snapctl is snapkeep's ops and support tool. It reads and writes the stack's
DynamoDB tables and Secrets Manager directly; functions/schedules picks up
policy changes from the Policies table's stream and keeps EventBridge
Scheduler in step.

AWS is reached through the standard environment: AWS_ENDPOINT_URL (the local
stack), AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
Table names come from flags, else POLICIES_TABLE, CUSTOMERS_TABLE, RUNS_TABLE
and API_CALLS_TABLE, else the local stack's names.

Exit codes: 0 ok, 1 failure (AWS or network), 2 bad input (unknown command
or flag, invalid policy, unknown id).`,
		Example:       rootExample,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          subcommandArgs,
		RunE:          groupRunE,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if a.output != outputTable && a.output != outputJSON {
				return usagef("unknown output format %q: use -o table or -o json", a.output)
			}
			return nil
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err: err} })

	pf := root.PersistentFlags()
	pf.StringVarP(&a.output, "output", "o", outputTable, "output format: table or json")
	pf.StringVar(&a.region, "region", "", "AWS region (default: AWS_REGION or the profile's)")
	pf.StringVar(&a.profile, "profile", "", "AWS shared config profile (default: AWS_PROFILE)")
	pf.StringVar(&a.policiesTable, "policies-table", a.envDefault(dynamo.Policies.EnvVar, localTablePrefix+dynamo.Policies.LogicalID), "Policies table name (env "+dynamo.Policies.EnvVar+")")
	pf.StringVar(&a.customersTable, "customers-table", a.envDefault(dynamo.Customers.EnvVar, localTablePrefix+dynamo.Customers.LogicalID), "Customers table name (env "+dynamo.Customers.EnvVar+")")
	pf.StringVar(&a.runsTable, "runs-table", a.envDefault(dynamo.Runs.EnvVar, localTablePrefix+dynamo.Runs.LogicalID), "Runs table name (env "+dynamo.Runs.EnvVar+")")
	pf.StringVar(&a.apiCallsTable, "api-calls-table", a.envDefault(dynamo.APICalls.EnvVar, localTablePrefix+dynamo.APICalls.LogicalID), "ApiCalls table name (env "+dynamo.APICalls.EnvVar+")")
	pf.StringVar(&a.secretPrefix, "secret-prefix", a.envDefault(secrets.EnvPrefix, localSecretPrefix), "prefix of the account-token secret names (env "+secrets.EnvPrefix+")")

	root.AddCommand(a.policyCommand(), a.customerCommand(), a.accountCommand())
	return root
}

// subcommandArgs rejects arguments to a command group: they can only be an
// unknown subcommand.
func subcommandArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usagef("%s", msg)
}

// groupRunE runs a command group without a subcommand: it shows the help
// and fails as a usage error.
func groupRunE(cmd *cobra.Command, _ []string) error {
	cmd.SetOut(cmd.ErrOrStderr())
	_ = cmd.Help()
	return usagef("%s needs a command", cmd.CommandPath())
}

// exactArgs requires exactly n positional arguments named what. The
// message never repeats the arguments (one may be a secret given by
// mistake).
func exactArgs(n int, what, example string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes exactly %d argument (%s), got %d; e.g. %s", cmd.CommandPath(), n, what, len(args), example)
		}
		return nil
	}
}

// printJSON writes v as indented JSON.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
