package local_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/infra/local"
)

func TestReplayAndRebatchDeliverTheSameRecordsAgain(t *testing.T) {
	t.Parallel()
	r := newRig(t, testSource(func(s *local.Source) { s.BatchSize = 2 }), nil)
	ids := r.put("a", "b", "c", "d", "e")
	r.tick(t0)
	first := r.fn.calls
	if err := r.d.Replay(""); err != nil {
		t.Fatal(err)
	}
	if err := r.d.SetBatchSize(3); err != nil {
		t.Fatal(err)
	}
	r.tick(at(time.Second))
	if got := r.fn.sizes(0); !reflect.DeepEqual(got, []int{2, 2, 1, 3, 2}) {
		t.Fatalf("batch sizes %v, want [2 2 1] then, re-batched, [3 2]", got)
	}
	var again []string
	for _, c := range r.fn.calls[len(first):] {
		again = append(again, c.ids()...)
	}
	if !reflect.DeepEqual(again, ids) {
		t.Errorf("replayed %v, want %v", again, ids)
	}
	from := first[1].seqs()[1] // the fourth record
	if err := r.d.Replay(from); err != nil {
		t.Fatal(err)
	}
	r.tick(at(2 * time.Second))
	if last := r.fn.calls[len(r.fn.calls)-1]; !reflect.DeepEqual(last.ids(), ids[3:]) {
		t.Errorf("replay from %s delivered %v, want %v", from, last.ids(), ids[3:])
	}
	if err := r.d.Replay(from + "0"); err == nil || !strings.Contains(err.Error(), "no record that far") {
		t.Errorf("replay past the stream: %v, want an error", err)
	}
	if err := r.d.SetBatchSize(0); err == nil {
		t.Error("SetBatchSize(0) accepted")
	}
	if st := r.d.Stats(); st.Read != 5 || st.Delivered != 12 {
		t.Errorf("stats %+v: want 5 records read and 5+5+2 delivered", st)
	}
}

func TestAReplayedWindowStartsAfreshAndAddsUpTheSame(t *testing.T) {
	t.Parallel()
	r := newRig(t, testSource(func(s *local.Source) {
		s.BatchSize = 2
		s.TumblingWindowInSeconds = 60
	}), nil)
	r.fn.answer = func(_ int, c call) (any, error) { return state(c), nil }
	r.put("a", "b", "c")
	r.tick(t0)
	r.tick(at(50 * time.Second))
	n := len(r.fn.calls)
	if err := r.d.Replay(""); err != nil {
		t.Fatal(err)
	}
	if err := r.d.SetBatchSize(1); err != nil {
		t.Fatal(err)
	}
	r.tick(at(55 * time.Second)) // the window has ended: the batches go at once, the last is final
	want := []windowCall{
		{records: 2, start: "12:00:00"},
		{records: 1, start: "12:00:00", state: count("2")},
		{records: 0, start: "12:00:00", state: count("3"), final: true},
		{records: 1, start: "12:00:00"},
		{records: 1, start: "12:00:00", state: count("1")},
		{records: 1, start: "12:00:00", state: count("2"), final: true},
	}
	if got := windowCalls(r.fn.calls); !reflect.DeepEqual(got, want) {
		t.Fatalf("invocations\n%+v, want\n%+v", got, want)
	}
	// What the function writes on its final invocation is the same.
	totals := func(c call) string { return state(c)["state"].(map[string]string)["count"] }
	if a, b := totals(r.fn.calls[n-1]), totals(r.fn.calls[len(r.fn.calls)-1]); a != b || a != "3" {
		t.Errorf("final totals %s then %s, want 3 both times", a, b)
	}
}

func TestNewRejectsAnIncompleteConfig(t *testing.T) {
	t.Parallel()
	stream := &fakeStream{}
	fn := (&fakeFunc{t: t}).invoke
	tests := []struct {
		name string
		cfg  local.Config
		want string
	}{
		{"no stream", local.Config{Source: testSource(nil), Invoke: fn}, "no Stream"},
		{"no function", local.Config{Source: testSource(nil), Stream: stream}, "no Invoke"},
		{"queue without SQS", local.Config{Source: testSource(func(s *local.Source) { s.OnFailure = "Q" }), Stream: stream, Invoke: fn}, "needs SQS and OnFailureQueueURL"},
		{"disabled", local.Config{Source: testSource(func(s *local.Source) { s.Enabled = false }), Stream: stream, Invoke: fn}, "disabled"},
		{"bad source", local.Config{Source: testSource(func(s *local.Source) { s.BatchSize = 0 }), Stream: stream, Invoke: fn}, "BatchSize 0"},
		{"bad batch size", local.Config{Source: testSource(nil), Stream: stream, Invoke: fn, BatchSize: 20000}, "BatchSize 20000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := local.New(t.Context(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "TestFunction/RunsStream") {
				t.Errorf("New = %v, want an error naming the mapping and saying %q", err, tt.want)
			}
		})
	}
}
