package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// secret is the token part of every test webhook URL: it must appear in
// no error and no log line.
const secret = "SUPERSECRETtoken0123456789"

const hookPath = "/services/T0001AAAA/B0002BBBB/" + secret

var payload = []byte(`{"text":"Backup failed: web-01","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"Your server is fine."}}]}`)

// answer is one scripted response of the webhook server.
type answer struct {
	status     int
	body       string
	retryAfter string
	location   string
}

// hookServer is a local Slack webhook: it answers each request with the
// next scripted answer (then 200 ok) and records what it received.
type hookServer struct {
	*httptest.Server
	mu       sync.Mutex
	answers  []answer
	requests []*http.Request
	bodies   [][]byte
}

func newHookServer(t *testing.T, answers ...answer) *hookServer {
	t.Helper()
	h := &hookServer{answers: answers}
	h.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.requests = append(h.requests, r)
		h.bodies = append(h.bodies, body)
		a := answer{status: 200, body: "ok"}
		if len(h.answers) > 0 {
			a, h.answers = h.answers[0], h.answers[1:]
		}
		h.mu.Unlock()
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		if a.location != "" {
			w.Header().Set("Location", a.location)
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.requests)
}

// hookURL is the server's webhook URL, with the secret in it.
func (h *hookServer) hookURL() string { return h.URL + hookPath }

// testClient is a Client for the server with a virtual clock: Sleep
// records each wait and advances the clock by it.
type testClient struct {
	*Client
	now   time.Time
	waits []time.Duration
	log   bytes.Buffer
}

func newTestClient(h *hookServer) *testClient {
	tc := &testClient{now: time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)}
	tc.Client = &Client{
		HTTP:         h.Client(),
		AllowedHosts: []string{h.Listener.Addr().String()},
		Now:          func() time.Time { return tc.now },
		Sleep: func(ctx context.Context, d time.Duration) error {
			tc.waits = append(tc.waits, d)
			tc.now = tc.now.Add(d)
			return ctx.Err()
		},
		Jitter: func() float64 { return 0 },
	}
	tc.Logger = slog.New(slog.NewJSONHandler(&tc.log, nil))
	return tc
}

// noSecret fails the test when err or the log shows any part of the URL.
func noSecret(t *testing.T, err error, log string) {
	t.Helper()
	for _, text := range []string{fmt.Sprint(err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), log} {
		for _, part := range []string{secret, hookPath, "T0001AAAA", "B0002BBBB"} {
			if strings.Contains(text, part) {
				t.Errorf("the webhook URL leaked (%q) into: %s", part, text)
			}
		}
	}
}

func TestPostSuccess(t *testing.T) {
	h := newHookServer(t)
	c := newTestClient(h)
	if err := c.Post(context.Background(), h.hookURL(), payload); err != nil {
		t.Fatalf("Post: %v", err)
	}
	if h.count() != 1 {
		t.Fatalf("%d requests, want 1", h.count())
	}
	r := h.requests[0]
	if r.Method != http.MethodPost || r.URL.Path != hookPath || r.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("request %s %s, Content-Type %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	if !bytes.Equal(h.bodies[0], payload) {
		t.Errorf("body %s, want the payload", h.bodies[0])
	}
	if len(c.waits) != 0 {
		t.Errorf("waits %v before a first post", c.waits)
	}
}

func TestPostRetries(t *testing.T) {
	tests := []struct {
		name        string
		answers     []answer
		minInterval time.Duration
		wantWaits   []time.Duration
	}{
		{name: "429 then ok, Retry-After seconds", answers: []answer{{status: 429, body: "rate_limited", retryAfter: "3"}},
			wantWaits: []time.Duration{3 * time.Second}},
		{name: "429 then ok, Retry-After date", answers: []answer{{status: 429, retryAfter: "Tue, 24 Nov 2026 03:00:07 GMT"}},
			wantWaits: []time.Duration{7 * time.Second}},
		// Backoff waits 0.5 s then 1 s, but never less than the webhook's
		// one-second pacing.
		{name: "429 without Retry-After backs off", answers: []answer{{status: 429}, {status: 429}},
			wantWaits: []time.Duration{time.Second, time.Second}},
		{name: "500 then 503 then ok", answers: []answer{{status: 500, body: "internal_error"}, {status: 503}},
			wantWaits: []time.Duration{time.Second, time.Second}},
		{name: "pacing off: backoff alone", answers: []answer{{status: 500}, {status: 500}, {status: 500}}, minInterval: -1,
			wantWaits: []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}},
		{name: "503 with Retry-After", answers: []answer{{status: 503, retryAfter: "2"}},
			wantWaits: []time.Duration{2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHookServer(t, tt.answers...)
			c := newTestClient(h)
			c.MinInterval = tt.minInterval
			err := c.Post(context.Background(), h.hookURL(), payload)
			if err != nil {
				t.Fatalf("Post: %v", err)
			}
			if want := len(tt.answers) + 1; h.count() != want {
				t.Errorf("%d requests, want %d", h.count(), want)
			}
			if !slices.Equal(c.waits, tt.wantWaits) {
				t.Errorf("waits %v, want %v", c.waits, tt.wantWaits)
			}
			if n := strings.Count(c.log.String(), "retrying"); n != len(tt.answers) {
				t.Errorf("%d retry log lines, want %d", n, len(tt.answers))
			}
			noSecret(t, err, c.log.String())
		})
	}
}

func TestPostGivesUp(t *testing.T) {
	tests := []struct {
		name      string
		answers   []answer
		wantCode  string
		wantReqs  int
		wantWaits []time.Duration
	}{
		{name: "5xx on every attempt", answers: slices.Repeat([]answer{{status: 503, body: "service_unavailable"}}, 10),
			wantCode: "service_unavailable", wantReqs: 4, wantWaits: []time.Duration{time.Second, time.Second, 2 * time.Second}},
		{name: "Retry-After too long", answers: []answer{{status: 429, body: "rate_limited", retryAfter: "120"}},
			wantCode: "rate_limited", wantReqs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHookServer(t, tt.answers...)
			c := newTestClient(h)
			err := c.Post(context.Background(), h.hookURL(), payload)
			if err == nil || Permanent(err) || !errors.Is(err, ErrUnavailable) {
				t.Fatalf("err = %v, want a transient ErrUnavailable", err)
			}
			if !strings.Contains(err.Error(), tt.wantCode) {
				t.Errorf("error %q does not name Slack's code %s", err, tt.wantCode)
			}
			if h.count() != tt.wantReqs || !slices.Equal(c.waits, tt.wantWaits) {
				t.Errorf("%d requests, waits %v; want %d, %v", h.count(), c.waits, tt.wantReqs, tt.wantWaits)
			}
			noSecret(t, err, c.log.String())
		})
	}
}

func TestPostPermanent(t *testing.T) {
	tests := []struct {
		name     string
		answer   answer
		wantCode string
	}{
		{name: "400 invalid_payload", answer: answer{status: 400, body: "invalid_payload"}, wantCode: "invalid_payload"},
		{name: "403 action_prohibited", answer: answer{status: 403, body: "action_prohibited"}, wantCode: "action_prohibited"},
		{name: "404 channel_not_found", answer: answer{status: 404, body: "channel_not_found"}, wantCode: "channel_not_found"},
		{name: "404 no_service", answer: answer{status: 404, body: "no_service\n"}, wantCode: "no_service"},
		{name: "410 channel_is_archived", answer: answer{status: 410, body: "channel_is_archived"}, wantCode: "channel_is_archived"},
		{name: "404 HTML page", answer: answer{status: 404, body: "<html><body>Not Found " + secret + "</body></html>"}, wantCode: ""},
		{name: "404 echoing the token", answer: answer{status: 404, body: strings.ToLower(secret)}, wantCode: strings.ToLower(secret)},
		{name: "redirect not followed", answer: answer{status: 302, location: "/elsewhere"}, wantCode: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHookServer(t, tt.answer)
			c := newTestClient(h)
			err := c.Post(context.Background(), h.hookURL(), payload)
			var rej *Rejected
			if !errors.As(err, &rej) || !Permanent(err) {
				t.Fatalf("err = %v, want a *Rejected", err)
			}
			if rej.Status != tt.answer.status || rej.Code != tt.wantCode {
				t.Errorf("Rejected %+v, want status %d code %q", rej, tt.answer.status, tt.wantCode)
			}
			if tt.wantCode != "" && !strings.Contains(err.Error(), tt.wantCode) {
				t.Errorf("error %q does not name Slack's code", err)
			}
			if h.count() != 1 || len(c.waits) != 0 {
				t.Errorf("%d requests and waits %v: a permanent answer must not be retried", h.count(), c.waits)
			}
			noSecret(t, err, c.log.String())
		})
	}
}

// TestPostEchoedTokenIsDropped checks that a body repeating the URL's
// token (lower-cased here to pass as a code) is not used as the code.
func TestPostEchoedTokenIsDropped(t *testing.T) {
	h := newHookServer(t, answer{status: 404, body: "b0002bbbbxyz"})
	c := newTestClient(h)
	url := h.URL + "/services/T0001AAAA/b0002bbbbxyz/" + secret
	err := c.Post(context.Background(), url, payload)
	var rej *Rejected
	if !errors.As(err, &rej) || rej.Code != "" || strings.Contains(err.Error(), "b0002bbbbxyz") {
		t.Errorf("err = %v: the echoed URL part must not become the code", err)
	}
}

func TestPostNetworkFailures(t *testing.T) {
	t.Run("server gone", func(t *testing.T) {
		h := newHookServer(t)
		c := newTestClient(h)
		h.Close()
		err := c.Post(context.Background(), h.hookURL(), payload)
		if err == nil || Permanent(err) {
			t.Fatalf("err = %v, want a transient error", err)
		}
		if c.waits == nil || len(c.waits) != DefaultBackoff.Attempts-1 {
			t.Errorf("waits %v: a network failure is retried", c.waits)
		}
		noSecret(t, err, c.log.String())
	})
	t.Run("attempt timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release)
		h := &hookServer{Server: srv}
		c := newTestClient(h)
		c.AttemptTimeout = 20 * time.Millisecond
		c.Backoff = Backoff{Attempts: 2}
		err := c.Post(context.Background(), h.hookURL(), payload)
		if err == nil || Permanent(err) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want a transient deadline error", err)
		}
		noSecret(t, err, c.log.String())
	})
	t.Run("caller cancels", func(t *testing.T) {
		h := newHookServer(t, answer{status: 503})
		c := newTestClient(h)
		ctx, cancel := context.WithCancel(context.Background())
		c.Sleep = func(ctx context.Context, d time.Duration) error {
			cancel()
			return ctx.Err()
		}
		err := c.Post(ctx, h.hookURL(), payload)
		if !errors.Is(err, context.Canceled) || h.count() != 1 {
			t.Errorf("err %v after %d requests: want context.Canceled after one", err, h.count())
		}
		noSecret(t, err, c.log.String())
	})
}

func TestPostPacesEachWebhook(t *testing.T) {
	h := newHookServer(t)
	c := newTestClient(h)
	ctx := context.Background()
	other := h.URL + "/services/T0001AAAA/B0003CCCC/othersecret0123456789"
	for _, u := range []string{h.hookURL(), h.hookURL(), other, h.hookURL()} {
		if err := c.Post(ctx, u, payload); err != nil {
			t.Fatal(err)
		}
	}
	// The second post to the first webhook waits a second; the other
	// webhook does not wait; the fourth post's slot is a second after the
	// second's, which the clock has reached.
	if want := []time.Duration{time.Second, time.Second}; !slices.Equal(c.waits, want) {
		t.Errorf("waits %v, want %v", c.waits, want)
	}
	c.MinInterval = -1
	c.waits = nil
	for range 3 {
		if err := c.Post(ctx, h.hookURL(), payload); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.waits) != 0 {
		t.Errorf("waits %v with pacing off", c.waits)
	}
}

func TestPostRejectsBadURL(t *testing.T) {
	h := newHookServer(t)
	host := h.Listener.Addr().String()
	tests := []struct {
		name, url string
		loopback  bool
		want      string
	}{
		{name: "empty", url: "", want: "empty"},
		{name: "http", url: "http://" + host + hookPath, want: "https://"},
		{name: "other host", url: "https://hooks.example.com" + hookPath, want: "must be on " + host},
		{name: "slack lookalike", url: "https://hooks.slack.com.evil.example" + hookPath, want: "must be on"},
		{name: "user info", url: "https://" + secret + "@" + host + hookPath, want: "user name"},
		{name: "no path", url: "https://" + host + "/", want: "no path"},
		{name: "not a URL", url: "https://" + host + "/%zz" + secret, want: "not a URL"},
		{name: "no scheme", url: host + hookPath, want: "not a URL"},
		{name: "too long", url: "https://" + host + hookPath + strings.Repeat("a", MaxURLBytes), want: "at most"},
		{name: "http to a non-loopback host", url: "http://hooks.slack.com" + hookPath, loopback: true, want: "https://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(h)
			c.AllowHTTPLoopback = tt.loopback
			if tt.loopback {
				c.AllowedHosts = append(c.AllowedHosts, "hooks.slack.com")
			}
			err := c.Post(context.Background(), tt.url, payload)
			if !errors.Is(err, snapkeep.ErrInvalid) || !Permanent(err) {
				t.Fatalf("err = %v, want one wrapping snapkeep.ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			noSecret(t, err, c.log.String())
		})
	}
	if h.count() != 0 {
		t.Errorf("%d requests for bad URLs", h.count())
	}
}

func TestPostDefaultHostOnly(t *testing.T) {
	c := &Client{}
	if _, err := c.checkURL("https://hooks.slack.com/services/T000/B000/XXXX"); err != nil {
		t.Errorf("Slack's own webhook URL refused: %v", err)
	}
	if _, err := c.checkURL("https://HOOKS.SLACK.COM/services/T000/B000/XXXX"); err != nil {
		t.Errorf("host compared with case: %v", err)
	}
	if _, err := c.checkURL("https://127.0.0.1:8443/services/T000/B000/XXXX"); err == nil {
		t.Error("a host off the default list was accepted")
	}
}

func TestPostHTTPLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	c := &Client{AllowedHosts: []string{srv.Listener.Addr().String()}, Sleep: func(context.Context, time.Duration) error { return nil }}
	if err := c.Post(context.Background(), srv.URL+hookPath, payload); !errors.Is(err, snapkeep.ErrInvalid) {
		t.Errorf("http accepted without AllowHTTPLoopback: %v", err)
	}
	c.AllowHTTPLoopback = true
	if err := c.Post(context.Background(), srv.URL+hookPath, payload); err != nil {
		t.Errorf("http to an allowed loopback host with AllowHTTPLoopback: %v", err)
	}
}

func TestPostRejectsBadPayload(t *testing.T) {
	h := newHookServer(t)
	tests := []struct {
		name    string
		payload []byte
		want    string
	}{
		{name: "empty", payload: nil, want: "JSON object"},
		{name: "not JSON", payload: []byte("Backup failed"), want: "JSON object"},
		{name: "truncated", payload: payload[:len(payload)-1], want: "JSON object"},
		{name: "array", payload: []byte(`[{"text":"x"}]`), want: "JSON object"},
		{name: "too big", payload: []byte(`{"text":"` + strings.Repeat("x", MaxPayloadBytes) + `"}`), want: "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(h)
			err := c.Post(context.Background(), h.hookURL(), tt.payload)
			if !errors.Is(err, snapkeep.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalid saying %q", err, tt.want)
			}
		})
	}
	if h.count() != 0 {
		t.Errorf("%d requests for bad payloads", h.count())
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"1", time.Second}, {" 30 ", 30 * time.Second}, {"-5", 0}, {"soon", 0},
		{"Tue, 24 Nov 2026 03:01:00 GMT", time.Minute}, {"Tue, 24 Nov 2026 02:59:00 GMT", 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
