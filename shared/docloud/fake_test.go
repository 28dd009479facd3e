package docloud_test

// Tests of clock skew, burst pacing, malformed tokens and the account
// check against the fake DigitalOcean API.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/docloud"
	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// TestClockSkewFromTheFake: a DigitalOcean whose clock is 5 minutes off
// ours is measured within a second, either way; so are the action
// started_at times the service compares with ours.
func TestClockSkewFromTheFake(t *testing.T) {
	for _, skew := range []time.Duration{5 * time.Minute, -5 * time.Minute, 0} {
		t.Run(skew.String(), func(t *testing.T) {
			ours := dotest.NewClock(fakeStart.Add(123 * time.Millisecond))
			token := dotest.NewToken()
			srv := dotest.NewServer(dotest.WithToken(token), dotest.WithClock(func() time.Time { return ours.Now().Add(skew) }))
			t.Cleanup(srv.Close)
			if err := srv.AddDroplet(dotest.Droplet{ID: 100, Disk: 2}); err != nil {
				t.Fatal(err)
			}
			c := docloud.New(token, docloud.WithBaseURL(srv.URL), docloud.WithClock(ours.Now))
			if _, known := c.ClockSkew(); known {
				t.Error("skew known before any response")
			}
			for range 3 {
				if _, err := c.GetDroplet(context.Background(), 100); err != nil {
					t.Fatal(err)
				}
				ours.Advance(700 * time.Millisecond)
			}
			got, known := c.ClockSkew()
			if !known || (got-skew).Abs() > time.Second {
				t.Errorf("ClockSkew = %s (known %v), want %s within 1s", got, known, skew)
			}
			asked := ours.Now()
			a, err := c.SnapshotDroplet(context.Background(), 100, "n")
			if err != nil {
				t.Fatal(err)
			}
			// started_at is DigitalOcean's clock (to the second): ours plus the skew.
			if d := a.StartedAt.Sub(asked.Add(got)); d.Abs() > time.Second {
				t.Errorf("started_at %s is %s from our clock plus the skew", a.StartedAt, d)
			}
		})
	}
}

// TestBurst429PacesUntilRetryAfter: DigitalOcean's burst 429 says
// ratelimit-remaining 0 with a reset an hour ahead; the client waits for
// retry-after (a minute at most), not the hourly reset.
func TestBurst429PacesUntilRetryAfter(t *testing.T) {
	e := newFake(t, []dotest.Option{dotest.WithRateLimits(dotest.DefaultPerHour, 3)})
	ctx := context.Background()
	for range 3 {
		if _, err := e.client.GetDroplet(ctx, 100); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(20 * time.Second)
	_, err := e.client.GetDroplet(ctx, 100)
	got := docloud.Classify(err)
	if got == nil || got.Class != snapkeep.ClassRateLimited || got.RetryAfter != 40*time.Second {
		t.Fatalf("4th request in a minute: %v, want rate_limited, retry after 40s", err)
	}
	if r := e.client.Rate(); r.Remaining != 0 || r.Reset.Time.Sub(e.clock.Now()) < 30*time.Minute {
		t.Fatalf("burst 429 rate %+v: want remaining 0 and a reset far ahead, as DigitalOcean sends", r)
	}
	if d := e.client.PaceDelay(e.clock.Now()); d != 40*time.Second {
		t.Errorf("PaceDelay after a burst 429 = %s, want 40s (retry-after, not the hourly reset)", d)
	}
	e.clock.Advance(40 * time.Second)
	if d := e.client.PaceDelay(e.clock.Now()); d != 0 {
		t.Errorf("PaceDelay once retry-after passed = %s, want 0", d)
	}
	if _, err := e.client.GetDroplet(ctx, 100); err != nil {
		t.Errorf("after retry-after: %v", err)
	}
}

// TestSpentHourPacesUntilReset: a 429 of the spent hourly budget has no
// retry-after; then the reset is the wait.
func TestSpentHourPacesUntilReset(t *testing.T) {
	e := newFake(t, []dotest.Option{dotest.WithRateLimits(3, 0)})
	ctx := context.Background()
	for range 3 {
		if _, err := e.client.GetDroplet(ctx, 100); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(10 * time.Minute)
	}
	_, err := e.client.GetDroplet(ctx, 100)
	if got := docloud.Classify(err); got == nil || got.Class != snapkeep.ClassRateLimited || got.RetryAfter != 30*time.Minute {
		t.Fatalf("request over the hour: %v, want rate_limited, retry after 30m (the reset)", err)
	}
	if d := e.client.PaceDelay(e.clock.Now()); d != 30*time.Minute {
		t.Errorf("PaceDelay with the hour spent = %s, want 30m", d)
	}
}

// TestMalformedTokenIsNeverSent: a token DigitalOcean would never issue
// fails every method at once with auth_revoked, saying what is wrong
// without quoting it, and no request leaves.
func TestMalformedTokenIsNeverSent(t *testing.T) {
	valid := dotest.NewToken()
	for name, token := range map[string]string{
		"trailing newline": valid + "\n",
		"leading space":    " " + valid,
		"empty":            "",
		"too short":        "dop_v1_abc123",
		"upper-case hex":   "dop_v1_" + strings.ToUpper(valid[len("dop_v1_"):]),
		"non-ASCII":        valid[:20] + "é" + valid[21:],
	} {
		t.Run(name, func(t *testing.T) {
			e := newFake(t, nil)
			e.srv.AddToken(token) // even a fake that would take it never sees it
			c := docloud.New(token, docloud.WithBaseURL(e.srv.URL), docloud.WithRecorder(e))
			ctx := context.Background()
			errs := map[string]error{}
			_, errs["SnapshotDroplet"] = c.SnapshotDroplet(ctx, 100, "n")
			_, errs["GetAction"] = c.GetAction(ctx, 1)
			_, _, errs["ListDropletActions"] = c.ListDropletActions(ctx, 100, 1)
			_, errs["GetDroplet"] = c.GetDroplet(ctx, 100)
			_, errs["GetVolume"] = c.GetVolume(ctx, volumeID)
			_, errs["SnapshotVolume"] = c.SnapshotVolume(ctx, volumeID, "n", nil)
			_, _, errs["ListSnapshots"] = c.ListSnapshots(ctx, snapkeep.ResourceDroplet, "100", 1)
			errs["DeleteSnapshot"] = c.DeleteSnapshot(ctx, "1")
			_, errs["CheckAccount"] = c.CheckAccount(ctx)
			for method, err := range errs {
				got := docloud.Classify(err)
				if got == nil || got.Class != snapkeep.ClassAuthRevoked || !errors.Is(err, snapkeep.ErrInvalid) ||
					!strings.HasPrefix(got.Message, "the stored DigitalOcean token is malformed: ") {
					t.Errorf("%s: %v, want auth_revoked: the stored DigitalOcean token is malformed", method, err)
				}
				if got != nil && got.Retried() {
					t.Errorf("%s: a malformed token is retried", method)
				}
				if err != nil && len(token) > 10 && strings.Contains(err.Error(), strings.TrimSpace(token)[10:]) {
					t.Errorf("%s: error quotes the token", method)
				}
			}
			if n := len(e.srv.Requests()); n != 0 {
				t.Errorf("%d requests reached the fake, want none", n)
			}
			if n := len(e.recorded()); n != 0 {
				t.Errorf("%d rows recorded, want none", n)
			}
		})
	}
}

func TestCheckAccount(t *testing.T) {
	e := newFake(t, nil)
	ctx := context.Background()
	a, err := e.client.CheckAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != "active" || !a.EmailVerified || a.DropletLimit != 25 || a.VolumeLimit != 100 || len(a.UUID) != 40 ||
		a.Rate.Limit != 5000 || a.Rate.Remaining != 4999 || !a.Rate.Reset.Equal(fakeStart.Add(time.Hour)) {
		t.Errorf("CheckAccount = %+v", a)
	}
	e.srv.SetAccount(e.token, dotest.Account{Status: "locked", StatusMessage: "Payment overdue", DropletLimit: 10, TeamName: "Ops"})
	if a, err := e.client.CheckAccount(ctx); err != nil || a.Status != "locked" || a.StatusMessage != "Payment overdue" || a.TeamName != "Ops" {
		t.Errorf("locked account = %+v, %v", a, err)
	}
	e.srv.RevokeToken(e.token)
	_, err = e.client.CheckAccount(ctx)
	if got := docloud.Classify(err); got == nil || got.Class != snapkeep.ClassAuthRevoked || got.StatusCode != 401 {
		t.Errorf("revoked token: %v, want auth_revoked 401", err)
	}
	calls := e.recorded()
	if len(calls) != 3 {
		t.Fatalf("%d rows, want 3", len(calls))
	}
	for i, c := range calls {
		if c.Operation != snapkeep.OpGetAccount || c.Method != "GET" || c.Path != "/v2/account" {
			t.Errorf("row %d: %s %s %s", i, c.Operation, c.Method, c.Path)
		}
	}
	if calls[0].Class != "" || calls[2].Class != snapkeep.ClassAuthRevoked {
		t.Errorf("row classes %q, %q; want none, auth_revoked", calls[0].Class, calls[2].Class)
	}
}
