package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/snapkeep/snapkeep/infra/local"
	"github.com/snapkeep/snapkeep/infra/triggers"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/sqsqueue"
)

// The Player plays time forward on the virtual clock and delivers what
// AWS would deliver, through the stack's function binaries:
//
//   - Scheduler's deliveries (the policies' schedules read back from
//     moto, and the template's own: sweep, evaluation, notify tick,
//     reconcile) at their delivery times, invoked as Scheduler invokes a
//     Lambda target (asynchronously: a function error is retried by
//     Lambda after one and then two more minutes, as EventInvokeConfig
//     allows, then sent to its on-failure queue);
//   - the follow-up queue, through infra/local's QueueDeliverer (the
//     template's batch size, partial batch responses, redrive after
//     maxReceiveCount), each message held as SQS holds it: until its due
//     time but at most 15 minutes (the function sends an early one on), a
//     failed one for the queue's VisibilityTimeout, dead-lettered after
//     maxReceiveCount receives;
//   - the table streams, through infra/local's Deliverers (batch sizes,
//     filters, batching and tumbling windows, retries, bisection,
//     on-failure queue), the records read at the first step after the
//     invocations that wrote them, at most every streamStep.
//
// Between those moments the clock jumps: an idle night costs nothing.
// While a stream mapping has records or a window open, the clock steps by
// streamStep so batching windows and window ends are seen in time.
type Player struct {
	st         *Stack
	clock      *Clock
	tpl        *triggers.Template
	deliveries []triggers.Delivery
	next       int
	events     []timedEvent
	nextEvent  int
	fnByARN    map[string]string

	queue      *local.QueueDeliverer
	queueDirty bool

	streams  map[string]*sharedStream // by table logical id
	mappings []*mapping
	dirtyMu  sync.Mutex      // guards dirty and queueDirty: mappings deliver at once
	dirty    map[string]bool // tables written since their last Pull
	lastPull time.Time

	retries []asyncRetry

	// Progress, if set, is told the clock after each step.
	Progress func(now time.Time)
	stats    PlayStats
}

// timedEvent is something the scenario makes happen at a time.
type timedEvent struct {
	at time.Time
	do func(ctx context.Context) error
}

// mapping is one stream event source mapping of the template.
type mapping struct {
	src local.Source
	fn  string
	d   *local.Deliverer
}

// asyncRetry is Lambda's retry of a failed asynchronous invocation.
type asyncRetry struct {
	at      time.Time
	fn      string
	payload []byte
	attempt int // the retry's number: 1 or 2
}

// PlayStats counts what the Player delivered.
type PlayStats struct {
	// Deliveries counts Scheduler deliveries by schedule kind (the
	// policies' "slot", or the template schedule's event name).
	Deliveries map[string]int
	// AsyncFailures counts invocations Lambda retried; AsyncDropped those
	// that failed the last retry: sent to the function's on-failure queue,
	// or, without one, Lost.
	AsyncFailures, AsyncDropped, Lost int
	// Steps counts the clock's steps; Pulls the stream reads.
	Steps, Pulls int
}

// streamStep is how far the clock moves while a stream mapping has work,
// and how often the streams are read while tables are written.
const streamStep = 20 * time.Second

// functionOf maps template logical ids to the stack's function folders.
var functionOf = map[string]string{}

func init() {
	for dir, id := range functionIDs {
		functionOf[id] = dir
	}
}

// writes says which tables with streams each function writes.
var writes = map[string][]string{
	"snapshot":  {dynamo.Runs.LogicalID, dynamo.APICalls.LogicalID},
	"notify":    {dynamo.Runs.LogicalID},
	"schedules": {dynamo.Policies.LogicalID},
}

// newPlayer wires the queue and stream mappings of the template to the
// stack's functions, starting at now.
func newPlayer(ctx context.Context, st *Stack, tpl *triggers.Template, clock *Clock) (*Player, error) {
	p := &Player{st: st, clock: clock, tpl: tpl, fnByARN: map[string]string{}, streams: map[string]*sharedStream{}, dirty: map[string]bool{},
		stats: PlayStats{Deliveries: map[string]int{}}}
	for dir, f := range st.Functions {
		p.fnByARN[f.ARN()] = dir
	}
	srcs, err := local.Sources(st.Template())
	if err != nil {
		return nil, err
	}
	for _, src := range srcs {
		fn, ok := functionOf[src.Function]
		if !ok {
			return nil, fmt.Errorf("stream mapping %s: the local stack has no function %s", src, src.Function)
		}
		ss := p.streams[src.Table]
		if ss == nil {
			ss = newSharedStream(st.AWS, st.Tables[src.Table])
			p.streams[src.Table] = ss
		}
		d, err := local.New(ctx, local.Config{Source: src, Stream: ss.Consumer(), Invoke: p.invoker(fn),
			SQS: st.SQS, OnFailureQueueURL: st.QueueURLs[src.OnFailure]})
		if err != nil {
			return nil, err
		}
		p.mappings = append(p.mappings, &mapping{src: src, fn: fn, d: d})
	}
	q, err := tpl.FindQueue("SnapshotFunction", "FollowUps")
	if err != nil {
		return nil, err
	}
	queueURL := st.QueueURLs[q.Queue]
	client := &countedQueue{QueueAPI: st.SQS, url: queueURL, sent: func() int { return st.Proxy.Sent(queueURL) }}
	p.queue, err = local.NewQueue(local.QueueConfig{Client: client, QueueURL: queueURL, QueueARN: st.Queues[q.Queue],
		Invoke: p.invoker("snapshot"), BatchSize: q.BatchSize, MaxReceives: q.MaxReceiveCount, DeadLetterURL: st.QueueURLs[q.DeadLetterQueue],
		VisibilityTimeout: q.VisibilityTimeout, ReportBatchItemFailures: q.ReportBatchItemFailures, Due: sqsqueue.DueOf})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// countedQueue is the follow-up queue's client: it answers a receive
// from the queue with no messages, without asking moto, when every
// message sent to the queue (the moto proxy counts them) has been
// received. The QueueDeliverer receives until a receive comes back
// empty; most of those would otherwise be moto requests that find
// nothing.
type countedQueue struct {
	local.QueueAPI
	url      string
	sent     func() int
	received int
}

// ReceiveMessage implements local.QueueAPI.
func (q *countedQueue) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	if aws.ToString(in.QueueUrl) == q.url && q.received >= q.sent() {
		return &sqs.ReceiveMessageOutput{}, nil
	}
	out, err := q.QueueAPI.ReceiveMessage(ctx, in, optFns...)
	if err == nil && aws.ToString(in.QueueUrl) == q.url {
		q.received += len(out.Messages)
	}
	return out, err
}

// invoker invokes fn through the stack and notes the tables it may have
// written.
func (p *Player) invoker(fn string) local.InvokeFunc {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		out, err := p.st.Invoke(ctx, fn, payload)
		p.dirtyMu.Lock()
		defer p.dirtyMu.Unlock()
		for _, t := range writes[fn] {
			p.dirty[t] = true
		}
		if fn == "snapshot" {
			p.queueDirty = true
		}
		return out, err
	}
}

// Schedule adds Scheduler's deliveries to play (any order).
func (p *Player) Schedule(ds []triggers.Delivery) {
	p.deliveries = append(p.deliveries[p.next:], ds...)
	p.next = 0
	sort.SliceStable(p.deliveries, func(i, j int) bool { return p.deliveries[i].Deliver.Before(p.deliveries[j].Deliver) })
}

// At makes do happen at t.
func (p *Player) At(t time.Time, do func(ctx context.Context) error) {
	p.events = append(p.events[p.nextEvent:], timedEvent{at: t, do: do})
	p.nextEvent = 0
	sort.SliceStable(p.events, func(i, j int) bool { return p.events[i].at.Before(p.events[j].at) })
}

// Play moves the clock from its time to until (inclusive), delivering
// everything due on the way.
func (p *Player) Play(ctx context.Context, until time.Time) error {
	t := p.clock.Now()
	for !t.After(until) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := p.clock.Set(t); err != nil {
			return err
		}
		if err := p.step(ctx, t); err != nil {
			return fmt.Errorf("at %s: %w", t.Format(time.RFC3339), err)
		}
		p.stats.Steps++
		if p.Progress != nil {
			p.Progress(t)
		}
		t = p.nextTime(t, until)
	}
	return nil
}

// Busy says whether anything is still in flight: follow-ups held, stream
// records not yet delivered, windows open, Lambda retries pending.
func (p *Player) Busy() bool {
	if p.queue.Held() > 0 || p.queueDirty || len(p.retries) > 0 {
		return true
	}
	for t := range p.dirty {
		if p.dirty[t] {
			return true
		}
	}
	for _, m := range p.mappings {
		if !m.d.Idle() {
			return true
		}
	}
	return false
}

// step delivers what is due at t.
func (p *Player) step(ctx context.Context, t time.Time) error {
	for p.nextEvent < len(p.events) && !p.events[p.nextEvent].at.After(t) {
		if err := p.events[p.nextEvent].do(ctx); err != nil {
			return err
		}
		p.nextEvent++
	}
	if err := p.retryDue(ctx, t); err != nil {
		return err
	}
	for p.next < len(p.deliveries) && !p.deliveries[p.next].Deliver.After(t) {
		d := p.deliveries[p.next]
		p.next++
		if err := p.deliver(ctx, d); err != nil {
			return err
		}
	}
	if next, ok := p.queue.NextDue(); p.queueDirty || ok && !next.After(t) {
		p.queueDirty = false
		if err := p.queue.Tick(ctx, t); err != nil {
			return err
		}
	}
	return p.deliverStreams(ctx, t)
}

// deliverStreams reads the streams of the tables written since their last
// read and lets every mapping deliver what is due; what a delivery writes
// (notify records its notices on the run) is read at the next step.
//
// Streams are read at most once per streamStep (AWS's mappings poll
// several times a second): a record read up to 20 s after it was written
// arrives in its mapping as if written then. errorrate counts each call
// and run in its own minute and steps a minute only two minutes after it
// ends, so no count comes late; notify's emails go out up to 20 s later
// than on AWS. Each read costs a moto request per table.
func (p *Player) deliverStreams(ctx context.Context, t time.Time) error {
	if p.lastPull.IsZero() || !t.Before(p.lastPull.Add(streamStep)) {
		pulled := false
		for table, ss := range p.streams {
			if !p.dirty[table] {
				continue
			}
			p.dirty[table] = false
			if _, err := ss.Pull(ctx); err != nil {
				return err
			}
			p.stats.Pulls++
			pulled = true
		}
		if pulled {
			p.lastPull = t
		}
	}
	// What the deliveries write (notify's notices) is read at the next
	// step, like any write.
	return p.tickMappings(ctx, t)
}

// tickMappings lets every mapping deliver what is due at t, all at once
// as Lambda's mappings do: each function still takes one invocation at a
// time (one execution environment), and a mapping delivers its batches in
// order; only mappings of different functions overlap.
func (p *Player) tickMappings(ctx context.Context, t time.Time) error {
	errs := make([]error, len(p.mappings))
	var wg sync.WaitGroup
	for i, m := range p.mappings {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = m.d.Tick(ctx, t)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// deliver invokes a Scheduler delivery's target, asynchronously as
// Scheduler does: an error is Lambda's to retry.
func (p *Player) deliver(ctx context.Context, d triggers.Delivery) error {
	fn, ok := p.fnByARN[d.TargetARN]
	if !ok {
		return fmt.Errorf("schedule %s targets %s, which is none of the stack's functions", d.Schedule, d.TargetARN)
	}
	p.stats.Deliveries[deliveryKind(p.tpl, d.Schedule)]++
	return p.invokeAsync(ctx, fn, d.Input, 0)
}

// deliveryKind names what a delivery is: a template schedule's event, or
// a policy's slot.
func deliveryKind(tpl *triggers.Template, name string) string {
	for _, s := range tpl.Schedules {
		if s.Name == name {
			return s.Event
		}
	}
	return "slot"
}

// invokeAsync invokes fn with payload; a failure is retried after one
// minute, then two, as often as the function's EventInvokeConfig allows,
// then sent to its on-failure queue.
func (p *Player) invokeAsync(ctx context.Context, fn string, payload []byte, attempt int) error {
	_, err := p.invoker(fn)(ctx, payload)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	p.stats.AsyncFailures++
	cfg := p.tpl.Async[functionIDs[fn]]
	now := p.clock.Now()
	if attempt < cfg.MaximumRetryAttempts {
		p.retries = append(p.retries, asyncRetry{at: now.Add(time.Duration(attempt+1) * time.Minute), fn: fn, payload: payload, attempt: attempt + 1})
		sort.SliceStable(p.retries, func(i, j int) bool { return p.retries[i].at.Before(p.retries[j].at) })
		return nil
	}
	p.stats.AsyncDropped++
	if cfg.OnFailure == "" {
		p.stats.Lost++
		return nil
	}
	rec, _ := json.Marshal(map[string]any{
		"version": "1.0", "timestamp": now.Format("2006-01-02T15:04:05.000Z"),
		"requestContext":  map[string]any{"functionArn": p.st.Functions[fn].ARN(), "condition": "RetriesExhausted", "approximateInvokeCount": attempt + 1},
		"responseContext": map[string]any{"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
		"requestPayload":  json.RawMessage(payload),
		"responsePayload": map[string]any{"errorMessage": err.Error()},
	})
	_, serr := p.st.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(p.st.QueueURLs[cfg.OnFailure]), MessageBody: aws.String(string(rec))})
	return serr
}

func (p *Player) retryDue(ctx context.Context, t time.Time) error {
	for len(p.retries) > 0 && !p.retries[0].at.After(t) {
		r := p.retries[0]
		p.retries = p.retries[1:]
		if err := p.invokeAsync(ctx, r.fn, r.payload, r.attempt); err != nil {
			return err
		}
	}
	return nil
}

// nextTime is the next moment something is due after t (at most until+1s,
// which ends Play).
func (p *Player) nextTime(t, until time.Time) time.Time {
	next := until.Add(time.Second)
	earlier := func(c time.Time) {
		if c.After(t) && c.Before(next) {
			next = c
		}
	}
	if p.next < len(p.deliveries) {
		earlier(p.deliveries[p.next].Deliver)
	}
	if p.nextEvent < len(p.events) {
		earlier(p.events[p.nextEvent].at)
	}
	if len(p.retries) > 0 {
		earlier(p.retries[0].at)
	}
	if next, ok := p.queue.NextDue(); ok {
		earlier(next)
	}
	for _, m := range p.mappings {
		if !m.d.Idle() {
			earlier(t.Add(streamStep))
			break
		}
	}
	for _, dirty := range p.dirty {
		if dirty {
			earlier(maxTime(p.lastPull.Add(streamStep), t.Add(time.Second)))
			break
		}
	}
	return next
}

// Stats returns what the Player did so far, with the mappings' and the
// queue's own counts.
func (p *Player) Stats() PlayStats { return p.stats }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
