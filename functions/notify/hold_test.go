package main

import (
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/notice"
	"github.com/snapkeep/snapkeep/shared/notify"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Hold mode, end to end: during an open incident each affected customer
// gets exactly one incident notice (email and Slack) however many covered
// failures, batches and replays; once the incident is resolved and each
// affected policy's next run has finished, the periodic trigger sends
// exactly one resolved notice per customer, saying how the next backup
// went.
func TestHoldModeOneIncidentNoticeAndOneResolvedPerCustomer(t *testing.T) {
	s := newStack(t, stackOptions{hold: true})
	acme := s.customer("acme", snapkeep.NotifyEveryFailure, "acme")
	beta := s.customer("beta", snapkeep.NotifyFirstFailure, "")
	web1, web2 := s.policy("web-1", "acme", "nyc3"), s.policy("web-2", "acme", "nyc3")
	db := s.policy("db-1", "beta", "nyc3")
	inc := openIncident(t, s, snapkeep.DimensionAll)

	a1 := s.finish(web1, slot, snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded)
	a2 := s.finish(web2, slot, snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded)
	b1 := s.finish(db, slot, snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded)
	s.flush()
	s.clock.Set(slot.Add(time.Hour + 31*time.Minute))
	a3 := s.finish(web1, slot.Add(time.Hour), snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunFailed)
	s.flush()
	if err := s.deliverer.Replay(""); err != nil {
		t.Fatal(err)
	}
	if stats := s.flush(); stats.FailedInvocations != 0 {
		t.Fatalf("stats %+v\n%s", stats, s.logs)
	}

	mid := notify.IncidentMailingID(inc.IncidentID)
	for _, run := range []*snapkeep.Run{a1, a2, a3, b1} {
		if n := s.stored(run).Notices[snapkeep.ChannelEmail]; n.Kind != snapkeep.NoticeHeld || n.ID != mid {
			t.Errorf("run %s email notice %+v, want held for %s", run.RunID, n, mid)
		}
	}
	kinds := func(c *snapkeep.Customer) []string {
		var out []string
		for _, m := range s.mails(c.Email) {
			out = append(out, m.header("X-Snapkeep-Kind"))
		}
		return out
	}
	if got := kinds(acme); len(got) != 1 || got[0] != "incident" {
		t.Fatalf("acme's emails %v, want exactly one incident notice", got)
	}
	if got := kinds(beta); len(got) != 1 || got[0] != "incident" {
		t.Fatalf("beta's emails %v, want exactly one incident notice", got)
	}
	m := s.mails(acme.Email)[0]
	want, err := s.handler.Service.Notices.IncidentNotice(notice.IncidentInput{Customer: acme, Incident: inc,
		Failed: []notice.FailedRun{{Run: s.stored(a1), Policy: web1}, {Run: s.stored(a2), Policy: web2}}, Now: m.date(t)})
	if err != nil {
		t.Fatal(err)
	}
	if m.header("Subject") != want.Subject || m.header("List-Id") != "Snapkeep incident notices and digests <updates.snapkeep.example>" ||
		m.header("X-Snapkeep-Incident") != inc.IncidentID || !strings.Contains(m.Text, "web-1") || !strings.Contains(m.Text, "web-2") {
		t.Errorf("incident notice %q (List-Id %q):\n%s", m.header("Subject"), m.header("List-Id"), m.Text)
	}
	if got := len(s.hook.to("acme")); got != 1 {
		t.Errorf("%d Slack posts to acme, want the one incident notice", got)
	}

	// While open, and before the next runs: the trigger waits.
	if res := s.tick(); res.Waiting != 2 || res.Resolved != 0 {
		t.Errorf("tick while the incident is open = %+v, want 2 waiting", res)
	}
	resolved := slot.Add(2 * time.Hour)
	resolveIncident(t, s, inc, resolved)
	s.clock.Set(resolved.Add(10 * time.Minute))
	if res := s.tick(); res.Waiting != 2 || res.Resolved != 0 {
		t.Errorf("tick before the next runs = %+v, want 2 waiting", res)
	}
	next1 := s.finish(web1, slot.Add(2*time.Hour), snapkeep.RunSucceeded, "", snapkeep.RunFailed)
	next2 := s.finish(web2, slot.Add(2*time.Hour), snapkeep.RunSucceeded, "", snapkeep.RunFailed)
	s.finish(db, slot.Add(2*time.Hour), snapkeep.RunSucceeded, "", snapkeep.RunFailed)
	s.clock.Set(slot.Add(2*time.Hour + 40*time.Minute))
	s.flush() // the recoveries: held before, so told by the resolved notice only
	if n := s.stored(next1).Notices[snapkeep.ChannelEmail]; n.Kind != snapkeep.NoticeSkipped {
		t.Errorf("recovery after held failures: notice %+v, want skipped", n)
	}
	if res := s.tick(); res.Resolved != 2 || res.Waiting != 0 || res.Failed != 0 {
		t.Errorf("tick after the next runs = %+v, want both resolved notices", res)
	}
	if res := s.tick(); res.Resolved != 0 || res.Waiting != 0 {
		t.Errorf("tick after that = %+v, want nothing left", res)
	}
	for _, c := range []*snapkeep.Customer{acme, beta} {
		if got := kinds(c); len(got) != 2 || got[1] != "resolved" {
			t.Errorf("%s's emails %v, want the incident notice and one resolved notice", c.CustomerID, got)
		}
	}
	r := s.mails(acme.Email)[1]
	stored, _ := s.incidents.Get(s.ctx, inc.IncidentID)
	wantResolved, err := s.handler.Service.Notices.Resolved(notice.ResolvedInput{Customer: acme, Incident: stored,
		Failed: []notice.FailedRun{{Run: s.stored(a1), Policy: web1}, {Run: s.stored(a2), Policy: web2}, {Run: s.stored(a3), Policy: web1}},
		After:  map[string]*snapkeep.Run{"web-1": s.stored(next1), "web-2": s.stored(next2)},
		Now:    r.date(t)})
	if err != nil {
		t.Fatal(err)
	}
	if r.header("Subject") != wantResolved.Subject || !sameBody(r.Text, wantResolved.Text) {
		t.Errorf("resolved notice %q, want %q (both next backups succeeded):\n%s", r.header("Subject"), wantResolved.Subject, r.Text)
	}
	if got := len(s.hook.to("acme")); got != 2 {
		t.Errorf("%d Slack posts to acme, want the incident and the resolved notice", got)
	}
	mail, err := s.mailings.Get(s.ctx, mid, "acme")
	if err != nil || mail.Pending != "" || len(mail.RunIDs) != 3 || mail.Resolved[snapkeep.ChannelEmail].ID != r.MessageID {
		t.Errorf("acme's mailing %+v, %v", mail, err)
	}
}

// date is the email's Date header (the virtual clock at sending).
func (d delivered) date(t *testing.T) time.Time {
	t.Helper()
	at, err := d.Header.Date()
	if err != nil {
		t.Fatal(err)
	}
	return at.UTC()
}

func resolveIncident(t *testing.T, s *stack, inc *snapkeep.Incident, at time.Time) {
	t.Helper()
	next := *inc
	next.State, next.ResolvedAt, next.UpdatedAt = snapkeep.IncidentResolved, &at, at
	if err := s.incidents.Update(s.ctx, inc, &next); err != nil {
		t.Fatal(err)
	}
}
