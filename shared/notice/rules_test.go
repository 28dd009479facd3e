package notice

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// flat is s with its line breaks and runs of spaces made single spaces,
// as a wrapped text is read.
func flat(s string) string { return strings.Join(strings.Fields(s), " ") }

// firstParagraph is the text body's headline: everything up to the first
// blank line.
func firstParagraph(text string) string {
	p, _, _ := strings.Cut(text, "\n\n")
	return flat(p)
}

var h1Pattern = regexp.MustCompile(`(?s)<h1[^>]*>(.*?)</h1>`)

// TestFailureRules checks, for every class with and without an open
// incident, what the message must say: whether the server is affected,
// whether the customer must act, whether snapkeep retries, the next
// backup, the request id, the policy link — and that DigitalOcean's own
// message is never the headline.
func TestFailureRules(t *testing.T) {
	r := newRenderer(t)
	for _, c := range snapkeep.ErrorClasses() {
		for _, withIncident := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/incident=%v", c, withIncident), func(t *testing.T) {
				run := failedRun(c)
				in := FailureInput{Run: run, Policy: policyFor(c), Customer: customer(), ResourceName: "web-1", Now: now}
				if withIncident {
					in.Incident = openIncident()
				}
				m, err := r.Failure(in)
				if err != nil {
					t.Fatal(err)
				}
				info := c.Info()
				all := flat(m.Subject + "\n" + m.Preheader + "\n" + m.Text)
				has := func(s string) bool { return strings.Contains(all, s) }
				check := func(what string, got, want bool) {
					t.Helper()
					if got != want {
						t.Errorf("%s: got %v, want %v\n%s", what, got, want, all)
					}
				}
				check("says the droplet is gone", has("no longer exists") && has("Gone"), info.ServerAffected)
				check("says the server is fine", has("Your server is fine") && has("Not affected: online and untouched"), !info.ServerAffected)
				check("says action is needed", has("Action needed"), info.CustomerAction != "")
				check("says snapkeep retries on its own", has("snapkeep retries on its own"), info.Retried)
				check("says snapkeep does not retry", has("does not retry") || has("does not start a backup again"), !info.Retried)
				told := withIncident && info.ProviderSide
				check("tells DigitalOcean's problem", has("DigitalOcean is having a problem") && has("has reported it to DigitalOcean") && has(DefaultStatusPage), told)
				check("warns that the incident was not told", len(m.Warnings) == 1, withIncident && !told)
				if !withIncident && len(m.Warnings) > 0 {
					t.Errorf("warnings: %v", m.Warnings)
				}
				wantNext := "The next scheduled backup is at 03:00 on Wednesday 25 November 2026, Europe/Berlin time (02:00 UTC)."
				if c == snapkeep.ClassInvalidPolicy {
					wantNext = "The policy is not valid as it is stored, so snapkeep has stopped its schedule"
				}
				check("tells the next backup", has(wantNext), true)
				if run.ProviderRequestID != "" {
					check("quotes the request id", has(run.ProviderRequestID), true)
				}
				check("links the policy (text)", has("https://app.snapkeep.example/policies/web-1"), true)
				check("links the policy (HTML)", strings.Contains(m.HTML, `href="https://app.snapkeep.example/policies/web-1"`), true)
				check("subject leads with status and object", strings.HasPrefix(m.Subject, "Backup failed: web-1 (droplet 3164444) at 03:00 Europe/Berlin — ") ||
					strings.HasPrefix(m.Subject, "Backup did not finish: web-1 (droplet 3164444) at 03:00 Europe/Berlin — "), true)
				checkNotHeadline(t, m, run.ProviderMessage)
				checkPreheader(t, m)
			})
		}
	}
}

// checkNotHeadline fails when DigitalOcean's message leads the message:
// in the subject, the preheader, the text's first paragraph, the HTML
// headline or the Slack header and fallback text. It must appear in the
// body, quoted.
func checkNotHeadline(t *testing.T, m Message, provider string) {
	t.Helper()
	if provider == "" {
		return
	}
	h1 := h1Pattern.FindStringSubmatch(m.HTML)
	if h1 == nil {
		t.Fatal("HTML has no h1")
	}
	for what, s := range map[string]string{
		"subject": m.Subject, "preheader": m.Preheader, "first paragraph": firstParagraph(m.Text),
		"HTML headline": h1[1], "Slack header": m.Slack.Blocks[0].Text.Text, "Slack text": m.Slack.Text,
	} {
		if strings.Contains(strings.ToLower(s), strings.ToLower(provider)) {
			t.Errorf("%s holds DigitalOcean's message %q: %q", what, provider, s)
		}
	}
	if !strings.Contains(flat(m.Text), "“"+provider+"”") {
		t.Errorf("text does not quote DigitalOcean's message %q", provider)
	}
}

func checkPreheader(t *testing.T, m Message) {
	t.Helper()
	if n := utf8.RuneCountInString(m.Preheader); n < 40 || n > 140 {
		t.Errorf("preheader is %d characters, want 40-140: %q", n, m.Preheader)
	}
}

// TestEveryKindRules checks what every message kind shares: a subject
// and preheader within bounds, lang set, the preferences link visible in
// text and HTML, no unrendered template, a Slack payload within limits.
func TestEveryKindRules(t *testing.T) {
	r := newRenderer(t)
	for _, gc := range goldenCases() {
		t.Run(gc.name, func(t *testing.T) {
			m, err := gc.render(r)
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") || utf8.RuneCountInString(m.Subject) > MaxSubject {
				t.Errorf("subject %q", m.Subject)
			}
			checkPreheader(t, m)
			prefs := "https://app.snapkeep.example/preferences/pt_7Kq2mZx9Vb4LwRn8cT3yHs"
			if !strings.Contains(m.Text, prefs) || !strings.Contains(m.HTML, `<a href="`+prefs+`"`) {
				t.Error("the preferences link is not in the text and the HTML footer")
			}
			if !strings.Contains(m.HTML, `<html lang="en"`) {
				t.Error("HTML has no lang")
			}
			if !strings.Contains(m.HTML, m.Preheader) && !strings.Contains(m.HTML, htmlEscape(m.Preheader)) {
				t.Error("HTML lacks the preheader")
			}
			for _, bad := range []string{"ZgotmplZ", "<no value>", "{{", "%!"} {
				if strings.Contains(m.Text+m.HTML+m.Slack.Text, bad) {
					t.Errorf("output holds %q", bad)
				}
			}
			for _, l := range strings.Split(m.Text, "\n") {
				if utf8.RuneCountInString(l) > textWidth && strings.Contains(strings.TrimSpace(l), " ") && !strings.Contains(l, "https://") {
					t.Errorf("text line over %d columns: %q", textWidth, l)
				}
			}
			checkBalanced(t, m.HTML)
			if _, err := m.Slack.SlackPayload(); err != nil {
				t.Error(err)
			}
		})
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

var tagPattern = regexp.MustCompile(`<(/?)([a-zA-Z0-9]+)[^>]*?(/?)>`)

// checkBalanced fails when the HTML's elements do not nest: every opened
// element (but the void ones) is closed, in order.
func checkBalanced(t *testing.T, html string) {
	t.Helper()
	void := map[string]bool{"meta": true, "br": true, "img": true, "hr": true, "link": true, "!doctype": true}
	var stack []string
	for _, m := range tagPattern.FindAllStringSubmatch(html, -1) {
		name := strings.ToLower(m[2])
		switch {
		case void[name] || m[3] == "/":
		case m[1] == "":
			stack = append(stack, name)
		case len(stack) == 0 || stack[len(stack)-1] != name:
			t.Fatalf("HTML closes %s, open: %v", name, stack)
		default:
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		t.Errorf("HTML leaves open: %v", stack)
	}
}

// TestUnknownClass: a class the domain does not know is told in internal
// wording, and the caller gets a warning to log.
func TestUnknownClass(t *testing.T) {
	r := newRenderer(t)
	for _, class := range []snapkeep.ErrorClass{"gremlins", ""} {
		run := failedRun(snapkeep.ClassInternal)
		run.ErrorClass = class
		m, err := r.Failure(FailureInput{Run: run, Policy: policy(), Customer: customer(), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Warnings) != 1 || !strings.Contains(m.Warnings[0], "unknown error class") {
			t.Errorf("class %q: warnings %v", class, m.Warnings)
		}
		if !strings.Contains(m.Text, "A fault inside snapkeep stopped this backup") || !strings.Contains(m.Subject, "your server is fine") {
			t.Errorf("class %q not told as internal:\n%s", class, m.Text)
		}
	}
}

// TestNextBackup checks the next backup a failure message tells, as
// EventBridge Scheduler would fire it, across daylight-saving changes in
// Europe/Berlin, and when there is none.
func TestNextBackup(t *testing.T) {
	berlin := func(y int, mo time.Month, d, h, mi int) time.Time {
		loc, err := time.LoadLocation("Europe/Berlin")
		if err != nil {
			t.Fatal(err)
		}
		return time.Date(y, mo, d, h, mi, 0, 0, loc)
	}
	cases := []struct {
		name     string
		schedule string
		slot     time.Time
		now      time.Time // zero: just after the slot
		edit     func(p *snapkeep.Policy) *snapkeep.Policy
		want     string
	}{
		{name: "slot before spring forward, next on the short day",
			schedule: "cron(0 3 * * ? *)", slot: berlin(2026, 3, 28, 3, 0),
			want: "The next scheduled backup is at 03:00 on Sunday 29 March 2026, Europe/Berlin time (01:00 UTC)."},
		{name: "next slot falls in the skipped hour",
			schedule: "cron(30 2 * * ? *)", slot: berlin(2026, 3, 28, 2, 30),
			want: "The next scheduled backup is at 02:30 on Monday 30 March 2026, Europe/Berlin time (00:30 UTC)."},
		{name: "last Sunday of March, the slot after the change",
			schedule: "cron(0 3 * * ? *)", slot: berlin(2026, 3, 29, 3, 0),
			want: "The next scheduled backup is at 03:00 on Monday 30 March 2026, Europe/Berlin time (01:00 UTC)."},
		{name: "fall back: the repeated hour fires once, at its first occurrence",
			schedule: "cron(30 2 * * ? *)", slot: berlin(2026, 10, 24, 2, 30),
			want: "The next scheduled backup is at 02:30 on Sunday 25 October 2026, Europe/Berlin time (00:30 UTC)."},
		{name: "hourly across the repeated hour",
			schedule: "cron(30 * * * ? *)", slot: time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC),
			want: "The next scheduled backup is at 03:30 on Sunday 25 October 2026, Europe/Berlin time (02:30 UTC)."},
		{name: "message sent two days late: the next slot after now",
			schedule: "cron(0 3 * * ? *)", slot: berlin(2026, 11, 24, 3, 0), now: berlin(2026, 11, 26, 9, 0),
			want: "The next scheduled backup is at 03:00 on Friday 27 November 2026"},
		{name: "rate counts from the policy's last update",
			schedule: "rate(12 hours)", slot: time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC),
			want: "The next scheduled backup is at 21:00 on Tuesday 24 November 2026, Europe/Berlin time (20:00 UTC)."},
		{name: "paused", schedule: "cron(0 3 * * ? *)", slot: berlin(2026, 11, 24, 3, 0),
			edit: func(p *snapkeep.Policy) *snapkeep.Policy { p.Enabled = false; return p },
			want: "The policy is paused, so no further backup is scheduled until you resume it."},
		{name: "deleted", schedule: "cron(0 3 * * ? *)", slot: berlin(2026, 11, 24, 3, 0),
			edit: func(*snapkeep.Policy) *snapkeep.Policy { return nil },
			want: "The policy has been deleted, so snapkeep takes no further backups with it."},
		{name: "a one-time schedule that has fired", schedule: "at(2026-11-24T03:00:00)", slot: berlin(2026, 11, 24, 3, 0),
			want: "The policy’s schedule has no further backups."},
	}
	r := newRenderer(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := policy()
			p.Schedule = tc.schedule
			p.UpdatedAt = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
			if tc.edit != nil {
				p = tc.edit(p)
			}
			run := runOf(policy(), tc.slot.UTC(), snapkeep.ClassProviderError)
			n := tc.now
			if n.IsZero() {
				n = tc.slot.Add(31 * time.Minute)
			}
			m, err := r.Failure(FailureInput{Run: run, Policy: p, Customer: customer(), Now: n})
			if err != nil {
				t.Fatal(err)
			}
			if got := flat(m.Text); !strings.Contains(got, tc.want) {
				t.Errorf("text lacks %q:\n%s", tc.want, m.Text)
			}
		})
	}
}

// TestSlotTimes checks how the slot is told: in the policy's zone with
// UTC beside it, UTC alone for a UTC policy, and UTC for a deleted one.
func TestSlotTimes(t *testing.T) {
	r := newRenderer(t)
	utc := policy()
	utc.TimeZone = ""
	cases := []struct {
		name    string
		policy  *snapkeep.Policy
		slot    time.Time
		subject string
		text    string
	}{
		{"Berlin", policy(), slot, "at 03:00 Europe/Berlin", "planned for 03:00 on Tuesday 24 November 2026, Europe/Berlin time (02:00 UTC)"},
		{"UTC", utc, slot, "at 02:00 UTC", "planned for 02:00 UTC on Tuesday 24 November 2026"},
		{"deleted policy", nil, slot, "at 02:00 UTC", "planned for 02:00 UTC on Tuesday 24 November 2026"},
		{"local date differs from UTC", policy(), time.Date(2026, 11, 23, 23, 30, 0, 0, time.UTC), "at 00:30 Europe/Berlin",
			"planned for 00:30 on Tuesday 24 November 2026, Europe/Berlin time (23:30 UTC on Monday 23 November)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := r.Failure(FailureInput{Run: runOf(policy(), tc.slot, snapkeep.ClassNetwork), Policy: tc.policy, Customer: customer(), Now: tc.slot.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(m.Subject, tc.subject) {
				t.Errorf("subject %q lacks %q", m.Subject, tc.subject)
			}
			if got := flat(m.Text); !strings.Contains(got, tc.text) {
				t.Errorf("text lacks %q:\n%s", tc.text, m.Text)
			}
		})
	}
}

// TestAuthRevokedCauses: a revoked token, a token without the scopes and
// a stored token that is missing or malformed (DigitalOcean never asked)
// are told apart, and each asks the customer to reconnect.
func TestAuthRevokedCauses(t *testing.T) {
	r := newRenderer(t)
	for _, tc := range []struct {
		status int
		want   string
	}{
		{401, "DigitalOcean no longer accepts the API token"},
		{403, "lacks the permissions (scopes) snapkeep needs"},
		{0, "it is missing, or it is not a valid DigitalOcean token"},
	} {
		run := failedRun(snapkeep.ClassAuthRevoked)
		run.HTTPStatus = tc.status
		if tc.status == 0 {
			run.ProviderMessage, run.ProviderErrorID, run.ProviderRequestID = "", "", ""
			run.ErrorDetail = `the stored token (65 characters) is not of DigitalOcean's form`
		}
		m, err := r.Failure(FailureInput{Run: run, Policy: policy(), Customer: customer(), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		text := flat(m.Text)
		if !strings.Contains(text, tc.want) || !strings.Contains(text, "Reconnect your DigitalOcean account in snapkeep.") {
			t.Errorf("HTTP %d: text lacks %q or the reconnect step:\n%s", tc.status, tc.want, m.Text)
		}
	}
}

// TestVolumeWording: a volume is told as a volume, not a server.
func TestVolumeWording(t *testing.T) {
	r := newRenderer(t)
	p := volumePolicy()
	m, err := r.Failure(FailureInput{Run: runOf(p, slot, snapkeep.ClassQuotaExceeded), Policy: p, Customer: customer(), ResourceName: "db-data", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	text := flat(m.Text)
	for _, want := range []string{"your volume is fine", "Volume: db-data, id 506f78a4-e098-11e5-ad9f-000f53306ae1", "a volume can keep at most 25 snapshots", "keeps the last 24"} {
		if !strings.Contains(m.Subject+" "+text, want) {
			t.Errorf("lacks %q:\n%s\n%s", want, m.Subject, m.Text)
		}
	}
	if strings.Contains(text, "server") {
		t.Errorf("a volume's message speaks of a server:\n%s", m.Text)
	}
}

// TestFailureVariants: a run during an incident that is over by the time
// the message is written, and a run started by hand.
func TestFailureVariants(t *testing.T) {
	r := newRenderer(t)
	onDemand := failedRun(snapkeep.ClassNetwork)
	onDemand.Trigger = snapkeep.TriggerOnDemand
	cases := []struct {
		name string
		in   FailureInput
		want []string
	}{
		{"incident already resolved", FailureInput{Run: failedRun(snapkeep.ClassProviderError), Incident: resolvedIncident()},
			[]string{"DigitalOcean had a problem", "DigitalOcean’s API failed 1.4% of droplet snapshot requests (3,270 of 231,904) from 02:10 to 14:25 on Tuesday 24 November 2026",
				"tracked it until it was over", DefaultStatusPage}},
		{"started by hand", FailureInput{Run: onDemand},
			[]string{"that was started by hand at 03:00 on Tuesday 24 November 2026", "Planned for: 03:00 on Tuesday 24 November 2026, Europe/Berlin time (02:00 UTC), started by hand"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Policy, in.Customer, in.Now, in.ResourceName = policy(), customer(), now, "web-1"
			m, err := r.Failure(in)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(flat(m.Text), w) {
					t.Errorf("text lacks %q:\n%s", w, m.Text)
				}
			}
		})
	}
}
