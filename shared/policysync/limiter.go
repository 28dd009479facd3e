package policysync

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/snapkeep/snapkeep/shared/backoff"
)

// Clock is the time a Limiter and a Reconciler see. Tests pass a virtual
// one, so that pacing and time budgets are exact and instant.
type Clock struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx ends, returning ctx's error then; nil
	// means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (c Clock) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c Clock) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	return backoff.Sleep(ctx, d)
}

// Limiter is a token bucket: it admits Rate requests a second on average
// and up to Burst at once after a quiet spell. It is safe for concurrent
// use; callers are admitted one at a time, and a caller that must wait
// sleeps holding the bucket, so the next one waits behind it. (That also
// keeps a virtual clock exact: only one caller sleeps at a time.)
//
// Pause stops all admissions for a while and empties the bucket: the
// caller that was throttled by the service backs the whole bucket off, not
// just itself, and no burst follows the pause.
type Limiter struct {
	rate, burst float64
	clock       Clock

	mu       sync.Mutex
	tokens   float64
	last     time.Time
	resumeAt time.Time
	waited   time.Duration
	admitted int
}

// NewLimiter returns a full bucket admitting rate requests a second with
// bursts of up to burst (at least 1). A rate of zero or less admits
// everything at once.
func NewLimiter(rate float64, burst int, clock Clock) *Limiter {
	b := math.Max(1, float64(burst))
	return &Limiter{rate: rate, burst: b, tokens: b, clock: clock}
}

// Rate is the bucket's average rate, in requests a second.
func (l *Limiter) Rate() float64 { return l.rate }

// Wait blocks until the bucket admits one request, or ctx ends (its error
// is returned and nothing is taken).
func (l *Limiter) Wait(ctx context.Context) error {
	if l.rate <= 0 {
		return ctx.Err()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := l.clock.now()
		l.refill(now)
		var d time.Duration
		switch {
		case now.Before(l.resumeAt):
			d = l.resumeAt.Sub(now)
		case l.tokens >= 1-1e-9:
			l.tokens = math.Max(0, l.tokens-1)
			l.admitted++
			return nil
		default:
			d = time.Duration(math.Ceil((1 - l.tokens) / l.rate * float64(time.Second)))
		}
		if err := l.clock.sleep(ctx, d); err != nil {
			return err
		}
		l.waited += d
	}
}

// Pause admits nothing for d from now and empties the bucket, which then
// refills from the end of the pause. A shorter pause never cuts a longer
// one short.
func (l *Limiter) Pause(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.now()
	l.refill(now)
	l.tokens = 0
	if until := now.Add(d); until.After(l.resumeAt) {
		l.resumeAt = until
	}
}

// Stats returns how many requests the bucket admitted and how long its
// callers slept waiting for it.
func (l *Limiter) Stats() (admitted int, waited time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.admitted, l.waited
}

// refill adds the tokens earned since the last look; time spent paused
// earns none.
func (l *Limiter) refill(now time.Time) {
	if l.last.IsZero() {
		l.last = now
		return
	}
	from := l.last
	if from.Before(l.resumeAt) {
		from = l.resumeAt
	}
	if earned := now.Sub(from); earned > 0 {
		l.tokens = math.Min(l.burst, l.tokens+earned.Seconds()*l.rate)
	}
	if now.After(l.last) {
		l.last = now
	}
}
