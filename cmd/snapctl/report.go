package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
)

// whenValue is a --since or --until flag: an age before now (24h, 7d:
// support.ParseAge) or a time (2026-03-27T03:00:00Z, or a UTC wall time
// 2026-03-27T03:00 / 2026-03-27: support.ParseTime).
type whenValue struct {
	raw string
	age time.Duration
	at  time.Time
}

// String returns the value as typed.
func (v *whenValue) String() string { return v.raw }

// Set parses an age or a time.
func (v *whenValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if d, err := support.ParseAge(s); err == nil {
		*v = whenValue{raw: s, age: d}
		return nil
	}
	t, err := support.ParseTime(s, time.UTC)
	if err != nil {
		return fmt.Errorf("%q is neither an age (90m, 24h, 7d) nor a time (2026-03-27T03:00:00Z, 2026-03-27)", snapkeep.Bound(s, 40))
	}
	*v = whenValue{raw: s, at: t}
	return nil
}

// Type names the value in --help.
func (*whenValue) Type() string { return "when" }

// time returns the instant: now minus the age, or the time given; zero
// when the flag was not given.
func (v *whenValue) time(now time.Time) time.Time {
	switch {
	case v.raw == "":
		return time.Time{}
	case v.at.IsZero():
		return now.Add(-v.age)
	}
	return v.at
}

// reportFlags are report's flags.
type reportFlags struct {
	incident     string
	since, until whenValue
	format       string
	out          string
	dimension    string
	resource     string
	inline       int
}

const reportLong = `Render the escalation report ops forward to DigitalOcean: the same report
the errorrate function attaches to its alert (shared/escalation), on
demand, for an incident or any window.

It holds the daily error rate per class for the last 30 days (with a
chart in HTML), the window's rate against the baseline, every affected
call (time, operation, resource, region, account, status, DigitalOcean's
error id and x-request-id; inline up to --inline-rows, all in the CSV),
the top error ids and messages, header samples of failing calls, the
timeline of one affected resource, and the customer impact. Every read
is an index Query (Stats roll-ups, ApiCalls failures-by-hour, Runs
by-resource and failures-by-class); nothing scans.

What to report on, one of:
  --incident ID     the incident's window: its change point to its
                    resolution (or now, while it is open), its dimension
  --since WHEN      a window from WHEN (an age, 24h, or a time,
                    2026-03-27T03:00:00Z) to --until (default now), of
                    --dimension (all, region:nyc3, operation:snapshot_droplet);
                    at most 7 days

--format md, html, text or csv (default: from --out's extension, else
text). --out FILE writes the file instead of stdout; with html or md, the
CSV of every affected call is written beside it, in FILE's directory,
under the name the report says is attached
(snapkeep-affected-calls-<window start>.csv), when the window has any.`

const reportExample = `  snapctl report --incident 'provider_error#operation:snapshot_droplet#2026-11-24T06:10Z' --out report.html
  snapctl report --since 24h --format md > report.md
  snapctl report --since 2026-11-24T06:00:00Z --until 2026-11-24T19:00:00Z --dimension region:nyc3 --format text
  snapctl report --incident 'provider_error#all#2026-03-20T06:10Z' --format csv --out affected.csv`

func (a *app) reportCommand() *cobra.Command {
	var rf reportFlags
	cmd := &cobra.Command{
		Use:     "report (--incident ID | --since WHEN [--until WHEN]) [--format md|html|text|csv] [--out FILE]",
		Short:   "Render the escalation report of an incident or a window (md, html, text, csv)",
		Long:    reportLong,
		Example: reportExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.report(cmd, &rf)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&rf.incident, "incident", "", "the incident to report on (snapctl incidents list)")
	fs.Var(&rf.since, "since", "window start: an age (24h, 7d) or a time (2026-03-27T03:00:00Z)")
	fs.Var(&rf.until, "until", "window end (same forms as --since; default now)")
	fs.StringVar(&rf.format, "format", "", "md, html, text or csv (default: from --out's extension, else text)")
	fs.StringVar(&rf.out, "out", "", "write the report to FILE (and the affected calls' CSV beside an html or md file)")
	fs.StringVar(&rf.dimension, "dimension", "", "traffic of a --since window: all, region:<slug> or operation:<name> (default all)")
	fs.StringVar(&rf.resource, "resource", "", "the deep-dive resource, e.g. droplet:3164444 (default: picked from the affected ones)")
	fs.IntVar(&rf.inline, "inline-rows", escalation.DefaultInlineRows, "affected calls shown inline (the CSV holds them all)")
	return cmd
}

// buildInput checks report's flags and works out what to build; inc is
// the incident read, or nil.
func (rf *reportFlags) buildInput(now time.Time, inc *snapkeep.Incident) (escalation.BuildInput, error) {
	in := escalation.BuildInput{Incident: inc, Now: now, ResourceKey: rf.resource, InlineRows: rf.inline}
	if rf.inline < 1 || rf.inline > escalation.DefaultMaxRows {
		return in, usagef("--inline-rows %d: must be 1-%d", rf.inline, escalation.DefaultMaxRows)
	}
	if inc != nil {
		if rf.dimension != "" {
			return in, usagef("--dimension: an incident's report is of its own dimension (%s); leave --dimension out", inc.Dimension)
		}
		return in, nil
	}
	in.From, in.To, in.Dimension = rf.since.time(now), rf.until.time(now), snapkeep.Dimension(rf.dimension)
	if in.To.IsZero() {
		in.To = now
	}
	return in, nil
}

// reportFormat is --format, else the one --out's extension names, else text.
func (rf *reportFlags) reportFormat() (escalation.Format, error) {
	if rf.format != "" {
		f, err := escalation.ParseFormat(rf.format)
		if err != nil {
			return "", usagef("--format: %q is not a report format: use md, html, text or csv", snapkeep.Bound(rf.format, 32))
		}
		return f, nil
	}
	if ext := strings.TrimPrefix(filepath.Ext(rf.out), "."); ext != "" {
		if f, err := escalation.ParseFormat(ext); err == nil {
			return f, nil
		}
	}
	return escalation.FormatText, nil
}

func (a *app) report(cmd *cobra.Command, rf *reportFlags) error {
	byIncident, byRange := rf.incident != "", rf.since.raw != ""
	switch {
	case byIncident == byRange:
		return usagef("give exactly one of --incident ID or --since WHEN")
	case !byRange && rf.until.raw != "":
		return usagef("--until needs --since (an incident's window ends at its resolution)")
	}
	format, err := rf.reportFormat()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	var inc *snapkeep.Incident
	if byIncident {
		q, err := a.queries(ctx)
		if err != nil {
			return err
		}
		if inc, err = q.Incident(ctx, rf.incident); errors.Is(err, snapkeep.ErrNotFound) {
			return withHint(err, "List incidents with 'snapctl incidents list --all --since 30d'.")
		} else if errors.Is(err, snapkeep.ErrInvalid) {
			return usagef("--incident: %v", err)
		} else if err != nil {
			return err
		}
	}
	in, err := rf.buildInput(a.now(), inc)
	if err != nil {
		return err
	}
	src, err := a.reportSource(ctx)
	if err != nil {
		return err
	}
	r, err := escalation.Build(ctx, src, in)
	if errors.Is(err, snapkeep.ErrInvalid) {
		return &usageError{err: err}
	}
	if err != nil {
		return err
	}
	return a.writeReport(r, format, rf.out)
}

// reportSource returns the report's reader over the stack's tables.
func (a *app) reportSource(ctx context.Context) (escalation.Source, error) {
	cfg, t, err := a.session(ctx)
	if err != nil {
		return nil, err
	}
	return a.clients.Escalation(a.clients.DynamoDB(cfg), t, a.now), nil
}

// writeReport renders r to stdout, or to out (and, for html and md, the
// CSV of its affected calls beside it, named as the report names it:
// escalation's WriteFiles).
func (a *app) writeReport(r *escalation.Report, f escalation.Format, out string) error {
	if out == "" {
		var buf bytes.Buffer
		if err := r.Render(&buf, f); err != nil {
			return err
		}
		_, err := a.stdout.Write(buf.Bytes())
		return err
	}
	written, err := r.WriteFiles(out, f)
	for _, w := range written {
		if w.Format == escalation.FormatCSV && f != escalation.FormatCSV {
			fmt.Fprintf(a.stderr, "wrote %s (%d affected calls, the CSV the report refers to)\n", w.Path, len(r.Affected))
		} else {
			fmt.Fprintf(a.stderr, "wrote %s (%s, %d bytes)\n", w.Path, w.Format, w.Bytes)
		}
	}
	if errors.Is(err, snapkeep.ErrInvalid) {
		return usagef("--out: %v", err)
	}
	if err != nil {
		return withHint(fmt.Errorf("--out: %w", err), "Check that the directory %s exists and is writable.", filepath.Dir(out))
	}
	return nil
}
