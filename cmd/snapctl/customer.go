package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
)

func (a *app) customerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "customer",
		Short: "Create, show and delete customers (who hears about failed backups)",
		Example: `  snapctl customer put --id acme --name "Acme Ltd" --email ops@acme.example --notify daily_digest
  snapctl customer get acme
  snapctl customer delete acme --yes`,
		Args: subcommandArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(a.customerPutCommand(), a.customerGetCommand(), a.customerDeleteCommand())
	return cmd
}

// customerFlagNames are the put flags that describe the customer (all but -f).
var customerFlagNames = []string{"id", "name", "email", "notify", "slack-webhook"}

func (a *app) customerPutCommand() *cobra.Command {
	var (
		file   string
		c      snapkeep.Customer
		notify string
	)
	cmd := &cobra.Command{
		Use:   "put (-f FILE | --id ID --name NAME --email ADDRESS [--notify MODE] [--slack-webhook URL])",
		Short: "Create or replace a customer",
		Long: `Create a customer, or replace an existing one with the same id (the whole
customer is replaced; the stored creation time is kept). The customer is
validated before anything is written.

--notify says when the customer hears about failed runs: every_failure
(default), first_failure, daily_digest or none.

A file (-f customer.yaml or customer.json) holds the same fields by their
JSON names; unknown fields are rejected:

  customer_id: acme
  name: Acme Ltd
  email: ops@acme.example
  notification_mode: daily_digest
  slack_webhook_url: https://hooks.slack.com/services/...`,
		Example: `  snapctl customer put --id acme --name "Acme Ltd" --email ops@acme.example
  snapctl customer put -f customer.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var changed []string
			for _, name := range customerFlagNames {
				if cmd.Flags().Changed(name) {
					changed = append(changed, "--"+name)
				}
			}
			if file != "" {
				if len(changed) > 0 {
					return usagef("give the customer either in a file (-f) or with flags, not both (got -f and %s)", strings.Join(changed, ", "))
				}
				c = snapkeep.Customer{}
				if err := decodeFile(file, &c); err != nil {
					return err
				}
			} else {
				if len(changed) == 0 {
					return usagef("no customer given: use -f FILE or the flags --id, --name and --email")
				}
				if !cmd.Flags().Changed("id") {
					return usagef("--id is required")
				}
				c.NotificationMode = snapkeep.NotificationMode(notify)
			}
			if c.NotificationMode == "" {
				c.NotificationMode = snapkeep.DefaultNotificationMode
			}
			return a.customerPut(cmd.Context(), &c)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "read the customer from a .yaml, .yml or .json file")
	f.StringVar(&c.CustomerID, "id", "", "customer id (1-64 of A-Z a-z 0-9 _ . -)")
	f.StringVar(&c.Name, "name", "", "name emails address the customer by")
	f.StringVar(&c.Email, "email", "", "address failure emails go to")
	f.StringVar(&notify, "notify", string(snapkeep.DefaultNotificationMode), "when to write: every_failure, daily_digest or none")
	f.StringVar(&c.SlackWebhookURL, "slack-webhook", "", "optional Slack incoming-webhook URL (https)")
	return cmd
}

func (a *app) customerPut(ctx context.Context, c *snapkeep.Customer) error {
	if err := c.Validate(); err != nil {
		return withHint(fmt.Errorf("invalid customer: %w", err), "Nothing was written. See 'snapctl customer put --help'.")
	}
	store, err := a.customerStore(ctx)
	if err != nil {
		return err
	}
	if err := keepPreferencesToken(ctx, store, c); err != nil {
		return err
	}
	if err := store.Put(ctx, c); err != nil {
		return fmt.Errorf("store customer in table %s: %w", store.Table, err)
	}
	if a.flags.output != support.FormatTable {
		v := support.ViewCustomer(c)
		return a.emitFields(v, v.Fields())
	}
	fmt.Fprintf(a.stdout, "Stored customer %s (%s <%s>, notify %s).\n", c.CustomerID, c.Name, c.Email, c.NotificationMode)
	return nil
}

// keepPreferencesToken gives c the stored customer's preferences token (an
// unsubscribe link already sent keeps working), or a new one.
func keepPreferencesToken(ctx context.Context, store *dynamo.CustomerStore, c *snapkeep.Customer) error {
	old, err := store.Get(ctx, c.CustomerID)
	switch {
	case err == nil && old.PreferencesToken != "":
		c.PreferencesToken = old.PreferencesToken
		return nil
	case err != nil && !errors.Is(err, snapkeep.ErrNotFound):
		return fmt.Errorf("read customer %s in table %s: %w", c.CustomerID, store.Table, err)
	}
	token, err := snapkeep.NewPreferencesToken(rand.Reader)
	if err != nil {
		return err
	}
	c.PreferencesToken = token
	return nil
}

func (a *app) customerGetCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "get CUSTOMER_ID",
		Short: "Show a customer (never its Slack webhook URL)",
		Long: `Show a customer. Its Slack webhook URL and preferences token are secrets
(anyone holding the URL can post to the customer's channel): every output
format shows only whether they are set ("slack_webhook": "set").`,
		Example: `  snapctl customer get acme -o json`,
		Args:    exactArgs(1, "the customer id", "snapctl customer get acme"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.getCustomer(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			v := support.ViewCustomer(c)
			return a.emitFields(v, v.Fields())
		},
	}
}

// getCustomer reads a customer, turning "not found" into a helpful error.
func (a *app) getCustomer(ctx context.Context, id string) (*snapkeep.Customer, error) {
	store, err := a.customerStore(ctx)
	if err != nil {
		return nil, err
	}
	c, err := store.Get(ctx, id)
	if errors.Is(err, snapkeep.ErrNotFound) {
		return nil, withHint(fmt.Errorf("no customer %q in table %s: %w", id, store.Table, snapkeep.ErrNotFound),
			"Create it with 'snapctl customer put', or check the stack with --stack or the table with --customers-table.")
	}
	return c, err
}

func (a *app) customerDeleteCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete CUSTOMER_ID [--yes]",
		Short: "Delete a customer that has no policies left (asks first)",
		Long: `Delete a customer. A customer who still has policies is refused (their
failures would be reported to nobody): delete or move the policies first.
snapctl asks for confirmation on the terminal unless --yes is given; without
a terminal (a script, a pipe) --yes is required. Run history is kept.`,
		Example: `  snapctl customer delete acme
  snapctl customer delete acme --yes`,
		Args: exactArgs(1, "the customer id", "snapctl customer delete acme"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := a.getCustomer(ctx, args[0])
			if err != nil {
				return err
			}
			ps, err := a.policyStore(ctx)
			if err != nil {
				return err
			}
			policies, err := ps.List(ctx, c.CustomerID)
			if err != nil {
				return err
			}
			if len(policies) > 0 {
				return usagef("customer %s still has %d policies (%s): delete them first ('snapctl policy delete ID')", c.CustomerID, len(policies), policyIDs(policies))
			}
			if !yes {
				if err := a.confirm(fmt.Sprintf("Delete customer %s (%s <%s>)", c.CustomerID, c.Name, c.Email)); err != nil {
					return err
				}
			}
			cs, err := a.customerStore(ctx)
			if err != nil {
				return err
			}
			if err := cs.Delete(ctx, c.CustomerID); err != nil {
				return err
			}
			return a.done(map[string]any{"customer_id": c.CustomerID, "deleted": true}, fmt.Sprintf("Deleted customer %s.", c.CustomerID))
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func policyIDs(ps []snapkeep.Policy) string {
	ids := make([]string, 0, len(ps))
	for _, p := range ps {
		ids = append(ids, p.PolicyID)
	}
	if len(ids) > 5 {
		ids = append(ids[:5], "...")
	}
	return strings.Join(ids, ", ")
}
