package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/snapkeep/snapkeep/shared/docloud"
	"github.com/snapkeep/snapkeep/shared/secrets"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
)

// envAPIURL points snapctl (like the snapshot function) at another
// DigitalOcean API, e.g. the fake one.
const envAPIURL = "DIGITALOCEAN_API_URL"

func (a *app) accountCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "account",
		Short: "Manage DigitalOcean accounts' API tokens (in Secrets Manager)",
		Example: `  pass show do/acme-main | snapctl account set-token acme-main
  snapctl account list
  snapctl account check acme-main`,
		Args: subcommandArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(a.accountSetTokenCommand(), a.accountListCommand(), a.accountCheckCommand())
	return cmd
}

const tokenOnStdinHelp = `pipe the token on stdin instead, e.g.
  pass show do/acme-main | snapctl account set-token acme-main
  snapctl account set-token acme-main < token.txt`

const setTokenLong = `Store the DigitalOcean API token of an account in Secrets Manager, as the
secret <secret-prefix><ACCOUNT_ID>, creating the secret or adding a new
version (which is how a token is rotated: runs read the current version).
Policies name the account with --account.

The token is read from stdin and never from a flag or an argument, so it
stays out of shell history and process lists; it is never printed, and no
error repeats it. Exactly one trailing newline is removed (what echo and
editors add); anything else DigitalOcean would never issue is refused with
where the fault is: a second line break, a carriage return (Windows line
ending), spaces, or a token not of the form dop_v1_ + 64 lower-case hex
digits (doo_v1_ for OAuth tokens, or 64 hex digits for legacy ones).

--check makes one cheap call with the token (GET /v2/account) before
storing it, and stores nothing if DigitalOcean refuses it. Use a token with
read and write scopes on the account's droplets and volumes.`

func (a *app) accountSetTokenCommand() *cobra.Command {
	var (
		tokenFlag, apiURL string
		check             bool
	)
	cmd := &cobra.Command{
		Use:   "set-token ACCOUNT_ID < token",
		Short: "Store (or rotate) an account's DigitalOcean API token, read from stdin",
		Long:  setTokenLong,
		Example: `  pass show do/acme-main | snapctl account set-token acme-main
  snapctl account set-token acme-main --check < token.txt
  AWS_PROFILE=prod snapctl --stack snapkeep-prod account set-token acme-main < token.txt`,
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("token") {
				return usagef("the token is never taken from a flag (it would be kept in shell history and visible to other processes); %s", tokenOnStdinHelp)
			}
			return exactArgs(1, "the account id", "snapctl account set-token acme-main < token.txt")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			account := args[0]
			if err := secrets.ValidateAccountID(account); err != nil {
				return err
			}
			token, err := a.readToken()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if check {
				acct, err := a.clients.DigitalOcean(token, apiURL).CheckAccount(ctx)
				if err != nil {
					return fmt.Errorf("DigitalOcean refused the token, so it was not stored: %w", err)
				}
				fmt.Fprintf(a.stderr, "DigitalOcean accepts the token (user %s, status %s).\n", acct.UUID, acct.Status)
			}
			return a.storeToken(ctx, account, token)
		},
	}
	cmd.Flags().StringVar(&tokenFlag, "token", "", "refused: pipe the token on stdin")
	_ = cmd.Flags().MarkHidden("token")
	cmd.Flags().BoolVar(&check, "check", false, "check the token with one call to DigitalOcean before storing it")
	cmd.Flags().StringVar(&apiURL, "api-url", a.envOr(envAPIURL, docloud.DefaultBaseURL), "DigitalOcean API base URL for --check (env "+envAPIURL+")")
	return cmd
}

func (a *app) storeToken(ctx context.Context, account, token string) error {
	store, err := a.secretStore(ctx)
	if err != nil {
		return err
	}
	name, err := store.SecretName(account)
	if err != nil {
		return err
	}
	if err := store.PutToken(ctx, account, token); err != nil {
		return err
	}
	return a.done(map[string]any{"account_id": account, "secret_name": name, "stored": true},
		fmt.Sprintf("Stored the token of account %s in Secrets Manager secret %s.", account, name))
}

// envOr returns the environment variable's value, or def when unset.
func (a *app) envOr(name, def string) string {
	if v := a.getenv(name); v != "" {
		return v
	}
	return def
}

// readToken reads one token from stdin: all of it, less exactly one
// trailing "\n". The token is added to a.redact before anything can fail,
// and no message repeats what was read.
func (a *app) readToken() (string, error) {
	if a.stdin == nil {
		return "", usagef("no token on stdin; %s", tokenOnStdinHelp)
	}
	if isTerminal(a.stdin) {
		// A terminal would show a typed token on screen (and /dev/null has none).
		return "", usagef("stdin is a terminal or device, not a pipe or file; %s", tokenOnStdinHelp)
	}
	data, err := io.ReadAll(io.LimitReader(a.stdin, maxTokenInputBytes+1))
	a.redact = append(a.redact, strings.TrimSpace(string(data)))
	if err != nil {
		return "", fmt.Errorf("read the token from stdin: %w", err)
	}
	if len(data) > maxTokenInputBytes {
		return "", usagef("stdin holds more than %d bytes; it must hold just the token", maxTokenInputBytes)
	}
	token := strings.TrimSuffix(string(data), "\n")
	a.redact = append(a.redact, token)
	if strings.TrimSpace(token) == "" {
		return "", usagef("no token on stdin; %s", tokenOnStdinHelp)
	}
	if err := snapkeep.CheckToken(token); err != nil {
		return "", usagef("stdin: %s; nothing was stored", tokenProblem(token, err))
	}
	return token, nil
}

// tokenProblem says what is wrong with a token CheckToken refused, naming
// the usual causes; it never quotes the token.
func tokenProblem(token string, err error) string {
	msg := strings.TrimSuffix(err.Error(), ": "+snapkeep.ErrInvalid.Error())
	switch {
	case strings.HasSuffix(token, "\r"):
		return "the token ends in a carriage return (a file with Windows line endings?); only one trailing \\n is removed: " + msg
	case strings.HasSuffix(token, "\n"):
		return "the input ends in more than one line break; only one trailing newline is removed: " + msg
	case strings.Contains(token, "\n"):
		return "stdin must hold just the token, on one line: " + msg
	}
	return msg + " (DigitalOcean never issues such a token)"
}

func (a *app) accountListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the accounts that have a token (never the token)",
		Long: `List the accounts whose token is stored under the stack's secret prefix,
with when each secret was created and last given a new token. Only names
and dates are read (ListSecrets); no token is ever read or printed.`,
		Example: `  snapctl account list
  snapctl --stack snapkeep-prod account list -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, t, err := a.session(ctx)
			if err != nil {
				return err
			}
			list, err := support.ListAccounts(ctx, a.clients.Secrets(cfg), t.secretPrefix.value)
			if err != nil {
				return err
			}
			if list.Others > 0 {
				fmt.Fprintf(a.stderr, "note: %d other secrets under %s are not named by an account id\n", list.Others, t.secretPrefix.value)
			}
			if len(list.Accounts) == 0 && a.flags.output == support.FormatTable {
				fmt.Fprintf(a.stdout, "No account tokens under %s (from %s).\n", t.secretPrefix.value, t.secretPrefix.source)
				return nil
			}
			return a.emit(list, support.AccountsTable(list))
		},
	}
}

func (a *app) accountCheckCommand() *cobra.Command {
	var apiURL string
	cmd := &cobra.Command{
		Use:   "check ACCOUNT_ID",
		Short: "Check an account's stored token with one cheap call to DigitalOcean",
		Long: `Read the account's token from Secrets Manager and make one cheap
authenticated call with it (GET /v2/account): the account's status, its
limits and the token's hourly request budget. DigitalOcean's API does not
report a token's scopes. The token is never printed.`,
		Example: `  snapctl account check acme-main
  snapctl account check acme-main --api-url http://127.0.0.1:8080 -o json   # the fake DigitalOcean`,
		Args: exactArgs(1, "the account id", "snapctl account check acme-main"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := secrets.ValidateAccountID(args[0]); err != nil {
				return err
			}
			ctx := cmd.Context()
			store, err := a.secretStore(ctx)
			if err != nil {
				return err
			}
			connect := func(token string) support.AccountChecker {
				a.redact = append(a.redact, token)
				return a.clients.DigitalOcean(token, apiURL)
			}
			res, err := support.CheckAccount(ctx, store, connect, args[0])
			if errors.Is(err, snapkeep.ErrNotFound) {
				return withHint(err, "Store its token with 'snapctl account set-token %s'; 'snapctl account list' shows which accounts have one.", args[0])
			}
			if err != nil {
				return err
			}
			return a.emitFields(res, support.AccountFields(res))
		},
	}
	cmd.Flags().StringVar(&apiURL, "api-url", a.envOr(envAPIURL, docloud.DefaultBaseURL), "DigitalOcean API base URL (env "+envAPIURL+")")
	return cmd
}
