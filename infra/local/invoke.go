package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
)

// drain invokes one shard's due batches until none is due.
func (d *Deliverer) drain(ctx context.Context, sh *shard, flush bool) error {
	for {
		if err := d.expire(ctx, sh); err != nil {
			return err
		}
		b := d.nextBatch(sh, flush)
		if b == nil {
			return nil
		}
		var err error
		if b.discard != "" {
			err = d.giveUp(ctx, sh, b, b.discard) // its on-failure record could not be sent before
		} else {
			err = d.attempt(ctx, sh, b)
		}
		if err != nil {
			return err
		}
	}
}

func (d *Deliverer) windowed() bool { return d.cfg.Source.TumblingWindowInSeconds > 0 }

// attempt invokes the function with b (sh.work[0]) and settles the result.
func (d *Deliverer) attempt(ctx context.Context, sh *shard, b *batch) error {
	payload, err := d.payload(sh, b)
	if err != nil {
		return err
	}
	b.attempts++
	b.tick = d.tick
	d.stats.Invocations++
	out, ierr := d.cfg.Invoke(ctx, payload)
	if ierr != nil && ctx.Err() != nil {
		return fmt.Errorf("invoke %s: %w", d.cfg.Source.Function, ctx.Err())
	}
	return d.settle(ctx, sh, b, d.judge(b, out, ierr))
}

// plainEvent is the payload of events.DynamoDBEvent with the records as
// ready JSON.
type plainEvent struct {
	Records []json.RawMessage `json:"Records"`
}

// WindowEvent is the payload Lambda delivers to a stream mapping with a
// tumbling window: events.DynamoDBTimeWindowEvent's JSON, with the records
// of type R (ready JSON here, events.DynamoDBEventRecord in events/sample)
// and the state passed through verbatim (Lambda allows any JSON object; Go's
// events type takes string values only).
type WindowEvent[R any] struct {
	Records                 []R             `json:"Records"`
	Window                  events.Window   `json:"window"`
	State                   json.RawMessage `json:"state"`
	ShardID                 string          `json:"shardId"`
	EventSourceARN          string          `json:"eventSourceARN"`
	IsFinalInvokeForWindow  bool            `json:"isFinalInvokeForWindow"`
	IsWindowTerminatedEarly bool            `json:"isWindowTerminatedEarly"`
}

func (d *Deliverer) payload(sh *shard, b *batch) ([]byte, error) {
	recs := make([]json.RawMessage, len(b.recs))
	for i, r := range b.recs {
		recs[i] = r.raw
	}
	var ev any = plainEvent{Records: recs}
	if d.windowed() {
		w := sh.win
		ev = WindowEvent[json.RawMessage]{
			Records:                 recs,
			Window:                  events.Window{Start: events.RFC3339EpochTime{Time: w.start}, End: events.RFC3339EpochTime{Time: w.end}},
			State:                   w.state,
			ShardID:                 sh.id,
			EventSourceARN:          sh.arn(),
			IsFinalInvokeForWindow:  b.final,
			IsWindowTerminatedEarly: b.early,
		}
	}
	out, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	return out, nil
}

// arn is the stream ARN of the shard's records.
func (sh *shard) arn() string {
	if len(sh.log) == 0 {
		return ""
	}
	return sh.log[0].arn
}

// outcome is what an invocation did, as Lambda reads its response.
type outcome struct {
	ok    bool            // the whole batch succeeded
	whole bool            // the whole batch failed
	done  int             // records before the first reported failure (partial)
	state json.RawMessage // the window state returned (windowed mappings)
	resp  *ResponseContext
}

// Response contexts of failed invocations, for on-failure records.
var (
	unhandled = ResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST", FunctionError: "Unhandled"}
	answered  = ResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST"}
)

// judge reads an invocation's result as Lambda does. An error fails the
// whole batch. With windows the response must be an object with a "state"
// object, else the invocation failed. With ReportBatchItemFailures an
// empty or null batchItemFailures is a success; a failure without a
// usable itemIdentifier (missing, empty, not a sequence number of the
// batch) fails the whole batch; otherwise the records from the lowest
// failed sequence number on failed. Without it the response is not read.
func (d *Deliverer) judge(b *batch, out []byte, ierr error) outcome {
	if ierr != nil {
		return outcome{whole: true, resp: &unhandled}
	}
	fields, isObject := responseObject(out)
	var state json.RawMessage
	if d.windowed() {
		var ok bool
		if state, ok = stateOf(fields); !isObject || !ok {
			return outcome{whole: true, resp: &answered}
		}
	}
	if !d.cfg.Source.ReportsBatchItemFailures() || !isObject {
		return outcome{ok: true, state: state}
	}
	k, ok := failedAt(b, fields["batchItemFailures"])
	switch {
	case !ok:
		return outcome{whole: true, resp: &answered}
	case k == len(b.recs):
		return outcome{ok: true, state: state}
	}
	return outcome{done: k, state: state, resp: &answered}
}

// responseObject decodes a response's top-level fields, keys exactly as
// written; isObject is false when it is not a JSON object.
func responseObject(out []byte) (map[string]json.RawMessage, bool) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(out, &fields); err != nil || fields == nil {
		return nil, false
	}
	return fields, true
}

// stateOf returns the compacted "state" object of a window response.
func stateOf(fields map[string]json.RawMessage) (json.RawMessage, bool) {
	raw, ok := fields["state"]
	if !ok {
		return nil, false
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, false
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, false
	}
	return buf.Bytes(), true
}

// failedAt returns the index in b of the lowest reported failure (len(b.recs)
// when none is reported), or false when the report fails the whole batch.
func failedAt(b *batch, raw json.RawMessage) (int, bool) {
	var items []map[string]json.RawMessage
	if len(raw) == 0 || string(raw) == "null" {
		return len(b.recs), true
	}
	if err := json.Unmarshal(raw, &items); err != nil {
		return 0, false
	}
	at := len(b.recs)
	for _, item := range items {
		var id string
		if err := json.Unmarshal(item["itemIdentifier"], &id); err != nil || id == "" {
			return 0, false
		}
		i := b.index(id)
		if i < 0 {
			return 0, false
		}
		at = min(at, i)
	}
	return at, true
}

// index is the position of the record with sequence number seq, or -1.
func (b *batch) index(seq string) int {
	for i, r := range b.recs {
		if r.seq == seq {
			return i
		}
	}
	return -1
}

// settle applies an invocation's outcome to b (sh.work[0]): checkpoint
// what succeeded, then bisect, retry or give up what failed.
func (d *Deliverer) settle(ctx context.Context, sh *shard, b *batch, res outcome) error {
	if res.ok {
		d.checkpoint(sh, b, len(b.recs), res.state)
		sh.work = sh.work[1:]
		d.finished(sh, b, res.state)
		return nil
	}
	d.stats.FailedInvocations++
	b.failed = res.resp
	if !res.whole {
		d.checkpoint(sh, b, res.done, res.state)
		b.recs = b.recs[res.done:]
	} else if d.cfg.Source.BisectBatchOnFunctionError && len(b.recs) > 1 {
		first, second := b.split()
		sh.work = append([]*batch{first, second}, sh.work[1:]...)
		return nil
	}
	var err error
	if d.exhausted(b) {
		err = d.giveUp(ctx, sh, b, RetryAttemptsExhausted)
	}
	if !res.whole {
		d.overflowed(sh, res.state) // after giveUp, which works on sh.work[0]
	}
	return err
}

// exhausted says whether b has used up its retries.
func (d *Deliverer) exhausted(b *batch) bool {
	max := d.cfg.Source.MaximumRetryAttempts
	return max >= 0 && b.attempts > max
}

// checkpoint moves the shard past the first k records of b (sh.work[0]),
// and checkpoints the window state that came with them.
func (d *Deliverer) checkpoint(sh *shard, b *batch, k int, state json.RawMessage) {
	sh.next += k
	d.stats.Delivered += k
	if d.windowed() && state != nil && !(b.final && k == len(b.recs)) {
		sh.win.state = state
	}
}

// finished closes the window after its final invocation, resets it after
// an early one, and owes an early final invocation when the state grew
// past MaxStateBytes.
func (d *Deliverer) finished(sh *shard, b *batch, state json.RawMessage) {
	if !d.windowed() {
		return
	}
	switch {
	case b.early:
		d.stats.FinalInvocations++
		d.stats.EarlyTerminations++
		sh.win.state = freshState
	case b.final:
		d.stats.FinalInvocations++
		sh.win = nil
	default:
		d.overflowed(sh, state)
	}
}

// overflowed queues the early final invocation of the open window when
// state (just checkpointed) is past MaxStateBytes: it hands that state
// over, marked final and terminated early, before anything else.
func (d *Deliverer) overflowed(sh *shard, state json.RawMessage) {
	if d.windowed() && sh.win != nil && len(state) > MaxStateBytes {
		sh.work = append([]*batch{{final: true, early: true}}, sh.work...)
	}
}
