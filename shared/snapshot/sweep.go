package snapshot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Sweep checks the unfinished runs that are due (the one-minute schedule's
// {"sweep": true}): snapshot actions to follow, requests to retry within
// the slot window, attempts that crashed. It works on up to
// Config.SweepConcurrency runs at once and starts none when less than
// Config.SweepMargin of the invocation remains; what it leaves is still due
// at the next sweep. Each run is taken with a conditional write first, so
// overlapping sweeps never check one run twice at once. A failure on one
// run does not stop the others, and every failing step moves the run's
// next check back off, so no run holds a place in every sweep; the outcome
// counts what could not be handled, by reason. The error is non-nil only
// when the due runs could not be listed.
func (s *Service) Sweep(ctx context.Context) (*Outcome, error) {
	c := s.conf()
	out := &Outcome{Kind: KindSweep}
	due, quarantined, err := s.Runs.DueUnfinished(ctx, s.sweepUpTo(), c.SweepLimit)
	out.Quarantined = quarantined
	if quarantined > 0 {
		s.log().ErrorContext(ctx, "sweep: undecodable runs taken out of the unfinished index", "quarantined", quarantined)
	}
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
			out.count(err)
			if err != nil {
				s.log().ErrorContext(ctx, "sweep: run not handled", "run_id", run.RunID, "error", err.Error())
			}
		}()
	}
	wg.Wait()
	out.Left = out.Due - started
	if out.Left > 0 || out.Failed > 0 || len(out.Unhandled) > 0 {
		s.log().WarnContext(ctx, "sweep: not every due run was handled", "due", out.Due, "handled", out.Handled,
			"failed", out.Failed, "left", out.Left, "unhandled", out.Unhandled, "quarantined", out.Quarantined)
	}
	return out, nil
}

// sweepUpTo is the latest next check a sweep takes: now, or, when
// follow-ups are queued, now less BackstopLag (the sweep then only catches
// what a lost message or a crashed attempt left behind).
func (s *Service) sweepUpTo() time.Time {
	if s.FollowUps == nil {
		return s.now()
	}
	return s.now().Add(-s.conf().BackstopLag)
}

// count adds one run's result to a sweep's outcome: handled; handled but
// its step failed and was recorded (by reason); or not handled.
func (o *Outcome) count(err error) {
	var se *stepError
	switch {
	case err == nil:
		o.Handled++
		return
	case errors.As(err, &se):
		o.Handled++
		o.note(se.reason)
	default:
		o.Failed++
		o.note("store")
	}
}

func (o *Outcome) note(reason string) {
	if o.Unhandled == nil {
		o.Unhandled = map[string]int{}
	}
	o.Unhandled[reason]++
}
