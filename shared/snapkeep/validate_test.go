package snapkeep

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func validDroplet() Policy {
	return Policy{
		PolicyID:   "p-1",
		CustomerID: "c-1",
		AccountID:  "acct_1",
		Resource:   Resource{Kind: ResourceDroplet, ID: "3164444", Region: "nyc3"},
		Schedule:   "cron(0 3 * * ? *)",
		Retention:  Retention{KeepLast: 7},
		Enabled:    true,
	}
}

func validVolume() Policy {
	p := validDroplet()
	p.Resource = Resource{Kind: ResourceVolume, ID: "506f78a4-e098-11e5-ad9f-000f53306ae1", Region: "fra1"}
	return p
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name   string
		base   func() Policy
		edit   func(p *Policy)
		fields []string // the problems' fields, in order; nil = valid
		want   []string // substrings of the error text
	}{
		{name: "valid droplet", base: validDroplet, edit: func(p *Policy) {}},
		{name: "valid volume", base: validVolume, edit: func(p *Policy) {}},
		{name: "valid with everything", base: validDroplet, edit: func(p *Policy) {
			p.PolicyID = strings.Repeat("a", 64)
			p.CustomerID, p.AccountID = "Cust.9_x-Y", "A"
			p.Schedule, p.TimeZone = "cron(30 2 ? * MON-FRI *)", "America/New_York"
			p.KeepLast, p.MaxAgeDays, p.FlexibleWindowMinutes = 500, 3650, 1440
		}},
		{name: "valid hourly rate", base: validDroplet, edit: func(p *Policy) { p.Schedule = "rate(1 hour)" }},
		{name: "valid hourly cron", base: validDroplet, edit: func(p *Policy) { p.Schedule = "cron(15 * * * ? *)" }},
		{name: "valid every 2 days", base: validDroplet, edit: func(p *Policy) { p.Schedule = "rate(2 days)" }},
		{name: "valid max age only", base: validDroplet, edit: func(p *Policy) { p.KeepLast, p.MaxAgeDays = 0, 30 }},
		{name: "valid volume keep 24", base: validVolume, edit: func(p *Policy) { p.KeepLast = 24 }},
		{name: "valid time zone UTC", base: validDroplet, edit: func(p *Policy) { p.TimeZone = "UTC" }},
		{name: "valid region sfo3", base: validDroplet, edit: func(p *Policy) { p.Region = "sfo3" }},
		{name: "valid uppercase UUID", base: validVolume, edit: func(p *Policy) { p.ID = "506F78A4-E098-11E5-AD9F-000F53306AE1" }},

		// ids
		{name: "policy_id missing", base: validDroplet, edit: func(p *Policy) { p.PolicyID = "" },
			fields: []string{"policy_id"}, want: []string{`policy "": policy_id: is required`}},
		{name: "policy_id too long", base: validDroplet, edit: func(p *Policy) { p.PolicyID = strings.Repeat("a", 65) },
			fields: []string{"policy_id"}, want: []string{"must be 1-64 characters of 0-9 A-Z a-z _ . -"}},
		{name: "policy_id with slash", base: validDroplet, edit: func(p *Policy) { p.PolicyID = "p/1" },
			fields: []string{"policy_id"}, want: []string{`policy_id: "p/1" must be`}},
		{name: "policy_id with space", base: validDroplet, edit: func(p *Policy) { p.PolicyID = "p 1" },
			fields: []string{"policy_id"}},
		{name: "customer_id missing", base: validDroplet, edit: func(p *Policy) { p.CustomerID = "" },
			fields: []string{"customer_id"}, want: []string{"customer_id: is required"}},
		{name: "customer_id bad", base: validDroplet, edit: func(p *Policy) { p.CustomerID = "c#1" },
			fields: []string{"customer_id"}},
		{name: "account_id missing", base: validDroplet, edit: func(p *Policy) { p.AccountID = "" },
			fields: []string{"account_id"}, want: []string{"account_id: is required"}},
		{name: "account_id bad", base: validDroplet, edit: func(p *Policy) { p.AccountID = "../other" },
			fields: []string{"account_id"}},

		// resource
		{name: "resource_kind missing", base: validDroplet, edit: func(p *Policy) { p.Kind = "" },
			fields: []string{"resource_kind"}, want: []string{"resource_kind: is required: droplet or volume"}},
		{name: "resource_kind unknown", base: validDroplet, edit: func(p *Policy) { p.Kind = "database" },
			fields: []string{"resource_kind"}, want: []string{`resource_kind: "database" must be droplet or volume`}},
		{name: "droplet id not a number", base: validDroplet, edit: func(p *Policy) { p.ID = "abc" },
			fields: []string{"resource_id"}, want: []string{`resource_id: "abc" must be the droplet's id, a positive integer`}},
		{name: "droplet id zero", base: validDroplet, edit: func(p *Policy) { p.ID = "0" }, fields: []string{"resource_id"}},
		{name: "droplet id negative", base: validDroplet, edit: func(p *Policy) { p.ID = "-5" }, fields: []string{"resource_id"}},
		{name: "droplet id leading zero", base: validDroplet, edit: func(p *Policy) { p.ID = "0123" }, fields: []string{"resource_id"}},
		{name: "droplet id plus", base: validDroplet, edit: func(p *Policy) { p.ID = "+123" }, fields: []string{"resource_id"}},
		{name: "droplet id empty", base: validDroplet, edit: func(p *Policy) { p.ID = "" }, fields: []string{"resource_id"}},
		{name: "droplet id a UUID", base: validDroplet, edit: func(p *Policy) { p.ID = "506f78a4-e098-11e5-ad9f-000f53306ae1" }, fields: []string{"resource_id"}},
		{name: "volume id a number", base: validVolume, edit: func(p *Policy) { p.ID = "3164444" },
			fields: []string{"resource_id"}, want: []string{"must be the volume's id, a UUID"}},
		{name: "volume id short", base: validVolume, edit: func(p *Policy) { p.ID = "506f78a4-e098-11e5-ad9f-000f53306ae" }, fields: []string{"resource_id"}},
		{name: "volume id not hex", base: validVolume, edit: func(p *Policy) { p.ID = "506f78a4-e098-11e5-ad9f-000f53306aeg" }, fields: []string{"resource_id"}},
		{name: "region missing", base: validDroplet, edit: func(p *Policy) { p.Region = "" },
			fields: []string{"region"}, want: []string{"region: is required"}},
		{name: "region uppercase", base: validDroplet, edit: func(p *Policy) { p.Region = "NYC3" },
			fields: []string{"region"}, want: []string{`region: "NYC3" must be a DigitalOcean region slug`}},
		{name: "region without digit", base: validDroplet, edit: func(p *Policy) { p.Region = "nyc" }, fields: []string{"region"}},
		{name: "region AWS style", base: validDroplet, edit: func(p *Policy) { p.Region = "us-east-1" }, fields: []string{"region"}},

		// schedule
		{name: "schedule missing", base: validDroplet, edit: func(p *Policy) { p.Schedule = "" },
			fields: []string{"schedule"}, want: []string{"schedule: is required"}},
		{name: "schedule day-of-week out of range", base: validDroplet, edit: func(p *Policy) { p.Schedule = "cron(0 12 ? * 8 *)" },
			fields: []string{"schedule"}, want: []string{`policy "p-1": schedule: cron field day-of-week: 8 is out of range 1-7 (1 = SUN ... 7 = SAT)`}},
		{name: "schedule both day fields", base: validDroplet, edit: func(p *Policy) { p.Schedule = "cron(0 12 * * 1 *)" },
			fields: []string{"schedule"}, want: []string{`schedule: cron "0 12 * * 1 *": day-of-month and day-of-week: one of them must be "?"`}},
		{name: "schedule garbage", base: validDroplet, edit: func(p *Policy) { p.Schedule = "every day" },
			fields: []string{"schedule"}, want: []string{`schedule: schedule "every day": want rate(value unit)`}},
		{name: "schedule rate plural", base: validDroplet, edit: func(p *Policy) { p.Schedule = "rate(1 hours)" },
			fields: []string{"schedule"}, want: []string{"singular"}},
		{name: "schedule at", base: validDroplet, edit: func(p *Policy) { p.Schedule = "at(2026-12-24T18:00:00)" },
			fields: []string{"schedule"}, want: []string{"at(2026-12-24T18:00:00) fires only once"}},
		{name: "schedule too often rate", base: validDroplet, edit: func(p *Policy) { p.Schedule = "rate(30 minutes)" },
			fields: []string{"schedule"}, want: []string{"rate(30 minutes) fires as often as every 30m; a policy may fire at most once an hour (a snapshot takes about a minute per GB)"}},
		{name: "schedule too often rate 59", base: validDroplet, edit: func(p *Policy) { p.Schedule = "rate(59 minutes)" },
			fields: []string{"schedule"}, want: []string{"every 59m"}},
		{name: "schedule too often cron", base: validDroplet, edit: func(p *Policy) { p.Schedule = "cron(0/15 * * * ? *)" },
			fields: []string{"schedule"}, want: []string{"every 15m"}},
		{name: "schedule twice in one hour", base: validDroplet, edit: func(p *Policy) { p.Schedule = "cron(0,45 3 * * ? *)" },
			fields: []string{"schedule"}, want: []string{"every 45m"}},
		{name: "time_zone unknown", base: validDroplet, edit: func(p *Policy) { p.TimeZone = "Mars/Olympus" },
			fields: []string{"time_zone"}, want: []string{`time_zone: "Mars/Olympus" must be empty (UTC) or an IANA time zone`}},
		{name: "time_zone Local", base: validDroplet, edit: func(p *Policy) { p.TimeZone = "Local" }, fields: []string{"time_zone"}},
		{name: "time_zone offset", base: validDroplet, edit: func(p *Policy) { p.TimeZone = "+02:00" }, fields: []string{"time_zone"}},

		// retention
		{name: "no retention", base: validDroplet, edit: func(p *Policy) { p.KeepLast, p.MaxAgeDays = 0, 0 },
			fields: []string{"keep_last"}, want: []string{"keep_last or max_age_days must be set"}},
		{name: "keep_last negative", base: validDroplet, edit: func(p *Policy) { p.KeepLast = -1 },
			fields: []string{"keep_last"}, want: []string{"keep_last: -1 must be 0-500"}},
		{name: "keep_last too many", base: validDroplet, edit: func(p *Policy) { p.KeepLast = 501 },
			fields: []string{"keep_last"}, want: []string{"keep_last: 501 must be 0-500"}},
		{name: "volume keep_last 25", base: validVolume, edit: func(p *Policy) { p.KeepLast = 25 },
			fields: []string{"keep_last"}, want: []string{"keep_last: 25 must be 0-24 for a volume (DigitalOcean keeps at most 25 snapshots per volume"}},
		{name: "droplet keep_last 25", base: validDroplet, edit: func(p *Policy) { p.KeepLast = 25 }},
		{name: "max_age_days negative", base: validDroplet, edit: func(p *Policy) { p.MaxAgeDays = -1 },
			fields: []string{"max_age_days"}, want: []string{"max_age_days: -1 must be 0-3650"}},
		{name: "max_age_days too long", base: validDroplet, edit: func(p *Policy) { p.MaxAgeDays = 3651 },
			fields: []string{"max_age_days"}},
		{name: "flexible window negative", base: validDroplet, edit: func(p *Policy) { p.FlexibleWindowMinutes = -1 },
			fields: []string{"flexible_window_minutes"}, want: []string{"flexible_window_minutes: -1 must be 0-1440"}},
		{name: "flexible window too wide", base: validDroplet, edit: func(p *Policy) { p.FlexibleWindowMinutes = 1441 },
			fields: []string{"flexible_window_minutes"}},

		// every problem is reported
		{name: "everything wrong", base: validDroplet, edit: func(p *Policy) {
			*p = Policy{Resource: Resource{Kind: ResourceVolume, ID: "x", Region: "Earth"}, Schedule: "rate(5 minutes)",
				TimeZone: "Nowhere", Retention: Retention{KeepLast: 30, MaxAgeDays: -3}, FlexibleWindowMinutes: 2000}
		}, fields: []string{"policy_id", "customer_id", "account_id", "resource_id", "region", "schedule", "time_zone", "keep_last", "max_age_days", "flexible_window_minutes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.base()
			tt.edit(&p)
			err := p.Validate()
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want problems with %v", tt.fields)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not *ValidationError", err)
			}
			var fields []string
			for _, pr := range ve.Problems {
				fields = append(fields, pr.Field)
			}
			if !reflect.DeepEqual(fields, tt.fields) {
				t.Errorf("problem fields = %v, want %v\n%v", fields, tt.fields, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), `policy "`+p.PolicyID+`": `) {
				t.Errorf("error %q does not start with the policy", err)
			}
			for _, f := range tt.fields {
				if !ve.Has(f) {
					t.Errorf("Has(%q) = false", f)
				}
			}
		})
	}
}

func validCustomer() Customer {
	return Customer{CustomerID: "c-1", Name: "Ada", Email: "ada@example.com", NotificationMode: NotifyEveryFailure}
}

func TestCustomerValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(c *Customer)
		fields []string
		want   []string
	}{
		{name: "valid", edit: func(c *Customer) {}},
		{name: "valid empty mode means every_failure", edit: func(c *Customer) { c.NotificationMode = "" }},
		{name: "valid daily digest", edit: func(c *Customer) { c.NotificationMode = NotifyDailyDigest }},
		{name: "valid none", edit: func(c *Customer) { c.NotificationMode = NotifyNone }},
		{name: "valid plus address", edit: func(c *Customer) { c.Email = "ops+backups@sub.example.co.uk" }},
		{name: "valid slack", edit: func(c *Customer) { c.SlackWebhookURL = "https://hooks.slack.com/services/T000/B000/XXXX" }},

		{name: "customer_id missing", edit: func(c *Customer) { c.CustomerID = "" },
			fields: []string{"customer_id"}, want: []string{`customer "": customer_id: is required`}},
		{name: "customer_id bad", edit: func(c *Customer) { c.CustomerID = "c 1" }, fields: []string{"customer_id"}},
		{name: "name missing", edit: func(c *Customer) { c.Name = "" },
			fields: []string{"name"}, want: []string{"name: is required"}},
		{name: "name blank", edit: func(c *Customer) { c.Name = "  \t" }, fields: []string{"name"}},
		{name: "email missing", edit: func(c *Customer) { c.Email = "" },
			fields: []string{"email"}, want: []string{"email: is required"}},
		{name: "email no at", edit: func(c *Customer) { c.Email = "ada.example.com" },
			fields: []string{"email"}, want: []string{`email: "ada.example.com" must be a single email address`}},
		{name: "email with name", edit: func(c *Customer) { c.Email = "Ada <ada@example.com>" }, fields: []string{"email"}},
		{name: "email two", edit: func(c *Customer) { c.Email = "ada@example.com, bob@example.com" }, fields: []string{"email"}},
		{name: "email spaces", edit: func(c *Customer) { c.Email = " ada@example.com" }, fields: []string{"email"}},
		{name: "mode unknown", edit: func(c *Customer) { c.NotificationMode = "weekly" },
			fields: []string{"notification_mode"}, want: []string{`notification_mode: "weekly" must be every_failure, first_failure, daily_digest or none (empty means every_failure)`}},
		{name: "slack http", edit: func(c *Customer) { c.SlackWebhookURL = "http://hooks.slack.com/services/T000/B000/SECRET" },
			fields: []string{"slack_webhook_url"}, want: []string{"slack_webhook_url: must be an https URL"}},
		{name: "slack not a URL", edit: func(c *Customer) { c.SlackWebhookURL = "hooks.slack.com" }, fields: []string{"slack_webhook_url"}},
		{name: "everything wrong", edit: func(c *Customer) {
			*c = Customer{Email: "nope", NotificationMode: "loud", SlackWebhookURL: "ftp://x"}
		}, fields: []string{"customer_id", "name", "email", "notification_mode", "slack_webhook_url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validCustomer()
			tt.edit(&c)
			err := c.Validate()
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate() = %v, want an error matching ErrInvalid", err)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not *ValidationError", err)
			}
			var fields []string
			for _, pr := range ve.Problems {
				fields = append(fields, pr.Field)
			}
			if !reflect.DeepEqual(fields, tt.fields) {
				t.Errorf("problem fields = %v, want %v\n%v", fields, tt.fields, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error %q shows the webhook URL", err)
			}
		})
	}
}

func TestValidationErrorText(t *testing.T) {
	err := &ValidationError{Subject: `policy "p-1"`, Problems: []FieldProblem{{"region", "is required"}, {"keep_last", "-1 must be 0-500"}}}
	want := `policy "p-1": region: is required; keep_last: -1 must be 0-500`
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}
