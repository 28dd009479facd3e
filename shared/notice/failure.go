package notice

import (
	"fmt"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// FailureInput is what a message about one failed run needs.
type FailureInput struct {
	// Run is the failed or timed-out run (required).
	Run *snapkeep.Run
	// Policy is the run's policy; nil when it was deleted (the message
	// then says no further backups will be taken).
	Policy *snapkeep.Policy
	// Customer is who the message is for (required).
	Customer *snapkeep.Customer
	// ResourceName is the droplet's or volume's name at DigitalOcean, or
	// "" when not known.
	ResourceName string
	// Incident is the provider incident open for the run's class and
	// dimension, or nil. It changes the wording only for the classes that
	// count against DigitalOcean's error rate (ClassInfo.ProviderSide).
	Incident *snapkeep.Incident
	// Now is the time of rendering: the next backup is the first after the
	// later of Now and the run's slot.
	Now time.Time
}

// failureView is the data the failure phrases read.
type failureView struct {
	Customer customerView
	Backup   backupView
	// Class is the class whose wording is used: the run's, or internal for
	// an unknown one.
	Class    string
	Info     snapkeep.ClassInfo
	TimedOut bool
	Action   bool
	Affected bool
	Attempts int
	// DigitalOcean's answer that decided the outcome.
	HTTPStatus      int
	ProviderMessage string
	ProviderErrorID string
	RequestID       string
	ActionID        int64
	Started         moment // zero when no snapshot was started
	Deadline        moment
	DeadlineAfter   string // "6 hours"
	InvalidReason   string
	// KeptEarlier is true when the run deleted none of the policy's
	// earlier snapshots (only a volume at its limit ever does, before
	// the snapshot).
	KeptEarlier bool
	Problem     *problemView
	StatusPage  string
}

// Failure renders the message about one failed or timed-out run. Every
// error class has its own wording; an unknown (or empty) class is told in
// internal wording, and the message carries a warning saying so. The
// error is non-nil only when the input cannot make a message at all (no
// run, a run that did not fail, no customer); Message.Warnings lists what
// was told in fallback words.
func (r *Renderer) Failure(in FailureInput) (Message, error) {
	if in.Run == nil {
		return Message{}, fmt.Errorf("notice failure: the run is nil")
	}
	if err := needCustomer("failure of run "+HeaderSafe(in.Run.RunID, 2*maxName), in.Customer); err != nil {
		return Message{}, err
	}
	if s := in.Run.Status; s != snapkeep.RunFailed && s != snapkeep.RunTimedOut {
		return Message{}, fmt.Errorf("notice failure: run %s is %s: only failed and timed-out runs are told as failures", HeaderSafe(in.Run.Key().RunID(), 2*maxName), HeaderSafe(string(s), maxName))
	}
	v, warns := r.viewFailure(in)
	return r.finish(r.failureDoc(v), in.Customer, warns, "failure of run "+v.Backup.RunID)
}

func (r *Renderer) viewFailure(in FailureInput) (*failureView, []string) {
	run := in.Run
	loc, w := loadZone(in.Policy)
	var warns []string
	if w != "" {
		warns = append(warns, w)
	}
	b, ws := r.viewBackup(run, in.Policy, in.ResourceName, loc, in.Now)
	warns = append(warns, ws...)
	class := run.ErrorClass
	if !class.Valid() {
		warns = append(warns, fmt.Sprintf("run %s: unknown error class %q, told as internal", b.RunID, HeaderSafe(string(class), maxName)))
		class = snapkeep.ClassInternal
	}
	info := class.Info()
	v := &failureView{
		Customer: viewCustomer(in.Customer), Backup: b, Class: string(class), Info: info,
		TimedOut: run.Status == snapkeep.RunTimedOut, Action: info.CustomerAction != "",
		Affected: info.ServerAffected, Attempts: max(run.Attempts, 1),
		HTTPStatus:      run.HTTPStatus,
		ProviderMessage: HeaderSafe(run.ProviderMessage, maxProviderText),
		ProviderErrorID: HeaderSafe(run.ProviderErrorID, maxProviderText),
		RequestID:       HeaderSafe(run.ProviderRequestID, maxProviderText),
		ActionID:        run.ActionID,
		Deadline:        at(run.Deadline, loc),
		KeptEarlier:     run.Retention == nil || len(run.Retention.Deleted) == 0,
		StatusPage:      r.links.Status(),
	}
	if run.StartedAt != nil {
		v.Started = at(*run.StartedAt, loc)
	}
	if !run.Deadline.IsZero() && run.Deadline.After(run.ScheduledAt) {
		v.DeadlineAfter = duration(run.Deadline.Sub(run.ScheduledAt))
	}
	if in.Policy != nil {
		v.InvalidReason = HeaderSafe(in.Policy.InvalidReason, maxReason)
	}
	if inc := in.Incident; inc != nil {
		switch {
		case inc.Kind != snapkeep.IncidentProvider:
			warns = append(warns, fmt.Sprintf("incident %s is a %s incident, not DigitalOcean's: not told", HeaderSafe(inc.IncidentID, maxName), HeaderSafe(string(inc.Kind), maxName)))
		case !info.ProviderSide:
			warns = append(warns, fmt.Sprintf("incident %s not told: %s failures are not DigitalOcean's", HeaderSafe(inc.IncidentID, maxName), class))
		default:
			v.Problem = r.viewProblem(ProblemOf(inc), loc, in.Now)
		}
	}
	return v, warns
}

// failureDoc lays out a failure message: what, at a glance (server, what
// to do, next backup); DigitalOcean's problem if any; what happened; what
// to do; what happens next; the backup; for reference.
func (r *Renderer) failureDoc(v *failureView) document {
	d := document{Kind: snapkeep.NoticeFailure, Tone: toneBad,
		Status: ph("failure.status", v), Subject: ph("failure.subject", v),
		Preheader: ph("failure.preheader", v), Title: ph("failure.title", v)}
	d.Blocks = append(d.Blocks,
		block{Paras: []phrase{ph("greeting", v.Customer), ph("failure.lead", v)}},
		block{Heading: ph("h.glance", nil), Facts: []fact{
			{ph("label.server", v.Backup), ph("failure.glance.server", v)},
			{ph("label.todo", nil), ph("failure.glance.todo", v)},
			{ph("label.next", nil), ph("failure.glance.next", v)},
		}})
	if v.Problem != nil {
		d.Blocks = append(d.Blocks, block{Heading: ph("h.problem", v.Problem), Paras: []phrase{ph("failure.problem", v)},
			Links: []link{{ph("link.status", nil), v.StatusPage}}})
	}
	d.Blocks = append(d.Blocks,
		block{Heading: ph("h.what", nil), Paras: []phrase{ph("what."+v.Class, v), ph("failure.provider", v)}},
		block{Heading: ph("h.todo", nil), Paras: []phrase{ph("todo."+v.Class, v)}},
		block{Heading: ph("h.next", nil), Paras: []phrase{ph("failure.retry", v), ph("failure.next", v)}},
		block{Heading: ph("h.backup", nil), Facts: backupFacts(v.Backup)},
		block{Heading: ph("h.reference", nil), Paras: []phrase{ph("failure.reference", v)}, Facts: []fact{
			{ph("label.request", nil), ph("failure.fact.request", v)},
			{ph("label.answer", nil), ph("failure.fact.answer", v)},
			{ph("label.run", nil), ph("fact.run", v.Backup)},
		}, Links: []link{{ph("link.policy", nil), v.Backup.PolicyURL}}},
	)
	return d
}

// backupFacts are the facts naming a backup.
func backupFacts(b backupView) []fact {
	return []fact{
		{ph("label.policy", nil), ph("fact.policy", b)},
		{ph("label.resource", b), ph("fact.resource", b)},
		{ph("label.slot", nil), ph("fact.slot", b)},
		{ph("label.schedule", nil), ph("fact.schedule", b)},
	}
}
