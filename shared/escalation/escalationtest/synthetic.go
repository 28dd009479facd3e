package escalationtest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// SyntheticSpec sizes a synthetic source for benchmarks.
type SyntheticSpec struct {
	// Runs is about how many runs the 30 days hold in all (daily policies
	// and SyntheticHourly hourly ones).
	Runs int
	// Affected is how many provider-side snapshot_droplet failures the
	// incident's 12-hour window holds.
	Affected int
	// Seed makes it deterministic.
	Seed uint64
}

// SyntheticHourly is how many hourly policies a synthetic source has.
const SyntheticHourly = 20

// Synthetic returns a source of spec.Runs runs over 30 days whose last 12
// hours before Now-30m hold an incident of spec.Affected failed calls
// spread over the runs of the window (three failures fail a run). Only
// failed calls are stored; every run is, in the by-resource index.
func Synthetic(spec SyntheticSpec) *Scenario {
	rng := rand.New(rand.NewPCG(spec.Seed, 1))
	now := FixtureNow
	start := now.AddDate(0, 0, -30).Truncate(24 * time.Hour)
	win := struct{ from, to time.Time }{now.Add(-12*time.Hour - 30*time.Minute), now.Add(-30 * time.Minute)}
	src := NewSource(start, now)
	daily := max((spec.Runs-SyntheticHourly*30*24)/30, 1)
	var inWindow [][]snapkeep.Run // runs in the window, by resource
	for i := 0; i < daily+SyntheticHourly; i++ {
		runs := syntheticRuns(i, daily, start, now)
		key := runs[0].ResourceKey
		src.byResource[key] = runs
		for j := range runs {
			r := &runs[j]
			src.CountCalls(r.ScheduledAt, r.Region, snapkeep.OpSnapshotDroplet, 1)
			src.CountCalls(r.ScheduledAt, r.Region, snapkeep.OpGetAction, 2)
			src.CountCalls(r.ScheduledAt, r.Region, snapkeep.OpListSnapshots, 1)
		}
		lo, hi := -1, -1
		for j := range runs {
			if !runs[j].ScheduledAt.Before(win.from) && runs[j].ScheduledAt.Before(win.to.Add(-time.Hour)) {
				if lo < 0 {
					lo = j
				}
				hi = j + 1
			}
		}
		if lo >= 0 {
			inWindow = append(inWindow, runs[lo:hi])
		}
	}
	failures := map[*snapkeep.Run]int{}
	for n := 0; n < spec.Affected && len(inWindow) > 0; n++ {
		runs := inWindow[rng.IntN(len(inWindow))]
		r := &runs[rng.IntN(len(runs))]
		failures[r]++
		at := r.ScheduledAt.Add(time.Duration(failures[r]*150+rng.IntN(60)) * time.Second)
		src.AddCall(failedCall(rng, callSpec{at: at, res: r.Resource, policyID: r.PolicyID, slot: r.ScheduledAt,
			accountID: r.AccountID, op: snapkeep.OpSnapshotDroplet, attempt: failures[r], seq: 2*failures[r] - 1,
			ans: providerAnswer(rng)}))
	}
	for r, n := range failures {
		settle(src, r, n)
	}
	for _, runs := range src.byResource {
		for j := range runs {
			src.CountRuns(*runs[j].FinishedAt, runs[j].Status, 1)
		}
	}
	src.dirty = true
	src.sortIndexes()
	resolved := win.to
	inc := &snapkeep.Incident{IncidentID: "provider_error#" + string(FixtureDimension) + "#synthetic",
		Kind: snapkeep.IncidentProvider, Dimension: FixtureDimension, Class: snapkeep.ClassProviderError,
		State: snapkeep.IncidentResolved, StartedAt: win.from, OpenedAt: win.from.Add(10 * time.Minute),
		ResolvedAt: &resolved, Detector: "cusum", BaselineRate: BaselineRate}
	return &Scenario{Source: src, Incident: inc, Now: now, HourlyResource: "droplet:" + fmt.Sprint(9_000_000)}
}

// syntheticRuns returns the runs of resource i: daily at a minute of its
// own, or hourly for the last SyntheticHourly resources, all succeeded
// on the first try.
func syntheticRuns(i, daily int, start, now time.Time) []snapkeep.Run {
	id := 3_000_000 + i
	step, first := 24*time.Hour, time.Duration(i%1440)*time.Minute
	if i >= daily {
		id, step, first = 9_000_000+i-daily, time.Hour, 15*time.Minute
	}
	region := [10]string{"nyc3", "nyc3", "nyc3", "nyc3", "nyc3", "nyc3", "nyc3", "sfo3", "sfo3", "ams3"}[i%10]
	res := snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: fmt.Sprint(id), Region: region}
	policy, who := fmt.Sprintf("pol-%d", id), fmt.Sprintf("%05d", i%5000)
	customer, account, key := "cust-"+who, "acct-"+who, res.Key()
	runs := make([]snapkeep.Run, 0, int(now.Sub(start)/step)+1)
	for slot := start.Add(first); slot.Add(5 * time.Minute).Before(now); slot = slot.Add(step) {
		done := slot.Add(3 * time.Minute)
		runs = append(runs, snapkeep.Run{PolicyID: policy, ScheduledAt: slot, RunID: policy + "#" + slot.Format(snapkeep.SlotTimeFormat),
			CustomerID: customer, AccountID: account, ResourceKey: key, Resource: res, Trigger: snapkeep.TriggerScheduled,
			Status: snapkeep.RunSucceeded, Attempts: 1, APICalls: 4, ClaimedAt: slot, FinishedAt: &done, UpdatedAt: done,
			Deadline: slot.Add(6 * time.Hour), HTTPStatus: 200})
	}
	return runs
}

// settle ends a run that had n failed attempts: three fail it.
func settle(src *Source, r *snapkeep.Run, n int) {
	done := r.ScheduledAt.Add(time.Duration(n*150+180) * time.Second)
	r.Attempts, r.APICalls, r.FinishedAt, r.UpdatedAt = n+1, 4+2*n, &done, done
	if n >= 3 {
		done = r.ScheduledAt.Add(30 * time.Minute)
		r.Status, r.ErrorClass, r.Attempts, r.HTTPStatus = snapkeep.RunFailed, snapkeep.ClassProviderError, n, 500
		r.FinishedAt = &done
		src.failedByClass[r.ErrorClass] = append(src.failedByClass[r.ErrorClass], *r)
	}
}
