package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/infra/awslocal"
	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// TestProviderIncident runs a provider incident through moto and real
// stream records: 30 days of roll-ups at 0.05%; then 2% Server Errors on
// snapshot_droplet for an hour, with failed runs; the ApiCalls and Runs
// streams delivered by infra/local as template.yaml configures them, a
// poison row among the calls; the evaluation every minute on the same
// virtual clock. Ops gets exactly one alert (with every section of the
// report, the CSV and the Markdown attached) and one resolution; the
// Stats counts are exactly the rows written; the poison row is reported,
// goes to the on-failure queue after the mapping's retries, and the rest
// of its window counts. Then the whole ApiCalls stream is delivered again
// in other batches (a replayed and re-batched mapping): counts and emails
// stay as they were.
func TestProviderIncident(t *testing.T) {
	s := newStack(t, 42)
	s.seedBaseline()
	const start, end, last = 30, 90, 160
	for c := 1; c <= last; c++ {
		m := c - 1 // rows of the minute just ended
		p := 0.0005
		if m >= start && m < end {
			p = 0.02
			if m%6 == 0 {
				s.finishRun(m, m%60, snapkeep.RunFailed, snapkeep.ClassProviderError)
			}
		} else if m%10 == 0 {
			s.finishRun(m, m%60, snapkeep.RunSucceeded, "")
		}
		s.traffic(m, p)
		if m == 10 {
			s.putPoison(m)
		}
		s.minute(c)
	}

	mails := s.env.SentEmailsTo(t, s.ops)
	if len(mails) != 2 {
		for _, m := range mails {
			t.Logf("sent: %s", m.Subject)
		}
		t.Fatalf("%d emails to ops, want one alert and one resolution", len(mails))
	}
	alertSubject, alert := readEmail(t, mails[0].Raw)
	resolvedSubject, _ := readEmail(t, mails[1].Raw)
	if !strings.Contains(alertSubject, "DigitalOcean API error rate") || !strings.Contains(alertSubject, "operation:snapshot_droplet") ||
		!strings.HasPrefix(resolvedSubject, "[snapkeep] Resolved: ") {
		t.Errorf("subjects %q and %q", alertSubject, resolvedSubject)
	}
	checkAlert(t, alert)

	inc := s.incident(t, "operation:snapshot_droplet")
	if inc.AlertID != mails[0].MessageID || inc.ResolutionID != mails[1].MessageID || inc.SendError != "" {
		t.Errorf("incident records alert %q / resolution %q / %q; SES ids %q, %q", inc.AlertID, inc.ResolutionID, inc.SendError,
			mails[0].MessageID, mails[1].MessageID)
	}
	began := stackT0.Add(start * time.Minute)
	if inc.StartedAt.Before(began.Add(-10*time.Minute)) || inc.OpenedAt.After(began.Add(30*time.Minute)) ||
		inc.ResolvedAt == nil || inc.ResolvedAt.Before(stackT0.Add(end*time.Minute)) || inc.FailedRuns < 5 || inc.AffectedCustomers < 5 {
		t.Errorf("incident %+v: want a start near minute %d, an alarm within 30 minutes, resolved after minute %d, failed runs and customers", inc, start, end)
	}

	// Counted exactly once: the Stats minute counts are the rows written
	// (the poison row left out).
	if got, want := s.counted(last-5), s.expect(last-5); !sameText(got, want) {
		t.Fatalf("Stats counts differ from the rows written:\n%v\nwant\n%v", diffText(got, want), "")
	}
	fails := s.onFailure()
	if len(fails) != 1 || fails[0].RequestContext.Condition != "RetryAttemptsExhausted" {
		t.Errorf("on-failure records %+v, want the poison row's batch once", fails)
	}
	if n := strings.Count(s.metrics.String(), `"Namespace":"snapkeep"`); n < last {
		t.Errorf("%d metric lines, want at least one a minute", n)
	}

	// The mapping delivered again from the start, in batches of 37.
	before := s.counted(last - 5)
	if err := s.calls.Replay(""); err != nil {
		t.Fatal(err)
	}
	if err := s.calls.SetBatchSize(37); err != nil {
		t.Fatal(err)
	}
	for c := last + 1; c <= last+5; c++ {
		s.minute(c)
	}
	if got := s.counted(last - 5); !sameText(got, before) {
		t.Errorf("a replayed, re-batched delivery changed the counts:\n%v", diffText(got, before))
	}
	if n := len(s.env.SentEmailsTo(t, s.ops)); n != 2 {
		t.Errorf("%d emails after the replay, want still 2", n)
	}
}

// checkAlert checks the alert's parts: the text and HTML report with every
// section, the CSV of affected calls and the Markdown report attached.
func checkAlert(t *testing.T, parts []awslocal.Part) {
	t.Helper()
	byType := map[string]awslocal.Part{}
	for _, p := range parts {
		byType[p.ContentType] = p
	}
	html, text, csv, md := byType["text/html"], byType["text/plain"], byType["text/csv"], byType["text/markdown"]
	for _, sec := range escalation.Sections() {
		if !strings.Contains(html.Body, `id="`+sec.ID+`"`) {
			t.Errorf("HTML report has no section %q", sec.ID)
		}
		if !strings.Contains(text.Body, sec.Title) || !strings.Contains(md.Body, sec.Title) {
			t.Errorf("text or Markdown report has no section %q", sec.Title)
		}
	}
	// At the alarm the affected calls are the few since the change point:
	// at least one from each of the 3 resources the evidence guard wants.
	if !strings.HasSuffix(csv.Filename, ".csv") || strings.Count(csv.Body, "\n") < 4 || !strings.Contains(csv.Body, "snapshot_droplet") ||
		!strings.HasSuffix(md.Filename, ".md") {
		t.Errorf("attachments: csv %q (%d lines), md %q", csv.Filename, strings.Count(csv.Body, "\n"), md.Filename)
	}
	if strings.Contains(html.Body+text.Body+csv.Body, "Bearer ") {
		t.Error("a token-like header made it into the report")
	}
}

// TestPipelineSilence: runs are due but no call outcome arrives at all
// (the run path is stuck): 30 minutes after the first due run the pipeline
// incident opens and ops is told once; when outcomes arrive again it
// resolves, once.
func TestPipelineSilence(t *testing.T) {
	s := newStack(t, 7)
	s.seedBaseline()
	ctx := context.Background()
	for i := 0; i < 3; i++ { // runs claimed, due at minute 6, never followed
		slot := stackT0.Add(5 * time.Minute)
		due := slot.Add(time.Minute + time.Duration(i)*time.Second)
		r := &snapkeep.Run{PolicyID: "pol-stuck-" + string(rune('a'+i)), ScheduledAt: slot, CustomerID: "cust-01", Status: snapkeep.RunInProgress,
			Trigger: snapkeep.TriggerScheduled, ClaimedAt: slot, NextCheckAt: &due, UpdatedAt: slot}
		r.RunID = r.Key().RunID()
		r.Unfinished = snapkeep.UnfinishedKey(r.RunID)
		if err := s.runDB.Claim(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	opened := 0
	for c := 1; c <= 70; c++ {
		if m := c - 1; m < 4 || m >= 55 {
			s.traffic(m, 0.0005)
		}
		s.minute(c)
		if opened == 0 && len(s.env.SentEmailsTo(t, s.ops)) == 1 {
			opened = c
		}
	}
	mails := s.env.SentEmailsTo(t, s.ops)
	if len(mails) != 2 {
		t.Fatalf("%d emails, want the pipeline alert and its resolution", len(mails))
	}
	alert, _ := readEmail(t, mails[0].Raw)
	resolved, _ := readEmail(t, mails[1].Raw)
	if !strings.Contains(alert, "Pipeline stalled") || !strings.Contains(resolved, "arriving again") {
		t.Errorf("subjects %q, %q", alert, resolved)
	}
	if opened < 36 || opened > 38 {
		t.Errorf("pipeline alert in minute %d, want 30 minutes after the runs fell due (minute 6)", opened)
	}
}

// incident returns the provider incident of dim, failing when there is
// not exactly one that is not folded.
func (s *stack) incident(t *testing.T, dim snapkeep.Dimension) snapkeep.Incident {
	t.Helper()
	items := s.scanIncidents(t)
	var found []snapkeep.Incident
	for _, inc := range items {
		if inc.Dimension == dim && !strings.HasPrefix(inc.AlertID, "folded:") {
			found = append(found, inc)
		}
	}
	if len(found) != 1 {
		t.Fatalf("incidents of %s: %+v", dim, items)
	}
	return found[0]
}

func sameText(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func diffText(got, want map[string]string) string {
	var sb strings.Builder
	for k, v := range want {
		if got[k] != v {
			sb.WriteString(k + ": got " + got[k] + ", want " + v + "\n")
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			sb.WriteString(k + ": got " + v + ", want none\n")
		}
	}
	return sb.String()
}
