package escalationtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Scenario is a filled Source with the incident it holds and when to
// report on it.
type Scenario struct {
	Source   *Source
	Incident *snapkeep.Incident
	// Now is the time to build the report at.
	Now time.Time
	// HourlyResource is the affected droplet with hourly backups.
	HourlyResource string
}

// The fixture's times: 30 days of history, then on 2026-11-24 a 12-hour
// rise of DigitalOcean's "Server Error"s on snapshot_droplet in nyc3.
var (
	FixtureNow       = time.Date(2026, 11, 24, 19, 30, 0, 0, time.UTC)
	FixtureStart     = time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC)
	FixtureChange    = time.Date(2026, 11, 24, 6, 10, 0, 0, time.UTC)
	FixtureAlarm     = time.Date(2026, 11, 24, 6, 31, 0, 0, time.UTC)
	FixtureRecovery  = time.Date(2026, 11, 24, 18, 10, 0, 0, time.UTC)
	FixtureResolved  = time.Date(2026, 11, 24, 18, 52, 0, 0, time.UTC)
	FixtureDimension = snapkeep.OperationDimension(snapkeep.OpSnapshotDroplet)
)

// Fixture rates: the baseline of provider-side failures per call, and the
// incident's rate on snapshot_droplet in nyc3 (7 of the 10 calls a minute
// of the operation, so about 1.5% of the operation's calls fail).
const (
	BaselineRate = 0.0005
	incidentNYC3 = 0.0195
)

// stream is one operation's steady traffic in one region.
type stream struct {
	op     snapkeep.Operation
	region string
	perMin int
}

var fixtureStreams = []stream{
	{snapkeep.OpSnapshotDroplet, "nyc3", 7}, {snapkeep.OpSnapshotDroplet, "sfo3", 2}, {snapkeep.OpSnapshotDroplet, "ams3", 1},
	{snapkeep.OpGetAction, "nyc3", 14}, {snapkeep.OpGetAction, "sfo3", 4}, {snapkeep.OpGetAction, "ams3", 2},
	{snapkeep.OpListSnapshots, "nyc3", 7}, {snapkeep.OpListSnapshots, "sfo3", 2}, {snapkeep.OpListSnapshots, "ams3", 1},
	{snapkeep.OpDeleteSnapshot, "nyc3", 6}, {snapkeep.OpDeleteSnapshot, "sfo3", 2}, {snapkeep.OpDeleteSnapshot, "ams3", 1},
	{snapkeep.OpSnapshotVolume, "nyc3", 1}, {snapkeep.OpListActions, "nyc3", 1},
}

// failureKind is one kind of failure a stream has at a steady rate.
type failureKind struct {
	p      float64
	draw   func(*rand.Rand) answer
	onlyOp snapkeep.Operation
}

var fixtureFailures = []failureKind{
	{p: BaselineRate, draw: providerAnswer},
	{p: 0.0001, draw: func(*rand.Rand) answer { return answerRateLimited }},
	{p: 0.0004, draw: func(*rand.Rand) answer { return answerBusy }, onlyOp: snapkeep.OpSnapshotDroplet},
	{p: 0.00008, draw: func(*rand.Rand) answer { return answerNotFound }},
	{p: 0.00004, draw: func(*rand.Rand) answer { return answerUnauthorized }},
}

// fleet is the fixture's droplets and volumes by region.
type fleet struct {
	droplets map[string][]string
	volumes  []string
}

func newFleet(rng *rand.Rand) *fleet {
	f := &fleet{droplets: map[string][]string{}}
	next := int64(3_160_000)
	for _, r := range []struct {
		region string
		n      int
	}{{"nyc3", 1200}, {"sfo3", 360}, {"ams3", 240}} {
		for i := 0; i < r.n; i++ {
			next += 1 + rng.Int64N(40)
			f.droplets[r.region] = append(f.droplets[r.region], fmt.Sprint(next))
		}
	}
	for i := 0; i < 48; i++ {
		f.volumes = append(f.volumes, uuid(rng))
	}
	return f
}

// pick returns a resource of region whose daily policy fires in at's
// hour, with its policy, customer and account.
func (f *fleet) pick(rng *rand.Rand, op snapkeep.Operation, region string, at time.Time) (snapkeep.Resource, string, string) {
	if op == snapkeep.OpSnapshotVolume {
		i := rng.IntN(len(f.volumes))
		return snapkeep.Resource{Kind: snapkeep.ResourceVolume, ID: f.volumes[i], Region: region}, "pol-v" + f.volumes[i][:8], owner(i)
	}
	ids := f.droplets[region]
	i := at.Hour() + 24*rng.IntN(len(ids)/24)
	return snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: ids[i], Region: region}, "pol-" + ids[i], owner(i)
}

// owner names the customer (and its DigitalOcean account) of fleet item i.
func owner(i int) string { return fmt.Sprintf("%03d", i%180) }

// Incident12h returns the realistic fixture: 30 days of traffic at a
// 0.05% baseline (with rate-limited, busy and customer 4xx noise), a
// 12-hour incident at about 1.5% on snapshot_droplet (all in nyc3) that
// the detector caught 21 minutes in, the runs it failed, and one droplet
// with hourly backups whose runs retried through it. Deterministic.
func Incident12h() *Scenario {
	rng := rand.New(rand.NewPCG(20261124, 8))
	src := NewSource(FixtureStart, FixtureNow)
	f := newFleet(rng)
	g := &generator{rng: rng, src: src, fleet: f, runs: map[string]*snapkeep.Run{}}
	for _, st := range fixtureStreams {
		g.steady(st)
	}
	g.incident(fixtureStreams[0], FixtureChange, FixtureRecovery, incidentNYC3)
	for _, r := range g.runs {
		src.AddRun(*r)
	}
	g.hourlyDroplet()
	g.otherFailedRuns()
	for m := FixtureStart; m.Before(FixtureNow); m = m.Add(time.Minute) {
		src.CountRuns(m, snapkeep.RunSucceeded, 10)
	}
	src.sortIndexes()
	sc := &Scenario{Source: src, Now: FixtureNow, HourlyResource: "droplet:" + hourlyDropletID}
	sc.Incident = g.describe()
	return sc
}

// generator fills a Source.
type generator struct {
	rng   *rand.Rand
	src   *Source
	fleet *fleet
	runs  map[string]*snapkeep.Run
}

// steady counts st's calls for every minute and adds its steady failures.
func (g *generator) steady(st stream) {
	for m := FixtureStart; m.Before(FixtureNow); m = m.Add(time.Minute) {
		g.src.CountCalls(m, st.region, st.op, st.perMin)
	}
	total := int64(FixtureNow.Sub(FixtureStart)/time.Minute) * int64(st.perMin)
	for _, fk := range fixtureFailures {
		if fk.onlyOp != "" && fk.onlyOp != st.op {
			continue
		}
		for k := skip(g.rng, fk.p); k < total; k += 1 + skip(g.rng, fk.p) {
			g.fail(st, callTime(g.rng, FixtureStart, k, st.perMin), fk.draw(g.rng))
		}
	}
}

// incident adds failures at rate p to st's calls in [from, to).
func (g *generator) incident(st stream, from, to time.Time, p float64) {
	total := int64(to.Sub(from)/time.Minute) * int64(st.perMin)
	for k := skip(g.rng, p); k < total; k += 1 + skip(g.rng, p) {
		g.fail(st, callTime(g.rng, from, k, st.perMin), providerAnswer(g.rng))
	}
}

// skip draws how many calls pass before the next failure at rate p
// (geometric), so generating costs the failures, not the calls.
func skip(rng *rand.Rand, p float64) int64 {
	return int64(math.Floor(math.Log(1-rng.Float64()) / math.Log(1-p)))
}

// callTime is the time of call k of a stream of perMin calls a minute
// from start.
func callTime(rng *rand.Rand, start time.Time, k int64, perMin int) time.Time {
	m := start.Add(time.Duration(k/int64(perMin)) * time.Minute)
	slot := time.Minute / time.Duration(perMin)
	return m.Add(time.Duration(k%int64(perMin))*slot + time.Duration(rng.Int64N(int64(slot))))
}

// fail adds one failed call of st at at; a provider-side snapshot_droplet
// failure on the incident's day also becomes (part of) a run.
func (g *generator) fail(st stream, at time.Time, ans answer) {
	res, policy, who := g.fleet.pick(g.rng, st.op, st.region, at)
	slot := at.Truncate(time.Minute)
	call := failedCall(g.rng, callSpec{at: at, res: res, policyID: policy, slot: slot, accountID: "acct-" + who,
		op: st.op, attempt: 1, seq: 1, ans: ans})
	g.src.AddFailure(call)
	if st.op != snapkeep.OpSnapshotDroplet || !ans.class.Info().ProviderSide || beforeIncidentDay(at) {
		return
	}
	g.dailyRun(res, policy, who, slot, call)
}

// beforeIncidentDay reports whether at is before the incident's day: the
// report never reads runs of those days, so none are kept.
func beforeIncidentDay(at time.Time) bool { return at.Before(FixtureChange.Truncate(24 * time.Hour)) }
