package local_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/infra/awslocal"
	"github.com/snapkeep/snapkeep/infra/local"
	"github.com/snapkeep/snapkeep/shared/dynamo"
)

func TestBatchSizeAndFilter(t *testing.T) {
	t.Parallel()
	r := newRig(t, testSource(func(s *local.Source) {
		s.BatchSize = 2
		s.Filters = []string{`{"dynamodb":{"NewImage":{"status":{"S":["failed"]}}}}`}
	}), nil)
	ids := r.put("failed", "succeeded", "failed", "failed", "succeeded", "failed", "failed")
	r.tick(t0)
	if got := r.fn.sizes(0); !reflect.DeepEqual(got, []int{2, 2, 1}) {
		t.Fatalf("batch sizes %v, want [2 2 1]", got)
	}
	var got []string
	var prev string
	for _, c := range r.fn.calls {
		got = append(got, c.ids()...)
		if strings.Contains(string(c.raw), `"window"`) || strings.Contains(string(c.raw), `"state"`) {
			t.Errorf("a mapping without windows sent window fields: %s", c.raw)
		}
		for _, rec := range c.ev.Records {
			if !rec.Change.ApproximateCreationDateTime.Time.Equal(t0) {
				t.Errorf("record %s: ApproximateCreationDateTime %s, want the clock's %s", rec.Change.SequenceNumber, rec.Change.ApproximateCreationDateTime.Time, t0)
			}
			if prev != "" && len(rec.Change.SequenceNumber) == len(prev) && rec.Change.SequenceNumber <= prev {
				t.Errorf("sequence numbers out of order: %s after %s", rec.Change.SequenceNumber, prev)
			}
			prev = rec.Change.SequenceNumber
		}
	}
	if want := []string{ids[0], ids[2], ids[3], ids[5], ids[6]}; !reflect.DeepEqual(got, want) {
		t.Errorf("delivered %v, want the failed runs %v in order", got, want)
	}
	st := r.d.Stats()
	if st.Read != 7 || st.Filtered != 2 || st.Delivered != 5 || st.Invocations != 3 || st.FailedInvocations != 0 {
		t.Errorf("stats %+v", st)
	}
	r.tick(at(time.Second))
	if len(r.fn.calls) != 3 || !r.d.Idle() {
		t.Errorf("a quiet stream was delivered again: %d calls, idle %v", len(r.fn.calls), r.d.Idle())
	}
}

func TestBatchingWindow(t *testing.T) {
	t.Parallel()
	r := newRig(t, testSource(func(s *local.Source) {
		s.BatchSize = 10
		s.MaximumBatchingWindowInSeconds = 5
	}), nil)
	r.put("a", "b", "c")
	r.tick(t0)
	r.tick(at(4 * time.Second))
	if len(r.fn.calls) != 0 {
		t.Fatalf("invoked %d times within the 5 s batching window", len(r.fn.calls))
	}
	r.tick(at(5 * time.Second))
	r.put("d", "e", "f", "g", "h", "i", "j", "k", "l", "m")
	r.tick(at(6 * time.Second)) // a full batch goes at once
	r.put("n", "o")
	if err := r.d.Flush(t.Context(), at(6*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := r.fn.sizes(0); !reflect.DeepEqual(got, []int{3, 10, 2}) {
		t.Errorf("batch sizes %v, want [3 10 2]", got)
	}
}

func TestPartialBatchFailureRetriesFromTheLowestFailure(t *testing.T) {
	t.Parallel()
	r := newRig(t, testSource(func(s *local.Source) {
		s.BatchSize = 5
		s.MaximumRetryAttempts = 3
		s.BisectBatchOnFunctionError = true
		s.FunctionResponseTypes = []string{local.ReportBatchItemFailures}
	}), nil)
	ids := r.put("a", "b", "c", "d", "e")
	r.fn.answer = func(n int, c call) (any, error) {
		if n > 0 {
			return map[string]any{"batchItemFailures": []any{}}, nil
		}
		s := c.seqs()
		return map[string]any{"batchItemFailures": []map[string]string{{"itemIdentifier": s[3]}, {"itemIdentifier": s[1]}}}, nil
	}
	r.tick(t0)
	if len(r.fn.calls) != 2 {
		t.Fatalf("%d calls, want 2", len(r.fn.calls))
	}
	if got := r.fn.calls[1].ids(); !reflect.DeepEqual(got, ids[1:]) {
		t.Errorf("retried %v, want the records from the lowest failed one on: %v", got, ids[1:])
	}
	if st := r.d.Stats(); st.Delivered != 5 || st.FailedInvocations != 1 || st.Discarded != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestPoisonRecordIsBisectedOutToTheOnFailureQueue(t *testing.T) {
	t.Parallel()
	r := newRig(t, testSource(func(s *local.Source) {
		s.BatchSize = 4
		s.BisectBatchOnFunctionError = true
		s.MaximumRetryAttempts = 2
	}), nil)
	r.put("ok", "ok", "poison", "ok")
	r.fn.answer = func(_ int, c call) (any, error) {
		for _, rec := range c.ev.Records {
			if rec.Change.NewImage["status"].String() == "poison" {
				return nil, errors.New("cannot process a poison record")
			}
		}
		return map[string]any{}, nil
	}
	r.tick(t0)
	// [0 1 2 3] fails and is split; [0 1] passes; [2 3] fails and is split;
	// [2] fails 3 times (2 retries) and is given up; [3] passes.
	if got := r.fn.sizes(0); !reflect.DeepEqual(got, []int{4, 2, 2, 1, 1, 1, 1}) {
		t.Fatalf("batch sizes %v, want [4 2 2 1 1 1 1]", got)
	}
	poison := r.fn.calls[3]
	fails := r.failures()
	if len(fails) != 1 {
		t.Fatalf("%d on-failure records, want 1: %+v", len(fails), fails)
	}
	f := fails[0]
	rec := poison.ev.Records[0]
	info := f.DDBStreamBatchInfo
	wantARN := "arn:aws:lambda:" + awslocal.Region() + ":123456789012:function:TestFunction"
	switch {
	case f.RequestContext.Condition != local.RetryAttemptsExhausted || f.RequestContext.ApproximateInvokeCount != 3:
		t.Errorf("requestContext %+v, want RetryAttemptsExhausted after 3 invocations", f.RequestContext)
	case f.RequestContext.FunctionARN != wantARN || f.RequestContext.RequestID == "":
		t.Errorf("requestContext %+v, want function %s and a request id", f.RequestContext, wantARN)
	case f.ResponseContext == nil || *f.ResponseContext != (local.ResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST", FunctionError: "Unhandled"}):
		t.Errorf("responseContext %+v", f.ResponseContext)
	case f.Version != "1.0" || f.Timestamp != "2026-03-01T12:00:10.000Z":
		t.Errorf("version %q timestamp %q", f.Version, f.Timestamp)
	case info.StartSequenceNumber != rec.Change.SequenceNumber || info.EndSequenceNumber != rec.Change.SequenceNumber || info.BatchSize != 1:
		t.Errorf("batch info %+v, want the poison record %s alone", info, rec.Change.SequenceNumber)
	case info.StreamArn != rec.EventSourceArn || !strings.HasPrefix(info.ShardID, "shardId-"):
		t.Errorf("batch info %+v, want stream %s and its shard", info, rec.EventSourceArn)
	case info.ApproximateArrivalOfFirstRecord != "2026-03-01T12:00:10Z" || info.ApproximateArrivalOfLastRecord != info.ApproximateArrivalOfFirstRecord:
		t.Errorf("arrivals %q %q", info.ApproximateArrivalOfFirstRecord, info.ApproximateArrivalOfLastRecord)
	}
	if st := r.d.Stats(); st.Delivered != 3 || st.Discarded != 1 || st.OnFailureSent != 1 {
		t.Errorf("stats %+v", st)
	}
	next := r.put("ok")
	r.tick(at(time.Second))
	if last := r.fn.calls[len(r.fn.calls)-1]; !reflect.DeepEqual(last.ids(), next) {
		t.Errorf("after the poison record the shard delivered %v, want %v", last.ids(), next)
	}
}

func TestRecordsOlderThanTheMaximumAgeAreDiscarded(t *testing.T) {
	t.Parallel()
	r := newRig(t, testSource(func(s *local.Source) {
		s.BatchSize = 10
		s.MaximumRecordAgeInSeconds = 60 // retries are unlimited
	}), nil)
	r.put("poison", "ok")
	r.fn.answer = func(int, call) (any, error) { return nil, errors.New("down") }
	r.tick(t0)
	r.tick(at(30 * time.Second))
	r.tick(at(60 * time.Second))
	if len(r.fn.calls) != 3 {
		t.Fatalf("%d calls, want one attempt per Tick while the records are young", len(r.fn.calls))
	}
	if n := len(r.failures()); n != 0 {
		t.Fatalf("%d on-failure records before the records were 60 s old", n)
	}
	r.tick(at(61 * time.Second))
	if len(r.fn.calls) != 3 {
		t.Errorf("expired records were invoked: %d calls", len(r.fn.calls))
	}
	fails := r.failures()
	if len(fails) != 1 || fails[0].RequestContext.Condition != local.RecordAgeExceeded || fails[0].DDBStreamBatchInfo.BatchSize != 2 ||
		fails[0].RequestContext.ApproximateInvokeCount != 3 || fails[0].Timestamp != "2026-03-01T12:01:11.000Z" {
		t.Errorf("on-failure records %+v, want one RecordAgeExceeded for both records after 3 invocations", fails)
	}
	r.fn.answer = nil
	next := r.put("ok")
	r.tick(at(62 * time.Second))
	if last := r.fn.calls[len(r.fn.calls)-1]; !reflect.DeepEqual(last.ids(), next) {
		t.Errorf("after the discard the shard delivered %v, want %v", last.ids(), next)
	}
}

func TestLatestSkipsWhatIsInTheStream(t *testing.T) {
	t.Parallel()
	src := testSource(func(s *local.Source) { s.StartingPosition = local.Latest })
	r := newRig(t, src, nil)
	r.put("old", "old")
	r.start(local.Config{Source: src, Stream: local.NewTableStream(r.env.Config, r.env.TableName(dynamo.Runs)), Invoke: r.fn.invoke})
	ids := r.put("new")
	r.tick(t0)
	if len(r.fn.calls) != 1 || !reflect.DeepEqual(r.fn.calls[0].ids(), ids) {
		t.Errorf("calls %d, first %v; want only %v", len(r.fn.calls), r.fn.calls, ids)
	}
}

func TestAdvanceDeliversWhatIsDueWithoutReading(t *testing.T) {
	t.Parallel()
	r := newRig(t, testSource(func(s *local.Source) {
		s.BatchSize = 10
		s.MaximumBatchingWindowInSeconds = 5
	}), nil)
	advance := func(now time.Time) {
		t.Helper()
		if err := r.d.Advance(t.Context(), now); err != nil {
			t.Fatal(err)
		}
	}
	first := r.put("a", "b", "c")
	r.tick(t0)
	late := r.put("d")
	advance(at(5 * time.Second)) // the batching window has passed; "d" is not read
	r.tick(at(6 * time.Second))  // reads "d", whose window runs to 11 s
	advance(at(10 * time.Second))
	advance(at(11 * time.Second))
	if len(r.fn.calls) != 2 || !reflect.DeepEqual(r.fn.calls[0].ids(), first) || !reflect.DeepEqual(r.fn.calls[1].ids(), late) {
		t.Errorf("calls %d, want %v then %v", len(r.fn.calls), first, late)
	}
}
