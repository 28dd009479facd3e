package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/infra/awslocal"
	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/runstream"
	"github.com/snapkeep/snapkeep/shared/secrets"
	"github.com/snapkeep/snapkeep/shared/snapshot"
)

// UpAccount is the DigitalOcean account `snaplocal up` registers (its
// token, generated for the fake, is stored in Secrets Manager).
const UpAccount = "acct-local"

// UpOptions configures runUp.
type UpOptions struct {
	// Out receives what happens.
	Out io.Writer
	// FunctionLog receives the functions' log lines; nil discards them.
	FunctionLog io.Writer
	// Tick is how often the runner looks at streams and schedules; 0 means
	// one second.
	Tick time.Duration
	// Ready, if set, is called once the stack is up (tests).
	Ready func(ctx context.Context, st *Stack) error
}

// runUp starts the local stack with the template's default settings and
// runs it on the real clock until ctx ends: it hands the Policies stream to
// the schedules function, fires the schedules it finds in moto's Scheduler
// when they are due, invokes the sweep every minute, and hands the Runs
// stream to errorrate and notify. snapctl, pointed at moto with the
// environment it prints, manages policies meanwhile.
func runUp(ctx context.Context, opts UpOptions) error {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	say := func(f string, a ...any) { fmt.Fprintf(out, f+"\n", a...) }
	tick := opts.Tick
	if tick <= 0 {
		tick = time.Second
	}
	st, err := startStack(ctx, StackOptions{
		DigitalOcean: []dotest.Option{dotest.WithActionDuration(30 * time.Second)},
		FunctionLog:  opts.FunctionLog,
		Progress:     func(f string, a ...any) { say("  "+f, a...) },
	})
	if err != nil {
		return err
	}
	defer func() {
		say("stopping the local stack")
		st.Close()
	}()

	token := dotest.NewToken()
	st.DO.AddToken(token)
	if err := st.DO.AddDroplet(dotest.Droplet{ID: webDroplet, Name: "local-web-1", Region: demoRegion, Disk: 25}); err != nil {
		return step("seed the fake DigitalOcean", err)
	}
	if err := st.DO.AddVolume(dotest.Volume{ID: dataVolume, Name: "local-data", Region: demoRegion}); err != nil {
		return step("seed the fake DigitalOcean", err)
	}
	if err := (&secrets.Store{Client: st.Secrets, Prefix: TokenSecretPrefix}).PutToken(ctx, UpAccount, token); err != nil {
		return step("store the account token", err)
	}

	say("")
	say("snapkeep is running locally. In another shell:")
	say("  export AWS_ENDPOINT_URL=%s AWS_REGION=%s AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s",
		st.Moto.Endpoint, st.AWS.Region, awslocal.FakeAccessKeyID, awslocal.FakeSecretAccessKey)
	say("  snapctl customer put ...; snapctl policy put ... (account_id %s: droplet %d or volume %s, region %s)", UpAccount, webDroplet, dataVolume, demoRegion)
	say("Fake DigitalOcean API: %s (state: %s/_fake/state); account %s's token is in Secrets Manager.", st.DO.URL, st.DO.URL, UpAccount)
	say("Press Ctrl-C to stop.")
	say("")
	if opts.Ready != nil {
		if err := opts.Ready(ctx, st); err != nil {
			return err
		}
	}

	r := &upRunner{st: st, say: say,
		policies: awslocal.NewStreamReader(st.AWS, st.TableName(dynamo.Policies)),
		runs:     awslocal.NewStreamReader(st.AWS, st.TableName(dynamo.Runs)),
		last:     time.Now().UTC(),
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if err := r.step(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			say("runner: %v", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// upRunner is the real-clock runner of `snaplocal up`.
type upRunner struct {
	st             *Stack
	say            func(string, ...any)
	policies, runs *awslocal.StreamReader
	last           time.Time // schedules have fired up to here
	lastSweep      time.Time
}

func (r *upRunner) step(ctx context.Context) error {
	recs, err := r.policies.Read(ctx)
	if err != nil {
		return err
	}
	if len(recs) > 0 {
		if err := r.handStream(ctx, "schedules", recs); err != nil {
			return err
		}
		r.say("schedules function: %d Policies stream records", len(recs))
	}
	now := time.Now().UTC()
	scheds, err := readSchedules(ctx, r.st.Scheduler, ScheduleGroup)
	if err != nil {
		return err
	}
	for _, f := range firings(scheds, ScheduleGroup, r.last, now, 10) {
		out, err := r.invoke(ctx, f.Input)
		if err != nil {
			r.say("%s fired at %s: %v", f.Schedule, f.At.Format(time.RFC3339), err)
			continue
		}
		r.say("%s fired at %s: %s", f.Schedule, f.At.Format(time.RFC3339), out)
	}
	r.last = now
	if now.Sub(r.lastSweep) >= time.Minute {
		r.lastSweep = now
		raw, err := r.invoke(ctx, []byte(`{"sweep": true}`))
		var out snapshot.Outcome
		switch {
		case err != nil:
			r.say("sweep: %v", err)
		case json.Unmarshal(raw, &out) != nil:
			r.say("sweep: unexpected response %s", raw)
		case out.Due > 0:
			r.say("sweep: %d unfinished runs due, %d handled, %d failed", out.Due, out.Handled, out.Failed)
		}
	}
	recs, err = r.runs.Read(ctx)
	if err != nil {
		return err
	}
	if len(recs) > 0 {
		for _, rec := range recs {
			if ch, err := runstream.Decode(rec); err == nil && ch.Finished() {
				r.say("run %s: %s %s %s", ch.New.RunID, ch.New.Status, ch.New.ErrorClass, ch.New.ProviderRequestID)
			}
		}
		for _, fn := range []string{"errorrate", "notify"} {
			if err := r.handStream(ctx, fn, recs); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *upRunner) invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return r.st.Functions["snapshot"].Invoke(ctx, payload)
}

func (r *upRunner) handStream(ctx context.Context, fn string, recs []events.DynamoDBEventRecord) error {
	payload, err := json.Marshal(events.DynamoDBEvent{Records: recs})
	if err != nil {
		return err
	}
	out, err := r.st.Functions[fn].Invoke(ctx, payload)
	if err != nil {
		return fmt.Errorf("%s function: %w", fn, err)
	}
	var resp events.DynamoDBEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return fmt.Errorf("%s function: response %q: %w", fn, out, err)
	}
	if n := len(resp.BatchItemFailures); n > 0 {
		r.say("%s function: %d of %d records failed (not retried by the local runner)", fn, n, len(recs))
	}
	return nil
}
