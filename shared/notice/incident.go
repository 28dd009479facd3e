package notice

import (
	"fmt"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// IncidentInput is what the hold-mode notice needs: during an open
// DigitalOcean incident a customer gets this one message instead of one
// per failed backup.
type IncidentInput struct {
	// Customer is who the message is for (required).
	Customer *snapkeep.Customer
	// Incident is the open provider incident (required).
	Incident *snapkeep.Incident
	// Failed are the customer's runs that failed in it so far (at least
	// one), in any order.
	Failed []FailedRun
	// Now is the time of rendering.
	Now time.Time
}

// IncidentNotice renders the one notice a customer gets while a
// DigitalOcean incident is open (hold mode): what DigitalOcean's problem
// is, that their servers are fine, that snapkeep reported it, which of
// their backups failed, and that one more message follows when it is
// over. Message.Warnings lists what was told in fallback words.
func (r *Renderer) IncidentNotice(in IncidentInput) (Message, error) {
	v, warns, err := r.viewIncident("incident notice", in.Customer, in.Incident, in.Failed, in.Now)
	if err != nil {
		return Message{}, err
	}
	d := document{Kind: snapkeep.NoticeIncident, Tone: toneInfo,
		Status: ph("incident.status", v), Subject: ph("incident.subject", v),
		Preheader: ph("incident.preheader", v), Title: ph("incident.title", v)}
	d.Blocks = []block{
		{Paras: []phrase{ph("greeting", v.Customer), ph("incident.lead", v)}},
		{Heading: ph("h.snapkeep", nil), Paras: []phrase{ph("incident.doing", v)},
			Links: []link{{ph("link.status", nil), v.StatusPage}}},
		{Heading: ph("h.failed", v), Items: v.items("incident.item"),
			Links: []link{{ph("link.policies", nil), v.PoliciesURL}}},
	}
	return r.finish(d, in.Customer, warns, "incident notice")
}

// ResolvedInput is what the message closing an incident needs.
type ResolvedInput struct {
	// Customer is who the message is for (required).
	Customer *snapkeep.Customer
	// Incident is the provider incident, resolved (required).
	Incident *snapkeep.Incident
	// Failed are the customer's runs that failed during it.
	Failed []FailedRun
	// After holds, by policy id, each policy's first run after its last
	// failure in the incident; a policy absent from it has not run since.
	After map[string]*snapkeep.Run
	// Now is the time of rendering.
	Now time.Time
}

// afterView is how a policy did after the incident.
type afterView struct {
	// Outcome is "succeeded", "failed", "running", "skipped" or "none"
	// (not run since).
	Outcome string
	Slot    moment
	Class   string
}

// Resolved renders the message that closes an incident for a customer:
// it is over, their servers were never affected, and for each affected
// backup whether its next backup succeeded (from In.After).
func (r *Renderer) Resolved(in ResolvedInput) (Message, error) {
	v, warns, err := r.viewIncident("resolved notice", in.Customer, in.Incident, in.Failed, in.Now)
	if err != nil {
		return Message{}, err
	}
	if in.Incident.Open() {
		return Message{}, fmt.Errorf("notice resolved notice: incident %s is still %s", HeaderSafe(in.Incident.IncidentID, maxName), in.Incident.State)
	}
	for _, g := range v.Groups {
		g.After = viewAfter(in.After[g.Backup.PolicyID], g.Backup.Slot.loc)
		switch g.After.Outcome {
		case "succeeded":
			v.Recovered++
		case "failed":
			v.FailedAgain++
		}
	}
	d := document{Kind: snapkeep.NoticeResolved, Tone: toneGood,
		Status: ph("resolved.status", v), Subject: ph("resolved.subject", v),
		Preheader: ph("resolved.preheader", v), Title: ph("resolved.title", v)}
	d.Blocks = []block{
		{Paras: []phrase{ph("greeting", v.Customer), ph("resolved.lead", v)}},
		{Heading: ph("h.now", nil), Items: v.items("resolved.item"),
			Links: []link{{ph("link.policies", nil), v.PoliciesURL}}},
		{Heading: ph("h.snapkeep", nil), Paras: []phrase{ph("resolved.doing", v)},
			Links: []link{{ph("link.status", nil), v.StatusPage}}},
	}
	return r.finish(d, in.Customer, warns, "resolved notice")
}

func viewAfter(run *snapkeep.Run, loc *time.Location) *afterView {
	if run == nil {
		return &afterView{Outcome: "none"}
	}
	a := &afterView{Slot: at(run.ScheduledAt, loc), Class: string(run.ErrorClass)}
	switch run.Status {
	case snapkeep.RunSucceeded:
		a.Outcome = "succeeded"
	case snapkeep.RunFailed, snapkeep.RunTimedOut:
		a.Outcome = "failed"
		if !run.ErrorClass.Valid() {
			a.Class = string(snapkeep.ClassInternal)
		}
	case snapkeep.RunSkipped:
		a.Outcome = "skipped"
	default:
		a.Outcome = "running"
	}
	return a
}

// incidentView is the data of the incident and resolved messages.
type incidentView struct {
	*listView
	// Recovered and FailedAgain count the listed policies whose next run
	// succeeded or failed.
	Recovered, FailedAgain int
}

func (r *Renderer) viewIncident(what string, c *snapkeep.Customer, inc *snapkeep.Incident, failed []FailedRun, now time.Time) (*incidentView, []string, error) {
	if err := needCustomer(what, c); err != nil {
		return nil, nil, err
	}
	if inc == nil {
		return nil, nil, fmt.Errorf("notice %s: the incident is nil", what)
	}
	if inc.Kind != snapkeep.IncidentProvider {
		return nil, nil, fmt.Errorf("notice %s: incident %s is a %s incident: only DigitalOcean's (provider) incidents are told to customers", what, HeaderSafe(inc.IncidentID, maxName), HeaderSafe(string(inc.Kind), maxName))
	}
	if len(failed) == 0 {
		return nil, nil, fmt.Errorf("notice %s: no failed runs of customer %s to tell of", what, HeaderSafe(c.CustomerID, maxName))
	}
	lv, warns := r.viewList(c, failed, now)
	if len(lv.Groups) == 0 {
		return nil, nil, fmt.Errorf("notice %s: none of the %d failed runs can be told: %s", what, len(failed), strings.Join(warns, "; "))
	}
	if err := neverAffected(what, lv); err != nil {
		return nil, nil, err
	}
	lv.Problem = r.viewProblem(ProblemOf(inc), lv.Zone, now)
	return &incidentView{listView: lv}, warns, nil
}

// finish renders d with c's footer and the warnings collected.
func (r *Renderer) finish(d document, c *snapkeep.Customer, warns []string, what string) (Message, error) {
	r.footer(&d, c)
	m, err := r.render(d)
	if err != nil {
		return Message{}, fmt.Errorf("notice %s for customer %s: %w", what, HeaderSafe(c.CustomerID, maxName), err)
	}
	m.Warnings = warns
	return m, nil
}
