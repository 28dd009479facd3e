package mailing

import (
	"fmt"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// MaxWindow bounds a broadcast's window: a broadcast tells of one
// DigitalOcean problem, not of a quarter's failures.
const MaxWindow = 31 * 24 * time.Hour

// mailingHour is how a class range's hours appear in its mailing id.
const mailingHour = "2006-01-02T15Z"

// Target says whose failures a broadcast tells of: the runs a provider
// incident explains, or the runs that failed with one provider-side class
// in a time range.
type Target struct {
	// Incident, when set, is the provider incident: the runs that ended
	// with a provider-side class between its change point and its
	// resolution (or now, while it is open), in its dimension
	// (snapkeep.Incident.Explains).
	Incident *snapkeep.Incident
	// Class, without an incident, is the error class of the runs told of;
	// it must be provider-side (the message says DigitalOcean failed).
	Class snapkeep.ErrorClass
	// From and To, without an incident, bound when the runs finished;
	// zero To means now. The range is widened to whole UTC hours: the
	// hours name the broadcast (MailingID), so the same command run again
	// within the hour resumes it rather than starting another.
	From, To time.Time
}

// Window is a half-open time range [From, To), UTC.
type Window struct {
	From, To time.Time
}

// Duration is the window's length.
func (w Window) Duration() time.Duration { return w.To.Sub(w.From) }

// String formats the window as "2026-03-26T12:00:00Z – 2026-03-27T13:00:00Z".
func (w Window) String() string {
	return w.From.UTC().Format(time.RFC3339) + " – " + w.To.UTC().Format(time.RFC3339)
}

// Window returns the target's window at now, or an error wrapping
// snapkeep.ErrInvalid that says what is wrong with the target.
func (t Target) Window(now time.Time) (Window, error) {
	now = now.UTC()
	if inc := t.Incident; inc != nil {
		if t.Class != "" || !t.From.IsZero() || !t.To.IsZero() {
			return Window{}, fmt.Errorf("a broadcast is about an incident or a class and range, not both: %w", snapkeep.ErrInvalid)
		}
		if inc.Kind != snapkeep.IncidentProvider {
			return Window{}, fmt.Errorf("incident %s is a %s incident, not DigitalOcean's: a broadcast tells customers of DigitalOcean's problems: %w", inc.IncidentID, inc.Kind, snapkeep.ErrInvalid)
		}
		to := now
		if !inc.Open() && inc.ResolvedAt != nil {
			to = inc.ResolvedAt.UTC()
		}
		return checkWindow(Window{From: inc.StartedAt.UTC(), To: to})
	}
	if err := checkClass(t.Class); err != nil {
		return Window{}, err
	}
	if t.From.IsZero() {
		return Window{}, fmt.Errorf("a class broadcast needs the start of its range (--since): %w", snapkeep.ErrInvalid)
	}
	to := t.To
	if to.IsZero() || to.After(now) {
		to = now
	}
	return checkWindow(Window{From: t.From.UTC().Truncate(time.Hour), To: ceilHour(to.UTC())})
}

func checkClass(c snapkeep.ErrorClass) error {
	switch {
	case c == "":
		return fmt.Errorf("a broadcast needs an incident or an error class: %w", snapkeep.ErrInvalid)
	case !c.Valid():
		return fmt.Errorf("%q is not an error class: %w", snapkeep.Bound(string(c), 40), snapkeep.ErrInvalid)
	case !c.Info().ProviderSide:
		return fmt.Errorf("%s is not a DigitalOcean-side failure (%s): a broadcast tells customers of DigitalOcean's problems: %w", c, c.Info().Cause, snapkeep.ErrInvalid)
	}
	return nil
}

func checkWindow(w Window) (Window, error) {
	switch {
	case !w.From.Before(w.To):
		return Window{}, fmt.Errorf("the window %s is empty: its start must be before its end: %w", w, snapkeep.ErrInvalid)
	case w.Duration() > MaxWindow:
		return Window{}, fmt.Errorf("the window %s is longer than %d days: a broadcast tells of one DigitalOcean problem: %w", w, int(MaxWindow/(24*time.Hour)), snapkeep.ErrInvalid)
	}
	return w, nil
}

// ceilHour rounds t up to a whole hour.
func ceilHour(t time.Time) time.Time {
	h := t.Truncate(time.Hour)
	if h.Before(t) {
		h = h.Add(time.Hour)
	}
	return h
}

// MailingID names the broadcast in the Mailings table, so that a second
// run of the same broadcast finds who was sent: "broadcast#incident#<id>"
// for an incident, "broadcast#<class>#<from hour>#<to hour>" (UTC) for a
// class and range. w is the target's Window.
func (t Target) MailingID(w Window) string {
	if t.Incident != nil {
		return "broadcast#incident#" + t.Incident.IncidentID
	}
	return fmt.Sprintf("broadcast#%s#%s#%s", t.Class, w.From.UTC().Format(mailingHour), w.To.UTC().Format(mailingHour))
}

// Classes returns the error classes whose failed runs are read: the
// provider-side ones for an incident, else the target's class.
func (t Target) Classes() []snapkeep.ErrorClass {
	if t.Incident == nil {
		return []snapkeep.ErrorClass{t.Class}
	}
	var out []snapkeep.ErrorClass
	for _, c := range snapkeep.ErrorClasses() {
		if c.Info().ProviderSide {
			out = append(out, c)
		}
	}
	return out
}

// covers reports whether the target tells of run: for an incident, the
// domain's rule (Incident.Explains), whether the incident is still open
// or resolved (the plan reads only the runs of its window).
func (t Target) covers(run *snapkeep.Run) bool {
	if t.Incident == nil {
		return run.ErrorClass == t.Class
	}
	return t.Incident.Explains(run)
}
