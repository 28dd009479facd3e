package escalation

import (
	"fmt"
	"strings"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// maxSubject bounds a subject line (RFC 5322 recommends lines of at most
// 78 characters; mail clients show about that much, and folding beyond
// 998 is required).
const maxSubject = 200

// AlertSubject is the subject of the ops alert for inc, naming the
// provider, the dimension, the rate and the baseline, e.g.
//
//	[snapkeep] DigitalOcean API error rate 1.5% (baseline 0.05%) on operation:snapshot_droplet since 06:10 UTC
//
// A pipeline incident says that call outcomes stopped arriving instead.
// The subject holds no line break, whatever the incident holds.
func AlertSubject(inc *snapkeep.Incident) string {
	if inc == nil {
		return "[snapkeep] " + Provider + " API escalation report"
	}
	since := inc.StartedAt.UTC().Format(layoutHM) + " UTC"
	if inc.Kind == snapkeep.IncidentPipeline {
		return subject(fmt.Sprintf("[snapkeep] Pipeline stalled: no %s call outcomes on %s since %s",
			Provider, inc.Dimension, since))
	}
	return subject(fmt.Sprintf("[snapkeep] %s API error rate %s (baseline %s) on %s since %s",
		Provider, formatRate(inc.Rate), formatRate(inc.BaselineRate), inc.Dimension, since))
}

// ResolvedPrefix begins every ResolutionSubject, and so the ops Slack
// notice of a resolution: what tells a resolution from an alert.
const ResolvedPrefix = "[snapkeep] Resolved: "

// ResolutionSubject is the subject of the resolution notice for inc, e.g.
//
//	[snapkeep] Resolved: DigitalOcean API error rate on operation:snapshot_droplet back to baseline 0.05% (peak 3.1%, 06:10–18:52 UTC)
//
// with the dates when the incident spanned midnight.
func ResolutionSubject(inc *snapkeep.Incident) string {
	if inc == nil {
		return ResolvedPrefix + Provider + " API incident"
	}
	span := inc.StartedAt.UTC().Format(layoutHM)
	if inc.ResolvedAt != nil {
		end := inc.ResolvedAt.UTC()
		if dayOf(end) != dayOf(inc.StartedAt) {
			span = inc.StartedAt.UTC().Format("Jan 2 15:04") + "–" + end.Format("Jan 2 15:04")
		} else {
			span += "–" + end.Format(layoutHM)
		}
	} else {
		span = "since " + span
	}
	if inc.Kind == snapkeep.IncidentPipeline {
		return subject(fmt.Sprintf(ResolvedPrefix+"%s call outcomes on %s arriving again (stalled %s UTC)",
			Provider, inc.Dimension, span))
	}
	return subject(fmt.Sprintf(ResolvedPrefix+"%s API error rate on %s back to baseline %s (peak %s, %s UTC)",
		Provider, inc.Dimension, formatRate(inc.BaselineRate), formatRate(inc.PeakRate), span))
}

// subject makes s safe as a header value: one line, bounded.
func subject(s string) string {
	s = clean(s, maxSubject*4)
	s = strings.Join(strings.Fields(s), " ")
	return cut(s, maxSubject)
}
