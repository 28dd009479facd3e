package mailing

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/snapkeep/snapkeep/shared/backoff"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Bounds of a send rate (messages per second).
const (
	// MinRate is the slowest pace: one message a minute.
	MinRate = 1.0 / 60
	// MaxRate is the fastest: SES accounts are granted tens to a few
	// hundred a second; more than this is a typo.
	MaxRate = 1000.0
	// FallbackRate is the pace when the account's rate cannot be read
	// (SES's sandbox rate, and what moto answers nothing for).
	FallbackRate = 1.0
)

// Pacer spaces sends evenly at a rate: each Wait returns at least
// 1/rate after the previous one. Time lost to a slow send is not made
// up with a burst, so the rate is never exceeded over any interval. Not
// safe for concurrent use.
type Pacer struct {
	interval time.Duration
	now      func() time.Time
	sleep    func(ctx context.Context, d time.Duration) error
	next     time.Time
}

// NewPacer returns a Pacer at perSecond messages a second, or an error
// wrapping snapkeep.ErrInvalid when the rate is not in [MinRate,
// MaxRate]. now and sleep are the clock and the wait (nil: the real
// ones; sleep must return ctx's error when ctx ends first).
func NewPacer(perSecond float64, now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) (*Pacer, error) {
	if err := CheckRate(perSecond); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = backoff.Sleep
	}
	return &Pacer{interval: time.Duration(float64(time.Second) / perSecond), now: now, sleep: sleep}, nil
}

// CheckRate says what is wrong with a send rate, or returns nil.
func CheckRate(perSecond float64) error {
	if math.IsNaN(perSecond) || perSecond < MinRate || perSecond > MaxRate {
		return fmt.Errorf("send rate %g a second: want %g (one a minute) to %g: %w", perSecond, MinRate, MaxRate, snapkeep.ErrInvalid)
	}
	return nil
}

// Interval is the time between two sends.
func (p *Pacer) Interval() time.Duration { return p.interval }

// Wait returns when the next send may go, or ctx's error when ctx ends
// first.
func (p *Pacer) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := p.now()
	if p.next.Before(now) {
		p.next = now
	}
	d := p.next.Sub(now)
	p.next = p.next.Add(p.interval)
	if d <= 0 {
		return nil
	}
	return p.sleep(ctx, d)
}
