package dotest

import (
	"sync"
	"time"
)

// Clock is a settable clock for the fake, safe for concurrent use. Pass its
// Now to WithClock, or the Clock itself to WithVirtualClock so that the
// standalone admin endpoint /_fake/clock can move it too.
type Clock struct {
	mu     sync.Mutex
	wall   bool
	now    time.Time
	offset time.Duration
}

// NewClock returns a virtual clock standing still at start until it is
// advanced or set.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// NewWallClock returns a clock that follows the wall clock (time.Now) plus an
// offset that Advance and Set change; cmd/dofake uses it.
func NewWallClock() *Clock { return &Clock{wall: true} }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wall {
		return time.Now().Add(c.offset)
	}
	return c.now
}

// Advance moves the clock forward by d (backward when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wall {
		c.offset += d
		return
	}
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wall {
		c.offset = time.Until(t)
		return
	}
	c.now = t
}
