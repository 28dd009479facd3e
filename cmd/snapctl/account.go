package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/snapkeep/snapkeep/shared/secrets"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func (a *app) accountCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "account",
		Short:   "Manage DigitalOcean accounts' API tokens (in Secrets Manager)",
		Example: `  pass show do/acme-main | snapctl account set-token acme-main`,
		Args:    subcommandArgs,
		RunE:    groupRunE,
	}
	cmd.AddCommand(a.accountSetTokenCommand())
	return cmd
}

const tokenOnStdinHelp = `pipe the token on stdin instead, e.g.
  pass show do/acme-main | snapctl account set-token acme-main
  snapctl account set-token acme-main < token.txt`

func (a *app) accountSetTokenCommand() *cobra.Command {
	var tokenFlag string
	cmd := &cobra.Command{
		Use:   "set-token ACCOUNT_ID < token",
		Short: "Store an account's DigitalOcean API token, read from stdin",
		Long: `Store the DigitalOcean API token of an account in Secrets Manager, as the
secret <secret-prefix><ACCOUNT_ID>, creating the secret or adding a new
version. Policies name the account with --account; the snapshot function
reads the token from there.

The token is read from stdin (one line) and never from a flag or an
argument, so it stays out of shell history and process lists; it is never
printed. Use a read-write token scoped to the account's droplets and
volumes.`,
		Example: `  pass show do/acme-main | snapctl account set-token acme-main
  snapctl account set-token acme-main < token.txt
  AWS_PROFILE=prod snapctl --secret-prefix snapkeep/prod/accounts/ account set-token acme-main < token.txt`,
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
			store, err := a.secretStore(cmd.Context())
			if err != nil {
				return err
			}
			name, err := store.SecretName(account)
			if err != nil {
				return err
			}
			if err := store.PutToken(cmd.Context(), account, token); err != nil {
				return err
			}
			if a.output == outputJSON {
				return a.printJSON(map[string]any{"account_id": account, "secret_name": name, "stored": true})
			}
			fmt.Fprintf(a.stdout, "Stored the token of account %s in Secrets Manager secret %s.\n", account, name)
			return nil
		},
	}
	// Defined only to refuse it with a helpful message.
	cmd.Flags().StringVar(&tokenFlag, "token", "", "refused: pipe the token on stdin")
	_ = cmd.Flags().MarkHidden("token")
	return cmd
}

// readToken reads one token from stdin. The token is added to a.redact
// before anything can fail, and no message repeats what was read.
func (a *app) readToken() (string, error) {
	if f, ok := a.stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			// A terminal would show a typed token on screen (and /dev/null has none).
			return "", usagef("stdin is a terminal or device, not a pipe or file; %s", tokenOnStdinHelp)
		}
	}
	if a.stdin == nil {
		return "", usagef("no token on stdin; %s", tokenOnStdinHelp)
	}
	data, err := io.ReadAll(io.LimitReader(a.stdin, maxTokenInputBytes+1))
	a.redact = append(a.redact, string(bytes.TrimSpace(data)))
	if err != nil {
		return "", fmt.Errorf("read the token from stdin: %w", err)
	}
	if len(data) > maxTokenInputBytes {
		return "", usagef("stdin holds more than %d bytes; it must hold just the token", maxTokenInputBytes)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", usagef("no token on stdin; %s", tokenOnStdinHelp)
	}
	if strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", fmt.Errorf("stdin must hold just the token, on one line, but it has white space or control characters inside: %w", snapkeep.ErrInvalid)
	}
	a.redact = append(a.redact, token)
	return token, nil
}
