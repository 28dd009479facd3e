package notify

import (
	"context"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// BenchmarkBatch measures the service's own cost of a stream batch of 25
// failed runs of 5 customers (email and Slack each), over the in-memory
// fakes: deciding, rendering every message, claiming and recording. The
// stores' and providers' latency is not in it (see functions/notify's
// BenchmarkNoticeRequests for the requests each notice makes).
func BenchmarkBatch(b *testing.B) {
	r := newRig(b)
	for c := range 5 {
		id := string(rune('a' + c))
		r.customer(id, snapkeep.NotifyEveryFailure, true)
		r.policy("pol-"+id, id)
	}
	n := 0
	for b.Loop() {
		batch := make([]Change, 0, 25)
		for i := range 25 {
			id := string(rune('a' + i%5))
			at := slotAt.Add(time.Duration(n*25+i) * time.Hour)
			batch = append(batch, finishing(r.run("pol-"+id, id, at, snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded)))
		}
		n++
		if failed := r.svc.Batch(context.Background(), batch); failed != -1 {
			b.Fatalf("Batch = %d", failed)
		}
	}
	b.ReportMetric(float64(len(r.mailer.sent))/float64(n), "emails/op")
}
