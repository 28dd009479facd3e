package snapkeep

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/schedule"
)

// Limits the validation rules apply.
const (
	// MaxIDLength is the longest policy, customer or account id: a policy id
	// names its EventBridge Scheduler schedule, whose name is 1-64 characters.
	MaxIDLength = 64
	// MaxKeepLast is the largest Retention.KeepLast.
	MaxKeepLast = 500
	// MaxVolumeKeepLast is the largest Retention.KeepLast of a volume policy:
	// DigitalOcean keeps at most 25 snapshots per volume, and one slot is
	// needed for the new snapshot before retention deletes an old one.
	MaxVolumeKeepLast = 24
	// MaxAgeDays is the largest Retention.MaxAgeDays (ten years).
	MaxAgeDays = 3650
	// MaxFlexibleWindowMinutes is Scheduler's largest flexible time window.
	MaxFlexibleWindowMinutes = 1440
	// MinScheduleInterval is the shortest time allowed between two runs of a
	// policy: a snapshot takes about a minute per GB, so a large droplet's
	// snapshot may still be running when a more frequent one would start.
	MinScheduleInterval = time.Hour
)

// DefaultNotificationMode is what an empty Customer.NotificationMode means.
const DefaultNotificationMode = NotifyEveryFailure

var (
	idPattern     = regexp.MustCompile(`^[0-9A-Za-z_.-]{1,64}$`)
	regionPattern = regexp.MustCompile(`^[a-z]+[0-9]+$`)
	uuidPattern   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// ValidID reports whether id follows the id rule of policies, customers and
// accounts: 1-64 characters of 0-9 A-Z a-z _ . - (it names Scheduler
// schedules and secrets, and stays far below DynamoDB's key size).
func ValidID(id string) bool { return idPattern.MatchString(id) }

// FieldProblem is one broken rule: the field, by its json name, and the
// rule in words.
type FieldProblem struct {
	// Field is the json name of the field, e.g. "keep_last".
	Field string
	// Rule says what the field must be and, where it helps, what it is.
	Rule string
}

// String returns "field: rule".
func (p FieldProblem) String() string { return p.Field + ": " + p.Rule }

// ValidationError lists every rule a policy or customer breaks. It matches
// ErrInvalid with errors.Is.
type ValidationError struct {
	// Subject names what was validated, e.g. `policy "p-1"`.
	Subject string
	// Problems are the broken rules, in field order.
	Problems []FieldProblem
}

// Error returns the subject and every problem, e.g.
//
//	policy "p-1": keep_last: must be 0-24 for a volume (...); region: ...
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return e.Subject + ": " + strings.Join(parts, "; ")
}

// Unwrap returns ErrInvalid, so errors.Is(err, ErrInvalid) holds.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// Has reports whether field is among the problems.
func (e *ValidationError) Has(field string) bool {
	for _, p := range e.Problems {
		if p.Field == field {
			return true
		}
	}
	return false
}

type problems []FieldProblem

func (ps *problems) add(field, format string, args ...any) {
	*ps = append(*ps, FieldProblem{Field: field, Rule: fmt.Sprintf(format, args...)})
}

func (ps problems) err(subject string) error {
	if len(ps) == 0 {
		return nil
	}
	return &ValidationError{Subject: subject, Problems: ps}
}

func checkID(ps *problems, field, v string) {
	switch {
	case v == "":
		ps.add(field, "is required")
	case !idPattern.MatchString(v):
		ps.add(field, "%q must be 1-%d characters of 0-9 A-Z a-z _ . -", v, MaxIDLength)
	}
}

// Validate checks the policy and returns a *ValidationError listing every
// broken rule (it wraps ErrInvalid), or nil. The rules, by json field:
//
//   - policy_id: required, 1-64 characters of [0-9A-Za-z_.-] (it names the
//     policy's EventBridge Scheduler schedule, and that is Scheduler's rule
//     for names).
//   - customer_id: required, same characters.
//   - account_id: required, same characters (it names the account's token
//     secret in Secrets Manager).
//   - resource_kind: droplet or volume.
//   - resource_id: for a droplet, its positive integer id in decimal
//     without leading zeros; for a volume, its UUID.
//   - region: a DigitalOcean region slug: lowercase letters then digits,
//     e.g. nyc3, fra1, sgp1.
//   - schedule: a rate() or cron() expression that shared/schedule parses
//     (at() fires once and is not a backup policy), firing at most once an
//     hour (MinScheduleInterval: a snapshot takes about a minute per GB).
//   - time_zone: empty (UTC) or an IANA time zone name, e.g. Europe/Berlin.
//   - keep_last: 0-500, and 0-24 for a volume (DigitalOcean keeps at most 25
//     snapshots per volume; one slot is needed for the new snapshot).
//   - max_age_days: 0-3650.
//   - keep_last and max_age_days: at least one is set (not 0), or retention
//     would keep every snapshot forever.
//   - flexible_window_minutes: 0-1440 (0 = off).
//
// Validate does not read the clock or the network; CreatedAt, UpdatedAt,
// Enabled and InvalidReason are not checked.
func (p *Policy) Validate() error {
	var ps problems
	checkID(&ps, "policy_id", p.PolicyID)
	checkID(&ps, "customer_id", p.CustomerID)
	checkID(&ps, "account_id", p.AccountID)

	switch p.Kind {
	case ResourceDroplet:
		if n, err := strconv.ParseInt(p.ID, 10, 64); err != nil || n < 1 || strconv.FormatInt(n, 10) != p.ID {
			ps.add("resource_id", "%q must be the droplet's id, a positive integer such as 3164444", p.ID)
		}
	case ResourceVolume:
		if !uuidPattern.MatchString(p.ID) {
			ps.add("resource_id", "%q must be the volume's id, a UUID such as 506f78a4-e098-11e5-ad9f-000f53306ae1", p.ID)
		}
	case "":
		ps.add("resource_kind", "is required: droplet or volume")
	default:
		ps.add("resource_kind", "%q must be droplet or volume", p.Kind)
	}
	if !regionPattern.MatchString(p.Region) {
		if p.Region == "" {
			ps.add("region", "is required: a DigitalOcean region slug such as nyc3, fra1 or sgp1")
		} else {
			ps.add("region", "%q must be a DigitalOcean region slug, lowercase letters then digits, such as nyc3, fra1 or sgp1", p.Region)
		}
	}

	checkSchedule(&ps, p.Schedule)
	if p.TimeZone != "" {
		if _, err := time.LoadLocation(p.TimeZone); err != nil || p.TimeZone == "Local" {
			ps.add("time_zone", "%q must be empty (UTC) or an IANA time zone such as Europe/Berlin", p.TimeZone)
		}
	}

	switch {
	case p.KeepLast < 0 || p.KeepLast > MaxKeepLast:
		ps.add("keep_last", "%d must be 0-%d (0 = no count rule)", p.KeepLast, MaxKeepLast)
	case p.Kind == ResourceVolume && p.KeepLast > MaxVolumeKeepLast:
		ps.add("keep_last", "%d must be 0-%d for a volume (DigitalOcean keeps at most 25 snapshots per volume and one slot is needed for the new snapshot)", p.KeepLast, MaxVolumeKeepLast)
	}
	if p.MaxAgeDays < 0 || p.MaxAgeDays > MaxAgeDays {
		ps.add("max_age_days", "%d must be 0-%d (0 = no age rule)", p.MaxAgeDays, MaxAgeDays)
	}
	if p.KeepLast == 0 && p.MaxAgeDays == 0 {
		ps.add("keep_last", "keep_last or max_age_days must be set, or every snapshot would be kept forever")
	}
	if p.FlexibleWindowMinutes < 0 || p.FlexibleWindowMinutes > MaxFlexibleWindowMinutes {
		ps.add("flexible_window_minutes", "%d must be 0-%d (0 = off)", p.FlexibleWindowMinutes, MaxFlexibleWindowMinutes)
	}
	return ps.err(fmt.Sprintf("policy %q", p.PolicyID))
}

func checkSchedule(ps *problems, expr string) {
	if expr == "" {
		ps.add("schedule", "is required: rate(...) or cron(...), e.g. cron(0 3 * * ? *)")
		return
	}
	e, err := schedule.Parse(expr)
	if err != nil {
		var se *schedule.Error
		switch {
		case errors.As(err, &se) && se.Field != "":
			ps.add("schedule", "%s field %s: %s", se.Kind, se.Field, se.Problem)
		case errors.As(err, &se):
			ps.add("schedule", "%s", se.Error())
		default:
			ps.add("schedule", "%v", err)
		}
		return
	}
	if !e.Recurring() {
		ps.add("schedule", "%s fires only once; a backup policy needs rate(...) or cron(...)", expr)
		return
	}
	if gap := e.MinInterval(); gap < MinScheduleInterval {
		ps.add("schedule", "%s fires as often as every %s; a policy may fire at most once an hour (a snapshot takes about a minute per GB)", expr, shortDuration(gap))
	}
}

// shortDuration formats d as "5m" or "1h30m".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// Validate checks the customer and returns a *ValidationError listing every
// broken rule (it wraps ErrInvalid), or nil. The rules, by json field:
//
//   - customer_id: required, 1-64 characters of [0-9A-Za-z_.-].
//   - name: required (not blank); emails address the customer by it.
//   - email: a single bare address such as ops@example.com (net/mail),
//     without a display name or angle brackets.
//   - notification_mode: every_failure, first_failure, daily_digest, none,
//     or empty, which means every_failure (DefaultNotificationMode).
//   - slack_webhook_url: empty, or an https URL.
func (c *Customer) Validate() error {
	var ps problems
	checkID(&ps, "customer_id", c.CustomerID)
	if strings.TrimSpace(c.Name) == "" {
		ps.add("name", "is required")
	}
	if c.Email == "" {
		ps.add("email", "is required")
	} else if a, err := mail.ParseAddress(c.Email); err != nil || a.Name != "" || a.Address != c.Email {
		ps.add("email", "%q must be a single email address such as ops@example.com", c.Email)
	}
	switch c.NotificationMode {
	case "", NotifyEveryFailure, NotifyFirstFailure, NotifyDailyDigest, NotifyNone:
	default:
		ps.add("notification_mode", "%q must be every_failure, first_failure, daily_digest or none (empty means every_failure)", c.NotificationMode)
	}
	if c.SlackWebhookURL != "" {
		if u, err := url.Parse(c.SlackWebhookURL); err != nil || u.Scheme != "https" || u.Host == "" {
			// The URL is itself a secret of sorts: do not echo it.
			ps.add("slack_webhook_url", "must be an https URL such as https://hooks.slack.com/services/...")
		}
	}
	return ps.err(fmt.Sprintf("customer %q", c.CustomerID))
}
