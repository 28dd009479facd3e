package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func (a *app) customerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "customer",
		Short: "Create and show customers (who hears about failed backups)",
		Example: `  snapctl customer put --id acme --name "Acme Ltd" --email ops@acme.example --notify daily_digest
  snapctl customer get acme`,
		Args: subcommandArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(a.customerPutCommand(), a.customerGetCommand())
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
(default), daily_digest or none.

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
	if err := store.Put(ctx, c); err != nil {
		return fmt.Errorf("store customer in table %s: %w", a.customersTable, err)
	}
	if a.output == outputJSON {
		return a.printJSON(c)
	}
	fmt.Fprintf(a.stdout, "Stored customer %s (%s <%s>, notify %s).\n", c.CustomerID, c.Name, c.Email, c.NotificationMode)
	return nil
}

func (a *app) customerGetCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "get CUSTOMER_ID",
		Short:   "Show a customer",
		Example: `  snapctl customer get acme -o json`,
		Args:    exactArgs(1, "the customer id", "snapctl customer get acme"),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := a.customerStore(cmd.Context())
			if err != nil {
				return err
			}
			c, err := store.Get(cmd.Context(), args[0])
			if errors.Is(err, snapkeep.ErrNotFound) {
				return withHint(fmt.Errorf("no customer %q in table %s: %w", args[0], a.customersTable, snapkeep.ErrNotFound),
					"Create it with 'snapctl customer put', or check the table with --customers-table or CUSTOMERS_TABLE.")
			}
			if err != nil {
				return err
			}
			if a.output == outputJSON {
				return a.printJSON(c)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			row := func(k, v string) { fmt.Fprintf(w, "%s\t%s\n", k, v) }
			row("Customer:", c.CustomerID)
			row("Name:", c.Name)
			row("Email:", c.Email)
			row("Notify:", orDash(string(c.NotificationMode), string(snapkeep.DefaultNotificationMode)))
			// The webhook URL is a credential of sorts: -o json shows it.
			row("Slack:", map[bool]string{true: "webhook set", false: "-"}[c.SlackWebhookURL != ""])
			row("Created:", timeText(c.CreatedAt))
			row("Updated:", timeText(c.UpdatedAt))
			return w.Flush()
		},
	}
}
