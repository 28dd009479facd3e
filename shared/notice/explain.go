package notice

import (
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// explainView is the data of the explain phrases: one run as support
// reads it, times in UTC.
type explainView struct {
	Status          string
	Class           string
	Noun            string
	Affected        bool
	Retried         bool
	Action          bool
	Backup          struct{ Noun string } // for todo.short
	RetryClass      string
	Attempts        int
	HTTPStatus      int
	ProviderMessage string
	RequestID       string
	SnapshotName    string
	SnapshotID      string
	ActionID        int64
	Uncertain       bool
	StepFailures    int
	StepError       string
	BudgetDelays    int
	Started         moment
	Finished        moment
	NextCheck       moment
	Deadline        moment
	ActionDone      moment
	BudgetUntil     moment
	Claimed         moment
	Detail          string
}

// Explain tells in one or two plain sentences why run failed, or, while it
// is unfinished, what it is waiting for (its explicit retry state:
// RetryClass, StepError, RequestUncertain, ActionCompletedAt, the
// action in progress, the token's budget), with times in UTC. It is what
// snapctl run show prints; a nil run is "".
func Explain(run *snapkeep.Run) string {
	if run == nil {
		return ""
	}
	eng, err := loadEngines()
	if err != nil {
		return "The run cannot be explained: " + err.Error()
	}
	v := viewExplain(run)
	s, err := eng.one(flavourText, ph("explain", v))
	if err != nil {
		return "The run cannot be explained: " + err.Error()
	}
	return s
}

func viewExplain(run *snapkeep.Run) *explainView {
	class := run.ErrorClass
	if !class.Valid() && run.Status.Terminal() && run.Status != snapkeep.RunSucceeded && run.Status != snapkeep.RunSkipped {
		class = snapkeep.ClassInternal
	}
	info := class.Info()
	v := &explainView{
		Status: string(run.Status), Class: string(class), Noun: string(snapkeep.ResourceDroplet),
		Affected: info.ServerAffected, Retried: info.Retried, Action: info.CustomerAction != "",
		RetryClass: string(run.RetryClass), Attempts: run.Attempts, HTTPStatus: run.HTTPStatus,
		ProviderMessage: HeaderSafe(run.ProviderMessage, maxProviderText),
		RequestID:       HeaderSafe(run.ProviderRequestID, maxProviderText),
		SnapshotName:    HeaderSafe(run.SnapshotName, maxName), SnapshotID: HeaderSafe(run.SnapshotID, maxName),
		ActionID: run.ActionID, Uncertain: run.RequestUncertain, StepFailures: run.StepFailures,
		StepError: HeaderSafe(run.StepError, maxProviderText), BudgetDelays: run.BudgetDelays,
		Deadline: at(run.Deadline, time.UTC), Claimed: at(run.ClaimedAt, time.UTC),
		Detail: HeaderSafe(run.ErrorDetail, maxProviderText),
	}
	if run.Kind == snapkeep.ResourceVolume {
		v.Noun = string(snapkeep.ResourceVolume)
	}
	if v.RetryClass != "" && !run.RetryClass.Valid() {
		v.RetryClass = string(snapkeep.ClassInternal)
	}
	v.Backup.Noun = v.Noun
	v.Started = atp(run.StartedAt)
	v.Finished = atp(run.FinishedAt)
	v.NextCheck = atp(run.NextCheckAt)
	v.ActionDone = atp(run.ActionCompletedAt)
	if run.BudgetDelayedUntil != nil && run.NextCheckAt != nil && !run.BudgetDelayedUntil.Before(*run.NextCheckAt) {
		v.BudgetUntil = at(*run.BudgetDelayedUntil, time.UTC)
	}
	return v
}

func atp(t *time.Time) moment {
	if t == nil {
		return moment{loc: time.UTC}
	}
	return at(*t, time.UTC)
}
