// Package backoff is the one rule for waiting between the retries of a
// call to a service outside snapkeep that asks to be called again later
// (SES throttling, Slack's 429s and 5xx): exponential waits, capped, with
// "equal jitter" so that concurrent callers spread out; and a sleep that
// ends with its context. (DigitalOcean's retries are the run service's
// own, in whole invocations; see shared/snapshot.)
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy bounds the retries of one call.
type Policy struct {
	// Attempts is the most calls, the first included.
	Attempts int
	// Base is the wait before the first retry; each retry doubles it.
	Base time.Duration
	// Max caps one wait.
	Max time.Duration
}

// Or fills what p leaves unset from def: all of it when p.Attempts is not
// positive, else a missing Base; Max is at least Base.
func (p Policy) Or(def Policy) Policy {
	if p.Attempts <= 0 {
		return def
	}
	if p.Base <= 0 {
		p.Base = def.Base
	}
	if p.Max < p.Base {
		p.Max = p.Base
	}
	return p
}

// Wait is the wait before retry number n (1 for the first retry):
// Base·2^(n-1) capped at Max, half of it fixed and half drawn by jitter
// in [0, 1), so that no caller retries at once and concurrent ones spread.
func (p Policy) Wait(n int, jitter func() float64) time.Duration {
	d := p.Base
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	if d > p.Max {
		d = p.Max
	}
	return d/2 + time.Duration(jitter()*float64(d/2))
}

// Jitter draws the random half of a wait.
func Jitter() float64 { return rand.Float64() }

// Sleep waits d, or returns ctx's error when ctx ends first.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
