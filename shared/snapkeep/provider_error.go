package snapkeep

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ProviderError is a failed call to the provider (DigitalOcean), classified
// by its adapter (shared/docloud, the one place status → class is
// decided). The adapter's methods return it wrapped with context; the run
// service reads it with AsProviderError.
type ProviderError struct {
	// Class is the snapkeep error class.
	Class ErrorClass
	// StatusCode is the HTTP status, 0 when no response came.
	StatusCode int
	// ErrorID is DigitalOcean's error id from the body, e.g. "server_error".
	ErrorID string
	// Message is DigitalOcean's error message from the body, or the status
	// text when the body was not DigitalOcean's JSON (a gateway's page), a
	// note of the redirect's Location for a 3xx, or what went wrong when no
	// response came.
	Message string
	// RequestID is DigitalOcean's request id (x-request-id, else the body's).
	// ErrorID, Message and RequestID are each at most
	// MaxProviderText bytes, ending in Bound's note when cut.
	RequestID string
	// RetryAfter is how long DigitalOcean asked to wait (429 only): the
	// retry-after header, else the time until ratelimit-reset.
	RetryAfter time.Duration
	// Err is the underlying error.
	Err error
}

// Error implements error. The text never holds the token, and each part
// of it DigitalOcean controls is at most MaxProviderText bytes.
func (e *ProviderError) Error() string {
	var b strings.Builder
	b.WriteString("digitalocean: ")
	b.WriteString(string(e.Class))
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": %d", e.StatusCode)
		if e.ErrorID != "" {
			b.WriteString(" " + e.ErrorID)
		}
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request %s)", e.RequestID)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.StatusCode == 0 && e.Err != nil && e.Message == "" {
		b.WriteString(": " + Bound(e.Err.Error(), MaxProviderText))
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *ProviderError) Unwrap() error { return e.Err }

// Retried reports whether the run path retries a failure of this class
// (the one rule, ClassInfo.Retried).
func (e *ProviderError) Retried() bool { return e.Class.Info().Retried }

// AsProviderError returns the *ProviderError err wraps, if any.
func AsProviderError(err error) (*ProviderError, bool) {
	var e *ProviderError
	ok := errors.As(err, &e)
	return e, ok
}

type callKey struct{}

type call struct {
	op      Operation
	attempt int
}

// WithOperation returns a context whose provider requests are recorded as
// operation op, attempt number attempt (1 for the first try): the run
// service says what a call is for, the adapter's logging transport writes
// it on the ApiCalls row.
func WithOperation(ctx context.Context, op Operation, attempt int) context.Context {
	return context.WithValue(ctx, callKey{}, call{op, attempt})
}

// OperationFrom returns the operation and attempt WithOperation put in ctx,
// or "" and 0.
func OperationFrom(ctx context.Context) (op Operation, attempt int) {
	c, _ := ctx.Value(callKey{}).(call)
	return c.op, c.attempt
}
