package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind is the form of a schedule expression.
type Kind string

// Expression kinds.
const (
	KindRate Kind = "rate"
	KindCron Kind = "cron"
	KindAt   Kind = "at"
)

// ErrSyntax is wrapped by every error Parse returns; test for it with
// errors.Is.
var ErrSyntax = errors.New("invalid schedule expression")

// Error is a schedule expression that breaks a rule. Its text names the
// expression, the field (for cron) and what is wrong, e.g.
//
//	cron "0 12 * * 8 *": field day-of-week: 8 is out of range 1-7 (1 = SUN ... 7 = SAT)
type Error struct {
	// Kind is the expression's form, "" when not even that was recognised.
	Kind Kind
	// Body is the text between the parentheses (the whole input when Kind is "").
	Body string
	// Field is the cron field at fault ("minutes" ... "year"), or "" when the
	// rule is not about one field.
	Field string
	// Problem says what is wrong.
	Problem string
}

// Error implements error.
func (e *Error) Error() string {
	subject := "schedule"
	if e.Kind != "" {
		subject = string(e.Kind)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s %q: field %s: %s", subject, e.Body, e.Field, e.Problem)
	}
	return fmt.Sprintf("%s %q: %s", subject, e.Body, e.Problem)
}

// Unwrap returns ErrSyntax.
func (e *Error) Unwrap() error { return ErrSyntax }

// Expression is a parsed EventBridge Scheduler schedule expression. The zero
// value is not valid; use Parse.
type Expression struct {
	kind Kind
	text string // canonical text, see String

	// rate
	rateValue int
	rateUnit  string
	interval  time.Duration

	// at: wall clock in the schedule's time zone, held as a UTC time
	at time.Time

	// cron
	cron *cronSpec
}

// rate values are capped so that value*unit stays far inside time.Duration
// (about 292 years): at most 100 years.
const maxRate = 100 * 365 * 24 * time.Hour

// Parse parses a schedule expression: "rate(value unit)", "cron(minutes
// hours day-of-month month day-of-week year)" or "at(yyyy-mm-ddThh:mm:ss)".
// The text must be exactly that: no white space outside the parentheses,
// lowercase keywords. Within cron and rate, fields are separated by white
// space. Month and day names are read case-insensitively. Errors are *Error
// and wrap ErrSyntax.
func Parse(expr string) (*Expression, error) {
	open := strings.IndexByte(expr, '(')
	if open < 0 || !strings.HasSuffix(expr, ")") {
		return nil, &Error{Body: expr, Problem: "want rate(value unit), cron(minutes hours day-of-month month day-of-week year) or at(yyyy-mm-ddThh:mm:ss)"}
	}
	body := expr[open+1 : len(expr)-1]
	switch expr[:open] {
	case "rate":
		return parseRate(body)
	case "cron":
		spec, err := parseCron(body)
		if err != nil {
			return nil, err
		}
		return &Expression{kind: KindCron, text: "cron(" + strings.Join(strings.Fields(body), " ") + ")", cron: spec}, nil
	case "at":
		return parseAt(body)
	}
	return nil, &Error{Body: expr, Problem: fmt.Sprintf("unknown expression type %q: want rate, cron or at", expr[:open])}
}

var rateUnits = map[string]struct {
	d      time.Duration
	plural bool
}{
	"minute": {time.Minute, false}, "minutes": {time.Minute, true},
	"hour": {time.Hour, false}, "hours": {time.Hour, true},
	"day": {24 * time.Hour, false}, "days": {24 * time.Hour, true},
}

func parseRate(body string) (*Expression, error) {
	bad := func(problem string) error { return &Error{Kind: KindRate, Body: body, Problem: problem} }
	f := strings.Fields(body)
	if len(f) != 2 {
		return nil, bad("want two fields, value and unit, e.g. rate(5 minutes)")
	}
	if !allDigits(f[0]) {
		return nil, bad(fmt.Sprintf("value %q is not a positive integer", f[0]))
	}
	unit, ok := rateUnits[f[1]]
	if !ok {
		return nil, bad(fmt.Sprintf("unit %q: want minute, minutes, hour, hours, day or days", f[1]))
	}
	v, err := strconv.Atoi(f[0])
	if err != nil || v > int(maxRate/unit.d) {
		return nil, bad(fmt.Sprintf("value %s is too large (at most 100 years)", f[0]))
	}
	if v < 1 {
		return nil, bad(fmt.Sprintf("value %s is not a positive integer", f[0]))
	}
	if v == 1 && unit.plural {
		return nil, bad(fmt.Sprintf("value 1 needs the singular unit %q", strings.TrimSuffix(f[1], "s")))
	}
	if v > 1 && !unit.plural {
		return nil, bad(fmt.Sprintf("value %d needs the plural unit %q", v, f[1]+"s"))
	}
	return &Expression{
		kind:      KindRate,
		text:      fmt.Sprintf("rate(%d %s)", v, f[1]),
		rateValue: v,
		rateUnit:  f[1],
		interval:  time.Duration(v) * unit.d,
	}, nil
}

// AtLayout is the layout of an at() expression's time.
const AtLayout = "2006-01-02T15:04:05"

func parseAt(body string) (*Expression, error) {
	t, err := time.Parse(AtLayout, body)
	if err != nil || len(body) != len(AtLayout) {
		return nil, &Error{Kind: KindAt, Body: body, Problem: "want a date and time as yyyy-mm-ddThh:mm:ss, e.g. at(2026-03-08T02:30:00)"}
	}
	return &Expression{kind: KindAt, text: "at(" + body + ")", at: t}, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String returns the expression in canonical form: cron fields separated by
// one space, rate value without leading zeros. Parse(e.String()) gives an
// equal expression.
func (e *Expression) String() string { return e.text }

// Kind reports whether e is a rate, cron or at expression.
func (e *Expression) Kind() Kind { return e.kind }

// Recurring reports whether e fires more than once (rate or cron).
func (e *Expression) Recurring() bool { return e.kind != KindAt }

// Interval returns a rate expression's interval, 0 for cron and at.
func (e *Expression) Interval() time.Duration { return e.interval }

// MinInterval returns the shortest wall-clock time between two consecutive
// fires, or a lower bound of it: exact for rate; for cron, the smallest gap
// between two minutes of the minutes field when it has more than one value
// (across the top of the hour only when two consecutive hours can fire),
// else the smallest gap between two hours of the hours field when it has
// more than one, else 24 hours. A cron with a single minute value therefore
// never fires twice within an hour of wall-clock time (in a zone whose
// daylight-saving shift is a whole hour, not of real time either). It is 0
// for at, which fires once.
func (e *Expression) MinInterval() time.Duration {
	switch e.kind {
	case KindRate:
		return e.interval
	case KindCron:
		return e.cron.minInterval()
	}
	return 0
}

// Next returns the first fire time strictly after `after`, and false when
// there is none.
//
//   - rate fires at start, start+interval, start+2*interval, ... (a plain
//     duration, whatever the time zone; loc is not used). A zero start
//     anchors the rate at the Unix epoch, so rate(1 hour) fires on the hour.
//   - cron fires at whole minutes of wall-clock time in loc (UTC when nil),
//     never before start when start is not zero (Scheduler's StartDate). A
//     wall time that does not exist in loc (spring forward) is skipped; one
//     that occurs twice (fall back) fires once, at its first occurrence.
//     There is none after the year 2199.
//   - at fires once, at its wall time in loc, with the same daylight-saving
//     rules (a non-existent wall time never fires); start is ignored.
//
// The result is in loc (UTC when loc is nil).
func (e *Expression) Next(after time.Time, loc *time.Location, start time.Time) (time.Time, bool) {
	if loc == nil {
		loc = time.UTC
	}
	switch e.kind {
	case KindRate:
		return e.nextRate(after, start, loc)
	case KindCron:
		if !start.IsZero() && start.After(after) {
			after = start.Add(-time.Nanosecond)
		}
		return e.cron.next(after, loc)
	case KindAt:
		t, ok := resolve(e.at, loc)
		if !ok || !t.After(after) {
			return time.Time{}, false
		}
		return t, true
	}
	return time.Time{}, false
}

func (e *Expression) nextRate(after, start time.Time, loc *time.Location) (time.Time, bool) {
	if start.IsZero() {
		start = time.Unix(0, 0)
	}
	if after.Before(start) {
		return start.In(loc), true
	}
	// Whole seconds and nanoseconds, so distant times do not overflow a Duration.
	ds := after.Unix() - start.Unix()
	dn := after.Nanosecond() - start.Nanosecond()
	if dn < 0 {
		ds--
	}
	step := int64(e.interval / time.Second)
	k := ds/step + 1
	return time.Unix(start.Unix()+k*step, int64(start.Nanosecond())).In(loc), true
}

// NextN returns up to n fire times after `after`, in order (fewer when the
// schedule ends). Arguments are as for Next.
func (e *Expression) NextN(after time.Time, loc *time.Location, start time.Time, n int) []time.Time {
	var out []time.Time
	for len(out) < n {
		t, ok := e.Next(after, loc, start)
		if !ok {
			break
		}
		out = append(out, t)
		after = t
	}
	return out
}

// resolve returns the first instant at which the wall clock in loc shows
// w's date, hour, minute and second (w is a wall time held in UTC), and
// false when the wall clock never shows it (a spring-forward gap).
func resolve(w time.Time, loc *time.Location) (time.Time, bool) {
	secs := w.Unix()
	var best time.Time
	found := false
	var tried [5]int
	for i, probe := range [5]int64{0, -12 * 3600, 12 * 3600, -24 * 3600, 24 * 3600} {
		_, off := time.Unix(secs+probe, 0).In(loc).Zone()
		tried[i] = off
		seen := false
		for j := 0; j < i; j++ {
			seen = seen || tried[j] == off
		}
		if seen {
			continue
		}
		t := time.Unix(secs-int64(off), 0).In(loc)
		if sameWall(t, w) && (!found || t.Before(best)) {
			best, found = t, true
		}
	}
	return best, found
}

func sameWall(t, w time.Time) bool {
	y1, m1, d1 := t.Date()
	y2, m2, d2 := w.Date()
	h1, n1, s1 := t.Clock()
	h2, n2, s2 := w.Clock()
	return y1 == y2 && m1 == m2 && d1 == d2 && h1 == h2 && n1 == n2 && s1 == s2
}
