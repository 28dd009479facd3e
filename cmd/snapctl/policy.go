package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/schedule"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
)

func (a *app) policyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Create, show, list, pause, resume and delete backup policies",
		Long: `A policy backs up one droplet or volume on one schedule. The Policies table
is the source of truth: functions/schedules creates, updates, disables or
deletes the policy's EventBridge Scheduler schedule from the table's stream
within seconds of a change made here.`,
		Example: `  snapctl policy put --id pol-web1 --customer acme --account acme-main --droplet 3164444 --region nyc3 --schedule 'cron(0 3 * * ? *)' --tz Europe/Berlin --keep-last 7
  snapctl policy list --customer acme
  snapctl policy next pol-web1 -n 10`,
		Args: subcommandArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(a.policyPutCommand(), a.policyGetCommand(), a.policyListCommand(),
		a.policyDeleteCommand(), a.policyPauseCommand(true), a.policyPauseCommand(false),
		a.policyNextCommand())
	return cmd
}

// policyFlagNames are the put flags that describe the policy (all but -f).
var policyFlagNames = []string{"id", "customer", "account", "droplet", "volume", "region", "schedule", "tz", "keep-last", "max-age-days", "flexible-window", "disabled"}

const policyPutLong = `Create a policy, or replace an existing one with the same id. The whole
policy is replaced (a flag left out is not kept from the stored policy); the
stored creation time is kept. The policy is validated before anything is
written.

The schedule is an EventBridge Scheduler expression:
  rate(value unit)     unit: minute(s), hour(s), day(s); e.g. rate(12 hours)
  cron(min hour day-of-month month day-of-week year)
                       e.g. cron(0 3 * * ? *) daily at 03:00, cron(30 2 ? * 1 *)
                       Sundays 02:30 (day-of-week 1-7 = SUN-SAT), cron(0 4 L * ? *)
                       last day of the month; one of day-of-month and day-of-week
                       must be ?.
A policy may fire at most once an hour. Cron is read in --tz (default UTC).

Retention: --keep-last N keeps the newest N snapshots (1-500, volumes 1-24),
--max-age-days D keeps snapshots younger than D days; at least one is needed.

A file (-f policy.yaml or policy.json; the format is taken from the
extension) holds the same fields by their JSON names; unknown fields are
rejected and "enabled" defaults to true:

  policy_id: pol-web1
  customer_id: acme
  account_id: acme-main
  resource_kind: droplet      # or volume
  resource_id: "3164444"      # droplet id or volume UUID
  region: nyc3
  schedule: cron(0 3 * * ? *)
  time_zone: Europe/Berlin
  keep_last: 7
  max_age_days: 30
  flexible_window_minutes: 15
  enabled: true

The output of 'snapctl policy get ID -o json' is a valid file.`

const policyPutExample = `  # A droplet, daily at 03:00 Berlin time, keeping a week:
  snapctl policy put --id pol-web1 --customer acme --account acme-main \
    --droplet 3164444 --region nyc3 --schedule 'cron(0 3 * * ? *)' --tz Europe/Berlin --keep-last 7

  # A volume every 12 hours, keeping 30 days, created paused:
  snapctl policy put --id pol-db1 --customer acme --account acme-main \
    --volume 506f78a4-e098-11e5-ad9f-000f53306ae1 --region fra1 --schedule 'rate(12 hours)' --max-age-days 30 --disabled

  # From a file:
  snapctl policy put -f policy.yaml`

func (a *app) policyPutCommand() *cobra.Command {
	var (
		file                             string
		p                                snapkeep.Policy
		droplet                          int64
		volume                           string
		disabled                         bool
		keepLast, maxAge, flexibleWindow int
	)
	cmd := &cobra.Command{
		Use:     "put (-f FILE | --id ID --customer ID --account ID (--droplet ID | --volume UUID) --region SLUG --schedule EXPR [flags])",
		Short:   "Create or replace a policy",
		Long:    policyPutLong,
		Example: policyPutExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var changed []string
			for _, name := range policyFlagNames {
				if cmd.Flags().Changed(name) {
					changed = append(changed, "--"+name)
				}
			}
			if file != "" {
				if len(changed) > 0 {
					return usagef("give the policy either in a file (-f) or with flags, not both (got -f and %s)", strings.Join(changed, ", "))
				}
				p = snapkeep.Policy{Enabled: true}
				if err := decodeFile(file, &p); err != nil {
					return err
				}
				p.InvalidReason = "" // functions/schedules judges the new version afresh
			} else {
				if len(changed) == 0 {
					return usagef("no policy given: use -f FILE or the flags --id, --customer, --account, --droplet or --volume, --region, --schedule, --keep-last or --max-age-days")
				}
				if !cmd.Flags().Changed("id") {
					return usagef("--id is required")
				}
				switch d, v := cmd.Flags().Changed("droplet"), cmd.Flags().Changed("volume"); {
				case d && v:
					return usagef("give either --droplet or --volume, not both: a policy backs up one resource")
				case d:
					p.Kind, p.ID = snapkeep.ResourceDroplet, strconv.FormatInt(droplet, 10)
				case v:
					p.Kind, p.ID = snapkeep.ResourceVolume, volume
				default:
					return usagef("the resource is missing: give --droplet ID or --volume UUID")
				}
				p.KeepLast, p.MaxAgeDays, p.FlexibleWindowMinutes = keepLast, maxAge, flexibleWindow
				p.Enabled = !disabled
			}
			return a.policyPut(cmd.Context(), &p)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "read the policy from a .yaml, .yml or .json file")
	f.StringVar(&p.PolicyID, "id", "", "policy id (1-64 of A-Z a-z 0-9 _ . -; names the schedule)")
	f.StringVar(&p.CustomerID, "customer", "", "id of the customer who owns the policy")
	f.StringVar(&p.AccountID, "account", "", "DigitalOcean account id whose token takes the snapshots (see 'snapctl account set-token')")
	f.Int64Var(&droplet, "droplet", 0, "droplet id to back up")
	f.StringVar(&volume, "volume", "", "volume UUID to back up")
	f.StringVar(&p.Region, "region", "", "DigitalOcean region slug of the resource, e.g. nyc3")
	f.StringVar(&p.Schedule, "schedule", "", "EventBridge Scheduler expression, e.g. 'cron(0 3 * * ? *)' or 'rate(1 day)'")
	f.StringVar(&p.TimeZone, "tz", "", "IANA time zone the cron expression is read in (default UTC)")
	f.IntVar(&keepLast, "keep-last", 0, "keep the newest N snapshots (1-500; volumes 1-24)")
	f.IntVar(&maxAge, "max-age-days", 0, "keep snapshots younger than N days")
	f.IntVar(&flexibleWindow, "flexible-window", 0, "minutes Scheduler may delay the start by (0-1440, 0 = off)")
	f.BoolVar(&disabled, "disabled", false, "store the policy paused")
	return cmd
}

func (a *app) policyPut(ctx context.Context, p *snapkeep.Policy) error {
	if err := p.Validate(); err != nil {
		return withHint(fmt.Errorf("invalid policy: %w", err), "Nothing was written. See 'snapctl policy put --help' for the fields and the schedule syntax.")
	}
	store, err := a.policyStore(ctx)
	if err != nil {
		return err
	}
	if err := store.Put(ctx, p); err != nil {
		return fmt.Errorf("store policy in table %s: %w", store.Table, err)
	}
	// A policy of an unknown customer is stored, but nobody would hear of its failures.
	if cs, err := a.customerStore(ctx); err == nil {
		if _, err := cs.Get(ctx, p.CustomerID); errors.Is(err, snapkeep.ErrNotFound) {
			fmt.Fprintf(a.stderr, "warning: customer %q does not exist in table %s; create it with 'snapctl customer put --id %s ...' so failures are reported\n", p.CustomerID, cs.Table, p.CustomerID)
		}
	}
	if a.structured() {
		return a.printValue(p)
	}
	state := "enabled"
	if !p.Enabled {
		state = "paused"
	}
	return a.done(map[string]any{"policy_id": p.PolicyID, "stored": true, "enabled": p.Enabled},
		fmt.Sprintf("Stored policy %s (%s, %s, %s); functions/schedules will create or update its schedule.", p.PolicyID, p.Resource, scheduleText(p), state))
}

// policyOut is `policy get -o json|yaml`: the policy, a valid file for
// `policy put -f`, with its read-only status beside it (put ignores it).
type policyOut struct {
	*snapkeep.Policy
	Status policyStatusOut `json:"status"`
}

type policyStatusOut struct {
	Schedule *support.ScheduleState `json:"schedule,omitempty"`
	LastRun  *snapkeep.Run          `json:"last_run,omitempty"`
}

func (a *app) policyGetCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "get POLICY_ID",
		Short: "Show a policy, its schedule's state, why it is invalid and its last run",
		Long: `Show a policy with what support needs beside it: the state of its
EventBridge Scheduler schedule in the stack's group (ENABLED or DISABLED,
and whether it is in step with the policy), why the policy is invalid if it
is, and its newest run.

-o json and -o yaml print the policy as a valid 'policy put -f' file, with
a read-only "status" (schedule, last_run) that put ignores.`,
		Example: `  snapctl policy get pol-web1
  snapctl policy get pol-web1 -o yaml > policy.yaml   # edit, then: snapctl policy put -f policy.yaml`,
		Args:              exactArgs(1, "the policy id", "snapctl policy get pol-web1"),
		ValidArgsFunction: a.completePolicyIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			p, err := a.getPolicy(ctx, args[0])
			if err != nil {
				return err
			}
			q, err := a.queries(ctx)
			if err != nil {
				return err
			}
			cfg, t, err := a.session(ctx)
			if err != nil {
				return err
			}
			st, err := q.PolicyStatus(ctx, p, a.clients.Scheduler(cfg), t.scheduleGroup.value)
			if err != nil {
				return err
			}
			return a.emitFields(policyOut{Policy: p, Status: policyStatusOut{Schedule: st.Schedule, LastRun: st.LastRun}}, support.PolicyFields(st))
		},
	}
}

// getPolicy reads a policy, turning "not found" into a helpful error.
func (a *app) getPolicy(ctx context.Context, id string) (*snapkeep.Policy, error) {
	store, err := a.policyStore(ctx)
	if err != nil {
		return nil, err
	}
	p, err := store.Get(ctx, id)
	if err != nil {
		return nil, a.policyErr(err, id)
	}
	return p, nil
}

// policyErr adds the table and what to do to a store error about policy id.
func (a *app) policyErr(err error, id string) error {
	if errors.Is(err, snapkeep.ErrNotFound) {
		table := "Policies"
		if a.tgt != nil {
			table = a.tgt.table(dynamo.Policies)
		}
		return withHint(fmt.Errorf("no policy %q in table %s: %w", id, table, snapkeep.ErrNotFound),
			"Check the id with 'snapctl policy list' (and the stack with --stack, or the table with --policies-table).")
	}
	return err
}

func (a *app) policyListCommand() *cobra.Command {
	var customer string
	cmd := &cobra.Command{
		Use:   "list [--customer ID]",
		Short: "List policies, all or one customer's",
		Example: `  snapctl policy list
  snapctl policy list --customer acme -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := a.policyStore(cmd.Context())
			if err != nil {
				return err
			}
			policies, err := store.List(cmd.Context(), customer)
			if err != nil {
				return err
			}
			slices.SortFunc(policies, func(x, y snapkeep.Policy) int { return strings.Compare(x.PolicyID, y.PolicyID) })
			if len(policies) == 0 && a.flags.output == support.FormatTable {
				if customer != "" {
					fmt.Fprintf(a.stdout, "No policies of customer %q in table %s.\n", customer, store.Table)
				} else {
					fmt.Fprintf(a.stdout, "No policies in table %s.\n", store.Table)
				}
				return nil
			}
			t := &support.Table{Columns: []string{"POLICY", "CUSTOMER", "ACCOUNT", "RESOURCE", "REGION", "SCHEDULE", "TIME ZONE", "RETENTION", "STATE"}}
			for _, p := range policies {
				t.Add(p.PolicyID, p.CustomerID, p.AccountID, p.Resource.Key(), p.Region, p.Schedule,
					orDash(p.TimeZone, "UTC"), retentionText(p.Retention), stateText(&p))
			}
			return a.emit(orEmpty(policies), t)
		},
	}
	cmd.Flags().StringVar(&customer, "customer", "", "only this customer's policies")
	return cmd
}

func (a *app) policyDeleteCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete POLICY_ID [--yes]",
		Short: "Delete a policy (and, through functions/schedules, its schedule); asks first",
		Long: `Delete a policy. Its schedule is deleted by functions/schedules; the
snapshots it took and its run history are kept. snapctl asks for
confirmation on the terminal unless --yes is given; without a terminal (a
script, a pipe) --yes is required. A stored item that is not a readable
policy can be deleted too.`,
		Example: `  snapctl policy delete pol-web1
  snapctl policy delete pol-web1 --yes`,
		Args:              exactArgs(1, "the policy id", "snapctl policy delete pol-web1"),
		ValidArgsFunction: a.completePolicyIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			store, err := a.policyStore(ctx)
			if err != nil {
				return err
			}
			what := "policy " + args[0]
			p, err := store.Get(ctx, args[0])
			switch {
			case errors.Is(err, snapkeep.ErrNotFound):
				return a.policyErr(err, args[0])
			case errors.Is(err, snapkeep.ErrInvalid):
				what += " (an unreadable item)"
			case err != nil:
				return err
			default:
				what += fmt.Sprintf(" (%s of customer %s, %s)", p.Resource, p.CustomerID, scheduleText(p))
			}
			if !yes {
				if err := a.confirm("Delete " + what); err != nil {
					return err
				}
			}
			if err := store.Delete(ctx, args[0]); err != nil {
				return a.policyErr(err, args[0])
			}
			return a.done(map[string]any{"policy_id": args[0], "deleted": true},
				fmt.Sprintf("Deleted policy %s; functions/schedules will delete its schedule. Its snapshots are kept.", args[0]))
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// policyPauseCommand is "policy pause" (pause true) or "policy resume".
func (a *app) policyPauseCommand(pause bool) *cobra.Command {
	verb, done, what := "resume", "Resumed", "enabled"
	short := "Resume a paused policy (its schedule is enabled again)"
	if pause {
		verb, done, what = "pause", "Paused", "disabled"
		short = "Pause a policy (its schedule is disabled; nothing is deleted)"
	}
	return &cobra.Command{
		Use:               verb + " POLICY_ID",
		Short:             short,
		Example:           fmt.Sprintf("  snapctl policy %s pol-web1", verb),
		Args:              exactArgs(1, "the policy id", fmt.Sprintf("snapctl policy %s pol-web1", verb)),
		ValidArgsFunction: a.completePolicyIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := a.policyStore(cmd.Context())
			if err != nil {
				return err
			}
			if err := store.SetEnabled(cmd.Context(), args[0], !pause); err != nil {
				return a.policyErr(err, args[0])
			}
			return a.done(map[string]any{"policy_id": args[0], "enabled": !pause},
				fmt.Sprintf("%s policy %s; functions/schedules will set its schedule %s.", done, args[0], what))
		},
	}
}

// nextRun is one fire time in the output of "policy next".
type nextRun struct {
	Local time.Time `json:"local"`
	UTC   time.Time `json:"utc"`
}

func (a *app) policyNextCommand() *cobra.Command {
	var n int
	cmd := &cobra.Command{
		Use:   "next POLICY_ID [-n N]",
		Short: "Show a policy's next run times",
		Long: `Show the next N times the policy's schedule fires, in the policy's time zone
and in UTC, computed as EventBridge Scheduler does (a local time skipped by
a daylight-saving change does not fire; a repeated one fires once). A
rate() schedule counts from when its schedule was last written, taken to be
the policy's updated time. The policy's flexible window may delay each run.`,
		Example: `  snapctl policy next pol-web1
  snapctl policy next pol-web1 -n 20 -o json`,
		Args:              exactArgs(1, "the policy id", "snapctl policy next pol-web1"),
		ValidArgsFunction: a.completePolicyIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if n < 1 || n > maxNextRuns {
				return usagef("-n %d: must be 1-%d", n, maxNextRuns)
			}
			p, err := a.getPolicy(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			expr, err := schedule.Parse(p.Schedule)
			if err != nil {
				return withHint(fmt.Errorf("policy %s: schedule: %w", p.PolicyID, err), "Fix it with 'snapctl policy put'.")
			}
			loc := time.UTC
			if p.TimeZone != "" {
				if loc, err = time.LoadLocation(p.TimeZone); err != nil {
					return withHint(fmt.Errorf("policy %s: time_zone %q: %w", p.PolicyID, p.TimeZone, snapkeep.ErrInvalid), "Fix it with 'snapctl policy put'.")
				}
			}
			var start time.Time
			if expr.Kind() == schedule.KindRate {
				start = p.UpdatedAt
			}
			runs := []nextRun{}
			for _, t := range expr.NextN(a.now(), loc, start, n) {
				runs = append(runs, nextRun{Local: t.In(loc), UTC: t.UTC()})
			}
			if a.structured() {
				return a.printValue(map[string]any{
					"policy_id": p.PolicyID, "schedule": p.Schedule, "time_zone": loc.String(),
					"enabled": p.Enabled, "next": runs,
				})
			}
			if a.flags.output == support.FormatTable {
				if !p.Enabled {
					fmt.Fprintf(a.stdout, "Policy %s is paused; it would run at these times once resumed.\n", p.PolicyID)
				}
				if len(runs) == 0 {
					fmt.Fprintf(a.stdout, "%s never fires again.\n", p.Schedule)
					return nil
				}
			}
			t := &support.Table{Columns: []string{"#", fmt.Sprintf("LOCAL (%s)", loc), "UTC"}}
			for i, r := range runs {
				t.Add(strconv.Itoa(i+1), r.Local.Format("Mon 2006-01-02 15:04 MST"), r.UTC.Format("2006-01-02 15:04Z"))
			}
			return a.emit(nil, t)
		},
	}
	cmd.Flags().IntVarP(&n, "count", "n", defaultNextRuns, fmt.Sprintf("how many run times to show (1-%d)", maxNextRuns))
	return cmd
}

func scheduleText(p *snapkeep.Policy) string {
	return p.Schedule + " " + orDash(p.TimeZone, "UTC")
}

func retentionText(r snapkeep.Retention) string {
	var parts []string
	if r.KeepLast > 0 {
		parts = append(parts, fmt.Sprintf("last %d", r.KeepLast))
	}
	if r.MaxAgeDays > 0 {
		parts = append(parts, fmt.Sprintf("%d days", r.MaxAgeDays))
	}
	if len(parts) == 0 {
		return "keep all"
	}
	return strings.Join(parts, ", ")
}

func stateText(p *snapkeep.Policy) string {
	switch {
	case p.InvalidReason != "":
		return "INVALID"
	case p.Enabled:
		return "enabled"
	}
	return "paused"
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func orDash(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
