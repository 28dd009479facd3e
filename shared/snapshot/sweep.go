package snapshot

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Sweep checks the unfinished runs that are due (the one-minute schedule's
// {"sweep": true}): snapshot actions to follow, requests to retry within
// the slot window, attempts that crashed. It works on up to
// Config.SweepConcurrency runs at once and starts none when less than
// Config.SweepMargin of the invocation remains; what it leaves is still due
// at the next sweep. A failure on one run does not stop the others; the
// error is non-nil only when the due runs could not be listed.
func (s *Service) Sweep(ctx context.Context) (*Outcome, error) {
	c := s.conf()
	out := &Outcome{Kind: KindSweep}
	due, err := s.Runs.DueUnfinished(ctx, s.now(), c.SweepLimit)
	if err != nil {
		return out, fmt.Errorf("sweep: %w", err)
	}
	out.Due = len(due)
	sem := make(chan struct{}, c.SweepConcurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	started := 0
	for _, r := range due {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < c.SweepMargin {
			s.log().WarnContext(ctx, "sweep stopping before the invocation's deadline", "left", out.Due-started)
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		run := r
		started++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := s.resume(ctx, run.Key(), KindSweep)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				out.Failed++
				s.log().ErrorContext(ctx, "sweep: run failed", "run_id", run.RunID, "error", err.Error())
				return
			}
			out.Handled++
		}()
	}
	wg.Wait()
	return out, nil
}
