package schedule

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	if s == "" {
		return time.Time{}
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return v
}

// TestNext checks fire times; every want is written with the zone's offset
// at that instant, so the expected wall clock can be read off directly.
// 2026-11-24 is a Tuesday.
func TestNext(t *testing.T) {
	tests := []struct {
		name  string
		expr  string
		zone  string // "" = nil location (UTC)
		after string
		start string
		want  []string // NextN(.., len(want)+1) must return exactly these
		more  bool     // true: there are more fires than want lists
	}{
		// AWS's documented examples, in UTC.
		{name: "10:00 every day", expr: "cron(0 10 * * ? *)", after: "2026-11-24T12:00:00Z",
			want: []string{"2026-11-25T10:00:00Z", "2026-11-26T10:00:00Z"}, more: true},
		{name: "12:15 every day", expr: "cron(15 12 * * ? *)", after: "2026-11-24T12:00:00Z",
			want: []string{"2026-11-24T12:15:00Z", "2026-11-25T12:15:00Z"}, more: true},
		{name: "18:00 Monday to Friday", expr: "cron(0 18 ? * MON-FRI *)", after: "2026-11-27T19:00:00Z",
			want: []string{"2026-11-30T18:00:00Z", "2026-12-01T18:00:00Z"}, more: true},
		{name: "08:00 on the 1st", expr: "cron(0 8 1 * ? *)", after: "2026-11-24T12:00:00Z",
			want: []string{"2026-12-01T08:00:00Z", "2027-01-01T08:00:00Z"}, more: true},
		{name: "every 15 minutes", expr: "cron(0/15 * * * ? *)", after: "2026-11-24T12:07:00Z",
			want: []string{"2026-11-24T12:15:00Z", "2026-11-24T12:30:00Z", "2026-11-24T12:45:00Z", "2026-11-24T13:00:00Z"}, more: true},
		{name: "every 10 minutes on weekdays", expr: "cron(0/10 * ? * MON-FRI *)", after: "2026-11-27T23:45:00Z",
			want: []string{"2026-11-27T23:50:00Z", "2026-11-30T00:00:00Z", "2026-11-30T00:10:00Z"}, more: true},
		{name: "every 5 minutes 08:00-17:55 on weekdays", expr: "cron(0/5 8-17 ? * MON-FRI *)", after: "2026-11-24T17:50:00Z",
			want: []string{"2026-11-24T17:55:00Z", "2026-11-25T08:00:00Z", "2026-11-25T08:05:00Z"}, more: true},
		{name: "09:00 first Monday", expr: "cron(0 9 ? * 2#1 *)", after: "2026-11-24T12:00:00Z",
			want: []string{"2026-12-07T09:00:00Z", "2027-01-04T09:00:00Z", "2027-02-01T09:00:00Z"}, more: true},
		{name: "1/10 is 1, 11, 21...", expr: "cron(1/10 * * * ? *)", after: "2026-11-24T12:00:00Z",
			want: []string{"2026-11-24T12:01:00Z", "2026-11-24T12:11:00Z", "2026-11-24T12:21:00Z"}, more: true},
		// Scheduler user guide: "10:15 AM (UTC+0) on the last Friday of each
		// month during the years 2022 to 2023".
		{name: "10:15 last Friday 2022-2023", expr: "cron(15 10 ? * 6L 2022-2023)", after: "2023-10-01T00:00:00Z",
			want: []string{"2023-10-27T10:15:00Z", "2023-11-24T10:15:00Z", "2023-12-29T10:15:00Z"}},

		// Day-of-week numbering: 1 = SUN ... 7 = SAT.
		{name: "1 is Sunday", expr: "cron(0 12 ? * 1 *)", after: "2026-11-24T12:00:00Z",
			want: []string{"2026-11-29T12:00:00Z", "2026-12-06T12:00:00Z"}, more: true},
		{name: "7 is Saturday", expr: "cron(0 12 ? * 7 *)", after: "2026-11-24T12:00:00Z",
			want: []string{"2026-11-28T12:00:00Z", "2026-12-05T12:00:00Z"}, more: true},
		{name: "2-6 is Monday to Friday", expr: "cron(0 12 ? * 2-6 *)", after: "2026-11-27T13:00:00Z",
			want: []string{"2026-11-30T12:00:00Z"}, more: true},
		{name: "SUN,SAT", expr: "cron(0 12 ? * SUN,SAT *)", after: "2026-11-24T12:00:00Z",
			want: []string{"2026-11-28T12:00:00Z", "2026-11-29T12:00:00Z", "2026-12-05T12:00:00Z"}, more: true},
		{name: "FRI-MON wraps", expr: "cron(0 12 ? * FRI-MON *)", after: "2026-11-24T12:00:00Z",
			want: []string{"2026-11-27T12:00:00Z", "2026-11-28T12:00:00Z", "2026-11-29T12:00:00Z", "2026-11-30T12:00:00Z", "2026-12-04T12:00:00Z"}, more: true},
		{name: "L alone in day-of-week is Saturday", expr: "cron(0 12 ? * L *)", after: "2026-11-24T12:00:00Z",
			want: []string{"2026-11-28T12:00:00Z"}, more: true},

		// L, W, #.
		{name: "L last day of month", expr: "cron(0 0 L * ? *)", after: "2027-01-15T00:00:00Z",
			want: []string{"2027-01-31T00:00:00Z", "2027-02-28T00:00:00Z", "2027-03-31T00:00:00Z", "2027-04-30T00:00:00Z"}, more: true},
		{name: "L in a leap February", expr: "cron(0 0 L 2 ? *)", after: "2027-03-01T00:00:00Z",
			want: []string{"2028-02-29T00:00:00Z", "2029-02-28T00:00:00Z"}, more: true},
		{name: "15W: Sunday 15th moves to Monday", expr: "cron(0 0 15W * ? *)", after: "2026-11-01T00:00:00Z",
			want: []string{"2026-11-16T00:00:00Z", "2026-12-15T00:00:00Z", "2027-01-15T00:00:00Z"}, more: true},
		{name: "15W: Saturday 15th moves to Friday", expr: "cron(0 0 15W 8 ? 2026)", after: "2026-01-01T00:00:00Z",
			want: []string{"2026-08-14T00:00:00Z"}},
		{name: "1W: Saturday 1st moves to Monday 3rd", expr: "cron(0 0 1W 8 ? 2026)", after: "2026-01-01T00:00:00Z",
			want: []string{"2026-08-03T00:00:00Z"}},
		{name: "31W: Sunday 31st moves to Friday 29th, not into June", expr: "cron(0 0 31W * ? 2026)", after: "2026-04-01T00:00:00Z",
			want: []string{"2026-05-29T00:00:00Z", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z", "2026-10-30T00:00:00Z", "2026-12-31T00:00:00Z"}},
		{name: "LW last weekday", expr: "cron(0 0 LW * ? *)", after: "2026-01-01T00:00:00Z",
			want: []string{"2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z", "2026-03-31T00:00:00Z", "2026-04-30T00:00:00Z", "2026-05-29T00:00:00Z"}, more: true},
		{name: "6L last Friday", expr: "cron(0 0 ? * 6L *)", after: "2026-11-24T00:00:00Z",
			want: []string{"2026-11-27T00:00:00Z", "2026-12-25T00:00:00Z"}, more: true},
		{name: "6L in a month that ends on a Friday is only the 31st", expr: "cron(0 0 ? * 6L *)", after: "2026-07-01T00:00:00Z",
			want: []string{"2026-07-31T00:00:00Z", "2026-08-28T00:00:00Z"}, more: true},
		{name: "3#2 second Tuesday", expr: "cron(0 0 ? * 3#2 *)", after: "2026-11-24T00:00:00Z",
			want: []string{"2026-12-08T00:00:00Z", "2027-01-12T00:00:00Z"}, more: true},
		{name: "2#5 fifth Monday, only some months", expr: "cron(0 0 ? * 2#5 *)", after: "2026-11-24T00:00:00Z",
			want: []string{"2026-11-30T00:00:00Z", "2027-03-29T00:00:00Z"}, more: true},

		// Months, years, the end of time.
		{name: "JAN,JUL", expr: "cron(0 0 1 JAN,JUL ? *)", after: "2026-11-24T00:00:00Z",
			want: []string{"2027-01-01T00:00:00Z", "2027-07-01T00:00:00Z"}, more: true},
		{name: "year range ends", expr: "cron(0 0 1 1 ? 2027-2028)", after: "2026-11-24T00:00:00Z",
			want: []string{"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"}},
		{name: "past year only", expr: "cron(0 0 1 1 ? 2020)", after: "2026-11-24T00:00:00Z"},
		{name: "nothing after 2199", expr: "cron(0 0 1 1 ? *)", after: "2199-06-01T00:00:00Z"},
		{name: "last minute of 2199", expr: "cron(59 23 31 12 ? *)", after: "2199-12-31T23:58:00Z",
			want: []string{"2199-12-31T23:59:00Z"}},
		{name: "before 1970 starts at 1970", expr: "cron(0 0 1 1 ? *)", after: "1900-06-01T00:00:00Z",
			want: []string{"1970-01-01T00:00:00Z"}, more: true},
		{name: "never: 30 February", expr: "cron(0 0 30 2 ? *)", after: "2026-01-01T00:00:00Z"},
		{name: "seconds of after are dropped", expr: "cron(* * * * ? *)", after: "2026-11-24T12:00:59.999Z",
			want: []string{"2026-11-24T12:01:00Z"}, more: true},

		// Time zones.
		{name: "Tokyo 09:00", expr: "cron(0 9 * * ? *)", zone: "Asia/Tokyo", after: "2026-11-24T00:00:00Z",
			want: []string{"2026-11-25T09:00:00+09:00", "2026-11-26T09:00:00+09:00"}, more: true},
		{name: "Kolkata midnight", expr: "cron(0 0 * * ? *)", zone: "Asia/Kolkata", after: "2026-11-24T00:00:00Z",
			want: []string{"2026-11-25T00:00:00+05:30"}, more: true},
		{name: "Sydney weekday evaluated locally", expr: "cron(0 8 ? * MON *)", zone: "Australia/Sydney", after: "2026-11-24T00:00:00Z",
			want: []string{"2026-11-30T08:00:00+11:00"}, more: true},
		{name: "UTC by name", expr: "cron(0 10 * * ? *)", zone: "UTC", after: "2026-11-24T12:00:00Z",
			want: []string{"2026-11-25T10:00:00Z"}, more: true},

		// Daylight saving time, America/New_York: spring forward 2026-03-08
		// 02:00 EST -> 03:00 EDT; fall back 2026-11-01 02:00 EDT -> 01:00 EST.
		{name: "New York 02:30 skipped on spring-forward day", expr: "cron(30 2 * * ? *)", zone: "America/New_York", after: "2026-03-07T00:00:00-05:00",
			want: []string{"2026-03-07T02:30:00-05:00", "2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00"}, more: true},
		{name: "New York 01:30 once on fall-back day", expr: "cron(30 1 * * ? *)", zone: "America/New_York", after: "2026-10-31T12:00:00-04:00",
			want: []string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}, more: true},
		{name: "New York hourly across spring forward", expr: "cron(0 * * * ? *)", zone: "America/New_York", after: "2026-03-08T00:30:00-05:00",
			want: []string{"2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"}, more: true},
		{name: "New York hourly across fall back", expr: "cron(0 * * * ? *)", zone: "America/New_York", after: "2026-11-01T00:30:00-04:00",
			want: []string{"2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00"}, more: true},
		{name: "New York every 20 minutes through the repeated hour", expr: "cron(0/20 * * * ? *)", zone: "America/New_York", after: "2026-11-01T01:30:00-04:00",
			want: []string{"2026-11-01T01:40:00-04:00", "2026-11-01T02:00:00-05:00"}, more: true},
		{name: "New York after falls in the repeated hour's second pass", expr: "cron(30 1 * * ? *)", zone: "America/New_York", after: "2026-11-01T01:10:00-05:00",
			want: []string{"2026-11-02T01:30:00-05:00"}, more: true},
		{name: "New York 02:30 on the spring-forward Sunday only", expr: "cron(30 2 8 3 ? 2026)", zone: "America/New_York", after: "2026-01-01T00:00:00Z"},

		// Europe/Berlin: spring forward 2026-03-29 02:00 CET -> 03:00 CEST;
		// fall back 2026-10-25 03:00 CEST -> 02:00 CET.
		{name: "Berlin 02:30 skipped on spring-forward day", expr: "cron(30 2 * * ? *)", zone: "Europe/Berlin", after: "2026-03-28T00:00:00+01:00",
			want: []string{"2026-03-28T02:30:00+01:00", "2026-03-30T02:30:00+02:00"}, more: true},
		{name: "Berlin 02:30 once on fall-back day", expr: "cron(30 2 * * ? *)", zone: "Europe/Berlin", after: "2026-10-24T12:00:00+02:00",
			want: []string{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}, more: true},
		{name: "Berlin 01:30 unaffected", expr: "cron(30 1 * * ? *)", zone: "Europe/Berlin", after: "2026-10-24T12:00:00+02:00",
			want: []string{"2026-10-25T01:30:00+02:00", "2026-10-26T01:30:00+01:00"}, more: true},

		// start bounds cron (StartDate), inclusively.
		{name: "cron before start", expr: "cron(0 10 * * ? *)", after: "2026-11-24T00:00:00Z", start: "2026-12-01T00:00:00Z",
			want: []string{"2026-12-01T10:00:00Z"}, more: true},
		{name: "cron at start", expr: "cron(0 10 * * ? *)", after: "2026-11-24T00:00:00Z", start: "2026-12-01T10:00:00Z",
			want: []string{"2026-12-01T10:00:00Z", "2026-12-02T10:00:00Z"}, more: true},
		{name: "cron start in the past", expr: "cron(0 10 * * ? *)", after: "2026-11-24T00:00:00Z", start: "2020-01-01T00:00:00Z",
			want: []string{"2026-11-24T10:00:00Z"}, more: true},

		// rate is anchored on start and is a plain duration.
		{name: "rate from start", expr: "rate(5 minutes)", after: "2026-11-24T12:03:00Z", start: "2026-11-24T12:00:30Z",
			want: []string{"2026-11-24T12:05:30Z", "2026-11-24T12:10:30Z"}, more: true},
		{name: "rate before start fires at start", expr: "rate(1 hour)", after: "2026-11-24T00:00:00Z", start: "2026-11-24T12:34:00Z",
			want: []string{"2026-11-24T12:34:00Z", "2026-11-24T13:34:00Z"}, more: true},
		{name: "rate at start is not strictly after", expr: "rate(1 hour)", after: "2026-11-24T12:34:00Z", start: "2026-11-24T12:34:00Z",
			want: []string{"2026-11-24T13:34:00Z"}, more: true},
		{name: "rate on a fire is not strictly after", expr: "rate(2 hours)", after: "2026-11-24T16:34:00Z", start: "2026-11-24T12:34:00Z",
			want: []string{"2026-11-24T18:34:00Z"}, more: true},
		{name: "rate with sub-second start", expr: "rate(1 minute)", after: "2026-11-24T12:00:00.6Z", start: "2026-11-24T11:00:00.5Z",
			want: []string{"2026-11-24T12:01:00.5Z"}, more: true},
		{name: "rate(1 day) is 24 hours across spring forward", expr: "rate(1 day)", zone: "America/New_York", after: "2026-03-07T12:00:00-05:00", start: "2026-03-06T12:00:00-05:00",
			want: []string{"2026-03-08T13:00:00-04:00", "2026-03-09T13:00:00-04:00"}, more: true},
		{name: "rate without start is anchored at the epoch", expr: "rate(1 hour)", after: "2026-11-24T12:34:56Z",
			want: []string{"2026-11-24T13:00:00Z"}, more: true},
		{name: "rate far from start", expr: "rate(7 days)", after: "9000-01-01T00:00:00Z", start: "1970-01-01T00:00:00Z",
			want: []string{"9000-01-02T00:00:00Z"}, more: true}, // 9000-01-01 is 1970-01-01 + 7k + 6 days

		// at: once, in the zone.
		{name: "at in the future", expr: "at(2026-12-24T18:00:00)", after: "2026-11-24T00:00:00Z",
			want: []string{"2026-12-24T18:00:00Z"}},
		{name: "at in the past", expr: "at(2026-01-01T00:00:00)", after: "2026-11-24T00:00:00Z"},
		{name: "at exactly now is past", expr: "at(2026-11-24T00:00:00)", after: "2026-11-24T00:00:00Z"},
		{name: "at in a zone", expr: "at(2026-12-24T18:00:00)", zone: "Europe/Berlin", after: "2026-11-24T00:00:00Z",
			want: []string{"2026-12-24T18:00:00+01:00"}},
		{name: "at ignores start", expr: "at(2026-12-24T18:00:00)", after: "2026-11-24T00:00:00Z", start: "2027-01-01T00:00:00Z",
			want: []string{"2026-12-24T18:00:00Z"}},
		{name: "at a non-existent wall time never fires", expr: "at(2026-03-08T02:30:00)", zone: "America/New_York", after: "2026-01-01T00:00:00Z"},
		{name: "at a repeated wall time fires at the first", expr: "at(2026-11-01T01:30:00)", zone: "America/New_York", after: "2026-01-01T00:00:00Z",
			want: []string{"2026-11-01T01:30:00-04:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse(tt.expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.expr, err)
			}
			var loc *time.Location
			if tt.zone != "" {
				loc = mustLoad(t, tt.zone)
			}
			after, start := mustTime(t, tt.after), mustTime(t, tt.start)
			got := e.NextN(after, loc, start, len(tt.want)+1)
			if tt.more {
				if len(got) != len(tt.want)+1 {
					t.Fatalf("NextN: got %d fires %v, want more than %d", len(got), got, len(tt.want))
				}
				got = got[:len(tt.want)]
			}
			if len(got) != len(tt.want) {
				t.Fatalf("NextN = %v, want %v", got, tt.want)
			}
			for i, w := range tt.want {
				want := mustTime(t, w)
				if !got[i].Equal(want) {
					t.Errorf("fire %d = %s, want %s", i, got[i].Format(time.RFC3339Nano), w)
				}
				// Results are in loc, so the wall clock reads as written.
				if got[i].Format(time.RFC3339Nano) != want.In(got[i].Location()).Format(time.RFC3339Nano) ||
					(tt.expr[:4] != "rate" && got[i].Format(time.RFC3339Nano) != w) {
					t.Errorf("fire %d = %s, want it shown as %s", i, got[i].Format(time.RFC3339Nano), w)
				}
			}
			// Next agrees with NextN.
			first, ok := e.Next(after, loc, start)
			if ok != (len(tt.want) > 0) || (ok && !first.Equal(mustTime(t, tt.want[0]))) {
				t.Errorf("Next = %v, %v", first, ok)
			}
		})
	}
}

// TestNextWallClock checks, for a year of fires in several zones, that every
// cron fire shows the wall time the expression asks for, and that a daily
// cron fires once per day except on a day its wall time does not exist.
func TestNextWallClock(t *testing.T) {
	for _, zone := range []string{"UTC", "America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "America/Santiago", "Australia/Lord_Howe"} {
		for _, hm := range [][2]int{{0, 0}, {1, 30}, {2, 30}, {3, 15}, {23, 59}} {
			expr := fmt.Sprintf("cron(%d %d * * ? *)", hm[1], hm[0])
			t.Run(zone+" "+expr, func(t *testing.T) {
				loc := mustLoad(t, zone)
				e, err := Parse(expr)
				if err != nil {
					t.Fatal(err)
				}
				after := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
				fires := e.NextN(after, loc, time.Time{}, 365)
				if len(fires) != 365 {
					t.Fatalf("got %d fires", len(fires))
				}
				var prev time.Time
				for _, f := range fires {
					if f.Hour() != hm[0] || f.Minute() != hm[1] || f.Second() != 0 {
						t.Fatalf("fire %s is not at %02d:%02d", f, hm[0], hm[1])
					}
					if !prev.IsZero() {
						py, pm, pd := prev.Date()
						if y, m, d := f.Date(); y == py && m == pm && d == pd {
							t.Fatalf("two fires on one day: %s and %s", prev, f)
						}
						// A skipped day is only allowed when the wall time did not exist.
						if gap := f.Sub(prev); gap > 26*time.Hour {
							py, pm, pd := prev.Date()
							w := time.Date(py, pm, pd+1, hm[0], hm[1], 0, 0, time.UTC)
							if _, ok := resolve(w, loc); ok {
								t.Fatalf("skipped %s although it exists", w.Format("2006-01-02 15:04"))
							}
						}
					}
					prev = f
				}
			})
		}
	}
}

func TestNextNilLocationIsUTC(t *testing.T) {
	e, err := Parse("cron(0 10 * * ? *)")
	if err != nil {
		t.Fatal(err)
	}
	got, ok := e.Next(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), nil, time.Time{})
	if !ok || got.Location() != time.UTC || !got.Equal(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("Next = %v, %v", got, ok)
	}
}

func TestNextN(t *testing.T) {
	e, err := Parse("rate(1 hour)")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.NextN(time.Now(), nil, time.Time{}, 0); len(got) != 0 {
		t.Errorf("NextN(0) = %v", got)
	}
	if got := e.NextN(time.Now(), nil, time.Time{}, -1); len(got) != 0 {
		t.Errorf("NextN(-1) = %v", got)
	}
	got := e.NextN(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), nil, time.Time{}, 3)
	var s []string
	for _, g := range got {
		s = append(s, g.Format("15:04"))
	}
	if strings.Join(s, " ") != "01:00 02:00 03:00" {
		t.Errorf("NextN = %v", s)
	}
}

func BenchmarkNext(b *testing.B) {
	ny := mustLoad(b, "America/New_York")
	after := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, expr := range []string{
		"cron(0 10 * * ? *)",
		"cron(0/5 8-17 ? * MON-FRI *)",
		"cron(0 9 ? * 2#1 *)",
		"cron(0 0 29 2 ? *)",
		"rate(1 hour)",
	} {
		e, err := Parse(expr)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(expr, func(b *testing.B) {
			for b.Loop() {
				if _, ok := e.Next(after, ny, time.Time{}); !ok {
					b.Fatal("no next")
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := Parse("cron(0/5 8-17 ? * MON-FRI *)"); err != nil {
			b.Fatal(err)
		}
	}
}
