package dotest_test

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/digitalocean/godo"

	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
)

// TestGodoErrors proves godo parses every error the fake answers into a
// *godo.ErrorResponse with the status, message and request id.
func TestGodoErrors(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(t *testing.T, f *fixture) *godo.Client
		call      func(c *godo.Client, f *fixture) (*godo.Response, error)
		status    int
		errorID   string
		message   string
		html      bool
		wantRetry string
	}{
		{
			name:   "401 unknown token",
			setup:  func(t *testing.T, f *fixture) *godo.Client { return f.client(t, dotest.NewToken(), 0) },
			call:   getDroplet,
			status: 401, errorID: "unauthorized", message: "Unable to authenticate you",
		},
		{
			name:   "401 no token",
			setup:  func(t *testing.T, f *fixture) *godo.Client { return f.client(t, "", 0) },
			call:   getDroplet,
			status: 401, errorID: "unauthorized", message: "Unable to authenticate you",
		},
		{
			name: "401 revoked token",
			setup: func(t *testing.T, f *fixture) *godo.Client {
				f.srv.RevokeToken(f.token)
				return f.godo
			},
			call:   getDroplet,
			status: 401, errorID: "unauthorized", message: "Unable to authenticate you",
		},
		{
			name: "403 read-only token writes",
			setup: func(t *testing.T, f *fixture) *godo.Client {
				ro := dotest.NewToken()
				f.srv.AddReadOnlyToken(ro)
				return f.client(t, ro, 0)
			},
			call:   snapshotDroplet,
			status: 403, errorID: "forbidden", message: "You are not authorized to perform this operation",
		},
		{
			name:   "404 droplet",
			setup:  func(t *testing.T, f *fixture) *godo.Client { f.srv.RemoveDroplet(f.droplet); return f.godo },
			call:   getDroplet,
			status: 404, errorID: "not_found", message: "The resource you were accessing could not be found.",
		},
		{
			name:   "404 snapshot action on missing droplet",
			setup:  func(t *testing.T, f *fixture) *godo.Client { f.srv.RemoveDroplet(f.droplet); return f.godo },
			call:   snapshotDroplet,
			status: 404, errorID: "not_found", message: "The resource you were accessing could not be found.",
		},
		{
			name:  "404 volume",
			setup: func(t *testing.T, f *fixture) *godo.Client { return f.godo },
			call: func(c *godo.Client, f *fixture) (*godo.Response, error) {
				_, r, err := c.Storage.GetVolume(context.Background(), "00000000-0000-4000-8000-000000000000")
				return r, err
			},
			status: 404, errorID: "not_found", message: "The resource you were accessing could not be found.",
		},
		{
			name:  "404 action",
			setup: func(t *testing.T, f *fixture) *godo.Client { return f.godo },
			call: func(c *godo.Client, f *fixture) (*godo.Response, error) {
				_, r, err := c.Actions.Get(context.Background(), 42)
				return r, err
			},
			status: 404, errorID: "not_found", message: "The resource you were accessing could not be found.",
		},
		{
			name: "422 pending event",
			setup: func(t *testing.T, f *fixture) *godo.Client {
				_, _, err := f.godo.DropletActions.Snapshot(context.Background(), f.droplet, "first")
				must(t, err)
				return f.godo
			},
			call:   snapshotDroplet,
			status: 422, errorID: "unprocessable_entity", message: "Droplet already has a pending event.",
		},
		{
			name:   "422 pending event injected",
			setup:  faultSetup(dotest.Fault{Kind: dotest.FaultStatus, Status: 422, Count: 1}),
			call:   snapshotDroplet,
			status: 422, errorID: "unprocessable_entity", message: "Droplet already has a pending event.",
		},
		{
			name:   "429 injected",
			setup:  faultSetup(dotest.Fault{Kind: dotest.FaultStatus, Status: 429, RetryAfter: 17}),
			call:   getDroplet,
			status: 429, errorID: "too_many_requests", message: "API Rate limit exceeded.", wantRetry: "17",
		},
		{
			name:   "500 server error",
			setup:  faultSetup(dotest.Fault{Kind: dotest.FaultStatus, Status: 500}),
			call:   snapshotDroplet,
			status: 500, errorID: "server_error", message: "Server Error",
		},
		{
			name:   "503 edge gateway JSON",
			setup:  faultSetup(dotest.Fault{Kind: dotest.FaultStatus, Status: 503}),
			call:   getDroplet,
			status: 503, errorID: "service_unavailable", message: "Service is currently unavailable.",
		},
		{
			name:   "502 edge HTML",
			setup:  faultSetup(dotest.Fault{Kind: dotest.FaultStatus, Status: 502}),
			call:   getDroplet,
			status: 502, html: true, message: "502 Bad Gateway",
		},
		{
			name:   "504 edge HTML",
			setup:  faultSetup(dotest.Fault{Kind: dotest.FaultStatus, Status: 504}),
			call:   getDroplet,
			status: 504, html: true, message: "504 Gateway Timeout",
		},
		{
			name:   "504 as JSON",
			setup:  faultSetup(dotest.Fault{Kind: dotest.FaultStatus, Status: 504, Body: dotest.BodyJSON}),
			call:   getDroplet,
			status: 504, errorID: "gateway_timeout", message: "Gateway Timeout",
		},
		{
			name:   "500 as HTML",
			setup:  faultSetup(dotest.Fault{Kind: dotest.FaultStatus, Status: 500, Body: dotest.BodyHTML}),
			call:   getDroplet,
			status: 500, html: true, message: "500 Internal Server Error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			c := tt.setup(t, f)
			resp, err := tt.call(c, f)
			e := apiError(t, err)
			if e.Response.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", e.Response.StatusCode, tt.status)
			}
			reqID := e.Response.Header.Get("X-Request-Id")
			if !uuidRE.MatchString(reqID) || e.RequestID != reqID {
				t.Errorf("ErrorResponse.RequestID = %q, header %q", e.RequestID, reqID)
			}
			if resp == nil || resp.Rate.Limit != 5000 {
				t.Errorf("rate not parsed: %+v", resp)
			}
			if got := e.Response.Header.Get("Retry-After"); got != tt.wantRetry {
				t.Errorf("retry-after = %q, want %q", got, tt.wantRetry)
			}
			if tt.html {
				if ct := e.Response.Header.Get("Content-Type"); ct != "text/html" {
					t.Errorf("content-type = %q, want text/html", ct)
				}
				if !strings.Contains(e.Message, "<title>"+tt.message+"</title>") {
					t.Errorf("message = %q, want an HTML page titled %q", e.Message, tt.message)
				}
				return
			}
			if e.Message != tt.message {
				t.Errorf("message = %q, want %q", e.Message, tt.message)
			}
			// The raw body: {"id","message","request_id"}.
			lr := lastRequest(t, f.srv)
			if lr.Status != tt.status || lr.RequestID != reqID {
				t.Errorf("logged %+v", lr)
			}
			var body map[string]string
			raw := lastBody(t, c)
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("body %s: %v", raw, err)
			}
			want := map[string]string{"id": tt.errorID, "message": tt.message, "request_id": reqID}
			if !maps.Equal(body, want) {
				t.Errorf("body = %s, want %v", raw, want)
			}
		})
	}
}

func faultSetup(flt dotest.Fault) func(t *testing.T, f *fixture) *godo.Client {
	return func(t *testing.T, f *fixture) *godo.Client {
		f.srv.MustAddFault(flt)
		return f.godo
	}
}

func getDroplet(c *godo.Client, f *fixture) (*godo.Response, error) {
	_, r, err := c.Droplets.Get(context.Background(), f.droplet)
	return r, err
}

func snapshotDroplet(c *godo.Client, f *fixture) (*godo.Response, error) {
	_, r, err := c.DropletActions.Snapshot(context.Background(), f.droplet, "snap")
	return r, err
}

// TestUniqueRequestIDs checks x-request-id differs on every answer.
func TestUniqueRequestIDs(t *testing.T) {
	f := newFixture(t)
	seen := map[string]bool{}
	for range 50 {
		_, resp, err := f.godo.Droplets.Get(context.Background(), f.droplet)
		must(t, err)
		id := resp.Header.Get("X-Request-Id")
		if seen[id] {
			t.Fatalf("request id %q repeated", id)
		}
		seen[id] = true
	}
}

// TestUnknownRoute answers DigitalOcean's 404 body.
func TestUnknownRoute(t *testing.T) {
	f := newFixture(t)
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/v2/nothing/here", nil)
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := f.srv.Client().Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 404 || !strings.Contains(string(b), `"id":"not_found"`) {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
	if got := resp.Header.Get("Ratelimit-Remaining"); got != strconv.Itoa(4999) {
		t.Errorf("remaining = %q", got)
	}
}
