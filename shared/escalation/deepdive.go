package escalation

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// candidate is a resource whose runs were read for the deep dive.
type candidate struct {
	res    AffectedResource
	runs   []snapkeep.Run
	inWin  int
	hourly bool
}

// deepDive picks the resource for the timeline and lists its runs. The
// candidates are the affected resources with the most affected runs (at
// most MaxDeepDiveCandidates, one by-resource Query each); the one chosen
// has an hourly policy if any has, then the most runs in the window.
func deepDive(ctx context.Context, src RunReader, p *plan, g *callGatherer) (*Timeline, error) {
	keys, chosen := deepDiveKeys(p, g)
	if len(keys) == 0 {
		return nil, nil
	}
	from := p.window.From.Truncate(time.Hour)
	var best *candidate
	for _, key := range keys {
		runs, err := src.ResourceRuns(ctx, key, from, p.window.To)
		if err != nil {
			return nil, fmt.Errorf("runs of %s: %w", key, err)
		}
		sort.SliceStable(runs, func(i, j int) bool { return runs[i].ScheduledAt.Before(runs[j].ScheduledAt) })
		c := &candidate{runs: runs, hourly: hourly(runs)}
		if t := g.resources[key]; t != nil {
			c.res = t.AffectedResource
			c.res.Runs = len(t.runs)
		} else {
			c.res = AffectedResource{ResourceKey: key}
		}
		for i := range runs {
			if !runs[i].ScheduledAt.Before(from) && runs[i].ScheduledAt.Before(p.window.To) {
				c.inWin++
			}
		}
		if best == nil || better(c, best) {
			best = c
		}
	}
	switch {
	case chosen != "":
	case len(keys) == 1:
		chosen = "the only affected resource"
	default:
		chosen = fmt.Sprintf("of the %d resources with the most affected runs, the one with the most runs in the window", len(keys))
		if best.hourly {
			chosen += ", preferring hourly policies"
		}
	}
	return timeline(best, from, p, g, chosen), nil
}

// deepDiveKeys returns the resources to read and, when the caller chose
// the resource, how it was chosen.
func deepDiveKeys(p *plan, g *callGatherer) ([]string, string) {
	if p.resource != "" {
		return []string{clean(p.resource, 128)}, "asked for"
	}
	tallies := make([]*resourceTally, 0, len(g.resources))
	for _, t := range g.resources {
		tallies = append(tallies, t)
	}
	sort.Slice(tallies, func(i, j int) bool {
		a, b := tallies[i], tallies[j]
		switch {
		case len(a.runs) != len(b.runs):
			return len(a.runs) > len(b.runs)
		case a.Failures != b.Failures:
			return a.Failures > b.Failures
		}
		return a.ResourceKey < b.ResourceKey
	})
	keys := make([]string, 0, MaxDeepDiveCandidates)
	for _, t := range tallies {
		if len(keys) == MaxDeepDiveCandidates {
			break
		}
		if t.ResourceKey != "" {
			keys = append(keys, t.ResourceKey)
		}
	}
	return keys, ""
}

// better reports whether a is a better deep-dive resource than b.
func better(a, b *candidate) bool {
	switch {
	case a.hourly != b.hourly:
		return a.hourly
	case a.inWin != b.inWin:
		return a.inWin > b.inWin
	case a.res.Failures != b.res.Failures:
		return a.res.Failures > b.res.Failures
	}
	return a.res.ResourceKey < b.res.ResourceKey
}

// hourly reports whether two consecutive slots of one policy among runs
// (oldest first) are at most an hour apart.
func hourly(runs []snapkeep.Run) bool {
	last := map[string]time.Time{}
	for i := range runs {
		r := &runs[i]
		if prev, ok := last[r.PolicyID]; ok {
			gap := r.ScheduledAt.Sub(prev)
			if gap < 0 {
				gap = -gap
			}
			if gap > 0 && gap <= time.Hour {
				return true
			}
		}
		last[r.PolicyID] = r.ScheduledAt
	}
	return false
}

// timeline lists c's runs in the window with their failed calls' request
// ids.
func timeline(c *candidate, from time.Time, p *plan, g *callGatherer, chosen string) *Timeline {
	t := &Timeline{ResourceKey: c.res.ResourceKey, Region: c.res.Region, Hourly: c.hourly,
		Failures: c.res.Failures, Chosen: chosen}
	for i := range c.runs {
		r := &c.runs[i]
		if r.ScheduledAt.Before(from) || !r.ScheduledAt.Before(p.window.To) {
			continue
		}
		if len(t.Runs) == MaxTimelineRuns {
			t.RunsOmitted++
			continue
		}
		if t.Region == "" {
			t.Region = clean(r.Region, 32)
		}
		t.Runs = append(t.Runs, timelineRun(r, g))
	}
	return t
}

func timelineRun(r *snapkeep.Run, g *callGatherer) TimelineRun {
	runID := r.RunID
	if runID == "" {
		runID = r.Key().RunID()
	}
	class := r.ErrorClass
	if class == "" {
		class = r.RetryClass
	}
	ids := append([]string(nil), g.runRequests[runID]...)
	if id := clean(r.ProviderRequestID, 128); id != "" && !contains(ids, id) && len(ids) < MaxRunRequestIDs {
		ids = append(ids, id)
	}
	var finished *time.Time
	if r.FinishedAt != nil {
		f := r.FinishedAt.UTC()
		finished = &f
	}
	return TimelineRun{
		PolicyID: clean(r.PolicyID, 128), Slot: r.ScheduledAt.UTC(), Status: snapkeep.RunStatus(clean(string(r.Status), 32)),
		Class: snapkeep.ErrorClass(clean(string(class), 32)), Attempts: r.Attempts, APICalls: r.APICalls,
		FinishedAt: finished, FailedCalls: g.runFailures[runID], RequestIDs: ids,
	}
}

// gatherImpact counts the failed and timed-out runs of every class that
// finished in the window (one failures-by-class Query per class).
func gatherImpact(ctx context.Context, src RunReader, p *plan, imp *Impact) error {
	providerCustomers := map[string]struct{}{}
	for _, class := range snapkeep.ErrorClasses() {
		runs, err := src.FailedRuns(ctx, class, p.window.From, p.window.To)
		if err != nil {
			return fmt.Errorf("failed runs of class %s: %w", class, err)
		}
		ci := ClassImpact{Class: class, ProviderSide: class.Info().ProviderSide}
		customers := map[string]struct{}{}
		for i := range runs {
			r := &runs[i]
			if r.FinishedAt == nil || !p.window.Contains(*r.FinishedAt) {
				continue
			}
			switch r.Status {
			case snapkeep.RunFailed:
				ci.Failed++
			case snapkeep.RunTimedOut:
				ci.TimedOut++
			default:
				continue
			}
			customers[r.CustomerID] = struct{}{}
			if ci.ProviderSide {
				providerCustomers[r.CustomerID] = struct{}{}
			}
		}
		ci.Customers = len(customers)
		imp.FailedRuns += ci.Failed + ci.TimedOut
		if ci.ProviderSide {
			imp.ProviderFailedRuns += ci.Failed + ci.TimedOut
		}
		if ci.Failed+ci.TimedOut > 0 {
			imp.Classes = append(imp.Classes, ci)
		}
	}
	imp.CustomersAffected = len(providerCustomers)
	return nil
}
