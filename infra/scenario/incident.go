package scenario

import (
	"fmt"
	"hash/fnv"
	"sort"
	"time"

	"github.com/snapkeep/snapkeep/infra/triggers"
	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// StuckFor is how long a stuck droplet's snapshot requests keep failing:
// longer than the run's slot window (SLOT_WINDOW_MINUTES, 30), so its run
// fails after its retries.
const StuckFor = 35 * time.Minute

// Fault is one fault of the incident: a droplet snapshot request that the
// fake DigitalOcean answers "500 Server Error".
type Fault struct {
	dotest.Fault
	// PolicyID and Slot are the run the fault is drawn for.
	PolicyID string
	Slot     time.Time
	// Stuck says the droplet fails every request of the run's slot window
	// (the run fails); otherwise only the run's first request fails.
	Stuck bool
}

// Faults draws the incident's faults for the deliveries Scheduler makes
// (triggers.Plan of the policies' schedules). Each scheduled droplet
// snapshot request in the window fails with probability Rate, drawn from
// the seed, the policy and the slot, so the draw is the same whatever
// order the requests come in. A retry is not drawn again: at 2% two
// failures in a row are one in 2,500, and the retry a minute later is what
// snapkeep does about a provider's transient error. StuckRuns runs, spread
// over the window, fail every request for StuckFor instead. Faults on
// fewer than all requests of a stuck run would be indistinguishable in the
// report; these are what customers hear about.
func (f *Fleet) Faults(deliveries []triggers.Delivery) []Fault {
	inc := f.Incident
	if !inc.Active() {
		return nil
	}
	var cands []candidate
	for _, d := range deliveries {
		p, ok := f.Policy(d.Schedule)
		if !ok || p.Kind != snapkeep.ResourceDroplet || !inc.Contains(d.Deliver) {
			continue
		}
		cands = append(cands, candidate{d: d, p: p, u: f.draw("fail", p.PolicyID, d.At)})
	}
	stuck := f.stuck(cands)
	var out []Fault
	for _, c := range cands {
		if stuck[c.key()] {
			out = append(out, f.fault(c, true))
		} else if c.u < inc.Rate {
			out = append(out, f.fault(c, false))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].From.Before(out[j].From) })
	return out
}

type candidate struct {
	d triggers.Delivery
	p snapkeep.Policy
	u float64
}

func (c candidate) key() string { return c.p.PolicyID + "#" + c.d.At.Format(time.RFC3339) }

// stuck picks StuckRuns runs: the k-th is the first droplet run delivered
// after k/(StuckRuns+1) of the window, on a droplet not yet picked, whose
// whole slot window lies inside the incident.
func (f *Fleet) stuck(cands []candidate) map[string]bool {
	out := map[string]bool{}
	inc := f.Incident
	used := map[string]bool{}
	n := f.Config.StuckRuns
	for k := 1; k <= n; k++ {
		at := inc.From.Add(time.Duration(k) * inc.Until.Sub(inc.From) / time.Duration(n+1))
		for _, c := range cands {
			if c.d.Deliver.Before(at) || used[c.p.Resource.ID] || out[c.key()] || c.d.Deliver.Add(StuckFor).After(inc.Until) {
				continue
			}
			out[c.key()], used[c.p.Resource.ID] = true, true
			break
		}
	}
	return out
}

func (f *Fleet) fault(c candidate, stuck bool) Fault {
	flt := dotest.Fault{Kind: dotest.FaultStatus, Status: 500, Body: dotest.BodyJSON, Method: "POST",
		Operation: snapkeep.OpSnapshotDroplet, Path: "/v2/droplets/" + c.p.Resource.ID + "/actions",
		From: c.d.Deliver, Until: c.d.Deliver.Add(30 * time.Second), Count: 1}
	if stuck {
		flt.Until, flt.Count = c.d.Deliver.Add(StuckFor), 0
	}
	return Fault{Fault: flt, PolicyID: c.p.PolicyID, Slot: c.d.At, Stuck: stuck}
}

// draw is a uniform number in [0, 1) from the seed and the strings.
func (f *Fleet) draw(what, id string, at time.Time) float64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%s|%s|%d", f.Config.Seed, what, id, at.Unix())
	return float64(h.Sum64()>>11) / (1 << 53)
}
