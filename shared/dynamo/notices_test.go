package dynamo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// failedRun is a run that ended failed, without notices.
func failedRun(policy string, slot time.Time) *snapkeep.Run {
	r := claimRun(policy, slot)
	fin := slot.Add(30 * time.Minute)
	r.Status, r.ErrorClass, r.FinishedAt = snapkeep.RunFailed, snapkeep.ClassProviderError, &fin
	r.LeaseUntil, r.NextCheckAt, r.Unfinished = nil, nil, ""
	return r
}

// Against moto: the first claim creates the notices map, the second
// channel's claim sets a path inside it, a settled notice is never taken
// over, an abandoned one is (only while it is the claim read), records
// and releases are conditional on the claim, and nothing else of the run
// changes.
func TestRunNoticeClaimRecordRelease(t *testing.T) {
	ctx := context.Background()
	rs, _ := newRunStore(t)
	run := failedRun("p1", runSlot)
	if err := rs.Claim(ctx, run); err != nil {
		t.Fatal(err)
	}
	key := run.Key()
	t0 := runSlot.Add(31 * time.Minute)
	always := func(snapkeep.Notice) bool { return true }

	email := snapkeep.Notice{Kind: snapkeep.NoticeFailure, At: t0}
	if got, ok, err := rs.ClaimNotice(ctx, key, snapkeep.ChannelEmail, email, nil); err != nil || !ok || !got.At.Equal(t0) {
		t.Fatalf("first claim (no notices map yet) = %+v, %v, %v; want claimed", got, ok, err)
	}
	if got, ok, err := rs.ClaimNotice(ctx, key, snapkeep.ChannelEmail, snapkeep.Notice{Kind: snapkeep.NoticeFailure, At: t0.Add(time.Minute)}, nil); err != nil || ok || !got.At.Equal(t0) {
		t.Fatalf("second claim of email = %+v, %v, %v; want the first claim back, not claimed", got, ok, err)
	}
	slack := snapkeep.Notice{Kind: snapkeep.NoticeFailure, At: t0.Add(time.Second)}
	if _, ok, err := rs.ClaimNotice(ctx, key, snapkeep.ChannelSlack, slack, nil); err != nil || !ok {
		t.Fatalf("claim of slack inside the existing map = %v, %v; want claimed", ok, err)
	}

	// Record email; a record against another claim time conflicts.
	sent := snapkeep.Notice{Kind: snapkeep.NoticeFailure, ID: "ses-1", At: t0.Add(2 * time.Second)}
	if err := rs.RecordNotice(ctx, key, snapkeep.ChannelEmail, t0.Add(time.Hour), sent); !errors.Is(err, snapkeep.ErrConflict) {
		t.Errorf("record against a claim never made: %v, want ErrConflict", err)
	}
	if err := rs.RecordNotice(ctx, key, snapkeep.ChannelEmail, t0, sent); err != nil {
		t.Fatal(err)
	}
	// A settled notice is never taken over, whatever takeover says.
	if got, ok, err := rs.ClaimNotice(ctx, key, snapkeep.ChannelEmail, snapkeep.Notice{Kind: snapkeep.NoticeFailure, At: t0.Add(time.Hour)}, always); err != nil || ok || got.ID != "ses-1" {
		t.Errorf("claim of a sent notice = %+v, %v, %v; want it back untouched", got, ok, err)
	}

	// The abandoned slack claim is taken over; the old claimer's record
	// then conflicts, the new one's works.
	t1 := t0.Add(10 * time.Minute)
	if got, ok, err := rs.ClaimNotice(ctx, key, snapkeep.ChannelSlack, snapkeep.Notice{Kind: snapkeep.NoticeFailure, At: t1}, always); err != nil || !ok || !got.At.Equal(t1) {
		t.Fatalf("takeover = %+v, %v, %v; want claimed at %v", got, ok, err, t1)
	}
	if err := rs.RecordNotice(ctx, key, snapkeep.ChannelSlack, slack.At, snapkeep.Notice{Kind: snapkeep.NoticeFailure, ID: "old"}); !errors.Is(err, snapkeep.ErrConflict) {
		t.Errorf("record by the claimer taken over: %v, want ErrConflict", err)
	}
	// Release: only the current claim, and then it can be claimed afresh.
	if err := rs.ReleaseNotice(ctx, key, snapkeep.ChannelSlack, slack.At); !errors.Is(err, snapkeep.ErrConflict) {
		t.Errorf("release of a claim taken over: %v, want ErrConflict", err)
	}
	if err := rs.ReleaseNotice(ctx, key, snapkeep.ChannelSlack, t1); err != nil {
		t.Fatal(err)
	}
	t2 := t1.Add(time.Minute)
	if _, ok, err := rs.ClaimNotice(ctx, key, snapkeep.ChannelSlack, snapkeep.Notice{Kind: snapkeep.NoticeFailure, At: t2}, nil); err != nil || !ok {
		t.Fatalf("claim after release = %v, %v; want claimed", ok, err)
	}
	if err := rs.ReleaseNotice(ctx, key, snapkeep.ChannelEmail, t0); !errors.Is(err, snapkeep.ErrConflict) {
		t.Errorf("release of a sent notice: %v, want ErrConflict (never released)", err)
	}

	got, err := rs.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	wantEmail := sent
	if n := got.Notices[snapkeep.ChannelEmail]; n.ID != wantEmail.ID || !n.At.Equal(wantEmail.At) || n.Kind != wantEmail.Kind {
		t.Errorf("stored email notice %+v, want %+v", n, wantEmail)
	}
	if n := got.Notices[snapkeep.ChannelSlack]; n.ID != "" || !n.At.Equal(t2) {
		t.Errorf("stored slack notice %+v, want the claim at %v", n, t2)
	}
	if !got.UpdatedAt.Equal(run.UpdatedAt) || got.Status != snapkeep.RunFailed || got.ErrorClass != snapkeep.ClassProviderError {
		t.Errorf("the run changed beyond its notices: %+v", got)
	}
}

func TestRunNoticeErrors(t *testing.T) {
	ctx := context.Background()
	rs, _ := newRunStore(t)
	n := snapkeep.Notice{Kind: snapkeep.NoticeFailure, At: runSlot}
	if _, _, err := rs.ClaimNotice(ctx, snapkeep.NewRunKey("nope", runSlot), snapkeep.ChannelEmail, n, nil); !errors.Is(err, snapkeep.ErrNotFound) {
		t.Errorf("claim on a missing run: %v, want ErrNotFound (a claim never creates a run)", err)
	}
	run := failedRun("p1", runSlot)
	if err := rs.Claim(ctx, run); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []string{"", "E-mail", "notices.x", "a b"} {
		if _, _, err := rs.ClaimNotice(ctx, run.Key(), ch, n, nil); !errors.Is(err, snapkeep.ErrInvalid) {
			t.Errorf("claim on channel %q: %v, want ErrInvalid", ch, err)
		}
	}
}

// Recent and NextAfter read the policy's own key, in the right order and
// bounds.
func TestRunNoticeRecentAndNext(t *testing.T) {
	ctx := context.Background()
	rs, _ := newRunStore(t)
	for i := range 5 {
		if err := rs.Claim(ctx, failedRun("p1", runSlot.Add(time.Duration(i)*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if err := rs.Claim(ctx, failedRun("p2", runSlot.Add(90*time.Minute))); err != nil {
		t.Fatal(err)
	}
	recent, err := rs.Recent(ctx, "p1", runSlot.Add(3*time.Hour), 2)
	if err != nil || len(recent) != 2 || !recent[0].ScheduledAt.Equal(runSlot.Add(2*time.Hour)) || !recent[1].ScheduledAt.Equal(runSlot.Add(time.Hour)) {
		t.Errorf("Recent = %v, %v; want the slots at +2h and +1h", slots(recent), err)
	}
	next, err := rs.NextAfter(ctx, "p1", runSlot.Add(time.Hour))
	if err != nil || next == nil || !next.ScheduledAt.Equal(runSlot.Add(2*time.Hour)) {
		t.Errorf("NextAfter(+1h) = %+v, %v; want the slot at +2h", next, err)
	}
	next, err = rs.NextAfter(ctx, "p1", runSlot.Add(90*time.Minute+500*time.Millisecond))
	if err != nil || next == nil || !next.ScheduledAt.Equal(runSlot.Add(2*time.Hour)) {
		t.Errorf("NextAfter(+1h30m0.5s) = %+v, %v; want the slot at +2h", next, err)
	}
	if next, err := rs.NextAfter(ctx, "p1", runSlot.Add(4*time.Hour)); err != nil || next != nil {
		t.Errorf("NextAfter(the last slot) = %+v, %v; want none", next, err)
	}
	if _, err := rs.Recent(ctx, "p1", runSlot, 0); !errors.Is(err, snapkeep.ErrInvalid) {
		t.Errorf("Recent with limit 0: %v, want ErrInvalid", err)
	}
}

func slots(runs []snapkeep.Run) []string {
	var out []string
	for _, r := range runs {
		out = append(out, r.Key().Slot())
	}
	return out
}

// Block sets only the channel's block and updated_at.
func TestCustomerBlock(t *testing.T) {
	ctx := context.Background()
	s, clk, _ := newCustomerStore(t)
	c := &snapkeep.Customer{CustomerID: "cust-1", Name: "Example", Email: "ops@example.com", SlackWebhookURL: "https://hooks.slack.com/services/T/B/X"}
	if err := s.Put(ctx, c); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	if err := s.Block(ctx, "cust-1", snapkeep.ChannelEmail, "on the SES account's suppression list (BOUNCE)"); err != nil {
		t.Fatal(err)
	}
	if err := s.Block(ctx, "cust-1", snapkeep.ChannelSlack, "HTTP 404 channel_not_found"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "cust-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.EmailBlocked != "on the SES account's suppression list (BOUNCE)" || got.SlackBlocked != "HTTP 404 channel_not_found" {
		t.Errorf("blocks = %q, %q", got.EmailBlocked, got.SlackBlocked)
	}
	if got.Email != c.Email || got.SlackWebhookURL != c.SlackWebhookURL || !got.CreatedAt.Equal(c.CreatedAt) || !got.UpdatedAt.Equal(clk.Now()) {
		t.Errorf("block changed more than the block: %+v", got)
	}
	for _, tc := range []struct {
		id, channel, reason string
		want                error
	}{
		{"nobody", snapkeep.ChannelEmail, "x", snapkeep.ErrNotFound},
		{"cust-1", "sms", "x", snapkeep.ErrInvalid},
		{"cust-1", snapkeep.ChannelEmail, " ", snapkeep.ErrInvalid},
	} {
		if err := s.Block(ctx, tc.id, tc.channel, tc.reason); !errors.Is(err, tc.want) {
			t.Errorf("Block(%q, %q, %q) = %v, want %v", tc.id, tc.channel, tc.reason, err, tc.want)
		}
	}
}
