package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		expr     string
		kind     Kind
		canon    string        // String(); "" means expr itself
		interval time.Duration // rate only
	}{
		// AWS's documented examples.
		{expr: "cron(0 10 * * ? *)", kind: KindCron},
		{expr: "cron(15 12 * * ? *)", kind: KindCron},
		{expr: "cron(0 18 ? * MON-FRI *)", kind: KindCron},
		{expr: "cron(0 8 1 * ? *)", kind: KindCron},
		{expr: "cron(0/15 * * * ? *)", kind: KindCron},
		{expr: "cron(0/10 * ? * MON-FRI *)", kind: KindCron},
		{expr: "cron(0/5 8-17 ? * MON-FRI *)", kind: KindCron},
		{expr: "cron(0 9 ? * 2#1 *)", kind: KindCron},
		{expr: "cron(0 12 ? JAN,FEB,MAR * *)", kind: KindCron},
		{expr: "cron(1/10 * 1-15 * ? 2026)", kind: KindCron},
		// L, W, #, names, ranges, steps.
		{expr: "cron(0 0 L * ? *)", kind: KindCron},
		{expr: "cron(0 0 LW * ? *)", kind: KindCron},
		{expr: "cron(0 0 15W * ? *)", kind: KindCron},
		{expr: "cron(0 0 ? * 6L *)", kind: KindCron},
		{expr: "cron(0 0 ? * FRIL *)", kind: KindCron},
		{expr: "cron(0 0 ? * L *)", kind: KindCron},
		{expr: "cron(0 0 ? * 3#2 *)", kind: KindCron},
		{expr: "cron(0 0 ? * TUE#5 *)", kind: KindCron},
		{expr: "cron(0 0 ? * sun,sat *)", kind: KindCron},
		{expr: "cron(*/20 22-2 ? jan-mar/2 FRI-MON 2026-2199/3)", kind: KindCron},
		{expr: "cron(0,30 * * * ? *)", kind: KindCron},
		{expr: "cron(59 23 31 12 ? 2199)", kind: KindCron},
		{expr: "cron(0  12\t* * ?   *)", kind: KindCron, canon: "cron(0 12 * * ? *)"},
		// rate: singular for 1, plural above.
		{expr: "rate(1 minute)", kind: KindRate, interval: time.Minute},
		{expr: "rate(5 minutes)", kind: KindRate, interval: 5 * time.Minute},
		{expr: "rate(1 hour)", kind: KindRate, interval: time.Hour},
		{expr: "rate(12 hours)", kind: KindRate, interval: 12 * time.Hour},
		{expr: "rate(1 day)", kind: KindRate, interval: 24 * time.Hour},
		{expr: "rate(7 days)", kind: KindRate, interval: 7 * 24 * time.Hour},
		{expr: "rate(007 days)", kind: KindRate, canon: "rate(7 days)", interval: 7 * 24 * time.Hour},
		{expr: "rate( 2  hours )", kind: KindRate, canon: "rate(2 hours)", interval: 2 * time.Hour},
		// at
		{expr: "at(2026-11-24T12:30:00)", kind: KindAt},
		{expr: "at(2028-02-29T23:59:59)", kind: KindAt},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := Parse(tt.expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.expr, err)
			}
			if e.Kind() != tt.kind {
				t.Errorf("Kind() = %q, want %q", e.Kind(), tt.kind)
			}
			want := tt.canon
			if want == "" {
				want = tt.expr
			}
			if e.String() != want {
				t.Errorf("String() = %q, want %q", e.String(), want)
			}
			if e.Interval() != tt.interval {
				t.Errorf("Interval() = %v, want %v", e.Interval(), tt.interval)
			}
			if e.Recurring() != (tt.kind != KindAt) {
				t.Errorf("Recurring() = %v", e.Recurring())
			}
			again, err := Parse(e.String())
			if err != nil || again.String() != e.String() {
				t.Errorf("Parse(String()) = %v, %v", again, err)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		expr string
		want string // the whole message when it starts with the kind, else a substring
	}{
		// The message formats other packages show to people.
		{"cron(0 12 * * 1 *)", `cron "0 12 * * 1 *": day-of-month and day-of-week: one of them must be "?"`},
		{"cron(0 12 ? * 8 *)", `cron "0 12 ? * 8 *": field day-of-week: 8 is out of range 1-7 (1 = SUN ... 7 = SAT)`},
		{"cron(0 12 ? * ? *)", `cron "0 12 ? * ? *": day-of-month and day-of-week: only one of them can be "?"`},
		{"cron(0 12 * * * *)", `one of them must be "?"`},
		{"cron(0 12 * * ?)", `cron "0 12 * * ?": want 6 fields (minutes hours day-of-month month day-of-week year), got 5`},
		{"cron(0 0 12 * * ? *)", "got 7"},
		{"cron()", "got 0"},
		// Ranges of each field.
		{"cron(60 * * * ? *)", "field minutes: 60 is out of range 0-59"},
		{"cron(0 24 * * ? *)", "field hours: 24 is out of range 0-23"},
		{"cron(0 0 0 * ? *)", "field day-of-month: 0 is out of range 1-31"},
		{"cron(0 0 32 * ? *)", "field day-of-month: 32 is out of range 1-31"},
		{"cron(0 0 1 13 ? *)", "field month: 13 is out of range 1-12 (1 = JAN ... 12 = DEC)"},
		{"cron(0 0 1 FOO ? *)", `field month: "FOO" is not a value`},
		{"cron(0 0 ? * 0 *)", "field day-of-week: 0 is out of range 1-7 (1 = SUN ... 7 = SAT)"},
		{"cron(0 0 ? * MOO *)", `field day-of-week: "MOO" is not a value`},
		{"cron(0 0 1 1 ? 1969)", "field year: 1969 is out of range 1970-2199"},
		{"cron(0 0 1 1 ? 2200)", "field year: 2200 is out of range 1970-2199"},
		{"cron(0 0 1 1 ? 2030-2026)", "field year: \"2030-2026\": range runs backwards"},
		{"cron(99999 0 1 1 ? *)", "field minutes: 99999 is out of range 0-59"},
		// Wildcards in the wrong field or form.
		{"cron(? 0 1 1 ? *)", "field minutes: '?' is not allowed here"},
		{"cron(0 0 1 1 L *)", `one of them must be "?"`}, // L alone is SAT
		{"cron(0 0 ? * 1/2 *)", "field day-of-week: '/' is not allowed here"},
		{"cron(0 L * * ? *)", `field hours: "L" is not a value`},
		{"cron(0 0 1#2 * ? *)", "field day-of-month: '#' is not allowed here"},
		{"cron(0/0 * * * ? *)", "field minutes: \"0/0\": increment 0 is out of range 1-59"},
		{"cron(0/60 * * * ? *)", "increment 60 is out of range 1-59"},
		{"cron(0/ * * * ? *)", "/ needs an increment"},
		{"cron(1,,2 * * * ? *)", "empty list item"},
		{"cron(1- * * * ? *)", "missing value"},
		{"cron(1-2-3 * * * ? *)", `"2-3" is not a value`},
		{"cron(0 0 ?,1 * * *)", "? stands alone"},
		{"cron(0 0 ? * 3#1,6#3 *)", `"3#1,6#3" is not valid`},
		{"cron(0 0 ? * 3#6 *)", "# needs a week 1-5"},
		{"cron(0 0 ? * 3# *)", "# needs a week 1-5"},
		{"cron(0 0 ? * 8#1 *)", "8 is out of range 1-7"},
		{"cron(0 0 ? * 1-3L *)", "stand alone"},
		{"cron(0 0 L,15 * ? *)", "L and W stand alone"},
		{"cron(0 0 1-5W * ? *)", "L and W stand alone"},
		{"cron(0 0 32W * ? *)", "W needs a day 1-31"},
		{"cron(0 0 W * ? *)", "L and W stand alone"},
		{"cron(0 0 L-3 * ? *)", "L and W stand alone"},
		{"cron(0 0 1 * ? *x)", `field year: "*X" is not a value`},
		{"cron(0 0 1 * ? 20%6)", `field year: '%' is not allowed here`},
		// rate
		{"rate(1 hours)", `rate "1 hours": value 1 needs the singular unit "hour"`},
		{"rate(5 hour)", `rate "5 hour": value 5 needs the plural unit "hours"`},
		{"rate(1 days)", `singular unit "day"`},
		{"rate(2 minute)", `plural unit "minutes"`},
		{"rate(0 minutes)", `rate "0 minutes": value 0 is not a positive integer`},
		{"rate(-5 minutes)", `value "-5" is not a positive integer`},
		{"rate(+5 minutes)", `value "+5" is not a positive integer`},
		{"rate(1.5 hours)", `value "1.5" is not a positive integer`},
		{"rate(5 seconds)", `unit "seconds": want minute, minutes, hour, hours, day or days`},
		{"rate(5 Minutes)", `unit "Minutes"`},
		{"rate(5)", "want two fields"},
		{"rate(5 minutes please)", "want two fields"},
		{"rate(99999999999999999999 minutes)", "too large"},
		{"rate(36501 days)", "too large"},
		// at
		{"at(2026-13-01T00:00:00)", `at "2026-13-01T00:00:00": want a date and time as yyyy-mm-ddThh:mm:ss, e.g. at(2026-03-08T02:30:00)`},
		{"at(2026-02-30T00:00:00)", "want a date and time"},
		{"at(2026-01-01 00:00:00)", "want a date and time"},
		{"at(2026-01-01T00:00)", "want a date and time"},
		{"at(2026-01-01T00:00:00Z)", "want a date and time"},
		{"at(2026-1-01T00:00:00)", "want a date and time"},
		// not an expression
		{"", `schedule "": want rate(value unit), cron(`},
		{"cron", "want rate(value unit)"},
		{"cron(0 10 * * ? *", "want rate(value unit)"},
		{" rate(5 minutes)", `unknown expression type " rate"`},
		{"rate(5 minutes) ", "want rate(value unit)"},
		{"CRON(0 10 * * ? *)", `unknown expression type "CRON"`},
		{"every(5 minutes)", `unknown expression type "every"`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := Parse(tt.expr)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error %q", tt.expr, e, tt.want)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("errors.Is(%v, ErrSyntax) = false", err)
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not *Error", err)
			}
			msg := err.Error()
			whole := strings.HasPrefix(tt.want, "cron \"") || strings.HasPrefix(tt.want, "rate \"") || strings.HasPrefix(tt.want, "at \"")
			if whole && msg != tt.want {
				t.Errorf("error\n got %s\nwant %s", msg, tt.want)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not contain %q", msg, tt.want)
			}
		})
	}
}

func TestErrorField(t *testing.T) {
	_, err := Parse("cron(0 12 ? * 8 *)")
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("Parse: %v", err)
	}
	if se.Kind != KindCron || se.Field != "day-of-week" || se.Body != "0 12 ? * 8 *" {
		t.Errorf("Error = %+v", *se)
	}
}

func TestMinInterval(t *testing.T) {
	tests := []struct {
		expr string
		want time.Duration
	}{
		{"rate(5 minutes)", 5 * time.Minute},
		{"rate(1 hour)", time.Hour},
		{"rate(2 days)", 48 * time.Hour},
		{"cron(0/15 * * * ? *)", 15 * time.Minute},
		{"cron(0,30 12 * * ? *)", 30 * time.Minute},
		{"cron(0,59 * * * ? *)", time.Minute}, // 12:59 then 13:00
		{"cron(10,20,50 * * * ? *)", 10 * time.Minute},
		{"cron(0,45 3 * * ? *)", 45 * time.Minute},    // 03:00, 03:45, then tomorrow
		{"cron(0,45 3,4 * * ? *)", 15 * time.Minute},  // 03:45 then 04:00
		{"cron(0,45 0,23 * * ? *)", 15 * time.Minute}, // 23:45 then 00:00
		{"cron(0 * * * ? *)", time.Hour},
		{"cron(30 */6 * * ? *)", 6 * time.Hour},
		{"cron(0 0,23 * * ? *)", time.Hour}, // 23:00 then 00:00
		{"cron(0 12 * * ? *)", 24 * time.Hour},
		{"cron(0 12 1 * ? *)", 24 * time.Hour}, // a lower bound
		{"at(2026-01-01T00:00:00)", 0},
	}
	for _, tt := range tests {
		e, err := Parse(tt.expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.expr, err)
		}
		if got := e.MinInterval(); got != tt.want {
			t.Errorf("%s: MinInterval() = %v, want %v", tt.expr, got, tt.want)
		}
	}
}
