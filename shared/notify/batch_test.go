package notify

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/notice"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Each failure is told once on each channel, however often its record
// comes: twice in one batch, and the whole batch again.
func TestBatchTellsOncePerRunAndChannel(t *testing.T) {
	r := newRig(t)
	c := r.customer("acme", snapkeep.NotifyEveryFailure, true)
	pol := r.policy("web-1", "acme")
	a := r.run("web-1", "acme", slotAt, snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded)
	b := r.run("web-1", "acme", slotAt.Add(time.Hour), snapkeep.RunTimedOut, snapkeep.ClassTimedOut, snapkeep.RunFailed)
	batch := append(changes(a, b), finishing(a))
	for round := range 2 {
		if failed := r.svc.Batch(context.Background(), batch); failed != -1 {
			t.Fatalf("round %d: Batch = %d, want -1\n%s", round, failed, r.logs)
		}
	}
	mails := r.mailer.to(c.Email)
	if len(mails) != 2 || len(r.slack.posts) != 2 {
		t.Fatalf("sent %d emails and %d Slack posts, want 2 and 2", len(mails), len(r.slack.posts))
	}
	want, err := r.svc.Notices.Failure(notice.FailureInput{Run: a, Policy: pol, Customer: c, Now: r.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	e := mails[0]
	if e.Subject != want.Subject || e.Text != want.Text || e.HTML != want.HTML || e.Broadcast ||
		e.UnsubscribeURL != "https://app.snapkeep.example/preferences/tok-acme" || e.Headers["X-Snapkeep-Run"] != a.RunID || e.ToName != c.Name {
		t.Errorf("email = %+v\nwant subject %q, the rendered bodies, transactional, the preferences link", e, want.Subject)
	}
	wantSlack, _ := want.Slack.SlackPayload()
	if p := r.slack.posts[0]; p.url != c.SlackWebhookURL || string(p.payload) != string(wantSlack) {
		t.Errorf("Slack post to %q:\n%s\nwant the rendered Block Kit", p.url, p.payload)
	}
	for _, run := range []*snapkeep.Run{a, b} {
		em, sl := r.notice(run, snapkeep.ChannelEmail), r.notice(run, snapkeep.ChannelSlack)
		if em.Kind != snapkeep.NoticeFailure || !strings.HasPrefix(em.ID, "ses-") || sl.Kind != snapkeep.NoticeFailure || !strings.HasPrefix(sl.ID, "slack-") {
			t.Errorf("run %s notices = %+v / %+v; want failure with the message ids", run.RunID, em, sl)
		}
	}
	if strings.Contains(r.logs.String(), c.SlackWebhookURL) {
		t.Errorf("a log line shows the webhook URL:\n%s", r.logs)
	}
}

// An open incident changes the wording; the open incidents are read once
// per batch.
func TestBatchIncidentWording(t *testing.T) {
	r := newRig(t)
	c := r.customer("acme", "", false)
	pol := r.policy("web-1", "acme")
	inc := r.openIncident("inc-nyc3", snapkeep.RegionDimension("nyc3"))
	a := r.run("web-1", "acme", slotAt, snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded)
	b := r.run("web-1", "acme", slotAt.Add(time.Hour), snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunFailed)
	if failed := r.svc.Batch(context.Background(), changes(a, b)); failed != -1 {
		t.Fatalf("Batch = %d\n%s", failed, r.logs)
	}
	with, _ := r.svc.Notices.Failure(notice.FailureInput{Run: a, Policy: pol, Customer: c, Incident: inc, Now: r.clock.Now()})
	without, _ := r.svc.Notices.Failure(notice.FailureInput{Run: a, Policy: pol, Customer: c, Now: r.clock.Now()})
	mails := r.mailer.to(c.Email)
	if len(mails) != 2 || mails[0].Text != with.Text || mails[0].Text == without.Text {
		t.Errorf("got %d emails; the first's text is the incident wording: %v", len(mails), len(mails) > 0 && mails[0].Text == with.Text)
	}
	if r.incidents.lists != 1 {
		t.Errorf("ListOpen called %d times for one batch, want 1", r.incidents.lists)
	}
}

// A send that fails for now fails its record (the batch is retried from
// it) and leaves no claim; the records before it are done, and the retry
// sends once.
func TestBatchTransientFailure(t *testing.T) {
	r := newRig(t)
	c := r.customer("acme", "", false)
	r.policy("web-1", "acme")
	a := r.run("web-1", "acme", slotAt, snapkeep.RunFailed, snapkeep.ClassProviderError, "")
	b := r.run("web-1", "acme", slotAt.Add(time.Hour), snapkeep.RunFailed, snapkeep.ClassNetwork, "")
	cc := r.run("web-1", "acme", slotAt.Add(2*time.Hour), snapkeep.RunFailed, snapkeep.ClassNetwork, "")
	r.mailer.SendFunc = func(e Email) (string, error) {
		if e.Headers["X-Snapkeep-Run"] == b.RunID {
			return "", errTransient
		}
		return "ses-ok", nil
	}
	batch := changes(a, b, cc)
	if failed := r.svc.Batch(context.Background(), batch); failed != 1 {
		t.Fatalf("Batch = %d, want 1 (the second record)", failed)
	}
	if n, ok := r.runs.get(b.Key()).Notices[snapkeep.ChannelEmail]; ok {
		t.Errorf("the failed send left notice %+v; want the claim released", n)
	}
	if _, ok := r.runs.get(cc.Key()).Notices[snapkeep.ChannelEmail]; ok {
		t.Errorf("the record after the failed one was handled; want it left for the retry")
	}
	r.mailer.SendFunc = nil
	if failed := r.svc.Batch(context.Background(), batch[1:]); failed != -1 {
		t.Fatalf("retry: Batch = %d", failed)
	}
	if got := len(r.mailer.to(c.Email)); got != 4 { // a, b (failed), b, cc
		t.Errorf("%d send attempts, want 4: the first record once, the failed one twice, the last once", got)
	}
}

// Permanent rejections are recorded and never retried; a rejected
// recipient blocks the channel on the customer; a refused sender fails
// the record without blaming the customer.
func TestBatchRejections(t *testing.T) {
	for _, tc := range []struct {
		name      string
		email     error
		slack     error
		failed    int
		emailErr  string
		slackErr  string
		blocked   string // email or slack
		sentAfter int    // emails sent for a second run in the same batch
	}{
		{name: "suppressed address", email: &snapkeep.RejectedError{Scope: snapkeep.RejectRecipient, Code: "Suppressed", Reason: "on the SES account's suppression list (BOUNCE)"},
			failed: -1, emailErr: "Suppressed", blocked: snapkeep.ChannelEmail, sentAfter: 1},
		{name: "message rejected", email: &snapkeep.RejectedError{Scope: snapkeep.RejectMessage, Code: "MessageRejected", Reason: "content"},
			failed: -1, emailErr: "MessageRejected", sentAfter: 2},
		{name: "sender refused", email: &snapkeep.RejectedError{Scope: snapkeep.RejectSender, Code: "SendingPausedException", Reason: "sending paused"},
			failed: 0, sentAfter: 1},
		{name: "slack channel gone", slack: &snapkeep.RejectedError{Scope: snapkeep.RejectRecipient, Code: "HTTP 404 channel_not_found", Reason: "gone"},
			failed: -1, slackErr: "channel_not_found", blocked: snapkeep.ChannelSlack, sentAfter: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			c := r.customer("acme", "", true)
			r.policy("web-1", "acme")
			a := r.run("web-1", "acme", slotAt, snapkeep.RunFailed, snapkeep.ClassProviderError, "")
			b := r.run("web-1", "acme", slotAt.Add(time.Hour), snapkeep.RunFailed, snapkeep.ClassProviderError, "")
			r.mailer.SendFunc = func(Email) (string, error) {
				if tc.email != nil {
					return "", tc.email
				}
				return "ses-1", nil
			}
			r.slack.PostFunc = func(string) error { return tc.slack }
			if failed := r.svc.Batch(context.Background(), changes(a, b)); failed != tc.failed {
				t.Fatalf("Batch = %d, want %d\n%s", failed, tc.failed, r.logs)
			}
			em, sl := r.notice(a, snapkeep.ChannelEmail), r.notice(a, snapkeep.ChannelSlack)
			if tc.emailErr != "" && (!strings.Contains(em.Error, tc.emailErr) || em.ID != "") {
				t.Errorf("email notice %+v, want the rejection %s recorded", em, tc.emailErr)
			}
			if tc.slackErr != "" && (!strings.Contains(sl.Error, tc.slackErr) || em.ID == "") {
				t.Errorf("notices %+v / %+v, want email sent and the Slack rejection recorded", em, sl)
			}
			if tc.failed == 0 && (em != snapkeep.Notice{}) {
				t.Errorf("refused sender left email notice %+v; want the claim released", em)
			}
			got := r.customers.byID["acme"]
			if (got.EmailBlocked != "") != (tc.blocked == snapkeep.ChannelEmail) || (got.SlackBlocked != "") != (tc.blocked == snapkeep.ChannelSlack) {
				t.Errorf("customer blocks email %q slack %q, want %q blocked", got.EmailBlocked, got.SlackBlocked, tc.blocked)
			}
			if n := len(r.mailer.to(c.Email)); n != tc.sentAfter {
				t.Errorf("%d send attempts, want %d", n, tc.sentAfter)
			}
			if tc.name == "sender refused" && !strings.Contains(r.logs.String(), `"level":"ERROR","msg":"the deployment cannot send`) {
				t.Errorf("a refused sender is not logged as an error:\n%s", r.logs)
			}
			// A replay sends nothing more.
			before := len(r.mailer.sent) + len(r.slack.posts)
			r.mailer.SendFunc, r.slack.PostFunc = nil, nil
			if tc.failed < 0 {
				r.svc.Batch(context.Background(), changes(a))
				if after := len(r.mailer.sent) + len(r.slack.posts); after != before {
					t.Errorf("replay sent %d more messages, want none", after-before)
				}
			}
		})
	}
}

// Bad input is logged and recorded on the run, and the batch goes on.
func TestBatchBadInput(t *testing.T) {
	r := newRig(t)
	good := r.customer("acme", "", false)
	noMail := r.customer("nomail", "", false)
	noMail.Email = ""
	r.policy("web-1", "acme")
	r.policy("db-1", "nomail")
	orphan := r.run("gone-1", "ghost", slotAt, snapkeep.RunFailed, snapkeep.ClassProviderError, "")
	mailless := r.run("db-1", "nomail", slotAt, snapkeep.RunFailed, snapkeep.ClassProviderError, "")
	weird := r.run("web-1", "acme", slotAt, snapkeep.RunFailed, "cosmic_rays", "")
	fine := r.run("web-1", "acme", slotAt.Add(time.Hour), snapkeep.RunFailed, snapkeep.ClassProviderError, "")
	poisonKey := snapkeep.NewRunKey("web-1", slotAt.Add(2*time.Hour))
	r.run("web-1", "acme", poisonKey.ScheduledAt, snapkeep.RunFailed, snapkeep.ClassProviderError, "")
	later := finishing(fine)
	later.Old = fine // a later write of a finished run: not told again
	batch := []Change{finishing(orphan), finishing(mailless),
		{ID: "ev-poison", Key: poisonKey, Status: snapkeep.RunFailed, Err: errors.New(`attribute "attempts": not a number`)},
		finishing(weird), finishing(fine), later}
	if failed := r.svc.Batch(context.Background(), batch); failed != -1 {
		t.Fatalf("Batch = %d, want -1: bad input never fails a record\n%s", failed, r.logs)
	}
	for _, tc := range []struct {
		key     snapkeep.RunKey
		wantErr string
		wantID  bool
	}{
		{orphan.Key(), `customer "ghost" does not exist`, false},
		{mailless.Key(), "no email address", false},
		{poisonKey, "could not be read", false},
		{weird.Key(), `unknown error class "cosmic_rays"`, true},
		{fine.Key(), "", true},
	} {
		n := r.runs.get(tc.key).Notices[snapkeep.ChannelEmail]
		if !strings.Contains(n.Error, tc.wantErr) || (n.ID != "") != tc.wantID || n.Kind != snapkeep.NoticeFailure {
			t.Errorf("run %s email notice %+v; want error %q, sent %v", tc.key, n, tc.wantErr, tc.wantID)
		}
	}
	if n := len(r.mailer.to(good.Email)); n != 2 {
		t.Errorf("%d emails to the good customer, want 2 (the unknown class told as internal, and the fine one)", n)
	}
	logs := r.logs.String()
	for _, want := range []string{`does not exist; recorded on the run, not retried`, `no email address; recorded, not retried`, `Runs stream record cannot be read; skipped`, `notice sent in fallback words`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

// A claim without an id is another delivery's: taken over once stale,
// waited for when it goes stale in time, else the record fails.
func TestBatchAbandonedClaim(t *testing.T) {
	for _, tc := range []struct {
		name     string
		age      time.Duration
		deadline time.Duration
		failed   int
		slept    bool
	}{
		{"stale claim taken over", 10 * time.Minute, time.Minute, -1, false},
		{"fresh claim waited for", 30 * time.Second, 10 * time.Minute, -1, true},
		{"fresh claim, no time to wait", 30 * time.Second, time.Minute, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			c := r.customer("acme", "", false)
			r.policy("web-1", "acme")
			a := r.run("web-1", "acme", slotAt, snapkeep.RunFailed, snapkeep.ClassProviderError, "")
			stored := r.runs.runs[a.Key()]
			stored.Notices = map[string]snapkeep.Notice{snapkeep.ChannelEmail: {Kind: snapkeep.NoticeFailure, At: r.clock.Now().Add(-tc.age)}}
			ctx, cancel := context.WithTimeout(context.Background(), tc.deadline)
			defer cancel()
			if failed := r.svc.Batch(ctx, changes(a)); failed != tc.failed {
				t.Fatalf("Batch = %d, want %d\n%s", failed, tc.failed, r.logs)
			}
			sent := len(r.mailer.to(c.Email))
			if (sent == 1) != (tc.failed < 0) || (len(r.sleeps) > 0) != tc.slept {
				t.Errorf("sent %d, slept %v; want sent %v, slept %v", sent, r.sleeps, tc.failed < 0, tc.slept)
			}
			if tc.slept && r.sleeps[0] != DefaultClaimTimeout-tc.age+time.Second {
				t.Errorf("waited %v, want until the claim is stale (%v)", r.sleeps[0], DefaultClaimTimeout-tc.age+time.Second)
			}
		})
	}
}

// every_failure, first_failure and none over a policy's sequence of runs,
// with the recovery's history read from the runs before it.
func TestBatchPreferences(t *testing.T) {
	seq := func(r *rig, policy, customer string) []*snapkeep.Run {
		return []*snapkeep.Run{
			r.run(policy, customer, slotAt, snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded),
			r.run(policy, customer, slotAt.Add(time.Hour), snapkeep.RunTimedOut, snapkeep.ClassTimedOut, snapkeep.RunFailed),
			r.run(policy, customer, slotAt.Add(2*time.Hour), snapkeep.RunSucceeded, "", snapkeep.RunTimedOut),
		}
	}
	for _, tc := range []struct {
		mode  snapkeep.NotificationMode
		kinds []snapkeep.NoticeKind
	}{
		{snapkeep.NotifyEveryFailure, []snapkeep.NoticeKind{snapkeep.NoticeFailure, snapkeep.NoticeFailure, snapkeep.NoticeRecovery}},
		{snapkeep.NotifyFirstFailure, []snapkeep.NoticeKind{snapkeep.NoticeFailure, snapkeep.NoticeSkipped, snapkeep.NoticeRecovery}},
		{snapkeep.NotifyNone, []snapkeep.NoticeKind{snapkeep.NoticeSkipped, snapkeep.NoticeSkipped, snapkeep.NoticeSkipped}},
		{snapkeep.NotifyDailyDigest, []snapkeep.NoticeKind{snapkeep.NoticeDigest, snapkeep.NoticeDigest, snapkeep.NoticeSkipped}},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			r := newRig(t)
			c := r.customer("acme", tc.mode, false)
			pol := r.policy("web-1", "acme")
			runs := seq(r, "web-1", "acme")
			if failed := r.svc.Batch(context.Background(), changes(runs...)); failed != -1 {
				t.Fatalf("Batch = %d\n%s", failed, r.logs)
			}
			sent := 0
			for i, run := range runs {
				n := r.notice(run, snapkeep.ChannelEmail)
				if n.Kind != tc.kinds[i] {
					t.Errorf("run %d notice %+v, want %s", i, n, tc.kinds[i])
				}
				if n.ID != "" && strings.HasPrefix(n.ID, "ses-") {
					sent++
				}
			}
			mails := r.mailer.to(c.Email)
			if len(mails) != sent {
				t.Errorf("%d emails, %d notices with a message id", len(mails), sent)
			}
			if tc.kinds[2] == snapkeep.NoticeRecovery {
				want, _ := r.svc.Notices.Recovery(notice.RecoveryInput{Run: runs[2], Policy: pol, Customer: c, Failures: 2, FirstFailure: slotAt, Now: r.clock.Now()})
				if last := mails[len(mails)-1]; last.Subject != want.Subject || last.Text != want.Text {
					t.Errorf("recovery email %q, want %q (two failures since %v)", last.Subject, want.Subject, slotAt)
				}
			}
		})
	}
}

// The tick input and its result are JSON-friendly.
func TestTickResultJSON(t *testing.T) {
	b, _ := json.Marshal(TickResult{Digests: 1, Resolved: 2, Waiting: 3, Failed: 4})
	if string(b) != `{"digests":1,"resolved":2,"waiting":3,"failed":4}` {
		t.Errorf("TickResult JSON = %s", b)
	}
}
