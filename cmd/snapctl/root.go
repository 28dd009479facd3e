package main

import (
	"fmt"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/secrets"
	"github.com/snapkeep/snapkeep/shared/support"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
// Without it, --version tells the module version and VCS revision Go
// recorded in the binary.
var version = ""

// versionText says which snapctl this is.
func versionText() string {
	v := version
	info, ok := debug.ReadBuildInfo()
	if v == "" && ok {
		v = info.Main.Version
	}
	if v == "" {
		v = "(devel)"
	}
	if !ok {
		return v
	}
	var rev, when, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = " (modified)"
			}
		}
	}
	text := v
	if rev != "" {
		text += fmt.Sprintf(", commit %.12s%s", rev, dirty)
	}
	if when != "" {
		text += ", " + when
	}
	return text + ", " + info.GoVersion
}

const rootLong = `snapctl is snapkeep's support and ops tool. It reads and writes the stack's
DynamoDB tables, Secrets Manager and EventBridge Scheduler directly;
functions/schedules picks up policy changes from the Policies table's
stream and keeps the schedules in step.

Which stack: --stack NAME (or SNAPKEEP_STACK) reads the CloudFormation
stack's outputs for its table names, stage, token secret prefix, schedule
group and snapshot function, so a deployed stack needs one flag. --stage S
alone means the stack snapkeep-S. Without either, snapctl works on the
local stack (go run ./cmd/snaplocal up). A flag naming one table, prefix or
group (--runs-table, --secret-prefix, ...) always wins; the environment
variables (RUNS_TABLE, TOKEN_SECRET_PREFIX, ...) come after the stack's
outputs, with a note when the stack overrides one. The stack's Stage and
--stage must agree, and a stage's stack must be named snapkeep-<stage>.

AWS is reached through the standard environment: AWS_REGION, AWS_PROFILE,
AWS_ENDPOINT_URL (the local stack), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.

Support's questions, one command each (--explain prints the equivalent
'aws dynamodb query' on stderr, with how many items DynamoDB read):
  Did last night's backup of droplet 3164444 run?   snapctl runs --droplet 3164444 --last-night
  Why did it fail?                                  snapctl run show pol-web1 2026-03-27T02:00:00Z
  Which DigitalOcean calls did it make?             snapctl calls --run 'pol-web1#2026-03-27T02:00:00Z'
  DigitalOcean asks about request id X              snapctl calls --request-id X
  Who got Server Error in the last day?             snapctl failures --class provider_error --since 24h
  Is DigitalOcean having a bad day?                 snapctl incidents list

Output: a table by default; -o json, -o csv or -o yaml for scripts (CSV
and JSON are never cut; tables cut long cells).

Exit codes: 0 ok, 1 failure (AWS, DigitalOcean or network), 2 bad input
(unknown command or flag, invalid value, unknown id).`

const rootExample = `  # The local stack (go run ./cmd/snaplocal up prints these):
  export AWS_ENDPOINT_URL=http://127.0.0.1:5000 AWS_REGION=us-east-1
  snapctl policy list

  # A deployed stack, by name or by stage:
  AWS_PROFILE=prod snapctl --stack snapkeep-prod runs --customer acme --last-night
  AWS_PROFILE=prod snapctl --stage prod failures --since 24h -o csv > failures.csv

  # Shell completion (policy ids complete from the stack):
  source <(snapctl completion bash)`

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "snapctl",
		Short:         "Answer support's questions and run snapkeep's everyday ops",
		Long:          rootLong,
		Example:       rootExample,
		Version:       versionText(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          subcommandArgs,
		RunE:          groupRunE,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(support.Formats(), a.flags.output) {
				return usagef("-o/--output: unknown format %q: use %s", a.flags.output, strings.Join(support.Formats(), ", "))
			}
			return nil
		},
	}
	root.SetVersionTemplate("snapctl {{.Version}}\n")
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return flagError(&usageError{err: err}) })
	a.globalFlags(root)
	root.AddCommand(a.policyCommand(), a.customerCommand(), a.accountCommand(),
		a.runsCommand(), a.runCommand(), a.callsCommand(), a.failuresCommand(), a.incidentsCommand(),
		a.completionCommand())
	root.AddCommand(a.reportCommand())
	root.AddCommand(a.broadcastCommand())
	return root
}

func (a *app) globalFlags(root *cobra.Command) {
	pf := root.PersistentFlags()
	g := &a.flags
	g.set = pf
	pf.StringVarP(&g.output, "output", "o", support.FormatTable, "output format: "+strings.Join(support.Formats(), ", "))
	pf.StringVar(&g.region, "region", "", "AWS region (default: AWS_REGION or the profile's)")
	pf.StringVar(&g.profile, "profile", "", "AWS shared config profile (default: AWS_PROFILE)")
	pf.StringVar(&g.stack, "stack", "", "CloudFormation stack to read names from (env "+envStack+"; default: the local stack)")
	pf.StringVar(&g.stage, "stage", "", "stage; alone it means the stack snapkeep-<stage>, beside --stack it must match the stack's")
	pf.BoolVar(&g.explain, "explain", false, "print each DynamoDB read as an 'aws dynamodb' command on stderr, with the items it read")
	g.tables = map[string]*string{}
	for _, tf := range tableFlags {
		v := new(string)
		g.tables[tf.spec.LogicalID] = v
		pf.StringVar(v, tf.flag, "", fmt.Sprintf("%s table name (default: the stack's, $%s, or the local stack's)", tf.spec.LogicalID, tf.spec.EnvVar))
	}
	pf.StringVar(&g.secretPrefix, "secret-prefix", "", "prefix of the account-token secret names (default: the stack's, $"+secrets.EnvPrefix+", or snapkeep/local/accounts/)")
	pf.StringVar(&g.scheduleGroup, "schedule-group", "", "EventBridge Scheduler group of the policies' schedules (default: the stack's, $"+envScheduleGroup+", or snapkeep-local)")
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
			plural := "s"
			if n == 1 {
				plural = ""
			}
			return usagef("%s takes exactly %d argument%s (%s), got %d; e.g. %s", cmd.CommandPath(), n, plural, what, len(args), example)
		}
		return nil
	}
}

func (a *app) completionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script (policy ids complete from the stack)",
		Long: `Print the completion script for bash, zsh or fish. Commands, flags, error
classes, statuses, output formats and time zones complete from snapctl
itself; policy ids complete from the stack's Policies table (with --customer
given, through its index; otherwise from the first few pages of policy ids).`,
		Example: `  source <(snapctl completion bash)                       # bash, this shell
  snapctl completion bash > /etc/bash_completion.d/snapctl   # bash, for good
  snapctl completion zsh > "${fpath[1]}/_snapctl"          # zsh
  snapctl completion fish > ~/.config/fish/completions/snapctl.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args:      exactArgs(1, "bash, zsh or fish", "snapctl completion bash"),
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(a.stdout, true)
			case "zsh":
				return root.GenZshCompletion(a.stdout)
			case "fish":
				return root.GenFishCompletion(a.stdout, true)
			}
			return usagef("unknown shell %q: use bash, zsh or fish", args[0])
		},
	}
}

// completePolicyIDs completes a POLICY_ID argument from the stack.
func (a *app) completePolicyIDs(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	cfg, t, err := a.session(cmd.Context())
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	customer, _ := cmd.Flags().GetString("customer")
	ids := support.CompletePolicyIDs(cmd.Context(), a.clients.DynamoDB(cfg), t.table(dynamo.Policies), customer, prefix)
	return ids, cobra.ShellCompDirectiveNoFileComp
}
