package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// leakWatch keeps the functions' log lines (for the secret check at the
// end) and passes them on to an optional writer. It is safe for the
// functions' concurrent writers.
type leakWatch struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	next io.Writer
}

func newLeakWatch(next io.Writer) *leakWatch { return &leakWatch{next: next} }

// Write keeps p and passes it on.
func (l *leakWatch) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if l.next != nil {
		if _, err := l.next.Write(p); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// String returns everything logged.
func (l *leakWatch) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Lines counts the lines logged.
func (l *leakWatch) Lines() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Count(l.buf.Bytes(), []byte{'\n'})
}

// playBar is the progress bar of the play: simulated minutes done, with
// the simulated time and the invocations so far.
type playBar struct {
	bar   *progressbar.ProgressBar
	start time.Time
}

// newPlayBar draws a bar on w, or nothing when w is nil.
func newPlayBar(w io.Writer, start, end time.Time) *playBar {
	p := &playBar{start: start}
	if w == nil {
		return p
	}
	p.bar = progressbar.NewOptions(int(end.Sub(start)/time.Minute),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("simulated "+start.Format("Mon 15:04")),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	return p
}

func (p *playBar) update(now time.Time, invocations int) {
	if p.bar == nil {
		return
	}
	p.bar.Describe(fmt.Sprintf("simulated %s, %d invocations", now.Format("Mon 15:04"), invocations))
	_ = p.bar.Set(max(int(now.Sub(p.start)/time.Minute), 0))
}

func (p *playBar) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// indent prefixes every line of s.
func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(prefix+l, " ")
	}
	return strings.Join(lines, "\n")
}
