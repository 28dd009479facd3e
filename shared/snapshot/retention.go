package snapshot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// ownSnapshot is one of the policy's own snapshots.
type ownSnapshot struct {
	id      string
	created time.Time
}

// retention deletes the policy's own snapshots its rules no longer keep.
// It never fails the run: problems are recorded in the result (a failed
// delete is retried naturally by the next run).
func (j *job) retention(ctx context.Context, listing []snapkeep.Snapshot, listed bool) *snapkeep.RetentionResult {
	res := &snapkeep.RetentionResult{}
	if j.run.Retention != nil {
		// What was deleted to make room before the snapshot.
		res.MadeRoom = j.run.Retention.MadeRoom
	}
	pol := j.pol
	if pol == nil {
		p, err := j.s.Policies.Get(ctx, j.run.PolicyID)
		if err != nil {
			if errors.Is(err, snapkeep.ErrNotFound) {
				res.Error = "the policy was deleted; retention skipped"
			} else {
				res.Error = snapkeep.Bound("reading the policy: "+err.Error(), snapkeep.MaxProviderText)
			}
			return res
		}
		pol = p
		j.pol = p
	}
	if !listed {
		var err error
		if listing, err = j.listAll(ctx); err != nil {
			res.Error = snapkeep.Bound("listing snapshots: "+describe(err), snapkeep.MaxProviderText)
			return res
		}
	}
	now := j.now()
	listing = without(listing, res.MadeRoom)
	keep, del := plan(pol.PolicyID, pol.Retention, j.run.Kind, j.run.SnapshotID, listing, now)
	res.Kept = len(keep)
	for i, id := range del {
		if err := j.ready(ctx); err != nil {
			res.Failed = append(res.Failed, del[i:]...)
			res.Error = fmt.Sprintf("%d deletes deferred to the next run: %v", len(del)-i, describe(err))
			break
		}
		err := j.do.DeleteSnapshot(snapkeep.WithOperation(ctx, snapkeep.OpDeleteSnapshot, 1), id)
		if err != nil && failure(err).Class != snapkeep.ClassResourceMissing {
			res.Failed = append(res.Failed, id)
			j.s.log().WarnContext(ctx, "retention delete failed; the next run retries it", "run_id", j.run.RunID, "snapshot_id", id, "error", err.Error())
			continue
		}
		res.Deleted = append(res.Deleted, id) // 404: already gone
	}
	if len(res.Failed) > 0 && res.Error == "" {
		res.Error = fmt.Sprintf("%d deletes failed; the next run retries them", len(res.Failed))
	}
	return res
}

// plan splits the policy's own snapshots in listing (recognised by name,
// never DigitalOcean backups or the customer's own snapshots) into those
// to keep and those to delete, newest first. A snapshot is deleted only
// when every non-zero rule allows it; newID is always kept. For a volume it
// also makes room under DigitalOcean's limit of VolumeSnapshotLimit
// snapshots per volume (counting the ones that are not ours), deleting the
// oldest of ours, so that the next run's snapshot fits.
func plan(policyID string, r snapkeep.Retention, kind snapkeep.ResourceKind, newID string, listing []snapkeep.Snapshot, now time.Time) (keep, del []string) {
	own := ownSnapshots(policyID, listing)
	sort.SliceStable(own, func(a, b int) bool { return own[a].created.After(own[b].created) })
	ruled := r.KeepLast > 0 || r.MaxAgeDays > 0
	cut := now.Add(-time.Duration(r.MaxAgeDays) * 24 * time.Hour)
	var kept []ownSnapshot
	for i, s := range own {
		deletable := ruled && s.id != newID &&
			(r.KeepLast == 0 || i >= r.KeepLast) &&
			(r.MaxAgeDays == 0 || s.created.Before(cut))
		if deletable {
			del = append(del, s.id)
		} else {
			kept = append(kept, s)
		}
	}
	if kind == snapkeep.ResourceVolume {
		// Room for the next run: at most VolumeSnapshotLimit-1 remain.
		total := len(listing) - len(del)
		for i := len(kept) - 1; i >= 0 && total >= VolumeSnapshotLimit; i-- {
			if kept[i].id == newID {
				continue
			}
			del = append(del, kept[i].id)
			kept = append(kept[:i], kept[i+1:]...)
			total--
		}
	}
	for _, s := range kept {
		keep = append(keep, s.id)
	}
	return keep, del
}

// ownSnapshots returns the policy's own snapshots in listing, recognised by
// name (never DigitalOcean backups, the customer's own or another
// policy's), with their creation time (the slot when DigitalOcean's is
// unknown).
func ownSnapshots(policyID string, listing []snapkeep.Snapshot) []ownSnapshot {
	var own []ownSnapshot
	for _, s := range listing {
		slot, ok := ownSlot(policyID, s.Name)
		if !ok {
			continue
		}
		created := slot
		if !s.Created.IsZero() {
			created = s.Created
		}
		own = append(own, ownSnapshot{id: s.ID, created: created})
	}
	return own
}

// without returns listing less the snapshots with the given ids (deleted
// already, but maybe still listed).
func without(listing []snapkeep.Snapshot, ids []string) []snapkeep.Snapshot {
	if len(ids) == 0 {
		return listing
	}
	gone := make(map[string]bool, len(ids))
	for _, id := range ids {
		gone[id] = true
	}
	out := make([]snapkeep.Snapshot, 0, len(listing))
	for _, s := range listing {
		if !gone[s.ID] {
			out = append(out, s)
		}
	}
	return out
}

// oldestFirst sorts own by creation time, oldest first.
func oldestFirst(own []ownSnapshot) []ownSnapshot {
	sort.SliceStable(own, func(a, b int) bool { return own[a].created.Before(own[b].created) })
	return own
}

// describe is an error's text for a run's record: a DigitalOcean failure
// classified, anything else as it is.
func describe(err error) string {
	var p *paced
	if errors.As(err, &p) || errors.Is(err, errOutOfTime) {
		return err.Error()
	}
	return failure(err).Error()
}
