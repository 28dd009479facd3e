package escalation_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/escalation/escalationtest"
)

// BenchmarkBuild builds the report of a 12-hour incident over synthetic
// in-memory sources: 100k and 1M runs in 30 days, 1k and 10k affected
// calls. Build's time and memory follow the affected calls (1k vs 10k at
// 1M runs), not the total (1k at 100k vs 1M runs). The source's queries
// copy what they return, as decoding DynamoDB items would, so B/op
// includes the items read.
func BenchmarkBuild(b *testing.B) {
	for _, spec := range []escalationtest.SyntheticSpec{
		{Runs: 100_000, Affected: 1_000, Seed: 1},
		{Runs: 1_000_000, Affected: 1_000, Seed: 1},
		{Runs: 1_000_000, Affected: 10_000, Seed: 1},
	} {
		b.Run(fmt.Sprintf("runs=%d/affected=%d", spec.Runs, spec.Affected), func(b *testing.B) {
			sc := escalationtest.Synthetic(spec)
			in := escalation.BuildInput{Incident: sc.Incident, Now: sc.Now}
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			var r *escalation.Report
			for b.Loop() {
				var err error
				if r, err = escalation.Build(context.Background(), sc.Source, in); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if r.AffectedTotal != spec.Affected {
				b.Fatalf("affected %d, want %d", r.AffectedTotal, spec.Affected)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(spec.Affected), "ns/affected")
			b.ReportMetric(float64(len(r.Resources)), "resources")
			b.ReportMetric(float64(r.Impact.FailedRuns), "failed-runs")
		})
	}
}

// BenchmarkRender renders the 1M-run, 10k-affected report in each format.
func BenchmarkRender(b *testing.B) {
	sc := escalationtest.Synthetic(escalationtest.SyntheticSpec{Runs: 1_000_000, Affected: 10_000, Seed: 1})
	r, err := escalation.Build(context.Background(), sc.Source, escalation.BuildInput{Incident: sc.Incident, Now: sc.Now})
	if err != nil {
		b.Fatal(err)
	}
	sc = nil
	runtime.GC()
	for _, f := range escalation.Formats() {
		b.Run(string(f), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := r.Render(io.Discard, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
