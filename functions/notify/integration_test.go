package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/notice"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

var slot = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)

// renderFailure renders what the customer must get for run, as the
// service renders it (the same renderer, the stored run and policy).
func (s *stack) renderFailure(run *snapkeep.Run, p *snapkeep.Policy, c *snapkeep.Customer, inc *snapkeep.Incident) notice.Message {
	s.t.Helper()
	m, err := s.handler.Service.Notices.Failure(notice.FailureInput{Run: run, Policy: p, Customer: c, Incident: inc, Now: s.clock.Now()})
	if err != nil {
		s.t.Fatal(err)
	}
	return m
}

// Failed runs written to the Runs table reach their customers: the stream
// records pass the template's filter (the other writes do not), the email
// moto's SES holds has every header and both parts as rendered, the Slack
// webhook gets the Block Kit message, and the runs record the message ids.
func TestFailedRunsReachCustomers(t *testing.T) {
	s := newStack(t, stackOptions{})
	acme := s.customer("acme", snapkeep.NotifyEveryFailure, "acme")
	beta := s.customer("beta", "", "")
	web := s.policy("web-1", "acme", "nyc3")
	db := s.policy("db-1", "beta", "fra1")
	failed := s.finish(web, slot, snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded)
	timedOut := s.finish(db, slot, snapkeep.RunTimedOut, snapkeep.ClassTimedOut, "")
	s.finish(web, slot.Add(-time.Hour), snapkeep.RunSucceeded, "", snapkeep.RunSucceeded) // never reaches the function

	stats := s.flush()
	// 3 claims (INSERT in progress), 3 finishing writes, 3 notice writes
	// of the function's own: only the two failures pass.
	if stats.Invocations != 1 || stats.FailedInvocations != 0 || stats.Delivered != 2 || stats.Filtered != 4 {
		t.Fatalf("deliverer stats %+v; want one invocation of the 2 failures, 4 records filtered\n%s", stats, s.logs)
	}
	if stats := s.flush(); stats.Invocations != 1 || stats.Filtered != 4+6 {
		t.Errorf("after the function's own writes: %+v; want them filtered (a claim and a record per message: 6), no invocation", stats)
	}

	for _, tc := range []struct {
		c    *snapkeep.Customer
		p    *snapkeep.Policy
		run  *snapkeep.Run
		kind snapkeep.NoticeKind
	}{{acme, web, failed, snapkeep.NoticeFailure}, {beta, db, timedOut, snapkeep.NoticeFailure}} {
		got := s.mails(tc.c.Email)
		if len(got) != 1 {
			t.Fatalf("%d emails to %s, want 1", len(got), tc.c.CustomerID)
		}
		m := got[0]
		want := s.renderFailure(s.stored(tc.run), tc.p, tc.c, nil)
		for name, value := range map[string]string{
			"From":                  `"Snapkeep Backups" <` + s.sender.Email + `>`,
			"To":                    `"` + tc.c.Name + `" <` + tc.c.Email + `>`,
			"Reply-To":              `"Snapkeep Support" <support@snapkeep.example>`,
			"Subject":               want.Subject,
			"List-Id":               "Snapkeep backup notices <notices.snapkeep.example>",
			"List-Unsubscribe":      "<https://app.snapkeep.example/preferences/" + tc.c.PreferencesToken + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			"X-Snapkeep-Run":        tc.run.RunID,
			"X-Snapkeep-Kind":       "failure",
			"X-Snapkeep-Customer":   tc.c.CustomerID,
			"MIME-Version":          "1.0",
		} {
			got := m.header(name)
			if name == "From" || name == "To" || name == "Reply-To" {
				list, err := m.Header.AddressList(name)
				if err != nil || len(list) != 1 {
					t.Fatalf("%s: %v, %v", name, list, err)
				}
				got = list[0].String()
			}
			if got != value {
				t.Errorf("%s: %s = %q, want %q", tc.c.CustomerID, name, got, value)
			}
		}
		if m.Header.Get("Date") == "" || m.Header.Get("Message-ID") == "" {
			t.Errorf("%s: no Date or Message-ID header", tc.c.CustomerID)
		}
		if m.Structure != "multipart/alternative(text/plain,text/html)" || !sameBody(m.Text, want.Text) || !sameBody(m.HTML, want.HTML) {
			t.Errorf("%s: %s; text as rendered %v, html as rendered %v\n%s", tc.c.CustomerID, m.Structure, sameBody(m.Text, want.Text), sameBody(m.HTML, want.HTML), m.Text)
		}
		n := s.stored(tc.run).Notices[snapkeep.ChannelEmail]
		if n.Kind != tc.kind || n.ID != m.MessageID || n.Error != "" {
			t.Errorf("%s: run's email notice %+v, want %s with SES's message id %s", tc.c.CustomerID, n, tc.kind, m.MessageID)
		}
	}

	posts := s.hook.to("acme")
	want := s.renderFailure(s.stored(failed), web, acme, nil)
	payload, _ := want.Slack.SlackPayload()
	if len(posts) != 1 || posts[0].Body != string(payload) {
		t.Errorf("Slack posts to acme's webhook: %d; want the rendered Block Kit once", len(posts))
	}
	if n := s.stored(failed).Notices[snapkeep.ChannelSlack]; n.Kind != snapkeep.NoticeFailure || !strings.HasPrefix(n.ID, "slack-") {
		t.Errorf("run's Slack notice %+v", n)
	}
	if _, ok := s.stored(timedOut).Notices[snapkeep.ChannelSlack]; ok {
		t.Errorf("beta has no webhook, but its run has a Slack notice")
	}
	if logs := s.logs.String(); strings.Contains(logs, "T0SNAP/B0KEEP") || strings.Contains(logs, acme.SlackWebhookURL) {
		t.Errorf("the webhook URL appears in the logs")
	}
}

// Duplicate and replayed deliveries send once: the mapping replayed from
// the start, re-batched one record per invocation, and a batch holding
// the same record twice.
func TestDuplicateAndReplayedDeliverySendOnce(t *testing.T) {
	s := newStack(t, stackOptions{})
	acme := s.customer("acme", "", "acme")
	web := s.policy("web-1", "acme", "nyc3")
	a := s.finish(web, slot, snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded)
	b := s.finish(web, slot.Add(time.Hour), snapkeep.RunFailed, snapkeep.ClassNetwork, snapkeep.RunFailed)
	s.flush()

	if err := s.deliverer.Replay(""); err != nil {
		t.Fatal(err)
	}
	s.flush()
	s.deliverer = s.newDeliverer(1)
	s.flush()
	recs := s.env.StreamRecords(t, dynamoRuns)
	var twice []eventRecord
	for _, r := range recs {
		if imageStatus(r.Change.NewImage) == "failed" && imageStatus(r.Change.OldImage) == "in_progress" {
			twice = append(twice, r, r)
		}
	}
	if len(twice) != 4 {
		t.Fatalf("found %d finishing records (doubled), want 4", len(twice))
	}
	if resp := s.handler.Stream(s.ctx, eventOf(twice)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("duplicate batch: %+v", resp)
	}

	if got := len(s.mails(acme.Email)); got != 2 {
		t.Errorf("%d emails, want 2 (one per failed run)", got)
	}
	if got := len(s.hook.to("acme")); got != 2 {
		t.Errorf("%d Slack posts, want 2", got)
	}
	for _, run := range []*snapkeep.Run{a, b} {
		if n := s.stored(run).Notices; n[snapkeep.ChannelEmail].ID == "" || n[snapkeep.ChannelSlack].ID == "" {
			t.Errorf("run %s notices %+v", run.RunID, n)
		}
	}
}

// Each preference is honoured over the same sequence of runs: failure
// after success, failure after failure, recovery.
func TestPreferencesHonoured(t *testing.T) {
	s := newStack(t, stackOptions{})
	modes := []snapkeep.NotificationMode{snapkeep.NotifyEveryFailure, snapkeep.NotifyFirstFailure, snapkeep.NotifyDailyDigest, snapkeep.NotifyNone}
	runs := map[snapkeep.NotificationMode][]*snapkeep.Run{}
	customers := map[snapkeep.NotificationMode]*snapkeep.Customer{}
	for _, mode := range modes {
		id := strings.ReplaceAll(string(mode), "_", "-")
		customers[mode] = s.customer(id, mode, "")
		p := s.policy("pol-"+id, id, "nyc3")
		runs[mode] = []*snapkeep.Run{
			s.finish(p, slot, snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded),
			s.finish(p, slot.Add(time.Hour), snapkeep.RunTimedOut, snapkeep.ClassTimedOut, snapkeep.RunFailed),
			s.finish(p, slot.Add(2*time.Hour), snapkeep.RunSucceeded, "", snapkeep.RunTimedOut),
		}
	}
	s.clock.Set(slot.Add(2*time.Hour + 31*time.Minute))
	if stats := s.flush(); stats.FailedInvocations != 0 || stats.Delivered != 12 {
		t.Fatalf("stats %+v; want the 8 failures and 4 recoveries delivered\n%s", stats, s.logs)
	}
	kinds := func(mode snapkeep.NotificationMode) []snapkeep.NoticeKind {
		var out []snapkeep.NoticeKind
		for _, r := range runs[mode] {
			out = append(out, s.stored(r).Notices[snapkeep.ChannelEmail].Kind)
		}
		return out
	}
	F, R, D, S := snapkeep.NoticeFailure, snapkeep.NoticeRecovery, snapkeep.NoticeDigest, snapkeep.NoticeSkipped
	for mode, want := range map[snapkeep.NotificationMode][]snapkeep.NoticeKind{
		snapkeep.NotifyEveryFailure: {F, F, R}, snapkeep.NotifyFirstFailure: {F, S, R},
		snapkeep.NotifyDailyDigest: {D, D, S}, snapkeep.NotifyNone: {S, S, S},
	} {
		if got := kinds(mode); !slices.Equal(got, want) {
			t.Errorf("%s: notices %v, want %v", mode, got, want)
		}
	}
	subjects := func(mode snapkeep.NotificationMode) []string {
		var out []string
		for _, m := range s.mails(customers[mode].Email) {
			out = append(out, m.header("X-Snapkeep-Kind"))
		}
		return out
	}
	for mode, want := range map[snapkeep.NotificationMode][]string{
		snapkeep.NotifyEveryFailure: {"failure", "failure", "recovery"}, snapkeep.NotifyFirstFailure: {"failure", "recovery"},
		snapkeep.NotifyDailyDigest: nil, snapkeep.NotifyNone: nil,
	} {
		if got := subjects(mode); !slices.Equal(got, want) {
			t.Errorf("%s: emails %v, want %v", mode, got, want)
		}
	}

	// The digest goes out with the first tick after 08:00 UTC, once.
	s.clock.Set(slot.Add(5*time.Hour + 50*time.Minute))
	if res := s.tick(); res.Digests != 0 {
		t.Errorf("tick at 07:50 = %+v, want no digest yet", res)
	}
	s.clock.Set(slot.Add(6*time.Hour + 4*time.Minute))
	if res := s.tick(); res.Digests != 1 || res.Failed != 0 {
		t.Errorf("tick at 08:04 = %+v, want one digest", res)
	}
	if res := s.tick(); res.Digests != 0 {
		t.Errorf("second tick = %+v, want none", res)
	}
	digest := s.mails(customers[snapkeep.NotifyDailyDigest].Email)
	if len(digest) != 1 || digest[0].header("X-Snapkeep-Kind") != "digest" ||
		digest[0].header("List-Id") != "Snapkeep incident notices and digests <updates.snapkeep.example>" ||
		!strings.Contains(digest[0].Text, "pol-daily-digest") {
		t.Fatalf("digest emails %d; want one on the broadcast stream naming the policy", len(digest))
	}
	if got := subjects(snapkeep.NotifyNone); len(got) != 0 {
		t.Errorf("none got %v", got)
	}
}

// An open DigitalOcean incident changes the wording of the failures it
// covers (hold mode off), and only of those.
func TestOpenIncidentChangesWording(t *testing.T) {
	s := newStack(t, stackOptions{})
	acme := s.customer("acme", "", "")
	nyc := s.policy("web-nyc", "acme", "nyc3")
	fra := s.policy("web-fra", "acme", "fra1")
	inc := openIncident(t, s, snapkeep.RegionDimension("nyc3"))
	covered := s.finish(nyc, slot, snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded)
	other := s.finish(fra, slot, snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded)
	if stats := s.flush(); stats.FailedInvocations != 0 {
		t.Fatalf("stats %+v\n%s", stats, s.logs)
	}
	mails := s.mails(acme.Email)
	byRun := map[string]delivered{}
	for _, m := range mails {
		byRun[m.header("X-Snapkeep-Run")] = m
	}
	with := s.renderFailure(s.stored(covered), nyc, acme, inc)
	without := s.renderFailure(s.stored(covered), nyc, acme, nil)
	if with.Text == without.Text {
		t.Fatal("the renderer does not change the wording for an incident")
	}
	if m := byRun[covered.RunID]; !sameBody(m.Text, with.Text) || m.header("Subject") != with.Subject {
		t.Errorf("covered failure's email is not the incident wording:\n%s", m.Text)
	}
	if m := byRun[other.RunID]; !sameBody(m.Text, s.renderFailure(s.stored(other), fra, acme, nil).Text) {
		t.Errorf("the fra1 failure (not covered) was told with the incident:\n%s", m.Text)
	}
}
