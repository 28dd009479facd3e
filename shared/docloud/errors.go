package docloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/digitalocean/godo"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Error is a failed DigitalOcean call, classified: the domain's
// snapkeep.ProviderError, which the run service reads without importing
// this adapter. Client methods return it wrapped with context; get it back
// with Classify or errors.As.
type Error = snapkeep.ProviderError

// Classify maps an error from a Client method (or from godo through our
// transport) to a snapkeep error class; it returns nil for nil and the
// *Error itself when err already wraps one.
//
//   - 500, 502, 503, 504 and any other 5xx, JSON or not → provider_error
//   - 3xx (a redirect, never followed: the token stays on the API host) → provider_error
//   - 2xx whose body the client could not use (malformed JSON, a bad time,
//     an action id below 1, a missing object) → provider_error
//   - 429 → rate_limited, RetryAfter from retry-after, else ratelimit-reset
//     (relative to the response's date header, else the wall clock)
//   - 422 saying a pending event or an action already in progress → resource_busy
//   - 422 mentioning a limit or quota (case-insensitive) → quota_exceeded
//   - other 422 → invalid_policy
//   - 401, 403 → auth_revoked; so is a stored token that is malformed
//     (never sent)
//   - 404 → resource_missing
//   - other 4xx → internal (snapkeep sent a request DigitalOcean rejects)
//   - godo's argument errors (no request made) → invalid_policy
//   - timeouts, resets, EOF, DNS, refused connections, context deadline
//     or cancellation → network
//   - a request the transport refused to send (another host) → internal
//   - anything else → internal
//
// The status rows of this table live in classOfStatus only; the ApiCalls
// rows are classified by the same code.
func Classify(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var er *godo.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		e = fromResponse(er, err, nil)
		sanitize(e, nil)
		return e
	}
	var arg *godo.ArgError
	if errors.As(err, &arg) {
		return &Error{Class: snapkeep.ClassInvalidPolicy, Message: bound(arg.Error()), Err: err}
	}
	if isNetwork(err) {
		return &Error{Class: snapkeep.ClassNetwork, Err: err}
	}
	if isDecode(err) {
		// The transport buffers every body before godo decodes it, so a
		// decode error here is a malformed body, not a cut connection.
		return malformedBody(err)
	}
	return &Error{Class: snapkeep.ClassInternal, Err: err}
}

// isDecode reports whether err is what decoding a JSON body can fail with
// (a bad time is godo.Timestamp's *time.ParseError).
func isDecode(err error) bool {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tpe *time.ParseError
	return errors.As(err, &syn) || errors.As(err, &typ) || errors.As(err, &tpe) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// malformedBody is the error for a 2xx body godo could not decode.
func malformedBody(err error) *Error {
	return &Error{Class: snapkeep.ClassProviderError, Message: bound("malformed response body: " + err.Error()), Err: err}
}

func isNetwork(err error) bool {
	var ue *url.Error
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &ue) || errors.As(err, &ne) || errors.As(err, &oe) || errors.As(err, &de) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED)
}

// fromResponse classifies an error response; ae is the error body our
// transport parsed, nil when the error did not come through it (then
// godo's message is used if the body was JSON). The caller sanitizes the
// texts.
func fromResponse(er *godo.ErrorResponse, err error, ae *apiError) *Error {
	resp := er.Response
	e := &Error{StatusCode: resp.StatusCode, RequestID: resp.Header.Get(headerRequestID), Err: err}
	switch {
	case ae != nil:
		e.ErrorID, e.Message = ae.ID, ae.Message
		if e.RequestID == "" {
			e.RequestID = ae.RequestID
		}
	default:
		if strings.Contains(resp.Header.Get("Content-Type"), "json") {
			e.Message = er.Message
		}
		if e.RequestID == "" {
			e.RequestID = er.RequestID
		}
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		e.Message = redirectMessage(resp.StatusCode, resp.Header.Get("Location"))
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	e.Class = classOfStatus(resp.StatusCode, e.Message)
	if e.Class == snapkeep.ClassRateLimited {
		e.RetryAfter = retryAfter(resp.Header)
	}
	return e
}

// classOfStatus is snapkeep.ClassOfStatus, the one rule from an HTTP
// status (and, for a 422, DigitalOcean's message) to an error class; ""
// for a 2xx. Classify and the ApiCalls rows both use it.
func classOfStatus(code int, message string) snapkeep.ErrorClass {
	return snapkeep.ClassOfStatus(code, message)
}

// redirectMessage says that DigitalOcean's API answered a redirect, which
// snapkeep never follows.
func redirectMessage(code int, location string) string {
	if location == "" {
		location = "no location"
	}
	return fmt.Sprintf("unexpected redirect (%d %s) to %s, not followed", code, http.StatusText(code), location)
}

// sanitize scrubs e's provider texts with scrub (when not nil: the token
// must go before a cut could split it) and bounds them.
func sanitize(e *Error, scrub func(string) string) {
	for _, s := range []*string{&e.ErrorID, &e.Message, &e.RequestID} {
		if scrub != nil {
			*s = scrub(*s)
		}
		*s = bound(*s)
	}
}

// bound cuts a provider-controlled text to snapkeep.MaxProviderText.
func bound(s string) string { return snapkeep.Bound(s, snapkeep.MaxProviderText) }

// retryAfter reads retry-after (seconds or an HTTP date), else the time
// until ratelimit-reset, measured from the response's date header (else
// the wall clock).
func retryAfter(h http.Header) time.Duration {
	if d, ok := retryAfterHeader(h); ok {
		return d
	}
	if v, err := strconv.ParseInt(h.Get(headerRateReset), 10, 64); err == nil {
		if d := time.Unix(v, 0).Sub(responseDate(h)); d > 0 {
			return d
		}
	}
	return 0
}

// retryAfterHeader reads retry-after alone (seconds, or an HTTP date
// measured from the response's date header); false when it is absent or
// unreadable. DigitalOcean sends it on a burst (per-minute) 429 only.
func retryAfterHeader(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get(headerRetryAfter))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 && s < math.MaxInt32 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(responseDate(h)), 0), true
	}
	return 0, false
}

// responseDate is the response's date header, else the wall clock.
func responseDate(h http.Header) time.Time {
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		return d
	}
	return time.Now()
}
