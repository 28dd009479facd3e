package local

import (
	"encoding/json"
	"time"
)

// Limits a Deliverer applies as Lambda does.
const (
	// MaxStateBytes is the most a tumbling window's state may take (1 MB
	// per shard, taken here as 1 MiB of compact JSON); more ends the window
	// early.
	MaxStateBytes = 1 << 20
	// MaxPayloadBytes is the synchronous invocation payload limit (6 MB);
	// a batch stops growing before its payload would pass it.
	MaxPayloadBytes = 6 << 20
	// payloadOverhead is room for the event's own fields around the records.
	payloadOverhead = 1 << 10
)

// freshState is the state of an invocation that starts a window (or
// continues one after an early termination).
var freshState = json.RawMessage(`{}`)

// shard is one stream shard's delivery state: the records read from it
// (log), the checkpoint (next: the first record not yet done with), the
// batches being worked on, the open tumbling window.
type shard struct {
	id   string
	log  []*record
	next int
	// work holds the batch in progress and, after a bisection, the halves
	// still to go, in stream order; work[0] starts at log[next].
	work []*batch
	win  *window
}

// record is one stream record as the Deliverer hands it over.
type record struct {
	raw    json.RawMessage // the record's JSON, as the function gets it
	seq    string
	arn    string    // the stream ARN
	at     time.Time // ApproximateCreationDateTime, to the second
	readAt time.Time // the clock when it was first read
}

// batch is one invocation's records and what became of its attempts.
type batch struct {
	recs     []*record
	attempts int  // invocations so far
	tick     int  // the Tick of the last attempt
	final    bool // the window's final invocation
	early    bool // ends the window early (its state grew too big)
	// failed is the last failed attempt's response context, for the
	// on-failure record.
	failed *ResponseContext
	// discard is set once the batch is given up on, until its on-failure
	// record has been sent.
	discard string
}

// window is a shard's open tumbling window.
type window struct {
	start, end time.Time
	state      json.RawMessage // checkpointed: the last successful invocation's
}

// pending returns the records after the checkpoint that no batch in work
// holds yet.
func (sh *shard) pending() []*record {
	held := 0
	for _, b := range sh.work {
		held += len(b.recs)
	}
	return sh.log[sh.next+held:]
}

// nextBatch returns the batch to invoke now, or nil when none is due.
func (d *Deliverer) nextBatch(sh *shard, flush bool) *batch {
	if len(sh.work) > 0 {
		b := sh.work[0]
		if b.discard == "" && d.unlimitedRetries() && b.attempts > 0 && b.tick == d.tick {
			return nil // unlimited retries: one attempt per Tick
		}
		return b
	}
	var b *batch
	if d.windowed() {
		b = d.windowBatch(sh, flush)
	} else {
		b = d.plainBatch(sh.pending(), flush)
	}
	if b != nil {
		sh.work = append(sh.work, b)
	}
	return b
}

func (d *Deliverer) unlimitedRetries() bool { return d.cfg.Source.MaximumRetryAttempts < 0 }

// plainBatch takes up to BatchSize pending records when the batch is full
// or the batching window has passed since its first record was read.
func (d *Deliverer) plainBatch(pending []*record, flush bool) *batch {
	if len(pending) == 0 {
		return nil
	}
	n, full := d.take(pending, 0)
	if !full && !flush && d.now.Sub(pending[0].readAt) < d.cfg.Source.BatchingWindow() {
		return nil
	}
	return &batch{recs: pending[:n]}
}

// take counts how many of recs (up to the batch size, and within the
// payload limit with extra bytes of other fields) go into one batch, and
// whether that batch is full.
func (d *Deliverer) take(recs []*record, extra int) (n int, full bool) {
	size := payloadOverhead + extra
	for n < len(recs) && n < d.size {
		size += len(recs[n].raw) + 1
		if n > 0 && size > MaxPayloadBytes {
			return n, true
		}
		n++
	}
	return n, n == d.size
}

// windowBatch returns the next invocation of a windowed mapping: a batch
// of the head window's records (final when the window has ended and the
// batch takes its last records), or an empty final invocation for an
// ended window whose records were all delivered. (The early final
// invocation after an oversized state is queued by overflowed.)
func (d *Deliverer) windowBatch(sh *shard, flush bool) *batch {
	w := sh.win
	pending := sh.pending()
	if len(pending) == 0 || (w != nil && !d.windowStart(pending[0].at).Equal(w.start)) {
		if w != nil && !d.now.Before(w.end) {
			return &batch{final: true}
		}
		return nil // no records, or the head belongs to a later window that cannot open yet
	}
	start := d.windowStart(pending[0].at)
	inWindow := 1
	for inWindow < len(pending) && d.windowStart(pending[inWindow].at).Equal(start) {
		inWindow++
	}
	if w == nil {
		w = &window{start: start, end: start.Add(d.cfg.Source.TumblingWindow()), state: freshState}
		sh.win = w
	}
	n, full := d.take(pending[:inWindow], len(w.state))
	ended := !d.now.Before(w.end)
	final := ended && n == inWindow
	grows := inWindow == len(pending) && !ended // later records may join this batch
	if !final && !full && grows && !flush && d.now.Sub(pending[0].readAt) < d.cfg.Source.BatchingWindow() {
		return nil
	}
	return &batch{recs: pending[:n], final: final}
}

// windowStart is the start of the tumbling window holding time t: t
// floored to a multiple of the window's length since the Unix epoch.
func (d *Deliverer) windowStart(t time.Time) time.Time {
	w := int64(d.cfg.Source.TumblingWindowInSeconds)
	sec := t.Unix()
	return time.Unix(sec-((sec%w)+w)%w, 0).UTC()
}

// split bisects a failed batch: two halves, retried from scratch (splitting
// counts towards no retry quota); only the second half of a final batch is
// final.
func (b *batch) split() (first, second *batch) {
	half := len(b.recs) / 2
	first = &batch{recs: b.recs[:half]}
	second = &batch{recs: b.recs[half:], final: b.final}
	return first, second
}
