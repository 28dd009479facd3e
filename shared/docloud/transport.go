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
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/digitalocean/godo"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Recorder receives one snapkeep.APICall per HTTP attempt, transport errors
// included. The transport fills Operation, Attempt, Host, Method, Path,
// RequestHeaders (Authorization snapkeep.Redacted), StatusCode,
// ResponseHeaders, StartedAt, DurationMS, ProviderRequestID, ErrorID,
// ErrorMessage, TransportError, Class and FailureHour; the recorder fills
// RunID, Seq, PolicyID, ResourceKey, Region, AccountID and ExpiresAt.
//
// Record is called synchronously by the Client method that made the
// request, on its goroutine, once the method knows its outcome (so that a
// 2xx whose body could not be used is recorded as provider_error), before
// the method returns; concurrent methods may call it concurrently. Every
// text and header of the row is scrubbed of the token and bounded
// (snapkeep.Bound, snapkeep.BoundHeaders). A request that was never sent
// (an invalid id, a malformed token, a host other than the API's) makes no
// row.
type Recorder interface {
	Record(ctx context.Context, call snapkeep.APICall)
}

// RecorderFunc adapts a function to a Recorder.
type RecorderFunc func(ctx context.Context, call snapkeep.APICall)

// Record calls f(ctx, call).
func (f RecorderFunc) Record(ctx context.Context, call snapkeep.APICall) { f(ctx, call) }

// WithOperation is snapkeep.WithOperation: requests made with the context
// are recorded as operation op, attempt number attempt.
func WithOperation(ctx context.Context, op snapkeep.Operation, attempt int) context.Context {
	return snapkeep.WithOperation(ctx, op, attempt)
}

// OperationFrom is snapkeep.OperationFrom.
func OperationFrom(ctx context.Context) (op snapkeep.Operation, attempt int) {
	return snapkeep.OperationFrom(ctx)
}

// maxBody bounds the response body the transport buffers (snapshot lists of
// 200 are a few hundred KB).
const maxBody = 16 << 20

// Response headers the transport reads.
const (
	headerRateLimit     = "Ratelimit-Limit"
	headerRateRemaining = "Ratelimit-Remaining"
	headerRateReset     = "Ratelimit-Reset"
	headerRequestID     = "X-Request-Id"
	headerRetryAfter    = "Retry-After"
	headerDate          = "Date"
	headerLocation      = "Location"
)

// transport is the logging http.RoundTripper the godo client's http.Client
// uses. For every attempt it checks the request goes to the API host, sets
// the Authorization header, reads the whole response body (so a body cut
// short is a transport error, and a decode error afterwards can only mean
// malformed JSON), parses and bounds DigitalOcean's error body, notes the
// rate-limit headers and the clock skew, and holds the call for the Client
// method to record (see held).
type transport struct {
	base     http.RoundTripper
	token    string
	origin   origin // the configured API's scheme and host
	refuse   error  // when set, nothing is sent (a malformed token)
	recorder Recorder
	now      func() time.Time

	mu         sync.Mutex
	rate       godo.Rate // the last rate-limit headers seen, for Rate
	rateSeen   bool
	hourly     godo.Rate // the last seen on a response that was not a burst 429
	hourlySeen bool
	burstUntil time.Time       // a burst 429's retry-after, on our clock
	sent       []time.Time     // send times within the last minute, oldest first
	skews      []time.Duration // the last few clock-skew samples, oldest first
}

// origin is a URL's scheme and host, lower case, without the scheme's
// default port.
type origin struct{ scheme, host string }

func originOf(u *url.URL) origin {
	o := origin{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Host)}
	switch {
	case o.scheme == "https" && strings.HasSuffix(o.host, ":443"):
		o.host = strings.TrimSuffix(o.host, ":443")
	case o.scheme == "http" && strings.HasSuffix(o.host, ":80"):
		o.host = strings.TrimSuffix(o.host, ":80")
	}
	return o
}

func (o origin) String() string { return o.scheme + "://" + o.host }

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

// attempt is one HTTP attempt, held until the Client method that made it
// knows its outcome.
type attempt struct {
	call snapkeep.APICall
	resp *http.Response // nil when no response came
	// apiErr is the parsed (bounded) error body of a non-2xx response.
	apiErr *apiError
	// usable2xx is true for a 2xx whose body was read whole: if the
	// method still fails, godo could not decode it.
	usable2xx bool
}

// held collects the attempts of one Client method call; the method puts
// it in the request's context and records its attempts on return.
type held struct {
	mu   sync.Mutex
	list []attempt
}

type heldKey struct{}

func (h *held) add(a attempt) {
	h.mu.Lock()
	h.list = append(h.list, a)
	h.mu.Unlock()
}

func (h *held) take() []attempt {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.list
	h.list = nil
	return l
}

// last returns the latest attempt, false when none was made.
func (h *held) last() (attempt, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.list) == 0 {
		return attempt{}, false
	}
	return h.list[len(h.list)-1], true
}

// apiErrorOf returns the parsed error body of resp, nil when none.
func (h *held) apiErrorOf(resp *http.Response) *apiError {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.list) - 1; i >= 0; i-- {
		if h.list[i].resp == resp {
			return h.list[i].apiErr
		}
	}
	return nil
}

// hostError is the refusal to send the token to a host other than the
// configured API host.
func (t *transport) hostError(u *url.URL) error {
	return &Error{Class: snapkeep.ClassInternal, Message: bound(fmt.Sprintf(
		"refused to send the DigitalOcean token to %s: the configured API host is %s; no request was sent",
		t.scrub(originOf(u).String()), t.origin))}
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.refuse != nil {
		return nil, t.refuse
	}
	if originOf(req.URL) != t.origin {
		return nil, t.hostError(req.URL)
	}
	ctx := req.Context()
	r := req.Clone(ctx)
	r.Header.Set("Authorization", "Bearer "+t.token)
	op, n := OperationFrom(ctx)
	a := attempt{call: snapkeep.APICall{
		Operation:      op,
		Attempt:        n,
		Host:           t.origin.host,
		Method:         r.Method,
		Path:           r.URL.RequestURI(),
		RequestHeaders: flatten(r.Header),
	}}
	start := t.now()
	a.call.StartedAt = start.UTC()
	t.noteSent(start)

	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, t.failed(ctx, &a, start, t.now(), err)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	resp.Body.Close()
	end := t.now()
	a.call.StatusCode = resp.StatusCode
	a.call.ResponseHeaders = flatten(resp.Header)
	a.call.ProviderRequestID = resp.Header.Get(headerRequestID)
	t.noteResponse(resp.StatusCode, resp.Header, start, end)
	if err == nil && len(data) > maxBody {
		err = fmt.Errorf("response body exceeds %d bytes", maxBody)
	}
	if err != nil {
		return nil, t.failed(ctx, &a, start, end, fmt.Errorf("reading response body: %w", err))
	}
	a.call.DurationMS = max(end.Sub(start).Milliseconds(), 0)
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		a.usable2xx = true
	case code >= 300 && code < 400:
		a.call.ErrorMessage = redirectMessage(code, t.scrub(resp.Header.Get(headerLocation)))
		data = boundBody(data)
	default:
		data = t.parseErrorBody(&a, data)
	}
	resp.Body = body{bytes.NewReader(data)}
	resp.ContentLength = int64(len(data))
	a.resp = resp
	t.hold(ctx, a)
	return resp, nil
}

// failed holds an attempt that got no (whole) response and returns its
// error, scrubbed of the token.
func (t *transport) failed(ctx context.Context, a *attempt, start, end time.Time, err error) error {
	err = t.scrubErr(err)
	a.call.TransportError = err.Error()
	a.call.DurationMS = max(end.Sub(start).Milliseconds(), 0)
	t.hold(ctx, *a)
	return err
}

// parseErrorBody reads DigitalOcean's error body into a and returns the
// body godo is handed instead: the same JSON with each field scrubbed and
// bounded, or a non-JSON page cut to snapkeep.MaxProviderText bytes, so
// that no error godo builds holds an unbounded text.
func (t *transport) parseErrorBody(a *attempt, data []byte) []byte {
	var ae apiError
	if json.Unmarshal(data, &ae) != nil || (ae.ID == "" && ae.Message == "" && ae.RequestID == "") {
		return boundBody(data)
	}
	ae = apiError{ID: bound(t.scrub(ae.ID)), Message: bound(t.scrub(ae.Message)), RequestID: bound(t.scrub(ae.RequestID))}
	a.apiErr = &ae
	a.call.ErrorID = ae.ID
	a.call.ErrorMessage = ae.Message
	if a.call.ProviderRequestID == "" {
		a.call.ProviderRequestID = ae.RequestID
	}
	b, err := json.Marshal(ae)
	if err != nil {
		return boundBody(data)
	}
	return b
}

// boundBody cuts a body that is not DigitalOcean's error JSON (a gateway's
// page) to snapkeep.MaxProviderText bytes.
func boundBody(data []byte) []byte {
	if len(data) <= snapkeep.MaxProviderText {
		return data
	}
	return data[:snapkeep.MaxProviderText]
}

// hold hands the attempt to the Client method that made it (through the
// request's context); a request made without one is recorded at once,
// classified by its status alone.
func (t *transport) hold(ctx context.Context, a attempt) {
	if h, ok := ctx.Value(heldKey{}).(*held); ok {
		h.add(a)
		return
	}
	a.call.Class = a.statusClass()
	t.record(ctx, &a.call)
}

// statusClass is the attempt's class by its status alone (the one rule,
// classOfStatus), network when no response came.
func (a *attempt) statusClass() snapkeep.ErrorClass {
	if a.call.TransportError != "" {
		return snapkeep.ClassNetwork
	}
	return classOfStatus(a.call.StatusCode, a.call.ErrorMessage)
}

// settle records the attempts a Client method made, now that it knows its
// outcome err: the last takes err's class ("" for a success; a 2xx whose
// body could not be used is provider_error), any before it the class of
// its status. Without redirects there is at most one.
func (t *transport) settle(ctx context.Context, h *held, err error) {
	list := h.take()
	for i := range list {
		call := &list[i].call
		call.Class = list[i].statusClass()
		if i == len(list)-1 {
			call.Class = ""
			if e := Classify(err); e != nil {
				call.Class = e.Class
				if list[i].usable2xx && call.ErrorMessage == "" {
					// A 2xx the client could not use: say why on the row.
					call.ErrorMessage = e.Message
				}
			}
		}
		t.record(ctx, call)
	}
}

// record completes and records call. Every text field is scrubbed of the
// token once more, whatever echoed it, and then bounded (scrubbing first,
// so a cut never leaves part of the token).
func (t *transport) record(ctx context.Context, call *snapkeep.APICall) {
	call.Path = bound(t.scrub(call.Path))
	call.ErrorMessage = bound(t.scrub(call.ErrorMessage))
	call.TransportError = bound(t.scrub(call.TransportError))
	call.ProviderRequestID = bound(t.scrub(call.ProviderRequestID))
	call.ErrorID = bound(t.scrub(call.ErrorID))
	for _, h := range []map[string]string{call.RequestHeaders, call.ResponseHeaders} {
		for k, v := range h {
			h[k] = t.scrub(v)
		}
	}
	call.RequestHeaders = boundHeaders(call.RequestHeaders)
	call.ResponseHeaders = boundHeaders(call.ResponseHeaders)
	if call.Failed() || call.Class != "" {
		call.FailureHour = call.StartedAt.UTC().Format(snapkeep.FailureHourFormat)
	}
	if t.recorder != nil {
		t.recorder.Record(ctx, *call)
	}
}

// boundHeaders is snapkeep.BoundHeaders without its copy when h already
// fits (the usual answer's dozen short headers): fewer allocations on
// every call. TestBoundHeadersAgrees holds it to the domain's result.
func boundHeaders(h map[string]string) map[string]string {
	total := 0
	for k, v := range h {
		total += len(k) + len(v)
		if len(k) > maxHeaderName || len(v) > snapkeep.MaxHeaderValue || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return snapkeep.BoundHeaders(h)
		}
	}
	if len(h) >= snapkeep.MaxHeaders || total > snapkeep.MaxHeaderBytes-64 {
		return snapkeep.BoundHeaders(h)
	}
	return h
}

// maxHeaderName is the longest header name snapkeep.BoundHeaders keeps whole.
const maxHeaderName = 128

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
