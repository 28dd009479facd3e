package notice

import (
	"fmt"
	"time"
)

// moment is an instant as messages tell it: in a policy's time zone, with
// UTC beside it. Templates call its methods, e.g. {{.Slot.Full}}.
type moment struct {
	t   time.Time
	loc *time.Location
}

func at(t time.Time, loc *time.Location) moment {
	if loc == nil {
		loc = time.UTC
	}
	return moment{t: t, loc: loc}
}

// IsZero reports whether the instant is unknown.
func (m moment) IsZero() bool { return m.t.IsZero() }

func (m moment) local() time.Time { return m.t.In(m.loc) }

func (m moment) isUTC() bool { return m.loc == time.UTC || m.loc.String() == "UTC" }

// Clock is the local wall time, "03:00".
func (m moment) Clock() string { return m.local().Format("15:04") }

// Date is the local date, "Tuesday 24 November 2026".
func (m moment) Date() string { return m.local().Format("Monday 2 January 2006") }

// ShortDate is the local date without the year, "Tue 24 Nov".
func (m moment) ShortDate() string { return m.local().Format("Mon 2 Jan") }

// Zone is the time zone's name, "Europe/Berlin" or "UTC".
func (m moment) Zone() string {
	if m.isUTC() {
		return "UTC"
	}
	return m.loc.String()
}

// Long is "03:00 on Tuesday 24 November 2026", local.
func (m moment) Long() string { return m.Clock() + " on " + m.Date() }

// Short is "03:00 on Tue 24 Nov", local.
func (m moment) Short() string { return m.Clock() + " on " + m.ShortDate() }

// UTC is the instant in UTC, "02:00 UTC", with the date when it is not the
// local date: "23:00 UTC on Monday 23 November".
func (m moment) UTC() string {
	u := m.t.UTC()
	l := m.local()
	if u.YearDay() == l.YearDay() && u.Year() == l.Year() {
		return u.Format("15:04") + " UTC"
	}
	return u.Format("15:04") + " UTC on " + u.Format("Monday 2 January")
}

// Full is "03:00 on Tuesday 24 November 2026, Europe/Berlin time (02:00
// UTC)", or "02:00 UTC on Tuesday 24 November 2026" for UTC.
func (m moment) Full() string {
	if m.isUTC() {
		return m.t.UTC().Format("15:04") + " UTC on " + m.Date()
	}
	return fmt.Sprintf("%s, %s time (%s)", m.Long(), m.Zone(), m.UTC())
}

// Brief is "03:00 on Tue 24 Nov (02:00 UTC)", or "02:00 UTC on Tue 24 Nov".
func (m moment) Brief() string {
	if m.isUTC() {
		return m.t.UTC().Format("15:04") + " UTC on " + m.ShortDate()
	}
	return fmt.Sprintf("%s (%s)", m.Short(), m.UTC())
}

// ClockZone is "03:00 Europe/Berlin", as subjects say it.
func (m moment) ClockZone() string { return m.Clock() + " " + m.Zone() }

// String implements fmt.Stringer with Full.
func (m moment) String() string { return m.Full() }

// duration tells a length of time in hours and minutes, "12 hours",
// "1 hour 30 minutes", "45 minutes".
func duration(d time.Duration) string {
	d = d.Round(time.Minute)
	h, mins := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return plural(mins, "minute", "minutes")
	case mins == 0:
		return plural(h, "hour", "hours")
	}
	return plural(h, "hour", "hours") + " " + plural(mins, "minute", "minutes")
}

// plural is "1 backup", "3 backups".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%s %s", thousands(n), many)
}

// thousands writes n with thousands separators: 48213 → "48,213".
func thousands[N int | int64](n N) string {
	s := fmt.Sprint(n)
	neg := ""
	if n < 0 {
		neg, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return neg + s
}

// percent tells a rate (0..1) as a percentage with one decimal below 10%,
// "1.5%", "under 0.1%", "12%".
func percent(rate float64) string {
	p := rate * 100
	switch {
	case p <= 0:
		return "0%"
	case p < 0.1:
		return "under 0.1%"
	case p < 10:
		return fmt.Sprintf("%.1f%%", p)
	}
	return fmt.Sprintf("%.0f%%", p)
}

// span tells the time from a to b (both in a's zone): "from 02:10 to 14:25
// on Tuesday 24 November 2026, Europe/Berlin time (01:10 to 13:25 UTC)";
// across dates, "from 23:00 on Monday 23 November 2026 to 03:00 on
// Tuesday 24 November 2026, Europe/Berlin time (22:00 to 02:00 UTC)".
func span(a, b moment) string {
	b.loc = a.loc
	utc := "(" + a.t.UTC().Format("15:04") + " to " + b.t.UTC().Format("15:04") + " UTC)"
	if a.Date() == b.Date() {
		if a.isUTC() {
			return "from " + a.Clock() + " to " + b.Clock() + " UTC on " + a.Date()
		}
		return fmt.Sprintf("from %s to %s on %s, %s time %s", a.Clock(), b.Clock(), a.Date(), a.Zone(), utc)
	}
	if a.isUTC() {
		return "from " + a.Long() + " to " + b.Long() + " UTC"
	}
	return fmt.Sprintf("from %s to %s, %s time %s", a.Long(), b.Long(), a.Zone(), utc)
}

// roughDuration is duration rounded to whole hours from 3 hours on, as "in
// the last 13 hours" says it.
func roughDuration(d time.Duration) string {
	if d >= 3*time.Hour {
		return duration(d.Round(time.Hour))
	}
	return duration(d)
}
