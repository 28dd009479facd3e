package support_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestLastNight(t *testing.T) {
	tests := []struct {
		name     string
		now      string
		zone     string
		from, to string
		hours    float64
	}{
		{"Berlin, in the afternoon", "2026-03-27T12:00:00Z", "Europe/Berlin", "2026-03-26T17:00:00Z", "2026-03-27T08:00:00Z", 15},
		{"Berlin, the night clocks go forward", "2026-03-29T10:00:00Z", "Europe/Berlin", "2026-03-28T17:00:00Z", "2026-03-29T07:00:00Z", 14},
		{"New York, the night clocks go back", "2026-11-01T20:00:00Z", "America/New_York", "2026-10-31T22:00:00Z", "2026-11-01T14:00:00Z", 16},
		{"Tokyo, asked at 02:00: the night in progress", "2026-03-27T17:00:00Z", "Asia/Tokyo", "2026-03-27T09:00:00Z", "2026-03-28T00:00:00Z", 15},
		{"UTC, asked at 23:00: the night before, not tonight", "2026-03-27T23:00:00Z", "UTC", "2026-03-26T18:00:00Z", "2026-03-27T09:00:00Z", 15},
		{"UTC, asked at 09:00 sharp", "2026-03-27T09:00:00Z", "UTC", "2026-03-26T18:00:00Z", "2026-03-27T09:00:00Z", 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := support.LastNight(utc(tt.now), zone(t, tt.zone))
			if !r.From.Equal(utc(tt.from)) || !r.To.Equal(utc(tt.to)) {
				t.Errorf("last night %s, want %s – %s", r, tt.from, tt.to)
			}
			if h := r.To.Sub(r.From).Hours(); h != tt.hours {
				t.Errorf("%v hours long, want %v", h, tt.hours)
			}
		})
	}
}

func TestParseAge(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"24h", 24 * time.Hour, ""},
		{"90m", 90 * time.Minute, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"7d", 7 * 24 * time.Hour, ""},
		{"2w", 14 * 24 * time.Hour, ""},
		{" 3d ", 3 * 24 * time.Hour, ""},
		{"", 0, "is not an age"},
		{"yesterday", 0, `"yesterday" is not an age such as 90m, 24h, 7d or 2w`},
		{"24", 0, "is not an age"},
		{"0h", 0, "more than zero"},
		{"-1h", 0, "more than zero"},
		{"367d", 0, "more than a year"},
		{"99999999999999d", 0, "is not an age"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := support.ParseAge(tt.in)
			if tt.err == "" {
				if err != nil || got != tt.want {
					t.Errorf("ParseAge(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, snapkeep.ErrInvalid) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseAge(%q) error %v, want one saying %q", tt.in, err, tt.err)
			}
			if err != nil && strings.Contains(err.Error(), "time:") {
				t.Errorf("error %q leaks the parser's wording", err)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	tests := []struct {
		in, want string
	}{
		{"2026-03-27T03:00:00Z", "2026-03-27T03:00:00Z"},
		{"2026-03-27T05:00:00+02:00", "2026-03-27T03:00:00Z"},
		{"2026-03-27T05:00+02:00", "2026-03-27T03:00:00Z"},
		{"2026-03-27T03:00", "2026-03-27T02:00:00Z"},
		{"2026-03-27 03:00", "2026-03-27T02:00:00Z"},
		{"2026-03-27", "2026-03-26T23:00:00Z"},
		{"2026-07-01", "2026-06-30T22:00:00Z"},
	}
	for _, tt := range tests {
		got, err := support.ParseTime(tt.in, berlin)
		if err != nil || !got.Equal(utc(tt.want)) {
			t.Errorf("ParseTime(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "27/03/2026", "2026-13-01", "now", "2026-03-27T25:00"} {
		_, err := support.ParseTime(bad, berlin)
		if !errors.Is(err, snapkeep.ErrInvalid) || strings.Contains(err.Error(), "parsing time") || !strings.Contains(err.Error(), "Europe/Berlin") {
			t.Errorf("ParseTime(%q) error %v, want a plain one naming the zone", bad, err)
		}
	}
}

func TestRangeFlags(t *testing.T) {
	now := utc("2026-03-27T12:00:00Z")
	tests := []struct {
		name     string
		f        support.RangeFlags
		from, to string // "" for no bound
		err      string
	}{
		{"none", support.RangeFlags{}, "", "", ""},
		{"since", support.RangeFlags{Since: 24 * time.Hour}, "2026-03-26T12:00:00Z", "", ""},
		{"last night", support.RangeFlags{LastNight: true}, "2026-03-26T18:00:00Z", "2026-03-27T09:00:00Z", ""},
		{"from and to", support.RangeFlags{From: "2026-03-20", To: "2026-03-21T06:00"}, "2026-03-20T00:00:00Z", "2026-03-21T06:00:00Z", ""},
		{"from alone", support.RangeFlags{From: "2026-03-20"}, "2026-03-20T00:00:00Z", "", ""},
		{"last night and since", support.RangeFlags{LastNight: true, Since: time.Hour}, "", "", "--last-night is a range of its own"},
		{"since and from", support.RangeFlags{Since: time.Hour, From: "2026-03-20"}, "", "", "either --since or --from/--to"},
		{"bad from", support.RangeFlags{From: "monday"}, "", "", `--from: "monday" is not a time`},
		{"bad to", support.RangeFlags{To: "x"}, "", "", `--to: "x" is not a time`},
		{"reversed", support.RangeFlags{From: "2026-03-21", To: "2026-03-20"}, "", "", "--from/--to: the time range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.f.Range(now, time.UTC)
			if tt.err != "" {
				if !errors.Is(err, snapkeep.ErrInvalid) || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got time.Time, want string) {
				if (want == "" && !got.IsZero()) || (want != "" && !got.Equal(utc(want))) {
					t.Errorf("%s = %v, want %q", what, got, want)
				}
			}
			check("from", r.From, tt.from)
			check("to", r.To, tt.to)
		})
	}
}

func TestLoadZone(t *testing.T) {
	for _, name := range []string{"", "UTC", "Europe/Berlin"} {
		if _, err := support.LoadZone(name); err != nil {
			t.Errorf("LoadZone(%q): %v", name, err)
		}
	}
	for _, name := range []string{"Local", "Mars/Olympus", "../etc/passwd"} {
		if _, err := support.LoadZone(name); !errors.Is(err, snapkeep.ErrInvalid) {
			t.Errorf("LoadZone(%q) = %v, want ErrInvalid", name, err)
		}
	}
}
