package docloud_test

// Tests of the Client against the fake DigitalOcean API (shared/docloud/dotest),
// endpoint by endpoint and error by error.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/docloud"
	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

var fakeStart = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

const volumeID = "506f78a4-e098-11e5-ad9f-000f53306ae1"

type fakeEnv struct {
	srv    *dotest.Server
	clock  *dotest.Clock
	client *docloud.Client
	token  string
	mu     sync.Mutex
	calls  []snapkeep.APICall
}

func (e *fakeEnv) Record(_ context.Context, c snapkeep.APICall) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, c)
}

func (e *fakeEnv) recorded() []snapkeep.APICall {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]snapkeep.APICall(nil), e.calls...)
}

// newFake starts a fake with one droplet (id 100, 2 GB: a two-minute
// action) and one volume, and a Client with a fresh token.
func newFake(t *testing.T, serverOpts []dotest.Option, clientOpts ...docloud.Option) *fakeEnv {
	t.Helper()
	e := &fakeEnv{clock: dotest.NewClock(fakeStart), token: dotest.NewToken()}
	e.srv = dotest.NewServer(append([]dotest.Option{dotest.WithVirtualClock(e.clock), dotest.WithToken(e.token)}, serverOpts...)...)
	t.Cleanup(e.srv.Close)
	if err := e.srv.AddDroplet(dotest.Droplet{ID: 100, Disk: 2, Region: "nyc3"}); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.AddVolume(dotest.Volume{ID: volumeID, Region: "nyc1"}); err != nil {
		t.Fatal(err)
	}
	e.client = docloud.New(e.token, append([]docloud.Option{
		docloud.WithBaseURL(e.srv.URL), docloud.WithRecorder(e), docloud.WithClock(e.clock.Now),
	}, clientOpts...)...)
	t.Cleanup(func() { assertTokenAbsent(t, e.token, e.recorded()) })
	return e
}

func assertTokenAbsent(t *testing.T, token string, calls []snapkeep.APICall) {
	t.Helper()
	b, _ := json.Marshal(calls)
	if strings.Contains(string(b), token) {
		t.Errorf("token found in recorded calls")
	}
}

func TestFakeDropletSnapshotLifecycle(t *testing.T) {
	e := newFake(t, nil)
	ctx := docloud.WithOperation(context.Background(), snapkeep.OpSnapshotDroplet, 1)
	d, err := e.client.GetDroplet(ctx, 100)
	if err != nil || d.ID != 100 || d.Region.Slug != "nyc3" {
		t.Fatalf("GetDroplet = %+v, %v", d, err)
	}
	a, err := e.client.SnapshotDroplet(ctx, 100, "snapkeep-pol-1")
	if err != nil {
		t.Fatalf("SnapshotDroplet: %v", err)
	}
	if a.Status != snapkeep.ActionInProgress || a.Type != "snapshot" {
		t.Errorf("action = %+v", a)
	}
	if got, err := e.client.GetAction(ctx, a.ID); err != nil || got.Status != snapkeep.ActionInProgress {
		t.Errorf("GetAction before completion = %+v, %v", got, err)
	}
	e.clock.Advance(3 * time.Minute)
	got, err := e.client.GetAction(ctx, a.ID)
	if err != nil || got.Status != snapkeep.ActionCompleted {
		t.Fatalf("GetAction after completion = %+v, %v", got, err)
	}
	snaps, more, err := e.client.ListSnapshots(ctx, snapkeep.ResourceDroplet, "100", 1)
	if err != nil || more || len(snaps) != 1 {
		t.Fatalf("ListSnapshots = %+v, %v, %v", snaps, more, err)
	}
	s := snaps[0]
	if s.Name != "snapkeep-pol-1" || s.ResourceID != "100" || s.ID == "" || s.Created.IsZero() {
		t.Errorf("snapshot = %+v", s)
	}
	if err := e.client.DeleteSnapshot(ctx, s.ID); err != nil {
		t.Fatalf("DeleteSnapshot: %v", err)
	}
	if del := e.srv.Deleted(); len(del) != 1 || del[0].ID != s.ID {
		t.Errorf("fake deleted %+v", del)
	}
	// One record per request, matching the fake's log.
	reqs, calls := e.srv.Requests(), e.recorded()
	if len(reqs) != 6 || len(calls) != 6 {
		t.Fatalf("fake saw %d requests, %d recorded; want 6", len(reqs), len(calls))
	}
	for i := range reqs {
		if calls[i].ProviderRequestID != reqs[i].RequestID || calls[i].StatusCode != reqs[i].Status || calls[i].Method != reqs[i].Method {
			t.Errorf("call %d recorded %+v, fake saw %+v", i, calls[i], reqs[i])
		}
		if calls[i].RequestHeaders["authorization"] != snapkeep.Redacted || calls[i].ResponseHeaders["ratelimit-limit"] != "5000" {
			t.Errorf("call %d headers %v / %v", i, calls[i].RequestHeaders, calls[i].ResponseHeaders)
		}
		if !calls[i].StartedAt.Equal(e.clock.Now()) && i == 5 {
			t.Errorf("call %d started %s, clock %s", i, calls[i].StartedAt, e.clock.Now())
		}
	}
	if r := e.client.Rate(); r.Limit != 5000 || r.Remaining != 5000-6 {
		t.Errorf("Rate() = %+v", r)
	}
}

func TestFakeVolume(t *testing.T) {
	e := newFake(t, nil)
	ctx := context.Background()
	v, err := e.client.GetVolume(ctx, volumeID)
	if err != nil || v.ID != volumeID || v.Region.Slug != "nyc1" {
		t.Fatalf("GetVolume = %+v, %v", v, err)
	}
	s, err := e.client.SnapshotVolume(ctx, volumeID, "snapkeep-pol-2", []string{"snapkeep", "snapkeep-policy-pol-2"})
	if err != nil {
		t.Fatalf("SnapshotVolume: %v", err)
	}
	if s.Name != "snapkeep-pol-2" || s.ResourceID != volumeID || strings.Join(s.Tags, ",") != "snapkeep,snapkeep-policy-pol-2" {
		t.Errorf("snapshot = %+v", s)
	}
	snaps, more, err := e.client.ListSnapshots(ctx, snapkeep.ResourceVolume, volumeID, 1)
	if err != nil || more || len(snaps) != 1 || snaps[0].ID != s.ID {
		t.Errorf("ListSnapshots = %+v, %v, %v", snaps, more, err)
	}
	if err := e.client.DeleteSnapshot(ctx, s.ID); err != nil {
		t.Fatalf("DeleteSnapshot: %v", err)
	}
}

func TestFakeListSnapshotsPages(t *testing.T) {
	e := newFake(t, nil)
	for i := 0; i < docloud.PerPage+5; i++ {
		if _, err := e.srv.AddSnapshot(dotest.Snapshot{Name: fmt.Sprintf("manual-%03d", i), ResourceType: "droplet", ResourceID: "100"}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for page, wantMore := range map[int]bool{1: true, 2: false} {
		snaps, more, err := e.client.ListSnapshots(context.Background(), snapkeep.ResourceDroplet, "100", page)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		if more != wantMore {
			t.Errorf("page %d: more = %v, want %v", page, more, wantMore)
		}
		for _, s := range snaps {
			seen[s.ID] = true
		}
	}
	if len(seen) != docloud.PerPage+5 {
		t.Errorf("listed %d distinct snapshots, want %d", len(seen), docloud.PerPage+5)
	}
}

func TestFakeErrors(t *testing.T) {
	type want struct {
		class   snapkeep.ErrorClass
		status  int
		id      string
		message string
	}
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, e *fakeEnv) // before the measured call
		opts    []docloud.Option
		call    func(c *docloud.Client) error
		want    want
		// retryAfter is the wanted RetryAfter; noRequestID for resets and hangs.
		retryAfter  time.Duration
		noRequestID bool
	}{
		{
			name: "500",
			prepare: func(t *testing.T, e *fakeEnv) {
				e.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Status: 500})
			},
			call: snapshotDroplet,
			want: want{snapkeep.ClassProviderError, 500, "server_error", dotest.MsgServerError},
		},
		{
			name: "502 html",
			prepare: func(t *testing.T, e *fakeEnv) {
				e.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Status: 502})
			},
			call: snapshotDroplet,
			want: want{snapkeep.ClassProviderError, 502, "", "Bad Gateway"},
		},
		{
			name: "503",
			prepare: func(t *testing.T, e *fakeEnv) {
				e.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Status: 503})
			},
			call: getAction,
			want: want{snapkeep.ClassProviderError, 503, "service_unavailable", dotest.MsgUnavailable},
		},
		{
			name: "504 html",
			prepare: func(t *testing.T, e *fakeEnv) {
				e.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Status: 504})
			},
			call: getAction,
			want: want{snapkeep.ClassProviderError, 504, "", "Gateway Timeout"},
		},
		{
			name: "500 after the effect",
			prepare: func(t *testing.T, e *fakeEnv) {
				e.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultEffectThenStatus, Operation: snapkeep.OpSnapshotDroplet})
			},
			call: snapshotDroplet,
			want: want{snapkeep.ClassProviderError, 500, "server_error", dotest.MsgServerError},
		},
		{
			name: "429 fault",
			prepare: func(t *testing.T, e *fakeEnv) {
				e.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Status: 429, RetryAfter: 30})
			},
			call:       snapshotDroplet,
			want:       want{snapkeep.ClassRateLimited, 429, "too_many_requests", dotest.MsgRateLimited},
			retryAfter: 30 * time.Second,
		},
		{
			name: "429 budget spent",
			prepare: func(t *testing.T, e *fakeEnv) {
				// WithRateLimits(0, 2) below: two requests spend the minute.
				for i := 0; i < 2; i++ {
					if _, err := e.client.GetDroplet(context.Background(), 100); err != nil {
						t.Fatal(err)
					}
				}
			},
			call: getDroplet,
			want: want{snapkeep.ClassRateLimited, 429, "too_many_requests", dotest.MsgRateLimited},
		},
		{
			name: "422 pending event",
			prepare: func(t *testing.T, e *fakeEnv) {
				if _, err := e.client.SnapshotDroplet(context.Background(), 100, "first"); err != nil {
					t.Fatal(err)
				}
			},
			call: snapshotDroplet,
			want: want{snapkeep.ClassResourceBusy, 422, "unprocessable_entity", dotest.MsgPendingEvent},
		},
		{
			name: "422 volume snapshot limit",
			prepare: func(t *testing.T, e *fakeEnv) {
				for i := 0; i < dotest.VolumeSnapshotLimit; i++ {
					if _, err := e.srv.AddSnapshot(dotest.Snapshot{Name: fmt.Sprint(i), ResourceType: "volume", ResourceID: volumeID}); err != nil {
						t.Fatal(err)
					}
				}
			},
			call: func(c *docloud.Client) error {
				_, err := c.SnapshotVolume(context.Background(), volumeID, "one-too-many", nil)
				return err
			},
			want: want{snapkeep.ClassQuotaExceeded, 422, "unprocessable_entity", dotest.MsgVolumeSnapshotLimit},
		},
		{
			name:    "401 revoked",
			prepare: func(t *testing.T, e *fakeEnv) { e.srv.RevokeToken(e.token) },
			call:    getDroplet,
			want:    want{snapkeep.ClassAuthRevoked, 401, "unauthorized", dotest.MsgUnauthorized},
		},
		{
			name: "403 read-only",
			prepare: func(t *testing.T, e *fakeEnv) {
				e.srv.RevokeToken(e.token)
				e.srv.AddReadOnlyToken(e.token)
			},
			call: snapshotDroplet,
			want: want{snapkeep.ClassAuthRevoked, 403, "forbidden", dotest.MsgForbidden},
		},
		{
			name:    "404 droplet gone",
			prepare: func(t *testing.T, e *fakeEnv) { e.srv.RemoveDroplet(100) },
			call:    snapshotDroplet,
			want:    want{snapkeep.ClassResourceMissing, 404, "not_found", dotest.MsgNotFound},
		},
		{
			name: "404 snapshot gone",
			call: func(c *docloud.Client) error { return c.DeleteSnapshot(context.Background(), "999999") },
			want: want{snapkeep.ClassResourceMissing, 404, "not_found", dotest.MsgNotFound},
		},
		{
			name:        "reset",
			prepare:     func(t *testing.T, e *fakeEnv) { e.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultReset}) },
			call:        snapshotDroplet,
			want:        want{class: snapkeep.ClassNetwork},
			noRequestID: true,
		},
		{
			name: "reset after the effect",
			prepare: func(t *testing.T, e *fakeEnv) {
				e.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultEffectThenReset, Operation: snapkeep.OpSnapshotDroplet})
			},
			call:        snapshotDroplet,
			want:        want{class: snapkeep.ClassNetwork},
			noRequestID: true,
		},
		{
			name:        "hang until the timeout",
			prepare:     func(t *testing.T, e *fakeEnv) { e.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultHang}) },
			opts:        []docloud.Option{docloud.WithHTTPTimeout(100 * time.Millisecond)},
			call:        getAction,
			want:        want{class: snapkeep.ClassNetwork},
			noRequestID: true,
		},
		{
			name:    "malformed 201",
			prepare: func(t *testing.T, e *fakeEnv) { e.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultMalformed}) },
			call:    snapshotDroplet,
			want:    want{class: snapkeep.ClassProviderError},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var srvOpts []dotest.Option
			if tc.name == "429 budget spent" {
				srvOpts = append(srvOpts, dotest.WithRateLimits(0, 2))
			}
			e := newFake(t, srvOpts, tc.opts...)
			// An action for getAction to read.
			if _, err := e.client.SnapshotDroplet(context.Background(), 100, "seed"); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(10 * time.Minute)
			if tc.prepare != nil {
				tc.prepare(t, e)
			}
			before, beforeCalls := len(e.srv.Requests()), len(e.recorded())
			posts := e.srv.SnapshotPosts("droplet", "100")

			err := tc.call(e.client)
			if err == nil {
				t.Fatal("call succeeded")
			}
			got := docloud.Classify(err)
			if got.Class != tc.want.class || got.StatusCode != tc.want.status || got.ErrorID != tc.want.id ||
				(tc.want.message != "" && got.Message != tc.want.message) {
				t.Errorf("Classify = {%s %d %q %q}, want %+v", got.Class, got.StatusCode, got.ErrorID, got.Message, tc.want)
			}
			if got.RetryAfter != tc.retryAfter && tc.retryAfter != 0 {
				t.Errorf("RetryAfter = %s, want %s", got.RetryAfter, tc.retryAfter)
			}
			if tc.want.class == snapkeep.ClassRateLimited && got.RetryAfter <= 0 {
				t.Errorf("RetryAfter = %s, want > 0", got.RetryAfter)
			}
			if strings.Contains(err.Error(), e.token) {
				t.Error("error text holds the token")
			}
			// Exactly one request, one record.
			reqs, calls := e.srv.Requests()[before:], e.recorded()[beforeCalls:]
			// The fake logs a hung request once it notices the client left,
			// which may be after the client returns.
			hung := tc.name == "hang until the timeout"
			if len(calls) != 1 || len(reqs) > 1 || (len(reqs) == 0 && !hung) {
				t.Fatalf("fake saw %d requests, %d recorded; want 1 and 1", len(reqs), len(calls))
			}
			if n := e.srv.SnapshotPosts("droplet", "100") - posts; n > 1 {
				t.Errorf("%d snapshot POSTs, want at most 1", n)
			}
			c := calls[0]
			if c.FailureHour != "2026-11-24T12" || c.Class != got.Class {
				t.Errorf("row FailureHour %q class %q, want 2026-11-24T12 and the error's class %q", c.FailureHour, c.Class, got.Class)
			}
			// A malformed 2xx is recorded with its status; the error has none.
			if c.ErrorID != got.ErrorID || (c.StatusCode != got.StatusCode && tc.name != "malformed 201") {
				t.Errorf("recorded %q %d, classified %q %d", c.ErrorID, c.StatusCode, got.ErrorID, got.StatusCode)
			}
			if tc.noRequestID {
				if c.TransportError == "" || c.StatusCode != 0 {
					t.Errorf("recorded %+v, want a transport error", c)
				}
			} else if c.ProviderRequestID == "" || c.ProviderRequestID != reqs[0].RequestID || (got.StatusCode >= 400 && got.RequestID != c.ProviderRequestID) {
				t.Errorf("request ids: recorded %q, fake %q, error %q", c.ProviderRequestID, reqs[0].RequestID, got.RequestID)
			}
			if hung {
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					t.Errorf("%v is not a timeout", err)
				}
			}
		})
	}
}

func snapshotDroplet(c *docloud.Client) error {
	_, err := c.SnapshotDroplet(context.Background(), 100, "snap")
	return err
}

func getAction(c *docloud.Client) error {
	// The seed action has id 1 at a fresh fake.
	_, err := c.GetAction(context.Background(), 1)
	return err
}

func getDroplet(c *docloud.Client) error {
	_, err := c.GetDroplet(context.Background(), 100)
	return err
}
