package notify

import (
	"fmt"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Subject is what a finished run can make the customer hear about.
type Subject string

// Subjects of a finished run.
const (
	// SubjectNone: nothing to tell (a success after a success, a
	// skipped run).
	SubjectNone Subject = ""
	// SubjectFailure: the run failed or timed out.
	SubjectFailure Subject = "failure"
	// SubjectRecovery: the run succeeded and the policy's run before it
	// had failed or timed out.
	SubjectRecovery Subject = "recovery"
)

// SubjectOf says what run can be told as: a failure (failed, timed_out),
// a recovery (succeeded after a failed or timed-out run, by PrevStatus),
// or nothing.
func SubjectOf(run *snapkeep.Run) Subject {
	if run == nil {
		return SubjectNone
	}
	switch run.Status {
	case snapkeep.RunFailed, snapkeep.RunTimedOut:
		return SubjectFailure
	case snapkeep.RunSucceeded:
		if failedStatus(run.PrevStatus) {
			return SubjectRecovery
		}
	}
	return SubjectNone
}

func failedStatus(s snapkeep.RunStatus) bool {
	return s == snapkeep.RunFailed || s == snapkeep.RunTimedOut
}

// Situation is what Decide decides from.
type Situation struct {
	// Run is the finished run (failed, timed out, or a recovery).
	Run *snapkeep.Run
	// Mode is the customer's notification mode ("" means the default).
	Mode snapkeep.NotificationMode
	// Covering is the open provider incident that covers the run's
	// failure (snapkeep.Incident.Covers), or nil.
	Covering *snapkeep.Incident
	// Hold is the deployment's hold mode: a failure an open incident
	// covers is held for the incident's one notice.
	Hold bool
	// PrevHeld, for a recovery, is true when the failure before it was
	// held for an incident notice (its resolved notice tells of the
	// recovery).
	PrevHeld bool
}

// Decision is what to do about one finished run.
type Decision struct {
	// Kind is the notice recorded on the run: failure or recovery (a
	// message is sent), held (the incident's notice tells of it), digest
	// (the next daily digest lists it) or skipped (nothing is sent).
	Kind snapkeep.NoticeKind
	// Why says, for skipped and held, why no message of its own is sent;
	// it is logged.
	Why string
	// Incident is the covering incident: it changes a failure's wording,
	// and names the mailing a held failure joins.
	Incident *snapkeep.Incident
	// Warning, when not empty, says the situation was read in fallback
	// terms (an unknown mode); it is logged.
	Warning string
}

// Decide applies the customer's preference and the hold mode to a
// finished run. It is pure; the rules:
//
//   - none: every run is skipped.
//   - daily_digest: a failure waits for the digest; a recovery is skipped
//     (the digest lists failures only).
//   - every_failure (the default, and what an unknown mode is read as):
//     every failure is told, and every recovery.
//   - first_failure: a failure is told only when the policy's previous
//     finished run succeeded or there was none (PrevStatus), then the
//     recovery.
//   - hold mode: for every_failure and first_failure, a failure that an
//     open provider incident covers is held instead (it joins the
//     customer's one incident notice, whether or not it is the first); a
//     recovery right after a held failure is skipped (the incident's
//     resolved notice tells whether the next backup succeeded).
func Decide(s Situation) Decision {
	mode, warning := s.Mode, ""
	switch mode {
	case "":
		mode = snapkeep.DefaultNotificationMode
	case snapkeep.NotifyEveryFailure, snapkeep.NotifyFirstFailure, snapkeep.NotifyDailyDigest, snapkeep.NotifyNone:
	default:
		warning = fmt.Sprintf("notification mode %q is not one snapkeep knows: read as %s", mode, snapkeep.DefaultNotificationMode)
		mode = snapkeep.DefaultNotificationMode
	}
	d := decide(s, mode)
	d.Warning = warning
	return d
}

func decide(s Situation, mode snapkeep.NotificationMode) Decision {
	skip := func(why string) Decision { return Decision{Kind: snapkeep.NoticeSkipped, Why: why} }
	switch subject := SubjectOf(s.Run); {
	case subject == SubjectNone:
		return skip("nothing to tell: the run is " + string(s.Run.Status))
	case mode == snapkeep.NotifyNone:
		return skip("the customer's notification mode is none")
	case subject == SubjectRecovery && mode == snapkeep.NotifyDailyDigest:
		return skip("the daily digest lists failures only")
	case subject == SubjectRecovery && s.PrevHeld:
		return skip("the failure before it was held for a DigitalOcean incident: the incident's resolved notice tells of the recovery")
	case subject == SubjectRecovery:
		return Decision{Kind: snapkeep.NoticeRecovery}
	case mode == snapkeep.NotifyDailyDigest:
		return Decision{Kind: snapkeep.NoticeDigest, Why: "the customer reads a daily digest"}
	case s.Hold && s.Covering != nil:
		return Decision{Kind: snapkeep.NoticeHeld, Incident: s.Covering,
			Why: "held for the one notice of DigitalOcean incident " + s.Covering.IncidentID}
	case mode == snapkeep.NotifyFirstFailure && s.Run.PrevStatus != "" && s.Run.PrevStatus != snapkeep.RunSucceeded:
		return skip("not the policy's first failure since a success (first_failure): the previous run is " + string(s.Run.PrevStatus))
	}
	return Decision{Kind: snapkeep.NoticeFailure, Incident: s.Covering}
}

// Covering returns the first of the open incidents (oldest first, as
// the open index lists them) that covers run's failure, or nil.
func Covering(open []snapkeep.Incident, run *snapkeep.Run) *snapkeep.Incident {
	for i := range open {
		if open[i].Covers(run) {
			return &open[i]
		}
	}
	return nil
}
