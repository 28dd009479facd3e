package errorrate_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// batchCalls is a stream batch of n ApiCalls rows as the snapshot function
// writes them: three regions, every operation, 2% provider errors and a
// few 429s, 404s and busy answers, over two minutes.
func batchCalls(n int) []snapkeep.APICall {
	rng := rand.New(rand.NewPCG(7, 8))
	regions := []string{"nyc3", "fra1", "sgp1"}
	ops := snapkeep.Operations()
	out := make([]snapkeep.APICall, n)
	for i := range out {
		r := rng.IntN(400)
		var class snapkeep.ErrorClass
		switch x := rng.IntN(100); {
		case x < 2:
			class = snapkeep.ClassProviderError
		case x < 3:
			class = snapkeep.ClassRateLimited
		case x < 4:
			class = snapkeep.ClassResourceMissing
		case x < 5:
			class = snapkeep.ClassResourceBusy
		}
		out[i] = snapkeep.APICall{
			RunID: fmt.Sprintf("pol-%d#2026-11-24T03:00:00Z", r), Seq: 1 + rng.IntN(5),
			AccountID: fmt.Sprintf("acct-%d", r/4), ResourceKey: fmt.Sprintf("droplet:%d", 3000000+r),
			Region: regions[r%3], Operation: ops[rng.IntN(len(ops))], Class: class,
			StartedAt: t0.Add(time.Duration(rng.IntN(120_000)) * time.Millisecond),
		}
	}
	return out
}

// BenchmarkAggregate folds 1,000-call batches into a fresh aggregate: one
// op is one batch. records/s is per core (one goroutine); keys/batch is
// the distinct (dimension, minute) entries, i.e. the items a window writes.
func BenchmarkAggregate(b *testing.B) {
	calls := batchCalls(1000)
	b.ReportAllocs()
	b.ResetTimer()
	var keys int
	for i := 0; i < b.N; i++ {
		a := errorrate.NewAggregate()
		for j := range calls {
			if err := a.Add(&calls[j]); err != nil {
				b.Fatal(err)
			}
		}
		keys = a.Len()
	}
	b.ReportMetric(float64(len(calls)*b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(keys), "keys/batch")
}

// BenchmarkAggregateWindowState is one tumbling-window invocation: decode
// the carried state, fold a 1,000-call batch into it, encode it again.
func BenchmarkAggregateWindowState(b *testing.B) {
	calls := batchCalls(1000)
	prev := errorrate.NewAggregate()
	for j := range calls {
		_ = prev.Add(&calls[j])
	}
	state, err := json.Marshal(prev)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var size int
	for i := 0; i < b.N; i++ {
		a := errorrate.NewAggregate()
		if err := json.Unmarshal(state, a); err != nil {
			b.Fatal(err)
		}
		for j := range calls {
			if err := a.Add(&calls[j]); err != nil {
				b.Fatal(err)
			}
		}
		out, err := json.Marshal(a)
		if err != nil {
			b.Fatal(err)
		}
		size = len(out)
	}
	b.ReportMetric(float64(len(calls)*b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(size), "state-bytes")
}

// BenchmarkStep is one minute of one dimension's detector, mid-incident
// (the evaluator's cost per dimension and minute).
func BenchmarkStep(b *testing.B) {
	p := errorrate.DefaultParams()
	s, _ := scenario(p, newState(), base600, 0, 2000, func(i int) errorrate.Counts {
		if i%7 == 0 {
			return counts(10, source(i))
		}
		return counts(10)
	})
	c := counts(10, source(1))
	data, _ := json.Marshal(s)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Step(s, c, base600, at(2000))
	}
	b.ReportMetric(float64(len(data)), "state-bytes")
}

// BenchmarkSimulation runs the simulation of the package doc, one
// sub-benchmark per table row, and reports its figures (minutes on the
// virtual clock, not wall time). Run it with -benchtime=1x: every run of
// a row gives the same figures.
func BenchmarkSimulation(b *testing.B) {
	sim := fullSimulation
	for _, cy := range sim.cycles {
		traffic := "flat"
		if cy > 0 {
			traffic = "cycle"
		}
		for _, v := range sim.volumes {
			for _, q := range sim.rates {
				b.Run(fmt.Sprintf("%s/calls=%.0f/rate=%.1f%%", traffic, v, 100*q), func(b *testing.B) {
					var c cell
					for i := 0; i < b.N; i++ {
						c = runCell(cy, v, q, sim.trials)
					}
					report(b, "cusum", c.cusum)
					report(b, "burn", c.burn)
					b.ReportMetric(c.oracle, "third-failure-min")
				})
			}
		}
	}
	for _, v := range sim.faVolumes {
		b.Run(fmt.Sprintf("false-alarms/calls=%.0f", v), func(b *testing.B) {
			var fa [2]float64
			for i := 0; i < b.N; i++ {
				fa = runFalseAlarms(v, sim.faMonths)
			}
			b.ReportMetric(fa[0], "cusum-FA/30d")
			b.ReportMetric(fa[1], "burn-FA/30d")
		})
	}
}

// report reports a detector's delays; a quantile that was a miss is
// reported as -1.
func report(b *testing.B, name string, s summary) {
	finite := func(v float64) float64 {
		if v != v || v > 1e300 {
			return -1
		}
		return v
	}
	b.ReportMetric(finite(s.median), name+"-p50-min")
	b.ReportMetric(finite(s.p90), name+"-p90-min")
	b.ReportMetric(100*s.missRate, name+"-miss-%")
}
