package escalationtest

import (
	"context"
	"math"
	"time"

	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// hourlyDroplet is the fixture's droplet with hourly backups.
const (
	hourlyDropletID = "3164444"
	hourlyPolicy    = "pol-hourly-web"
)

// failedRunShare is the share of incident-hit daily runs whose retries
// failed too, so the run failed.
const failedRunShare = 0.12

// dailyRun records the run of a daily policy whose first snapshot call
// failed provider-side: most retried successfully, some failed.
func (g *generator) dailyRun(res snapkeep.Resource, policy, who string, slot time.Time, first snapkeep.APICall) {
	key := snapkeep.NewRunKey(policy, slot)
	if g.runs[key.RunID()] != nil {
		return
	}
	run := &snapkeep.Run{PolicyID: policy, ScheduledAt: slot, RunID: key.RunID(), CustomerID: "cust-" + who,
		AccountID: "acct-" + who, ResourceKey: res.Key(), Resource: res, Trigger: snapkeep.TriggerScheduled,
		ClaimedAt: slot.Add(time.Second), Deadline: slot.Add(6 * time.Hour)}
	last := first
	if g.rng.Float64() < failedRunShare {
		for i, after := range []time.Duration{2 * time.Minute, 9 * time.Minute} {
			last = failedCall(g.rng, callSpec{at: slot.Add(after + time.Duration(g.rng.Int64N(int64(time.Minute)))),
				res: res, policyID: policy, slot: slot, accountID: run.AccountID, op: snapkeep.OpSnapshotDroplet,
				attempt: i + 2, seq: 3 + 2*i, ans: providerAnswer(g.rng)})
			g.src.AddCall(last)
		}
		endRun(run, snapkeep.RunFailed, snapkeep.ClassProviderError, 3, 6, slot.Add(30*time.Minute+7*time.Second), last)
	} else {
		done := slot.Add(4*time.Minute + time.Duration(g.rng.Int64N(int64(4*time.Minute))))
		endRun(run, snapkeep.RunSucceeded, "", 2, 5, done, snapkeep.APICall{ProviderRequestID: uuid(g.rng)})
	}
	g.runs[key.RunID()] = run
}

// endRun finishes run as status after attempts and calls, decided by the
// answer of last.
func endRun(run *snapkeep.Run, status snapkeep.RunStatus, class snapkeep.ErrorClass, attempts, calls int, at time.Time, last snapkeep.APICall) {
	run.Status, run.ErrorClass, run.Attempts, run.APICalls = status, class, attempts, calls
	run.HTTPStatus, run.ProviderErrorID, run.ProviderMessage = last.StatusCode, last.ErrorID, last.ErrorMessage
	run.ProviderRequestID = last.ProviderRequestID
	if class == snapkeep.ClassNetwork || (class == snapkeep.ClassProviderError && last.TransportError != "") {
		run.ErrorDetail = last.TransportError
	}
	finished := at.UTC()
	run.FinishedAt, run.UpdatedAt = &finished, finished
	if status == snapkeep.RunSucceeded {
		run.HTTPStatus = 200
		run.StartedAt = &finished
	}
}

// hourlyPlan is what the incident did to the hourly droplet's runs on its
// day: the answers of its failed attempts, by slot hour. Three failed
// attempts fail the run.
var hourlyPlan = map[int][]answer{
	7:  {answerServerError},
	9:  {answerUnavailable},
	11: {answerServerError, answerServerError},
	13: {answerServerError, answerServerError, answerTimeout},
	16: {answerBadGateway},
}

// hourlyDroplet records the hourly droplet's runs at :15 for the whole
// history: all first-try successes but those the incident hit.
func (g *generator) hourlyDroplet() {
	res := snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: hourlyDropletID, Region: "nyc3"}
	day := FixtureChange.Truncate(24 * time.Hour)
	for slot := FixtureStart.Add(15 * time.Minute); slot.Add(30 * time.Minute).Before(FixtureNow); slot = slot.Add(time.Hour) {
		run := snapkeep.Run{PolicyID: hourlyPolicy, ScheduledAt: slot, CustomerID: "cust-acme", AccountID: "acct-acme",
			ResourceKey: res.Key(), Resource: res, Trigger: snapkeep.TriggerScheduled, ClaimedAt: slot.Add(time.Second),
			Deadline: slot.Add(6 * time.Hour)}
		plan := hourlyPlan[slot.Hour()]
		if slot.Truncate(24*time.Hour) != day {
			plan = nil
		}
		var last snapkeep.APICall
		for i, ans := range plan {
			last = failedCall(g.rng, callSpec{at: slot.Add(time.Duration(3+130*i+300*i*i) * time.Second), res: res,
				policyID: hourlyPolicy, slot: slot, accountID: "acct-acme", op: snapkeep.OpSnapshotDroplet,
				attempt: i + 1, seq: 1 + 2*i, ans: ans})
			g.src.AddCall(last)
		}
		switch {
		case len(plan) == 3:
			endRun(&run, snapkeep.RunFailed, snapkeep.ClassProviderError, 3, 6, slot.Add(30*time.Minute+4*time.Second), last)
		default:
			done := slot.Add(time.Duration(160+400*len(plan)) * time.Second)
			endRun(&run, snapkeep.RunSucceeded, "", len(plan)+1, 4+2*len(plan), done, snapkeep.APICall{ProviderRequestID: uuid(g.rng)})
		}
		g.src.AddRun(run)
	}
}

// otherFailedRuns adds the window's failed runs that were not
// DigitalOcean's fault (a revoked token, a deleted droplet) and a volume
// snapshot that timed out.
func (g *generator) otherFailedRuns() {
	day := FixtureChange.Truncate(24 * time.Hour)
	for _, f := range []struct {
		id, region, who string
		slot            time.Duration
		ans             answer
	}{
		{"3170001", "nyc3", "lapsed", 8 * time.Hour, answerUnauthorized},
		{"3170002", "nyc3", "lapsed", 8 * time.Hour, answerUnauthorized},
		{"3169990", "sfo3", "042", 14*time.Hour + 30*time.Minute, answerNotFound},
	} {
		res := snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: f.id, Region: f.region}
		slot := day.Add(f.slot)
		call := failedCall(g.rng, callSpec{at: slot.Add(time.Second), res: res, policyID: "pol-" + f.id, slot: slot,
			accountID: "acct-" + f.who, op: snapkeep.OpSnapshotDroplet, attempt: 1, seq: 1, ans: f.ans})
		g.src.AddCall(call)
		run := snapkeep.Run{PolicyID: "pol-" + f.id, ScheduledAt: slot, CustomerID: "cust-" + f.who, AccountID: "acct-" + f.who,
			Resource: res, Trigger: snapkeep.TriggerScheduled, ClaimedAt: slot.Add(time.Second), Deadline: slot.Add(6 * time.Hour)}
		endRun(&run, snapkeep.RunFailed, f.ans.class, 1, 1, slot.Add(2*time.Second), call)
		g.src.AddRun(run)
	}
	vol := snapkeep.Resource{Kind: snapkeep.ResourceVolume, ID: g.fleet.volumes[5], Region: "nyc3"}
	slot := day.Add(3 * time.Hour)
	run := snapkeep.Run{PolicyID: "pol-v" + vol.ID[:8], ScheduledAt: slot, CustomerID: "cust-017", AccountID: "acct-017",
		Resource: vol, Trigger: snapkeep.TriggerScheduled, ClaimedAt: slot.Add(time.Second), Deadline: slot.Add(6 * time.Hour)}
	endRun(&run, snapkeep.RunTimedOut, snapkeep.ClassTimedOut, 1, 14, slot.Add(6*time.Hour+5*time.Second), snapkeep.APICall{})
	run.HTTPStatus = 0
	g.src.AddRun(run)
}

// describe returns the incident as the detector would have recorded it
// at its resolution, its counts taken from the source itself.
func (g *generator) describe() *snapkeep.Incident {
	ctx := context.Background()
	win := escalation.Window{From: FixtureChange, To: FixtureResolved}
	counts, _ := g.src.WindowCounts(ctx, FixtureDimension, win.From, win.To)
	peak := 0.0
	for t := win.From; t.Add(30 * time.Minute).Before(win.To.Add(time.Nanosecond)); t = t.Add(10 * time.Minute) {
		c, _ := g.src.WindowCounts(ctx, FixtureDimension, t, t.Add(30*time.Minute))
		peak = math.Max(peak, c.Rate())
	}
	resources, accounts := map[string]bool{}, map[string]bool{}
	for h := win.From.Truncate(time.Hour); h.Before(win.To); h = h.Add(time.Hour) {
		calls, _ := g.src.FailedCalls(ctx, h.Format(snapkeep.FailureHourFormat))
		for _, c := range calls {
			if win.Contains(c.StartedAt) && c.Operation == snapkeep.OpSnapshotDroplet && c.Class.Info().ProviderSide {
				resources[c.ResourceKey], accounts[c.AccountID] = true, true
			}
		}
	}
	failed, customers := 0, map[string]bool{}
	for _, class := range snapkeep.ErrorClasses() {
		if !class.Info().ProviderSide {
			continue
		}
		runs, _ := g.src.FailedRuns(ctx, class, win.From, win.To)
		for _, r := range runs {
			failed++
			customers[r.CustomerID] = true
		}
	}
	resolved, alerted := FixtureResolved, FixtureAlarm.Add(4*time.Second)
	return &snapkeep.Incident{
		IncidentID: "provider_error#" + string(FixtureDimension) + "#" + FixtureChange.Format("2006-01-02T15:04Z"),
		Kind:       snapkeep.IncidentProvider, Dimension: FixtureDimension, Class: snapkeep.ClassProviderError,
		State: snapkeep.IncidentResolved, StartedAt: FixtureChange, OpenedAt: FixtureAlarm, ResolvedAt: &resolved,
		Detector: "cusum", BaselineRate: BaselineRate, Rate: counts.Rate(), PeakRate: peak,
		Calls: counts.Calls, Failures: counts.ProviderFailures,
		AffectedAccounts: len(accounts), AffectedResources: len(resources),
		FailedRuns: failed, AffectedCustomers: len(customers),
		AlertedAt: &alerted, AlertID: "0100019a6c1f2e3d-alert", UpdatedAt: resolved,
	}
}
