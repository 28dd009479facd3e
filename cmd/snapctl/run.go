package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
)

func (a *app) runCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Show one run (why it failed, its calls) or start one now",
		Example: `  snapctl run show pol-web1 2026-03-27T02:00:00Z
  snapctl run now pol-web1`,
		Args: subcommandArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(a.runShowCommand(), a.runNowCommand())
	return cmd
}

func (a *app) runShowCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show POLICY_ID SLOT | show RUN_ID",
		Short: "Show a run, why it failed in plain words, and its DigitalOcean calls",
		Long: `Show one run: its state, why it failed (or what it is waiting for) in the
plain words the customer's email uses, DigitalOcean's error and request id,
and every DigitalOcean call it made, in order.

SLOT is the run's scheduled time in RFC 3339, as the SLOT column of
'snapctl runs' shows it (2026-03-27T02:00:00Z; an offset such as
2026-03-27T04:00:00+02:00 is read as the same instant). A run id
(pol-web1#2026-03-27T02:00:00Z) may be given instead of the two.

-o json and -o yaml print the run, its explanation and its calls; -o csv
prints the calls (one table per CSV file).`,
		Example: `  snapctl run show pol-web1 2026-03-27T02:00:00Z
  snapctl run show 'pol-web1#2026-03-27T02:00:00Z' -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usagef("%s takes POLICY_ID SLOT or RUN_ID, got %d arguments; e.g. snapctl run show pol-web1 2026-03-27T02:00:00Z", cmd.CommandPath(), len(args))
			}
			return nil
		},
		ValidArgsFunction: a.completePolicyIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			slot := ""
			if len(args) == 2 {
				slot = args[1]
			}
			key, err := support.ParseRunKey(args[0], slot)
			if err != nil {
				return &usageError{err: err}
			}
			ctx := cmd.Context()
			q, err := a.queries(ctx)
			if err != nil {
				return err
			}
			d, err := q.Run(ctx, key)
			if errors.Is(err, snapkeep.ErrNotFound) {
				return withHint(err, "List the policy's runs with 'snapctl runs --policy %s' and copy the SLOT column.", key.PolicyID)
			}
			if err != nil {
				return err
			}
			a.warnSkipped(d.Skipped)
			if a.structured() {
				return a.printValue(d)
			}
			z, err := q.Zone(ctx, support.Subject{PolicyID: key.PolicyID})
			if err != nil {
				z = support.Zone{Location: time.UTC}
			}
			calls := support.CallsTable(d.Calls)
			if a.flags.output == support.FormatCSV {
				return calls.WriteCSV(a.stdout) // one table per CSV: the calls
			}
			if err := support.RunFields(d, z.Location).WriteText(a.stdout, 0); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "\nDigitalOcean calls (%d):\n", len(d.Calls))
			return calls.WriteText(a.stdout, maxCell)
		},
	}
	return cmd
}

func (a *app) runNowCommand() *cobra.Command {
	var function string
	cmd := &cobra.Command{
		Use:   "now POLICY_ID",
		Short: "Start an on-demand run of a policy (invokes the snapshot function)",
		Long: `Start an on-demand run of a policy now: snapctl invokes the snapshot
function with {"policy_id": "<id>"} and waits for its answer (not for the
snapshot to finish: the function's one-minute sweep follows it). The run's
slot is the current second; it counts as any other run (retention,
notices).

The function is --function, else the stack's SnapshotFunctionArn output,
else $SNAPSHOT_FUNCTION_ARN, else the local stack's. A paused or invalid
policy is refused (a run of it would only be skipped or failed).`,
		Example: `  snapctl run now pol-web1
  snapctl --stack snapkeep-prod run now pol-web1 -o json
  snapctl run now pol-web1 --function arn:aws:lambda:eu-west-1:123456789012:function:snapkeep-prod-SnapshotFunction-AbC`,
		Args:              exactArgs(1, "the policy id", "snapctl run now pol-web1"),
		ValidArgsFunction: a.completePolicyIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			p, err := a.getPolicy(ctx, args[0])
			if err != nil {
				return err
			}
			switch {
			case p.InvalidReason != "":
				return usagef("policy %s is invalid (%s): fix it with 'snapctl policy put' first; a run now would fail", p.PolicyID, p.InvalidReason)
			case !p.Enabled:
				return usagef("policy %s is paused: resume it first ('snapctl policy resume %s'); a run now would only be recorded as skipped", p.PolicyID, p.PolicyID)
			}
			cfg, t, err := a.session(ctx)
			if err != nil {
				return err
			}
			fn := a.snapshotFunction(t, function, cmd.Flags().Changed("function"))
			res, err := support.RunNow(ctx, a.clients.Lambda(cfg), fn.value, p.PolicyID)
			if err != nil {
				return withHint(err, "The function is %s (from %s); pass --function to choose another.", fn.value, fn.source)
			}
			return a.done(map[string]any{"function": res.Function, "run_id": res.RunID, "status": res.Status, "action": res.Action},
				runNowText(res))
		},
	}
	cmd.Flags().StringVar(&function, "function", "", "the snapshot function's name or ARN (default: the stack's SnapshotFunctionArn)")
	return cmd
}

func runNowText(r *support.RunNowResult) string {
	if r.RunID == "" {
		return fmt.Sprintf("The snapshot function answered %q without starting a run.", r.Action)
	}
	key, err := snapkeep.ParseRunID(r.RunID)
	if err != nil {
		return fmt.Sprintf("Run %s: %s (%s).", r.RunID, r.Status, r.Action)
	}
	return fmt.Sprintf("Run %s: %s (%s). Follow it with: snapctl run show %s %s", r.RunID, r.Status, r.Action, key.PolicyID, key.Slot())
}
