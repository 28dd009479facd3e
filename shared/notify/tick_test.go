package notify

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/notice"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Hold mode: failures an open incident covers are held; the customer gets
// one incident notice per incident (however many failures, batches and
// replays), then one resolved notice once the incident is over and each
// affected policy's next run has finished.
func TestHoldModeOneIncidentNoticeAndOneResolved(t *testing.T) {
	r := newRig(t)
	r.svc.Config.Hold = true
	c := r.customer("acme", snapkeep.NotifyEveryFailure, true)
	other := r.customer("beta", snapkeep.NotifyFirstFailure, false)
	r.policy("web-1", "acme")
	r.policy("web-2", "acme")
	r.policy("db-1", "beta")
	inc := r.openIncident("inc-1", snapkeep.DimensionAll)
	ctx := context.Background()

	a1 := r.run("web-1", "acme", slotAt, snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded)
	a2 := r.run("web-2", "acme", slotAt, snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded)
	b1 := r.run("db-1", "beta", slotAt, snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded)
	auth := r.run("web-2", "acme", slotAt.Add(30*time.Minute), snapkeep.RunFailed, snapkeep.ClassAuthRevoked, snapkeep.RunFailed)
	if failed := r.svc.Batch(ctx, changes(a1, a2, b1, auth)); failed != -1 {
		t.Fatalf("Batch = %d\n%s", failed, r.logs)
	}
	// Later failures, another batch, and a replay of the first.
	a3 := r.run("web-1", "acme", slotAt.Add(time.Hour), snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunFailed)
	for _, batch := range [][]Change{changes(a3), changes(a1, a2, b1)} {
		if failed := r.svc.Batch(ctx, batch); failed != -1 {
			t.Fatalf("Batch = %d\n%s", failed, r.logs)
		}
	}
	mid := IncidentMailingID(inc.IncidentID)
	for _, run := range []*snapkeep.Run{a1, a2, a3, b1} {
		if n := r.notice(run, snapkeep.ChannelEmail); n.Kind != snapkeep.NoticeHeld || n.ID != mid {
			t.Errorf("run %s notice %+v, want held for %s", run.RunID, n, mid)
		}
	}
	if n := r.notice(auth, snapkeep.ChannelEmail); n.Kind != snapkeep.NoticeFailure || n.ID == "" {
		t.Errorf("auth_revoked failure notice %+v: not DigitalOcean's, so told on its own", n)
	}
	incidentMails := func(addr string) []Email {
		var out []Email
		for _, e := range r.mailer.to(addr) {
			if e.Headers["X-Snapkeep-Kind"] == string(snapkeep.NoticeIncident) {
				out = append(out, e)
			}
		}
		return out
	}
	acme := incidentMails(c.Email)
	if len(acme) != 1 || len(incidentMails(other.Email)) != 1 || !acme[0].Broadcast {
		t.Fatalf("incident notices: acme %d, beta %d; want one each (broadcast stream)", len(acme), len(incidentMails(other.Email)))
	}
	want, err := r.svc.Notices.IncidentNotice(notice.IncidentInput{Customer: c, Incident: inc,
		Failed: []notice.FailedRun{{Run: r.runs.get(a1.Key()), Policy: r.policies["web-1"]}, {Run: r.runs.get(a2.Key()), Policy: r.policies["web-2"]}}, Now: r.clock.Now()})
	if err != nil || acme[0].Subject != want.Subject {
		t.Errorf("incident notice subject %q, want %q (%v)", acme[0].Subject, want.Subject, err)
	}
	wantSlack, _ := want.Slack.SlackPayload()
	slackIncident := 0
	for _, p := range r.slack.posts {
		if string(p.payload) == string(wantSlack) && p.url == c.SlackWebhookURL {
			slackIncident++
		}
	}
	if slackIncident != 1 {
		t.Errorf("%d Slack incident notices to acme, want 1", slackIncident)
	}

	// Ticks while the incident is open, then before the next runs: wait.
	tick := func() TickResult {
		t.Helper()
		res, err := r.svc.Tick(ctx)
		if err != nil {
			t.Fatalf("Tick: %v\n%s", err, r.logs)
		}
		return res
	}
	if res := tick(); res.Waiting != 2 || res.Resolved != 0 {
		t.Errorf("tick while open = %+v, want 2 waiting", res)
	}
	r.clock.Advance(2 * time.Hour)
	r.resolve(inc.IncidentID, r.clock.Now())
	if res := tick(); res.Waiting != 2 || res.Resolved != 0 {
		t.Errorf("tick before the next runs = %+v, want 2 waiting", res)
	}
	next1 := r.run("web-1", "acme", slotAt.Add(3*time.Hour), snapkeep.RunSucceeded, "", snapkeep.RunFailed)
	r.run("web-2", "acme", slotAt.Add(3*time.Hour), snapkeep.RunFailed, snapkeep.ClassQuotaExceeded, snapkeep.RunFailed)
	if res := tick(); res.Resolved != 1 || res.Waiting != 1 {
		t.Errorf("tick after acme's next runs = %+v, want acme's resolved, beta still waiting", res)
	}
	// A recovery right after a held failure is not told on its own.
	if failed := r.svc.Batch(ctx, changes(next1)); failed != -1 || r.notice(next1, snapkeep.ChannelEmail).Kind != snapkeep.NoticeSkipped {
		t.Errorf("recovery after held failures: Batch %d, notice %+v; want skipped", failed, r.notice(next1, snapkeep.ChannelEmail))
	}
	// beta's policy never runs again: after ResolvedWait it goes anyway.
	r.clock.Advance(DefaultResolvedWait)
	if res := tick(); res.Resolved != 1 || res.Waiting != 0 {
		t.Errorf("tick after the wait = %+v, want beta's resolved", res)
	}
	if res := tick(); res.Resolved != 0 || res.Waiting != 0 {
		t.Errorf("tick after all = %+v, want nothing left", res)
	}
	resolvedMails := 0
	for _, e := range r.mailer.sent {
		if e.Headers["X-Snapkeep-Kind"] == string(snapkeep.NoticeResolved) {
			resolvedMails++
		}
	}
	if resolvedMails != 2 {
		t.Errorf("%d resolved notices, want one per customer", resolvedMails)
	}
	m, _ := r.mailings.Get(ctx, mid, "acme")
	if m.Pending != "" || m.Resolved[snapkeep.ChannelEmail].ID == "" || m.Resolved[snapkeep.ChannelSlack].ID == "" || len(m.RunIDs) != 3 {
		t.Errorf("acme's mailing = %+v; want done, resolved on both channels, three held runs", m)
	}
}

// The incident notice failing for now fails the customer's first held
// record, so the retry sends it.
func TestHoldIncidentNoticeRetried(t *testing.T) {
	r := newRig(t)
	r.svc.Config.Hold = true
	c := r.customer("acme", "", false)
	r.policy("web-1", "acme")
	r.openIncident("inc-1", snapkeep.DimensionAll)
	other := r.run("web-1", "acme", slotAt.Add(-time.Hour), snapkeep.RunFailed, snapkeep.ClassAuthRevoked, "")
	held := r.run("web-1", "acme", slotAt, snapkeep.RunFailed, snapkeep.ClassProviderError, "")
	r.mailer.SendFunc = func(e Email) (string, error) {
		if e.Broadcast {
			return "", errTransient
		}
		return "ses-x", nil
	}
	batch := changes(other, held)
	if failed := r.svc.Batch(context.Background(), batch); failed != 1 {
		t.Fatalf("Batch = %d, want 1 (the held record)", failed)
	}
	r.mailer.SendFunc = nil
	if failed := r.svc.Batch(context.Background(), batch[1:]); failed != -1 {
		t.Fatalf("retry: Batch = %d", failed)
	}
	var broadcast []Email
	for _, e := range r.mailer.to(c.Email) {
		if e.Broadcast {
			broadcast = append(broadcast, e)
		}
	}
	if len(broadcast) != 2 { // the failed attempt and the retry
		t.Errorf("%d incident notice attempts, want 2", len(broadcast))
	}
}

// Daily digest: failures wait for the first digest due after they
// finished; the first tick after 08:00 UTC sends one per customer; a
// failure that comes after its digest went out joins the next.
func TestDigest(t *testing.T) {
	r := newRig(t)
	c := r.customer("acme", snapkeep.NotifyDailyDigest, true)
	pol := r.policy("web-1", "acme")
	ctx := context.Background()
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	early := r.run("web-1", "acme", day.Add(2*time.Hour), snapkeep.RunFailed, snapkeep.ClassProviderError, "")
	mid := r.run("web-1", "acme", day.Add(6*time.Hour), snapkeep.RunTimedOut, snapkeep.ClassTimedOut, snapkeep.RunFailed)
	after := r.run("web-1", "acme", day.Add(9*time.Hour), snapkeep.RunFailed, snapkeep.ClassNetwork, snapkeep.RunTimedOut)
	r.clock.t = day.Add(7 * time.Hour)
	if failed := r.svc.Batch(ctx, changes(early, mid)); failed != -1 {
		t.Fatalf("Batch = %d\n%s", failed, r.logs)
	}
	for _, run := range []*snapkeep.Run{early, mid} {
		if n := r.notice(run, snapkeep.ChannelEmail); n.Kind != snapkeep.NoticeDigest || n.ID != "digest#2026-11-24" {
			t.Errorf("run %s notice %+v, want waiting for digest#2026-11-24", run.RunID, n)
		}
	}
	r.clock.t = day.Add(7*time.Hour + 59*time.Minute)
	if res, err := r.svc.Tick(ctx); err != nil || res.Digests != 0 || len(r.mailer.sent) != 0 {
		t.Fatalf("tick at 07:59 = %+v, %v, %d emails; want nothing yet", res, err, len(r.mailer.sent))
	}
	r.clock.t = day.Add(8*time.Hour + 5*time.Minute)
	if res, err := r.svc.Tick(ctx); err != nil || res.Digests != 1 {
		t.Fatalf("tick at 08:05 = %+v, %v; want one digest", res, err)
	}
	want, err := r.svc.Notices.Digest(notice.DigestInput{Customer: c, From: day.Add(-16 * time.Hour), To: day.Add(8 * time.Hour),
		Failed: []notice.FailedRun{{Run: r.runs.get(early.Key()), Policy: pol}, {Run: r.runs.get(mid.Key()), Policy: pol}}, Now: r.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	mails := r.mailer.to(c.Email)
	if len(mails) != 1 || mails[0].Subject != want.Subject || mails[0].Text != want.Text || !mails[0].Broadcast || len(r.slack.posts) != 1 {
		t.Fatalf("digest emails %d (%q), Slack %d; want one of each, %q", len(mails), subjectOf(mails), len(r.slack.posts), want.Subject)
	}
	if res, err := r.svc.Tick(ctx); err != nil || res.Digests != 0 || len(r.mailer.sent) != 1 {
		t.Errorf("second tick = %+v, %v; want no second digest", res, err)
	}
	// A run that finished before 08:00 but arrives after the digest went
	// out joins the next day's; one after 08:00 joins it too.
	late := r.run("web-1", "acme", day.Add(7*time.Hour), snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunTimedOut)
	if failed := r.svc.Batch(ctx, changes(late, after)); failed != -1 {
		t.Fatalf("Batch = %d\n%s", failed, r.logs)
	}
	for _, run := range []*snapkeep.Run{late, after} {
		if n := r.notice(run, snapkeep.ChannelEmail); n.ID != "digest#2026-11-25" {
			t.Errorf("run %s notice %+v, want digest#2026-11-25", run.RunID, n)
		}
	}
	m, _ := r.mailings.Get(ctx, "digest#2026-11-25", "acme")
	slices.Sort(m.RunIDs)
	if !slices.Equal(m.RunIDs, []string{late.RunID, after.RunID}) {
		t.Errorf("next digest lists %v", m.RunIDs)
	}
}

func subjectOf(ms []Email) string {
	if len(ms) == 0 {
		return ""
	}
	return ms[0].Subject
}

// A customer who chose none since is not sent the digest; a mailing of a
// customer who is gone is dropped; a tick that cannot read the index says
// so.
func TestTickEdges(t *testing.T) {
	r := newRig(t)
	c := r.customer("acme", snapkeep.NotifyDailyDigest, false)
	r.policy("web-1", "acme")
	ctx := context.Background()
	run := r.run("web-1", "acme", slotAt, snapkeep.RunFailed, snapkeep.ClassProviderError, "")
	if failed := r.svc.Batch(ctx, changes(run)); failed != -1 {
		t.Fatal(failed)
	}
	c.NotificationMode = snapkeep.NotifyNone
	r.clock.Advance(48 * time.Hour)
	if res, err := r.svc.Tick(ctx); err != nil || res.Digests != 1 || len(r.mailer.sent) != 0 {
		t.Errorf("tick = %+v, %v, %d emails; want the digest settled as skipped, none sent", res, err, len(r.mailer.sent))
	}
	m, _ := r.mailings.Get(ctx, DigestMailingID(NextDigest(finished, 8)), "acme")
	if m.Pending != "" || m.Notices[snapkeep.ChannelEmail].Kind != snapkeep.NoticeSkipped {
		t.Errorf("mailing %+v, want done and skipped", m)
	}

	r.mailings.ClaimFunc = func(string, string, string, string) error { return errTransient }
	r.customers.byID["acme"].NotificationMode = snapkeep.NotifyDailyDigest
	run2 := r.run("web-1", "acme", r.clock.Now(), snapkeep.RunFailed, snapkeep.ClassProviderError, "")
	if failed := r.svc.Batch(ctx, changes(run2)); failed != -1 {
		t.Fatal(failed)
	}
	r.clock.Advance(48 * time.Hour)
	if res, err := r.svc.Tick(ctx); !errors.Is(err, errTransient) || res.Failed != 1 {
		t.Errorf("tick with a failing claim = %+v, %v; want the failure counted and returned", res, err)
	}
}
