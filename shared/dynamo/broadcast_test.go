package dynamo_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/mailing"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

const testBroadcast = "broadcast#incident#provider_error#region:nyc3#2026-03-01T06:10Z"

// broadcastEntry is cust's item of testBroadcast, kept for a day.
func broadcastEntry(cust string, now time.Time) mailing.Entry {
	return mailing.Entry{MailingID: testBroadcast, CustomerID: cust, IncidentID: "provider_error#region:nyc3#2026-03-01T06:10Z",
		RunIDs: []string{"p1#2026-03-01T06:00:00Z", "p2#2026-03-01T06:00:00Z", "p1#2026-03-01T06:00:00Z"}, ExpiresAt: now.Add(24 * time.Hour)}
}

// TestBroadcastClaimRecordRelease: against moto, the first claim creates
// the customer's item (kind broadcast, the incident, the runs once each,
// the TTL; never in the pending index); a second claim is refused with
// the claim there; the record replaces the claim with the message id,
// after which no claim succeeds (not even one that would take over); a
// released claim leaves the item and is claimed afresh.
func TestBroadcastClaimRecordRelease(t *testing.T) {
	ctx := context.Background()
	s, clk, _ := newMailingStore(t)
	claimedAt := clk.Now()
	claim := snapkeep.Notice{Kind: snapkeep.NoticeBroadcast, At: claimedAt}
	got, ok, err := s.ClaimBroadcast(ctx, broadcastEntry("cust-1", clk.Now()), claim, nil)
	if err != nil || !ok || !got.At.Equal(claimedAt) {
		t.Fatalf("first claim = %+v, %v, %v; want the claim, true", got, ok, err)
	}
	m, err := s.Get(ctx, testBroadcast, "cust-1")
	if err != nil {
		t.Fatal(err)
	}
	runs := slices.Sorted(slices.Values(m.RunIDs))
	if m.Kind != snapkeep.NoticeBroadcast || m.IncidentID != "provider_error#region:nyc3#2026-03-01T06:10Z" ||
		!slices.Equal(runs, []string{"p1#2026-03-01T06:00:00Z", "p2#2026-03-01T06:00:00Z"}) ||
		m.Pending != "" || !m.CreatedAt.Equal(clk.Now()) || m.ExpiresAt != clk.Now().Add(24*time.Hour).Unix() ||
		m.Notices[snapkeep.ChannelEmail].ID != "" || !m.Notices[snapkeep.ChannelEmail].At.Equal(claimedAt) {
		t.Errorf("item after the first claim = %+v", m)
	}

	clk.Advance(time.Second)
	again := snapkeep.Notice{Kind: snapkeep.NoticeBroadcast, At: clk.Now()}
	got, ok, err = s.ClaimBroadcast(ctx, broadcastEntry("cust-1", clk.Now()), again, nil)
	if err != nil || ok || !got.At.Equal(claimedAt) || got.ID != "" {
		t.Errorf("second claim = %+v, %v, %v; want the first claim back, false", got, ok, err)
	}

	sent := snapkeep.Notice{Kind: snapkeep.NoticeBroadcast, ID: "ses-1", At: clk.Now()}
	if err := s.RecordBroadcast(ctx, testBroadcast, "cust-1", claimedAt, sent); err != nil {
		t.Fatal(err)
	}
	takeAll := func(snapkeep.Notice) bool { return true }
	got, ok, err = s.ClaimBroadcast(ctx, broadcastEntry("cust-1", clk.Now()), again, takeAll)
	if err != nil || ok || got.ID != "ses-1" {
		t.Errorf("claim after the record = %+v, %v, %v; want the sent notice, false (a sent message is never taken over)", got, ok, err)
	}
	if err := s.ReleaseBroadcast(ctx, testBroadcast, "cust-1", claimedAt); !errors.Is(err, snapkeep.ErrConflict) {
		t.Errorf("release of a sent message: %v, want ErrConflict", err)
	}

	// Release: the claim goes, the item stays, the next run claims afresh.
	second := clk.Now()
	if _, ok, err := s.ClaimBroadcast(ctx, broadcastEntry("cust-2", clk.Now()), snapkeep.Notice{Kind: snapkeep.NoticeBroadcast, At: second}, nil); err != nil || !ok {
		t.Fatalf("claim cust-2 = %v, %v", ok, err)
	}
	if err := s.ReleaseBroadcast(ctx, testBroadcast, "cust-2", second); err != nil {
		t.Fatal(err)
	}
	if m, err := s.Get(ctx, testBroadcast, "cust-2"); err != nil || len(m.Notices) != 0 || m.Kind != snapkeep.NoticeBroadcast {
		t.Errorf("item after the release = %+v, %v; want it kept without its claim", m, err)
	}
	clk.Advance(time.Minute)
	third := snapkeep.Notice{Kind: snapkeep.NoticeBroadcast, At: clk.Now()}
	if got, ok, err := s.ClaimBroadcast(ctx, broadcastEntry("cust-2", clk.Now()), third, nil); err != nil || !ok || !got.At.Equal(third.At) {
		t.Errorf("claim after the release = %+v, %v, %v; want a fresh claim", got, ok, err)
	}

	notices, err := s.BroadcastNotices(ctx, testBroadcast)
	if err != nil || len(notices) != 2 || notices["cust-1"].ID != "ses-1" || !notices["cust-2"].At.Equal(third.At) || notices["cust-2"].ID != "" {
		t.Errorf("BroadcastNotices = %+v, %v", notices, err)
	}
}

// TestBroadcastTakeover: a stale claim (its run died inside the SES call)
// is taken over when takeover says so, and the dead run's late record
// is then refused; a fresh claim is left to its run.
func TestBroadcastTakeover(t *testing.T) {
	ctx := context.Background()
	s, clk, _ := newMailingStore(t)
	stale := clk.Now().Add(-10 * time.Minute)
	if _, ok, err := s.ClaimBroadcast(ctx, broadcastEntry("cust-1", clk.Now()), snapkeep.Notice{Kind: snapkeep.NoticeBroadcast, At: stale}, nil); err != nil || !ok {
		t.Fatalf("stale claim = %v, %v", ok, err)
	}
	olderThan := func(age time.Duration) func(snapkeep.Notice) bool {
		return func(n snapkeep.Notice) bool { return clk.Now().Sub(n.At) >= age }
	}
	mine := snapkeep.Notice{Kind: snapkeep.NoticeBroadcast, At: clk.Now()}
	if got, ok, err := s.ClaimBroadcast(ctx, broadcastEntry("cust-1", clk.Now()), mine, olderThan(time.Hour)); err != nil || ok || !got.At.Equal(stale) {
		t.Errorf("claim with a takeover that finds it fresh = %+v, %v, %v; want the stale claim back, false", got, ok, err)
	}
	got, ok, err := s.ClaimBroadcast(ctx, broadcastEntry("cust-1", clk.Now()), mine, olderThan(5*time.Minute))
	if err != nil || !ok || !got.At.Equal(mine.At) {
		t.Fatalf("takeover = %+v, %v, %v; want my claim, true", got, ok, err)
	}
	late := snapkeep.Notice{Kind: snapkeep.NoticeBroadcast, ID: "ses-dead", At: clk.Now()}
	if err := s.RecordBroadcast(ctx, testBroadcast, "cust-1", stale, late); !errors.Is(err, snapkeep.ErrConflict) {
		t.Errorf("the dead run's record after the takeover: %v, want ErrConflict", err)
	}
	if err := s.RecordBroadcast(ctx, testBroadcast, "cust-1", mine.At, snapkeep.Notice{Kind: snapkeep.NoticeBroadcast, ID: "ses-2", At: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.BroadcastNotices(ctx, testBroadcast); err != nil || n["cust-1"].ID != "ses-2" {
		t.Errorf("BroadcastNotices = %+v, %v; want the taker's message", n, err)
	}
}

// TestBroadcastNoticesPagesAndSkips: the sent log of one broadcast is
// read page by page (one item a page here), leaves out other broadcasts'
// items and items without an email notice, and skips (and logs) an item
// it cannot read.
func TestBroadcastNoticesPagesAndSkips(t *testing.T) {
	ctx := context.Background()
	s, clk, env := newMailingStore(t)
	for _, c := range []string{"cust-1", "cust-2", "cust-3"} {
		if _, ok, err := s.ClaimBroadcast(ctx, broadcastEntry(c, clk.Now()), snapkeep.Notice{Kind: snapkeep.NoticeBroadcast, At: clk.Now()}, nil); err != nil || !ok {
			t.Fatalf("claim %s = %v, %v", c, ok, err)
		}
	}
	if err := s.ReleaseBroadcast(ctx, testBroadcast, "cust-3", clk.Now()); err != nil {
		t.Fatal(err)
	}
	other := broadcastEntry("cust-1", clk.Now())
	other.MailingID = "broadcast#class#provider_error#2026-03-01T00Z#2026-03-01T12Z"
	if _, _, err := s.ClaimBroadcast(ctx, other, snapkeep.Notice{Kind: snapkeep.NoticeBroadcast, At: clk.Now()}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := env.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: map[string]types.AttributeValue{
		"mailing_id":  &types.AttributeValueMemberS{Value: testBroadcast},
		"customer_id": &types.AttributeValueMemberS{Value: "cust-bad"},
		"notices":     &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"email": &types.AttributeValueMemberS{Value: "not a notice"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	paged := &dynamo.MailingStore{Client: smallPages{env.DynamoDB}, Table: s.Table, Now: clk.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	notices, err := paged.BroadcastNotices(ctx, testBroadcast)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(notices)); !slices.Equal(got, []string{"cust-1", "cust-2"}) {
		t.Errorf("BroadcastNotices by customer = %v, want cust-1 and cust-2 (cust-3 released, cust-bad unreadable)", got)
	}
	if !strings.Contains(logs.String(), "skipped a broadcast item that is not readable") || !strings.Contains(logs.String(), "cust-bad") {
		t.Errorf("the unreadable item is not logged:\n%s", logs.String())
	}
	if n, err := s.BroadcastNotices(ctx, "broadcast#none"); err != nil || len(n) != 0 {
		t.Errorf("BroadcastNotices of an unknown broadcast = %v, %v; want none", n, err)
	}
}

func TestBroadcastClaimNeedsAKey(t *testing.T) {
	s, clk, _ := newMailingStore(t)
	for _, e := range []mailing.Entry{{CustomerID: "cust-1"}, {MailingID: testBroadcast}} {
		e.ExpiresAt = clk.Now()
		if _, _, err := s.ClaimBroadcast(context.Background(), e, snapkeep.Notice{Kind: snapkeep.NoticeBroadcast, At: clk.Now()}, nil); !errors.Is(err, snapkeep.ErrInvalid) {
			t.Errorf("claim of %+v: %v, want ErrInvalid", e, err)
		}
	}
}
