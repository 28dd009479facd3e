package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/snapkeep/snapkeep/shared/notify"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// fakeSES is the SES v2 port (email.Client) as function fields, for what
// moto cannot do: a suppression list, refusals. It counts the calls.
type fakeSES struct {
	mu                           sync.Mutex
	sends, checks                int
	SendEmailFunc                func(*sesv2.SendEmailInput) (*sesv2.SendEmailOutput, error)
	GetSuppressedDestinationFunc func(*sesv2.GetSuppressedDestinationInput) (*sesv2.GetSuppressedDestinationOutput, error)
}

func (f *fakeSES) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sends++
	if f.SendEmailFunc != nil {
		return f.SendEmailFunc(in)
	}
	return &sesv2.SendEmailOutput{MessageId: aws.String(fmt.Sprintf("fake-%d", f.sends))}, nil
}

func (f *fakeSES) GetSuppressedDestination(_ context.Context, in *sesv2.GetSuppressedDestinationInput, _ ...func(*sesv2.Options)) (*sesv2.GetSuppressedDestinationOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks++
	if f.GetSuppressedDestinationFunc != nil {
		return f.GetSuppressedDestinationFunc(in)
	}
	return nil, &sestypes.NotFoundException{Message: aws.String("not suppressed")}
}

func (f *fakeSES) counts() (sends, checks int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sends, f.checks
}

// A suppressed address (SES's account suppression list, through a fake
// of the SES port: moto has none) is recorded on the run and on the
// customer, the record does not fail, and nothing is retried: not on a
// replay, not for the customer's next failure.
func TestSuppressedAddressRecordedNotRetried(t *testing.T) {
	ses := &fakeSES{}
	s := newStack(t, stackOptions{ses: ses})
	acme := s.customer("acme", "", "")
	web := s.policy("web-1", "acme", "nyc3")
	ses.GetSuppressedDestinationFunc = func(in *sesv2.GetSuppressedDestinationInput) (*sesv2.GetSuppressedDestinationOutput, error) {
		if aws.ToString(in.EmailAddress) != acme.Email {
			return nil, &sestypes.NotFoundException{}
		}
		at := time.Date(2026, 10, 2, 9, 0, 0, 0, time.UTC)
		return &sesv2.GetSuppressedDestinationOutput{SuppressedDestination: &sestypes.SuppressedDestination{
			EmailAddress: in.EmailAddress, Reason: sestypes.SuppressionListReasonBounce, LastUpdateTime: &at}}, nil
	}
	a := s.finish(web, slot, snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded)
	if stats := s.flush(); stats.FailedInvocations != 0 || stats.Delivered != 1 {
		t.Fatalf("stats %+v: a suppressed address must not fail the record\n%s", stats, s.logs)
	}
	n := s.stored(a).Notices[snapkeep.ChannelEmail]
	if n.ID != "" || !strings.Contains(n.Error, "suppression list") || !strings.Contains(n.Error, "BOUNCE") {
		t.Errorf("run's email notice %+v, want the suppression recorded", n)
	}
	c, err := s.customers.Get(s.ctx, "acme")
	if err != nil || !strings.Contains(c.EmailBlocked, "suppression list") {
		t.Errorf("customer EmailBlocked %q (%v), want the suppression", c.EmailBlocked, err)
	}
	sends, checks := ses.counts()
	if sends != 0 || checks != 1 {
		t.Fatalf("SES calls: %d sends, %d suppression checks; want 0 and 1", sends, checks)
	}

	if err := s.deliverer.Replay(""); err != nil {
		t.Fatal(err)
	}
	s.flush()
	b := s.finish(web, slot.Add(time.Hour), snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunFailed)
	s.flush()
	if sends2, checks2 := ses.counts(); sends2 != 0 || checks2 != 1 {
		t.Errorf("after a replay and another failure: %d sends, %d checks; want no more SES calls", sends2, checks2)
	}
	if n := s.stored(b).Notices[snapkeep.ChannelEmail]; !strings.Contains(n.Error, "blocked") {
		t.Errorf("next failure's notice %+v, want not sent: blocked", n)
	}
}

// SES refusing the sender (here: the sandbox's unverified identity) is
// the deployment's fault: the record fails, is retried and dead-lettered,
// the claim is released and the customer is not blocked; once SES takes
// mail again, a replay sends the message once.
func TestSenderRefusedIsRetriedNotBlamed(t *testing.T) {
	ses := &fakeSES{}
	refuse := true
	ses.SendEmailFunc = func(*sesv2.SendEmailInput) (*sesv2.SendEmailOutput, error) {
		if refuse {
			return nil, &smithy.GenericAPIError{Code: "MessageRejected", Message: "Email address is not verified. The following identities failed the check in region US-EAST-1: backups@snapkeep.example"}
		}
		return &sesv2.SendEmailOutput{MessageId: aws.String("ses-after-fix")}, nil
	}
	s := newStack(t, stackOptions{ses: ses})
	s.customer("acme", "", "")
	web := s.policy("web-1", "acme", "nyc3")
	a := s.finish(web, slot, snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded)
	stats := s.flush()
	src := s.deliverer.Source()
	if stats.FailedInvocations != src.MaximumRetryAttempts+1 || stats.OnFailureSent != 1 || stats.Delivered != 0 {
		t.Fatalf("stats %+v; want %d failed attempts, then the record on the failure queue", stats, src.MaximumRetryAttempts+1)
	}
	if n, ok := s.stored(a).Notices[snapkeep.ChannelEmail]; ok {
		t.Errorf("run's email notice %+v after a refused sender; want the claim released", n)
	}
	if c, _ := s.customers.Get(s.ctx, "acme"); c.EmailBlocked != "" {
		t.Errorf("customer blocked (%q) for the deployment's fault", c.EmailBlocked)
	}
	if !strings.Contains(s.logs.String(), `"level":"ERROR","msg":"the deployment cannot send`) {
		t.Errorf("no error line for the refused sender:\n%s", s.logs)
	}
	refuse = false
	if err := s.deliverer.Replay(""); err != nil {
		t.Fatal(err)
	}
	s.flush()
	if n := s.stored(a).Notices[snapkeep.ChannelEmail]; n.ID != "ses-after-fix" {
		t.Errorf("after the fix: notice %+v, want sent", n)
	}
	if err := s.deliverer.Replay(""); err != nil {
		t.Fatal(err)
	}
	s.flush()
	if sends, _ := ses.counts(); sends != src.MaximumRetryAttempts+2 {
		t.Errorf("%d SendEmail calls, want %d refused and one that went through", sends, src.MaximumRetryAttempts+1)
	}
}

// A Slack webhook that answers 404 channel_not_found blocks Slack for the
// customer (recorded on the run too); email still goes out.
func TestSlackGoneBlocksSlackOnly(t *testing.T) {
	s := newStack(t, stackOptions{})
	acme := s.customer("acme", "", "gone")
	web := s.policy("web-1", "acme", "nyc3")
	a := s.finish(web, slot, snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded)
	b := s.finish(web, slot.Add(time.Hour), snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunFailed)
	if stats := s.flush(); stats.FailedInvocations != 0 {
		t.Fatalf("stats %+v\n%s", stats, s.logs)
	}
	if n := s.stored(a).Notices[snapkeep.ChannelSlack]; !strings.Contains(n.Error, "channel_not_found") || n.ID != "" {
		t.Errorf("Slack notice %+v, want the 404 recorded", n)
	}
	if n := s.stored(b).Notices[snapkeep.ChannelSlack]; !strings.Contains(n.Error, "blocked") {
		t.Errorf("second run's Slack notice %+v, want not sent: blocked", n)
	}
	if got := len(s.hook.to("gone")); got != 1 {
		t.Errorf("%d posts to the gone webhook, want 1", got)
	}
	if c, _ := s.customers.Get(s.ctx, "acme"); !strings.Contains(c.SlackBlocked, "channel_not_found") || c.EmailBlocked != "" {
		t.Errorf("customer blocks: slack %q, email %q", c.SlackBlocked, c.EmailBlocked)
	}
	if got := len(s.mails(acme.Email)); got != 2 {
		t.Errorf("%d emails, want 2", got)
	}
	if strings.Contains(s.logs.String(), acme.SlackWebhookURL) || strings.Contains(s.stored(a).Notices[snapkeep.ChannelSlack].Error, "T0SNAP") {
		t.Errorf("the webhook URL leaked into a log line or a notice")
	}
}

// Bad input is logged clearly and recorded on the run, and the batch goes
// on: a run of an unknown customer, a customer without an email address,
// an unknown error class (told in internal wording), next to a good run.
func TestBadInputLoggedRecordedBatchContinues(t *testing.T) {
	s := newStack(t, stackOptions{})
	acme := s.customer("acme", "", "")
	mute := s.customer("mute", "", "")
	mute.Email = ""
	if err := s.customers.Put(s.ctx, mute); err != nil {
		t.Fatal(err)
	}
	orphan := s.finish(s.policy("orphan-1", "ghost", "nyc3"), slot, snapkeep.RunFailed, snapkeep.ClassProviderError, "")
	mailless := s.finish(s.policy("mute-1", "mute", "nyc3"), slot, snapkeep.RunFailed, snapkeep.ClassProviderError, "")
	web := s.policy("web-1", "acme", "nyc3")
	weird := s.finish(web, slot, snapkeep.RunFailed, "cosmic_rays", snapkeep.RunSucceeded)
	good := s.finish(web, slot.Add(time.Hour), snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunFailed)
	if stats := s.flush(); stats.FailedInvocations != 0 || stats.Delivered != 4 {
		t.Fatalf("stats %+v; want the four records handled, none failed\n%s", stats, s.logs)
	}
	for _, tc := range []struct {
		run     *snapkeep.Run
		err     string
		sent    bool
		logLine string
	}{
		{orphan, `customer "ghost" does not exist`, false, `"msg":"cannot tell the customer about the run: the run's customer \"ghost\" does not exist; recorded on the run, not retried"`},
		{mailless, "the customer has no email address", false, `"msg":"notice not sent: the customer has no email address; recorded, not retried"`},
		{weird, `unknown error class \"cosmic_rays\", told as internal`, true, `"msg":"notice sent in fallback words"`},
		{good, "", true, ""},
	} {
		n := s.stored(tc.run).Notices[snapkeep.ChannelEmail]
		if !strings.Contains(n.Error, strings.ReplaceAll(tc.err, `\"`, `"`)) || (n.ID != "") != tc.sent {
			t.Errorf("run %s: notice %+v; want error %q, sent %v", tc.run.RunID, n, tc.err, tc.sent)
		}
		if tc.logLine != "" && !strings.Contains(s.logs.String(), tc.logLine) {
			t.Errorf("no log line %s", tc.logLine)
		}
	}
	mails := s.mails(acme.Email)
	if len(mails) != 2 {
		t.Fatalf("%d emails to acme, want 2", len(mails))
	}
	internal := s.renderFailure(s.stored(weird), web, acme, nil)
	if !sameBody(mails[0].Text, internal.Text) || len(internal.Warnings) == 0 {
		t.Errorf("the unknown class's email is not the internal wording")
	}
}

// A delivery that crashed between claim and send left a claim without a
// message id: the next delivery takes it over once it is older than the
// claim timeout (conditional on its at), and the message goes out once.
func TestCrashedClaimTakenOver(t *testing.T) {
	s := newStack(t, stackOptions{})
	acme := s.customer("acme", "", "")
	web := s.policy("web-1", "acme", "nyc3")
	a := s.finish(web, slot, snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded)
	crashed := s.clock.Now().Add(-notify.DefaultClaimTimeout - time.Minute)
	if _, ok, err := s.runs.ClaimNotice(s.ctx, a.Key(), snapkeep.ChannelEmail, snapkeep.Notice{Kind: snapkeep.NoticeFailure, At: crashed}, nil); err != nil || !ok {
		t.Fatalf("claim: %v, %v", ok, err)
	}
	if stats := s.flush(); stats.FailedInvocations != 0 {
		t.Fatalf("stats %+v\n%s", stats, s.logs)
	}
	mails := s.mails(acme.Email)
	if n := s.stored(a).Notices[snapkeep.ChannelEmail]; len(mails) != 1 || n.ID != mails[0].MessageID {
		t.Errorf("%d emails, notice %+v; want the abandoned claim taken over and the message sent once", len(mails), n)
	}
}

// SES throttling that outlasts shared/email's own backoff fails the
// record and releases the claim; Lambda's retry (the Deliverer's) sends
// the message once SES takes it.
func TestThrottlingRetriedThenSentOnce(t *testing.T) {
	ses := &fakeSES{}
	ses.SendEmailFunc = func(*sesv2.SendEmailInput) (*sesv2.SendEmailOutput, error) {
		if ses.sends <= 6 {
			return nil, &sestypes.TooManyRequestsException{Message: aws.String("Maximum sending rate exceeded.")}
		}
		return &sesv2.SendEmailOutput{MessageId: aws.String("ses-at-last")}, nil
	}
	s := newStack(t, stackOptions{ses: ses})
	s.customer("acme", "", "")
	web := s.policy("web-1", "acme", "nyc3")
	a := s.finish(web, slot, snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded)
	stats := s.flush()
	if stats.FailedInvocations == 0 || stats.Delivered != 1 || stats.OnFailureSent != 0 {
		t.Fatalf("stats %+v; want failed invocations, then the record delivered", stats)
	}
	if n := s.stored(a).Notices[snapkeep.ChannelEmail]; n.ID != "ses-at-last" {
		t.Errorf("notice %+v, want sent", n)
	}
	if sends, _ := ses.counts(); sends != 7 {
		t.Errorf("%d SendEmail calls, want 6 throttled and 1 accepted", sends)
	}
}
