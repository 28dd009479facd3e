package snapshot

import (
	"context"
	"sync"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// recorder collects one run's DigitalOcean calls (it is a docloud.Recorder
// in effect, reached through the context by dispatch): it stamps each with
// the run's id, policy, resource and TTL and buffers it until the run's
// next write, which stores the rows with the run in one transaction and
// numbers them after the run's APICalls.
type recorder struct {
	runID, policyID, resourceKey, region, accountID string
	ttl                                             time.Duration

	mu    sync.Mutex
	calls []snapkeep.APICall
}

func newRecorder(run *snapkeep.Run, ttl time.Duration) *recorder {
	return &recorder{runID: run.RunID, policyID: run.PolicyID, resourceKey: run.ResourceKey, region: run.Region,
		accountID: run.AccountID, ttl: ttl}
}

// Record implements docloud.Recorder.
func (r *recorder) Record(_ context.Context, call snapkeep.APICall) {
	call.RunID = r.runID
	call.PolicyID = r.policyID
	call.ResourceKey = r.resourceKey
	call.Region = r.region
	call.AccountID = r.accountID
	call.ExpiresAt = call.StartedAt.Add(r.ttl).Unix()
	r.mu.Lock()
	r.calls = append(r.calls, call)
	r.mu.Unlock()
}

// take returns the buffered calls and empties the buffer.
func (r *recorder) take() []snapkeep.APICall {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

// len is how many calls are buffered.
func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// takeOldest removes and returns the n oldest buffered calls (none when n
// is not positive).
func (r *recorder) takeOldest(n int) []snapkeep.APICall {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n <= 0 {
		return nil
	}
	n = min(n, len(r.calls))
	out := append([]snapkeep.APICall(nil), r.calls[:n]...)
	r.calls = append(r.calls[:0:0], r.calls[n:]...)
	return out
}

// putBack returns calls that could not be written to the front of the buffer.
func (r *recorder) putBack(calls []snapkeep.APICall) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(calls, r.calls...)
}

type recorderKey struct{}

func withRecorder(ctx context.Context, r *recorder) context.Context {
	return context.WithValue(ctx, recorderKey{}, r)
}

// dispatch is the Recorder every cached client reports to: a client is
// shared by the runs of one account, so the call goes to the recorder of
// the run whose context made it.
func dispatch(ctx context.Context, call snapkeep.APICall) {
	if r, ok := ctx.Value(recorderKey{}).(*recorder); ok {
		r.Record(ctx, call)
	}
}
