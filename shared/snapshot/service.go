package snapshot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/snapkeep/snapkeep/shared/docloud"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// RunStore keeps the Runs table's items and, with each run write, the run's
// ApiCalls rows (dynamo.RunStore implements it).
type RunStore interface {
	// Claim stores run if no run has its key, else returns an error
	// wrapping snapkeep.ErrConflict.
	Claim(ctx context.Context, run *snapkeep.Run) error
	// Get returns the run (strongly consistent) or an error wrapping
	// snapkeep.ErrNotFound.
	Get(ctx context.Context, key snapkeep.RunKey) (*snapkeep.Run, error)
	// Save replaces the stored run with next and writes calls as its
	// ApiCalls rows, atomically, if the stored run still has prev's
	// UpdatedAt and APICalls; otherwise it writes nothing and returns an
	// error wrapping snapkeep.ErrConflict. It numbers the calls from
	// prev.APICalls+1 and sets next.APICalls to prev.APICalls+len(calls).
	Save(ctx context.Context, prev, next *snapkeep.Run, calls []snapkeep.APICall) error
	// AppendCalls writes calls as the run's next ApiCalls rows without
	// touching the run otherwise (reserving their seq atomically); it is
	// for calls made by an attempt that lost the run to another.
	AppendCalls(ctx context.Context, key snapkeep.RunKey, calls []snapkeep.APICall) error
	// DueUnfinished returns up to limit unfinished runs whose next check is
	// at or before now, earliest first.
	DueUnfinished(ctx context.Context, now time.Time, limit int) ([]snapkeep.Run, error)
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

// DigitalOcean is the part of *docloud.Client the service uses. Each
// method makes exactly one HTTP request and never retries.
type DigitalOcean interface {
	SnapshotDroplet(ctx context.Context, dropletID int, name string) (*snapkeep.Action, error)
	GetAction(ctx context.Context, actionID int64) (*snapkeep.Action, error)
	SnapshotVolume(ctx context.Context, volumeID, name string, tags []string) (*snapkeep.Snapshot, error)
	ListSnapshots(ctx context.Context, kind snapkeep.ResourceKind, resourceID string, page int) ([]snapkeep.Snapshot, bool, error)
	ListDropletActions(ctx context.Context, dropletID int, page int) ([]snapkeep.Action, bool, error)
	DeleteSnapshot(ctx context.Context, snapshotID string) error
	PaceDelay(now time.Time) time.Duration
}

var _ DigitalOcean = (*docloud.Client)(nil)

// Connector makes a DigitalOcean client for a token whose every HTTP
// attempt is reported to rec, e.g.
//
//	func(token string, rec docloud.Recorder) DigitalOcean {
//		return docloud.New(token, docloud.WithRecorder(rec))
//	}
type Connector func(token string, rec docloud.Recorder) DigitalOcean

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
	// unused: it starts no run when less remains; default 30 seconds.
	SweepMargin time.Duration
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
	DefaultSweepMargin      = 30 * time.Second
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
	// "finished_before", "lost_race", "not_found", "rejected".
	Action string `json:"action,omitempty"`
	// Due counts the runs a sweep found due.
	Due int `json:"due,omitempty"`
	// Handled counts the due runs a sweep worked on without error.
	Handled int `json:"handled,omitempty"`
	// Failed counts the due runs whose check returned an error.
	Failed int `json:"failed,omitempty"`
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
	kind, _ := req.Kind()
	switch kind {
	case KindSweep:
		return s.Sweep(ctx)
	case KindOnDemand:
		return s.RunSlot(ctx, req.PolicyID, s.now().Truncate(time.Second), snapkeep.TriggerOnDemand)
	case KindFollowUp:
		slot, _ := req.Slot()
		return s.Check(ctx, snapkeep.NewRunKey(req.PolicyID, slot))
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
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
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
	run.LeaseUntil = nil
	if status == snapkeep.RunFailed || status == snapkeep.RunTimedOut {
		run.ErrorClass = class
	} else {
		run.ErrorClass = ""
	}
	run.ErrorDetail = detail
}

// RunSlot runs policyID's slot: it claims the slot and, if it won the
// claim, requests the snapshot; a slot already claimed is left alone, or
// resumed when the attempt that claimed it crashed.
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
	run := s.newRun(key, pol, trigger, now)
	c := s.conf()
	switch reason := policyProblem(pol, err); {
	case pol != nil && !pol.Enabled:
		s.terminate(run, snapkeep.RunSkipped, "", "the policy is disabled")
	case reason != "":
		s.terminate(run, snapkeep.RunFailed, snapkeep.ClassInvalidPolicy, reason)
	default:
		lease := now.Add(c.Lease)
		run.LeaseUntil = &lease
		next := ceilSecond(lease)
		run.NextCheckAt = &next
		run.Unfinished = snapkeep.UnfinishedShard
	}
	if err := s.Runs.Claim(ctx, run); err != nil {
		if errors.Is(err, snapkeep.ErrConflict) {
			o, err := s.resume(ctx, key, KindScheduled)
			if o != nil {
				o.Kind = kind
			}
			return o, err
		}
		return out, fmt.Errorf("claim run %s: %w", key, err)
	}
	out.Action = "claimed"
	out.Status = run.Status
	if run.Status.Terminal() {
		s.log().InfoContext(ctx, "run ended at claim", "run_id", run.RunID, "status", run.Status, "error_class", run.ErrorClass, "detail", run.ErrorDetail)
		return out, nil
	}
	st, err := s.advance(ctx, run, pol, false, true)
	out.Status = st
	if errors.Is(err, errLostRace) {
		out.Action = "lost_race"
		return out, nil
	}
	return out, err
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
	if v, ok := any(pol).(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return "the policy is not valid: " + err.Error()
		}
	}
	if pol.AccountID == "" {
		return "the policy names no DigitalOcean account"
	}
	switch pol.Kind {
	case snapkeep.ResourceDroplet, snapkeep.ResourceVolume:
	default:
		return fmt.Sprintf("the policy's resource kind %q is not droplet or volume", pol.Kind)
	}
	if pol.Resource.ID == "" {
		return "the policy names no resource id"
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
// (a follow-up need not wait for its next check).
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
	case kind != KindFollowUp && run.NextCheckAt != nil && now.Before(*run.NextCheckAt):
		out.Action = "not_due"
		return out, nil
	}
	out.Action = "checked"
	crashed := run.LeaseUntil != nil
	if crashed {
		out.Action = "resumed"
		s.log().WarnContext(ctx, "resuming a run whose attempt lapsed", "run_id", run.RunID, "status", run.Status, "lease_until", run.LeaseUntil)
	}
	st, err := s.advance(ctx, run, nil, crashed, false)
	out.Status = st
	if errors.Is(err, errLostRace) {
		out.Action = "lost_race"
		return out, nil
	}
	return out, err
}

// errLostRace means another attempt changed the run first; this attempt
// stops quietly (its calls are still recorded).
var errLostRace = errors.New("another attempt changed the run first")

// advance works on a run this attempt may write (stored is as stored).
func (s *Service) advance(ctx context.Context, stored *snapkeep.Run, pol *snapkeep.Policy, resumed, leased bool) (snapkeep.RunStatus, error) {
	j := &job{s: s, cfg: s.conf(), prev: stored, run: *stored, pol: pol, resumed: resumed, leased: leased}
	j.rec = newRecorder(stored, j.cfg.APICallTTL)
	ctx = withRecorder(ctx, j.rec)
	err := j.start(ctx)
	if errors.Is(err, errLostRace) {
		s.log().InfoContext(ctx, "run changed by another attempt; stopping", "run_id", stored.RunID)
		return j.prev.Status, err
	}
	if err != nil {
		// Keep what the DigitalOcean calls were even if the run could not
		// be written.
		if calls := j.rec.take(); len(calls) > 0 {
			if aerr := s.Runs.AppendCalls(ctx, stored.Key(), calls); aerr != nil {
				s.log().ErrorContext(ctx, "api calls lost", "run_id", stored.RunID, "calls", len(calls), "error", aerr.Error())
			}
		}
		s.log().ErrorContext(ctx, "run step failed", "run_id", stored.RunID, "error", err.Error())
		return j.prev.Status, err
	}
	r := j.prev
	s.log().InfoContext(ctx, "run step done", "run_id", r.RunID, "status", r.Status, "error_class", r.ErrorClass,
		"detail", r.ErrorDetail, "http_status", r.HTTPStatus, "provider_request_id", r.ProviderRequestID,
		"action_id", r.ActionID, "snapshot_id", r.SnapshotID, "attempts", r.Attempts, "api_calls", r.APICalls)
	return r.Status, nil
}

// client returns the cached client for the run's account, fetching the
// token (every time, so a rotated token is noticed).
func (s *Service) client(ctx context.Context, accountID string) (DigitalOcean, error) {
	token, err := s.Tokens.Token(ctx, accountID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.clients[accountID]; ok && a.token == token {
		return a.client, nil
	}
	if s.clients == nil {
		s.clients = map[string]*account{}
	}
	a := &account{token: token, client: s.Connect(token, docloud.RecorderFunc(dispatch))}
	s.clients[accountID] = a
	return a.client, nil
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

func ceilSecond(t time.Time) time.Time {
	t = t.UTC()
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}
