package snapshot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// job is one attempt's work on one run.
type job struct {
	s   *Service
	cfg Config
	// prev is the run as last stored (the version Save checks against);
	// run is the working copy.
	prev *snapkeep.Run
	run  snapkeep.Run
	pol  *snapkeep.Policy
	rec  *recorder
	do   DigitalOcean
	st   start
	// leased: this attempt holds the run's request lease (needed to POST),
	// and lockUntil is when its droplet lock lapses (zero: none held).
	leased    bool
	lockUntil time.Time
	// callCtx carries DigitalOcean calls: the invocation's context less
	// CallMargin; base is the invocation's own, for detached writes.
	callCtx context.Context
	base    context.Context
	cancel  context.CancelFunc
}

// newJob prepares an attempt on stored (as stored).
func (s *Service) newJob(ctx context.Context, stored *snapkeep.Run, pol *snapkeep.Policy, st start) *job {
	c := s.conf()
	j := &job{s: s, cfg: c, prev: stored, run: *stored, pol: pol, st: st, leased: st.leased, base: ctx}
	j.rec = newRecorder(stored, c.APICallTTL)
	ctx = withRecorder(ctx, j.rec)
	j.base = ctx
	j.callCtx, j.cancel = ctx, func() {}
	if dl, ok := ctx.Deadline(); ok {
		// A call in flight is cut off before the invocation ends, leaving
		// a third of the margin to write its row.
		j.callCtx, j.cancel = context.WithDeadline(ctx, dl.Add(-c.CallMargin/3))
	}
	if st.leased {
		j.lockUntil = j.now().Add(c.LockTTL)
	}
	upgradeLegacy(&j.run, c)
	return j
}

// failure returns the classified provider failure err wraps; an error
// without one (the port's contract broken) is internal.
func failure(err error) *snapkeep.ProviderError {
	if err == nil {
		return nil
	}
	if e, ok := snapkeep.AsProviderError(err); ok {
		return e
	}
	return &snapkeep.ProviderError{Class: snapkeep.ClassInternal, Message: snapkeep.Bound(err.Error(), snapkeep.MaxProviderText), Err: err}
}

// paced is a wait the token's rate budget asks for that is too long to
// sleep through.
type paced struct{ d time.Duration }

func (p *paced) Error() string {
	return fmt.Sprintf("the token's rate budget is nearly spent: waiting %s", p.d)
}

// errOutOfTime means the invocation has too little time left to start a
// DigitalOcean call; the run is stored to be checked again soon.
var errOutOfTime = errors.New("the invocation has too little time left for another DigitalOcean call")

func (j *job) now() time.Time { return j.s.now() }

func (j *job) windowEnd() time.Time {
	return windowStart(j.run.ScheduledAt, j.run.ClaimedAt).Add(j.cfg.SlotWindow)
}

// writeCtx is the context of one run write: detached from the
// invocation's deadline (so progress is recorded even when it has run
// out), bounded by WriteTimeout.
func (j *job) writeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(j.base), j.cfg.WriteTimeout)
}

// begin takes the run (a lease, unless the attempt claimed it) and does
// its next step.
func (j *job) begin(ctx context.Context) error {
	if !j.leased {
		if err := j.take(ctx); err != nil {
			return err
		}
	}
	do, err := j.s.client(ctx, j.run.AccountID)
	var mt *errMalformedToken
	switch {
	case errors.Is(err, snapkeep.ErrNotFound):
		return j.finish(ctx, snapkeep.RunFailed, snapkeep.ClassAuthRevoked,
			fmt.Sprintf("no DigitalOcean token is stored for account %q", j.run.AccountID))
	case errors.As(err, &mt):
		return j.finish(ctx, snapkeep.RunFailed, snapkeep.ClassAuthRevoked,
			fmt.Sprintf("the stored DigitalOcean token of account %q is malformed: %v", j.run.AccountID, mt.err))
	case err != nil:
		// Secrets Manager failing (as opposed to a missing secret): the
		// step fails, the run backs off, and never past its limits.
		return j.stepFailed(ctx, "token_unreadable", err)
	}
	j.do = do
	switch {
	case j.run.SnapshotID != "":
		// Crashed after the snapshot was known: finish (retention).
		return j.succeed(ctx, nil, false)
	case j.run.ActionID != 0:
		return j.checkAction(ctx)
	}
	if !j.now().Before(j.run.Deadline) {
		return j.finish(ctx, snapkeep.RunTimedOut, snapkeep.ClassTimedOut, "the snapshot was not requested before the deadline")
	}
	return j.snapshot(ctx)
}

// take owns the run before working on it: a check lease when it only
// reads, a request lease with the droplet lock when it must request its
// snapshot. A run that lapsed while a request was in flight remembers the
// request's window, so its action can be recognised.
func (j *job) take(ctx context.Context) error {
	now := j.now()
	if j.st.crashed && j.run.LeaseUntil != nil {
		j.run.RequestUncertain = true
		from := j.run.LeaseUntil.Add(-j.cfg.Lease)
		j.addRequestWindow(from, from.Add(j.cfg.LockTTL))
	}
	if j.run.ActionID != 0 || j.run.SnapshotID != "" {
		j.s.takeLease(&j.run, snapkeep.LeaseCheck, now)
		return j.commit(ctx)
	}
	return j.takeRequestLease(ctx, now)
}

// takeRequestLease takes the run's request lease and, for a droplet, the
// droplet lock, in one conditional write. A lock held by another run
// stores the run waiting for it and ends the attempt with errLocked.
func (j *job) takeRequestLease(ctx context.Context, now time.Time) error {
	j.s.takeLease(&j.run, snapkeep.LeaseRequest, now)
	lock := j.s.lockFor(&j.run, now)
	err := j.commitLocked(ctx, lock)
	var le *snapkeep.LockedError
	if errors.As(err, &le) {
		j.s.waitForLock(&j.run, le)
		if err := j.commit(ctx); err != nil {
			return err
		}
		j.s.followUp(j.base, j.run.Key(), *j.run.NextCheckAt)
		return errLocked
	}
	if err != nil {
		return err
	}
	j.leased = true
	if lock != nil {
		j.lockUntil = lock.Until
	}
	return nil
}

// commit writes the working copy and the buffered calls, if the stored run
// is still the version this attempt read.
func (j *job) commit(ctx context.Context) error { return j.commitLocked(ctx, nil) }

// commitLocked is commit, taking lock in the same write when not nil. A
// lock held by another run is returned as a *snapkeep.LockedError and
// nothing is written.
func (j *job) commitLocked(_ context.Context, lock *snapkeep.Lock) error {
	ctx, cancel := j.writeCtx()
	defer cancel()
	if err := j.flush(ctx); err != nil {
		return err
	}
	next := j.run
	next.UpdatedAt = j.now()
	if !next.UpdatedAt.After(j.prev.UpdatedAt) {
		next.UpdatedAt = j.prev.UpdatedAt.Add(time.Nanosecond)
	}
	calls := j.rec.take()
	for i := 0; ; i++ {
		var err error
		if lock != nil {
			err = j.s.Runs.SaveLocked(ctx, j.prev, &next, calls, *lock)
		} else {
			err = j.s.Runs.Save(ctx, j.prev, &next, calls)
		}
		if err == nil {
			j.prev = &next
			j.run = next
			return nil
		}
		if errors.Is(err, snapkeep.ErrLocked) {
			j.rec.putBack(calls)
			return err
		}
		if !errors.Is(err, snapkeep.ErrConflict) || i == 4 {
			j.rec.putBack(calls)
			return err // the store's error names the run
		}
		cur, gerr := j.s.Runs.Get(ctx, j.run.Key())
		if gerr != nil {
			j.rec.putBack(calls)
			return fmt.Errorf("save run %s: re-read after conflict: %w", j.run.RunID, gerr)
		}
		if !cur.UpdatedAt.Equal(j.prev.UpdatedAt) {
			// Another attempt moved the run on: it owns it now. Keep the
			// calls this attempt made.
			if err := j.s.Runs.AppendCalls(ctx, j.run.Key(), calls); err != nil {
				j.s.log().ErrorContext(ctx, "api calls lost", "run_id", j.run.RunID, "calls", len(calls), "error", err.Error())
			}
			j.prev = cur
			return errLostRace
		}
		// Only the call count moved (a losing attempt appended its calls):
		// number ours after them.
		j.prev = cur
		next.APICalls = cur.APICalls
	}
}

// flush writes ahead, with AppendCalls, the buffered calls one run write
// cannot carry (more than MaxCallsPerSave), oldest first, so that no write
// is ever split over several transactions. Their seqs are reserved once:
// a failed flush keeps them for the retry.
func (j *job) flush(ctx context.Context) error {
	extra := j.rec.takeOldest(j.rec.len() - MaxCallsPerSave)
	if len(extra) == 0 {
		return nil
	}
	if err := j.s.Runs.AppendCalls(ctx, j.run.Key(), extra); err != nil {
		j.rec.putBack(extra)
		return fmt.Errorf("save run %s: flush %d api calls: %w", j.run.RunID, len(extra), err)
	}
	// Our own reservation moved api_calls: the next write expects it.
	moved := *j.prev
	moved.APICalls += len(extra)
	j.prev = &moved
	return nil
}

// wait stores the run unfinished, to be checked again at at (never after
// the deadline), and releases the lease.
func (j *job) wait(ctx context.Context, at time.Time) error {
	if at.After(j.run.Deadline) {
		at = j.run.Deadline
	}
	j.run.Await(at)
	if err := j.commit(ctx); err != nil {
		return err
	}
	j.s.followUp(j.base, j.run.Key(), at)
	return nil
}

// finish stores the run terminal.
func (j *job) finish(ctx context.Context, status snapkeep.RunStatus, class snapkeep.ErrorClass, detail string) error {
	j.s.terminate(&j.run, status, class, detail)
	return j.commit(ctx)
}

// stepFailed stores a step that ended without an answer from DigitalOcean
// (the token unreadable, ...): the run backs off (1, 2, 4 ... minutes, up
// to MaxStepBackoff), so a failing run never holds a place in every sweep,
// and records why. Past the run's limits it ends instead.
func (j *job) stepFailed(ctx context.Context, reason string, err error) error {
	now := j.now()
	detail := reason + ": " + err.Error()
	switch {
	case !now.Before(j.run.Deadline):
		return j.finish(ctx, snapkeep.RunTimedOut, snapkeep.ClassTimedOut, "the run could not go on before the deadline: "+detail)
	case j.run.ActionID == 0 && j.run.SnapshotID == "" && !now.Before(j.windowEnd()):
		return j.finish(ctx, snapkeep.RunFailed, snapkeep.ClassInternal, "the snapshot could not be requested within the slot window: "+detail)
	}
	j.run.StepFailures++
	j.run.StepError = snapkeep.Bound(detail, snapkeep.MaxProviderText)
	if werr := j.wait(ctx, now.Add(j.stepBackoff())); werr != nil {
		return werr
	}
	return &stepError{reason: reason, err: err}
}

// stepError is a step failure that was recorded on the run: the attempt
// reports it (the sweep counts it by reason) but the run is safe.
type stepError struct {
	reason string
	err    error
}

func (e *stepError) Error() string { return e.reason + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// stepBackoff is the wait after the run's StepFailures-th failed step.
func (j *job) stepBackoff() time.Duration {
	d := time.Minute
	for i := 1; i < j.run.StepFailures && d < j.cfg.MaxStepBackoff; i++ {
		d *= 2
	}
	return min(d, j.cfg.MaxStepBackoff)
}

// note records a failure's provider details on the run (for a terminal
// failure, or the latest transient one while retrying), bounded.
func (j *job) note(e *snapkeep.ProviderError, detail string) {
	j.run.ErrorDetail = snapkeep.Bound(detail, 2*snapkeep.MaxProviderText)
	j.run.HTTPStatus = e.StatusCode
	j.run.ProviderErrorID = snapkeep.Bound(e.ErrorID, snapkeep.MaxProviderText)
	j.run.ProviderMessage = snapkeep.Bound(e.Message, snapkeep.MaxProviderText)
	j.run.ProviderRequestID = snapkeep.Bound(e.RequestID, snapkeep.MaxProviderText)
}

// clearNote forgets the latest failure: the run made progress.
func (j *job) clearNote() {
	j.run.ErrorDetail = ""
	j.run.HTTPStatus = 0
	j.run.ProviderErrorID = ""
	j.run.ProviderMessage = ""
	j.run.ProviderRequestID = ""
	j.run.RetryClass = ""
	j.run.StepFailures = 0
	j.run.StepError = ""
}

// ready checks, before a DigitalOcean call, that the invocation has time
// for it and that the token's budget allows it (waiting briefly, or
// failing with *paced).
func (j *job) ready(ctx context.Context) error {
	if dl, ok := j.base.Deadline(); ok && time.Until(dl) < j.cfg.CallMargin {
		return errOutOfTime
	}
	d := j.do.PaceDelay(j.now())
	if d <= 0 {
		return nil
	}
	if d > j.cfg.MaxInlineWait || !j.affords(ctx, d) {
		return &paced{d}
	}
	return j.s.sleep(ctx, d)
}

// affords reports whether the invocation leaves time to wait d and still
// make a call.
func (j *job) affords(_ context.Context, d time.Duration) bool {
	dl, ok := j.base.Deadline()
	return !ok || time.Until(dl) > d+j.cfg.CallMargin
}

// PostBackoff is the wait after the run's attempts-th failed snapshot
// request, before it asks again: 1, 2, 4, 8, 8 ... minutes.
func PostBackoff(attempts int) time.Duration {
	d := time.Minute
	for i := 1; i < attempts && d < 8*time.Minute; i++ {
		d *= 2
	}
	return d
}

// CheckDelay is the wait before the next look at an action running for
// elapsed: half the time it has run, at least a minute and at most ten.
// A snapshot takes about a minute per GB, so one that has run for t is
// likely to run about as long again; looking at half that keeps the
// detection lag under half the snapshot's time while a 14-minute snapshot
// takes 7 checks and a 3-hour one 22. When the policy's previous snapshot
// took expected, the first look is at ExpectedShare of it instead (a
// 3-hour snapshot then takes about 3 checks): each check is a
// DigitalOcean call against the account's budget and two DynamoDB writes
// (BENCHMARKS.md, "Scale").
func CheckDelay(elapsed, expected time.Duration) time.Duration {
	if first := expected * ExpectedShare / 100; elapsed < first {
		return max(first-elapsed, time.Minute)
	}
	return min(max(elapsed/2, time.Minute), 10*time.Minute)
}

// ExpectedShare is the percentage of the previous snapshot's time at which
// a run first looks at its action: early enough that a snapshot a fifth
// faster than the last is still seen at once.
const ExpectedShare = 80

// get makes a GET-like, safe call with up to GetAttempts quick retries for
// retried classes. It returns the last error (nil on success).
func (j *job) get(ctx context.Context, op snapkeep.Operation, call func(ctx context.Context) error) error {
	var err error
	for attempt := 1; attempt <= j.cfg.GetAttempts; attempt++ {
		if err = j.ready(ctx); err != nil {
			return err
		}
		err = call(snapkeep.WithOperation(ctx, op, attempt))
		if err == nil {
			return nil
		}
		e := failure(err)
		if !e.Retried() || attempt == j.cfg.GetAttempts {
			return err
		}
		d := time.Duration(attempt) * time.Second
		if e.RetryAfter > d {
			d = e.RetryAfter
		}
		if d > j.cfg.MaxInlineWait || !j.affords(ctx, d) {
			return err
		}
		if serr := j.s.sleep(ctx, d); serr != nil {
			return err
		}
	}
	return err
}

// retryOrFail handles a failed step: a retried class is tried again later
// (backoff, retry-after, ratelimit-reset) while that is before limit; any
// other fails the run with its class. A paced request waits for the
// token's budget, recorded as a delay of the account's own making; an
// invocation out of time stores the run to be checked again soon.
func (j *job) retryOrFail(ctx context.Context, err error, what string, limit time.Time) error {
	now := j.now()
	var p *paced
	switch {
	case errors.As(err, &p):
		at := now.Add(p.d)
		if at.After(limit) {
			j.run.HTTPStatus = 0
			return j.finish(ctx, snapkeep.RunFailed, snapkeep.ClassRateLimited, what+": "+p.Error()+", past the retry window")
		}
		j.run.BudgetDelays++
		j.run.BudgetDelayedUntil = &at
		return j.wait(ctx, at)
	case errors.Is(err, errOutOfTime):
		j.s.log().WarnContext(ctx, "invocation out of time; the run is checked again soon", "run_id", j.run.RunID, "doing", what)
		if werr := j.wait(ctx, now.Add(time.Minute)); werr != nil {
			return werr
		}
		return &stepError{reason: "out_of_time", err: err}
	}
	e := failure(err)
	detail := what + ": " + e.Error()
	j.note(e, detail)
	if e.Class == snapkeep.ClassAuthRevoked {
		j.s.forget(j.run.AccountID) // a reconnected account's new token is read at once
	}
	if !e.Retried() {
		return j.finish(ctx, snapkeep.RunFailed, e.Class, detail)
	}
	j.run.RetryClass = e.Class
	d := PostBackoff(j.run.Attempts)
	if e.RetryAfter > d {
		d = e.RetryAfter
	}
	at := now.Add(d)
	if at.After(limit) {
		return j.finish(ctx, snapkeep.RunFailed, e.Class, detail+" (still failing at the end of the retry window)")
	}
	return j.wait(ctx, at)
}
