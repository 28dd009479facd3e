package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"time"

	"github.com/snapkeep/snapkeep/infra/scenario"
	"github.com/snapkeep/snapkeep/infra/triggers"
	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/secrets"
)

// DemoOptions configures runDemo.
type DemoOptions struct {
	// Out receives the narrative and the summary.
	Out io.Writer
	// ProgressOut receives the progress bar (a terminal); nil draws none.
	ProgressOut io.Writer
	// FunctionLog also receives the functions' JSON log lines; nil keeps
	// them only for the leak check.
	FunctionLog io.Writer
	// MotoLog receives moto's output; nil discards it.
	MotoLog io.Writer
	// Scenario is what to play.
	Scenario scenario.Config
	// Cadence overrides template schedules' expressions, by
	// "Function/Event" (see defaultCadence).
	Cadence map[string]string
	// ReportPath is where the escalation report is written
	// (demo-report.html in the working directory when empty).
	ReportPath string
	// Inspect, if set, is called with the finished demo before teardown
	// (tests look at the stack with it).
	Inspect func(ctx context.Context, d *Demo) error
	// Env overrides functions' environment (tests).
	Env map[string]map[string]string
	// Verbose also prints where the time went: each function's
	// invocations and the moto operations that took longest.
	Verbose bool
}

// defaultCadence is where the demo fires a template schedule less often
// than the template says, and why: moto answers a request in 2-3 ms, and
// these invocations make dozens whatever happens. The policies'
// schedules, the follow-ups, the streams and the notify tick keep AWS's
// timing.
//
//   - The evaluation (template: rate(1 minute)) reads and writes every
//     watched dimension's state: some 40 moto requests. Every 30 minutes
//     the evaluator steps the minutes in between one by one (it catches
//     up to 180), so it decides what it would have decided each minute:
//     the incident opens at the same alarm minute; only the alert email
//     goes out up to 29 minutes later. The summary gives both times.
//   - The sweep (rate(5 minutes)) is the backstop for follow-ups that were
//     lost; none are lost here, and each sweep queries the 16 shards of
//     the unfinished index, which moto answers by reading the whole Runs
//     table. Hourly, it still shows it finds nothing overdue.
//   - The reconcile (rate(15 minutes)) reads every policy and its
//     schedule: 600 requests. Nothing drifts in the demo (no hand edits,
//     no lost stream records); once a day, it shows it finds nothing.
var defaultCadence = map[string]string{
	evaluateEvent:  "rate(30 minutes)",
	sweepEvent:     "rate(1 hour)",
	reconcileEvent: "rate(1 day)",
}

// Template schedules whose cadence the demo changes, by "Function/Event".
const (
	evaluateEvent  = "ErrorRateFunction/Evaluate"
	sweepEvent     = "SnapshotFunction/Sweep"
	reconcileEvent = "SchedulesFunction/Reconcile"
)

// settleLimit bounds how long after the last slot the demo lets runs
// finish (the runs' deadline, RUN_DEADLINE_HOURS, is 6 h; the demo's
// snapshots take minutes).
const settleLimit = 3 * time.Hour

// Demo is a running demo: the stack, the fleet and what the play did.
type Demo struct {
	*Stack
	// Fleet is the scenario played.
	Fleet *scenario.Fleet
	// Tokens are the accounts' DigitalOcean tokens (never printed).
	Tokens map[string]string
	// Faults are the incident's faults injected in the fake.
	Faults []scenario.Fault
	// Player played it.
	Player *Player
	// Slots are the policies' deliveries planned.
	Slots []triggers.Delivery
	// Summary is what the tables and the mail say happened.
	Summary *Summary
	// ReportPath is the escalation report written; CSVPath the affected
	// calls' CSV beside it, under the name the report gives it.
	ReportPath, CSVPath string

	out     io.Writer
	began   time.Time
	cadence map[string]string
	logs    *leakWatch
}

// runDemo runs the whole demo and tears everything down.
func runDemo(ctx context.Context, opts DemoOptions) (err error) {
	d := &Demo{out: opts.Out, began: time.Now(), cadence: demoCadence(opts.Cadence)}
	if d.out == nil {
		d.out = io.Discard
	}
	d.logs = newLeakWatch(opts.FunctionLog)
	fleet, err := scenario.Build(opts.Scenario)
	if err != nil {
		return step("build the scenario", err)
	}
	d.Fleet = fleet
	d.say("snapkeep local demo: %s", describeFleet(fleet))
	d.say("The real function binaries run under a Lambda Runtime API emulator, against moto (AWS) and a fake DigitalOcean, on a virtual clock.")
	d.say("No AWS account and no DigitalOcean token are used.")
	d.say("")
	d.section("Starting the local stack")
	st, err := startStack(ctx, StackOptions{
		VirtualClock: fleet.Config.Start.Add(-15 * time.Minute),
		DigitalOcean: []dotest.Option{dotest.WithSeed(fleet.Config.Seed)},
		FunctionLog:  d.logs,
		MotoLog:      opts.MotoLog,
		Env:          opts.Env,
		Progress:     func(f string, a ...any) { d.say("  "+f, a...) },
	})
	if err != nil {
		d.say("")
		d.section("Tearing down: what was started is stopped again")
		return err
	}
	d.Stack = st
	defer func() {
		d.say("")
		d.section("Tearing down (functions, fake DigitalOcean and Slack, moto, temporary files)")
		st.Close()
		if err == nil {
			d.say("Demo finished in %s.", time.Since(d.began).Round(time.Second))
		}
	}()
	steps := []struct {
		name string
		fn   func(context.Context, DemoOptions) error
	}{
		{"seed the fleet", d.seed},
		{"sync schedules from the Policies stream", d.syncSchedules},
		{"play", d.play},
		{"summary", d.summarize},
		{"escalation report", d.writeReport},
		{"self-check", d.selfCheck},
	}
	for _, s := range steps {
		if err := s.fn(ctx, opts); err != nil {
			return step(s.name, err)
		}
	}
	if opts.Inspect != nil {
		if err := opts.Inspect(ctx, d); err != nil {
			return step("inspect", err)
		}
	}
	return nil
}

func (d *Demo) say(format string, args ...any) { fmt.Fprintf(d.out, format+"\n", args...) }

func (d *Demo) section(title string) { d.say("[%3ds] %s", int(time.Since(d.began).Seconds()), title) }

// FunctionLogs returns everything the functions logged.
func (d *Demo) FunctionLogs() string { return d.logs.String() }

// describeFleet says what the scenario is, in a line.
func describeFleet(f *scenario.Fleet) string {
	c := f.Config
	s := fmt.Sprintf("%d backup policies of %d customers over %d days from %s",
		len(f.Policies), len(f.Customers), c.Days, c.Start.Format("Mon 2 Jan 2006 15:04 UTC"))
	if inc := f.Incident; inc.Active() {
		s += fmt.Sprintf(", with a DigitalOcean incident (%.1f%% \"Server Error\" on droplet snapshot requests) from %s to %s",
			100*inc.Rate, inc.From.Format("Mon 15:04"), inc.Until.Format("Mon 15:04"))
	}
	return s + "."
}

// seed puts the fleet into the stack.
func (d *Demo) seed(ctx context.Context, _ DemoOptions) error {
	d.say("")
	d.section("Seeding the fleet")
	now := d.Clock.Now
	tokens, err := d.Fleet.Seed(ctx, scenario.Targets{
		DigitalOcean: d.DO,
		Customers:    &dynamo.CustomerStore{Client: d.DynamoDB, Table: d.TableName(dynamo.Customers), Now: now},
		Policies:     &dynamo.PolicyStore{Client: d.DynamoDB, Table: d.TableName(dynamo.Policies), Now: now},
		Tokens:       &secrets.Store{Client: d.Secrets, Prefix: TokenSecretPrefix},
		SlackBase:    d.Slack.Base(),
		NewToken:     dotest.NewToken,
	})
	if err != nil {
		return err
	}
	d.Tokens = tokens
	f := d.Fleet
	d.say("  %d customers (%s), %d DigitalOcean accounts (a token each, generated, in Secrets Manager, never printed)",
		len(f.Customers), customerNames(f), len(f.Accounts))
	d.say("  %d droplets and %d volumes at the fake DigitalOcean, with %d earlier snapshots", len(f.Droplets), len(f.Volumes), len(f.Snapshots))
	return nil
}

func customerNames(f *scenario.Fleet) string {
	s := ""
	for i, c := range f.Customers {
		if i == 3 {
			return s + fmt.Sprintf(", and %d more", len(f.Customers)-3)
		}
		if i > 0 {
			s += ", "
		}
		s += c.Name
	}
	return s
}

// syncSchedules plays the quarter-hour before the start: the Policies
// stream reaches the schedules function, which makes one schedule per
// policy; then it reads them back from moto's Scheduler, plans their
// deliveries and the incident's faults.
func (d *Demo) syncSchedules(ctx context.Context, opts DemoOptions) error {
	tpl, err := triggers.ReadTemplate(d.Template(), Stage)
	if err != nil {
		return err
	}
	p, err := newPlayer(ctx, d.Stack, tpl, d.Clock)
	if err != nil {
		return err
	}
	d.Player = p
	p.dirty[dynamo.Policies.LogicalID] = true
	start := d.Fleet.Config.Start
	if err := p.Play(ctx, start.Add(-time.Minute)); err != nil {
		return err
	}
	scheds, err := triggers.ReadGroup(ctx, d.Scheduler, ScheduleGroup)
	if err != nil {
		return err
	}
	enabled := 0
	for _, s := range scheds {
		if s.Enabled {
			enabled++
		}
	}
	if len(scheds) != len(d.Fleet.Policies) {
		return fmt.Errorf("the schedules function made %d schedules for %d policies", len(scheds), len(d.Fleet.Policies))
	}
	d.say("  the schedules function followed the Policies stream: %d schedules in group %s (%d disabled: paused policies)",
		len(scheds), ScheduleGroup, len(scheds)-enabled)
	from, to := start.Add(-time.Second), d.Fleet.Config.End().Add(-time.Second)
	d.Slots = triggers.Plan(scheds, from, to, triggers.PlanOptions{Seed: d.Fleet.Config.Seed})
	p.Schedule(d.Slots)
	own, err := templateSchedules(tpl, d.Stack, d.cadence)
	if err != nil {
		return err
	}
	p.Schedule(triggers.Plan(own, from, to.Add(settleLimit), triggers.PlanOptions{}))
	d.Faults = d.Fleet.Faults(d.Slots)
	for _, f := range d.Faults {
		if _, err := d.DO.AddFault(f.Fault); err != nil {
			return fmt.Errorf("inject a fault: %w", err)
		}
	}
	d.scheduleEvents()
	return nil
}

// demoCadence is defaultCadence with the overrides.
func demoCadence(override map[string]string) map[string]string {
	cadence := map[string]string{}
	for k, v := range defaultCadence {
		cadence[k] = v
	}
	for k, v := range override {
		if v != "" {
			cadence[k] = v
		}
	}
	return cadence
}

// templateSchedules are the template's own ScheduleV2 events, at their
// rates but where cadence (by "Function/Event") says otherwise.
func templateSchedules(tpl *triggers.Template, st *Stack, cadence map[string]string) ([]triggers.Schedule, error) {
	var out []triggers.Schedule
	for _, ts := range tpl.Schedules {
		fn, ok := functionOf[ts.Function]
		if !ok {
			return nil, fmt.Errorf("template schedule %s targets %s, which the local stack does not run", ts.Name, ts.Function)
		}
		if expr, ok := cadence[ts.Function+"/"+ts.Event]; ok {
			ts.Expression = expr
		}
		s, err := triggers.FromTemplate(ts, st.Functions[fn].ARN())
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// scheduleEvents makes the scenario's events happen at their times.
func (d *Demo) scheduleEvents() {
	tokens := &secrets.Store{Client: d.Secrets, Prefix: TokenSecretPrefix}
	for _, e := range d.Fleet.Events {
		e := e
		d.Player.At(e.At, func(ctx context.Context) error {
			switch e.Kind {
			case scenario.TokenRevoked:
				d.DO.RevokeToken(d.Tokens[e.Account])
			case scenario.TokenRenewed:
				tok := dotest.NewToken()
				d.DO.AddToken(tok)
				if err := tokens.PutToken(ctx, e.Account, tok); err != nil {
					return fmt.Errorf("renew the token of %s: %w", e.Account, err)
				}
				d.Tokens[e.Account+" (renewed)"] = tok
			case scenario.DropletDeleted:
				d.DO.RemoveDroplet(e.DropletID)
			}
			return nil
		})
	}
}

// play plays the days, then lets the last runs and notices finish.
func (d *Demo) play(ctx context.Context, opts DemoOptions) error {
	c := d.Fleet.Config
	d.say("")
	d.section(fmt.Sprintf("Playing %d days on the virtual clock: %d slots; the evaluation %s, the sweep %s, the reconcile %s, the notify tick as the template says",
		c.Days, len(d.Slots), d.cadence[evaluateEvent], d.cadence[sweepEvent], d.cadence[reconcileEvent]))
	for _, e := range d.Fleet.Events {
		d.say("  %s  %s", e.At.Format("Mon 15:04"), e.Says)
	}
	if inc := d.Fleet.Incident; inc.Active() {
		d.say("  %s  DigitalOcean starts answering \"Server Error\" to %.1f%% of droplet snapshot requests (%d faults drawn, %d of them runs that fail their whole slot window)",
			inc.From.Format("Mon 15:04"), 100*inc.Rate, len(d.Faults), countStuck(d.Faults))
		d.say("  %s  DigitalOcean recovers", inc.Until.Format("Mon 15:04"))
	}
	bar := newPlayBar(opts.ProgressOut, c.Start, c.End())
	d.Player.Progress = func(now time.Time) { bar.update(now, d.Invocations.Total()) }
	end := c.End().Add(-time.Second)
	if err := d.Player.Play(ctx, end); err != nil {
		bar.finish()
		return err
	}
	for limit := end.Add(settleLimit); d.Player.Busy() && d.Clock.Now().Before(limit); {
		if err := d.Player.Play(ctx, d.Clock.Now().Add(5*time.Minute)); err != nil {
			bar.finish()
			return err
		}
	}
	bar.finish()
	if opts.Verbose {
		d.tellWork()
	}
	d.say("  played to %s: %d invocations of the functions, %d moto requests, in %s",
		d.Clock.Now().Format("Mon 15:04"), d.Invocations.Total(), d.Proxy.Count(), time.Since(d.began).Round(time.Second))
	return nil
}

// tellWork prints each function's invocations and time, and the moto
// operations that took longest.
func (d *Demo) tellWork() {
	for _, fn := range d.Invocations.Names() {
		d.say("  %-10s %6d invocations, %6.1f s", fn, d.Invocations.Get(fn), float64(d.InvokeTime.Get(fn))/1000)
	}
	for i, op := range d.Proxy.Stats() {
		if i == maxTimedOps {
			break
		}
		d.say("  moto %-45s %6d requests, %6.1f s, %4.1f ms each",
			op.Op, op.N, op.Total.Seconds(), float64(op.Total.Microseconds())/1000/float64(op.N))
	}
	st := d.Player.Stats()
	d.say("  runner: %d clock steps, %d stream reads; deliveries %v; %d asynchronous invocations retried, %d dropped after the last retry",
		st.Steps, st.Pulls, st.Deliveries, st.AsyncFailures, st.AsyncDropped)
}

// maxTimedOps bounds the moto operations tellWork lists.
const maxTimedOps = 10

func countStuck(fs []scenario.Fault) int {
	n := 0
	for _, f := range fs {
		if f.Stuck {
			n++
		}
	}
	return n
}

// writeReport writes the escalation report of the incident ops was
// alerted about.
func (d *Demo) writeReport(ctx context.Context, opts DemoOptions) error {
	path := opts.ReportPath
	if path == "" {
		path = "demo-report.html"
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	written, err := d.renderReport(ctx, abs)
	if errors.Is(err, errNoIncident) {
		d.say("  no incident was opened: no escalation report")
		return nil
	}
	if err != nil {
		return err
	}
	d.ReportPath = abs
	secrets := d.secrets()
	for _, w := range written {
		if err := d.Summary.leaksInFile(secrets, w.Path); err != nil {
			return err
		}
	}
	d.say("")
	d.say("Escalation report (what ops forwards to DigitalOcean): %s (%d bytes)", abs, written[0].Bytes)
	for _, w := range written {
		if w.Format == escalation.FormatCSV {
			d.CSVPath = w.Path
			d.say("  and the affected calls it names, to attach: %s (%d bytes)", w.Path, w.Bytes)
		}
	}
	return nil
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
