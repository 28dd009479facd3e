// Package clockfile gives the function binaries the local runner's virtual
// clock, so that cmd/snaplocal can play two days through the real
// bootstrap binaries in a minute or two. It is never active in
// production: a function uses it only when SNAPKEEP_CLOCK_FILE is set,
// which template.yaml never does, and refuses to start when it is set
// while the AWS endpoint is not on a loopback address (the local stack).
//
// # How it works
//
// The runner writes the virtual time to a file (Write: one RFC 3339 line,
// replaced atomically) before each step of its clock. A function wraps its
// handler with Clock.Handler, which reads the file at the start of every
// invocation. During the invocation the clock runs on from that time at
// the wall clock's pace (a DigitalOcean call of 80 ms takes 80 ms, as in
// Lambda), and Sleep moves it on without waiting: a backoff of two
// seconds takes no wall time. The next invocation starts again from the
// file. A process that handles no invocation yet reads the file when the
// Clock is opened.
//
// # Why a file
//
// The clock had to reach processes that the runner does not control
// beyond their environment (the Lambda Runtime API gives a handler no
// channel besides its payload, and the payload is the production
// contract). A file is read once per invocation (a few microseconds),
// needs no server, and an unset variable leaves the function exactly as
// it ships: Now and Sleep are nil (the real ones) and the handler is not
// wrapped.
//
// # What it does not do
//
// The fake DigitalOcean reads the runner's clock, which stands still
// during a step, while a function's clock runs on (and a Sleep moves it):
// a call made after an inline wait (a 429's retry-after of a few seconds,
// the one- and two-second GET retries) reaches the fake at the instant the
// step began, so the fake's rate-limit windows and Date header lag the
// function by those seconds. At the demo's traffic no budget is near its
// limit; the rate-limit behaviour itself is tested on the real clock
// (shared/docloud, shared/snapshot's load simulation).
package clockfile

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

// EnvVar names the clock file; only the local stack sets it.
const EnvVar = "SNAPKEEP_CLOCK_FILE"

// endpointVar is the AWS SDK's endpoint override, which the local stack
// points at moto; the virtual clock is refused without it.
const endpointVar = "AWS_ENDPOINT_URL"

// maxFileBytes bounds what is read from the file (one RFC 3339 line).
const maxFileBytes = 128

// Clock is a virtual clock read from a file. A nil *Clock is the real
// clock: NowFunc and SleepFunc return nil and Handler returns the handler
// unchanged, so production wiring stays as it is.
type Clock struct {
	path string
	wall func() time.Time // the wall clock (time.Now; tests replace it)

	mu    sync.Mutex
	base  time.Time     // the virtual time read from the file
	since time.Time     // the wall time it was read
	slept time.Duration // Sleep's virtual waits since then
}

// FromEnv returns the clock that getenv's SNAPKEEP_CLOCK_FILE names, or
// nil (the real clock) when it is unset. It is an error to set it when
// AWS_ENDPOINT_URL is not an http(s) URL on a loopback host: a function
// deployed with the variable by mistake stops at init, saying so, rather
// than run on a stale clock.
func FromEnv(getenv func(string) string) (*Clock, error) {
	path := strings.TrimSpace(getenv(EnvVar))
	if path == "" {
		return nil, nil
	}
	if err := checkLocal(getenv(endpointVar)); err != nil {
		return nil, fmt.Errorf("%s is set, but %w: the virtual clock is for the local stack (cmd/snaplocal) only; unset %s", EnvVar, err, EnvVar)
	}
	return Open(path)
}

// checkLocal says why endpoint is not the local stack's.
func checkLocal(endpoint string) error {
	if endpoint == "" {
		return fmt.Errorf("%s is not set", endpointVar)
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%s is not an http(s) URL", endpointVar)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s's host %q is not a loopback address", endpointVar, host)
}

// Open returns the clock of the file at path, read once now.
func Open(path string) (*Clock, error) {
	c := &Clock{path: path, wall: time.Now}
	if err := c.Refresh(); err != nil {
		return nil, err
	}
	return c, nil
}

// Refresh reads the file again: the clock restarts from its time.
func (c *Clock) Refresh() error {
	t, err := Read(c.path)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.since, c.slept = t, c.wall(), 0
	return nil
}

// Now is the file's time plus the wall time since it was read plus the
// virtual waits of Sleep, in UTC.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(c.wall().Sub(c.since) + c.slept).UTC()
}

// Sleep moves the clock on by d without waiting; it returns ctx's error
// when ctx is done, like a real sleep cut short.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d > 0 {
		c.mu.Lock()
		c.slept += d
		c.mu.Unlock()
	}
	return nil
}

// NowFunc returns c.Now, or nil for a nil Clock (the wiring's "real
// clock").
func (c *Clock) NowFunc() func() time.Time {
	if c == nil {
		return nil
	}
	return c.Now
}

// SleepFunc returns c.Sleep, or nil for a nil Clock (real sleeps).
func (c *Clock) SleepFunc() func(context.Context, time.Duration) error {
	if c == nil {
		return nil
	}
	return c.Sleep
}

// Handler returns what to give lambda.Start: for a nil Clock, handler
// itself; otherwise a lambda.Handler that refreshes the clock from the
// file at the start of each invocation and then calls handler (any
// handler lambda.Start accepts). An unreadable file fails the invocation.
func (c *Clock) Handler(handler any) any {
	if c == nil {
		return handler
	}
	return refreshing{clock: c, next: lambda.NewHandler(handler)}
}

// refreshing is the wrapped handler.
type refreshing struct {
	clock *Clock
	next  lambda.Handler
}

// Invoke implements lambda.Handler.
func (r refreshing) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if err := r.clock.Refresh(); err != nil {
		return nil, fmt.Errorf("virtual clock: %w", err)
	}
	return r.next.Invoke(ctx, payload)
}

// Read returns the time in the clock file at path.
func Read(path string) (time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}, fmt.Errorf("clock file: %w", err)
	}
	defer f.Close()
	buf := make([]byte, maxFileBytes+1)
	n, err := f.Read(buf)
	if err != nil && n == 0 {
		return time.Time{}, fmt.Errorf("clock file %s: %w", path, err)
	}
	if n > maxFileBytes {
		return time.Time{}, fmt.Errorf("clock file %s: more than %d bytes: want one RFC 3339 time", path, maxFileBytes)
	}
	text := strings.TrimSpace(string(buf[:n]))
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return time.Time{}, fmt.Errorf("clock file %s: %q is not an RFC 3339 time", path, text)
	}
	return t.UTC(), nil
}

// Write sets the clock file at path to t, atomically (a temporary file in
// the same directory, renamed over it), so a reader never sees half a
// time.
func Write(path string, t time.Time) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("clock file: %w", err)
	}
	_, werr := tmp.WriteString(t.UTC().Format(time.RFC3339Nano) + "\n")
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("clock file %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("clock file %s: %w", path, err)
	}
	return nil
}
