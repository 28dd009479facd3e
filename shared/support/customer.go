package support

import (
	"fmt"
	"strconv"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Values of CustomerView's secret fields.
const (
	SecretSet  = "set"
	SecretNone = "none"
)

// CustomerView is a customer as snapctl prints it: everything but its
// secrets. A Slack webhook URL lets anyone holding it post to the
// customer's channel, and the preferences token unsubscribes them, so
// both show only whether they are set.
type CustomerView struct {
	// CustomerID, Name and Email are the customer's.
	CustomerID string `json:"customer_id"`
	Name       string `json:"name"`
	Email      string `json:"email"`
	// NotificationMode is the customer's, the default when unset.
	NotificationMode snapkeep.NotificationMode `json:"notification_mode"`
	// SlackWebhook is SecretSet or SecretNone, never the URL.
	SlackWebhook string `json:"slack_webhook"`
	// PreferencesToken is SecretSet or SecretNone, never the token.
	PreferencesToken string `json:"preferences_token"`
	// EmailBlocked and SlackBlocked say why a channel stopped (not secret).
	EmailBlocked string `json:"email_blocked,omitempty"`
	SlackBlocked string `json:"slack_blocked,omitempty"`
	// CreatedAt and UpdatedAt are in UTC.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ViewCustomer returns c without its secrets.
func ViewCustomer(c *snapkeep.Customer) CustomerView {
	set := func(s string) string {
		if s == "" {
			return SecretNone
		}
		return SecretSet
	}
	mode := c.NotificationMode
	if mode == "" {
		mode = snapkeep.DefaultNotificationMode
	}
	return CustomerView{
		CustomerID: c.CustomerID, Name: c.Name, Email: c.Email, NotificationMode: mode,
		SlackWebhook: set(c.SlackWebhookURL), PreferencesToken: set(c.PreferencesToken),
		EmailBlocked: c.EmailBlocked, SlackBlocked: c.SlackBlocked,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(),
	}
}

// Fields lays out the customer.
func (v CustomerView) Fields() *Fields {
	f := &Fields{}
	f.Add("Customer", v.CustomerID)
	f.Add("Name", v.Name)
	f.Add("Email", v.Email)
	f.Add("Notify", string(v.NotificationMode))
	f.Add("Slack webhook", v.SlackWebhook)
	if v.EmailBlocked != "" {
		f.Add("EMAIL BLOCKED", v.EmailBlocked)
	}
	if v.SlackBlocked != "" {
		f.Add("SLACK BLOCKED", v.SlackBlocked)
	}
	f.Add("Created", utcText(v.CreatedAt))
	f.Add("Updated", utcText(v.UpdatedAt))
	return f
}

// PolicyFields lays out a policy with its schedule's state and last run.
func PolicyFields(st *PolicyStatus) *Fields {
	p := st.Policy
	f := &Fields{}
	f.Add("Policy", p.PolicyID)
	f.Add("Customer", p.CustomerID)
	f.Add("Account", p.AccountID)
	f.Add("Resource", p.Resource.String())
	zone := p.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	f.Add("Schedule", p.Schedule+" "+zone)
	f.Add("Retention", policyRetention(p.Retention))
	window := "off"
	if p.FlexibleWindowMinutes > 0 {
		window = fmt.Sprintf("%d min", p.FlexibleWindowMinutes)
	}
	f.Add("Flexible window", window)
	f.Add("Enabled", strconv.FormatBool(p.Enabled))
	if p.InvalidReason != "" {
		f.Add("INVALID", p.InvalidReason+" (it has no schedule; fix it with 'snapctl policy put')")
	}
	if s := st.Schedule; s != nil {
		f.Add("Schedule state", scheduleText(s))
	}
	if r := st.LastRun; r != nil {
		f.Add("Last run", fmt.Sprintf("%s %s%s", utcText(r.ScheduledAt), r.Status, classSuffix(r)))
	} else {
		f.Add("Last run", "none yet")
	}
	f.Add("Created", utcText(p.CreatedAt))
	f.Add("Updated", utcText(p.UpdatedAt))
	return f
}

func classSuffix(r *snapkeep.Run) string {
	switch {
	case r.ErrorClass != "":
		return " (" + string(r.ErrorClass) + ")"
	case r.RetryClass != "":
		return " (retrying after " + string(r.RetryClass) + ")"
	}
	return ""
}

func scheduleText(s *ScheduleState) string {
	switch {
	case s.Error != "":
		return "unknown: " + s.Error
	case !s.Exists && s.InStep:
		return "none in " + s.Group + " (as it should be)"
	case !s.Exists:
		return "MISSING in " + s.Group + ": " + s.Problem
	}
	text := fmt.Sprintf("%s in %s: %s %s", s.State, s.Group, s.Expression, s.TimeZone)
	if !s.InStep {
		text += "; OUT OF STEP: " + s.Problem
	}
	return text
}

func policyRetention(r snapkeep.Retention) string {
	switch {
	case r.KeepLast > 0 && r.MaxAgeDays > 0:
		return fmt.Sprintf("last %d, %d days", r.KeepLast, r.MaxAgeDays)
	case r.KeepLast > 0:
		return fmt.Sprintf("last %d", r.KeepLast)
	case r.MaxAgeDays > 0:
		return fmt.Sprintf("%d days", r.MaxAgeDays)
	}
	return "keep all"
}
