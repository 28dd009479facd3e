package snapshot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// checkAction follows the droplet snapshot action.
func (j *job) checkAction(ctx context.Context) error {
	if j.run.ActionCompletedAt != nil {
		// Seen completed before: only the listing is missing.
		return j.completed(ctx, *j.run.ActionCompletedAt)
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
		if (errors.As(err, &p) || failure(err).Retried()) && !now.Before(j.run.Deadline) {
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
		j.run.RetryClass = snapkeep.ClassActionErrored
		if at := now.Add(PostBackoff(j.run.Attempts)); at.Before(j.windowEnd()) {
			// An errored action made no snapshot: request a new one after
			// the backoff, while the slot window is open.
			j.s.log().WarnContext(ctx, "snapshot action errored; requesting again later", "run_id", j.run.RunID, "action_id", a.ID)
			j.run.ActionID = 0
			j.run.Adopted = false
			j.run.Status = snapkeep.RunClaimed
			j.run.RequestUncertain = false
			j.run.Requests = nil
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
		return j.wait(ctx, now.Add(CheckDelay(now.Sub(started), j.expected())))
	}
}

// expected is how long the run's action is expected to take: as long as
// the policy's previous snapshot did (zero when unknown).
func (j *job) expected() time.Duration {
	return time.Duration(j.run.ExpectedActionSeconds) * time.Second
}

// completed finds the completed action's snapshot by name; a snapshot not
// listed yet is looked for again a minute later, for up to ListingGrace.
// An adopted action whose snapshot does not appear (another snapshot made
// by it does, or ListingGrace passes) was not the run's own.
func (j *job) completed(ctx context.Context, at time.Time) error {
	at = at.UTC()
	j.run.ActionCompletedAt = &at
	snaps, err := j.listAll(ctx)
	now := j.now()
	if err != nil {
		var p *paced
		e := failure(err)
		if !errors.As(err, &p) && !errors.Is(err, errOutOfTime) && !e.Retried() {
			return j.retryOrFail(ctx, err, "find the completed snapshot", j.run.Deadline)
		}
		if !now.Before(j.run.Deadline) {
			return j.finish(ctx, snapkeep.RunTimedOut, snapkeep.ClassTimedOut, "the completed snapshot could not be listed before the deadline: "+err.Error())
		}
		return j.retryOrFail(ctx, err, "find the completed snapshot", j.run.Deadline)
	}
	if s := findByName(snaps, j.run.SnapshotName); s != nil {
		j.run.SnapshotID = s.ID
		return j.succeed(ctx, snaps, true)
	}
	if j.run.Adopted {
		if other := madeAround(snaps, j.run, at); other != nil {
			return j.notOurs(ctx, fmt.Sprintf("snapshot %q (%s) was made by it", other.Name, other.ID))
		}
	}
	if now.Sub(at) < j.cfg.ListingGrace && now.Before(j.run.Deadline) {
		return j.wait(ctx, now.Add(time.Minute))
	}
	if j.run.Adopted {
		return j.notOurs(ctx, fmt.Sprintf("its snapshot %q was not listed within %s", j.run.SnapshotName, j.cfg.ListingGrace))
	}
	j.run.HTTPStatus = 0
	return j.finish(ctx, snapkeep.RunFailed, snapkeep.ClassProviderError,
		fmt.Sprintf("snapshot action %d completed at %s but snapshot %q was not listed within %s", j.run.ActionID, at.Format(time.RFC3339), j.run.SnapshotName, j.cfg.ListingGrace))
}

// madeAround returns a snapshot not named for run that was created while
// its adopted action ran (from its start to at, the completion, within
// AdoptTolerance): the action's own snapshot, so the action was not the
// run's. (DigitalOcean runs one action at a time on a droplet, and another
// snapkeep run waits at least a minute before asking after a "pending
// event", so no other snapshot is made in that time.) nil when none.
func madeAround(snaps []snapkeep.Snapshot, run snapkeep.Run, at time.Time) *snapkeep.Snapshot {
	from := run.ClaimedAt
	if run.StartedAt != nil {
		from = *run.StartedAt
	}
	from, to := from.Add(-AdoptTolerance), at.Add(AdoptTolerance)
	for i := range snaps {
		s := &snaps[i]
		if s.Name != run.SnapshotName && !s.Created.IsZero() && !s.Created.Before(from) && !s.Created.After(to) {
			return s
		}
	}
	return nil
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
	j.settled()
	if j.run.StartedAt != nil && j.run.ActionCompletedAt != nil && j.run.ActionCompletedAt.After(*j.run.StartedAt) {
		j.run.ActionSeconds = int(j.run.ActionCompletedAt.Sub(*j.run.StartedAt).Seconds())
	}
	j.run.ActionCompletedAt = nil
	j.run.Adopted = false
	j.run.Retention = j.retention(ctx, listing, listed)
	return j.finish(ctx, snapkeep.RunSucceeded, "", "")
}
