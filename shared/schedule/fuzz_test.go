package schedule

import (
	"errors"
	"testing"
	"time"
)

var fuzzSeeds = []string{
	"cron(0 10 * * ? *)", "cron(15 12 * * ? *)", "cron(0 18 ? * MON-FRI *)",
	"cron(0 8 1 * ? *)", "cron(0/15 * * * ? *)", "cron(0/10 * ? * MON-FRI *)",
	"cron(0/5 8-17 ? * MON-FRI *)", "cron(0 9 ? * 2#1 *)", "cron(0 0 L * ? *)",
	"cron(0 0 LW * ? *)", "cron(0 0 15W * ? *)", "cron(0 0 ? * 6L *)",
	"cron(*/20 22-2 ? jan-mar/2 FRI-MON 2026-2199/3)", "cron(0 0 30 2 ? *)",
	"cron(0 12 * * 1 *)", "cron(0 12 ? * 8 *)", "cron(0 0 ? * 3#1,6#3 *)",
	"rate(5 minutes)", "rate(1 hour)", "rate(1 hours)", "rate(99999999999 days)",
	"at(2026-03-08T02:30:00)", "at(2026-02-30T00:00:00)", "", "(", ")", "cron()",
}

var fuzzZones = []string{"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago", "Pacific/Kiritimati"}

// FuzzParse checks that Parse never panics, that its errors are *Error
// wrapping ErrSyntax, and that String round-trips.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		e, err := Parse(expr)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q) error %v is not a *Error wrapping ErrSyntax", expr, err)
			}
			_ = err.Error()
			return
		}
		again, err := Parse(e.String())
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", expr, e.String(), err)
		}
		if again.String() != e.String() || again.Kind() != e.Kind() || again.MinInterval() != e.MinInterval() {
			t.Fatalf("round trip of %q: %q != %q", expr, again.String(), e.String())
		}
		if e.Recurring() && e.MinInterval() <= 0 {
			t.Fatalf("%q: MinInterval() = %v", expr, e.MinInterval())
		}
	})
}

// FuzzNext checks that Next never panics, always moves forward, lands on a
// whole minute for cron, and that the wall clock of a cron fire matches the
// expression's day and time fields.
func FuzzNext(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(s, int64(1795000000+i*86400), uint8(i), int64(0))
	}
	f.Add("cron(30 2 * * ? *)", int64(1772900000), uint8(1), int64(1772000000))
	f.Add("cron(59 23 31 12 ? *)", int64(7258118400), uint8(0), int64(0))
	f.Fuzz(func(t *testing.T, expr string, afterSec int64, zone uint8, startSec int64) {
		e, err := Parse(expr)
		if err != nil {
			return
		}
		// Keep times within Go's comfortable range: years 1 to 9999.
		const lo, hi = -62135596800, 253402300799
		if afterSec < lo || afterSec > hi || startSec < lo || startSec > hi {
			return
		}
		loc, err := time.LoadLocation(fuzzZones[int(zone)%len(fuzzZones)])
		if err != nil {
			t.Fatal(err)
		}
		after := time.Unix(afterSec, 0)
		var start time.Time
		if startSec != 0 {
			start = time.Unix(startSec, 0)
		}
		got := e.NextN(after, loc, start, 3)
		prev := after
		for _, g := range got {
			if !g.After(prev) {
				t.Fatalf("%s after %s: fire %s is not after %s", expr, after, g, prev)
			}
			if e.Kind() == KindCron {
				if g.Second() != 0 || g.Nanosecond() != 0 {
					t.Fatalf("%s: fire %s is not on a whole minute", expr, g)
				}
				y, m, d := g.In(loc).Date()
				h, mi, _ := g.In(loc).Clock()
				c := e.cron
				if !c.years.has(y-minYear) || !c.months.has(int(m)-1) || !c.dayMatches(y, m, d) || !c.hours.has(h) || !c.minutes.has(mi) {
					t.Fatalf("%s: fire %s does not match the fields", expr, g.In(loc))
				}
				if !start.IsZero() && g.Before(start) {
					t.Fatalf("%s: fire %s before start %s", expr, g, start)
				}
			}
			prev = g
		}
	})
}
