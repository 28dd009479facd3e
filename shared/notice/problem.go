package notice

import (
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// ProviderProblem is a rise in DigitalOcean's error rate, across all
// customers, as messages tell it: from an Incident (ProblemOf), or from
// figures support computed for a broadcast.
type ProviderProblem struct {
	// Dimension is the traffic the rate rose in (all, a region, an
	// operation).
	Dimension snapkeep.Dimension
	// Rate is the failure rate of the dimension's calls while it lasted
	// (0..1).
	Rate float64
	// Calls and Failures count the dimension's calls and failed calls
	// while it lasted (0 when not known).
	Calls, Failures int64
	// From is when it began; To when it ended, zero while it goes on.
	From, To time.Time
	// Customers counts the snapkeep customers with failed backups (0 when
	// not known).
	Customers int
}

// ProblemOf describes a provider incident; a firing incident has no end.
func ProblemOf(inc *snapkeep.Incident) ProviderProblem {
	p := ProviderProblem{Dimension: inc.Dimension, Rate: inc.Rate, Calls: inc.Calls,
		Failures: inc.Failures, From: inc.StartedAt, Customers: inc.AffectedCustomers}
	if !inc.Open() && inc.ResolvedAt != nil {
		p.To = *inc.ResolvedAt
	}
	return p
}

// problemView is a ProviderProblem in a customer's time zone.
type problemView struct {
	Since, Until      moment // Until is zero while open
	Open              bool
	Rate              float64
	Calls, Failures   int64
	Customers         int
	Scope, ScopeValue string // "all", "region" or "operation", and its value
	Window            string // how long it lasted (or has lasted), "12 hours"
	StatusPage        string
}

func (r *Renderer) viewProblem(p ProviderProblem, loc *time.Location, now time.Time) *problemView {
	v := &problemView{Since: at(p.From, loc), Open: p.To.IsZero(), Rate: p.Rate, Calls: p.Calls,
		Failures: p.Failures, Customers: p.Customers, StatusPage: r.links.Status(), Scope: "all"}
	end := now
	if !v.Open {
		v.Until, end = at(p.To, loc), p.To
	}
	if !p.From.IsZero() && end.After(p.From) {
		v.Window = duration(end.Sub(p.From))
	}
	if kind, value, ok := strings.Cut(string(p.Dimension), ":"); ok && (kind == "region" || kind == "operation") {
		v.Scope, v.ScopeValue = kind, HeaderSafe(value, maxName)
	}
	return v
}
