package snapshot

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// snapshot requests the snapshot, after looking for an earlier attempt's
// one when there may be one.
func (j *job) snapshot(ctx context.Context) error {
	if j.run.Attempts > 0 || j.run.RequestUncertain {
		// An earlier request may have made a snapshot (5xx, timeout, reset
		// or a crash between request and record): look for it by its name
		// before asking again.
		done, err := j.lookForEarlier(ctx)
		if err != nil || done {
			return err
		}
	}
	if !j.now().Before(j.postLimit(j.run.RetryClass)) {
		class, detail := j.windowPassed()
		return j.finish(ctx, snapkeep.RunFailed, class, detail)
	}
	if !j.leased || (!j.lockUntil.IsZero() && j.lockUntil.Sub(j.now()) < j.cfg.LockTTL/2) {
		// Only the lease holder may request, while it holds the droplet
		// lock: take them (one conditional write).
		if err := j.takeRequestLease(ctx, j.now()); err != nil {
			return err
		}
	}
	if err := j.ready(ctx); err != nil {
		return j.retryOrFail(ctx, err, "request the snapshot", j.postLimit(j.run.RetryClass))
	}
	switch j.run.Kind {
	case snapkeep.ResourceDroplet:
		return j.requestDroplet(ctx)
	case snapkeep.ResourceVolume:
		return j.requestVolume(ctx)
	}
	return j.finish(ctx, snapkeep.RunFailed, snapkeep.ClassInvalidPolicy, fmt.Sprintf("unknown resource kind %q", j.run.Kind))
}

// windowPassed says why a run whose slot window passed before its request
// could be sent failed: the class it was retrying, else its account's own
// rate budget if that delayed it, else snapkeep itself.
func (j *job) windowPassed() (snapkeep.ErrorClass, string) {
	switch {
	case j.run.RetryClass != "" && j.run.ErrorDetail != "":
		return j.run.RetryClass, j.run.ErrorDetail
	case j.run.RetryClass != "":
		return j.run.RetryClass, "the slot window passed while the snapshot request was being retried"
	case j.run.BudgetDelays > 0:
		return snapkeep.ClassRateLimited, fmt.Sprintf("the account's own DigitalOcean rate budget (shared by all its policies) delayed the snapshot request %d times, past the slot window", j.run.BudgetDelays)
	}
	return snapkeep.ClassInternal, "the slot window passed before the snapshot could be requested"
}

// lookForEarlier looks for the snapshot (and, after an uncertain droplet
// request, the action) an earlier attempt may have started. done is true
// when the step is over (found, adopted or stored for later).
func (j *job) lookForEarlier(ctx context.Context) (done bool, err error) {
	snaps, err := j.listAll(ctx)
	if err != nil {
		return true, j.retryOrFail(ctx, err, "look for the snapshot of an earlier attempt", j.postLimit(j.run.RetryClass))
	}
	if s := findByName(snaps, j.run.SnapshotName); s != nil {
		j.run.SnapshotID = s.ID
		j.run.Status = snapkeep.RunInProgress
		if j.run.StartedAt == nil {
			t := j.now().Truncate(time.Second)
			j.run.StartedAt = &t
		}
		return true, j.succeed(ctx, snaps, true)
	}
	if !j.run.RequestUncertain || j.run.Kind != snapkeep.ResourceDroplet {
		return false, nil
	}
	// Not listed (yet): the earlier request may still have started the
	// action. Look for it among the droplet's actions before asking again.
	a, err := j.findAction(ctx)
	if err != nil {
		return true, j.retryOrFail(ctx, err, "look for the snapshot action of an earlier attempt", j.postLimit(j.run.RetryClass))
	}
	if a != nil {
		return true, j.adopt(ctx, a)
	}
	return false, nil
}

// requestDroplet sends the droplet snapshot request.
func (j *job) requestDroplet(ctx context.Context) error {
	id, err := strconv.Atoi(j.run.Resource.ID)
	if err != nil {
		return j.finish(ctx, snapkeep.RunFailed, snapkeep.ClassInvalidPolicy, fmt.Sprintf("droplet id %q is not a number", j.run.Resource.ID))
	}
	j.run.Attempts++
	sent := j.now()
	a, err := j.do.SnapshotDroplet(snapkeep.WithOperation(ctx, snapkeep.OpSnapshotDroplet, j.run.Attempts), id, j.run.SnapshotName)
	if err != nil {
		return j.postFailed(ctx, err, "request the droplet snapshot", sent)
	}
	t := j.now()
	j.run.ActionID = a.ID
	j.run.Adopted = false
	j.run.Status = snapkeep.RunInProgress
	started := t.Truncate(time.Second)
	j.run.StartedAt = &started
	j.settled()
	return j.wait(ctx, t.Add(CheckDelay(0, j.expected())))
}

// requestVolume snapshots the volume (synchronous at DigitalOcean). At the
// volume's limit of 25 snapshots it first makes room by deleting the
// policy's own oldest ones, never another's.
func (j *job) requestVolume(ctx context.Context) error {
	for room := false; ; room = true {
		j.run.Attempts++
		sent := j.now()
		sn, err := j.do.SnapshotVolume(snapkeep.WithOperation(ctx, snapkeep.OpSnapshotVolume, j.run.Attempts),
			j.run.Resource.ID, j.run.SnapshotName, []string{"snapkeep"})
		if err == nil {
			started := j.now().Truncate(time.Second)
			j.run.StartedAt = &started
			j.run.SnapshotID = sn.ID
			j.run.Status = snapkeep.RunInProgress
			j.settled()
			return j.succeed(ctx, nil, false)
		}
		if room || failure(err).Class != snapkeep.ClassQuotaExceeded {
			return j.postFailed(ctx, err, "request the volume snapshot", sent)
		}
		made, ferr := j.makeRoom(ctx, err)
		if ferr != nil || !made {
			return ferr
		}
	}
}

// settled forgets the retry state of the snapshot request: it was answered.
func (j *job) settled() {
	j.clearNote()
	j.run.RequestUncertain = false
	j.run.Requests = nil
}

// postFailed handles a failed snapshot request sent at sent. A 5xx,
// timeout, reset or malformed answer may hide a snapshot that was started:
// the run remembers it (RequestUncertain, and the request's window), so
// that the next attempt looks for it and a later "pending event" is waited
// out.
func (j *job) postFailed(ctx context.Context, err error, what string, sent time.Time) error {
	class := failure(err).Class
	if class == snapkeep.ClassProviderError || class == snapkeep.ClassNetwork {
		j.run.RequestUncertain = true
		j.addRequestWindow(sent, j.now())
	}
	return j.retryOrFail(ctx, err, what, j.postLimit(class))
}

// addRequestWindow remembers that a request whose outcome is uncertain
// was in flight from from to to (at most MaxRequestWindows, newest kept).
func (j *job) addRequestWindow(from, to time.Time) {
	j.run.Requests = append(j.run.Requests, snapkeep.RequestWindow{From: from.UTC(), To: to.UTC()})
	if n := len(j.run.Requests) - snapkeep.MaxRequestWindows; n > 0 {
		j.run.Requests = append([]snapkeep.RequestWindow(nil), j.run.Requests[n:]...)
	}
}

// postLimit is until when the snapshot may still be requested after a
// failure of class: the slot window, or — for a droplet whose earlier
// request may have started the snapshot, now answered "pending event" —
// the deadline: the pending event is most likely that snapshot, which can
// take longer than the window (about a minute per GB). Each retry first
// looks for the snapshot by name, so the run succeeds once it is listed.
func (j *job) postLimit(class snapkeep.ErrorClass) time.Time {
	if j.run.RequestUncertain && class == snapkeep.ClassResourceBusy && j.run.Kind == snapkeep.ResourceDroplet {
		return j.run.Deadline
	}
	return j.windowEnd()
}

// AdoptSkew is how far outside the run's request windows a droplet
// snapshot action may have started, by DigitalOcean's clock, and still be
// taken for the run's own, when DigitalOcean's clock offset is not known
// (AdoptTolerance when it is). Actions carry no snapshot name, so time is
// the only tie to the run; the droplet lock keeps snapkeep's other runs
// from requesting in those windows.
const AdoptSkew = 2 * time.Minute

// AdoptTolerance is AdoptSkew once the offset of DigitalOcean's clock is
// measured (its Date header has whole seconds; the round trip adds a few).
const AdoptTolerance = 5 * time.Second

// maxActionPages bounds the droplet's action pages read when looking for
// an earlier attempt's action (they are newest first, so the first page
// nearly always decides).
const maxActionPages = 5

// adoptWindows are the run's request windows by DigitalOcean's clock,
// widened by the tolerance. A run in flight before the windows were kept
// has one window from its claim to now (the rule it started under).
func (j *job) adoptWindows() []snapkeep.RequestWindow {
	skew, known := j.do.ClockSkew()
	tol := AdoptSkew
	if known {
		tol = AdoptTolerance
	} else {
		skew = 0
	}
	ws := j.run.Requests
	if len(ws) == 0 {
		ws = []snapkeep.RequestWindow{{From: j.run.ClaimedAt, To: j.now()}}
	}
	out := make([]snapkeep.RequestWindow, len(ws))
	for i, w := range ws {
		out[i] = snapkeep.RequestWindow{From: w.From.Add(skew - tol), To: w.To.Add(skew + tol)}
	}
	return out
}

// findAction returns the newest snapshot action of the run's droplet that
// started inside one of the run's request windows: the action an earlier,
// unconfirmed request of the run started. nil when there is none.
func (j *job) findAction(ctx context.Context) (*snapkeep.Action, error) {
	id, err := strconv.Atoi(j.run.Resource.ID)
	if err != nil {
		return nil, nil // the request path reports the bad id
	}
	windows := j.adoptWindows()
	since := windows[0].From
	for _, w := range windows {
		if w.From.Before(since) {
			since = w.From
		}
	}
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
			switch {
			case a.StartedAt.IsZero():
			case a.StartedAt.Before(since):
				older = true
			case a.Type == "snapshot" && (a.ResourceID == 0 || a.ResourceID == int64(id)) && inWindows(a.StartedAt, windows):
				return a, nil
			}
		}
		if older || !more {
			return nil, nil
		}
	}
	return nil, nil
}

func inWindows(t time.Time, ws []snapkeep.RequestWindow) bool {
	for _, w := range ws {
		if !t.Before(w.From) && !t.After(w.To) {
			return true
		}
	}
	return false
}

// adopt takes a, the action an earlier unconfirmed request started, as
// the run's own and follows it like one whose request was answered.
func (j *job) adopt(ctx context.Context, a *snapkeep.Action) error {
	j.s.log().InfoContext(ctx, "adopting the snapshot action of an earlier request",
		"run_id", j.run.RunID, "action_id", a.ID, "action_status", a.Status, "action_started_at", a.StartedAt.UTC().Format(time.RFC3339))
	j.run.ActionID = a.ID
	j.run.Adopted = true
	j.run.Status = snapkeep.RunInProgress
	started := a.StartedAt.UTC().Truncate(time.Second)
	if started.Before(j.run.ClaimedAt) {
		started = j.run.ClaimedAt
	}
	j.run.StartedAt = &started
	j.clearNote()
	return j.follow(ctx, a, j.now())
}

// notOurs drops an adopted action that completed without the run's named
// snapshot: it was another's (the customer's own, started in the same
// seconds). The run's own request made nothing, so it asks again while the
// slot window is open.
func (j *job) notOurs(ctx context.Context, why string) error {
	j.s.log().WarnContext(ctx, "the adopted action was not the run's own; requesting again", "run_id", j.run.RunID,
		"action_id", j.run.ActionID, "why", why)
	j.run.ActionID = 0
	j.run.Adopted = false
	j.run.ActionCompletedAt = nil
	j.run.Status = snapkeep.RunClaimed
	j.run.StartedAt = nil
	j.run.RequestUncertain = false
	j.run.Requests = nil
	if !j.now().Before(j.windowEnd()) {
		j.run.HTTPStatus = 0
		return j.finish(ctx, snapkeep.RunFailed, snapkeep.ClassProviderError,
			"the snapshot request's outcome stayed unknown and the slot window passed before it could be repeated ("+why+")")
	}
	return j.snapshot(ctx)
}

// makeRoom handles a volume's "snapshot limit" refusal (err): at
// DigitalOcean's limit of VolumeSnapshotLimit snapshots, when the policy
// holds more than one of its own, it deletes the policy's oldest own ones
// (never another's) until one more fits, records them in the run's
// retention result, and reports made = true so the request is repeated.
// Otherwise the run fails quota_exceeded, saying exactly why.
func (j *job) makeRoom(ctx context.Context, refusal error) (made bool, err error) {
	listing, lerr := j.listAll(ctx)
	if lerr != nil {
		return false, j.retryOrFail(ctx, lerr, "list the volume's snapshots to make room", j.windowEnd())
	}
	own := oldestFirst(ownSnapshots(j.run.PolicyID, listing))
	total := len(listing)
	e := failure(refusal)
	switch {
	case total < VolumeSnapshotLimit:
		j.note(e, "request the volume snapshot: "+e.Error())
		return false, j.finish(ctx, snapkeep.RunFailed, snapkeep.ClassQuotaExceeded, fmt.Sprintf(
			"DigitalOcean refused the snapshot for a limit although the volume holds only %d of its %d snapshots: %s",
			total, VolumeSnapshotLimit, e.Error()))
	case len(own) <= 1:
		j.note(e, "request the volume snapshot: "+e.Error())
		return false, j.finish(ctx, snapkeep.RunFailed, snapkeep.ClassQuotaExceeded, fmt.Sprintf(
			"the volume already holds DigitalOcean's limit of %d snapshots, %d of them not made by this policy; "+
				"snapkeep deletes only the policy's own snapshots and keeps its newest, so delete some of the others to make room",
			VolumeSnapshotLimit, total-len(own)))
	}
	need := min(total-(VolumeSnapshotLimit-1), len(own)-1)
	res := j.run.Retention
	if res == nil {
		res = &snapkeep.RetentionResult{}
		j.run.Retention = res
	}
	for _, s := range own[:need] {
		if rerr := j.ready(ctx); rerr != nil {
			return false, j.retryOrFail(ctx, rerr, "make room for the volume snapshot", j.windowEnd())
		}
		derr := j.do.DeleteSnapshot(snapkeep.WithOperation(ctx, snapkeep.OpDeleteSnapshot, 1), s.id)
		if derr != nil && failure(derr).Class != snapkeep.ClassResourceMissing {
			return false, j.retryOrFail(ctx, derr, fmt.Sprintf("delete the policy's oldest snapshot %s to make room", s.id), j.windowEnd())
		}
		res.MadeRoom = append(res.MadeRoom, s.id)
	}
	j.s.log().InfoContext(ctx, "volume at its snapshot limit: deleted the policy's oldest snapshots to make room",
		"run_id", j.run.RunID, "deleted", res.MadeRoom)
	return true, nil
}
