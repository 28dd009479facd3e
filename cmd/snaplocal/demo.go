package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/snapkeep/snapkeep/infra/awslocal"
	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/runstream"
	"github.com/snapkeep/snapkeep/shared/secrets"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/snapshot"
)

// Demo settings. The function binaries read the real clock, so the demo's
// first slot is the current minute and the slot window is one minute: a
// snapshot request DigitalOcean refuses with a server error cannot be
// retried within the slot's window (the retry would come a minute later),
// so the run fails at once with its class, as a real run does at the end of
// its window. Later slots come from the schedules on the runner's virtual
// clock (an hour later), which the functions see as slots in the future.
const (
	// SlotWindowMinutes is the snapshot function's SLOT_WINDOW_MINUTES.
	SlotWindowMinutes = 1
	// RunDeadlineHours is the snapshot function's RUN_DEADLINE_HOURS.
	RunDeadlineHours = 1
	// ActionDuration is how long the fake's droplet snapshot actions run
	// (wall clock).
	ActionDuration = 2 * time.Second
	// freshSeconds: the first slot must be at most this old when seeding
	// starts, or the demo waits for the next minute.
	freshSeconds = 40
)

// The demo's customer, account and resources.
const (
	demoCustomer = "acme"
	demoAccount  = "acct-acme"
	webPolicy    = "pol-web"
	dataPolicy   = "pol-data"
	oldPolicy    = "pol-old"
	webDroplet   = 3164444
	oldDroplet   = 3164555
	dataVolume   = "506f78a4-e098-11e5-ad9f-000f53306ae1"
	demoRegion   = "nyc3"
)

// DemoOptions configures runDemo.
type DemoOptions struct {
	// Out receives the narrative.
	Out io.Writer
	// FunctionLog receives the functions' JSON log lines; nil discards them.
	FunctionLog io.Writer
	// MotoLog receives moto's output; nil discards it.
	MotoLog io.Writer
	// Inspect, if set, is called after the story and before teardown (tests
	// look at the stack with it).
	Inspect func(ctx context.Context, d *Demo) error
	// SnapshotEnv overrides the snapshot function's environment (tests).
	SnapshotEnv map[string]string
}

// Demo is a running demo: the stack and what the demo made in it.
type Demo struct {
	*Stack
	// Token is the DigitalOcean token generated for the demo (never printed).
	Token string
	// FirstSlot is the first round's slot (the current minute).
	FirstSlot time.Time
	// Fired are the runs the demo's rounds started, in order.
	Fired []snapkeep.RunKey
	// Handed counts the stream records handed to each stream function.
	Handed map[string]int

	out     io.Writer
	began   time.Time
	logs    *lockedBuffer
	runs    *dynamo.RunStore
	calls   *dynamo.APICallStore
	runsStr *awslocal.StreamReader
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runDemo runs the whole demo and tears everything down.
func runDemo(ctx context.Context, opts DemoOptions) (err error) {
	d := &Demo{out: opts.Out, began: time.Now(), logs: &lockedBuffer{}, Handed: map[string]int{}}
	if d.out == nil {
		d.out = io.Discard
	}
	var fnLog io.Writer = d.logs
	if opts.FunctionLog != nil {
		fnLog = io.MultiWriter(d.logs, opts.FunctionLog)
	}
	d.say("snapkeep local demo: the real function binaries, moto for AWS and a fake DigitalOcean API.")
	d.say("No AWS account and no DigitalOcean token are used.")
	d.say("")
	d.section("Starting the local stack")
	snapshotEnv := map[string]string{
		"SLOT_WINDOW_MINUTES": fmt.Sprint(SlotWindowMinutes),
		"RUN_DEADLINE_HOURS":  fmt.Sprint(RunDeadlineHours),
	}
	for k, v := range opts.SnapshotEnv {
		snapshotEnv[k] = v
	}
	st, err := startStack(ctx, StackOptions{
		SnapshotEnv:  snapshotEnv,
		DigitalOcean: []dotest.Option{dotest.WithActionDuration(ActionDuration), dotest.WithSeed(1)},
		FunctionLog:  fnLog,
		MotoLog:      opts.MotoLog,
		Progress:     func(f string, a ...any) { d.say("  "+f, a...) },
	})
	if err != nil {
		d.say("")
		d.section("Tearing down: what was started is stopped again")
		return err
	}
	defer func() {
		d.say("")
		d.section("Tearing down (functions, fake DigitalOcean, moto, temporary files)")
		st.Close()
		if err == nil {
			d.say("Demo finished in %s.", time.Since(d.began).Round(time.Second))
		}
	}()
	d.Stack = st
	d.runs = &dynamo.RunStore{Client: st.DynamoDB, Table: st.TableName(dynamo.Runs), CallsTable: st.TableName(dynamo.APICalls)}
	d.calls = &dynamo.APICallStore{Client: st.DynamoDB, Table: st.TableName(dynamo.APICalls)}
	d.runsStr = awslocal.NewStreamReader(st.AWS, st.TableName(dynamo.Runs))

	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"seed customer, token and policies", d.seed},
		{"sync schedules from the Policies stream", d.syncSchedules},
		{"round 1", d.roundOne},
		{"round 2", d.roundTwo},
		{"support view", d.supportView},
		{"token check", d.tokenCheck},
	}
	for _, s := range steps {
		if err := s.fn(ctx); err != nil {
			var se *stepError
			if errors.As(err, &se) {
				return err
			}
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

func (d *Demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, format+"\n", args...)
}

func (d *Demo) section(title string) {
	d.say("[%3ds] %s", int(time.Since(d.began).Seconds()), title)
}

// FunctionLogs returns everything the functions logged so far.
func (d *Demo) FunctionLogs() string { return d.logs.String() }

// ------------------------------------------------------------------ seed

func (d *Demo) seed(ctx context.Context) error {
	// The first slot is the current minute; make sure enough of it is left
	// to seed and fire before the one-minute slot window closes.
	now := time.Now().UTC()
	if now.Second() > freshSeconds {
		wait := now.Truncate(time.Minute).Add(time.Minute + 500*time.Millisecond).Sub(now)
		d.say("  (waiting %ds for the next whole minute: the first slot must be fresh, the slot window is %d minute)", int(wait.Seconds()+0.5), SlotWindowMinutes)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		now = time.Now().UTC()
	}
	slot := now.Truncate(time.Minute)
	d.FirstSlot = slot

	d.say("")
	d.section("Seeding: one customer, one DigitalOcean account, three backup policies")
	// The fake DigitalOcean: the account's token, its resources and the
	// snapshots they already have.
	d.Token = dotest.NewToken()
	d.DO.AddToken(d.Token)
	for _, dr := range []dotest.Droplet{
		{ID: webDroplet, Name: "acme-web-1", Region: demoRegion, Disk: 25},
		{ID: oldDroplet, Name: "acme-legacy", Region: demoRegion, Disk: 50},
	} {
		if err := d.DO.AddDroplet(dr); err != nil {
			return fmt.Errorf("fake DigitalOcean: %w", err)
		}
	}
	if err := d.DO.AddVolume(dotest.Volume{ID: dataVolume, Name: "acme-data", Region: demoRegion, SizeGigaBytes: 100}); err != nil {
		return fmt.Errorf("fake DigitalOcean: %w", err)
	}
	existing := []dotest.Snapshot{
		{Name: "acme-web-before-upgrade", ResourceType: "droplet", ResourceID: fmt.Sprint(webDroplet), CreatedAt: slot.Add(-30 * 24 * time.Hour)},
		{Name: snapshot.SnapshotName(snapkeep.NewRunKey(webPolicy, slot.Add(-3*time.Hour))), ResourceType: "droplet", ResourceID: fmt.Sprint(webDroplet), CreatedAt: slot.Add(-3 * time.Hour)},
		{Name: snapshot.SnapshotName(snapkeep.NewRunKey(webPolicy, slot.Add(-2*time.Hour))), ResourceType: "droplet", ResourceID: fmt.Sprint(webDroplet), CreatedAt: slot.Add(-2 * time.Hour)},
		{Name: snapshot.SnapshotName(snapkeep.NewRunKey(webPolicy, slot.Add(-1*time.Hour))), ResourceType: "droplet", ResourceID: fmt.Sprint(webDroplet), CreatedAt: slot.Add(-1 * time.Hour)},
		{Name: snapshot.SnapshotName(snapkeep.NewRunKey(dataPolicy, slot.Add(-48*time.Hour))), ResourceType: "volume", ResourceID: dataVolume, CreatedAt: slot.Add(-48 * time.Hour)},
		{Name: snapshot.SnapshotName(snapkeep.NewRunKey(dataPolicy, slot.Add(-24*time.Hour))), ResourceType: "volume", ResourceID: dataVolume, CreatedAt: slot.Add(-24 * time.Hour)},
	}
	for _, sn := range existing {
		if _, err := d.DO.AddSnapshot(sn); err != nil {
			return fmt.Errorf("fake DigitalOcean: %w", err)
		}
	}
	d.say("  fake DigitalOcean: droplets %d (acme-web-1) and %d (acme-legacy), volume %s (acme-data),", webDroplet, oldDroplet, short(dataVolume))
	d.say("  with 3 earlier snapkeep snapshots of the web droplet, 2 of the volume and one the customer made by hand")

	// snapkeep's side, through the same stores and secret store snapctl uses.
	tokens := &secrets.Store{Client: d.Secrets, Prefix: TokenSecretPrefix}
	if err := tokens.PutToken(ctx, demoAccount, d.Token); err != nil {
		return fmt.Errorf("store the account token: %w", err)
	}
	d.say("  account %s: a freshly generated DigitalOcean token, stored in Secrets Manager as %s%s (never printed)", demoAccount, TokenSecretPrefix, demoAccount)
	customers := &dynamo.CustomerStore{Client: d.DynamoDB, Table: d.TableName(dynamo.Customers)}
	if err := customers.Put(ctx, &snapkeep.Customer{CustomerID: demoCustomer, Name: "Acme Corp", Email: "alerts@acme.example", NotificationMode: snapkeep.NotifyEveryFailure}); err != nil {
		return fmt.Errorf("store the customer: %w", err)
	}
	d.say("  customer %s (Acme Corp, emails about every failure to alerts@acme.example)", demoCustomer)

	m, h := slot.Minute(), slot.Hour()
	policies := []snapkeep.Policy{
		{PolicyID: webPolicy, CustomerID: demoCustomer, AccountID: demoAccount,
			Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: fmt.Sprint(webDroplet), Region: demoRegion},
			Schedule: fmt.Sprintf("cron(%d * * * ? *)", m), Retention: snapkeep.Retention{KeepLast: 3}, Enabled: true},
		{PolicyID: dataPolicy, CustomerID: demoCustomer, AccountID: demoAccount,
			Resource: snapkeep.Resource{Kind: snapkeep.ResourceVolume, ID: dataVolume, Region: demoRegion},
			Schedule: fmt.Sprintf("cron(%d %d * * ? *)", m, h), Retention: snapkeep.Retention{KeepLast: 2}, Enabled: true},
		{PolicyID: oldPolicy, CustomerID: demoCustomer, AccountID: demoAccount,
			Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: fmt.Sprint(oldDroplet), Region: demoRegion},
			Schedule: "cron(0 3 * * ? *)", Retention: snapkeep.Retention{KeepLast: 7}, Enabled: false},
	}
	store := &dynamo.PolicyStore{Client: d.DynamoDB, Table: d.TableName(dynamo.Policies)}
	for i := range policies {
		p := &policies[i]
		if err := p.Validate(); err != nil {
			return fmt.Errorf("demo policy: %w", err)
		}
		if err := store.Put(ctx, p); err != nil {
			return fmt.Errorf("store policy %s: %w", p.PolicyID, err)
		}
	}
	d.say("  policy %-8s droplet %d   every hour at :%02d (%s), keep the last 3", webPolicy, webDroplet, m, policies[0].Schedule)
	d.say("  policy %-8s volume  %s  every day at %02d:%02d UTC (%s), keep the last 2", dataPolicy, short(dataVolume), h, m, policies[1].Schedule)
	d.say("  policy %-8s droplet %d   every day at 03:00 UTC, PAUSED", oldPolicy, oldDroplet)
	return nil
}

// ------------------------------------------------------------- schedules

func (d *Demo) syncSchedules(ctx context.Context) error {
	d.say("")
	d.section("The schedules function follows the Policies table's stream")
	policies := awslocal.NewStreamReader(d.AWS, d.TableName(dynamo.Policies))
	total := 0
	// The function may write back (an invalid policy is marked), which
	// makes new records; hand them over until the stream is quiet.
	for pass := 0; pass < 5; pass++ {
		recs, err := policies.Read(ctx)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			break
		}
		total += len(recs)
		failures, err := d.invokeStream(ctx, "schedules", recs)
		if err != nil {
			return err
		}
		if failures > 0 {
			return fmt.Errorf("the schedules function reported %d of %d records as failed (see its log)", failures, len(recs))
		}
	}
	d.say("  %d Policies stream records → schedules function (Lambda event source mapping, emulated)", total)
	scheds, err := readSchedules(ctx, d.Scheduler, ScheduleGroup)
	if err != nil {
		return err
	}
	if len(scheds) == 0 {
		return errors.New("the schedules function created no schedule")
	}
	d.say("  EventBridge Scheduler (moto), group %s:", ScheduleGroup)
	for _, s := range scheds {
		state := "ENABLED "
		if !s.Enabled {
			state = "DISABLED"
		}
		d.say("    %-8s %s  %-22s %s → %s", s.Name, state, s.Expression, s.TimeZone, lastPart(s.TargetARN))
	}
	d.say("    input: %s", scheds[0].Input)
	return nil
}

// invokeStream hands stream records to a stream function in one batch and
// returns how many it reported as failed.
func (d *Demo) invokeStream(ctx context.Context, fn string, recs []events.DynamoDBEventRecord) (int, error) {
	payload, err := json.Marshal(events.DynamoDBEvent{Records: recs})
	if err != nil {
		return 0, err
	}
	out, err := d.Functions[fn].Invoke(ctx, payload)
	if err != nil {
		return 0, fmt.Errorf("%s function: %w", fn, err)
	}
	var resp events.DynamoDBEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return 0, fmt.Errorf("%s function: response %q: %w", fn, out, err)
	}
	d.Handed[fn] += len(recs)
	return len(resp.BatchItemFailures), nil
}

// ---------------------------------------------------------------- rounds

func (d *Demo) roundOne(ctx context.Context) error {
	d.say("")
	d.section(fmt.Sprintf("Round 1 — slot %s UTC: DigitalOcean answers \"Server Error\" to droplet snapshot requests", d.FirstSlot.Format("15:04")))
	id, err := d.DO.AddFault(dotest.Fault{Kind: dotest.FaultStatus, Status: 500, Body: dotest.BodyJSON, Operation: dotest.OpDropletSnapshot})
	if err != nil {
		return fmt.Errorf("inject the fault: %w", err)
	}
	d.say("  fault injected in the fake: POST /v2/droplets/{id}/actions → 500 server_error (volume requests are fine)")
	if late := time.Since(d.FirstSlot); late >= SlotWindowMinutes*time.Minute {
		return fmt.Errorf("the first slot %s is already %s old, past its %d-minute window: this machine was too slow; run the demo again", d.FirstSlot.Format(time.RFC3339), late.Round(time.Second), SlotWindowMinutes)
	}
	if err := d.round(ctx, d.FirstSlot.Add(-time.Second), d.FirstSlot); err != nil {
		return err
	}
	d.DO.RemoveFault(id)
	return nil
}

func (d *Demo) roundTwo(ctx context.Context) error {
	next := d.FirstSlot.Add(time.Hour)
	d.say("")
	d.section(fmt.Sprintf("Round 2 — slot %s UTC (the runner's virtual clock moves an hour on): DigitalOcean has recovered", next.Format("15:04")))
	d.say("  fault removed")
	return d.round(ctx, d.FirstSlot, next)
}

// round moves the virtual clock from from to to: it fires every schedule
// due in between, follows the runs to their end, hands the Runs stream to
// errorrate and notify, and tells what happened.
func (d *Demo) round(ctx context.Context, from, to time.Time) error {
	scheds, err := readSchedules(ctx, d.Scheduler, ScheduleGroup)
	if err != nil {
		return err
	}
	due := firings(scheds, ScheduleGroup, from, to, 100)
	if len(due) == 0 {
		return fmt.Errorf("no schedule fires between %s and %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	var keys []snapkeep.RunKey
	for _, f := range due {
		if f.TargetARN != d.Functions["snapshot"].ARN() {
			return fmt.Errorf("schedule %s targets %s, not the snapshot function", f.Schedule, f.TargetARN)
		}
		d.say("  Scheduler fires %s: %s", f.Schedule, f.Input)
		out, err := d.invokeSnapshot(ctx, f.Input)
		if err != nil {
			return err
		}
		d.say("    snapshot function: %s, run %s", out.Action, out.Status)
		key := snapkeep.NewRunKey(f.Schedule, f.At)
		keys = append(keys, key)
		d.Fired = append(d.Fired, key)
	}
	for _, s := range scheds {
		if !s.Enabled {
			d.say("  %s is paused: its schedule is DISABLED and never fires", s.Name)
		} else if t, ok := s.Next(to); ok && !containsSchedule(due, s.Name) {
			d.say("  %s is not due: next slot %s UTC", s.Name, t.UTC().Format("2006-01-02 15:04"))
		}
	}
	if err := d.settle(ctx, keys); err != nil {
		return err
	}
	if err := d.streamRuns(ctx); err != nil {
		return err
	}
	d.say("  Outcome:")
	for _, k := range keys {
		if err := d.tellRun(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

func containsSchedule(fs []Firing, name string) bool {
	for _, f := range fs {
		if f.Schedule == name {
			return true
		}
	}
	return false
}

func (d *Demo) invokeSnapshot(ctx context.Context, payload []byte) (*snapshot.Outcome, error) {
	raw, err := d.Functions["snapshot"].Invoke(ctx, payload)
	if err != nil {
		return nil, fmt.Errorf("snapshot function (%s): %w", payload, err)
	}
	var out snapshot.Outcome
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("snapshot function: response %q: %w", raw, err)
	}
	return &out, nil
}

// settle follows the round's runs until every one is terminal: it invokes
// the sweep (Scheduler's one-minute {"sweep": true}) and, for a run the
// sweep leaves because its next check is still ahead on the real clock (a
// droplet snapshot action is looked at a minute after it started), a
// follow-up ({"follow_up": true}) so that the demo need not wait the minute.
func (d *Demo) settle(ctx context.Context, keys []snapkeep.RunKey) error {
	deadline := time.Now().Add(2 * time.Minute)
	told := map[string]bool{}
	for {
		sweep, err := d.invokeSnapshot(ctx, []byte(`{"sweep": true}`))
		if err != nil {
			return err
		}
		if sweep.Due > 0 {
			d.say("  sweep: %d unfinished runs due, %d handled", sweep.Due, sweep.Handled)
		}
		var pending []*snapkeep.Run
		for _, k := range keys {
			run, err := d.runs.Get(ctx, k)
			if err != nil {
				return fmt.Errorf("read run %s: %w", k, err)
			}
			if !run.Status.Terminal() {
				pending = append(pending, run)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var s []string
			for _, r := range pending {
				s = append(s, r.RunID+" "+string(r.Status)+" "+r.ErrorDetail)
			}
			return fmt.Errorf("runs still unfinished after 2 minutes: %s", strings.Join(s, "; "))
		}
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
		for _, r := range pending {
			if !told[r.RunID] {
				told[r.RunID] = true
				what := "the run"
				if r.ActionID != 0 {
					what = fmt.Sprintf("snapshot action %d", r.ActionID)
				}
				d.say("  %s is %s: following %s with follow-up checks (AWS: the one-minute sweep)", r.PolicyID, r.Status, what)
			}
			in, _ := json.Marshal(snapshot.Request{PolicyID: r.PolicyID, ScheduledTime: r.Key().Slot(), FollowUp: true})
			if _, err := d.invokeSnapshot(ctx, in); err != nil {
				return err
			}
		}
	}
}

// streamRuns hands the new Runs stream records to errorrate and notify.
func (d *Demo) streamRuns(ctx context.Context) error {
	recs, err := d.runsStr.Read(ctx)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	finished := 0
	for _, r := range recs {
		if ch, err := runstream.Decode(r); err == nil && ch.Finished() {
			finished++
		}
	}
	for _, fn := range []string{"errorrate", "notify"} {
		failures, err := d.invokeStream(ctx, fn, recs)
		if err != nil {
			return err
		}
		if failures > 0 {
			return fmt.Errorf("the %s function reported %d of %d records as failed (see its log)", fn, failures, len(recs))
		}
	}
	d.say("  Runs stream: %s (%s finished) → errorrate and notify functions, no failed records", plural(len(recs), "record"), plural(finished, "run"))
	return nil
}

// tellRun tells a run's outcome in plain words.
func (d *Demo) tellRun(ctx context.Context, key snapkeep.RunKey) error {
	run, err := d.runs.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("read run %s: %w", key, err)
	}
	calls, err := d.calls.ListByRun(ctx, run.RunID)
	if err != nil {
		return fmt.Errorf("api calls of %s: %w", run.RunID, err)
	}
	res := fmt.Sprintf("%s %s", run.Kind, run.Resource.ID)
	if run.Kind == snapkeep.ResourceVolume {
		res = fmt.Sprintf("%s %s", run.Kind, short(run.Resource.ID))
	}
	mark := "✓"
	if run.Status != snapkeep.RunSucceeded {
		mark = "✗"
	}
	head := fmt.Sprintf("  %s %-8s %-17s slot %s  %s", mark, run.PolicyID, res, run.ScheduledAt.UTC().Format("15:04 UTC"), strings.ToUpper(string(run.Status)))
	switch run.Status {
	case snapkeep.RunSucceeded:
		d.say("%s: snapshot %s (%s)", head, short(run.SnapshotID), run.SnapshotName)
		if r := run.Retention; r != nil {
			d.say("      retention: kept %d, deleted %d%s", r.Kept, len(r.Deleted), d.deletedNames(r.Deleted))
		}
	case snapkeep.RunFailed, snapkeep.RunTimedOut:
		info := run.ErrorClass.Info()
		d.say("%s: %s", head, run.ErrorClass)
		provider := ""
		if run.ProviderMessage != "" {
			provider = fmt.Sprintf(": %q (HTTP %d, %s)", run.ProviderMessage, run.HTTPStatus, run.ProviderErrorID)
		}
		d.say("      what happened: %s%s", info.Cause, provider)
		if info.ServerAffected {
			d.say("      your server: affected")
		} else {
			d.say("      your server: fine, only this backup failed")
		}
		switch {
		case info.CustomerAction != "":
			d.say("      what to do: %s", info.CustomerAction)
		case info.Retried:
			d.say("      what to do: nothing; snapkeep tries again at the next slot on its own")
		}
		if run.ProviderRequestID != "" {
			d.say("      DigitalOcean request id: %s (what DigitalOcean's support asks for)", run.ProviderRequestID)
		}
	default:
		d.say("%s: %s", head, run.ErrorDetail)
	}
	var parts []string
	for _, c := range calls {
		p := fmt.Sprintf("%s %s → %d", c.Method, c.Path, c.StatusCode)
		if c.ErrorID != "" {
			p += " " + c.ErrorID
		}
		if c.TransportError != "" {
			p += " " + c.TransportError
		}
		if c.ProviderRequestID != "" {
			p += " (request " + short(c.ProviderRequestID) + ")"
		}
		parts = append(parts, p)
	}
	d.say("      %s logged in ApiCalls:", plural(len(calls), "DigitalOcean API call"))
	for _, p := range parts {
		d.say("        %s", p)
	}
	return nil
}

func (d *Demo) deletedNames(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	names := map[string]string{}
	for _, s := range d.DO.Deleted() {
		names[s.ID] = s.Name
	}
	var out []string
	for _, id := range ids {
		if n := names[id]; n != "" {
			out = append(out, n)
		} else {
			out = append(out, id)
		}
	}
	return " (" + strings.Join(out, ", ") + ")"
}

// ----------------------------------------------------------- support view

func (d *Demo) supportView(ctx context.Context) error {
	d.say("")
	d.section("What support and ops see (the queries snapctl wraps)")
	failed, err := d.runs.Failures(ctx, snapkeep.ClassProviderError, d.FirstSlot.Add(-time.Hour))
	if err != nil {
		return err
	}
	d.say("  \"Who got Server Error today?\"  Runs failures-by-class (provider_error): %s", plural(len(failed), "run"))
	for _, r := range failed {
		d.say("    %s  %s  %s", r.RunID, r.ResourceKey, r.ErrorDetail)
	}
	if len(failed) > 0 && failed[0].ProviderRequestID != "" {
		id := failed[0].ProviderRequestID
		calls, err := d.calls.ByRequestID(ctx, id)
		if err != nil {
			return err
		}
		d.say("  \"DigitalOcean asks about request %s\"  ApiCalls by-request-id: %s", short(id), plural(len(calls), "call"))
		for _, c := range calls {
			d.say("    %s seq %d: %s %s → %d %s at %s, Authorization %s", c.RunID, c.Seq, c.Method, c.Path, c.StatusCode, c.ErrorID,
				c.StartedAt.UTC().Format(time.RFC3339), c.RequestHeaders["authorization"])
		}
	}
	history, err := d.runs.ListByResource(ctx, snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: fmt.Sprint(webDroplet)}.Key(), time.Time{})
	if err != nil {
		return err
	}
	d.say("  \"Did the backups of droplet %d run?\"  Runs by-resource: %s", webDroplet, plural(len(history), "run"))
	for _, r := range history {
		d.say("    %s  %s %s", r.ScheduledAt.UTC().Format("2006-01-02 15:04"), r.Status, r.ErrorClass)
	}
	if err := d.tellEmails(ctx); err != nil {
		return err
	}
	return d.summary(ctx)
}

// summary sums up the runs the demo fired.
func (d *Demo) summary(ctx context.Context) error {
	byStatus := map[snapkeep.RunStatus]int{}
	var classes []string
	calls, deleted := 0, 0
	for _, k := range d.Fired {
		r, err := d.runs.Get(ctx, k)
		if err != nil {
			return fmt.Errorf("read run %s: %w", k, err)
		}
		byStatus[r.Status]++
		calls += r.APICalls
		if r.ErrorClass != "" {
			classes = append(classes, string(r.ErrorClass))
		}
		if r.Retention != nil {
			deleted += len(r.Retention.Deleted)
		}
	}
	foreign := "deleted (it should not be!)"
	for _, sn := range d.DO.Snapshots() {
		if sn.Name == "acme-web-before-upgrade" {
			foreign = "untouched"
		}
	}
	d.say("  In short: %s fired (%d succeeded, %d failed: %s), %s logged, %s deleted by retention;",
		plural(len(d.Fired), "run"), byStatus[snapkeep.RunSucceeded], byStatus[snapkeep.RunFailed]+byStatus[snapkeep.RunTimedOut],
		strings.Join(classes, ", "), plural(calls, "DigitalOcean API call"), plural(deleted, "old snapkeep snapshot"))
	d.say("  the snapshot the customer made by hand is %s.", foreign)
	return nil
}

// tellEmails lists the emails moto's SES accepted (notify's and
// errorrate's, once they send any).
func (d *Demo) tellEmails(ctx context.Context) error {
	mails, err := awslocal.SentEmails(ctx, d.Moto.Endpoint)
	if err != nil {
		return err
	}
	if len(mails) == 0 {
		d.say("  Emails sent through SES (moto): none yet")
		return nil
	}
	d.say("  Emails sent through SES (moto): %d", len(mails))
	for _, m := range mails {
		d.say("    to %s: %s", strings.Join(m.Recipients(), ", "), m.Subject)
	}
	return nil
}

// ------------------------------------------------------------ token check

// tokenCheck scans every table and the functions' logs for the token.
func (d *Demo) tokenCheck(ctx context.Context) error {
	d.say("")
	d.section("Secret hygiene: looking for the generated token everywhere it must not be")
	names := make([]string, 0, len(d.Tables))
	for _, n := range d.Tables {
		names = append(names, n)
	}
	sort.Strings(names)
	items := 0
	for _, name := range names {
		n, found, err := scanFor(ctx, d.DynamoDB, name, d.Token)
		if err != nil {
			return err
		}
		if found {
			return fmt.Errorf("the DigitalOcean token was found in table %s", name)
		}
		items += n
	}
	if strings.Contains(d.FunctionLogs(), d.Token) {
		return errors.New("the DigitalOcean token was found in a function's log")
	}
	d.say("  not in any of the %d tables (%d items scanned), not in the functions' logs, and never printed here", len(names), items)
	return nil
}

// scanFor scans a table and reports how many items it has and whether any
// holds needle.
func scanFor(ctx context.Context, c *dynamodb.Client, table, needle string) (int, bool, error) {
	n := 0
	p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n, false, fmt.Errorf("scan %s: %w", table, err)
		}
		for _, item := range page.Items {
			n++
			var m map[string]any
			if err := attributevalue.UnmarshalMap(item, &m); err != nil {
				return n, false, fmt.Errorf("scan %s: %w", table, err)
			}
			b, err := json.Marshal(m)
			if err != nil {
				return n, false, fmt.Errorf("scan %s: %w", table, err)
			}
			if strings.Contains(string(b), needle) {
				return n, true, nil
			}
		}
	}
	return n, false, nil
}

// plural says "1 run" or "2 runs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// short abbreviates a long id for the narrative.
func short(id string) string {
	if len(id) > 13 {
		return id[:8] + "…"
	}
	return id
}

func lastPart(arn string) string {
	if i := strings.LastIndexByte(arn, ':'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
