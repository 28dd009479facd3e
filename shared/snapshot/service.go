package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/snapkeep/snapkeep/shared/backoff"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// RunStore keeps the Runs table's items and, with each run write, the run's
// ApiCalls rows (dynamo.RunStore implements it).
type RunStore interface {
	// Claim stores run if no run has its key, else returns an error
	// wrapping snapkeep.ErrConflict.
	Claim(ctx context.Context, run *snapkeep.Run) error
	// ClaimLocked is Claim and the taking of lock, in one transaction:
	// when the lock is held by another owner it writes nothing and returns
	// a *snapkeep.LockedError (errors.Is snapkeep.ErrLocked).
	ClaimLocked(ctx context.Context, run *snapkeep.Run, lock snapkeep.Lock) error
	// Get returns the run (strongly consistent) or an error wrapping
	// snapkeep.ErrNotFound.
	Get(ctx context.Context, key snapkeep.RunKey) (*snapkeep.Run, error)
	// Save replaces the stored run with next and writes calls as its
	// ApiCalls rows, atomically (one transaction: at most MaxCallsPerSave
	// calls), if the stored run still has prev's UpdatedAt and APICalls;
	// otherwise it writes nothing and returns an error wrapping
	// snapkeep.ErrConflict. It numbers the calls from prev.APICalls+1
	// (writing Seq back into calls) and sets next.APICalls.
	Save(ctx context.Context, prev, next *snapkeep.Run, calls []snapkeep.APICall) error
	// SaveLocked is Save and the taking of lock, in one transaction (see
	// ClaimLocked).
	SaveLocked(ctx context.Context, prev, next *snapkeep.Run, calls []snapkeep.APICall, lock snapkeep.Lock) error
	// AppendCalls writes calls as the run's next ApiCalls rows without
	// touching the run otherwise, idempotently per row: calls with Seq 0
	// get their seq reserved atomically (written back into calls), calls
	// with a Seq are written again as they are. It is for calls made by an
	// attempt that lost the run to another, and for flushing a long
	// step's calls ahead of the run's write.
	AppendCalls(ctx context.Context, key snapkeep.RunKey, calls []snapkeep.APICall) error
	// Previous returns the policy's newest finished (not skipped) run
	// before key's slot, or nil when there is none.
	Previous(ctx context.Context, key snapkeep.RunKey) (*snapkeep.Run, error)
	// DueUnfinished returns up to limit unfinished runs whose next check is
	// at or before now, earliest first, and how many undecodable items it
	// took out of the unfinished index (quarantined, logged with their key).
	DueUnfinished(ctx context.Context, now time.Time, limit int) (due []snapkeep.Run, quarantined int, err error)
}

// MaxCallsPerSave is how many ApiCalls rows one run write carries with it
// (a transaction holds 100 items, the run is one; the rest of a long step's
// calls are flushed ahead with AppendCalls).
const MaxCallsPerSave = 90

// FollowUps queues the later checks of unfinished runs (the SQS adapter,
// sqsqueue.FollowUps, implements it): each run write that leaves a run
// waiting sends one, due when the run's next check is. A queue delivers
// a message at most 15 minutes later; a message that arrives before its due
// time is sent on. Delivery is at least once: a check takes the run's
// lease first, and a message for a check the run no longer waits for is
// dropped.
type FollowUps interface {
	// Send asks for a check of key at due.
	Send(ctx context.Context, key snapkeep.RunKey, due time.Time) error
}

// PolicySource reads policies (dynamo.PolicyStore implements it).
type PolicySource interface {
	// Get returns the policy, or an error wrapping snapkeep.ErrNotFound
	// (no such policy) or snapkeep.ErrInvalid (the stored item is not a
	// readable policy); either makes the run fail invalid_policy.
	Get(ctx context.Context, policyID string) (*snapkeep.Policy, error)
}

// TokenSource reads an account's DigitalOcean token (secrets.Store
// implements it). A missing token is an error wrapping snapkeep.ErrNotFound.
type TokenSource interface {
	Token(ctx context.Context, accountID string) (string, error)
}

// DigitalOcean is the service's port to DigitalOcean, in provider-neutral
// types (*docloud.Client implements it; unit tests use a function-field
// fake). Each method makes exactly one HTTP request and never retries.
type DigitalOcean interface {
	SnapshotDroplet(ctx context.Context, dropletID int, name string) (*snapkeep.Action, error)
	GetAction(ctx context.Context, actionID int64) (*snapkeep.Action, error)
	SnapshotVolume(ctx context.Context, volumeID, name string, tags []string) (*snapkeep.Snapshot, error)
	ListSnapshots(ctx context.Context, kind snapkeep.ResourceKind, resourceID string, page int) ([]snapkeep.Snapshot, bool, error)
	ListDropletActions(ctx context.Context, dropletID int, page int) ([]snapkeep.Action, bool, error)
	DeleteSnapshot(ctx context.Context, snapshotID string) error
	// PaceDelay says how long to wait at now before the next request so
	// the token's budget is not spent to zero.
	PaceDelay(now time.Time) time.Duration
	// ClockSkew is DigitalOcean's clock minus ours, as measured from its
	// responses; known is false before any measurement.
	ClockSkew() (skew time.Duration, known bool)
}

// Recorder receives one snapkeep.APICall per HTTP attempt the port makes
// (docloud.Recorder has the same method, so the adapter takes it as is).
type Recorder interface {
	Record(ctx context.Context, call snapkeep.APICall)
}

// recorderFunc adapts a function to a Recorder.
type recorderFunc func(ctx context.Context, call snapkeep.APICall)

func (f recorderFunc) Record(ctx context.Context, call snapkeep.APICall) { f(ctx, call) }

// Connector makes a DigitalOcean client for a token whose every HTTP
// attempt is reported to rec, e.g.
//
//	func(token string, rec snapshot.Recorder) snapshot.DigitalOcean {
//		return docloud.New(token, docloud.WithRecorder(rec))
//	}
//
// Every error the client returns must wrap a *snapkeep.ProviderError (the
// adapter classifies); any other error is taken for internal.
type Connector func(token string, rec Recorder) DigitalOcean

// Config holds the service's tunables; zero fields take the defaults.
type Config struct {
	// SlotWindow is how long after its slot (or its claim, when the
	// delivery came later) a run may still (re)try to request its snapshot
	// (transient failures); default 30 minutes.
	SlotWindow time.Duration
	// Deadline is how long after its slot (or its claim, when the delivery
	// came later) an unfinished run ends timed_out; default 6 hours.
	Deadline time.Duration
	// APICallTTL is how long ApiCalls rows are kept; default 90 days.
	APICallTTL time.Duration
	// Lease is how long an attempt owns a run it works on (longer than the
	// Lambda timeout, so a live attempt never loses it); default 6 minutes.
	Lease time.Duration
	// ListingGrace is how long after its action completed a droplet
	// snapshot may stay out of listings before the run fails; default 15
	// minutes.
	ListingGrace time.Duration
	// MaxInlineWait is the longest the service sleeps inside an invocation
	// (quick GET retries, pacing); longer waits become a NextCheckAt;
	// default 5 seconds.
	MaxInlineWait time.Duration
	// GetAttempts is how many times a GET is tried within one invocation;
	// default 3.
	GetAttempts int
	// SweepLimit is how many due runs one sweep takes on; default 200.
	SweepLimit int
	// SweepConcurrency is how many runs a sweep works on at once; default 8.
	SweepConcurrency int
	// SweepMargin is how much of the invocation's time a sweep leaves
	// unused: it starts no run when less remains; default 60 seconds.
	SweepMargin time.Duration
	// CallMargin is the invocation time a DigitalOcean call needs left to
	// be started (longer than one HTTP attempt's timeout, so the call ends
	// and its row is written before the invocation does); a call still in
	// flight when a third of it is left is cut off; default 45 s.
	CallMargin time.Duration
	// WriteTimeout bounds each run write, which runs on a context detached
	// from the invocation's deadline; default 10 seconds.
	WriteTimeout time.Duration
	// CheckLease is how long a check owns a run (at least the function's
	// timeout, so overlapping sweeps never check it twice at once);
	// default 5 minutes.
	CheckLease time.Duration
	// LockTTL is how long a droplet stays locked for the run that sends a
	// snapshot request (longer than an HTTP attempt); default 2 minutes.
	LockTTL time.Duration
	// MaxStepBackoff caps the backoff of a run whose steps keep failing
	// without an answer from DigitalOcean; default 30 minutes.
	MaxStepBackoff time.Duration
	// FutureSlack is how far ahead of now (plus the policy's flexible
	// window) a scheduled slot may be; default 5 minutes.
	FutureSlack time.Duration
	// TokenTTL is how long an account's token, once read, is used before
	// it is read again; default 15 minutes.
	TokenTTL time.Duration
	// BackstopLag is how overdue a run must be before the sweep takes it
	// when follow-ups are queued (the sweep is then a backstop for lost
	// messages and crashed attempts); default 2 minutes.
	BackstopLag time.Duration
}

// Defaults.
const (
	DefaultSlotWindow       = 30 * time.Minute
	DefaultDeadline         = 6 * time.Hour
	DefaultAPICallTTL       = 90 * 24 * time.Hour
	DefaultLease            = 6 * time.Minute
	DefaultListingGrace     = 15 * time.Minute
	DefaultMaxInlineWait    = 5 * time.Second
	DefaultGetAttempts      = 3
	DefaultSweepLimit       = 200
	DefaultSweepConcurrency = 8
	DefaultSweepMargin      = 60 * time.Second
	DefaultCallMargin       = 45 * time.Second
	DefaultWriteTimeout     = 10 * time.Second
	DefaultCheckLease       = 5 * time.Minute
	DefaultLockTTL          = 2 * time.Minute
	DefaultMaxStepBackoff   = 30 * time.Minute
	DefaultFutureSlack      = 5 * time.Minute
	DefaultBackstopLag      = 2 * time.Minute
	DefaultTokenTTL         = 15 * time.Minute
	// queueEarly is how early a queued follow-up may arrive and still be
	// taken for due (the queue's delays are whole seconds).
	queueEarly = 2 * time.Second
	// VolumeSnapshotLimit is DigitalOcean's limit of snapshots per volume.
	VolumeSnapshotLimit = 25
)

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.SlotWindow, DefaultSlotWindow)
	def(&c.Deadline, DefaultDeadline)
	def(&c.APICallTTL, DefaultAPICallTTL)
	def(&c.Lease, DefaultLease)
	def(&c.ListingGrace, DefaultListingGrace)
	def(&c.MaxInlineWait, DefaultMaxInlineWait)
	def(&c.SweepMargin, DefaultSweepMargin)
	def(&c.CallMargin, DefaultCallMargin)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.CheckLease, DefaultCheckLease)
	def(&c.LockTTL, DefaultLockTTL)
	def(&c.MaxStepBackoff, DefaultMaxStepBackoff)
	def(&c.FutureSlack, DefaultFutureSlack)
	def(&c.BackstopLag, DefaultBackstopLag)
	def(&c.TokenTTL, DefaultTokenTTL)
	if c.GetAttempts <= 0 {
		c.GetAttempts = DefaultGetAttempts
	}
	if c.SweepLimit <= 0 {
		c.SweepLimit = DefaultSweepLimit
	}
	if c.SweepConcurrency <= 0 {
		c.SweepConcurrency = DefaultSweepConcurrency
	}
	return c
}

// Service runs policy slots: it claims a slot, takes the snapshot, follows
// it to a terminal state, applies retention and records the outcome and
// every DigitalOcean call. See the package documentation for the design.
type Service struct {
	// Runs stores runs and their ApiCalls rows.
	Runs RunStore
	// Policies reads policies.
	Policies PolicySource
	// Tokens reads account tokens.
	Tokens TokenSource
	// Connect makes DigitalOcean clients.
	Connect Connector
	// FollowUps queues the runs' later checks; nil leaves them to the
	// sweep alone (which then takes every due run, not only overdue ones).
	FollowUps FollowUps
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx ends; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Log receives the service's log lines; nil means slog.Default(). The
	// token is never logged.
	Log *slog.Logger
	// Config holds the tunables.
	Config Config

	once    sync.Once
	cfg     Config
	mu      sync.Mutex
	clients map[string]*account
}

// account is a cached client for one account's token. The token stays in
// memory only, to notice a rotated token.
type account struct {
	token  string
	read   time.Time // when the token was last read
	client DigitalOcean
}

// Outcome says what one invocation did.
type Outcome struct {
	// Kind is the request's form.
	Kind Kind `json:"kind"`
	// RunID is the run acted on (not for sweeps).
	RunID string `json:"run_id,omitempty"`
	// Status is the run's status after the invocation.
	Status snapkeep.RunStatus `json:"status,omitempty"`
	// Action says what the invocation did with the run: "claimed",
	// "resumed", "checked", "duplicate", "not_due", "leased_elsewhere",
	// "finished_before", "lost_race", "not_found", "waiting_for_lock",
	// "rejected".
	Action string `json:"action,omitempty"`
	// Due counts the runs a sweep found due.
	Due int `json:"due,omitempty"`
	// Handled counts the due runs a sweep worked on without error.
	Handled int `json:"handled,omitempty"`
	// Failed counts the due runs a sweep could not handle (by reason in
	// Unhandled); their next check was moved back off where it could be.
	Failed int `json:"failed,omitempty"`
	// Unhandled counts the runs of Failed, and the runs whose step failed
	// without an answer from DigitalOcean (recorded, retried later), by
	// reason: "token_unreadable", "out_of_time", "store", ...
	Unhandled map[string]int `json:"unhandled,omitempty"`
	// Quarantined counts undecodable items the sweep took out of the
	// unfinished index.
	Quarantined int `json:"quarantined,omitempty"`
	// Left counts due runs a sweep did not start (out of time).
	Left int `json:"left,omitempty"`
}

// Invoke handles one function input. A malformed input is logged and, when
// a run key can be formed from it, recorded as a failed run; it returns an
// Outcome with Action "rejected" and a nil error, so Lambda does not retry
// it. The error is non-nil only for failures worth an asynchronous retry
// (the Runs table or Secrets Manager unreachable).
func (s *Service) Invoke(ctx context.Context, raw json.RawMessage) (*Outcome, error) {
	req, err := DecodeRequest(raw)
	if err != nil {
		return s.reject(ctx, raw, err)
	}
	out, err := s.invoke(ctx, req)
	var se *stepError
	if errors.As(err, &se) {
		// Recorded on the run, which backs off: not worth a Lambda retry.
		if out != nil {
			out.note(se.reason)
		}
		return out, nil
	}
	return out, err
}

func (s *Service) invoke(ctx context.Context, req Request) (*Outcome, error) {
	kind, _ := req.Kind()
	switch kind {
	case KindSweep:
		return s.Sweep(ctx)
	case KindOnDemand:
		return s.RunSlot(ctx, req.PolicyID, s.now().Truncate(time.Second), snapkeep.TriggerOnDemand)
	case KindFollowUp:
		slot, _ := req.Slot()
		return s.Check(ctx, snapkeep.NewRunKey(req.PolicyID, slot))
	case KindQueued:
		slot, _ := req.Slot()
		due, _ := time.Parse(time.RFC3339, req.Due)
		return s.Queued(ctx, snapkeep.NewRunKey(req.PolicyID, slot), due)
	default:
		slot, _ := req.Slot()
		return s.RunSlot(ctx, req.PolicyID, slot, snapkeep.TriggerScheduled)
	}
}

func (s *Service) reject(ctx context.Context, raw json.RawMessage, cause error) (*Outcome, error) {
	key, ok := lenientKey(raw)
	s.log().ErrorContext(ctx, "rejected input", "error", cause.Error(), "run_key_formed", ok)
	out := &Outcome{Action: "rejected"}
	if !ok {
		return out, nil
	}
	if reason := s.futureSlot(key.ScheduledAt, nil, s.now()); reason != "" {
		// Claiming it would block the real delivery of that slot.
		s.log().ErrorContext(ctx, "rejected input not recorded: its slot is in the future", "error", reason)
		return out, nil
	}
	out.RunID = key.RunID()
	run := s.newRun(key, nil, snapkeep.TriggerScheduled, s.now())
	s.terminate(run, snapkeep.RunFailed, snapkeep.ClassInternal, "rejected input: "+cause.Error())
	if err := s.Runs.Claim(ctx, run); err != nil {
		if errors.Is(err, snapkeep.ErrConflict) {
			s.log().InfoContext(ctx, "rejected input for a slot already claimed; left as is", "run_id", out.RunID)
			return out, nil
		}
		return out, fmt.Errorf("record rejected input of run %s: %w", out.RunID, err)
	}
	out.Status = run.Status
	return out, nil
}

func (s *Service) conf() Config {
	s.once.Do(func() { s.cfg = s.Config.withDefaults() })
	return s.cfg
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

func (s *Service) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	return backoff.Sleep(ctx, d)
}

// SnapshotName is the deterministic name of a policy's snapshot for a slot:
// "snapkeep-<policy_id>-<slot as 20060102T150405Z>". Retention recognises
// the policy's own snapshots by it, and a retry finds an earlier attempt's
// snapshot by it.
func SnapshotName(key snapkeep.RunKey) string {
	return namePrefix(key.PolicyID) + key.ScheduledAt.UTC().Format(nameTimeFormat)
}

const nameTimeFormat = "20060102T150405Z"

func namePrefix(policyID string) string { return "snapkeep-" + policyID + "-" }

// ownSlot reports whether name is one of policyID's snapshot names and
// returns its slot.
func ownSlot(policyID, name string) (time.Time, bool) {
	p := namePrefix(policyID)
	if len(name) != len(p)+len(nameTimeFormat) || name[:len(p)] != p {
		return time.Time{}, false
	}
	t, err := time.Parse(nameTimeFormat, name[len(p):])
	return t, err == nil
}

// newRun returns the claim of key's slot (pol may be nil).
func (s *Service) newRun(key snapkeep.RunKey, pol *snapkeep.Policy, trigger snapkeep.RunTrigger, now time.Time) *snapkeep.Run {
	c := s.conf()
	run := &snapkeep.Run{
		PolicyID:     key.PolicyID,
		ScheduledAt:  key.ScheduledAt,
		RunID:        key.RunID(),
		Trigger:      trigger,
		Status:       snapkeep.RunClaimed,
		SnapshotName: SnapshotName(key),
		ClaimedAt:    now.Truncate(time.Second),
		Deadline:     windowStart(key.ScheduledAt, now).Add(c.Deadline),
		UpdatedAt:    now,
	}
	if pol != nil {
		run.CustomerID = pol.CustomerID
		run.AccountID = pol.AccountID
		run.Resource = pol.Resource
		run.ResourceKey = pol.Resource.Key()
	}
	return run
}

// terminate makes run terminal (in memory).
func (s *Service) terminate(run *snapkeep.Run, status snapkeep.RunStatus, class snapkeep.ErrorClass, detail string) {
	now := s.now().Truncate(time.Second)
	run.Status = status
	run.FinishedAt = &now
	run.Unfinished = ""
	run.NextCheckAt = nil
	run.LeaseUntil, run.LeaseFor = nil, ""
	run.RetryClass = ""
	run.StepError = ""
	if status == snapkeep.RunFailed || status == snapkeep.RunTimedOut {
		run.ErrorClass = class
	} else {
		run.ErrorClass = ""
	}
	run.ErrorDetail = snapkeep.Bound(detail, 2*snapkeep.MaxProviderText)
}

// RunSlot runs policyID's slot: it claims the slot and, if it won the
// claim, requests the snapshot; a slot already claimed is left alone, or
// resumed when the attempt that claimed it crashed. A scheduled slot too
// far in the future is rejected (logged, no run, no error).
func (s *Service) RunSlot(ctx context.Context, policyID string, slot time.Time, trigger snapkeep.RunTrigger) (*Outcome, error) {
	key := snapkeep.NewRunKey(policyID, slot)
	kind := KindScheduled
	if trigger == snapkeep.TriggerOnDemand {
		kind = KindOnDemand
	}
	out := &Outcome{Kind: kind, RunID: key.RunID()}
	now := s.now()
	pol, err := s.Policies.Get(ctx, policyID)
	if err != nil && !errors.Is(err, snapkeep.ErrNotFound) && !errors.Is(err, snapkeep.ErrInvalid) {
		return out, fmt.Errorf("run %s: %w", key, err)
	}
	if reason := s.futureSlot(key.ScheduledAt, pol, now); reason != "" {
		s.log().ErrorContext(ctx, "rejected input", "run_id", out.RunID, "error", reason)
		out.Action = "rejected"
		return out, nil
	}
	run := s.newRun(key, pol, trigger, now)
	var lock *snapkeep.Lock
	switch reason := policyProblem(pol, err); {
	case pol != nil && !pol.Enabled:
		s.terminate(run, snapkeep.RunSkipped, "", "the policy is disabled")
	case reason != "":
		s.terminate(run, snapkeep.RunFailed, snapkeep.ClassInvalidPolicy, reason)
	default:
		s.takeLease(run, snapkeep.LeaseRequest, now)
		lock = s.lockFor(run, now)
	}
	s.notePrevious(ctx, run)
	err = s.claim(ctx, run, lock)
	if errors.Is(err, snapkeep.ErrConflict) {
		o, err := s.resume(ctx, key, KindScheduled)
		if o != nil {
			o.Kind = kind
		}
		return o, err
	}
	if err != nil {
		return out, fmt.Errorf("claim run %s: %w", key, err)
	}
	out.Action = "claimed"
	out.Status = run.Status
	if run.Status.Terminal() {
		s.log().InfoContext(ctx, "run ended at claim", "run_id", run.RunID, "status", run.Status, "error_class", run.ErrorClass, "detail", run.ErrorDetail)
		return out, nil
	}
	if run.LeaseUntil == nil {
		out.Action = "waiting_for_lock"
		s.followUp(ctx, key, *run.NextCheckAt)
		return out, nil
	}
	st, err := s.advance(ctx, run, pol, start{leased: true})
	out.Status = st
	if errors.Is(err, errLostRace) {
		out.Action = "lost_race"
		return out, nil
	}
	return out, err
}

// notePrevious records on the claim how the policy's previous run ended
// (recovery and first-failure notices depend on it) and, when it
// succeeded on the same resource, how long its snapshot took (the run's
// first look at its action waits for most of that). It is best effort: a
// failed read is logged and the run goes on without it.
func (s *Service) notePrevious(ctx context.Context, run *snapkeep.Run) {
	prev, err := s.Runs.Previous(ctx, run.Key())
	if err != nil {
		s.log().WarnContext(ctx, "previous run not read", "run_id", run.RunID, "error", err.Error())
		return
	}
	if prev != nil {
		run.PrevStatus = prev.Status
		if prev.Status == snapkeep.RunSucceeded && prev.Kind == run.Kind && prev.ID == run.ID {
			run.ExpectedActionSeconds = prev.ActionSeconds
		}
	}
}

// claim stores the claim, with the droplet lock when lock is not nil. When
// another run holds the lock, the slot is claimed without a lease, to be
// checked again when the lock lapses.
func (s *Service) claim(ctx context.Context, run *snapkeep.Run, lock *snapkeep.Lock) error {
	if lock == nil {
		return s.Runs.Claim(ctx, run)
	}
	err := s.Runs.ClaimLocked(ctx, run, *lock)
	var le *snapkeep.LockedError
	if !errors.As(err, &le) {
		return err
	}
	s.log().InfoContext(ctx, "droplet locked by another run's request; waiting", "run_id", run.RunID, "lock", le.Key, "until", le.Until)
	s.waitForLock(run, le)
	return s.Runs.Claim(ctx, run)
}

// waitForLock makes run (in memory) wait for the droplet lock le to lapse.
func (s *Service) waitForLock(run *snapkeep.Run, le *snapkeep.LockedError) {
	run.Await(le.Until)
	run.StepError = snapkeep.Bound(le.Error(), snapkeep.MaxProviderText)
}

// takeLease makes run (in memory) owned by this attempt for purpose.
func (s *Service) takeLease(run *snapkeep.Run, purpose snapkeep.LeasePurpose, now time.Time) {
	c := s.conf()
	d := c.Lease
	if purpose == snapkeep.LeaseCheck {
		d = c.CheckLease
	}
	run.Hold(purpose, now.Add(d))
}

// lockFor returns the droplet lock a snapshot request of run needs, or nil
// for a volume (a volume snapshot is synchronous and found by its name).
func (s *Service) lockFor(run *snapkeep.Run, now time.Time) *snapkeep.Lock {
	if run.Kind != snapkeep.ResourceDroplet {
		return nil
	}
	return &snapkeep.Lock{Key: run.Resource.Key(), Owner: run.RunID, Now: now, Until: now.Add(s.conf().LockTTL)}
}

// futureSlot says why a scheduled slot is too far ahead of now to run
// (more than FutureSlack plus the policy's flexible window), or "".
// Running it would take a later slot's snapshot now, and the real
// delivery would find it done.
func (s *Service) futureSlot(slot time.Time, pol *snapkeep.Policy, now time.Time) string {
	limit := s.conf().FutureSlack
	if pol != nil {
		limit += time.Duration(pol.FlexibleWindowMinutes) * time.Minute
	}
	if !slot.After(now.Add(limit)) {
		return ""
	}
	return fmt.Sprintf("scheduled_time %s is %s ahead of now (%s); a slot may be at most %s ahead (%s plus the policy's flexible window)",
		slot.UTC().Format(snapkeep.SlotTimeFormat), slot.Sub(now).Round(time.Second), now.UTC().Format(time.RFC3339),
		limit, s.conf().FutureSlack)
}

// policyProblem says why the policy (as Get returned it) cannot run, or "".
func policyProblem(pol *snapkeep.Policy, err error) string {
	if errors.Is(err, snapkeep.ErrInvalid) {
		// The stored item does not read as a policy.
		return "the policy is not valid: " + err.Error()
	}
	if err != nil {
		return "the policy does not exist"
	}
	if pol.InvalidReason != "" {
		return "the policy is not valid: " + pol.InvalidReason
	}
	if err := pol.Validate(); err != nil {
		return "the policy is not valid: " + err.Error()
	}
	return ""
}

// Check checks the slot's unfinished run now (the follow-up form): it
// follows its snapshot action, retries a failed request within the slot
// window, or resumes a crashed attempt. A run some attempt is working on is
// left alone.
func (s *Service) Check(ctx context.Context, key snapkeep.RunKey) (*Outcome, error) {
	return s.resume(ctx, key, KindFollowUp)
}

// resume continues a stored run if nobody is working on it and it is due
// (a follow-up need not wait for its next check). It first takes the run
// with a conditional write (a check lease, or a request lease and the
// droplet lock when the run must request its snapshot), so that two
// invocations never work on one run at once.
func (s *Service) resume(ctx context.Context, key snapkeep.RunKey, kind Kind) (*Outcome, error) {
	out := &Outcome{Kind: kind, RunID: key.RunID()}
	run, err := s.Runs.Get(ctx, key)
	if errors.Is(err, snapkeep.ErrNotFound) {
		out.Action = "not_found"
		s.log().WarnContext(ctx, "no such run", "run_id", out.RunID, "kind", kind)
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("resume run %s: %w", key, err)
	}
	out.Status = run.Status
	now := s.now()
	switch {
	case run.Status.Terminal():
		out.Action = "finished_before"
		return out, nil
	case run.LeaseUntil != nil && now.Before(*run.LeaseUntil):
		out.Action = "leased_elsewhere"
		return out, nil
	case kind != KindFollowUp && run.NextCheckAt != nil && now.Add(queueEarly).Before(*run.NextCheckAt):
		out.Action = "not_due"
		return out, nil
	}
	out.Action = "checked"
	st := start{crashed: run.LeaseUntil != nil && run.LeaseFor != snapkeep.LeaseCheck}
	if run.LeaseUntil != nil {
		out.Action = "resumed"
		s.log().WarnContext(ctx, "resuming a run whose attempt lapsed", "run_id", run.RunID, "status", run.Status,
			"lease_until", run.LeaseUntil, "lease_for", run.LeaseFor)
	}
	status, err := s.advance(ctx, run, nil, st)
	out.Status = status
	switch {
	case errors.Is(err, errLostRace):
		out.Action = "lost_race"
		return out, nil
	case errors.Is(err, errLocked):
		out.Action = "waiting_for_lock"
		return out, nil
	}
	return out, err
}

// Queued handles a follow-up the run path queued for key, due at due: one
// that arrives early (a wait longer than the queue's delay) is sent on;
// otherwise the run is checked if it still waits for a check by then (an
// older message for a check since rescheduled is dropped as not due; one
// for a run finished or leased elsewhere is dropped too).
func (s *Service) Queued(ctx context.Context, key snapkeep.RunKey, due time.Time) (*Outcome, error) {
	now := s.now()
	if due.After(now.Add(queueEarly)) {
		out := &Outcome{Kind: KindQueued, RunID: key.RunID(), Action: "requeued"}
		if s.FollowUps == nil {
			return out, fmt.Errorf("queued follow-up of %s: no follow-up queue to send it on", key)
		}
		if err := s.FollowUps.Send(ctx, key, due); err != nil {
			return out, fmt.Errorf("queued follow-up of %s: send on: %w", key, err)
		}
		return out, nil
	}
	return s.resume(ctx, key, KindQueued)
}

// followUp queues the next check of a run stored waiting until at. A
// failed send is logged, not returned: the run is stored, and the sweep's
// backstop checks it once it is overdue.
func (s *Service) followUp(ctx context.Context, key snapkeep.RunKey, at time.Time) {
	if s.FollowUps == nil {
		return
	}
	if err := s.FollowUps.Send(ctx, key, at); err != nil {
		s.log().WarnContext(ctx, "follow-up not queued; the sweep's backstop checks the run once it is overdue",
			"run_id", key.RunID(), "due", at, "error", err.Error())
	}
}

// errLostRace means another attempt changed the run first; this attempt
// stops quietly (its calls are still recorded).
var errLostRace = errors.New("another attempt changed the run first")

// errLocked means the droplet was locked by another run's request; the run
// was stored waiting for the lock.
var errLocked = errors.New("the droplet is locked by another run's request")

// start says how an attempt came to a run.
type start struct {
	// leased: the attempt holds the run's request lease (it claimed it).
	leased bool
	// crashed: the attempt that held the run's request lease lapsed; it
	// may have sent the snapshot request without recording it.
	crashed bool
}

// advance works on a run this attempt may write (stored is as stored).
// DigitalOcean calls run on ctx less CallMargin; every run write runs on a
// context detached from ctx's deadline, so that an invocation running out
// of time still records its calls and progress.
func (s *Service) advance(ctx context.Context, stored *snapkeep.Run, pol *snapkeep.Policy, st start) (snapkeep.RunStatus, error) {
	j := s.newJob(ctx, stored, pol, st)
	defer j.cancel()
	err := j.begin(j.callCtx)
	if errors.Is(err, errLostRace) || errors.Is(err, errLocked) {
		s.log().InfoContext(ctx, "run left to another attempt", "run_id", stored.RunID, "why", err.Error())
		return j.prev.Status, err
	}
	if err != nil {
		// Keep what the DigitalOcean calls were even if the run could not
		// be written.
		if calls := j.rec.take(); len(calls) > 0 {
			wctx, cancel := j.writeCtx()
			aerr := s.Runs.AppendCalls(wctx, stored.Key(), calls)
			cancel()
			if aerr != nil {
				s.log().ErrorContext(ctx, "api calls lost", "run_id", stored.RunID, "calls", len(calls), "error", aerr.Error())
			}
		}
		s.log().ErrorContext(ctx, "run step failed", "run_id", stored.RunID, "error", err.Error())
		return j.prev.Status, err
	}
	r := j.prev
	s.log().InfoContext(ctx, "run step done", "run_id", r.RunID, "status", r.Status, "error_class", r.ErrorClass,
		"retry_class", r.RetryClass, "detail", r.ErrorDetail, "step_error", r.StepError, "http_status", r.HTTPStatus,
		"provider_request_id", r.ProviderRequestID, "action_id", r.ActionID, "snapshot_id", r.SnapshotID,
		"attempts", r.Attempts, "api_calls", r.APICalls)
	return r.Status, nil
}

// errMalformedToken wraps what snapkeep.CheckToken found.
type errMalformedToken struct{ err error }

func (e *errMalformedToken) Error() string { return e.err.Error() }

// client returns the cached client for the run's account. The token is
// read from TokenSource at most once per Config.TokenTTL per account (a
// rotated token is noticed within it; Secrets Manager bills per read), and
// again at once after DigitalOcean refused it (see forget). A token that
// is not of DigitalOcean's form is an *errMalformedToken and is never used.
func (s *Service) client(ctx context.Context, accountID string) (DigitalOcean, error) {
	now := s.now()
	s.mu.Lock()
	if a, ok := s.clients[accountID]; ok && now.Sub(a.read) < s.conf().TokenTTL {
		s.mu.Unlock()
		return a.client, nil
	}
	s.mu.Unlock()
	token, err := s.Tokens.Token(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if err := snapkeep.CheckToken(token); err != nil {
		return nil, &errMalformedToken{err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clients == nil {
		s.clients = map[string]*account{}
	}
	if a, ok := s.clients[accountID]; ok && a.token == token {
		a.read = now
		return a.client, nil
	}
	a := &account{token: token, read: now, client: s.Connect(token, recorderFunc(dispatch))}
	s.clients[accountID] = a
	return a.client, nil
}

// forget drops the account's cached token, so that the next run reads it
// again: DigitalOcean refused it (auth_revoked), and it may have been
// replaced since.
func (s *Service) forget(accountID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.clients, accountID)
}

// windowStart is when a run's slot window and deadline start counting: the
// slot, or the claim when the delivery came later (a flexible time window,
// Scheduler's retries, Lambda's queue), so that a late delivery still gets
// its full window.
func windowStart(slot, claimed time.Time) time.Time {
	if claimed.After(slot) {
		return claimed.Truncate(time.Second)
	}
	return slot
}
