package schedule

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Cron fields, in order.
const (
	fMinutes = iota
	fHours
	fDayOfMonth
	fMonth
	fDayOfWeek
	fYear
)

const (
	minYear = 1970
	maxYear = 2199
)

type fieldDef struct {
	name     string
	min, max int
	names    []string // names[i] is the value min+i
	wild     string   // wildcards allowed besides , - *
	maxStep  int
	rangeTip string
}

var fieldDefs = [6]fieldDef{
	{name: "minutes", min: 0, max: 59, wild: "/", maxStep: 59},
	{name: "hours", min: 0, max: 23, wild: "/", maxStep: 23},
	{name: "day-of-month", min: 1, max: 31, wild: "?/LW", maxStep: 31},
	{name: "month", min: 1, max: 12, wild: "/", maxStep: 12,
		names:    []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"},
		rangeTip: " (1 = JAN ... 12 = DEC)"},
	{name: "day-of-week", min: 1, max: 7, wild: "?L#",
		names:    []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"},
		rangeTip: " (1 = SUN ... 7 = SAT)"},
	{name: "year", min: minYear, max: maxYear, wild: "/", maxStep: maxYear - minYear},
}

// set is a bit set of field values, bit i standing for min+i.
type set [4]uint64

func (s *set) add(i int)      { s[i>>6] |= 1 << (i & 63) }
func (s *set) has(i int) bool { return i >= 0 && i < 256 && s[i>>6]&(1<<(i&63)) != 0 }
func (s *set) count() (n int) {
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// nextFrom returns the smallest member >= i, or -1.
func (s *set) nextFrom(i int) int {
	for ; i < 256; i = (i | 63) + 1 {
		if i < 0 {
			i = 0
		}
		w := s[i>>6] >> (i & 63)
		if w != 0 {
			return i + bits.TrailingZeros64(w)
		}
	}
	return -1
}

type domKind int

const (
	domNone           domKind = iota // ?
	domSet                           // values, ranges, steps, *
	domLast                          // L
	domLastWeekday                   // LW
	domNearestWeekday                // nW
)

type dowKind int

const (
	dowNone dowKind = iota // ?
	dowSet                 // values, ranges, *, L (= 7)
	dowLast                // nL: last weekday n of the month
	dowNth                 // n#k: k-th weekday n of the month
)

type cronSpec struct {
	minutes, hours, months, years set // bit i = min+i
	dom                           set
	domKind                       domKind
	domDay                        int // for nW
	dow                           set
	dowKind                       dowKind
	dowDay                        int // 1..7 for nL and n#k
	dowNth                        int // k for n#k
}

func parseCron(body string) (*cronSpec, error) {
	fields := strings.Fields(body)
	if len(fields) != 6 {
		return nil, &Error{Kind: KindCron, Body: body, Problem: fmt.Sprintf("want 6 fields (minutes hours day-of-month month day-of-week year), got %d", len(fields))}
	}
	c := &cronSpec{}
	for i, f := range fields {
		if err := c.parseField(i, strings.ToUpper(f)); err != nil {
			return nil, &Error{Kind: KindCron, Body: body, Field: fieldDefs[i].name, Problem: err.Error()}
		}
	}
	switch {
	case c.domKind == domNone && c.dowKind == dowNone:
		return nil, &Error{Kind: KindCron, Body: body, Problem: `day-of-month and day-of-week: only one of them can be "?"`}
	case c.domKind != domNone && c.dowKind != dowNone:
		return nil, &Error{Kind: KindCron, Body: body, Problem: `day-of-month and day-of-week: one of them must be "?"`}
	}
	return c, nil
}

func (c *cronSpec) parseField(i int, f string) error {
	def := &fieldDefs[i]
	for _, r := range f {
		ok := (r >= '0' && r <= '9') || (r >= 'A' && r <= 'Z') || strings.ContainsRune(",-*", r) || strings.ContainsRune(def.wild, r)
		if !ok {
			return fmt.Errorf("%q is not allowed here (allowed: digits%s , - * %s)", r, nameHint(def), spaced(def.wild))
		}
	}
	if f == "?" {
		switch i {
		case fDayOfMonth:
			c.domKind = domNone
		case fDayOfWeek:
			c.dowKind = dowNone
		}
		return nil
	}
	if strings.Contains(f, "?") {
		return fmt.Errorf("%q: ? stands alone in its field", f)
	}
	switch i {
	case fDayOfMonth:
		if strings.ContainsAny(f, "LW") {
			return c.parseDomSpecial(f)
		}
		c.domKind = domSet
		return parseList(def, f, &c.dom)
	case fDayOfWeek:
		if strings.Contains(f, "#") || strings.HasSuffix(f, "L") {
			return c.parseDowSpecial(def, f)
		}
		c.dowKind = dowSet
		return parseList(def, f, &c.dow)
	case fMinutes:
		return parseList(def, f, &c.minutes)
	case fHours:
		return parseList(def, f, &c.hours)
	case fMonth:
		return parseList(def, f, &c.months)
	default:
		return parseList(def, f, &c.years)
	}
}

func nameHint(def *fieldDef) string {
	if def.names == nil {
		return ""
	}
	return fmt.Sprintf(", %s-%s", def.names[0], def.names[len(def.names)-1])
}

func spaced(s string) string { return strings.Join(strings.Split(s, ""), " ") }

func (c *cronSpec) parseDomSpecial(f string) error {
	switch {
	case f == "L":
		c.domKind = domLast
		return nil
	case f == "LW":
		c.domKind = domLastWeekday
		return nil
	case strings.HasSuffix(f, "W") && allDigits(f[:len(f)-1]):
		n, _ := strconv.Atoi(f[:len(f)-1])
		if len(f) > 3 || n < 1 || n > 31 {
			return fmt.Errorf("%q: W needs a day 1-31 before it, e.g. 15W", f)
		}
		c.domKind, c.domDay = domNearestWeekday, n
		return nil
	}
	return fmt.Errorf(`%q: L and W stand alone in the field: "L" (last day), "LW" (last weekday) or "<day>W" (weekday nearest that day, e.g. 15W)`, f)
}

func (c *cronSpec) parseDowSpecial(def *fieldDef, f string) error {
	if strings.ContainsAny(f, ",-*") {
		return fmt.Errorf(`%q: # and L stand alone in the field, e.g. "3#2" (second Tuesday) or "6L" (last Friday); "3#1,6#3" is not valid`, f)
	}
	if f == "L" {
		c.dowKind = dowSet
		c.dow.add(7 - def.min) // L alone is the last day of the week, SAT
		return nil
	}
	if day, ok := strings.CutSuffix(f, "L"); ok {
		n, err := value(def, day)
		if err != nil {
			return err
		}
		c.dowKind, c.dowDay = dowLast, n
		return nil
	}
	day, nth, _ := strings.Cut(f, "#")
	n, err := value(def, day)
	if err != nil {
		return err
	}
	if len(nth) != 1 || nth[0] < '1' || nth[0] > '5' {
		return fmt.Errorf("%q: # needs a week 1-5 after it, e.g. 3#2 (second Tuesday)", f)
	}
	c.dowKind, c.dowDay, c.dowNth = dowNth, n, int(nth[0]-'0')
	return nil
}

// parseList parses a comma-separated list of "*", values, ranges and steps
// into s.
func parseList(def *fieldDef, f string, s *set) error {
	for item := range strings.SplitSeq(f, ",") {
		if item == "" {
			return fmt.Errorf("%q: empty list item", f)
		}
		base, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			if !allDigits(stepText) || len(stepText) > 3 {
				return fmt.Errorf("%q: / needs an increment after it, e.g. 0/15", item)
			}
			step, _ = strconv.Atoi(stepText)
			if step < 1 || step > def.maxStep {
				return fmt.Errorf("%q: increment %d is out of range 1-%d", item, step, def.maxStep)
			}
		}
		lo, hi := def.min, def.max
		switch {
		case base == "*":
		case strings.Contains(base, "-"):
			a, b, _ := strings.Cut(base, "-")
			var err error
			if lo, err = value(def, a); err != nil {
				return err
			}
			if hi, err = value(def, b); err != nil {
				return err
			}
		default:
			v, err := value(def, base)
			if err != nil {
				return err
			}
			lo = v
			if !hasStep {
				hi = v
			}
		}
		if hi < lo && def.min == minYear {
			return fmt.Errorf("%q: range runs backwards", item)
		}
		// A range whose end is below its start wraps around, as in Quartz
		// (e.g. hours 22-2, day-of-week FRI-MON).
		span := hi - lo
		if span < 0 {
			span += def.max - def.min + 1
		}
		for off := 0; off <= span; off += step {
			v := lo + off
			if v > def.max {
				v -= def.max - def.min + 1
			}
			s.add(v - def.min)
		}
	}
	return nil
}

// value parses one number or name of the field.
func value(def *fieldDef, t string) (int, error) {
	if allDigits(t) {
		if len(t) > 4 {
			return 0, fmt.Errorf("%s is out of range %d-%d%s", t, def.min, def.max, def.rangeTip)
		}
		n, _ := strconv.Atoi(t)
		if n < def.min || n > def.max {
			return 0, fmt.Errorf("%d is out of range %d-%d%s", n, def.min, def.max, def.rangeTip)
		}
		return n, nil
	}
	for i, name := range def.names {
		if t == name {
			return def.min + i, nil
		}
	}
	if t == "" {
		return 0, fmt.Errorf("missing value")
	}
	if def.names != nil {
		return 0, fmt.Errorf("%q is not a value: want %d-%d or %s-%s%s", t, def.min, def.max, def.names[0], def.names[len(def.names)-1], def.rangeTip)
	}
	return 0, fmt.Errorf("%q is not a value: want %d-%d", t, def.min, def.max)
}

// minInterval: see Expression.MinInterval.
func (c *cronSpec) minInterval() time.Duration {
	// The gap from the last minute of an hour to the first of the next only
	// counts when two consecutive hours can fire (23 and 0 count as such).
	consecutiveHours := false
	for h := 0; h < 24; h++ {
		consecutiveHours = consecutiveHours || (c.hours.has(h) && c.hours.has((h+1)%24))
	}
	if d := cyclicGap(&c.minutes, 60, consecutiveHours); d > 0 {
		return time.Duration(d) * time.Minute
	}
	if d := cyclicGap(&c.hours, 24, true); d > 0 {
		return time.Duration(d) * time.Hour
	}
	return 24 * time.Hour
}

// cyclicGap returns the smallest distance between two members of s on a
// cycle of n (only forward, without wrapping, when wrap is false), or 0
// when s has fewer than two members.
func cyclicGap(s *set, n int, wrap bool) int {
	if s.count() < 2 {
		return 0
	}
	first, prev, gap := -1, -1, n
	for i := s.nextFrom(0); i >= 0 && i < n; i = s.nextFrom(i + 1) {
		if first < 0 {
			first = i
		} else if i-prev < gap {
			gap = i - prev
		}
		prev = i
	}
	if w := first + n - prev; wrap && w < gap {
		gap = w
	}
	return gap
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// dayMatches reports whether the date y-m-d matches the day fields.
func (c *cronSpec) dayMatches(y int, m time.Month, d int) bool {
	last := daysIn(y, m)
	wd := int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()) + 1 // 1 = SUN
	switch c.domKind {
	case domSet:
		return c.dom.has(d - 1)
	case domLast:
		return d == last
	case domLastWeekday:
		return d == weekdayNear(y, m, last, last)
	case domNearestWeekday:
		return c.domDay <= last && d == weekdayNear(y, m, c.domDay, last)
	}
	switch c.dowKind {
	case dowSet:
		return c.dow.has(wd - 1)
	case dowLast:
		return wd == c.dowDay && d+7 > last
	case dowNth:
		return wd == c.dowDay && (d-1)/7+1 == c.dowNth
	}
	return false
}

// weekdayNear returns the weekday (Monday to Friday) nearest day n of the
// month, without leaving the month (Quartz's W): a Saturday moves to the
// Friday before unless that is in the previous month (then the Monday after),
// a Sunday to the Monday after unless that is in the next month (then the
// Friday before).
func weekdayNear(y int, m time.Month, n, last int) int {
	switch time.Date(y, m, n, 0, 0, 0, 0, time.UTC).Weekday() {
	case time.Saturday:
		if n == 1 {
			return 3
		}
		return n - 1
	case time.Sunday:
		if n == last {
			return n - 2
		}
		return n + 1
	}
	return n
}

// next returns the first fire strictly after `after` in loc.
func (c *cronSpec) next(after time.Time, loc *time.Location) (time.Time, bool) {
	la := after.In(loc)
	// Walk wall-clock minutes, held as UTC times so that no zone rule
	// interferes, from the minute after the wall clock of `after`.
	w := time.Date(la.Year(), la.Month(), la.Day(), la.Hour(), la.Minute(), 0, 0, time.UTC).Add(time.Minute)
	for {
		y, m, d := w.Date()
		if y > maxYear {
			return time.Time{}, false
		}
		if y < minYear {
			w = time.Date(minYear, 1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if !c.years.has(y - minYear) {
			ny := c.years.nextFrom(y - minYear)
			if ny < 0 {
				return time.Time{}, false
			}
			w = time.Date(minYear+ny, 1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if !c.months.has(int(m) - 1) {
			w = time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if !c.dayMatches(y, m, d) {
			w = time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
			continue
		}
		h, mi, _ := w.Clock()
		if !c.hours.has(h) {
			w = time.Date(y, m, d, h+1, 0, 0, 0, time.UTC)
			continue
		}
		nm := c.minutes.nextFrom(mi)
		if nm < 0 || nm > 59 {
			w = time.Date(y, m, d, h+1, 0, 0, 0, time.UTC)
			continue
		}
		w = time.Date(y, m, d, h, nm, 0, 0, time.UTC)
		if t, ok := resolve(w, loc); ok && t.After(after) {
			return t, true
		}
		w = w.Add(time.Minute)
	}
}
