package snapshot

import (
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Runs written before the retry state became fields (retry_class,
// request_uncertain, action_completed_at) kept it in ErrorDetail's text.
// upgradeLegacy reads those notes once, so that runs in flight at a deploy
// go on; nothing decides by the text afterwards.
const (
	legacyUncertainNote = " (an earlier request may have started the snapshot)"
	legacyCompletedNote = "snapshot action completed at "
)

// upgradeLegacy fills the retry-state fields of a run written by the old
// code from its ErrorDetail and HTTP status.
func upgradeLegacy(run *snapkeep.Run, _ Config) {
	if run.Status.Terminal() {
		return
	}
	d := run.ErrorDetail
	if strings.HasSuffix(d, legacyUncertainNote) {
		run.RequestUncertain = true
		run.ErrorDetail = strings.TrimSuffix(d, legacyUncertainNote)
	}
	if rest, ok := strings.CutPrefix(d, legacyCompletedNote); ok && run.ActionCompletedAt == nil {
		if ts, _, ok := strings.Cut(rest, ";"); ok {
			if t, err := time.Parse(time.RFC3339, ts); err == nil {
				run.ActionCompletedAt = &t
				run.ErrorDetail = ""
			}
		}
	}
	if run.RetryClass == "" && run.ErrorDetail != "" {
		run.RetryClass = legacyClass(run)
	}
}

// legacyClass is the class an old run's latest transient failure had: by
// the one status rule for an answer, network for a failure without one, or
// action_errored for an errored action (its detail says so).
func legacyClass(run *snapkeep.Run) snapkeep.ErrorClass {
	switch {
	case run.HTTPStatus != 0:
		return snapkeep.ClassOfStatus(run.HTTPStatus, run.ProviderMessage)
	case strings.HasSuffix(run.ErrorDetail, " errored"):
		return snapkeep.ClassActionErrored
	}
	return snapkeep.ClassNetwork
}
