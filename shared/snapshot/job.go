package snapshot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/docloud"
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
	// resumed: the attempt that held the run crashed, it may have sent the
	// snapshot POST without recording it.
	resumed bool
	// leased: this attempt holds the run's lease (needed to POST).
	leased bool
	// maybeMade: an earlier snapshot request of the run may have started
	// a snapshot DigitalOcean did not confirm (a 5xx, timeout, reset or
	// malformed answer, or a crashed attempt). Kept on the unfinished run
	// as maybeMadeNote in ErrorDetail.
	maybeMade bool
}

// maybeMadeNote ends the ErrorDetail of an unfinished run an earlier
// snapshot request of which may have started the snapshot.
const maybeMadeNote = " (an earlier request may have started the snapshot)"

// retryable are the classes retried within the slot window.
func retryable(c snapkeep.ErrorClass) bool {
	switch c {
	case snapkeep.ClassProviderError, snapkeep.ClassRateLimited, snapkeep.ClassResourceBusy,
		snapkeep.ClassNetwork, snapkeep.ClassActionErrored:
		return true
	}
	return false
}

// paced is a wait the token's rate budget asks for that is too long to
// sleep through.
type paced struct{ d time.Duration }

func (p *paced) Error() string {
	return fmt.Sprintf("the token's rate budget is nearly spent: waiting %s", p.d)
}

func (j *job) now() time.Time { return j.s.now() }

func (j *job) windowEnd() time.Time {
	return windowStart(j.run.ScheduledAt, j.run.ClaimedAt).Add(j.cfg.SlotWindow)
}

func (j *job) start(ctx context.Context) error {
	do, err := j.s.client(ctx, j.run.AccountID)
	if errors.Is(err, snapkeep.ErrNotFound) {
		return j.finish(ctx, snapkeep.RunFailed, snapkeep.ClassAuthRevoked,
			fmt.Sprintf("no DigitalOcean token is stored for account %q", j.run.AccountID))
	}
	if err != nil {
		// Secrets Manager unreachable (or failing): an error, so that the
		// delivery is retried and the sweep tries again — but never past
		// the run's limits, or the run would stay unfinished for ever.
		err = fmt.Errorf("token of account %q: %w", j.run.AccountID, err)
		now := j.now()
		switch {
		case !now.Before(j.run.Deadline):
			return j.finish(ctx, snapkeep.RunTimedOut, snapkeep.ClassTimedOut, "the run could not go on before the deadline: "+err.Error())
		case j.run.ActionID == 0 && j.run.SnapshotID == "" && !now.Before(j.windowEnd()):
			return j.finish(ctx, snapkeep.RunFailed, snapkeep.ClassInternal, "the snapshot could not be requested within the slot window: "+err.Error())
		}
		return err
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

// commit writes the working copy and the buffered calls, if the stored run
// is still the version this attempt read.
func (j *job) commit(ctx context.Context) error {
	next := j.run
	next.UpdatedAt = j.now()
	if !next.UpdatedAt.After(j.prev.UpdatedAt) {
		next.UpdatedAt = j.prev.UpdatedAt.Add(time.Nanosecond)
	}
	calls := j.rec.take()
	for i := 0; ; i++ {
		err := j.s.Runs.Save(ctx, j.prev, &next, calls)
		if err == nil {
			j.prev = &next
			j.run = next
			return nil
		}
		if !errors.Is(err, snapkeep.ErrConflict) || i == 4 {
			j.rec.putBack(calls)
			return fmt.Errorf("save run %s: %w", j.run.RunID, err)
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

// wait stores the run unfinished, to be checked again at at (never after
// the deadline), and releases the lease.
func (j *job) wait(ctx context.Context, at time.Time) error {
	if at.After(j.run.Deadline) {
		at = j.run.Deadline
	}
	at = ceilSecond(at)
	j.run.NextCheckAt = &at
	j.run.LeaseUntil = nil
	j.run.Unfinished = snapkeep.UnfinishedShard
	return j.commit(ctx)
}

// finish stores the run terminal.
func (j *job) finish(ctx context.Context, status snapkeep.RunStatus, class snapkeep.ErrorClass, detail string) error {
	j.s.terminate(&j.run, status, class, detail)
	return j.commit(ctx)
}

// note records a failure's provider details on the run (for a terminal
// failure, or the latest transient one while retrying).
func (j *job) note(e *docloud.Error, detail string) {
	j.run.ErrorDetail = detail
	j.run.HTTPStatus = e.StatusCode
	j.run.ProviderErrorID = e.ErrorID
	j.run.ProviderMessage = e.Message
	j.run.ProviderRequestID = e.RequestID
}

func (j *job) clearNote() {
	j.run.ErrorDetail = ""
	j.run.HTTPStatus = 0
	j.run.ProviderErrorID = ""
	j.run.ProviderMessage = ""
	j.run.ProviderRequestID = ""
}

// pace waits (briefly) or fails with *paced before a request, so the
// token's budget is never spent to zero.
func (j *job) pace(ctx context.Context) error {
	d := j.do.PaceDelay(j.now())
	if d <= 0 {
		return nil
	}
	if d > j.cfg.MaxInlineWait || !j.affords(ctx, d) {
		return &paced{d}
	}
	return j.s.sleep(ctx, d)
}

// affords reports whether ctx leaves time to wait d and still finish.
func (j *job) affords(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > d+10*time.Second
}

// postBackoff is the wait before the n-th retry of the snapshot request.
func postBackoff(attempts int) time.Duration {
	d := time.Minute
	for i := 1; i < attempts && d < 8*time.Minute; i++ {
		d *= 2
	}
	return d
}

// checkDelay is the wait before the next look at an action running for
// elapsed: 1 minute at first, growing with the elapsed time to 5 minutes.
func checkDelay(elapsed time.Duration) time.Duration {
	d := elapsed / 5
	if d < time.Minute {
		d = time.Minute
	}
	if d > 5*time.Minute {
		d = 5 * time.Minute
	}
	return d
}

// get makes a GET-like, safe call with up to GetAttempts quick retries for
// transient failures. It returns the last error (nil on success).
func (j *job) get(ctx context.Context, op snapkeep.Operation, call func(ctx context.Context) error) error {
	var err error
	for attempt := 1; attempt <= j.cfg.GetAttempts; attempt++ {
		if err = j.pace(ctx); err != nil {
			return err
		}
		err = call(docloud.WithOperation(ctx, op, attempt))
		if err == nil {
			return nil
		}
		e := docloud.Classify(err)
		if !retryable(e.Class) || attempt == j.cfg.GetAttempts {
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

// snapshot requests the snapshot (after looking for an earlier attempt's
// one when there may be one).
func (j *job) snapshot(ctx context.Context) error {
	j.maybeMade = j.maybeMade || j.resumed || strings.HasSuffix(j.run.ErrorDetail, maybeMadeNote)
	if j.resumed || j.run.Attempts > 0 {
		// An earlier POST may have made a snapshot (5xx, timeout, reset or
		// a crash between request and record): look for it by its name
		// before asking again.
		snaps, err := j.listAll(ctx)
		if err != nil {
			return j.retryOrFail(ctx, err, "look for the snapshot of an earlier attempt", j.postLimit(j.lastClass()))
		}
		if s := findByName(snaps, j.run.SnapshotName); s != nil {
			j.run.SnapshotID = s.ID
			j.run.Status = snapkeep.RunInProgress
			if j.run.StartedAt == nil {
				t := j.now().Truncate(time.Second)
				j.run.StartedAt = &t
			}
			return j.succeed(ctx, snaps, true)
		}
		if j.maybeMade && j.run.Kind == snapkeep.ResourceDroplet {
			// Not listed (yet): the earlier request may still have started
			// the action. Look for it among the droplet's actions before
			// asking again.
			a, err := j.findAction(ctx)
			if err != nil {
				return j.retryOrFail(ctx, err, "look for the snapshot action of an earlier attempt", j.postLimit(j.lastClass()))
			}
			if a != nil {
				return j.adopt(ctx, a)
			}
		}
	}
	if !j.now().Before(j.postLimit(j.lastClass())) {
		class, detail := j.lastClass(), j.run.ErrorDetail
		if detail == "" {
			detail = "the slot window passed before the snapshot could be requested"
		}
		return j.finish(ctx, snapkeep.RunFailed, class, detail)
	}
	if !j.leased {
		// Only the lease holder may POST: take it over (a conditional
		// write on the version read), so that of concurrent attempts only
		// one asks DigitalOcean.
		lease := j.now().Add(j.cfg.Lease)
		next := ceilSecond(lease)
		j.run.LeaseUntil = &lease
		j.run.NextCheckAt = &next
		j.run.Unfinished = snapkeep.UnfinishedShard
		if err := j.commit(ctx); err != nil {
			return err
		}
		j.leased = true
	}
	if err := j.pace(ctx); err != nil {
		return j.retryOrFail(ctx, err, "request the snapshot", j.postLimit(j.lastClass()))
	}
	j.run.Attempts++
	opCtx := func(op snapkeep.Operation) context.Context { return docloud.WithOperation(ctx, op, j.run.Attempts) }
	switch j.run.Kind {
	case snapkeep.ResourceDroplet:
		id, err := strconv.Atoi(j.run.Resource.ID)
		if err != nil {
			return j.finish(ctx, snapkeep.RunFailed, snapkeep.ClassInvalidPolicy, fmt.Sprintf("droplet id %q is not a number", j.run.Resource.ID))
		}
		a, err := j.do.SnapshotDroplet(opCtx(snapkeep.OpSnapshotDroplet), id, j.run.SnapshotName)
		if err != nil {
			return j.postFailed(ctx, err, "request the droplet snapshot")
		}
		t := j.now()
		j.run.ActionID = a.ID
		j.run.Status = snapkeep.RunInProgress
		started := t.Truncate(time.Second)
		j.run.StartedAt = &started
		j.clearNote()
		return j.wait(ctx, t.Add(checkDelay(0)))
	case snapkeep.ResourceVolume:
		sn, err := j.do.SnapshotVolume(opCtx(snapkeep.OpSnapshotVolume), j.run.Resource.ID, j.run.SnapshotName, []string{"snapkeep"})
		if err != nil {
			return j.postFailed(ctx, err, "request the volume snapshot")
		}
		started := j.now().Truncate(time.Second)
		j.run.StartedAt = &started
		j.run.SnapshotID = sn.ID
		j.run.Status = snapkeep.RunInProgress
		j.clearNote()
		return j.succeed(ctx, nil, false)
	}
	return j.finish(ctx, snapkeep.RunFailed, snapkeep.ClassInvalidPolicy, fmt.Sprintf("unknown resource kind %q", j.run.Kind))
}

// postFailed handles a failed snapshot request. A 5xx, timeout, reset or
// malformed answer may hide a snapshot that was started: the run
// remembers it (maybeMade), so that a later "pending event" is waited out.
func (j *job) postFailed(ctx context.Context, err error, what string) error {
	class := docloud.Classify(err).Class
	if class == snapkeep.ClassProviderError || class == snapkeep.ClassNetwork {
		j.maybeMade = true
	}
	return j.retryOrFail(ctx, err, what, j.postLimit(class))
}

// postLimit is until when the snapshot may still be requested after a
// failure of class: the slot window, or — for a droplet whose earlier
// request may have started the snapshot, now answered "pending event" —
// the deadline: the pending event is most likely that snapshot, which can
// take longer than the window (about a minute per GB). Each retry first
// looks for the snapshot by name, so the run succeeds once it is listed.
func (j *job) postLimit(class snapkeep.ErrorClass) time.Time {
	if j.maybeMade && class == snapkeep.ClassResourceBusy && j.run.Kind == snapkeep.ResourceDroplet {
		return j.run.Deadline
	}
	return j.windowEnd()
}

// retryOrFail handles a failed step: a transient failure is retried later
// (backoff, retry-after, ratelimit-reset) while that is before limit; any
// other fails the run with its class.
func (j *job) retryOrFail(ctx context.Context, err error, what string, limit time.Time) error {
	now := j.now()
	var p *paced
	if errors.As(err, &p) {
		at := now.Add(p.d)
		if at.After(limit) {
			j.run.HTTPStatus = 0
			return j.finish(ctx, snapkeep.RunFailed, snapkeep.ClassRateLimited, what+": "+p.Error()+", past the retry window")
		}
		return j.wait(ctx, at)
	}
	e := docloud.Classify(err)
	detail := what + ": " + e.Error()
	if j.maybeMade && retryable(e.Class) {
		detail += maybeMadeNote
	}
	j.note(e, detail)
	if !retryable(e.Class) {
		return j.finish(ctx, snapkeep.RunFailed, e.Class, detail)
	}
	d := postBackoff(j.run.Attempts)
	if e.RetryAfter > d {
		d = e.RetryAfter
	}
	at := now.Add(d)
	if at.After(limit) {
		return j.finish(ctx, snapkeep.RunFailed, e.Class, detail+" (still failing at the end of the retry window)")
	}
	return j.wait(ctx, at)
}

// checkAction follows the droplet snapshot action.
func (j *job) checkAction(ctx context.Context) error {
	if at, ok := completedAt(j.run.ErrorDetail); ok {
		// Seen completed before: only the listing is missing.
		return j.completed(ctx, at)
	}
	var a *snapkeep.Action
	err := j.get(ctx, snapkeep.OpGetAction, func(ctx context.Context) error {
		var err error
		a, err = j.do.GetAction(ctx, j.run.ActionID)
		return err
	})
	now := j.now()
	if err != nil {
		var p *paced
		if (errors.As(err, &p) || retryable(docloud.Classify(err).Class)) && !now.Before(j.run.Deadline) {
			return j.finish(ctx, snapkeep.RunTimedOut, snapkeep.ClassTimedOut,
				fmt.Sprintf("snapshot action %d could not be checked before the deadline: %v", j.run.ActionID, err))
		}
		return j.retryOrFail(ctx, err, fmt.Sprintf("check snapshot action %d", j.run.ActionID), j.run.Deadline)
	}
	return j.follow(ctx, a, now)
}

// follow acts on the snapshot action a as seen at now: completed, find
// its snapshot; errored, request again within the window or fail; in
// progress, look again later.
func (j *job) follow(ctx context.Context, a *snapkeep.Action, now time.Time) error {
	switch a.Status {
	case snapkeep.ActionCompleted:
		at := now
		if !a.CompletedAt.IsZero() {
			at = a.CompletedAt
		}
		j.clearNote()
		return j.completed(ctx, at)
	case snapkeep.ActionErrored:
		detail := fmt.Sprintf("snapshot action %d errored", a.ID)
		j.clearNote()
		j.run.ErrorDetail = detail
		if at := now.Add(postBackoff(j.run.Attempts)); at.Before(j.windowEnd()) {
			// An errored action made no snapshot: request a new one after
			// the backoff, while the slot window is open.
			j.s.log().WarnContext(ctx, "snapshot action errored; requesting again later", "run_id", j.run.RunID, "action_id", a.ID)
			j.run.ActionID = 0
			j.run.Status = snapkeep.RunClaimed
			return j.wait(ctx, at)
		}
		return j.finish(ctx, snapkeep.RunFailed, snapkeep.ClassActionErrored, detail)
	default: // in progress
		if !now.Before(j.run.Deadline) {
			return j.finish(ctx, snapkeep.RunTimedOut, snapkeep.ClassTimedOut,
				fmt.Sprintf("snapshot action %d still %s at the deadline %s", a.ID, a.Status, j.run.Deadline.UTC().Format(time.RFC3339)))
		}
		started := j.run.ClaimedAt
		if j.run.StartedAt != nil {
			started = *j.run.StartedAt
		}
		return j.wait(ctx, now.Add(checkDelay(now.Sub(started))))
	}
}

// AdoptSkew is how much earlier than the run's claim a droplet snapshot
// action may have started and still be taken for the run's own: the claim
// is stored before the first snapshot request, so the action of that
// request starts after it, but DigitalOcean's started_at comes from
// DigitalOcean's clock, not the function's.
const AdoptSkew = 2 * time.Minute

// maxActionPages bounds the droplet's action pages read when looking for
// an earlier attempt's action (they are newest first, so the first page
// nearly always decides).
const maxActionPages = 5

// findAction returns the newest snapshot action of the run's droplet that
// started at or after the run's claim (less AdoptSkew): the action an
// earlier, unconfirmed request of the run started. nil when there is none.
func (j *job) findAction(ctx context.Context) (*snapkeep.Action, error) {
	id, err := strconv.Atoi(j.run.Resource.ID)
	if err != nil {
		return nil, nil // the POST path reports the bad id
	}
	since := j.run.ClaimedAt.Add(-AdoptSkew)
	for page := 1; page <= maxActionPages; page++ {
		var actions []snapkeep.Action
		var more bool
		err := j.get(ctx, snapkeep.OpListActions, func(ctx context.Context) error {
			var err error
			actions, more, err = j.do.ListDropletActions(ctx, id, page)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("list actions of droplet %d: %w", id, err)
		}
		older := false
		for i := range actions {
			a := &actions[i]
			if a.StartedAt.IsZero() {
				continue
			}
			if a.StartedAt.Before(since) {
				older = true
				continue
			}
			if a.Type == "snapshot" && (a.ResourceID == 0 || a.ResourceID == int64(id)) {
				return a, nil
			}
		}
		if older || !more {
			return nil, nil
		}
	}
	return nil, nil
}

// adopt takes a, the action an earlier unconfirmed request started, as
// the run's own and follows it like one whose POST was answered.
func (j *job) adopt(ctx context.Context, a *snapkeep.Action) error {
	j.s.log().InfoContext(ctx, "adopting the snapshot action of an earlier request",
		"run_id", j.run.RunID, "action_id", a.ID, "action_status", a.Status, "action_started_at", a.StartedAt.UTC().Format(time.RFC3339))
	j.run.ActionID = a.ID
	j.run.Status = snapkeep.RunInProgress
	started := a.StartedAt.UTC().Truncate(time.Second)
	if started.Before(j.run.ClaimedAt) {
		started = j.run.ClaimedAt
	}
	j.run.StartedAt = &started
	j.clearNote()
	return j.follow(ctx, a, j.now())
}

// completedNote is the ErrorDetail of an unfinished run whose action
// completed but whose snapshot is not known yet; later checks list the
// snapshots without asking for the action again.
const completedNote = "snapshot action completed at %s; waiting for the snapshot to be listed"

// completedAt reads completedNote.
func completedAt(detail string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(detail, "snapshot action completed at ")
	if !ok {
		return time.Time{}, false
	}
	ts, _, ok := strings.Cut(rest, ";")
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, ts)
	return t, err == nil
}

// completed finds the completed action's snapshot by name; a snapshot not
// listed yet is looked for again a minute later, for up to ListingGrace.
func (j *job) completed(ctx context.Context, at time.Time) error {
	j.run.ErrorDetail = fmt.Sprintf(completedNote, at.UTC().Format(time.RFC3339))
	snaps, err := j.listAll(ctx)
	now := j.now()
	if err != nil {
		var p *paced
		e := docloud.Classify(err)
		if !errors.As(err, &p) && !retryable(e.Class) {
			return j.retryOrFail(ctx, err, "find the completed snapshot", j.run.Deadline)
		}
		if !now.Before(j.run.Deadline) {
			return j.finish(ctx, snapkeep.RunTimedOut, snapkeep.ClassTimedOut, "the completed snapshot could not be listed before the deadline: "+err.Error())
		}
		d := time.Minute
		if p != nil {
			d = p.d
		} else if e.RetryAfter > d {
			d = e.RetryAfter
		}
		return j.wait(ctx, now.Add(d))
	}
	if s := findByName(snaps, j.run.SnapshotName); s != nil {
		j.run.SnapshotID = s.ID
		return j.succeed(ctx, snaps, true)
	}
	if now.Sub(at) < j.cfg.ListingGrace && now.Before(j.run.Deadline) {
		return j.wait(ctx, now.Add(time.Minute))
	}
	j.run.HTTPStatus = 0
	return j.finish(ctx, snapkeep.RunFailed, snapkeep.ClassProviderError,
		fmt.Sprintf("snapshot action %d completed at %s but snapshot %q was not listed within %s", j.run.ActionID, at.UTC().Format(time.RFC3339), j.run.SnapshotName, j.cfg.ListingGrace))
}

// listAll lists every page of the run resource's snapshots.
func (j *job) listAll(ctx context.Context) ([]snapkeep.Snapshot, error) {
	var all []snapkeep.Snapshot
	for page := 1; ; page++ {
		var snaps []snapkeep.Snapshot
		var more bool
		err := j.get(ctx, snapkeep.OpListSnapshots, func(ctx context.Context) error {
			var err error
			snaps, more, err = j.do.ListSnapshots(ctx, j.run.Kind, j.run.Resource.ID, page)
			return err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, snaps...)
		if !more || page >= 100 {
			return all, nil
		}
	}
}

func findByName(snaps []snapkeep.Snapshot, name string) *snapkeep.Snapshot {
	for i := range snaps {
		if snaps[i].Name == name {
			return &snaps[i]
		}
	}
	return nil
}

// succeed applies retention and stores the run succeeded. listing is the
// resource's snapshots when listed is true.
func (j *job) succeed(ctx context.Context, listing []snapkeep.Snapshot, listed bool) error {
	j.clearNote()
	j.run.Retention = j.retention(ctx, listing, listed)
	return j.finish(ctx, snapkeep.RunSucceeded, "", "")
}

// lastClass is the class of the latest transient failure noted on an
// unfinished run (internal when there was none: the attempts crashed).
func (j *job) lastClass() snapkeep.ErrorClass {
	switch s := j.run.HTTPStatus; {
	case s == 429:
		return snapkeep.ClassRateLimited
	case s == 422:
		return snapkeep.ClassResourceBusy
	case s >= 500:
		return snapkeep.ClassProviderError
	case s == 0 && strings.HasSuffix(j.run.ErrorDetail, " errored"):
		return snapkeep.ClassActionErrored
	case s == 0 && j.run.ErrorDetail != "":
		return snapkeep.ClassNetwork
	}
	return snapkeep.ClassInternal
}
