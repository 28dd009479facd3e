package errorrate

import (
	"math"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Transition is what NextIncident did to an incident, i.e. which write
// (and which message to ops) the caller makes.
type Transition string

// Transitions.
const (
	// TransitionNone: nothing to write.
	TransitionNone Transition = ""
	// TransitionOpened: a new firing incident: put it only if absent
	// (attribute_not_exists(incident_id)), then alert ops once.
	TransitionOpened Transition = "opened"
	// TransitionUpdated: the open incident's figures moved on: update it
	// while it is still firing.
	TransitionUpdated Transition = "updated"
	// TransitionResolved: the incident resolved: update it only if still
	// firing, then tell ops once.
	TransitionResolved Transition = "resolved"
)

// IncidentID is the deterministic id of a provider incident: class,
// dimension and the change point's minute, e.g.
// "provider_error#operation:snapshot_droplet#2026-11-24T06:10Z". Every
// evaluator stepping the same state to the same decision derives the same
// id, so concurrent evaluators converge on one item. A detector other than
// the CUSUM is appended ("...#burn_rate"), so a comparison rule never
// collides with it.
func IncidentID(class snapkeep.ErrorClass, dim snapkeep.Dimension, start time.Time, detector string) string {
	id := string(class) + "#" + string(dim) + "#" + start.UTC().Format(MinuteFormat)
	if detector != DetectorCUSUM {
		id += "#" + detector
	}
	return id
}

// NextIncident moves a dimension's provider incident on by one detector
// decision: open is the dimension's open incident (nil when none), now the
// write time (UpdatedAt). It returns the incident to write and the
// transition; with TransitionNone the returned incident is open's copy (or
// zero). A decision replayed against the incident it already produced
// gives TransitionNone, so retried evaluations write and send nothing.
func NextIncident(open *snapkeep.Incident, d Decision, now time.Time) (snapkeep.Incident, Transition) {
	var cur snapkeep.Incident
	if open != nil {
		cur = *open
	}
	isOpen := open != nil && open.Open() && open.Dimension == d.Dimension
	switch {
	case d.Skipped != "":
		return cur, TransitionNone
	case d.Action == ActionFire:
		inc := newIncident(d, now)
		if isOpen && open.IncidentID == inc.IncidentID {
			return cur, TransitionNone
		}
		return inc, TransitionOpened
	case d.Action == ActionResolve && isOpen:
		next := withFigures(cur, d)
		resolved := d.At
		next.State, next.OpenState, next.ResolvedAt, next.UpdatedAt = snapkeep.IncidentResolved, "", &resolved, now
		return next, TransitionResolved
	case d.Firing && isOpen:
		next := withFigures(cur, d)
		if sameFigures(next, cur) {
			return cur, TransitionNone
		}
		next.UpdatedAt = now
		return next, TransitionUpdated
	}
	return cur, TransitionNone
}

// newIncident is the firing incident a fire decision opens.
func newIncident(d Decision, now time.Time) snapkeep.Incident {
	start := d.StartedAt
	if start.IsZero() {
		start = d.Minute
	}
	inc := snapkeep.Incident{
		IncidentID: IncidentID(snapkeep.ClassProviderError, d.Dimension, start, d.Detector),
		Kind:       snapkeep.IncidentProvider, Dimension: d.Dimension, Class: snapkeep.ClassProviderError,
		State: snapkeep.IncidentFiring, OpenState: snapkeep.OpenIncident,
		StartedAt: start, OpenedAt: d.At, Detector: d.Detector, BaselineRate: d.BaselineRate,
		UpdatedAt: now,
	}
	return withFigures(inc, d)
}

// withFigures takes the decision's figures into inc; peaks and affected
// counts never go down.
func withFigures(inc snapkeep.Incident, d Decision) snapkeep.Incident {
	inc.Rate = d.Rate
	inc.PeakRate = math.Max(inc.PeakRate, d.PeakRate)
	inc.Calls, inc.Failures = d.Calls, d.Failures
	inc.AffectedAccounts = max(inc.AffectedAccounts, d.AffectedAccounts)
	inc.AffectedResources = max(inc.AffectedResources, d.AffectedResources)
	return inc
}

func sameFigures(a, b snapkeep.Incident) bool {
	return a.Rate == b.Rate && a.PeakRate == b.PeakRate && a.Calls == b.Calls && a.Failures == b.Failures &&
		a.AffectedAccounts == b.AffectedAccounts && a.AffectedResources == b.AffectedResources
}

// SilenceRule is the pipeline alarm: no call outcomes at all for Minutes
// minutes after a snapshot was due means snapkeep itself is stuck (the
// snapshot function, its schedules, the stream or the aggregation), not
// DigitalOcean.
type SilenceRule struct {
	// Minutes is how long after the first due slot silence becomes an
	// incident.
	Minutes int
}

// DefaultSilenceRule waits 30 minutes: longer than a slot's first
// attempts and the stream windows' delay, far shorter than a night of
// missed backups.
func DefaultSilenceRule() SilenceRule { return SilenceRule{Minutes: 30} }

// Activity is what the silence rule looks at: whether calls were expected
// and whether they came.
type Activity struct {
	// LastCall is the latest minute with any call outcome (DimensionAll
	// Calls > 0); zero when none is known.
	LastCall time.Time
	// FirstDue is the earliest snapshot slot that fell due after LastCall
	// (from the policies' schedules); zero when none did.
	FirstDue time.Time
}

// Evaluate moves the pipeline incident on: open is the open pipeline
// incident (nil when none), now the evaluation time. It opens one (Kind
// IncidentPipeline, Detector "silence", id "pipeline#all#<first due
// minute>") when a slot has been due for Minutes without any call
// outcome since, and resolves it once outcomes arrive again (LastCall at
// or after its StartedAt).
func (r SilenceRule) Evaluate(open *snapkeep.Incident, a Activity, now time.Time) (snapkeep.Incident, Transition) {
	var cur snapkeep.Incident
	if open != nil {
		cur = *open
	}
	if open != nil && open.Open() {
		if !a.LastCall.IsZero() && !Minute(a.LastCall).Before(open.StartedAt) {
			resolved := now
			cur.State, cur.OpenState, cur.ResolvedAt, cur.UpdatedAt = snapkeep.IncidentResolved, "", &resolved, now
			return cur, TransitionResolved
		}
		return cur, TransitionNone
	}
	due := Minute(a.FirstDue)
	silent := !a.FirstDue.IsZero() && (a.LastCall.IsZero() || due.After(Minute(a.LastCall))) &&
		now.Sub(a.FirstDue) >= time.Duration(r.Minutes)*time.Minute
	if !silent {
		return cur, TransitionNone
	}
	return snapkeep.Incident{
		IncidentID: string(snapkeep.IncidentPipeline) + "#" + string(snapkeep.DimensionAll) + "#" + due.Format(MinuteFormat),
		Kind:       snapkeep.IncidentPipeline, Dimension: snapkeep.DimensionAll, Class: snapkeep.ClassInternal,
		State: snapkeep.IncidentFiring, OpenState: snapkeep.OpenIncident,
		StartedAt: due, OpenedAt: now, Detector: DetectorSilence, UpdatedAt: now,
	}, TransitionOpened
}
