package slack

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff bounds Post's retries of 429 without Retry-After, 5xx and
// network failures. The zero value means DefaultBackoff.
type Backoff struct {
	// Attempts is the most HTTP requests for one post, the first included.
	Attempts int
	// Base is the wait before the first retry; each retry doubles it.
	Base time.Duration
	// Max caps one wait.
	Max time.Duration
}

// DefaultBackoff makes at most 4 attempts, waiting about 1, 2 and 4 s
// between them: Slack's limits are per second, and an outage that lasts
// longer is better left to the caller's next try.
var DefaultBackoff = Backoff{Attempts: 4, Base: time.Second, Max: 8 * time.Second}

func (b Backoff) orDefault() Backoff {
	if b.Attempts <= 0 {
		return DefaultBackoff
	}
	if b.Base <= 0 {
		b.Base = DefaultBackoff.Base
	}
	if b.Max < b.Base {
		b.Max = b.Base
	}
	return b
}

// wait returns the wait before retry number n (1 for the first retry):
// Base·2^(n-1) capped at Max, half of it fixed and half drawn by jitter in
// [0, 1), so that concurrent posters spread out.
func (b Backoff) wait(n int, jitter func() float64) time.Duration {
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max {
		d = b.Max
	}
	return d/2 + time.Duration(jitter()*float64(d/2))
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// defaultJitter draws the random half of a wait.
func defaultJitter() float64 { return rand.Float64() }
