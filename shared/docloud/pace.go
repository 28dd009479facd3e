package docloud

import (
	"time"

	"github.com/digitalocean/godo"
)

// Rate-limit pacing policy. DigitalOcean allows 5,000 requests an hour and
// 250 a minute per token, and reports only the hourly budget, in the
// ratelimit-limit, ratelimit-remaining and ratelimit-reset headers
// (ratelimit-reset is when the oldest request in the window expires, Unix
// seconds).
const (
	// HourlyReserveDivisor sets the hourly reserve: once ratelimit-remaining
	// is at or below limit/HourlyReserveDivisor (at least 1), PaceDelay asks
	// to wait until ratelimit-reset. The reserve is left for on-demand runs,
	// retention and follow-ups rather than spent to the last request.
	HourlyReserveDivisor = 100
	// MinuteLimit is DigitalOcean's per-minute budget per token.
	MinuteLimit = 250
	// MinuteBudget is how many requests one Client sends in any trailing
	// minute before PaceDelay asks to wait (MinuteLimit less a reserve of
	// 10, for other Clients using the same token).
	MinuteBudget = MinuteLimit - 10
)

// Rate returns the rate-limit headers of the last response that had them
// (zero before any). It is safe for concurrent use.
func (c *Client) Rate() godo.Rate {
	c.tr.mu.Lock()
	defer c.tr.mu.Unlock()
	return c.tr.rate
}

// PaceDelay says how long to wait at now before sending the next request so
// that the token's budget is not spent to zero (which would earn a 429). It
// is zero when there is no need to wait. Call it before each request; when
// the delay is longer than the caller can afford, defer the work (and do
// not count it as a failure).
//
// Policy, the larger of:
//   - hourly: when the last seen ratelimit-remaining is at or below the
//     reserve (ratelimit-limit/HourlyReserveDivisor, at least 1) and
//     ratelimit-reset is after now, wait until ratelimit-reset. A reset in
//     the past means the window has moved on: no wait (the next response
//     brings fresh headers).
//   - per minute: when this Client has sent MinuteBudget requests in the
//     minute before now, wait until the oldest of them is a minute old.
//     Only this Client's requests are counted; DigitalOcean does not report
//     the minute budget.
func (c *Client) PaceDelay(now time.Time) time.Duration {
	c.tr.mu.Lock()
	defer c.tr.mu.Unlock()
	var d time.Duration
	if c.tr.rateSeen && c.tr.rate.Limit > 0 {
		reserve := c.tr.rate.Limit / HourlyReserveDivisor
		if reserve < 1 {
			reserve = 1
		}
		if c.tr.rate.Remaining <= reserve {
			if w := c.tr.rate.Reset.Time.Sub(now); w > 0 {
				d = w
			}
		}
	}
	c.tr.sent = pruneMinute(c.tr.sent, now)
	if n := len(c.tr.sent); n >= MinuteBudget {
		// The (n-MinuteBudget)th oldest must leave the window first.
		oldest := c.tr.sent[n-MinuteBudget]
		if w := oldest.Add(time.Minute).Sub(now); w > d {
			d = w
		}
	}
	return d
}
