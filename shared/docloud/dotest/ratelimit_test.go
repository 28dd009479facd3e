package dotest_test

import (
	"context"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
)

// TestRateLimitPerMinute uses DigitalOcean's real budgets: the 251st
// request within a minute answers a burst 429 as DigitalOcean does:
// ratelimit-remaining 0 (though the hour has 4,750 left), the hourly
// ratelimit-reset (up to an hour ahead) and retry-after.
func TestRateLimitPerMinute(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := range 250 {
		f.clock.Set(t0.Add(time.Duration(i) * 100 * time.Millisecond)) // 25 s in all
		_, resp, err := f.godo.Droplets.Get(ctx, f.droplet)
		must(t, err)
		if resp.Rate.Remaining != 5000-i-1 {
			t.Fatalf("request %d: remaining %d", i+1, resp.Rate.Remaining)
		}
	}
	f.clock.Set(t0.Add(30 * time.Second))
	_, resp, err := f.godo.Droplets.Get(ctx, f.droplet)
	e := apiError(t, err)
	if e.Response.StatusCode != 429 || e.Message != dotest.MsgRateLimited || e.Response.Header.Get("Retry-After") != "30" {
		t.Fatalf("251st: %d %q retry-after %q", e.Response.StatusCode, e.Message, e.Response.Header.Get("Retry-After"))
	}
	if resp.Rate.Remaining != 0 || resp.Rate.Limit != 5000 || !resp.Rate.Reset.Time.Equal(t0.Add(time.Hour)) {
		t.Errorf("burst 429 rate %+v, want remaining 0, reset %v", resp.Rate, t0.Add(time.Hour))
	}
	// A refused request does not count; the oldest leaves the window at +60s.
	f.clock.Set(t0.Add(time.Minute - time.Millisecond))
	if _, _, err := f.godo.Droplets.Get(ctx, f.droplet); err == nil {
		t.Error("just before the window moved: want 429")
	}
	f.clock.Set(t0.Add(time.Minute))
	_, resp, err = f.godo.Droplets.Get(ctx, f.droplet)
	must(t, err)
	if resp.Rate.Remaining != 4749 {
		t.Errorf("remaining %d, want 4749", resp.Rate.Remaining)
	}
}

// TestRateLimitPerHour with a scaled budget (the arithmetic is the same):
// a spent hour answers 429 with ratelimit-remaining 0 and the reset, and no
// retry-after (DigitalOcean sends that on burst 429s only).
func TestRateLimitPerHour(t *testing.T) {
	f := newFixture(t, dotest.WithRateLimits(10, 0))
	ctx := context.Background()
	for i := range 10 {
		f.clock.Set(t0.Add(time.Duration(i) * 5 * time.Minute))
		_, _, err := f.godo.Droplets.Get(ctx, f.droplet)
		must(t, err)
	}
	f.clock.Set(t0.Add(50 * time.Minute))
	_, resp, err := f.godo.Droplets.Get(ctx, f.droplet)
	e := apiError(t, err)
	if e.Response.StatusCode != 429 || e.Response.Header.Get("Retry-After") != "" || resp.Rate.Remaining != 0 ||
		!resp.Rate.Reset.Time.Equal(t0.Add(time.Hour)) {
		t.Errorf("11th: %d retry-after %q remaining %d reset %v", e.Response.StatusCode, e.Response.Header.Get("Retry-After"), resp.Rate.Remaining, resp.Rate.Reset)
	}
	f.clock.Set(t0.Add(time.Hour))
	_, resp, err = f.godo.Droplets.Get(ctx, f.droplet)
	must(t, err)
	if !resp.Rate.Reset.Time.Equal(t0.Add(65 * time.Minute)) {
		t.Errorf("reset %v, want when the oldest leaves the window", resp.Rate.Reset)
	}
}

// TestRateLimitPerToken: budgets are per token.
func TestRateLimitPerToken(t *testing.T) {
	f := newFixture(t, dotest.WithRateLimits(0, 2))
	other := dotest.NewToken()
	f.srv.AddToken(other)
	oc := f.client(t, other, 0)
	ctx := context.Background()
	for range 2 {
		_, _, err := f.godo.Droplets.Get(ctx, f.droplet)
		must(t, err)
	}
	if _, _, err := f.godo.Droplets.Get(ctx, f.droplet); err == nil {
		t.Error("3rd in a minute: want 429")
	}
	if _, _, err := oc.Droplets.Get(ctx, f.droplet); err != nil {
		t.Errorf("other token: %v", err)
	}
}

// TestInjected429IsABurst: a FaultStatus 429 carries what DigitalOcean's
// burst 429 does.
func TestInjected429IsABurst(t *testing.T) {
	f := newFixture(t)
	f.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Status: 429, RetryAfter: 29, Count: 1})
	_, resp, err := f.godo.Droplets.Get(context.Background(), f.droplet)
	e := apiError(t, err)
	if e.Response.StatusCode != 429 || e.Response.Header.Get("Retry-After") != "29" || resp.Rate.Remaining != 0 ||
		resp.Rate.Limit != 5000 || !resp.Rate.Reset.Time.Equal(t0.Add(time.Hour)) {
		t.Errorf("injected 429: %d retry-after %q rate %+v", e.Response.StatusCode, e.Response.Header.Get("Retry-After"), resp.Rate)
	}
}
