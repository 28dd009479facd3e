package dynamo_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func newMailingStore(t *testing.T) (*dynamo.MailingStore, *fakeClock, *awstest.Env) {
	t.Helper()
	env := awstest.New(t)
	clk := newClock()
	return &dynamo.MailingStore{Client: env.DynamoDB, Table: env.TableName(dynamo.Mailings), Now: clk.Now}, clk, env
}

// Against moto: AddRun creates the mailing and is idempotent, stops at
// MaxRuns (counting the rest), refuses once the closing message is
// claimed; the pending index lists what is due; Done takes it out.
func TestMailingStore(t *testing.T) {
	ctx := context.Background()
	s, clk, _ := newMailingStore(t)
	opened := time.Date(2026, 3, 1, 6, 10, 0, 0, time.UTC)
	add := func(run string) dynamo.MailingRun {
		return dynamo.MailingRun{MailingID: "incident#inc-1", CustomerID: "cust-1", Kind: snapkeep.NoticeIncident, IncidentID: "inc-1",
			RunID: run, Pending: "resolved", DueAt: opened, ClosedBy: dynamo.MailingResolved, MaxRuns: 2, ExpiresAt: clk.Now().Add(60 * 24 * time.Hour)}
	}
	for _, run := range []string{"p1#2026-03-01T06:00:00Z", "p1#2026-03-01T06:00:00Z", "p2#2026-03-01T06:00:00Z"} {
		if added, err := s.AddRun(ctx, add(run)); err != nil || !added {
			t.Fatalf("AddRun(%s) = %v, %v; want added", run, added, err)
		}
	}
	if added, err := s.AddRun(ctx, add("p3#2026-03-01T06:00:00Z")); err != nil || added {
		t.Fatalf("AddRun beyond MaxRuns = %v, %v; want not added, no error", added, err)
	}
	m, err := s.Get(ctx, "incident#inc-1", "cust-1")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m.RunIDs)
	if !slices.Equal(m.RunIDs, []string{"p1#2026-03-01T06:00:00Z", "p2#2026-03-01T06:00:00Z"}) || m.Dropped != 1 ||
		m.Kind != snapkeep.NoticeIncident || m.IncidentID != "inc-1" || m.Pending != "resolved" || !m.DueAt.Equal(opened) ||
		!m.CreatedAt.Equal(clk.Now()) || m.ExpiresAt != clk.Now().Add(60*24*time.Hour).Unix() {
		t.Errorf("mailing = %+v", m)
	}

	// The first message (the incident notice) does not close it; the
	// resolved notice's claim does.
	n := snapkeep.Notice{Kind: snapkeep.NoticeIncident, At: clk.Now()}
	if _, ok, err := s.ClaimNotice(ctx, "incident#inc-1", "cust-1", dynamo.MailingNotices, snapkeep.ChannelEmail, n, nil); err != nil || !ok {
		t.Fatalf("claim incident notice = %v, %v", ok, err)
	}
	if err := s.RecordNotice(ctx, "incident#inc-1", "cust-1", dynamo.MailingNotices, snapkeep.ChannelEmail, n.At, snapkeep.Notice{Kind: snapkeep.NoticeIncident, ID: "ses-1", At: n.At}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddRun(ctx, add("p1#2026-03-01T07:00:00Z")); err != nil {
		t.Fatalf("AddRun after the incident notice: %v; want still open", err)
	}
	r := snapkeep.Notice{Kind: snapkeep.NoticeResolved, At: clk.Now()}
	if _, ok, err := s.ClaimNotice(ctx, "incident#inc-1", "cust-1", dynamo.MailingResolved, snapkeep.ChannelEmail, r, nil); err != nil || !ok {
		t.Fatalf("claim resolved notice = %v, %v", ok, err)
	}
	if _, err := s.AddRun(ctx, add("p4#2026-03-01T08:00:00Z")); !errors.Is(err, snapkeep.ErrConflict) {
		t.Errorf("AddRun after the resolved notice's claim: %v, want ErrConflict", err)
	}
	if _, _, err := s.ClaimNotice(ctx, "incident#inc-1", "cust-1", "other", snapkeep.ChannelEmail, r, nil); !errors.Is(err, snapkeep.ErrInvalid) {
		t.Errorf("claim on an unknown map: %v, want ErrInvalid", err)
	}
	if _, _, err := s.ClaimNotice(ctx, "incident#nope", "cust-1", dynamo.MailingNotices, snapkeep.ChannelEmail, n, nil); !errors.Is(err, snapkeep.ErrNotFound) {
		t.Errorf("claim on a missing mailing: %v, want ErrNotFound", err)
	}
	m, _ = s.Get(ctx, "incident#inc-1", "cust-1")
	if m.Notices[snapkeep.ChannelEmail].ID != "ses-1" || m.Resolved[snapkeep.ChannelEmail].Kind != snapkeep.NoticeResolved {
		t.Errorf("notice maps = %+v / %+v", m.Notices, m.Resolved)
	}
}

func TestMailingPendingIndex(t *testing.T) {
	ctx := context.Background()
	s, clk, _ := newMailingStore(t)
	day := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	for i, c := range []string{"cust-a", "cust-b"} {
		due := day.Add(time.Duration(i) * 24 * time.Hour)
		if _, err := s.AddRun(ctx, dynamo.MailingRun{MailingID: "digest#" + due.Format("2006-01-02"), CustomerID: c, Kind: snapkeep.NoticeDigest,
			RunID: "p#2026-03-01T03:00:00Z", Pending: "digest", DueAt: due.Add(123 * time.Millisecond), ClosedBy: dynamo.MailingNotices, MaxRuns: 10,
			ExpiresAt: clk.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	// A mailing without Pending is not in the index.
	if _, err := s.AddRun(ctx, dynamo.MailingRun{MailingID: "other", CustomerID: "cust-a", Kind: snapkeep.NoticeDigest, RunID: "x#2026-03-01T03:00:00Z",
		ClosedBy: dynamo.MailingNotices, MaxRuns: 10}); err != nil {
		t.Fatal(err)
	}
	ids := func(ms []dynamo.Mailing) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.MailingID+"/"+m.CustomerID)
		}
		return out
	}
	due, err := s.Pending(ctx, "digest", day, 10)
	if err != nil || !slices.Equal(ids(due), []string{"digest#2026-03-02/cust-a"}) {
		t.Errorf("Pending(by 08:00) = %v, %v; want the first digest only (due_at in whole seconds)", ids(due), err)
	}
	due, err = s.Pending(ctx, "digest", day.Add(48*time.Hour), 10)
	if err != nil || len(due) != 2 {
		t.Errorf("Pending(two days later) = %v, %v; want both", ids(due), err)
	}
	if err := s.Done(ctx, "digest#2026-03-02", "cust-a"); err != nil {
		t.Fatal(err)
	}
	due, err = s.Pending(ctx, "digest", day.Add(48*time.Hour), 10)
	if err != nil || !slices.Equal(ids(due), []string{"digest#2026-03-03/cust-b"}) {
		t.Errorf("Pending after Done = %v, %v; want the second only", ids(due), err)
	}
	if due, err := s.Pending(ctx, "resolved", day.Add(48*time.Hour), 10); err != nil || len(due) != 0 {
		t.Errorf("Pending(resolved) = %v, %v; want none", ids(due), err)
	}
	if err := s.Done(ctx, "digest#nope", "cust-a"); !errors.Is(err, snapkeep.ErrNotFound) {
		t.Errorf("Done of a missing mailing: %v, want ErrNotFound", err)
	}
}
