package docloud

import (
	"net/http"
	"slices"
	"time"
)

// skewSamples is how many of the latest responses ClockSkew takes the
// median of.
const skewSamples = 5

// skewOf measures DigitalOcean's clock minus ours from a response's date header. The
// header was written between start and end (our clock) and is cut to the
// second, so DigitalOcean's time then was in [date, date+1s): the estimate
// is date+0.5s minus the round trip's midpoint, within rtt/2 + 0.5s of the
// truth. False when there is no readable date.
func skewOf(h http.Header, start, end time.Time) (time.Duration, bool) {
	date, err := http.ParseTime(h.Get(headerDate))
	if err != nil {
		return 0, false
	}
	mid := start.Add(max(end.Sub(start), 0) / 2)
	return date.Add(500 * time.Millisecond).Sub(mid), true
}

// ClockSkew returns DigitalOcean's clock minus ours (the clock WithClock
// set), measured from the date header of the latest responses (at most
// skewSamples of them): the median of their estimates, so one proxy's
// stale date does not move it. Each estimate is within half its round trip
// plus half a second (the header's resolution) of the truth. known is
// false before any response with a date header. A positive skew means our
// clock is behind: DigitalOcean's action started_at times are later than
// our clock said when we asked. It is safe for concurrent use.
func (c *Client) ClockSkew() (skew time.Duration, known bool) {
	c.tr.mu.Lock()
	offsets := slices.Clone(c.tr.skews)
	c.tr.mu.Unlock()
	if len(offsets) == 0 {
		return 0, false
	}
	slices.Sort(offsets)
	n := len(offsets)
	if n%2 == 1 {
		return offsets[n/2], true
	}
	return (offsets[n/2-1] + offsets[n/2]) / 2, true
}
