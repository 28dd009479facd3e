package policysync_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/snapkeep/snapkeep/shared/scheduler"
)

// BenchmarkReconcile measures one reconcile of n policies at the rates
// the function uses (ReconcileRates: a quarter of the Region's default
// Scheduler quotas), on the virtual clock: virtual-s is how long the run
// takes in production when Scheduler is the bottleneck, which it is (the
// DynamoDB reads are not paced and run DefaultWorkers at a time). One
// worker, so the buckets' waits add up as they would under the slowest
// interleaving; ns/op is the reconciler's own CPU time against the
// in-memory fakes. drift is the share of policies that lost their
// schedule (each costs a CreateSchedule on top of its GetSchedule).
//
//	go test ./shared/policysync -run '^$' -bench Reconcile -benchtime 1x
func BenchmarkReconcile(b *testing.B) {
	for _, region := range []string{"us-east-1", "eu-north-1"} {
		for _, n := range []int{1000, 10000, 100000} {
			for _, drift := range []float64{0, 0.01} {
				b.Run(fmt.Sprintf("%s/policies=%d/drift=%g", region, n, drift), func(b *testing.B) {
					benchReconcile(b, region, n, drift)
				})
			}
		}
	}
}

func benchReconcile(b *testing.B, region string, n int, drift float64) {
	ps, ids := fleet(n)
	lost := int(float64(n) * drift)
	var virtual float64
	var gets, creates int
	for range b.N {
		b.StopTimer()
		r := newRig(newMemTable(ps...), scheduler.ReconcileRates(region))
		// Defaults but for one worker and no budget: measure the whole run.
		r.rec.Workers, r.rec.Budget, r.rec.Segments, r.rec.PageLimit = 1, 1<<62, 0, 0
		r.schedule(ids[lost:]...)
		start := r.clock.Now()
		get0, create0 := r.fake.Calls("GetSchedule"), r.fake.Calls("CreateSchedule")
		b.StartTimer()
		rep, err := r.rec.Reconcile(context.Background())
		b.StopTimer()
		if err != nil || rep.Err() != nil || rep.Created.Count != lost {
			b.Fatalf("reconcile: %v / %v: %+v", err, rep.Err(), rep)
		}
		virtual = r.clock.Now().Sub(start).Seconds()
		gets, creates = r.fake.Calls("GetSchedule")-get0, r.fake.Calls("CreateSchedule")-create0
	}
	b.ReportMetric(virtual, "virtual-s")
	b.ReportMetric(virtual/60, "virtual-min")
	b.ReportMetric(float64(gets), "GetSchedule")
	b.ReportMetric(float64(creates), "CreateSchedule")
}
