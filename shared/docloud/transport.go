package docloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/digitalocean/godo"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Recorder receives one snapkeep.APICall per HTTP attempt, transport errors
// included. The transport fills Operation, Attempt, Method, Path,
// RequestHeaders (Authorization snapkeep.Redacted), StatusCode,
// ResponseHeaders, StartedAt, DurationMS, ProviderRequestID, ErrorID,
// ErrorMessage, TransportError and FailureHour; the recorder fills RunID,
// Seq, PolicyID, ResourceKey, Region and ExpiresAt. Record is called
// synchronously on the request's goroutine, after the response body has
// been read, and may be called concurrently by concurrent requests.
type Recorder interface {
	Record(ctx context.Context, call snapkeep.APICall)
}

// RecorderFunc adapts a function to a Recorder.
type RecorderFunc func(ctx context.Context, call snapkeep.APICall)

// Record calls f(ctx, call).
func (f RecorderFunc) Record(ctx context.Context, call snapkeep.APICall) { f(ctx, call) }

type operationKey struct{}

type operation struct {
	name    snapkeep.Operation
	attempt int
}

// WithOperation returns a context whose requests are recorded as operation
// op (e.g. snapkeep.OpSnapshotDroplet), attempt number attempt (1 for the
// first try).
func WithOperation(ctx context.Context, op snapkeep.Operation, attempt int) context.Context {
	return context.WithValue(ctx, operationKey{}, operation{op, attempt})
}

// OperationFrom returns the operation and attempt WithOperation put in ctx,
// or "" and 0.
func OperationFrom(ctx context.Context) (op snapkeep.Operation, attempt int) {
	o, _ := ctx.Value(operationKey{}).(operation)
	return o.name, o.attempt
}

// maxBody bounds the response body the transport buffers (snapshot lists of
// 200 are a few hundred KB).
const maxBody = 16 << 20

// Rate-limit response headers.
const (
	headerRateLimit     = "Ratelimit-Limit"
	headerRateRemaining = "Ratelimit-Remaining"
	headerRateReset     = "Ratelimit-Reset"
	headerRequestID     = "X-Request-Id"
	headerRetryAfter    = "Retry-After"
)

// transport is the logging http.RoundTripper the godo client's http.Client
// uses. For every attempt it sets the Authorization header, reads the whole
// response body (so a body cut short is a transport error, and a decode
// error afterwards can only mean malformed JSON), parses DigitalOcean's
// error body, notes the rate-limit headers and records the call.
type transport struct {
	base     http.RoundTripper
	token    string
	recorder Recorder
	now      func() time.Time

	mu       sync.Mutex
	rate     godo.Rate
	rateSeen bool
	sent     []time.Time // send times within the last minute, oldest first
	// apiErrs holds the parsed error bodies of non-2xx responses until the
	// Client method that made the request takes them (godo keeps the
	// *http.Response but not the id; http.Client may wrap the body, so the
	// response pointer is the key).
	apiErrs map[*http.Response]apiError
}

// apiError is DigitalOcean's error body.
type apiError struct {
	ID        string `json:"id"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// body is the buffered response body handed to godo.
type body struct{ *bytes.Reader }

// Close implements io.Closer.
func (body) Close() error { return nil }

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	r := req.Clone(ctx)
	if t.token != "" {
		r.Header.Set("Authorization", "Bearer "+t.token)
	}
	op, attempt := OperationFrom(ctx)
	call := snapkeep.APICall{
		Operation:      op,
		Attempt:        attempt,
		Method:         r.Method,
		Path:           r.URL.RequestURI(),
		RequestHeaders: flatten(r.Header),
	}
	start := t.now()
	call.StartedAt = start.UTC()
	t.noteSent(start)

	resp, err := t.base.RoundTrip(r)
	if err != nil {
		err = t.scrubErr(err)
		call.TransportError = err.Error()
		t.finish(ctx, &call, start)
		return nil, err
	}
	call.StatusCode = resp.StatusCode
	call.ResponseHeaders = flatten(resp.Header)
	call.ProviderRequestID = resp.Header.Get(headerRequestID)
	t.noteRate(resp.Header)

	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	resp.Body.Close()
	if err == nil && len(data) > maxBody {
		err = fmt.Errorf("response body exceeds %d bytes", maxBody)
	}
	if err != nil {
		err = t.scrubErr(fmt.Errorf("reading response body: %w", err))
		call.TransportError = err.Error()
		t.finish(ctx, &call, start)
		return nil, err
	}
	if resp.StatusCode >= 400 {
		var ae apiError
		if json.Unmarshal(data, &ae) != nil {
			ae = apiError{}
		}
		ae.Message = t.scrub(ae.Message)
		call.ErrorID = ae.ID
		call.ErrorMessage = ae.Message
		if call.ProviderRequestID == "" {
			call.ProviderRequestID = ae.RequestID
		}
		t.mu.Lock()
		if t.apiErrs == nil {
			t.apiErrs = make(map[*http.Response]apiError)
		}
		t.apiErrs[resp] = ae
		t.mu.Unlock()
	}
	resp.Body = body{bytes.NewReader(data)}
	resp.ContentLength = int64(len(data))
	t.finish(ctx, &call, start)
	return resp, nil
}

// finish completes and records call. Every text field is scrubbed of the
// token once more, whatever echoed it.
func (t *transport) finish(ctx context.Context, call *snapkeep.APICall, start time.Time) {
	call.Path = t.scrub(call.Path)
	call.ErrorMessage = t.scrub(call.ErrorMessage)
	call.TransportError = t.scrub(call.TransportError)
	call.ProviderRequestID = t.scrub(call.ProviderRequestID)
	call.ErrorID = t.scrub(call.ErrorID)
	for _, h := range []map[string]string{call.RequestHeaders, call.ResponseHeaders} {
		for k, v := range h {
			h[k] = t.scrub(v)
		}
	}
	call.DurationMS = t.now().Sub(start).Milliseconds()
	if call.DurationMS < 0 {
		call.DurationMS = 0
	}
	if call.Failed() {
		call.FailureHour = call.StartedAt.UTC().Format(snapkeep.FailureHourFormat)
	}
	if t.recorder != nil {
		t.recorder.Record(ctx, *call)
	}
}

// flatten turns headers into lower-case names mapped to their values joined
// with ", ", with Authorization (and Proxy-Authorization) redacted.
func flatten(h http.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	m := make(map[string]string, len(h))
	for k, vs := range h {
		name := strings.ToLower(k)
		switch name {
		case "authorization", "proxy-authorization":
			m[name] = snapkeep.Redacted
		default:
			m[name] = strings.Join(vs, ", ")
		}
	}
	return m
}

// scrub replaces the token in s.
func (t *transport) scrub(s string) string {
	if t.token == "" {
		return s
	}
	return strings.ReplaceAll(s, t.token, snapkeep.Redacted)
}

// scrubErr returns err if its text does not hold the token, else an error
// with the token replaced that keeps errors.Is and net.Error's Timeout but
// does not unwrap to the original (whose text holds the token).
func (t *transport) scrubErr(err error) error {
	if t.token == "" || !strings.Contains(err.Error(), t.token) {
		return err
	}
	s := &scrubbedError{msg: t.scrub(err.Error()), orig: err}
	var ne net.Error
	if errors.As(err, &ne) {
		s.timeout = ne.Timeout()
	}
	return s
}

type scrubbedError struct {
	msg     string
	timeout bool
	orig    error
}

func (e *scrubbedError) Error() string        { return e.msg }
func (e *scrubbedError) Timeout() bool        { return e.timeout }
func (e *scrubbedError) Temporary() bool      { return false }
func (e *scrubbedError) Is(target error) bool { return errors.Is(e.orig, target) }

// takeAPIError returns and forgets the parsed error body of resp.
func (t *transport) takeAPIError(resp *http.Response) (apiError, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ae, ok := t.apiErrs[resp]
	delete(t.apiErrs, resp)
	return ae, ok
}

// noteRate keeps the rate-limit headers of a response that has them.
func (t *transport) noteRate(h http.Header) {
	limit, err := strconv.Atoi(h.Get(headerRateLimit))
	if err != nil {
		return
	}
	rate := godo.Rate{Limit: limit}
	if v, err := strconv.Atoi(h.Get(headerRateRemaining)); err == nil {
		rate.Remaining = v
	}
	if v, err := strconv.ParseInt(h.Get(headerRateReset), 10, 64); err == nil {
		rate.Reset = godo.Timestamp{Time: time.Unix(v, 0).UTC()}
	}
	t.mu.Lock()
	t.rate = rate
	t.rateSeen = true
	t.mu.Unlock()
}

// noteSent remembers a request's start for the per-minute guard.
func (t *transport) noteSent(at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sent = append(pruneMinute(t.sent, at), at)
}

// pruneMinute drops the times more than a minute before now, keeping order.
func pruneMinute(sent []time.Time, now time.Time) []time.Time {
	cut := now.Add(-time.Minute)
	i := sort.Search(len(sent), func(i int) bool { return sent[i].After(cut) })
	if i == 0 {
		return sent
	}
	return append(sent[:0], sent[i:]...)
}
