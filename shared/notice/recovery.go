package notice

import (
	"fmt"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// RecoveryInput is what the message about a policy working again needs.
type RecoveryInput struct {
	// Run is the successful run (required).
	Run *snapkeep.Run
	// Policy is the run's policy; nil when it was deleted since.
	Policy *snapkeep.Policy
	// Customer is who the message is for (required).
	Customer *snapkeep.Customer
	// ResourceName is the droplet's or volume's name, or "".
	ResourceName string
	// Failures counts the policy's failed runs since its last success
	// before them (0 when not known).
	Failures int
	// FirstFailure is the slot of the first of them (zero when not known).
	FirstFailure time.Time
	// Now is the time of rendering.
	Now time.Time
}

// recoveryView is the data of the recovery phrases.
type recoveryView struct {
	Customer     customerView
	Backup       backupView
	Failures     int
	FirstFailure moment
	Finished     moment
	SnapshotName string
	SnapshotID   string
}

// Recovery renders the message that a policy's backup succeeded again
// after failures (the recovery of "first failure then recovery" and of
// "every failure").
func (r *Renderer) Recovery(in RecoveryInput) (Message, error) {
	if in.Run == nil {
		return Message{}, fmt.Errorf("notice recovery: the run is nil")
	}
	if err := needCustomer("recovery of run "+HeaderSafe(in.Run.RunID, 2*maxName), in.Customer); err != nil {
		return Message{}, err
	}
	if in.Run.Status != snapkeep.RunSucceeded {
		return Message{}, fmt.Errorf("notice recovery: run %s is %s: a recovery is told of a succeeded run", HeaderSafe(in.Run.Key().RunID(), 2*maxName), HeaderSafe(string(in.Run.Status), maxName))
	}
	loc, w := loadZone(in.Policy)
	var warns []string
	if w != "" {
		warns = append(warns, w)
	}
	b, ws := r.viewBackup(in.Run, in.Policy, in.ResourceName, loc, in.Now)
	v := &recoveryView{Customer: viewCustomer(in.Customer), Backup: b, Failures: in.Failures,
		SnapshotName: HeaderSafe(in.Run.SnapshotName, maxName), SnapshotID: HeaderSafe(in.Run.SnapshotID, maxName)}
	if !in.FirstFailure.IsZero() {
		v.FirstFailure = at(in.FirstFailure, loc)
	}
	if in.Run.FinishedAt != nil {
		v.Finished = at(*in.Run.FinishedAt, loc)
	}
	d := document{Kind: snapkeep.NoticeRecovery, Tone: toneGood,
		Status: ph("recovery.status", v), Subject: ph("recovery.subject", v),
		Preheader: ph("recovery.preheader", v), Title: ph("recovery.title", v)}
	d.Blocks = []block{
		{Paras: []phrase{ph("greeting", v.Customer), ph("recovery.lead", v)}},
		{Heading: ph("h.backup", nil), Facts: append(backupFacts(b),
			fact{ph("label.snapshot", nil), ph("recovery.fact.snapshot", v)},
			fact{ph("label.next", nil), ph("fact.next", v.Backup)}),
			Links: []link{{ph("link.policy", nil), b.PolicyURL}}},
	}
	return r.finish(d, in.Customer, append(warns, ws...), "recovery of run "+b.RunID)
}
