package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/snapkeep/snapkeep/infra/awslocal"
	"github.com/snapkeep/snapkeep/infra/triggers"
	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/secrets"
)

// The account, droplet and volume `snaplocal up` gives the fake
// DigitalOcean (the account's token, generated, is in Secrets Manager).
const (
	UpAccount = "acct-local"
	upDroplet = 3164444
	upVolume  = "506f78a4-e098-11e5-ad9f-000f53306ae1"
	upRegion  = "nyc3"
)

// DefaultUpMotoPort is moto's port under `snaplocal up`: the one
// events/env.json points sam local invoke at.
const DefaultUpMotoPort = 5000

// UpOptions configures runUp.
type UpOptions struct {
	// Out receives what happens.
	Out io.Writer
	// FunctionLog receives the functions' log lines; nil discards them.
	FunctionLog io.Writer
	// Tick is how often the runner steps the clock; 0 means one second.
	Tick time.Duration
	// MotoPort is moto's loopback port (events/env.json expects 5000);
	// 0 picks a free one.
	MotoPort int
	// Ready, if set, is called once the stack is up (tests).
	Ready func(ctx context.Context, st *Stack) error
}

// runUp starts the local stack with the template's default settings and
// plays it on the real clock until ctx ends, with the same Player as the
// demo: every tick it reads the schedule group back from moto (snapctl
// adds policies meanwhile), plans the deliveries due since the last tick,
// and delivers them, the follow-ups and the streams.
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
		MotoPort:     opts.MotoPort,
		Progress:     func(f string, a ...any) { say("  "+f, a...) },
	})
	if err != nil {
		return err
	}
	defer func() {
		say("stopping the local stack")
		st.Close()
	}()
	if err := seedUp(ctx, st); err != nil {
		return err
	}
	say("")
	say("snapkeep is running locally. In another shell:")
	say("  export AWS_ENDPOINT_URL=%s AWS_REGION=%s AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s",
		st.Moto.Endpoint, st.AWS.Region, awslocal.FakeAccessKeyID, awslocal.FakeSecretAccessKey)
	say("  snapctl customer put ...; snapctl policy put ... (account_id %s: droplet %d or volume %s, region %s)", UpAccount, upDroplet, upVolume, upRegion)
	say("Fake DigitalOcean API: %s (state: %s/_fake/state); account %s's token is in Secrets Manager.", st.DO.URL, st.DO.URL, UpAccount)
	say("Press Ctrl-C to stop.")
	say("")
	if opts.Ready != nil {
		if err := opts.Ready(ctx, st); err != nil {
			return err
		}
	}
	return upLoop(ctx, st, tick, say)
}

// seedUp gives the fake a token, a droplet and a volume.
func seedUp(ctx context.Context, st *Stack) error {
	token := dotest.NewToken()
	st.DO.AddToken(token)
	if err := st.DO.AddDroplet(dotest.Droplet{ID: upDroplet, Name: "local-web-1", Region: upRegion, Disk: 25}); err != nil {
		return step("seed the fake DigitalOcean", err)
	}
	if err := st.DO.AddVolume(dotest.Volume{ID: upVolume, Name: "local-data", Region: upRegion}); err != nil {
		return step("seed the fake DigitalOcean", err)
	}
	return step("store the account token", (&secrets.Store{Client: st.Secrets, Prefix: TokenSecretPrefix}).PutToken(ctx, UpAccount, token))
}

// upLoop steps the Player to the wall clock every tick.
func upLoop(ctx context.Context, st *Stack, tick time.Duration, say func(string, ...any)) error {
	tpl, err := triggers.ReadTemplate(st.Template(), Stage)
	if err != nil {
		return err
	}
	clock := &Clock{}
	last := time.Now().UTC().Truncate(time.Second)
	if err := clock.Set(last); err != nil {
		return err
	}
	p, err := newPlayer(ctx, st, tpl, clock)
	if err != nil {
		return err
	}
	own, err := templateSchedules(tpl, st, nil) // on the real clock, at the template's rates
	if err != nil {
		return err
	}
	// A rate(...) reconcile would start at once; the stream keeps the
	// schedules in step meanwhile.
	p.dirty[dynamo.Policies.LogicalID] = true
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		now := time.Now().UTC()
		group, err := triggers.ReadGroup(ctx, st.Scheduler, ScheduleGroup)
		if err != nil && ctx.Err() == nil {
			say("runner: %v", err)
		}
		due := triggers.Plan(append(group, own...), last, now, triggers.PlanOptions{})
		for _, d := range triggers.Plan(group, last, now, triggers.PlanOptions{}) {
			say("%s fires (slot %s)", d.Schedule, d.At.Format(time.RFC3339))
		}
		p.Schedule(due)
		last = now
		p.dirty[dynamo.Policies.LogicalID] = true
		if err := p.Play(ctx, now); err != nil {
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
