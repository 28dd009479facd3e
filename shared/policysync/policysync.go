// Package policysync keeps one EventBridge Scheduler schedule per backup
// policy in step with the Policies table, the source of truth. It is the
// service behind functions/schedules and imports no AWS SDK: it declares the
// ports it needs (Policies, Schedules, and for the reconciler
// PolicyScanner and ScheduleLister) and the value that crosses them
// (ScheduleSpec); shared/dynamo and shared/scheduler implement them.
//
// Two paths use one rule for what a schedule must look like (Syncer.Sync):
// the Policies stream syncs each policy a record names, and the periodic
// Reconciler syncs every policy and every schedule, repairing what the
// stream missed (a record that ended in the failure queue, a hand edit in
// the console). Limiter is the token bucket both the reconciler and the
// Scheduler adapter pace themselves with.
package policysync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Policies is the part of the policy store the syncer uses
// (*dynamo.PolicyStore implements it).
type Policies interface {
	// Get returns the stored policy, an error wrapping
	// snapkeep.ErrNotFound when there is none, or one wrapping
	// snapkeep.ErrInvalid when the stored item cannot be read as a policy.
	Get(ctx context.Context, policyID string) (*snapkeep.Policy, error)
	// MarkInvalid sets the policy's invalid_reason ("" clears it), writing
	// only when it differs; changed reports whether it wrote.
	MarkInvalid(ctx context.Context, policyID, reason string) (changed bool, err error)
}

// Schedules creates, updates and deletes the policies' schedules
// (*scheduler.Schedules implements it).
type Schedules interface {
	// Apply makes the schedule named spec.Name match spec, creating it when
	// missing and writing nothing when it already matches; changed reports
	// whether it wrote. An error wrapping snapkeep.ErrInvalid means the
	// scheduler rejected the spec itself, so retrying cannot help.
	Apply(ctx context.Context, spec ScheduleSpec) (changed bool, err error)
	// Delete removes the named schedule; a missing schedule is not an
	// error (deleted is then false).
	Delete(ctx context.Context, name string) (deleted bool, err error)
}

// ScheduleSpec is one policy's schedule, as the domain sees it. The adapter
// adds what is the same for every schedule: the group, the target function,
// the role, the retry policy and the dead-letter queue.
type ScheduleSpec struct {
	// Name is the schedule's name: the policy id.
	Name string
	// Expression is the EventBridge Scheduler expression, e.g.
	// "cron(0 3 * * ? *)" or "rate(6 hours)".
	Expression string
	// TimeZone is the IANA zone the expression is read in; "" means UTC.
	TimeZone string
	// FlexibleWindowMinutes lets Scheduler start up to this many minutes
	// late to spread load; 0 turns the flexible window off.
	FlexibleWindowMinutes int
	// Enabled is false for a paused policy: its schedule is DISABLED.
	Enabled bool
	// Input is the JSON the target receives on every firing, see
	// TargetInput.
	Input string
}

// ScheduledTimePlaceholder is the context attribute EventBridge Scheduler
// replaces in a target's input with the firing's scheduled time
// (UTC, "2006-01-02T15:04:05Z", the format of snapkeep.SlotTimeFormat).
const ScheduledTimePlaceholder = "<aws.scheduler.scheduled-time>"

// SnapshotInput is the event the snapshot function receives from a policy's
// schedule.
type SnapshotInput struct {
	// PolicyID is the policy to run.
	PolicyID string `json:"policy_id"`
	// ScheduledTime is the slot, filled in by Scheduler from
	// ScheduledTimePlaceholder.
	ScheduledTime string `json:"scheduled_time"`
}

// TargetInput returns the schedule input for a policy:
// {"policy_id":"<id>","scheduled_time":"<aws.scheduler.scheduled-time>"}.
// It is a template: Scheduler substitutes the placeholder, as text, on each
// firing, so the placeholder's angle brackets must appear literally (not
// HTML-escaped as \u003c...\u003e, which json.Marshal would write).
func TargetInput(policyID string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(SnapshotInput{PolicyID: policyID, ScheduledTime: ScheduledTimePlaceholder}); err != nil {
		// A struct of two strings always encodes.
		panic(fmt.Sprintf("encode snapshot input: %v", err))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// SpecFor returns the schedule a valid policy should have.
func SpecFor(p *snapkeep.Policy) ScheduleSpec {
	return ScheduleSpec{
		Name:                  p.PolicyID,
		Expression:            p.Schedule,
		TimeZone:              p.TimeZone,
		FlexibleWindowMinutes: p.FlexibleWindowMinutes,
		Enabled:               p.Enabled,
		Input:                 TargetInput(p.PolicyID),
	}
}

// Outcome says what Sync did for a policy.
type Outcome string

// Outcomes of Sync.
const (
	// OutcomeScheduled: the schedule was created or updated.
	OutcomeScheduled Outcome = "scheduled"
	// OutcomeUnchanged: the schedule already matched the policy.
	OutcomeUnchanged Outcome = "unchanged"
	// OutcomeDeleted: the policy is gone, and so is its schedule (it may
	// have been gone already).
	OutcomeDeleted Outcome = "deleted"
	// OutcomeInvalid: the policy cannot be scheduled; it is marked with
	// the reason and has no schedule.
	OutcomeInvalid Outcome = "invalid"
)

// Syncer reconciles a policy's schedule with the Policies table.
//
// Sync is given only a policy id: whatever the stream record that named it
// says, it re-reads the policy (a consistent read) and makes the schedule
// match what the table holds now. It does not trust the record's NewImage,
// because stream records can reach it late, twice, or (after a partial
// batch failure and retry) behind newer writes to the same item: applying a
// replayed MODIFY image, or an INSERT image delivered after the REMOVE,
// would resurrect a state the table no longer has. Reading the current item
// makes every delivery of every record for a policy converge on the same,
// latest state, so processing is idempotent and order-insensitive; the cost
// is one GetItem per record. (It also does not depend on the images being
// whole: moto, for one, streams an UpdateItem that creates an item as a
// key-only INSERT followed by a full one.)
//
// A Scheduler rejection is treated like a failed validation, since retrying
// cannot help and would hold up the stream; if the cause was the stack's own
// configuration (a wrong role or target ARN) rather than the policy, the
// reason says so and the policies must be written again once it is fixed.
//
// The write-back of an invalid policy's reason produces another stream
// record for the same policy. That record reconciles to the same verdict
// and MarkInvalid writes only when the reason differs, so it stops there:
// no loop.
type Syncer struct {
	// Policies reads and marks policies.
	Policies Policies
	// Schedules manages the schedules.
	Schedules Schedules
	// Logger receives one line per policy synced; nil discards.
	Logger *slog.Logger
}

// Sync makes policyID's schedule match the stored policy:
//   - no policy: its schedule is deleted;
//   - an invalid policy (its item cannot be read as a policy,
//     Policy.Validate fails, or Scheduler rejects its schedule): the
//     schedule is deleted first, so an invalid policy never
//     fires, then the policy is marked with the reason;
//     this is OutcomeInvalid and not an error;
//   - a valid policy: the schedule is created or updated (DISABLED when the
//     policy is paused), then a stale invalid mark is cleared.
//
// An error means a dependency failed and the call should be retried; every
// step is idempotent, so a retry after a partial failure is safe.
func (s *Syncer) Sync(ctx context.Context, policyID string) (Outcome, error) {
	c, err := s.sync(ctx, policyID)
	return c.outcome, err
}

// change is what one sync found and wrote. The reconciler tells repairs
// from no-ops by it.
type change struct {
	outcome Outcome
	// schedule: the schedule was created, updated or deleted.
	schedule bool
	// mark: the policy's invalid_reason was written or cleared.
	mark bool
}

// wrote reports whether the sync changed anything.
func (c change) wrote() bool { return c.schedule || c.mark }

// sync is Sync, saying what it wrote.
func (s *Syncer) sync(ctx context.Context, policyID string) (change, error) {
	if policyID == "" {
		return change{}, fmt.Errorf("sync policy: empty policy id: %w", snapkeep.ErrInvalid)
	}
	p, err := s.Policies.Get(ctx, policyID)
	if errors.Is(err, snapkeep.ErrNotFound) {
		return s.removed(ctx, policyID)
	}
	if errors.Is(err, snapkeep.ErrInvalid) {
		// The item is not a readable policy: retrying cannot help.
		return s.invalid(ctx, policyID, err.Error())
	}
	if err != nil {
		return change{}, fmt.Errorf("sync policy %s: %w", policyID, err)
	}
	if err := p.Validate(); err != nil {
		return s.invalid(ctx, policyID, err.Error())
	}
	changed, err := s.Schedules.Apply(ctx, SpecFor(p))
	if errors.Is(err, snapkeep.ErrInvalid) {
		return s.invalid(ctx, policyID, err.Error())
	}
	if err != nil {
		return change{}, fmt.Errorf("sync policy %s: %w", policyID, err)
	}
	c := change{outcome: OutcomeUnchanged, schedule: changed}
	if changed {
		c.outcome = OutcomeScheduled
	}
	if p.InvalidReason != "" {
		cleared, err := s.Policies.MarkInvalid(ctx, policyID, "")
		if err != nil && !errors.Is(err, snapkeep.ErrNotFound) {
			return change{}, fmt.Errorf("sync policy %s: clear invalid reason: %w", policyID, err)
		}
		// ErrNotFound: deleted since the read; its REMOVE record, later in
		// the stream, deletes the schedule.
		c.mark = cleared
	}
	level := slog.LevelInfo
	if !c.wrote() {
		// Replays and reconciles of policies in step: nothing to say.
		level = slog.LevelDebug
	}
	s.log().Log(ctx, level, "policy schedule synced",
		"policy_id", policyID, "outcome", string(c.outcome), "mark_cleared", c.mark,
		"schedule", p.Schedule, "time_zone", p.TimeZone, "enabled", p.Enabled)
	return c, nil
}

// removed deletes the schedule of a policy that no longer exists.
func (s *Syncer) removed(ctx context.Context, policyID string) (change, error) {
	deleted, err := s.Schedules.Delete(ctx, policyID)
	if err != nil {
		return change{}, fmt.Errorf("sync deleted policy %s: %w", policyID, err)
	}
	level := slog.LevelInfo
	if !deleted {
		level = slog.LevelDebug // gone already: a replayed REMOVE
	}
	s.log().Log(ctx, level, "policy schedule synced",
		"policy_id", policyID, "outcome", string(OutcomeDeleted), "schedule_deleted", deleted)
	return change{outcome: OutcomeDeleted, schedule: deleted}, nil
}

// invalid deletes the schedule of a policy that cannot be scheduled and
// marks the policy with the reason.
func (s *Syncer) invalid(ctx context.Context, policyID, reason string) (change, error) {
	deleted, err := s.Schedules.Delete(ctx, policyID)
	if err != nil {
		return change{}, fmt.Errorf("sync invalid policy %s: %w", policyID, err)
	}
	marked, err := s.Policies.MarkInvalid(ctx, policyID, reason)
	if err != nil && !errors.Is(err, snapkeep.ErrNotFound) {
		return change{}, fmt.Errorf("sync invalid policy %s: mark invalid: %w", policyID, err)
	}
	c := change{outcome: OutcomeInvalid, schedule: deleted, mark: marked}
	level := slog.LevelWarn
	if !c.wrote() {
		// Already marked and unscheduled: a replay or a reconcile.
		level = slog.LevelDebug
	}
	s.log().Log(ctx, level, "policy is invalid; it has no schedule",
		"policy_id", policyID, "outcome", string(OutcomeInvalid), "reason", reason,
		"schedule_deleted", deleted, "marked", marked)
	return c, nil
}

func (s *Syncer) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}
