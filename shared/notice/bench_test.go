package notice

import (
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// BenchmarkFailure measures rendering one failure message (text, HTML and
// Slack), as notify does once per failed run.
func BenchmarkFailure(b *testing.B) {
	r := newRenderer(b)
	in := FailureInput{Run: failedRun(snapkeep.ClassProviderError), Policy: policy(), Customer: customer(),
		ResourceName: "web-1", Incident: openIncident(), Now: now}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Failure(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDigest500 measures the daily summary of a customer with 500
// failed policies (100 listed).
func BenchmarkDigest500(b *testing.B) {
	r := newRenderer(b)
	in := DigestInput{Customer: customer(), From: slot.Add(-3 * time.Hour), To: slot.Add(21 * time.Hour), Failed: manyFailures(500), Now: now}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Digest(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExplain measures the sentence snapctl run show prints.
func BenchmarkExplain(b *testing.B) {
	run := failedRun(snapkeep.ClassProviderError)
	b.ReportAllocs()
	for b.Loop() {
		if Explain(run) == "" {
			b.Fatal("empty")
		}
	}
}
