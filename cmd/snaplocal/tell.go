package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// maxPrintedLines bounds a message printed in full.
const maxPrintedLines = 80

// printSummary tells what happened, from the Summary.
func (d *Demo) printSummary() {
	s, f := d.Summary, d.Fleet
	c := f.Config
	d.say("")
	d.section(fmt.Sprintf("What happened, %s – %s (simulated), read back from the tables, SES and Slack",
		c.Start.Format("Mon 2 Jan 15:04"), c.End().Format("Mon 2 Jan 15:04 UTC")))
	d.say("")
	unfinished := 0
	for _, r := range s.Runs {
		if !r.Status.Terminal() {
			unfinished++
		}
	}
	d.say("  Runs           %d: %d succeeded, %d failed, %d timed out, %d skipped; %d left unfinished",
		len(s.Runs), s.ByStatus[snapkeep.RunSucceeded], s.ByStatus[snapkeep.RunFailed], s.ByStatus[snapkeep.RunTimedOut],
		s.ByStatus[snapkeep.RunSkipped], unfinished)
	if len(s.ByClass) > 0 {
		d.say("    failed by class  %s", byCount(s.ByClass))
	}
	d.say("  Snapshots      %d taken; %d earlier ones deleted by retention, %d more to make room on a volume at DigitalOcean's limit of 25",
		s.Created, s.Pruned, s.MadeRoom)
	d.say("  DigitalOcean   %d API calls made, %d logged in ApiCalls (the runs count %d)", s.Requests, s.CallRows, s.RunCalls)
	d.tellIncident()
	d.tellMessages()
	d.tellExamples()
}

// byCount lists counts, largest first: "auth_revoked 12 · provider_error 2".
func byCount[K ~string](m map[K]int) string {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, " · ")
}

// tellIncident tells when the incident began, was detected, alerted and
// resolved.
func (d *Demo) tellIncident() {
	s, inc := d.Summary, d.Fleet.Incident
	d.say("")
	if !inc.Active() {
		d.say("  No provider incident was played; ops alerts: %d", len(s.Provider()))
		return
	}
	failed := 0
	for _, r := range d.DO.Requests() {
		if r.Status == 500 && inc.Contains(r.Time) {
			failed++
		}
	}
	d.say("  The incident   DigitalOcean failed %s – %s: %d droplet snapshot requests answered \"500 Server Error\" (%d runs stuck for their slot window)",
		inc.From.Format("Mon 15:04"), inc.Until.Format("Mon 15:04"), failed, countStuck(d.Faults))
	alerts := s.Provider()
	if len(alerts) == 0 {
		d.say("    ops was never alerted")
		return
	}
	a := alerts[0]
	d.say("    began          %s", inc.From.Format("Mon 15:04"))
	d.say("    detected       %s: the alarm's minute, %d min after it began (the detector's change point: %s)",
		a.OpenedAt.Format("Mon 15:04"), minutes(inc.From, a.OpenedAt), a.StartedAt.Format("15:04"))
	for i, line := range d.detectionContext() {
		label := ""
		if i == 0 {
			label = "why it took"
		}
		d.say("    %-14s %s", label, line)
	}
	if a.AlertedAt != nil {
		d.say("    ops alerted    %s, %d min after it began (the demo evaluates every %s; AWS every minute)",
			a.AlertedAt.Format("Mon 15:04"), minutes(inc.From, *a.AlertedAt), d.cadence[evaluateEvent])
	}
	if a.ResolvedAt != nil {
		sent := ""
		if a.ResolutionSentAt != nil {
			sent = ", resolution sent " + a.ResolutionSentAt.Format("15:04")
		}
		d.say("    resolved       %s, %d min after DigitalOcean recovered%s", a.ResolvedAt.Format("Mon 15:04"), minutes(inc.Until, *a.ResolvedAt), sent)
	} else {
		d.say("    resolved       not by the end of the play")
	}
	d.say("    what ops read  %s: %.2f%% of %d calls failed (baseline %.2f%%), %d droplets of %d accounts, %d runs failed for %d customers",
		a.Dimension, 100*a.Rate, a.Calls, 100*a.BaselineRate, a.AffectedResources, a.AffectedAccounts, a.FailedRuns, a.AffectedCustomers)
	if folded := s.Folded(); len(folded) > 0 {
		var dims []string
		for _, f := range folded {
			dims = append(dims, string(f.Dimension))
		}
		d.say("    also seen in   %s (folded into the one alert: no email of their own)", strings.Join(dims, ", "))
	}
}

// detectionContext says what the time to detect depends on: the fleet's
// traffic during the incident against the detector's evidence guard.
func (d *Demo) detectionContext() []string {
	inc, p := d.Fleet.Incident, errorrate.DefaultParams()
	calls, failed := 0, 0
	for _, r := range d.DO.Requests() {
		if r.Operation == snapkeep.OpSnapshotDroplet && inc.Contains(r.Time) {
			calls++
			if r.Status >= 500 {
				failed++
			}
		}
	}
	perHour := float64(calls) / inc.Until.Sub(inc.From).Hours()
	span := inc.Until.Sub(inc.From)
	gap := "none of them"
	if failed > 0 {
		gap = fmt.Sprintf("%d of them, one every %d min", failed, int(span.Minutes())/failed)
	}
	return []string{
		fmt.Sprintf("this fleet makes %.0f droplet snapshot requests an hour; in its %.0f h DigitalOcean failed %s;", perHour, span.Hours(), gap),
		fmt.Sprintf("the detector waits for failures on %d droplets or volumes of %d accounts (one customer's", p.MinResources, p.MinAccounts),
		"broken droplet is never a provider incident); at production traffic it takes minutes",
		"(BENCHMARKS.md: the detector's simulation)",
	}
}

// messageKinds are the rows of the messages table, in order.
var messageKinds = []struct{ kind, label string }{
	{string(snapkeep.NoticeFailure), "failure"},
	{string(snapkeep.NoticeIncident), "incident notice"},
	{string(snapkeep.NoticeResolved), "resolved notice"},
	{string(snapkeep.NoticeRecovery), "recovery"},
	{string(snapkeep.NoticeDigest), "daily digest"},
}

// tellMessages counts the emails and Slack messages by kind.
func (d *Demo) tellMessages() {
	s := d.Summary
	emails, slack := s.CustomerEmails(), s.CustomerSlack()
	opsEmail := s.OpsEmails()
	posted, opsSlack := s.SlackPosts()
	d.say("")
	d.say("  Messages                email  Slack")
	for _, k := range messageKinds {
		d.say("    %-20s %6d %6d", k.label, emails[k.kind], slack[k.kind])
	}
	d.say("    %-20s %6d %6d", "ops alert", opsEmail[opsAlert], opsSlack[opsAlert])
	d.say("    %-20s %6d %6d", "ops resolution", opsEmail[opsResolution], opsSlack[opsResolution])
	blocked := 0
	for _, p := range s.Slack {
		if p.Status == 404 {
			blocked++
		}
	}
	d.say("    (%d Slack posts reached customers' channels; %d went to a deleted channel, which snapkeep then stopped using)", posted, blocked)
	if waiting := s.ResolvedWaiting(); waiting > 0 {
		d.say("    (%d resolved %s %s for the affected policies' next runs, after the play ends, or at most 24 h",
			waiting, plural(waiting, "notice", "notices"), plural(waiting, "waits", "wait"))
		d.say("     after the resolution: each says whether that run worked)")
	}
}

// tellExamples prints one customer email and the ops alert in full.
func (d *Demo) tellExamples() {
	if e, ok := d.Summary.example(); ok {
		d.say("")
		d.say("  One customer email, in full (text part):")
		d.printEmail(e)
	}
	for _, e := range d.Summary.Emails {
		if e.Kind == "" && opsKind(e.Subject) == opsAlert {
			d.say("")
			d.say("  The ops alert, in full (text part; the report is attached as %s):", strings.Join(e.Attachments, " and "))
			d.printEmail(e)
			break
		}
	}
}

// example picks the customer email that tells the incident best: an
// incident notice, else a provider failure, else any failure.
func (s *Summary) example() (Email, bool) {
	for _, want := range []func(Email) bool{
		func(e Email) bool { return e.Kind == string(snapkeep.NoticeIncident) },
		func(e Email) bool {
			return e.Kind == string(snapkeep.NoticeFailure) && strings.Contains(e.Text, "Server Error")
		},
		func(e Email) bool { return e.Kind == string(snapkeep.NoticeFailure) },
		func(e Email) bool { return e.Kind != "" },
	} {
		for _, e := range s.Emails {
			if want(e) {
				return e, true
			}
		}
	}
	return Email{}, false
}

func (d *Demo) printEmail(e Email) {
	bar := "    " + strings.Repeat("─", 72)
	d.say(bar)
	d.say("    To: %s", strings.Join(e.To, ", "))
	d.say("    Subject: %s", e.Subject)
	d.say("")
	lines := strings.Split(strings.TrimRight(e.Text, "\n"), "\n")
	if len(lines) > maxPrintedLines {
		lines = append(lines[:maxPrintedLines], fmt.Sprintf("[… %d more lines]", len(lines)-maxPrintedLines))
	}
	d.say("%s", indent(strings.Join(lines, "\n"), "    "))
	d.say(bar)
}

// plural picks the word for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
