package email

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff bounds the retries of a throttled send. The zero value means
// DefaultBackoff.
type Backoff struct {
	// Attempts is the most SendEmail calls for one message, the first
	// included.
	Attempts int
	// Base is the wait before the first retry; each retry doubles it.
	Base time.Duration
	// Max caps one wait.
	Max time.Duration
}

// DefaultBackoff makes at most 5 attempts, waiting about 0.2, 0.4, 0.8 and
// 1.6 s between them (3 s in all, well inside a Lambda's time): SES's
// sending rate is per second, so a throttled send usually goes through on
// the next second.
var DefaultBackoff = Backoff{Attempts: 5, Base: 200 * time.Millisecond, Max: 5 * time.Second}

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
// Base·2^(n-1) capped at Max, with "equal jitter" — half of it fixed, half
// drawn by jitter in [0, 1) — so that concurrent senders spread out but
// none retries at once.
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
