package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
)

// rangeFlags are the time-range flags of runs and failures.
type rangeFlags struct {
	support.RangeFlags
	tz string
}

func (rf *rangeFlags) add(fs *pflag.FlagSet, what string) {
	fs.Var(ageValue{&rf.Since}, "since", what+" in the last AGE: 90m, 24h, 7d, 2w")
	fs.StringVar(&rf.From, "from", "", what+" at or after this time: 2026-03-27T03:00:00Z, or 2026-03-27T03:00 / 2026-03-27 in --tz")
	fs.StringVar(&rf.To, "to", "", what+" before this time (same forms as --from)")
	fs.BoolVar(&rf.LastNight, "last-night", false, fmt.Sprintf("%s last night: %02d:00 yesterday to %02d:00 today in --tz or the customer's/policy's time zone", what, support.NightStartHour, support.NightEndHour))
	fs.StringVar(&rf.tz, "tz", "", "IANA time zone for --last-night, --from/--to and the LOCAL column (default: the policy's or customer's)")
}

// zone returns --tz, else the subject's time zone (nil subject: UTC).
func (rf *rangeFlags) zone(ctx context.Context, q *support.Queries, s *support.Subject) (support.Zone, error) {
	if rf.tz != "" {
		loc, err := support.LoadZone(rf.tz)
		if err != nil {
			return support.Zone{}, usagef("--tz: %v", err)
		}
		return support.Zone{Location: loc, Source: "--tz"}, nil
	}
	if s == nil {
		return support.Zone{Location: time.UTC, Source: "UTC"}, nil
	}
	return q.Zone(ctx, *s)
}

func (rf *rangeFlags) resolve(now time.Time, z support.Zone) (support.Range, error) {
	r, err := rf.Range(now, z.Location)
	if err != nil {
		return support.Range{}, &usageError{err: err}
	}
	return r, nil
}

const runsLong = `List runs of one policy, one customer or one droplet/volume, newest slot
first (at most --limit).

Time range (on the slot, the run's scheduled time), at most one of:
  --last-night      from 18:00 yesterday to 09:00 today, local time: the
                    night nightly backups run in. Asked during the night
                    (before 09:00) it is the night in progress. The zone is
                    --tz, else the policy's; for a customer, their
                    policies' (if they are in several zones, --tz says
                    which); for a droplet/volume, that of the policy of its
                    newest run.
  --since AGE       the last 90m, 24h, 7d, 2w ...
  --from/--to TIME  2026-03-27T03:00:00Z, or a wall time in --tz / the
                    subject's zone: 2026-03-27T03:00, 2026-03-27.
Without one, the newest runs whatever their age.

--status (succeeded, failed, timed_out, skipped, claimed, in_progress,
unfinished; comma-separated) and --class (an error class, matching failed
runs and runs retrying after it) filter the key range: DynamoDB reads the
range's runs and returns the matching ones (see --explain).`

const runsExample = `  # Did last night's backup of droplet 3164444 run?
  snapctl runs --droplet 3164444 --last-night

  # A customer's failures of the last week, in their time zone:
  snapctl runs --customer acme --since 7d --status failed,timed_out

  # One policy's runs on one day, in Tokyo time, as CSV:
  snapctl runs --policy pol-web1 --from 2026-03-27 --to 2026-03-28 --tz Asia/Tokyo -o csv

  # The DynamoDB query behind it:
  snapctl runs --volume 506f78a4-e098-11e5-ad9f-000f53306ae1 --since 24h --explain`

func (a *app) runsCommand() *cobra.Command {
	var (
		subj          support.Subject
		droplet, vol  string
		rf            rangeFlags
		status, class string
		limit         int
	)
	cmd := &cobra.Command{
		Use:     "runs (--policy ID | --customer ID | --droplet ID | --volume UUID) [range] [--status S] [--class C]",
		Short:   "List a policy's, customer's or droplet's runs, newest first",
		Long:    runsLong,
		Example: runsExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rq := support.RunQuery{Subject: subj, Limit: limit}
			if err := subjectFromFlags(cmd, &rq.Subject, droplet, vol); err != nil {
				return err
			}
			var err error
			if status != "" {
				if rq.Statuses, err = support.ParseStatuses(status); err != nil {
					return usagef("--status: %v", err)
				}
			}
			if class != "" {
				if rq.Class, err = support.ParseClass(class); err != nil {
					return usagef("--class: %v", err)
				}
			}
			if limit < 1 || limit > support.MaxLimit {
				return usagef("--limit: %d must be 1-%d", limit, support.MaxLimit)
			}
			return a.runs(cmd.Context(), rq, &rf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&subj.PolicyID, "policy", "", "the policy's runs (the Runs table's key)")
	f.StringVar(&subj.CustomerID, "customer", "", "the customer's runs (index by-customer)")
	f.StringVar(&droplet, "droplet", "", "the droplet's runs, by droplet id (index by-resource)")
	f.StringVar(&vol, "volume", "", "the volume's runs, by volume UUID (index by-resource)")
	rf.add(f, "runs scheduled")
	f.StringVar(&status, "status", "", "only these statuses, comma-separated (unfinished = claimed,in_progress)")
	f.StringVar(&class, "class", "", "only runs that failed with, or are retrying after, this error class")
	f.IntVar(&limit, "limit", support.DefaultLimit, fmt.Sprintf("at most this many runs (1-%d)", support.MaxLimit))
	_ = cmd.RegisterFlagCompletionFunc("policy", a.completePolicyIDs)
	_ = cmd.RegisterFlagCompletionFunc("class", completeClasses)
	_ = cmd.RegisterFlagCompletionFunc("status", completeStatuses)
	return cmd
}

// subjectFromFlags completes s from --droplet or --volume and checks that
// exactly one subject flag was given.
func subjectFromFlags(cmd *cobra.Command, s *support.Subject, droplet, volume string) error {
	var given []string
	for _, name := range []string{"policy", "customer", "droplet", "volume"} {
		if cmd.Flags().Changed(name) {
			given = append(given, "--"+name)
		}
	}
	if len(given) != 1 {
		return usagef("say whose runs with exactly one of --policy, --customer, --droplet or --volume (got %d%s)", len(given), listSuffix(given))
	}
	var err error
	switch given[0] {
	case "--droplet":
		s.ResourceKey, err = support.DropletKey(droplet)
	case "--volume":
		s.ResourceKey, err = support.VolumeKey(volume)
	}
	if err != nil {
		return usagef("%s: %v", given[0], err)
	}
	return nil
}

func listSuffix(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return ": " + strings.Join(names, ", ")
}

func (a *app) runs(ctx context.Context, rq support.RunQuery, rf *rangeFlags) error {
	q, err := a.queries(ctx)
	if err != nil {
		return err
	}
	z, err := rf.zone(ctx, q, &rq.Subject)
	if err != nil {
		return err
	}
	if rq.Range, err = rf.resolve(a.now(), z); err != nil {
		return err
	}
	res, err := q.Runs(ctx, rq)
	if err != nil {
		return err
	}
	a.warnSkipped(res.Skipped)
	if a.structured() {
		return a.printValue(orEmpty(res.Runs))
	}
	if a.flags.output == support.FormatTable {
		a.rangeNote(rq.Subject.String(), rq.Range, z, rf.NeedsZone())
		if len(res.Runs) == 0 {
			fmt.Fprintf(a.stdout, "No runs of %s in that range.\n", rq.Subject)
			return nil
		}
	}
	if err := a.emit(res.Runs, support.RunsTable(res.Runs, z.Location)); err != nil {
		return err
	}
	if res.More {
		fmt.Fprintf(a.stderr, "note: showing the newest %d; there may be more (raise --limit or narrow the range)\n", len(res.Runs))
	}
	return nil
}

// rangeNote tells on stderr which range and zone a table shows.
func (a *app) rangeNote(subject string, r support.Range, z support.Zone, local bool) {
	if r == (support.Range{}) {
		fmt.Fprintf(a.stderr, "Runs of %s, newest first.\n", subject)
		return
	}
	if local || z.Location != time.UTC {
		fmt.Fprintf(a.stderr, "%s: %s (%s, zone of %s).\n", subject, r.In(z.Location), r, z.Source)
		return
	}
	fmt.Fprintf(a.stderr, "%s: %s.\n", subject, r)
}

// warnSkipped tells on stderr of stored items a read could not decode.
func (a *app) warnSkipped(skipped []support.Skipped) {
	for _, s := range skipped {
		fmt.Fprintf(a.stderr, "warning: skipped an unreadable item (%s): %s\n", s.Key, s.Reason)
	}
}

// orEmpty returns s, or an empty slice for nil (JSON [] rather than null).
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func completeClasses(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, c := range snapkeep.ErrorClasses() {
		out = append(out, cobra.CompletionWithDesc(string(c), c.Info().Cause))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func completeStatuses(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return []cobra.Completion{"succeeded", "failed", "timed_out", "skipped", "claimed", "in_progress", support.StatusUnfinished},
		cobra.ShellCompDirectiveNoFileComp
}
