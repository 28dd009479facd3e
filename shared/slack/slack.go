// Package slack posts messages to Slack incoming webhooks.
//
// Post sends a Block Kit payload (built elsewhere, by the notice package)
// to one webhook URL. It retries what Slack asks to retry — 429 (waiting
// as long as Retry-After says) and 5xx, with exponential backoff and
// jitter, a bounded number of times, on an injected Sleep — and paces posts
// to about one per second per webhook, Slack's documented rate. Every
// other answer is permanent: 400 invalid_payload, 403 action_prohibited,
// 404 channel_not_found or no_service, 410 channel_is_archived come back as
// a *Rejected carrying Slack's plain-text error code, so callers record it
// (snapkeep.Customer.SlackBlocked) and stop; Permanent tells them apart.
//
// A webhook URL is a secret: anyone holding it can post to the channel,
// and Slack revokes URLs it finds leaked. Post never puts the URL, or any
// part of its path, in an error or a log line; errors from net/http, which
// quote the URL, are unwrapped and scrubbed. Log lines name a webhook by a
// short fingerprint (the first 8 hex digits of its SHA-256) instead.
//
// Only https URLs on an allowed host are accepted: Client.AllowedHosts,
// hooks.slack.com by default. Tests and the local stack add their own
// server's host:port (an httptest.NewTLSServer, with its Client as
// Client.HTTP); AllowHTTPLoopback also admits plain http to a loopback
// host on that list, for a local webhook server without TLS.
package slack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/snapkeep/snapkeep/shared/backoff"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// DefaultHost is where Slack's incoming webhooks live.
const DefaultHost = "hooks.slack.com"

// MaxPayloadBytes bounds a payload. A Block Kit message is at most 50
// blocks of at most 3,000 characters; snapkeep's notices are a few KB.
const MaxPayloadBytes = 128 << 10

// MaxURLBytes bounds a webhook URL (Slack's are about 80 bytes).
const MaxURLBytes = 2048

// Defaults of a Client's zero fields.
const (
	// DefaultMinInterval is the least time between two posts to one
	// webhook: Slack allows about one message per second per webhook.
	DefaultMinInterval = time.Second
	// DefaultMaxRetryAfter is the longest Retry-After Post waits for;
	// beyond it, Post gives up with a transient error.
	DefaultMaxRetryAfter = 30 * time.Second
	// DefaultAttemptTimeout bounds one HTTP attempt, connection included.
	DefaultAttemptTimeout = 10 * time.Second
)

// maxResponseBody is how much of an answer Post reads: Slack's answers
// are one short word ("ok", "channel_not_found").
const maxResponseBody = 1 << 10

// Client posts to Slack incoming webhooks. The zero value is ready to use;
// it is safe for concurrent use when its fields are not changed.
type Client struct {
	// HTTP sends the requests; nil means a client with no cookie jar.
	// Post never follows redirects, whatever HTTP's CheckRedirect says: a
	// redirect would send the message somewhere else.
	HTTP *http.Client
	// AllowedHosts are the hosts (host or host:port, compared without
	// case) webhook URLs may point at; nil means just DefaultHost.
	AllowedHosts []string
	// AllowHTTPLoopback admits http:// URLs whose host is a loopback
	// address (127.0.0.1, ::1, localhost) and on AllowedHosts: for a local
	// webhook server without TLS. Never set in production.
	AllowHTTPLoopback bool
	// Backoff bounds the retries; zero means DefaultBackoff.
	Backoff Backoff
	// MinInterval is the least time between two posts to one webhook; 0
	// means DefaultMinInterval, negative means no pacing.
	MinInterval time.Duration
	// MaxRetryAfter is the longest Retry-After Post waits for; 0 means
	// DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// AttemptTimeout bounds each HTTP attempt; 0 means
	// DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// Now is the clock for pacing and HTTP-date Retry-After values; nil
	// means time.Now.
	Now func() time.Time
	// Sleep waits between attempts and for pacing; nil means a timer that
	// stops when ctx is done. Tests inject one that records the waits.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1) for the random half of each
	// backoff; nil means math/rand/v2.
	Jitter func() float64
	// Logger gets a line per retry (never the URL); nil means
	// slog.Default().
	Logger *slog.Logger

	mu   sync.Mutex
	next map[[sha256.Size]byte]time.Time // per webhook: the earliest next post
}

// Post sends payload, a JSON object (Slack's Block Kit message), to the
// incoming webhook at webhookURL. It returns nil once Slack answers 2xx.
// A bad URL or payload is an error wrapping snapkeep.ErrInvalid; an answer
// that retrying cannot change is a *Rejected; both are Permanent. Anything
// else (429 or 5xx after the retries, a network failure, ctx done) is a
// transient error. No error ever contains the URL.
func (c *Client) Post(ctx context.Context, webhookURL string, payload []byte) error {
	u, err := c.checkURL(webhookURL)
	if err != nil {
		return err
	}
	if err := checkPayload(payload); err != nil {
		return err
	}
	w := webhook{url: u, key: sha256.Sum256([]byte(webhookURL))}
	w.secrets = secretParts(u)
	b := c.Backoff.Or(DefaultBackoff)
	for n := 1; ; n++ {
		if err := c.pace(ctx, w.key); err != nil {
			return fmt.Errorf("slack webhook: waiting for the webhook's rate: %w", err)
		}
		a := c.attempt(ctx, w, payload)
		if a.done {
			return a.err
		}
		if n >= b.Attempts {
			return fmt.Errorf("slack webhook: giving up after %d attempts: %w", n, a.err)
		}
		wait := a.retryAfter
		if wait == 0 {
			wait = b.Wait(n, c.jitter())
		}
		if wait > c.maxRetryAfter() {
			return fmt.Errorf("slack webhook: Slack asks to wait %s, more than %s: %w", wait, c.maxRetryAfter(), a.err)
		}
		wait = max(wait, c.untilSlot(w.key)) // one wait, not backoff then pacing
		c.logger().WarnContext(ctx, "slack webhook: retrying", "webhook", w.fingerprint(), "attempt", n, "wait", wait.String(), "error", a.err.Error())
		if err := c.sleep()(ctx, wait); err != nil {
			return fmt.Errorf("slack webhook: waiting to retry after %d attempts: %w", n, err)
		}
	}
}

// webhook is one validated webhook URL, and what must never be shown of it.
type webhook struct {
	url     *url.URL
	key     [sha256.Size]byte
	secrets []string // the URL and its longer path and query parts
}

// fingerprint names the webhook in log lines without revealing it.
func (w webhook) fingerprint() string { return hex.EncodeToString(w.key[:4]) }

// outcome is what one attempt came to.
type outcome struct {
	// done: stop (success when err is nil, else a permanent error).
	done bool
	// err says what went wrong.
	err error
	// retryAfter is Slack's Retry-After, when it sent one.
	retryAfter time.Duration
}

// attempt makes one POST and says whether to stop or retry.
func (c *Client) attempt(ctx context.Context, w webhook, payload []byte) outcome {
	actx, cancel := context.WithTimeout(ctx, c.attemptTimeout())
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, w.url.String(), bytes.NewReader(payload))
	if err != nil { // cannot happen for a URL checkURL accepted; never show err (it quotes the URL)
		return outcome{done: true, err: fmt.Errorf("slack webhook: cannot build the request: %w", snapkeep.ErrInvalid)}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "snapkeep")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		// A network failure or the attempt's timeout is retried; the
		// caller's context ending is not.
		return outcome{done: ctx.Err() != nil, err: fmt.Errorf("slack webhook: post: %w", w.scrub(err))}
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection is reused
		_ = resp.Body.Close()
	}()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	code := w.errorCode(body)
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return outcome{done: true}
	case s == http.StatusTooManyRequests || s >= 500:
		return outcome{
			err:        fmt.Errorf("slack webhook: HTTP %d %s: %w", s, codeOrNone(code), ErrUnavailable),
			retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), c.now()),
		}
	default:
		return outcome{done: true, err: &Rejected{Status: s, Code: code}}
	}
}

// codePattern is what a Slack error code looks like ("channel_not_found").
var codePattern = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// errorCode returns Slack's plain-text error code from an answer's body,
// or "" when the body is not one (an HTML page from a proxy) or repeats a
// part of the URL.
func (w webhook) errorCode(body []byte) string {
	code := strings.TrimSpace(string(body))
	if !codePattern.MatchString(code) {
		return ""
	}
	for _, s := range w.secrets {
		if strings.Contains(s, code) || strings.Contains(code, s) {
			return ""
		}
	}
	return code
}

func codeOrNone(code string) string {
	if code == "" {
		return "(no error code)"
	}
	return code
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
// It returns 0 when there is none or it cannot be read.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// checkURL accepts only an https URL on an allowed host with a path. Its
// errors never repeat the URL.
func (c *Client) checkURL(raw string) (*url.URL, error) {
	hosts := c.AllowedHosts
	if hosts == nil {
		hosts = []string{DefaultHost}
	}
	bad := func(why string) error {
		return fmt.Errorf("slack webhook URL %s (the URL is a secret and is not repeated here): %w", why, snapkeep.ErrInvalid)
	}
	if raw == "" {
		return nil, bad("is empty")
	}
	if len(raw) > MaxURLBytes {
		return nil, bad(fmt.Sprintf("is %d bytes long, at most %d allowed", len(raw), MaxURLBytes))
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return nil, bad("is not a URL such as https://hooks.slack.com/services/T.../B.../...")
	}
	allowed := slices.ContainsFunc(hosts, func(h string) bool { return strings.EqualFold(h, u.Host) })
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && c.AllowHTTPLoopback && allowed && isLoopback(u.Hostname()):
	default:
		return nil, bad("must start with https://")
	}
	if u.User != nil {
		return nil, bad("must not carry a user name or password")
	}
	if !allowed {
		return nil, bad("must be on " + strings.Join(hosts, " or "))
	}
	if strings.Trim(u.Path, "/") == "" {
		return nil, bad("has no path (a Slack webhook looks like https://hooks.slack.com/services/T.../B.../...)")
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkPayload accepts a JSON object of at most MaxPayloadBytes.
func checkPayload(p []byte) error {
	if len(p) > MaxPayloadBytes {
		return fmt.Errorf("slack payload is %d bytes, at most %d allowed: %w", len(p), MaxPayloadBytes, snapkeep.ErrInvalid)
	}
	if t := bytes.TrimSpace(p); len(t) == 0 || t[0] != '{' || !json.Valid(t) {
		return fmt.Errorf("slack payload is not a JSON object (want Block Kit JSON such as {\"text\": ...}): %w", snapkeep.ErrInvalid)
	}
	return nil
}

// secretParts returns what of u must never be shown: the whole URL, its
// path, its query and each path segment of 8 or more characters (Slack's
// team, channel and token parts).
func secretParts(u *url.URL) []string {
	parts := []string{u.String(), u.EscapedPath(), u.Path}
	if u.RawQuery != "" {
		parts = append(parts, u.RawQuery)
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if len(seg) >= 8 {
			parts = append(parts, seg)
		}
	}
	return parts
}

// scrub returns err without the *url.Error around it (whose text quotes
// the URL), and with no wrapped cause at all if its text still shows a
// part of the URL.
func (w webhook) scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	for _, s := range w.secrets {
		if s != "" && strings.Contains(msg, s) {
			return errors.New("request failed (details withheld: they showed the webhook URL)")
		}
	}
	return err
}

// untilSlot returns how long until the webhook may be posted to again.
func (c *Client) untilSlot(key [sha256.Size]byte) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return max(c.next[key].Sub(c.now()), 0)
}

// pace waits until the webhook may be posted to again and reserves the
// slot after this post.
func (c *Client) pace(ctx context.Context, key [sha256.Size]byte) error {
	interval := c.MinInterval
	if interval == 0 {
		interval = DefaultMinInterval
	}
	if interval < 0 {
		return nil
	}
	c.mu.Lock()
	now := c.now()
	if c.next == nil {
		c.next = map[[sha256.Size]byte]time.Time{}
	}
	if len(c.next) > 1024 { // forget webhooks that are free again
		for k, t := range c.next {
			if !t.After(now) {
				delete(c.next, k)
			}
		}
	}
	at := now
	if t := c.next[key]; t.After(now) {
		at = t
	}
	c.next[key] = at.Add(interval)
	c.mu.Unlock()
	if wait := at.Sub(now); wait > 0 {
		return c.sleep()(ctx, wait)
	}
	return nil
}

func (c *Client) httpClient() *http.Client {
	hc := http.Client{}
	if c.HTTP != nil {
		hc = *c.HTTP
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) sleep() func(context.Context, time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep
	}
	return backoff.Sleep
}

func (c *Client) jitter() func() float64 {
	if c.Jitter != nil {
		return c.Jitter
	}
	return backoff.Jitter
}

func (c *Client) maxRetryAfter() time.Duration {
	if c.MaxRetryAfter > 0 {
		return c.MaxRetryAfter
	}
	return DefaultMaxRetryAfter
}

func (c *Client) attemptTimeout() time.Duration {
	if c.AttemptTimeout > 0 {
		return c.AttemptTimeout
	}
	return DefaultAttemptTimeout
}

func (c *Client) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}
