package escalation

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Time layouts of the renderings (always UTC).
const (
	layoutTime = "2006-01-02 15:04:05"
	layoutDay  = "2006-01-02"
	layoutHM   = "15:04"
)

// formatRate formats a rate (0..1) as a percentage with about two
// significant digits: 1.5%, 0.05%, 12%.
func formatRate(r float64) string {
	pct := r * 100
	switch {
	case pct == 0:
		return "0%"
	case pct >= 10:
		return strconv.FormatFloat(pct, 'f', 0, 64) + "%"
	case pct >= 1:
		return strconv.FormatFloat(pct, 'f', 1, 64) + "%"
	case pct < 0.001:
		return "<0.001%"
	}
	return strconv.FormatFloat(pct, 'g', 2, 64) + "%"
}

// formatTimes says how many times baseline the rate r is: "33×", "4.1×",
// "0×". The caller says what to write when there is no baseline rate
// (baseline <= 0): see Report.comparison.
func formatTimes(r, baseline float64) string {
	x := r / baseline
	switch {
	case x == 0:
		return "0×"
	case x >= 10:
		return strconv.FormatFloat(x, 'f', 0, 64) + "×"
	}
	return strconv.FormatFloat(x, 'f', 1, 64) + "×"
}

// plural is one when n is 1 and many otherwise: the word that agrees
// with a count ("was"/"were", "is"/"are").
func plural[T ~int | ~int64](n T, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// counted formats n with the noun that agrees with it: "1 customer",
// "0 customers", "2,400 calls", "1 droplet or volume". Every counted noun
// of the report's sentences goes through it.
func counted[T ~int | ~int64](n T, one, many string) string {
	return formatCount(n) + " " + plural(n, one, many)
}

// formatCount formats n with thousands separators: 14,400.
func formatCount[T ~int | ~int64](n T) string {
	s := strconv.FormatInt(int64(n), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// formatTime formats t as "2006-01-02 15:04:05" UTC; "" for zero.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(layoutTime)
}

// formatWindow formats w as "2026-11-24 06:10:00 – 18:52:00 UTC (12h42m)",
// with the end's date when it differs.
func formatWindow(w Window) string {
	end := w.To.UTC().Format("15:04:05")
	if dayOf(w.From) != dayOf(w.To) {
		end = formatTime(w.To)
	}
	return fmt.Sprintf("%s – %s UTC (%s)", formatTime(w.From), end, shortDuration(w.Duration()))
}

// shortDuration formats d as "12h42m", "3d4h", "45m" or "30s".
func shortDuration(d time.Duration) string {
	d = d.Round(time.Second)
	days, hours := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	mins, secs := int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	switch {
	case days > 0 && hours > 0:
		return fmt.Sprintf("%dd%dh", days, hours)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	case hours > 0 && mins > 0:
		return fmt.Sprintf("%dh%02dm", hours, mins)
	case hours > 0:
		return fmt.Sprintf("%dh", hours)
	case mins > 0:
		return fmt.Sprintf("%dm", mins)
	}
	return fmt.Sprintf("%ds", secs)
}

// cut shortens s to at most n runes for an inline cell, marking the cut.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// statusText formats an HTTP status, "—" when no response came.
func statusText(code int) string {
	if code == 0 {
		return "—"
	}
	return strconv.Itoa(code)
}
