package errorrate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// maxWriteAttempts bounds the read-and-write-again loops of a conditional
// incident write that lost to a concurrent writer.
const maxWriteAttempts = 3

// decide turns one detector decision of w's dimension into the incident
// write it asks for (NextIncident), against the incident as stored.
func (r *evalRun) decide(ctx context.Context, w *Watch, d Decision) error {
	if err := r.remember(ctx, w); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		cur, err := r.refresh(ctx, r.openFor(w.Dimension))
		if err != nil {
			return err
		}
		next, tr := NextIncident(cur, d, r.now)
		err = r.apply(ctx, w, cur, next, tr)
		if !errors.Is(err, snapkeep.ErrConflict) || attempt == maxWriteAttempts {
			return err
		}
	}
}

// apply writes one transition of cur (nil for none) to next: an opened
// incident only if absent, an update or resolution only if cur is still
// what is stored. The figures of customer impact are filled in first. A
// lost conditional write is an error wrapping snapkeep.ErrConflict (read
// again and decide again); an incident another evaluator opened first is
// not.
func (r *evalRun) apply(ctx context.Context, w *Watch, cur *snapkeep.Incident, next snapkeep.Incident, tr Transition) error {
	if tr == TransitionNone {
		return nil
	}
	if err := r.impact(ctx, &next); err != nil {
		return err
	}
	switch tr {
	case TransitionOpened:
		return r.create(ctx, w, next)
	case TransitionResolved:
		if cur != nil && strings.HasPrefix(cur.AlertID, FoldedPrefix) {
			// Folded into another incident: its resolution notice is the
			// other's.
			next.ResolutionSentAt, next.ResolutionID = r.stamp(), cur.AlertID
		}
	}
	next.UpdatedAt = later(cur.UpdatedAt, r.now)
	if err := r.e.Incidents.Update(ctx, cur, &next); err != nil {
		delete(r.fresh, cur.IncidentID)
		return fmt.Errorf("%s incident %s: %w", tr, cur.IncidentID, err)
	}
	r.open[next.IncidentID], r.fresh[next.IncidentID] = &next, true
	if tr == TransitionResolved {
		r.sum.Resolved++
		w.addPending(next.IncidentID)
		if w.Incident == next.IncidentID {
			w.Incident = ""
		}
	}
	return nil
}

// remember reads the incident w opened when the open index does not (yet)
// list it.
func (r *evalRun) remember(ctx context.Context, w *Watch) error {
	if w.Incident == "" || r.open[w.Incident] != nil {
		return nil
	}
	inc, err := r.e.Incidents.Get(ctx, w.Incident)
	switch {
	case errors.Is(err, snapkeep.ErrNotFound):
		w.Incident = ""
		return nil
	case err != nil:
		return fmt.Errorf("read incident %s: %w", w.Incident, err)
	}
	r.fresh[inc.IncidentID] = true
	if !inc.Open() {
		w.Incident = ""
		return nil
	}
	r.open[inc.IncidentID] = inc
	return nil
}

// create stores an opened incident, folded into an open provider incident
// of another dimension when there is one, and owes its alert.
func (r *evalRun) create(ctx context.Context, w *Watch, next snapkeep.Incident) error {
	if other := r.foldInto(next); other != nil {
		next.AlertedAt, next.AlertID = r.stamp(), FoldedPrefix+other.IncidentID
	}
	err := r.e.Incidents.Create(ctx, &next)
	switch {
	case errors.Is(err, snapkeep.ErrConflict):
		// Opened by another evaluation (or by this one before a crash):
		// read it back; its alert may still be owed.
		stored, gerr := r.e.Incidents.Get(ctx, next.IncidentID)
		if gerr != nil {
			return fmt.Errorf("opened incident %s: %w", next.IncidentID, gerr)
		}
		next = *stored
	case err != nil:
		return fmt.Errorf("open incident %s: %w", next.IncidentID, err)
	default:
		r.sum.Opened++
		r.created[next.IncidentID] = true
		if strings.HasPrefix(next.AlertID, FoldedPrefix) {
			r.sum.Folded++
		}
	}
	r.open[next.IncidentID], r.fresh[next.IncidentID] = &next, true
	w.addPending(next.IncidentID)
	if next.Open() {
		w.Incident = next.IncidentID
	}
	return nil
}

// foldInto returns the open provider incident of another dimension a new
// provider incident is folded into: the oldest that is not folded itself
// and was opened before this run (those opened together are grouped
// afterwards, see group).
func (r *evalRun) foldInto(inc snapkeep.Incident) *snapkeep.Incident {
	if inc.Kind != snapkeep.IncidentProvider {
		return nil
	}
	var best *snapkeep.Incident
	for _, o := range r.open {
		if o.Kind != snapkeep.IncidentProvider || !o.Open() || o.IncidentID == inc.IncidentID ||
			o.Dimension == inc.Dimension || strings.HasPrefix(o.AlertID, FoldedPrefix) || r.created[o.IncidentID] {
			continue
		}
		if best == nil || o.OpenedAt.Before(best.OpenedAt) ||
			(o.OpenedAt.Equal(best.OpenedAt) && o.IncidentID < best.IncidentID) {
			best = o
		}
	}
	return best
}

// impact fills the incident's customer impact from the Runs stream's
// counts since its start: the failed and timed-out runs with a
// provider-side class, and their customers (MaxImpactCustomers means that
// many or more).
func (r *evalRun) impact(ctx context.Context, inc *snapkeep.Incident) error {
	if inc.Kind != snapkeep.IncidentProvider {
		return nil
	}
	end := r.now
	if inc.ResolvedAt != nil {
		end = *inc.ResolvedAt
	}
	runs, err := r.e.Stats.RunCounts(ctx, Minute(inc.StartedAt), end)
	if err != nil {
		return fmt.Errorf("customer impact of %s: %w", inc.IncidentID, err)
	}
	inc.FailedRuns = max(inc.FailedRuns, int(runs.ProviderFailed))
	inc.AffectedCustomers = max(inc.AffectedCustomers, len(runs.Customers))
	return nil
}

// openFor is the dimension's open provider incident as last known (the
// most recently opened, should there be several), or nil.
func (r *evalRun) openFor(dim snapkeep.Dimension) *snapkeep.Incident {
	var best *snapkeep.Incident
	for _, inc := range r.open {
		if inc.Kind == snapkeep.IncidentProvider && inc.Dimension == dim && inc.Open() &&
			(best == nil || inc.OpenedAt.After(best.OpenedAt)) {
			best = inc
		}
	}
	return best
}

// refresh returns inc as stored now (a consistent read, once per run and
// after each lost write), or nil when inc is nil or has gone.
func (r *evalRun) refresh(ctx context.Context, inc *snapkeep.Incident) (*snapkeep.Incident, error) {
	if inc == nil || r.fresh[inc.IncidentID] {
		return inc, nil
	}
	stored, err := r.e.Incidents.Get(ctx, inc.IncidentID)
	if errors.Is(err, snapkeep.ErrNotFound) {
		delete(r.open, inc.IncidentID)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read incident %s: %w", inc.IncidentID, err)
	}
	r.fresh[inc.IncidentID] = true
	if !stored.Open() {
		delete(r.open, inc.IncidentID)
		return nil, nil
	}
	r.open[inc.IncidentID] = stored
	return stored, nil
}

// owed adds the open incidents of w's dimension whose alert is still owed
// (opened by an evaluation that stopped before saving its watch).
func (r *evalRun) owed(w *Watch) {
	for _, inc := range r.open {
		dimOK := inc.Dimension == w.Dimension && inc.Kind == snapkeep.IncidentProvider
		if w.Dimension == PipelineWatch {
			dimOK = inc.Kind == snapkeep.IncidentPipeline
		}
		if dimOK && inc.Open() && inc.AlertID == "" {
			w.addPending(inc.IncidentID)
		}
	}
}

func (w *Watch) addPending(id string) {
	if !slices.Contains(w.Pending, id) {
		w.Pending = append(w.Pending, id)
	}
}

// later is a version time after prev: now, or just after prev when the
// clock has not moved on (an incident's updated_at must increase).
func later(prev, now time.Time) time.Time {
	if now.After(prev) {
		return now
	}
	return prev.Add(time.Millisecond)
}

// stamp is a fresh pointer to the run's time, for an incident's *time.Time
// fields.
func (r *evalRun) stamp() *time.Time {
	t := r.now
	return &t
}

// group folds the provider incidents this run opened together (one event
// crossing its dimension and "all" in the same minute) into the one most
// out of the ordinary, the highest rate against its baseline: ops gets
// the alert of "snapshot_droplet at 1.5% (30×)" rather than of "all at
// 0.6% (12×)". A fold that loses to a concurrent writer is left alone (the
// incident is then alerted on its own).
func (r *evalRun) group(ctx context.Context) {
	var fresh []*snapkeep.Incident
	for id := range r.created {
		if inc := r.open[id]; inc != nil && inc.Open() && inc.AlertID == "" && inc.AlertedAt == nil {
			fresh = append(fresh, inc)
		}
	}
	if len(fresh) < 2 {
		return
	}
	ratio := func(i *snapkeep.Incident) float64 { return i.Rate / math.Max(i.BaselineRate, 1e-9) }
	slices.SortFunc(fresh, func(a, b *snapkeep.Incident) int {
		if c := cmp.Compare(ratio(b), ratio(a)); c != 0 {
			return c
		}
		return strings.Compare(a.IncidentID, b.IncidentID)
	})
	for _, inc := range fresh[1:] {
		next := *inc
		next.AlertedAt, next.AlertID = r.stamp(), FoldedPrefix+fresh[0].IncidentID
		next.UpdatedAt = later(inc.UpdatedAt, r.now)
		if err := r.e.Incidents.Update(ctx, inc, &next); err != nil {
			r.e.logger().WarnContext(ctx, "errorrate: incident not folded; it is alerted on its own",
				"incident", inc.IncidentID, "into", fresh[0].IncidentID, "error", err.Error())
			continue
		}
		r.open[next.IncidentID] = &next
		r.sum.Folded++
	}
}
