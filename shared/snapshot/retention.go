package snapshot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/snapkeep/snapkeep/shared/docloud"
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
	pol := j.pol
	if pol == nil {
		p, err := j.s.Policies.Get(ctx, j.run.PolicyID)
		if err != nil {
			if errors.Is(err, snapkeep.ErrNotFound) {
				res.Error = "the policy was deleted; retention skipped"
			} else {
				res.Error = "reading the policy: " + err.Error()
			}
			return res
		}
		pol = p
		j.pol = p
	}
	if !listed {
		var err error
		if listing, err = j.listAll(ctx); err != nil {
			res.Error = "listing snapshots: " + docloud.Classify(err).Error()
			return res
		}
	}
	now := j.now()
	keep, del := plan(pol.PolicyID, pol.Retention, j.run.Kind, j.run.SnapshotID, listing, now)
	res.Kept = len(keep)
	for i, id := range del {
		if err := j.pace(ctx); err != nil {
			res.Failed = append(res.Failed, del[i:]...)
			res.Error = fmt.Sprintf("%d deletes deferred to the next run: %v", len(del)-i, err)
			break
		}
		err := j.do.DeleteSnapshot(docloud.WithOperation(ctx, snapkeep.OpDeleteSnapshot, 1), id)
		if err != nil && docloud.Classify(err).Class != snapkeep.ClassResourceMissing {
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
