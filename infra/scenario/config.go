// Package scenario is the story `make demo` plays: a fleet of customers,
// DigitalOcean accounts, droplets, volumes and backup policies, the
// things that happen to them over the simulated days (a token revoked and
// renewed, droplets deleted, a volume at DigitalOcean's snapshot limit),
// and a provider incident: for a window on day two, DigitalOcean answers
// "Server Error" to a share of the droplet snapshot requests.
//
// Build makes the whole fleet from a Config, deterministically: the same
// Config (seed included) gives the same customers, policies, schedules,
// resources, events and faults. Tokens and webhook URLs are the only
// values drawn at random by the runner, and they change nothing in the
// story. The package never runs in a Lambda; cmd/snaplocal seeds the
// local stack with the fleet and plays it through the real functions.
//
// # The shape of a day (UTC)
//
// The fleet is shaped so that the detector's story can be told with a few
// hundred policies, which is all moto can serve in a couple of minutes:
//
//   - hourly policies run during the working day, 06:00-21:59 UTC, at
//     quarter-hour offsets (so no hour between 06:00 and 22:00 is without
//     droplet snapshot requests);
//   - daily policies run at night (00:00-02:59), at midday (11:00-13:59)
//     and in the evening (17:00-19:59), in their customers' time zones;
//   - nothing runs from about 22:00 to midnight.
//
// The default incident (10:00-22:00 on day two) covers the working day,
// so the detector sees the failures at the working day's traffic, and
// ends at the quiet evening, so the incident resolves by errorrate's
// traffic-stopped rule (an hour without calls) soon after DigitalOcean
// recovered; at a few dozen snapshot requests an hour the recovery
// evidence alone (some 800 clean calls) would take days.
package scenario

import (
	"errors"
	"fmt"
	"time"
)

// Config says what to play. DefaultConfig is what `make demo` plays.
type Config struct {
	// Policies is how many backup policies the fleet draws (30 to 5,000);
	// the fleet adds one more, on the volume at DigitalOcean's snapshot
	// limit.
	Policies int
	// Hourly is how many of them run every hour of the working day (the
	// rest run daily); 0 means a tenth of Policies.
	Hourly int
	// Days is how many days are played (1 to 14).
	Days int
	// Start is the first simulated instant (whole minutes, UTC).
	Start time.Time
	// IncidentStart is when DigitalOcean starts failing, as an offset from
	// Start; IncidentDuration how long it lasts (0: no incident).
	IncidentStart, IncidentDuration time.Duration
	// IncidentRate is the share of droplet snapshot requests answered
	// "500 Server Error" during the incident (0 to 1).
	IncidentRate float64
	// StuckRuns is how many droplet runs during the incident fail every
	// attempt of their slot window (a droplet on a DigitalOcean host that
	// keeps failing): the runs customers hear about. The other failures
	// are single requests, which the retry a minute later mends.
	StuckRuns int
	// Seed draws the fleet and the faults.
	Seed uint64
}

// DefaultStart is the default Config's Start: Monday 23 November 2026,
// 00:00 UTC.
var DefaultStart = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// DefaultConfig is the story `make demo` tells: 300 policies (30 hourly,
// and the fleet adds one on the volume at DigitalOcean's limit)
// over two days, with a 12-hour incident of 2% "Server Error" on droplet
// snapshot requests from 10:00 to 22:00 UTC on day two.
func DefaultConfig() Config {
	return Config{
		Policies:         300,
		Days:             2,
		Start:            DefaultStart,
		IncidentStart:    34 * time.Hour,
		IncidentDuration: 12 * time.Hour,
		IncidentRate:     0.02,
		StuckRuns:        2,
		Seed:             1,
	}
}

// Limits of a Config.
const (
	MinPolicies = 30
	MaxPolicies = 5000
	MaxDays     = 14
)

// Validate says what is wrong with c.
func (c Config) Validate() error {
	var errs []error
	if c.Policies < MinPolicies || c.Policies > MaxPolicies {
		errs = append(errs, fmt.Errorf("policies %d: want %d to %d", c.Policies, MinPolicies, MaxPolicies))
	}
	if c.Hourly < 0 || c.Hourly > c.Policies/2 {
		errs = append(errs, fmt.Errorf("hourly policies %d: want 0 (a tenth) to half of the %d policies", c.Hourly, c.Policies))
	}
	if c.Days < 1 || c.Days > MaxDays {
		errs = append(errs, fmt.Errorf("days %d: want 1 to %d", c.Days, MaxDays))
	}
	if c.Start.IsZero() || !c.Start.Equal(c.Start.Truncate(time.Minute)) {
		errs = append(errs, fmt.Errorf("start %s: want a whole minute", c.Start.Format(time.RFC3339Nano)))
	}
	if c.IncidentRate < 0 || c.IncidentRate > 1 {
		errs = append(errs, fmt.Errorf("incident rate %v: want 0 to 1 (0.02 is 2%%)", c.IncidentRate))
	}
	if c.IncidentDuration < 0 {
		errs = append(errs, fmt.Errorf("incident duration %s: must not be negative", c.IncidentDuration))
	}
	if c.IncidentDuration > 0 && (c.IncidentStart < 0 || c.IncidentStart+c.IncidentDuration > c.span()) {
		errs = append(errs, fmt.Errorf("incident from %s for %s: want it inside the %d simulated days", c.IncidentStart, c.IncidentDuration, c.Days))
	}
	if c.StuckRuns < 0 || c.StuckRuns > 20 {
		errs = append(errs, fmt.Errorf("stuck runs %d: want 0 to 20", c.StuckRuns))
	}
	return errors.Join(errs...)
}

// span is the simulated time.
func (c Config) span() time.Duration { return time.Duration(c.Days) * 24 * time.Hour }

// End is the last simulated instant.
func (c Config) End() time.Time { return c.Start.Add(c.span()) }

// Incident is the provider incident's window and rate; zero From when the
// scenario has none.
type Incident struct {
	// From and Until bound the window [From, Until).
	From, Until time.Time
	// Rate is the share of droplet snapshot requests that fail.
	Rate float64
}

// Active says whether the scenario has an incident.
func (i Incident) Active() bool { return !i.From.IsZero() && i.Until.After(i.From) }

// Contains says whether t is in the window.
func (i Incident) Contains(t time.Time) bool {
	return i.Active() && !t.Before(i.From) && t.Before(i.Until)
}

// Incident returns c's incident window.
func (c Config) Incident() Incident {
	if c.IncidentDuration == 0 {
		return Incident{}
	}
	from := c.Start.Add(c.IncidentStart)
	return Incident{From: from, Until: from.Add(c.IncidentDuration), Rate: c.IncidentRate}
}

// hourly is how many hourly policies c asks for.
func (c Config) hourly() int {
	if c.Hourly > 0 {
		return c.Hourly
	}
	return c.Policies / 10
}
