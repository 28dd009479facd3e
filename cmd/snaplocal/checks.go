package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/infra/scenario"
	"github.com/snapkeep/snapkeep/infra/triggers"
	"github.com/snapkeep/snapkeep/shared/notice"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// maxListed bounds the ids a failed check lists.
const maxListed = 5

// selfCheck fails the demo, saying why, when the pipeline misbehaved.
func (d *Demo) selfCheck(context.Context, DemoOptions) error {
	problems := Check(d.Summary, CheckInput{Fleet: d.Fleet, Slots: d.Slots, Enabled: d.enabledPolicies()})
	d.say("")
	if len(problems) == 0 {
		d.say("Self-check: every run finished, every outcome and call was recorded, no failure or dead-letter queue holds a message,")
		d.say("ops got one alert for the incident and none outside it, no customer got two emails about one run, no customer message")
		d.say("shows a bare \"Server Error\", and no token or webhook URL is in any of the %d tables (%d items), the %d log lines,",
			len(d.Summary.Items), sumValues(d.Summary.Items), d.logs.Lines())
		d.say("the %d emails (every part), the %d Slack messages or the report's files.", len(d.Summary.Emails), len(d.Summary.Slack))
		return nil
	}
	d.say("Self-check FAILED:")
	for _, p := range problems {
		d.say("  - %s", p)
	}
	return fmt.Errorf("%d self-check(s) failed: %s", len(problems), strings.Join(problems, "; "))
}

func (d *Demo) enabledPolicies() map[string]bool {
	out := map[string]bool{}
	for _, p := range d.Fleet.Policies {
		out[p.PolicyID] = p.Enabled
	}
	return out
}

// CheckInput is what the self-check compares the summary with.
type CheckInput struct {
	// Fleet is the scenario played (its incident window above all).
	Fleet *scenario.Fleet
	// Slots are the policies' deliveries played.
	Slots []triggers.Delivery
	// Enabled says which policies are enabled.
	Enabled map[string]bool
}

// Check returns what is wrong with what happened, one sentence each.
func Check(s *Summary, in CheckInput) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	// Every slot made a run, and every run finished.
	have := map[string]*snapkeep.Run{}
	for i := range s.Runs {
		have[s.Runs[i].RunID] = &s.Runs[i]
	}
	var missing, unfinished []string
	for _, sl := range in.Slots {
		if !in.Enabled[sl.Schedule] {
			continue
		}
		id := snapkeep.NewRunKey(sl.Schedule, sl.At).RunID()
		if have[id] == nil {
			missing = append(missing, id)
		}
	}
	for _, r := range s.Runs {
		if !r.Status.Terminal() {
			unfinished = append(unfinished, r.RunID+" ("+string(r.Status)+")")
		}
	}
	if len(missing) > 0 {
		add("%d scheduled slots have no run (outcome lost): %s", len(missing), listed(missing))
	}
	if len(unfinished) > 0 {
		add("%d runs were left unfinished: %s", len(unfinished), listed(unfinished))
	}
	// Every DigitalOcean request is an ApiCalls row, counted by its run.
	if s.CallRows != s.RunCalls || s.CallRows != s.Requests {
		add("call rows lost: DigitalOcean got %d requests, ApiCalls has %d rows, the runs count %d", s.Requests, s.CallRows, s.RunCalls)
	}
	for _, id := range sortedKeys(s.Failed) {
		add("%d messages in %s (AWS gave up on them), e.g. %s", s.Failed[id], id, s.FailedSample[id])
	}
	if s.Dropped > 0 {
		add("%d asynchronous invocations failed every retry and were dropped (no on-failure queue)", s.Dropped)
	}
	out = append(out, checkAlerts(s, in.Fleet.Incident)...)
	out = append(out, checkCustomerMessages(s)...)
	for _, l := range s.Leaks {
		add("%s", l)
	}
	return out
}

// checkAlerts: one alert for the incident, opened inside it; none outside.
func checkAlerts(s *Summary, inc scenario.Incident) []string {
	var out []string
	alerts := s.Provider()
	for _, a := range alerts {
		if !inc.Contains(a.OpenedAt) {
			out = append(out, fmt.Sprintf("ops was alerted outside the incident: %s opened at %s (the incident was %s–%s)",
				a.IncidentID, a.OpenedAt.Format(time.RFC3339), inc.From.Format(time.RFC3339), inc.Until.Format(time.RFC3339)))
		}
	}
	switch n := len(alerts); {
	case inc.Active() && n == 0:
		out = append(out, fmt.Sprintf("no alert during the incident (%s–%s): the detector never fired", inc.From.Format(time.RFC3339), inc.Until.Format(time.RFC3339)))
	case inc.Active() && n > 1:
		out = append(out, fmt.Sprintf("%d alerts for one incident (%s)", n, ids(alerts)))
	}
	if got, want := s.OpsEmails()[opsAlert], len(alerts); got != want {
		out = append(out, fmt.Sprintf("ops got %d alert emails for %d alerting incidents", got, want))
	}
	return out
}

// checkCustomerMessages: no customer gets two messages about one run (or
// two of one mailing), and no customer message shows DigitalOcean's
// "Server Error" bare, that is, as a subject or unquoted in the text.
func checkCustomerMessages(s *Summary) []string {
	var out []string
	seen := map[string]int{}
	for _, e := range s.Emails {
		switch {
		case e.Run != "":
			seen["run "+e.Run]++
		case e.Mailing != "":
			seen[e.Kind+" of "+e.Mailing+" to "+e.Customer]++
		}
		if e.Kind == "" {
			continue
		}
		if where := bareProviderText(e.Subject, e.Text, e.HTML); where != "" {
			out = append(out, fmt.Sprintf("a bare \"Server Error\" in the %s of the email %q", where, e.Subject))
		}
	}
	var twice []string
	for k, n := range seen {
		if n > 1 {
			twice = append(twice, fmt.Sprintf("%s (%d emails)", k, n))
		}
	}
	sort.Strings(twice)
	if len(twice) > 0 {
		out = append(out, fmt.Sprintf("a customer was emailed more than once about: %s", listed(twice)))
	}
	for _, p := range s.Slack {
		if p.Path == OpsSlackPath {
			continue
		}
		if where := bareProviderText("", p.Text, p.Body); where != "" {
			out = append(out, fmt.Sprintf("a bare \"Server Error\" in a Slack message's %s", where))
		}
	}
	return out
}

// providerPhrase is DigitalOcean's message a customer must never see bare.
const providerPhrase = "Server Error"

// bareProviderText says where DigitalOcean's "Server Error" appears other
// than quoted (shared/notice's rule: the provider's message is never a
// subject or a headline; it is quoted in the body and explained), or "".
func bareProviderText(subject, text, html string) string {
	if strings.Contains(subject, providerPhrase) {
		return "subject"
	}
	if notice.Unquoted(text, providerPhrase) {
		return "text"
	}
	if notice.Unquoted(html, providerPhrase) {
		return "HTML"
	}
	return ""
}

func listed(ids []string) string {
	if len(ids) > maxListed {
		return strings.Join(ids[:maxListed], ", ") + fmt.Sprintf(" and %d more", len(ids)-maxListed)
	}
	return strings.Join(ids, ", ")
}

func ids(incs []snapkeep.Incident) string {
	var out []string
	for _, inc := range incs {
		out = append(out, inc.IncidentID)
	}
	return strings.Join(out, ", ")
}

func sumValues(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
