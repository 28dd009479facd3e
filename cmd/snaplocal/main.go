// Command snaplocal runs snapkeep on this machine, with no AWS account and
// no DigitalOcean token: the real function binaries (built for the host)
// under a Lambda Runtime API emulator (infra/lambdarun), moto in server
// mode for AWS, and the fake DigitalOcean API (shared/docloud/dotest).
//
//	snaplocal demo [-v] [-log FILE]
//	snaplocal up   [-v] [-log FILE]
//
// demo builds the four functions, starts moto and the fake, creates the
// tables, schedule group and queues of template.yaml, seeds a customer, an
// account token (generated, stored in Secrets Manager, never printed) and
// three policies, runs the schedules function on the Policies stream, then
// plays two rounds of Scheduler firings on a virtual clock (the first
// during a DigitalOcean "Server Error" window on droplet snapshot
// requests), hands the Runs stream to the errorrate and notify functions,
// and tells in plain words what happened. Everything is torn down at the
// end. It exits 0 on success and 1, naming the failed step, otherwise.
//
// up starts the same stack with the template's default settings, stores a
// token for the fake under account acct-local, prints the environment for
// snapctl and runs on the real clock until interrupted: Policies stream to
// the schedules function, due schedules to the snapshot function, the sweep
// every minute, the Runs stream to errorrate and notify.
//
// Clocks: the demo's runner fires schedules on a virtual clock, but the function
// binaries read the real clock, and the snapshot function judges a slot
// against it (a transient failure is retried only within
// SLOT_WINDOW_MINUTES of the slot). So the demo's first slot is the current
// minute and the window is one minute: the Server Error round must be that
// first one, because its runs fail at once (a retry would fall after the
// window) only while their slot is now; the second round, an hour later on
// the virtual clock, is a slot in the future for the functions, where every
// step works. Droplet snapshot actions are followed with follow-up
// invocations instead of waiting a real minute for the sweep.
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
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: snaplocal demo|up [-v] [-log FILE]

  demo   run snapkeep locally (moto + the fake DigitalOcean) and show what it does, in about a minute
  up     run snapkeep locally on the real clock until Ctrl-C (use snapctl against it)

  -v        also print the functions' JSON log lines (to stderr)
  -log FILE write the functions' JSON log lines to FILE
`

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
	verbose := fs.Bool("v", false, "print the functions' log lines to stderr")
	logFile := fs.String("log", "", "write the functions' log lines to this file")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "snaplocal %s: unexpected arguments %s\n", cmd, strings.Join(fs.Args(), " "))
		return 2
	}
	var logs []io.Writer
	if *verbose {
		logs = append(logs, stderr)
	}
	if *logFile != "" {
		f, err := os.Create(*logFile)
		if err != nil {
			fmt.Fprintf(stderr, "snaplocal %s: %v\n", cmd, err)
			return 1
		}
		defer f.Close()
		logs = append(logs, f)
	}
	var fnLog io.Writer
	if len(logs) > 0 {
		fnLog = io.MultiWriter(logs...)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if cmd == "up" {
		err = runUp(ctx, UpOptions{Out: stdout, FunctionLog: fnLog})
	} else {
		err = runDemo(ctx, DemoOptions{Out: stdout, FunctionLog: fnLog})
	}
	if err != nil {
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
	return 0
}
