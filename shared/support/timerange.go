package support

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// The local night "last night" means: from NightStartHour the day before
// to NightEndHour today, in the zone asked for. Nightly backups run in it.
const (
	NightStartHour = 18
	NightEndHour   = 9
)

// MaxAge bounds a --since age: a year (ApiCalls rows live 90 days by
// default; runs are kept, but a longer look-back is a report, not a
// support question).
const MaxAge = 366 * 24 * time.Hour

// Range is the half-open time range [From, To). A zero From has no lower
// bound; a zero To has no upper bound (up to now).
type Range struct {
	// From is the first instant in the range (zero: no lower bound).
	From time.Time
	// To is the first instant after it (zero: up to now).
	To time.Time
}

// Contains reports whether t is in r.
func (r Range) Contains(t time.Time) bool {
	return (r.From.IsZero() || !t.Before(r.From)) && (r.To.IsZero() || t.Before(r.To))
}

// OpenEnded reports whether r reaches up to now (To is zero or not before now).
func (r Range) OpenEnded(now time.Time) bool { return r.To.IsZero() || !r.To.Before(now) }

// String returns the range in UTC, e.g. "2026-03-26T17:00:00Z – 2026-03-27T08:00:00Z".
func (r Range) String() string {
	f := func(t time.Time, open string) string {
		if t.IsZero() {
			return open
		}
		return t.UTC().Format(time.RFC3339)
	}
	return f(r.From, "the beginning") + " – " + f(r.To, "now")
}

// In returns the range in loc's wall time, e.g. "Thu 26 Mar 18:00 – Fri 27 Mar 09:00 CET".
func (r Range) In(loc *time.Location) string {
	f := func(t time.Time, open string) string {
		if t.IsZero() {
			return open
		}
		return t.In(loc).Format("Mon 2 Jan 15:04 MST")
	}
	return f(r.From, "the beginning") + " – " + f(r.To, "now")
}

// Validate checks that r is not empty or reversed.
func (r Range) Validate() error {
	if !r.From.IsZero() && !r.To.IsZero() && !r.From.Before(r.To) {
		return fmt.Errorf("the time range %s is empty: the start must be before the end: %w", r, snapkeep.ErrInvalid)
	}
	return nil
}

// LastNight is the local night before now in loc: from NightStartHour of
// the day before now's local date to NightEndHour of that date. Asked in
// the evening (after 09:00), it is the night that ended this morning;
// asked during the night (before 09:00), it is the night in progress.
// time.Date takes daylight-saving changes into account, so a night that
// crosses one is 14 or 16 hours long.
func LastNight(now time.Time, loc *time.Location) Range {
	local := now.In(loc)
	y, m, d := local.Date()
	return Range{
		From: time.Date(y, m, d-1, NightStartHour, 0, 0, 0, loc),
		To:   time.Date(y, m, d, NightEndHour, 0, 0, 0, loc),
	}
}

// Since is the range from now less age up to now (open-ended).
func Since(now time.Time, age time.Duration) Range { return Range{From: now.Add(-age)} }

// ParseAge reads an age such as "90m", "24h", "36h30m", "7d" or "2w" (d is
// 24 hours, w 7 days). It must be positive and at most MaxAge. The error
// says what is wrong without Go's parser wording.
func ParseAge(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	var d time.Duration
	if n, unit, ok := cutUnit(t); ok && (unit == "d" || unit == "w") {
		days := n
		if unit == "w" {
			days *= 7
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		parsed, err := time.ParseDuration(t)
		if err != nil {
			return 0, fmt.Errorf("%q is not an age such as 90m, 24h, 7d or 2w: %w", s, snapkeep.ErrInvalid)
		}
		d = parsed
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q must be more than zero, e.g. 24h: %w", s, snapkeep.ErrInvalid)
	}
	if d > MaxAge {
		return 0, fmt.Errorf("%q is more than a year; narrow it, or use --from and --to: %w", s, snapkeep.ErrInvalid)
	}
	return d, nil
}

// cutUnit splits "7d" into 7 and "d".
func cutUnit(s string) (int64, string, bool) {
	if len(s) < 2 {
		return 0, "", false
	}
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if err != nil || n < 0 || n > 1000 {
		return 0, "", false
	}
	return n, s[len(s)-1:], true
}

// timeLayouts are what ParseTime accepts, with or without a zone.
var timeLayouts = []struct {
	layout string
	zoned  bool
}{
	{time.RFC3339Nano, true},
	{"2006-01-02T15:04Z07:00", true},
	{"2006-01-02T15:04:05", false},
	{"2006-01-02T15:04", false},
	{"2006-01-02 15:04", false},
	{"2006-01-02", false},
}

// ParseTime reads a point in time: RFC 3339 with a zone
// ("2026-03-27T03:00:00Z", "2026-03-27T05:00+02:00"), or a wall time in
// loc without one ("2026-03-27T03:00", "2026-03-27 03:00", "2026-03-27"
// for midnight).
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	t := strings.TrimSpace(s)
	for _, l := range timeLayouts {
		var v time.Time
		var err error
		if l.zoned {
			v, err = time.Parse(l.layout, t)
		} else {
			v, err = time.ParseInLocation(l.layout, t, loc)
		}
		if err == nil {
			return v, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time such as 2026-03-27T03:00:00Z, 2026-03-27T03:00 (in %s) or 2026-03-27: %w", s, loc, snapkeep.ErrInvalid)
}

// LoadZone returns the IANA time zone name's location; "" and "UTC" are
// UTC. "Local" is refused: snapctl's answers must not depend on the
// machine it runs on.
func LoadZone(name string) (*time.Location, error) {
	switch name {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		return nil, fmt.Errorf(`"Local" is not allowed; name the zone, e.g. Europe/Berlin: %w`, snapkeep.ErrInvalid)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not an IANA time zone such as Europe/Berlin or America/New_York: %w", name, snapkeep.ErrInvalid)
	}
	return loc, nil
}

// keyBounds returns r's bounds as the text of whole-second UTC sort keys
// (as the stores write scheduled_at, finished_at and next_check_at): an
// item time t is in r exactly when lo <= key(t) <= hi. An empty string is
// no bound.
func (r Range) keyBounds() (lo, hi string) {
	if !r.From.IsZero() {
		lo = ceilSecond(r.From).UTC().Format(time.RFC3339)
	}
	if !r.To.IsZero() {
		hi = ceilSecond(r.To).Add(-time.Second).UTC().Format(time.RFC3339)
	}
	return lo, hi
}

func ceilSecond(t time.Time) time.Time {
	if u := t.Truncate(time.Second); !u.Equal(t) {
		return u.Add(time.Second)
	}
	return t
}

// RangeFlags are the ways a command line gives a time range: an age, a
// start and an end, or last night. At most one way may be used; none is
// no bound.
type RangeFlags struct {
	// Since is an age (from now less Since up to now); 0 when not given.
	Since time.Duration
	// From and To are times for ParseTime; "" when not given.
	From, To string
	// LastNight is the local night before now (LastNight).
	LastNight bool
}

// NeedsZone reports whether reading the range needs a time zone.
func (f RangeFlags) NeedsZone() bool { return f.LastNight || f.From != "" || f.To != "" }

// Range reads the flags in loc at now. Errors name the flags (--since,
// --from, --to, --last-night) as snapctl spells them.
func (f RangeFlags) Range(now time.Time, loc *time.Location) (Range, error) {
	switch {
	case f.LastNight && (f.Since != 0 || f.From != "" || f.To != ""):
		return Range{}, fmt.Errorf("--last-night is a range of its own: drop --since, --from and --to: %w", snapkeep.ErrInvalid)
	case f.Since != 0 && (f.From != "" || f.To != ""):
		return Range{}, fmt.Errorf("--since counts back from now: use either --since or --from/--to: %w", snapkeep.ErrInvalid)
	case f.LastNight:
		return LastNight(now, loc), nil
	case f.Since != 0:
		return Since(now, f.Since), nil
	}
	var r Range
	var err error
	if f.From != "" {
		if r.From, err = ParseTime(f.From, loc); err != nil {
			return Range{}, fmt.Errorf("--from: %w", err)
		}
	}
	if f.To != "" {
		if r.To, err = ParseTime(f.To, loc); err != nil {
			return Range{}, fmt.Errorf("--to: %w", err)
		}
	}
	if err := r.Validate(); err != nil {
		return Range{}, fmt.Errorf("--from/--to: %w", err)
	}
	return r, nil
}
