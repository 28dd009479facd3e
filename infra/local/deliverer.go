package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// InvokeFunc invokes a function synchronously with a JSON payload and
// returns its JSON response; an error is a function error (Lambda's
// "Unhandled"). lambdarun.Function.Invoke and aws-lambda-go's
// lambda.NewHandler(h).Invoke have this signature.
type InvokeFunc func(ctx context.Context, payload []byte) ([]byte, error)

// SQSAPI is the part of the SQS client a Deliverer calls to send
// on-failure records, with the SDK's signature.
type SQSAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

var _ SQSAPI = (*sqs.Client)(nil)

// Arrival says which time a Deliverer gives each record as its
// ApproximateCreationDateTime, the time windows and record age go by.
type Arrival int

const (
	// ArrivalClock stamps each record with the virtual time of the Tick
	// that first read it, to the second. moto stamps records with its own
	// wall clock; this puts them on the runner's clock instead.
	ArrivalClock Arrival = iota
	// ArrivalRecord keeps the record's own time, cut to the second as
	// AWS's are (moto's have milliseconds).
	ArrivalRecord
)

// Config configures a Deliverer.
type Config struct {
	// Source is the event source mapping to emulate.
	Source Source
	// Stream reads the source table's stream; give each Deliverer its own
	// (NewTableStream).
	Stream Stream
	// Invoke runs the function.
	Invoke InvokeFunc
	// SQS sends on-failure records; required when Source.OnFailure is set.
	SQS SQSAPI
	// OnFailureQueueURL is the URL of Source.OnFailure's queue; required
	// when it is set.
	OnFailureQueueURL string
	// FunctionARN goes into on-failure records; by default
	// arn:aws:lambda:<region>:<account>:function:<Source.Function> with the
	// stream ARN's region and account.
	FunctionARN string
	// Arrival chooses record times (default ArrivalClock).
	Arrival Arrival
	// BatchSize overrides Source.BatchSize when > 0 (re-batching).
	BatchSize int
	// NewID returns request ids for on-failure records; by default they
	// are derived from the batch, so runs are reproducible.
	NewID func() string
}

// Deliverer delivers one table's stream records to one function the way a
// Lambda event source mapping configured by Source does, on a virtual
// clock: nothing happens between calls to Tick or Flush, which take the
// time. A Deliverer makes one invocation at a time, in stream order per
// shard; it is safe for use by several goroutines, which it serialises.
type Deliverer struct {
	cfg    Config
	filter *Filter
	size   int // batch size in force

	mu     sync.Mutex
	now    time.Time
	tick   int
	shards map[string]*shard
	order  []string // shard ids, first seen first
	stats  Stats
	ids    int
}

// Stats counts what a Deliverer did since it was created.
type Stats struct {
	// Read is the records read from the stream (replays not counted).
	Read int
	// Filtered is the records dropped because they matched no filter.
	Filtered int
	// Invocations is the calls of the function, retries included.
	Invocations int
	// FailedInvocations is the invocations that failed in full or in
	// part: an error, an unreadable response, reported item failures.
	FailedInvocations int
	// Delivered is the records checkpointed after the function succeeded
	// with them.
	Delivered int
	// Discarded is the records given up on: retries exhausted or too old.
	Discarded int
	// OnFailureSent is the on-failure records sent to the queue.
	OnFailureSent int
	// FinalInvocations is the successful final invocations of windows
	// (early terminations included).
	FinalInvocations int
	// EarlyTerminations is the windows ended early because the state
	// grew past MaxStateBytes.
	EarlyTerminations int
	// DroppedWindows is the windows (or early-ended parts) whose final
	// invocation failed for good, losing the state.
	DroppedWindows int
}

// New returns a Deliverer for cfg.Source. With StartingPosition LATEST it
// reads the stream once and skips what is there, as a new mapping does.
func New(ctx context.Context, cfg Config) (*Deliverer, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("deliverer %s: %w", cfg.Source, err)
	}
	f, err := CompileFilter(cfg.Source.Filters)
	if err != nil {
		return nil, fmt.Errorf("deliverer %s: %w", cfg.Source, err)
	}
	d := &Deliverer{cfg: cfg, filter: f, size: cfg.Source.BatchSize, shards: map[string]*shard{}}
	if cfg.BatchSize > 0 {
		d.size = cfg.BatchSize
	}
	if cfg.Source.StartingPosition == Latest {
		if _, err := cfg.Stream.Read(ctx); err != nil {
			return nil, fmt.Errorf("deliverer %s: skip to LATEST: %w", cfg.Source, err)
		}
	}
	return d, nil
}

func (c Config) check() error {
	var errs []error
	if err := c.Source.Validate(); err != nil {
		errs = append(errs, err)
	}
	if !c.Source.Enabled {
		errs = append(errs, errors.New("the mapping is disabled (Enabled: false)"))
	}
	if c.Stream == nil {
		errs = append(errs, errors.New("no Stream"))
	}
	if c.Invoke == nil {
		errs = append(errs, errors.New("no Invoke"))
	}
	if c.Source.OnFailure != "" && (c.SQS == nil || c.OnFailureQueueURL == "") {
		errs = append(errs, fmt.Errorf("on-failure destination %s needs SQS and OnFailureQueueURL", c.Source.OnFailure))
	}
	if c.BatchSize < 0 || c.BatchSize > 10000 {
		errs = append(errs, fmt.Errorf("BatchSize %d: want 1 to 10000 (or 0 for the source's)", c.BatchSize))
	}
	return errors.Join(errs...)
}

// Source returns the mapping the Deliverer emulates.
func (d *Deliverer) Source() Source { return d.cfg.Source }

// Tick moves the virtual clock to now (which must not be before the last
// Tick's), reads the records written since the last Tick and delivers
// what a mapping delivers by then: full batches, batches whose batching
// window has passed, windows that have ended. Failed batches are retried
// at once (the clock does not move), up to MaximumRetryAttempts; with
// unlimited retries a failing batch gets one attempt per Tick. Function
// errors are not Tick's errors: Tick fails when the stream cannot be read,
// the on-failure queue refuses a record, or ctx ends.
func (d *Deliverer) Tick(ctx context.Context, now time.Time) error {
	return d.run(ctx, now, runOptions{read: true})
}

// Flush is Tick without the batching window: it delivers every pending
// record now, in batches of at most BatchSize. Windows still end only when
// the clock passes their end.
func (d *Deliverer) Flush(ctx context.Context, now time.Time) error {
	return d.run(ctx, now, runOptions{read: true, flush: true})
}

// Advance is Tick without reading the stream: it moves the clock and
// delivers what has become due among the records already read (batching
// windows that passed, windows that ended, retries). Reading moto's stream
// costs a few milliseconds a Tick; a runner that knows no table changed
// since the last Tick can Advance instead.
func (d *Deliverer) Advance(ctx context.Context, now time.Time) error {
	return d.run(ctx, now, runOptions{})
}

// runOptions say what one step of the clock does.
type runOptions struct {
	read  bool // read the stream's new records first
	flush bool // ignore the batching window
}

func (d *Deliverer) run(ctx context.Context, now time.Time, opt runOptions) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	now = now.UTC()
	if now.Before(d.now) {
		return fmt.Errorf("deliverer %s: the clock went back from %s to %s", d.cfg.Source, d.now.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	d.now = now
	d.tick++
	if opt.read {
		if err := d.read(ctx); err != nil {
			return fmt.Errorf("deliverer %s: %w", d.cfg.Source, err)
		}
	}
	for _, id := range d.order {
		if err := d.drain(ctx, d.shards[id], opt.flush); err != nil {
			return fmt.Errorf("deliverer %s, shard %s: %w", d.cfg.Source, id, err)
		}
	}
	return nil
}

// read takes the new stream records into their shards' logs, stamped and
// filtered.
func (d *Deliverer) read(ctx context.Context) error {
	recs, err := d.cfg.Stream.Read(ctx)
	if err != nil {
		return fmt.Errorf("read stream: %w", err)
	}
	for _, sr := range recs {
		d.stats.Read++
		r, err := d.accept(sr)
		if err != nil {
			return err
		}
		if r == nil {
			d.stats.Filtered++
			continue
		}
		sh := d.shards[sr.ShardID]
		if sh == nil {
			sh = &shard{id: sr.ShardID}
			d.shards[sr.ShardID] = sh
			d.order = append(d.order, sr.ShardID)
		}
		sh.log = append(sh.log, r)
	}
	return nil
}

// accept stamps a record and renders it as Lambda would hand it over;
// it returns nil when the record matches none of the filters.
func (d *Deliverer) accept(sr ShardRecord) (*record, error) {
	ev := sr.Record
	at := d.now.Truncate(time.Second)
	if t := ev.Change.ApproximateCreationDateTime.Time; d.cfg.Arrival == ArrivalRecord && !t.IsZero() {
		at = t.UTC().Truncate(time.Second)
	}
	ev.Change.ApproximateCreationDateTime.Time = at
	raw, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("record %s: marshal: %w", ev.Change.SequenceNumber, err)
	}
	ok, err := d.filter.Match(raw)
	if err != nil {
		return nil, fmt.Errorf("record %s: filter: %w", ev.Change.SequenceNumber, err)
	}
	if !ok {
		return nil, nil
	}
	return &record{raw: raw, seq: ev.Change.SequenceNumber, arn: ev.EventSourceArn, at: at, readAt: d.now}, nil
}

// Stats returns what the Deliverer did so far.
func (d *Deliverer) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// Idle says whether nothing is left to deliver: no pending record, no
// batch being retried, no open window.
func (d *Deliverer) Idle() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, sh := range d.shards {
		if sh.next < len(sh.log) || len(sh.work) > 0 || sh.win != nil {
			return false
		}
	}
	return true
}

// Replay rewinds the mapping so the next Tick delivers again every record
// it has read (from == "") or those from sequence number from on, with
// their first times, as if the mapping had been re-created
// at that position: retries and window state are forgotten, windows start
// afresh. Records past MaximumRecordAgeInSeconds by the clock are
// discarded again rather than delivered.
func (d *Deliverer) Replay(from string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	found := from == ""
	for _, sh := range d.shards {
		at := 0
		if from != "" {
			at = len(sh.log)
			for i, r := range sh.log {
				if !seqLess(r.seq, from) {
					at, found = i, true
					break
				}
			}
		}
		sh.next, sh.work, sh.win = at, nil, nil
	}
	if !found {
		return fmt.Errorf("deliverer %s: replay from %s: no record that far was read", d.cfg.Source, from)
	}
	return nil
}

// SetBatchSize changes the batch size from the next batch on (re-batching;
// a replay with another batch size draws other batch boundaries).
func (d *Deliverer) SetBatchSize(n int) error {
	if n < 1 || n > 10000 {
		return fmt.Errorf("deliverer %s: batch size %d: want 1 to 10000", d.cfg.Source, n)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.size = n
	return nil
}

// seqLess orders stream sequence numbers: decimal strings of any length.
func seqLess(a, b string) bool {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
