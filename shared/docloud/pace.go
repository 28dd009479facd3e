package docloud

import (
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/digitalocean/godo"
)

// Rate-limit pacing policy. DigitalOcean allows 5,000 requests an hour and
// 250 a minute per token. Every response reports the hourly budget in the
// ratelimit-limit, ratelimit-remaining and ratelimit-reset headers
// (ratelimit-reset is when the oldest request of the hour expires, Unix
// seconds). The minute budget is reported only when it is spent: a burst
// 429 carries ratelimit-remaining 0, a ratelimit-reset up to an hour ahead
// (the hourly window's, not the minute's) and retry-after, the seconds to
// wait. A 429 of the spent hourly budget has no retry-after.
const (
	// HourlyReserveDivisor sets the hourly reserve: once ratelimit-remaining
	// (of a response that is not a burst 429) is at or below
	// limit/HourlyReserveDivisor (at least 1), PaceDelay asks to wait until
	// ratelimit-reset. The reserve is left for on-demand runs, retention and
	// follow-ups rather than spent to the last request.
	HourlyReserveDivisor = 100
	// MinuteLimit is DigitalOcean's per-minute budget per token.
	MinuteLimit = 250
	// MinuteBudget is how many requests one Client sends in any trailing
	// minute before PaceDelay asks to wait (MinuteLimit less a reserve of
	// 10, for other Clients using the same token).
	MinuteBudget = MinuteLimit - 10
)

// Rate returns the rate-limit headers of the last response that had them
// (zero before any), a burst 429's included. It is safe for concurrent use.
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
// Policy, the largest of:
//   - burst: after a 429 with retry-after (the minute budget was spent),
//     wait until retry-after has passed, measured from when the 429 came.
//     Its ratelimit-remaining of 0 and its reset an hour ahead say nothing
//     of the hourly budget and are not used for it.
//   - hourly: when the ratelimit-remaining last seen on a response that
//     was not a burst 429 is at or below the reserve
//     (ratelimit-limit/HourlyReserveDivisor, at least 1) and
//     ratelimit-reset is after now, wait until ratelimit-reset. A reset in
//     the past means the window has moved on: no wait (the next response
//     brings fresh headers).
//   - per minute: when this Client has sent MinuteBudget requests in the
//     minute before now, wait until the oldest of them is a minute old.
//     Only this Client's requests are counted.
func (c *Client) PaceDelay(now time.Time) time.Duration {
	c.tr.mu.Lock()
	defer c.tr.mu.Unlock()
	d := max(c.tr.burstUntil.Sub(now), 0)
	if h := c.tr.hourly; c.tr.hourlySeen && h.Limit > 0 {
		reserve := max(h.Limit/HourlyReserveDivisor, 1)
		if w := h.Reset.Time.Sub(now); h.Remaining <= reserve && w > d {
			d = w
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

// noteResponse keeps what a response says of the rate limits and of
// DigitalOcean's clock; start and end are when the request was sent and
// its body read, on our clock.
func (t *transport) noteResponse(status int, h http.Header, start, end time.Time) {
	var wait time.Duration
	burst := false
	if status == http.StatusTooManyRequests {
		wait, burst = retryAfterHeader(h)
	}
	rate, rateOK := parseRate(h)
	sample, skewOK := skewOf(h, start, end)
	t.mu.Lock()
	defer t.mu.Unlock()
	if rateOK {
		t.rate, t.rateSeen = rate, true
		if !burst {
			t.hourly, t.hourlySeen = rate, true
		}
	}
	if until := end.Add(wait); burst && until.After(t.burstUntil) {
		t.burstUntil = until
	}
	if skewOK {
		t.skews = append(t.skews, sample)
		if n := len(t.skews); n > skewSamples {
			t.skews = append(t.skews[:0], t.skews[n-skewSamples:]...)
		}
	}
}

// parseRate reads the rate-limit headers; false without ratelimit-limit.
func parseRate(h http.Header) (godo.Rate, bool) {
	limit, err := strconv.Atoi(h.Get(headerRateLimit))
	if err != nil {
		return godo.Rate{}, false
	}
	rate := godo.Rate{Limit: limit}
	if v, err := strconv.Atoi(h.Get(headerRateRemaining)); err == nil {
		rate.Remaining = v
	}
	if v, err := strconv.ParseInt(h.Get(headerRateReset), 10, 64); err == nil {
		rate.Reset = godo.Timestamp{Time: time.Unix(v, 0).UTC()}
	}
	return rate, true
}

// noteSent remembers a request's start for the per-minute guard.
func (t *transport) noteSent(at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sent = append(pruneMinute(t.sent, at), at)
}

// pruneMinute drops the times more than a minute before now, keeping order.
func pruneMinute(sent []time.Time, now time.Time) []time.Time {
	cut := now.Add(-time.Minute)
	i := sort.Search(len(sent), func(i int) bool { return sent[i].After(cut) })
	if i == 0 {
		return sent
	}
	return append(sent[:0], sent[i:]...)
}
