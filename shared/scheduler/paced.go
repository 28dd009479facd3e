package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/snapkeep/snapkeep/shared/policysync"
)

// Rates are request rates, in requests a second, for each EventBridge
// Scheduler operation the adapter calls.
type Rates struct {
	ListSchedules, GetSchedule, CreateSchedule, UpdateSchedule, DeleteSchedule float64
}

// Scale returns the rates multiplied by f.
func (r Rates) Scale(f float64) Rates {
	return Rates{
		ListSchedules: r.ListSchedules * f, GetSchedule: r.GetSchedule * f,
		CreateSchedule: r.CreateSchedule * f, UpdateSchedule: r.UpdateSchedule * f,
		DeleteSchedule: r.DeleteSchedule * f,
	}
}

// mainRegions are the Regions whose default Scheduler API quotas are the
// higher ones in the quota table.
var mainRegions = []string{
	"us-east-1", "us-east-2", "us-west-2", "ap-northeast-1", "ap-south-1", "ap-southeast-1",
	"ap-southeast-2", "eu-central-1", "eu-west-1", "eu-west-2", "sa-east-1",
}

// Quotas returns EventBridge Scheduler's default request-rate quotas for
// region, per account and Region, shared by every caller in the account
// (both snapkeep paths, every stage, and anything else):
//
//   - CreateSchedule: 5,000 a second in the main Regions, 250 elsewhere;
//   - GetSchedule, UpdateSchedule, DeleteSchedule: 1,000 a second in the
//     main Regions, 250 elsewhere (raised from 50 on 2024-08-21);
//   - ListSchedules: 50 a second in every Region (not part of that raise).
//
// Beyond a quota Scheduler rejects the operation's requests with a
// ThrottlingException for the rest of the second. All are adjustable in
// Service Quotas; these are the defaults. Sources: the EventBridge
// Scheduler User Guide, "Quotas for Amazon EventBridge Scheduler"
// (https://docs.aws.amazon.com/scheduler/latest/UserGuide/scheduler-quotas.html),
// and the AWS What's New post "Amazon EventBridge Scheduler now offers
// higher default service quotas" (2024-08-21).
func Quotas(region string) Rates {
	if slices.Contains(mainRegions, region) {
		return Rates{ListSchedules: 50, GetSchedule: 1000, CreateSchedule: 5000, UpdateSchedule: 1000, DeleteSchedule: 1000}
	}
	return Rates{ListSchedules: 50, GetSchedule: 250, CreateSchedule: 250, UpdateSchedule: 250, DeleteSchedule: 250}
}

// ReconcileShare is the part of each quota the reconciler takes, leaving
// the rest to the Policies stream (which is not paced) and to other
// stages and tools in the account.
const ReconcileShare = 0.25

// ReconcileRates are the rates the reconciler paces itself to in region:
// ReconcileShare of the default quotas (in a main Region 250 GetSchedule
// and 12.5 ListSchedules a second).
func ReconcileRates(region string) Rates { return Quotas(region).Scale(ReconcileShare) }

// Backoff after a throttled (or failed-on-the-server) request: the
// operation's whole token bucket pauses, starting at BackoffBase and
// doubling up to BackoffMax, for at most MaxAttempts attempts in all.
const (
	BackoffBase = time.Second
	BackoffMax  = 20 * time.Second
	MaxAttempts = 5
)

// Paced is a Client that admits every request through its operation's
// token bucket, so that a caller never exceeds the Rates it was given, and
// retries a request Scheduler throttled (ThrottlingException) or failed
// (InternalServerException) after pausing that operation's bucket, with
// exponential backoff. Each retry passes the bucket again, so the wrapped
// client must not retry by itself (give it aws.NopRetryer). Safe for
// concurrent use.
type Paced struct {
	client  Client
	buckets map[string]*policysync.Limiter
	retries atomic.Int64
}

var _ Client = (*Paced)(nil)

// Operation names, as the buckets are keyed.
const (
	opList   = "ListSchedules"
	opGet    = "GetSchedule"
	opCreate = "CreateSchedule"
	opUpdate = "UpdateSchedule"
	opDelete = "DeleteSchedule"
)

// NewPaced wraps c with one token bucket per operation at rates (a rate of
// 0 leaves that operation unpaced), on clock.
func NewPaced(c Client, rates Rates, clock policysync.Clock) *Paced {
	bucket := func(rate float64) *policysync.Limiter { return policysync.NewLimiter(rate, 1, clock) }
	return &Paced{client: c, buckets: map[string]*policysync.Limiter{
		opList:   bucket(rates.ListSchedules),
		opGet:    bucket(rates.GetSchedule),
		opCreate: bucket(rates.CreateSchedule),
		opUpdate: bucket(rates.UpdateSchedule),
		opDelete: bucket(rates.DeleteSchedule),
	}}
}

// Retries is how many requests were retried after a throttle or a server
// error.
func (p *Paced) Retries() int { return int(p.retries.Load()) }

// Admitted is how many requests of op ("GetSchedule", ...) the bucket let
// through, retries included, and how long callers waited for it.
func (p *Paced) Admitted(op string) (int, time.Duration) {
	b, ok := p.buckets[op]
	if !ok {
		return 0, 0
	}
	return b.Stats()
}

// GetSchedule calls the client's GetSchedule at its pace.
func (p *Paced) GetSchedule(ctx context.Context, in *scheduler.GetScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error) {
	return paced(ctx, p, opGet, func() (*scheduler.GetScheduleOutput, error) { return p.client.GetSchedule(ctx, in, optFns...) })
}

// CreateSchedule calls the client's CreateSchedule at its pace.
func (p *Paced) CreateSchedule(ctx context.Context, in *scheduler.CreateScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.CreateScheduleOutput, error) {
	return paced(ctx, p, opCreate, func() (*scheduler.CreateScheduleOutput, error) { return p.client.CreateSchedule(ctx, in, optFns...) })
}

// UpdateSchedule calls the client's UpdateSchedule at its pace.
func (p *Paced) UpdateSchedule(ctx context.Context, in *scheduler.UpdateScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error) {
	return paced(ctx, p, opUpdate, func() (*scheduler.UpdateScheduleOutput, error) { return p.client.UpdateSchedule(ctx, in, optFns...) })
}

// DeleteSchedule calls the client's DeleteSchedule at its pace.
func (p *Paced) DeleteSchedule(ctx context.Context, in *scheduler.DeleteScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.DeleteScheduleOutput, error) {
	return paced(ctx, p, opDelete, func() (*scheduler.DeleteScheduleOutput, error) { return p.client.DeleteSchedule(ctx, in, optFns...) })
}

// ListSchedules calls the client's ListSchedules at its pace.
func (p *Paced) ListSchedules(ctx context.Context, in *scheduler.ListSchedulesInput, optFns ...func(*scheduler.Options)) (*scheduler.ListSchedulesOutput, error) {
	return paced(ctx, p, opList, func() (*scheduler.ListSchedulesOutput, error) { return p.client.ListSchedules(ctx, in, optFns...) })
}

// paced admits call through op's bucket, retrying throttled attempts.
func paced[T any](ctx context.Context, p *Paced, op string, call func() (T, error)) (T, error) {
	bucket := p.buckets[op]
	backoff := BackoffBase
	for attempt := 1; ; attempt++ {
		if err := bucket.Wait(ctx); err != nil {
			var zero T
			return zero, fmt.Errorf("%s not sent: %w", op, err)
		}
		out, err := call()
		if err == nil || !retryable(err) || attempt == MaxAttempts {
			return out, err
		}
		p.retries.Add(1)
		bucket.Pause(backoff)
		backoff = min(2*backoff, BackoffMax)
	}
}

// retryable reports whether Scheduler asked us to slow down or failed on
// its side, so that the same request may succeed later.
func retryable(err error) bool {
	var throttled *types.ThrottlingException
	var internal *types.InternalServerException
	return errors.As(err, &throttled) || errors.As(err, &internal)
}
