// Command snaplocal runs snapkeep on this machine, with no AWS account and
// no DigitalOcean token: the real function binaries (built for the host)
// under a Lambda Runtime API emulator (infra/lambdarun), moto in server
// mode for AWS, a fake DigitalOcean API (shared/docloud/dotest) and a fake
// Slack.
//
//	snaplocal demo [flags]   what `make demo` runs
//	snaplocal up   [-v] [-log FILE] [-moto-port N]
//
// demo plays a scenario (infra/scenario; by default 301 policies of 12
// customers over two days, with a 12-hour DigitalOcean incident on day
// two) on a virtual clock, through the real functions, delivering what
// AWS would deliver (infra/triggers: the schedules read back from moto's
// Scheduler and the template's own; infra/local: the follow-up queue and
// the table streams with the template's batch sizes, filters and windows).
// The functions read the virtual clock from a file (shared/clockfile). It
// shows a progress bar, then what happened, read back from the tables,
// SES and Slack; writes the escalation report (demo-report.html); checks
// itself; and tears everything down. It exits 0 when every check passed,
// 1 naming the failed step or check otherwise.
//
// up starts the same stack with the template's default settings on the
// real clock, stores a token for the fake under account acct-local, prints
// the environment for snapctl and runs until interrupted: the Policies
// stream to the schedules function, due schedules and follow-ups to the
// snapshot function, the Runs and ApiCalls streams to errorrate and
// notify, the template's own schedules at their rates.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/snapkeep/snapkeep/infra/scenario"
	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/schedule"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: snaplocal demo [flags] | snaplocal up [-v] [-log FILE] [-moto-port N]

  demo   play two days of snapkeep locally (moto + a fake DigitalOcean) and tell what happened
  up     run snapkeep locally on the real clock until Ctrl-C (use snapctl against it)

Run snaplocal demo -h for the scenario's flags.
`

// demoFlags are demo's flags.
type demoFlags struct {
	policies, hourly, days, stuck int
	seed                          uint64
	rate                          float64
	incidentStart                 string
	incidentHours                 float64
	evaluate                      string
	report                        string
	progress                      bool
}

func (f *demoFlags) register(fs *flag.FlagSet) {
	def := scenario.DefaultConfig()
	fs.IntVar(&f.policies, "policies", def.Policies, "backup policies in the fleet")
	fs.IntVar(&f.hourly, "hourly", 0, "how many of them are hourly (0: a tenth)")
	fs.IntVar(&f.days, "days", def.Days, "simulated days")
	fs.Float64Var(&f.rate, "incident-rate", def.IncidentRate, "share of droplet snapshot requests DigitalOcean fails during the incident (0.02 is 2%)")
	fs.StringVar(&f.incidentStart, "incident-start", def.IncidentStart.String(), "when the incident begins: after the start (34h) or a time (2026-11-24T10:00:00Z)")
	fs.Float64Var(&f.incidentHours, "incident-hours", def.IncidentDuration.Hours(), "how long the incident lasts, in hours (0: no incident)")
	fs.IntVar(&f.stuck, "stuck-runs", def.StuckRuns, "droplet runs during the incident that fail every attempt of their slot window")
	fs.Uint64Var(&f.seed, "seed", def.Seed, "seed of the fleet and of the faults")
	fs.StringVar(&f.evaluate, "evaluate-every", defaultCadence[evaluateEvent], "the errorrate evaluation's schedule (the template: rate(1 minute))")
	fs.StringVar(&f.report, "report", "demo-report.html", "where to write the escalation report")
	fs.BoolVar(&f.progress, "progress", true, "draw a progress bar on stderr")
}

// config is the scenario the flags ask for.
func (f *demoFlags) config() (scenario.Config, error) {
	c := scenario.DefaultConfig()
	c.Policies, c.Hourly, c.Days, c.IncidentRate, c.StuckRuns, c.Seed = f.policies, f.hourly, f.days, f.rate, f.stuck, f.seed
	c.IncidentDuration = time.Duration(f.incidentHours * float64(time.Hour))
	if d, err := time.ParseDuration(f.incidentStart); err == nil {
		c.IncidentStart = d
	} else if t, err := time.Parse(time.RFC3339, f.incidentStart); err == nil {
		c.IncidentStart = t.Sub(c.Start)
	} else {
		return c, fmt.Errorf("-incident-start %q: want a duration after the start (34h) or a time (2026-11-24T10:00:00Z)", f.incidentStart)
	}
	if err := checkEvaluateEvery(f.evaluate); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// checkEvaluateEvery refuses an evaluation schedule slower than the
// evaluation catches up in one invocation (errorrate.DefaultMaxCatchUp
// minutes): the minutes beyond would never be evaluated.
func checkEvaluateEvery(expr string) error {
	e, err := schedule.Parse(expr)
	if err != nil {
		return fmt.Errorf("-evaluate-every: %w", err)
	}
	limit := errorrate.DefaultMaxCatchUp * time.Minute
	if every := e.MinInterval(); every <= 0 || every > limit {
		return fmt.Errorf("-evaluate-every %s: want a schedule at least every %s (one evaluation catches up at most %d minutes)", expr, limit, errorrate.DefaultMaxCatchUp)
	}
	return nil
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd := args[0]
	switch cmd {
	case "demo", "up":
	default:
		fmt.Fprintf(stderr, "snaplocal: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	verbose := fs.Bool("v", false, "also print the functions' log lines to stderr")
	logFile := fs.String("log", "", "write the functions' log lines to this file")
	var df demoFlags
	motoPort := 0
	if cmd == "demo" {
		df.register(fs)
	} else {
		fs.IntVar(&motoPort, "moto-port", DefaultUpMotoPort, "moto's loopback port (events/env.json expects 5000; 0: any free port)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "snaplocal %s: unexpected arguments %s\n", cmd, strings.Join(fs.Args(), " "))
		return 2
	}
	fnLog, closeLog, err := functionLog(*verbose, *logFile, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "snaplocal %s: %v\n", cmd, err)
		return 1
	}
	defer closeLog()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cmd == "up" {
		err = runUp(ctx, UpOptions{Out: stdout, FunctionLog: fnLog, MotoPort: motoPort})
	} else {
		var c scenario.Config
		if c, err = df.config(); err != nil {
			fmt.Fprintf(stderr, "snaplocal demo: %v\n", err)
			return 2
		}
		opts := DemoOptions{Out: stdout, FunctionLog: fnLog, Scenario: c, ReportPath: df.report, Verbose: *verbose,
			Cadence: map[string]string{evaluateEvent: df.evaluate}}
		if df.progress && isTerminal(stderr) {
			opts.ProgressOut = stderr
		}
		err = runDemo(ctx, opts)
	}
	return exitCode(ctx, cmd, err, stderr)
}

// functionLog is where the functions' log lines go besides the demo's own
// check: stderr with -v, a file with -log.
func functionLog(verbose bool, file string, stderr io.Writer) (io.Writer, func(), error) {
	var logs []io.Writer
	if verbose {
		logs = append(logs, stderr)
	}
	closer := func() {}
	if file != "" {
		f, err := os.Create(file)
		if err != nil {
			return nil, closer, err
		}
		logs = append(logs, f)
		closer = func() { f.Close() }
	}
	if len(logs) == 0 {
		return nil, closer, nil
	}
	return io.MultiWriter(logs...), closer, nil
}

func exitCode(ctx context.Context, cmd string, err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "\nsnaplocal %s: interrupted; everything it started was stopped\n", cmd)
		return 1
	}
	var se *stepError
	if errors.As(err, &se) {
		fmt.Fprintf(stderr, "\nsnaplocal %s: FAILED at step %q:\n  %v\n", cmd, se.step, se.err)
	} else {
		fmt.Fprintf(stderr, "\nsnaplocal %s: FAILED: %v\n", cmd, err)
	}
	return 1
}

// isTerminal says whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
