package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
)

func (a *app) callsCommand() *cobra.Command {
	var runID, requestID string
	cmd := &cobra.Command{
		Use:   "calls (--run RUN_ID | --request-id ID)",
		Short: "List the DigitalOcean API calls of a run, or the call with a request id",
		Long: `List DigitalOcean API calls as snapkeep logged them: every HTTP attempt,
with its operation, status, DigitalOcean's error and request id, and how
long it took (never a body, never the token).

--run takes a run id, <policy_id>#<slot> (the RUN column of this command,
or 'snapctl run show'); --request-id the x-request-id DigitalOcean support
quotes (index by-request-id).`,
		Example: `  snapctl calls --run 'pol-web1#2026-03-27T02:00:00Z'
  snapctl calls --request-id 4f5e6a7b-0000-4000-8000-000000000001 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			byRun, byReq := cmd.Flags().Changed("run"), cmd.Flags().Changed("request-id")
			if byRun == byReq {
				return usagef("give exactly one of --run RUN_ID or --request-id ID")
			}
			ctx := cmd.Context()
			q, err := a.queries(ctx)
			if err != nil {
				return err
			}
			var res *support.CallsResult
			if byRun {
				if _, err := support.ParseRunKey(runID, ""); err != nil {
					return usagef("--run: %v", err)
				}
				res, err = q.CallsOfRun(ctx, runID)
			} else {
				res, err = q.CallsByRequestID(ctx, requestID)
				if errors.Is(err, snapkeep.ErrInvalid) {
					return usagef("--request-id: %v", err)
				}
			}
			if err != nil {
				return err
			}
			a.warnSkipped(res.Skipped)
			if len(res.Calls) == 0 && a.flags.output == support.FormatTable {
				fmt.Fprintln(a.stdout, "No calls found (ApiCalls rows expire after the stack's ApiCallRetentionDays).")
				return nil
			}
			return a.emit(orEmpty(res.Calls), support.CallsTable(res.Calls))
		},
	}
	cmd.Flags().StringVar(&runID, "run", "", "the run's id, <policy_id>#<slot>")
	cmd.Flags().StringVar(&requestID, "request-id", "", "DigitalOcean's request id (x-request-id)")
	return cmd
}

const failuresLong = `List who got a failure across every customer: the runs that ended failed
or timed out with the class (index failures-by-class, by when they
finished), and the runs still retrying whose latest attempt failed with it
(their explicit retry state, retry_class, read from index unfinished: every
run in flight). Retrying runs are listed when the range reaches now.

Without --class, every class (one query each). The range defaults to the
last 24 hours; --since, --from/--to and --last-night work as for 'snapctl
runs' (--last-night in --tz, default UTC).`

func (a *app) failuresCommand() *cobra.Command {
	var (
		class string
		rf    rangeFlags
		limit int
	)
	cmd := &cobra.Command{
		Use:   "failures [--class C] [--since AGE | --from T --to T | --last-night]",
		Short: "Who got which failure, across customers (including runs still retrying)",
		Long:  failuresLong,
		Example: `  # Who got Server Error in the last day?
  snapctl failures --class provider_error --since 24h

  # Every failure of last night, Berlin time, for a spreadsheet:
  snapctl failures --last-night --tz Europe/Berlin -o csv > failures.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fq := support.FailureQuery{Limit: limit}
			if class != "" {
				c, err := support.ParseClass(class)
				if err != nil {
					return usagef("--class: %v", err)
				}
				fq.Classes = []snapkeep.ErrorClass{c}
			}
			if limit < 1 || limit > support.MaxLimit {
				return usagef("--limit: %d must be 1-%d", limit, support.MaxLimit)
			}
			if rf.Since == 0 && !rf.NeedsZone() {
				rf.Since = defaultFailuresAge
			}
			return a.failures(cmd, fq, &rf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&class, "class", "", "only this error class, e.g. provider_error (default: every class)")
	rf.add(f, "runs that finished")
	f.IntVar(&limit, "limit", support.DefaultLimit, fmt.Sprintf("at most this many failed and this many retrying runs (1-%d)", support.MaxLimit))
	_ = cmd.RegisterFlagCompletionFunc("class", completeClasses)
	return cmd
}

// defaultFailuresAge is the range of 'snapctl failures' without one.
const defaultFailuresAge = 24 * time.Hour

func (a *app) failures(cmd *cobra.Command, fq support.FailureQuery, rf *rangeFlags) error {
	ctx := cmd.Context()
	q, err := a.queries(ctx)
	if err != nil {
		return err
	}
	z, err := rf.zone(ctx, q, nil)
	if err != nil {
		return err
	}
	if fq.Range, err = rf.resolve(a.now(), z); err != nil {
		return err
	}
	res, err := q.Failures(ctx, fq)
	if err != nil {
		return err
	}
	a.warnSkipped(res.Skipped)
	if a.structured() {
		return a.printValue(map[string]any{
			"range":  map[string]any{"from": timeOrNil(fq.Range.From), "to": timeOrNil(fq.Range.To)},
			"failed": orEmpty(res.Failed), "retrying": orEmpty(res.Retrying), "retrying_included": res.RetryingIncluded,
		})
	}
	if a.flags.output == support.FormatTable {
		fmt.Fprintf(a.stderr, "Failures finished %s: %d failed, %d still retrying%s.\n", fq.Range, len(res.Failed), len(res.Retrying),
			map[bool]string{true: "", false: " (not asked: the range ends before now)"}[res.RetryingIncluded])
		if len(res.Failed)+len(res.Retrying) == 0 {
			fmt.Fprintln(a.stdout, "No failures in that range.")
			return nil
		}
	}
	if err := a.emit(nil, support.FailuresTable(res)); err != nil {
		return err
	}
	if res.More {
		fmt.Fprintln(a.stderr, "note: a list stopped at --limit; there may be more (raise --limit or narrow the range)")
	}
	return nil
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func (a *app) incidentsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "incidents",
		Short: "List open provider incidents, or show any one",
		Long: `Provider incidents are what the errorrate function raises when
DigitalOcean's error rate rises in a dimension (all traffic, a region, an
operation). 'list' shows the open ones (sparse index open); 'list --all
--since 30d' every incident opened in that time, open or resolved (index
by-month); 'show' any one by its id (from the ops alert or the escalation
report).`,
		Example: `  snapctl incidents list
  snapctl incidents list --all --since 30d
  snapctl incidents show 'provider_error#operation:snapshot_droplet#2026-11-24T06:10Z'`,
		Args: subcommandArgs,
		RunE: groupRunE,
	}
	cmd.AddCommand(a.incidentsListCommand(), a.incidentsShowCommand())
	return cmd
}

func (a *app) incidentsListCommand() *cobra.Command {
	var (
		limit int
		all   bool
		since time.Duration
	)
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the open incidents (or, with --all, every one opened since), newest first",
		Example: "  snapctl incidents list -o json\n  snapctl incidents list --all --since 30d",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 || limit > support.MaxLimit {
				return usagef("--limit: %d must be 1-%d", limit, support.MaxLimit)
			}
			if all != (since > 0) {
				return usagef("--all and --since go together: every incident opened in the last AGE, open or resolved")
			}
			ctx := cmd.Context()
			q, err := a.queries(ctx)
			if err != nil {
				return err
			}
			var res *support.IncidentsResult
			if all {
				res, err = q.IncidentsOpened(ctx, support.Since(a.now(), since), limit)
			} else {
				res, err = q.OpenIncidents(ctx, limit)
			}
			if err != nil {
				return err
			}
			a.warnSkipped(res.Skipped)
			if len(res.Incidents) == 0 && a.flags.output == support.FormatTable {
				fmt.Fprintln(a.stdout, "No open incidents.")
				return nil
			}
			return a.emit(orEmpty(res.Incidents), support.IncidentsTable(res.Incidents))
		},
	}
	cmd.Flags().IntVar(&limit, "limit", support.DefaultLimit, fmt.Sprintf("at most this many (1-%d)", support.MaxLimit))
	cmd.Flags().BoolVar(&all, "all", false, "every incident opened in --since, open or resolved")
	cmd.Flags().Var(ageValue{&since}, "since", "with --all: incidents opened in the last AGE: 24h, 7d, 30d")
	return cmd
}

func (a *app) incidentsShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "show INCIDENT_ID",
		Short:   "Show one incident, open or resolved",
		Example: `  snapctl incidents show 'provider_error#operation:snapshot_droplet#2026-11-24T06:10Z' -o yaml`,
		Args:    exactArgs(1, "the incident id", "snapctl incidents show 'provider_error#all#2026-11-24T06:10Z'"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			q, err := a.queries(ctx)
			if err != nil {
				return err
			}
			inc, err := q.Incident(ctx, args[0])
			if errors.Is(err, snapkeep.ErrNotFound) {
				return withHint(err, "List the open ones with 'snapctl incidents list'; the ops alert email names each incident's id.")
			}
			if err != nil {
				return err
			}
			return a.emitFields(inc, support.IncidentFields(inc))
		},
	}
}
