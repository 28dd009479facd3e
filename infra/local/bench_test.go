package local_test

import (
	"context"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/infra/local"
	"github.com/snapkeep/snapkeep/shared/dynamo"
)

func BenchmarkFilterMatch(b *testing.B) {
	f, err := local.CompileFilter([]string{
		`{"dynamodb":{"NewImage":{"status":{"S":["failed","timed_out"]}}}}`,
		`{"dynamodb":{"NewImage":{"status":{"S":["succeeded"]}},"OldImage":{"status":{"S":["failed"]}}}}`,
	})
	if err != nil {
		b.Fatal(err)
	}
	event := []byte(failedRunRecord)
	b.SetBytes(int64(len(event)))
	for b.Loop() {
		if ok, err := f.Match(event); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// benchmarkDeliver delivers 1,000 records a round (read, filtered,
// batched, invoked, checkpointed) to a function that answers at once.
func benchmarkDeliver(b *testing.B, window int, filters []string) {
	stream := &fakeStream{}
	src := testSource(func(s *local.Source) {
		s.TumblingWindowInSeconds = window
		s.Filters = filters
		s.FunctionResponseTypes = []string{local.ReportBatchItemFailures}
	})
	invoke := func(context.Context, []byte) ([]byte, error) {
		return []byte(`{"state":{"n":"1"},"batchItemFailures":[]}`), nil
	}
	d, err := local.New(context.Background(), local.Config{Source: src, Stream: stream, Invoke: invoke})
	if err != nil {
		b.Fatal(err)
	}
	statuses := make([]string, 1000)
	for i := range statuses {
		statuses[i] = []string{"failed", "succeeded", "running", "timed_out"}[i%4]
	}
	now := t0
	records := 0
	for b.Loop() {
		stream.add(statuses...)
		now = now.Add(time.Minute)
		if err := d.Tick(context.Background(), now); err != nil {
			b.Fatal(err)
		}
		records += len(statuses)
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	if st := d.Stats(); st.Read != records {
		b.Fatalf("read %d of %d records", st.Read, records)
	}
}

func BenchmarkDeliverBatches(b *testing.B) { benchmarkDeliver(b, 0, nil) }

func BenchmarkDeliverWindows(b *testing.B) { benchmarkDeliver(b, 60, nil) }

func BenchmarkDeliverFiltered(b *testing.B) {
	benchmarkDeliver(b, 0, []string{`{"dynamodb":{"NewImage":{"status":{"S":["failed","timed_out"]}}}}`})
}

// BenchmarkTickOnMoto measures a Tick that finds nothing new in moto's
// stream: the price of each step of the runner's clock, per Deliverer.
func BenchmarkTickOnMoto(b *testing.B) {
	env := awstest.New(b)
	d, err := local.New(context.Background(), local.Config{
		Source: testSource(nil),
		Stream: local.NewTableStream(env.Config, env.TableName(dynamo.Runs)),
		Invoke: func(context.Context, []byte) ([]byte, error) { return []byte(`{}`), nil },
	})
	if err != nil {
		b.Fatal(err)
	}
	now := t0
	for b.Loop() {
		now = now.Add(time.Second)
		if err := d.Tick(context.Background(), now); err != nil {
			b.Fatal(err)
		}
	}
}
