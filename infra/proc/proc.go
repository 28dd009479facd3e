// Package proc holds what the local tooling's child processes (moto_server
// under infra/awslocal, the function binaries under infra/lambdarun) share:
// the tail of their output, kept for the error that says why one failed.
// It never runs in a Lambda.
package proc

import (
	"fmt"
	"io"
	"sync"
)

// Tail keeps the last limit bytes written to it, so a long-running child's
// whole log is never held in memory. It is safe for concurrent use (a
// child's stdout and stderr are copied by two goroutines).
type Tail struct {
	mu    sync.Mutex
	limit int
	buf   []byte
}

// NewTail returns a Tail that keeps the last limit bytes. A limit below 1
// is a caller's bug (every caller passes a constant), so NewTail panics
// then, naming the limit, rather than keep nothing or fail in a later
// Write.
func NewTail(limit int) *Tail {
	if limit < 1 {
		panic(fmt.Sprintf("proc.NewTail(%d): the limit must be at least 1 byte", limit))
	}
	return &Tail{limit: limit}
}

// Write keeps the end of p; it never fails.
func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.limit {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.limit:]...)
	}
	return len(p), nil
}

// String returns the bytes kept, oldest first.
func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// Tee returns the writer to give a child as its stdout and stderr: t
// itself, or t and also together when also is not nil (a caller that
// wants the output shown as well as kept).
func (t *Tail) Tee(also io.Writer) io.Writer {
	if also == nil {
		return t
	}
	return io.MultiWriter(t, also)
}
