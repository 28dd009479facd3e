package snapkeep

import (
	"fmt"
	"strings"
	"time"
)

// RunStatus is where a run is in its lifecycle:
// claimed → in_progress → succeeded | failed | timed_out, or skipped.
type RunStatus string

// Run statuses.
const (
	RunClaimed    RunStatus = "claimed"
	RunInProgress RunStatus = "in_progress"
	RunSucceeded  RunStatus = "succeeded"
	RunFailed     RunStatus = "failed"
	RunTimedOut   RunStatus = "timed_out"
	RunSkipped    RunStatus = "skipped"
)

// Terminal reports whether s is a final status.
func (s RunStatus) Terminal() bool {
	switch s {
	case RunSucceeded, RunFailed, RunTimedOut, RunSkipped:
		return true
	}
	return false
}

// RunTrigger says what started a run.
type RunTrigger string

// Run triggers.
const (
	TriggerScheduled RunTrigger = "scheduled"
	TriggerOnDemand  RunTrigger = "on_demand"
)

// SlotTimeFormat is the canonical text form of a run's scheduled time: UTC,
// whole seconds, as EventBridge Scheduler's <aws.scheduler.scheduled-time>.
const SlotTimeFormat = "2006-01-02T15:04:05Z"

// RunKey identifies one scheduled run: a policy and a slot. It is the Runs
// table's key, so at-least-once deliveries of the same slot find one item.
type RunKey struct {
	// PolicyID is the policy the run belongs to.
	PolicyID string
	// ScheduledAt is the slot's time, UTC, whole seconds.
	ScheduledAt time.Time
}

// NewRunKey returns the key for policyID's slot at t, normalised to UTC
// whole seconds.
func NewRunKey(policyID string, t time.Time) RunKey {
	return RunKey{PolicyID: policyID, ScheduledAt: t.UTC().Truncate(time.Second)}
}

// Slot returns the scheduled time in SlotTimeFormat.
func (k RunKey) Slot() string { return k.ScheduledAt.UTC().Format(SlotTimeFormat) }

// RunID is the run's id in the ApiCalls table: "<policy_id>#<slot>".
func (k RunKey) RunID() string { return k.PolicyID + "#" + k.Slot() }

// String implements fmt.Stringer.
func (k RunKey) String() string { return k.RunID() }

// ParseRunID splits a run id made by RunKey.RunID.
func ParseRunID(id string) (RunKey, error) {
	i := strings.LastIndexByte(id, '#')
	if i <= 0 {
		return RunKey{}, fmt.Errorf("run id %q: want <policy_id>#<%s>", id, SlotTimeFormat)
	}
	t, err := time.Parse(SlotTimeFormat, id[i+1:])
	if err != nil {
		return RunKey{}, fmt.Errorf("run id %q: slot time: %w", id, err)
	}
	return NewRunKey(id[:i], t), nil
}

// Run is one scheduled run of a policy and its outcome. One item per slot
// in the Runs table.
type Run struct {
	// PolicyID is the run's policy (partition key).
	PolicyID string `json:"policy_id" dynamodbav:"policy_id"`
	// ScheduledAt is the slot (sort key), UTC whole seconds.
	ScheduledAt time.Time `json:"scheduled_at" dynamodbav:"scheduled_at"`
	// RunID is "<policy_id>#<slot>", the key of its ApiCalls rows.
	RunID string `json:"run_id" dynamodbav:"run_id"`
	// CustomerID owns the policy (by-customer index).
	CustomerID string `json:"customer_id,omitempty" dynamodbav:"customer_id,omitempty"`
	// AccountID is the DigitalOcean account used.
	AccountID string `json:"account_id,omitempty" dynamodbav:"account_id,omitempty"`
	// ResourceKey is Resource.Key() (by-resource index).
	ResourceKey string `json:"resource_key,omitempty" dynamodbav:"resource_key,omitempty"`
	// Resource is the droplet or volume snapshotted.
	Resource
	// Trigger says whether Scheduler or a person started the run.
	Trigger RunTrigger `json:"trigger" dynamodbav:"trigger"`
	// Status is the lifecycle state.
	Status RunStatus `json:"status" dynamodbav:"status"`
	// ErrorClass is set on failed and timed-out runs only (sparse
	// failures-by-class index, sorted by FinishedAt).
	ErrorClass ErrorClass `json:"error_class,omitempty" dynamodbav:"error_class,omitempty"`
	// ErrorDetail is snapkeep's own one-line account of the failure.
	ErrorDetail string `json:"error_detail,omitempty" dynamodbav:"error_detail,omitempty"`
	// HTTPStatus is the status of the DigitalOcean response that decided the outcome.
	HTTPStatus int `json:"http_status,omitempty" dynamodbav:"http_status,omitempty"`
	// ProviderErrorID is DigitalOcean's error id, e.g. "server_error".
	ProviderErrorID string `json:"provider_error_id,omitempty" dynamodbav:"provider_error_id,omitempty"`
	// ProviderMessage is DigitalOcean's error message, e.g. "Server Error".
	ProviderMessage string `json:"provider_message,omitempty" dynamodbav:"provider_message,omitempty"`
	// ProviderRequestID is DigitalOcean's request id of that response.
	ProviderRequestID string `json:"provider_request_id,omitempty" dynamodbav:"provider_request_id,omitempty"`
	// ActionID is the droplet snapshot action's id.
	ActionID int64 `json:"action_id,omitempty" dynamodbav:"action_id,omitempty"`
	// SnapshotID is the snapshot's id once known.
	SnapshotID string `json:"snapshot_id,omitempty" dynamodbav:"snapshot_id,omitempty"`
	// SnapshotName is the name snapkeep gave the snapshot.
	SnapshotName string `json:"snapshot_name,omitempty" dynamodbav:"snapshot_name,omitempty"`
	// Attempts counts the times the snapshot was attempted for this slot.
	Attempts int `json:"attempts" dynamodbav:"attempts"`
	// APICalls counts the rows this run wrote to ApiCalls (their seq is 1..APICalls).
	APICalls int `json:"api_calls" dynamodbav:"api_calls"`
	// ClaimedAt is when a delivery first claimed the slot.
	ClaimedAt time.Time `json:"claimed_at" dynamodbav:"claimed_at"`
	// StartedAt is when the snapshot request was accepted.
	StartedAt *time.Time `json:"started_at,omitempty" dynamodbav:"started_at,omitempty"`
	// FinishedAt is when the run reached a terminal status.
	FinishedAt *time.Time `json:"finished_at,omitempty" dynamodbav:"finished_at,omitempty"`
	// Deadline is when an unfinished run ends timed_out.
	Deadline time.Time `json:"deadline" dynamodbav:"deadline"`
	// LeaseUntil is when the current attempt's claim lapses; a delivery that
	// finds a lapsed lease on an unfinished run resumes it.
	LeaseUntil *time.Time `json:"lease_until,omitempty" dynamodbav:"lease_until,omitempty"`
	// NextCheckAt is when the unfinished run is due to be checked again.
	NextCheckAt *time.Time `json:"next_check_at,omitempty" dynamodbav:"next_check_at,omitempty"`
	// Unfinished is UnfinishedKey(RunID) while the run is not terminal and
	// absent afterwards (the sparse unfinished-runs index's partition key).
	Unfinished string `json:"unfinished,omitempty" dynamodbav:"unfinished,omitempty"`
	// Retention is what retention did after a successful run, or what it
	// deleted to make room before the snapshot (a volume at its limit).
	Retention *RetentionResult `json:"retention,omitempty" dynamodbav:"retention,omitempty"`

	// Retry state of an unfinished run, as fields (the stream readers and
	// support read them; the run path decides by them).

	// RetryClass is the class of the latest transient failure while the
	// run is still retrying; empty when it is not (a terminal run carries
	// ErrorClass instead).
	RetryClass ErrorClass `json:"retry_class,omitempty" dynamodbav:"retry_class,omitempty"`
	// RequestUncertain is true when an earlier snapshot request may have
	// started a snapshot DigitalOcean did not confirm (a 5xx, timeout,
	// reset or malformed answer, or a crashed attempt): before asking
	// again the run looks for it.
	RequestUncertain bool `json:"request_uncertain,omitempty" dynamodbav:"request_uncertain,omitempty"`
	// Requests are the times of the run's snapshot requests whose outcome
	// was uncertain, by snapkeep's clock corrected for DigitalOcean's (at
	// most MaxRequestWindows, newest last): an action is adopted as the
	// run's own only if it started inside one of them.
	Requests []RequestWindow `json:"requests,omitempty" dynamodbav:"requests,omitempty"`
	// Adopted is true when the run's action was found among the droplet's
	// actions rather than returned by a request; if it completes without
	// the run's named snapshot, it was not the run's.
	Adopted bool `json:"adopted,omitempty" dynamodbav:"adopted,omitempty"`
	// ActionCompletedAt is when the run's action completed; set while the
	// run waits for its snapshot to be listed.
	ActionCompletedAt *time.Time `json:"action_completed_at,omitempty" dynamodbav:"action_completed_at,omitempty"`
	// ActionSeconds is how long the run's snapshot took at DigitalOcean,
	// from its request to its action's completion (set on success).
	ActionSeconds int `json:"action_seconds,omitempty" dynamodbav:"action_seconds,omitempty"`
	// ExpectedActionSeconds is the policy's previous successful run's
	// ActionSeconds, read at the claim: the run's first look at its action
	// is shortly before it is expected to complete, not every minute.
	ExpectedActionSeconds int `json:"expected_action_seconds,omitempty" dynamodbav:"expected_action_seconds,omitempty"`
	// StepFailures counts the run's consecutive steps that ended without
	// an answer from DigitalOcean (the token could not be read, the
	// invocation ran out of time, ...); each moves NextCheckAt back off.
	StepFailures int `json:"step_failures,omitempty" dynamodbav:"step_failures,omitempty"`
	// StepError says why the latest such step failed.
	StepError string `json:"step_error,omitempty" dynamodbav:"step_error,omitempty"`
	// LeaseFor says what LeaseUntil was taken for: "request" (a snapshot
	// request may be in flight) or "check" (a read-only check).
	LeaseFor LeasePurpose `json:"lease_for,omitempty" dynamodbav:"lease_for,omitempty"`
	// BudgetDelays counts the times the run waited for its own token's
	// request budget (pacing), and BudgetDelayedUntil is the latest wait's
	// end; a delay of the account's own making, not DigitalOcean's.
	BudgetDelays       int        `json:"budget_delays,omitempty" dynamodbav:"budget_delays,omitempty"`
	BudgetDelayedUntil *time.Time `json:"budget_delayed_until,omitempty" dynamodbav:"budget_delayed_until,omitempty"`

	// PrevStatus is the status of the policy's latest finished run before
	// this one, when the claim was made (empty for a first run): a success
	// after a failure is a recovery, a failure after a success a first
	// failure. The notify function's stream filter reads it.
	PrevStatus RunStatus `json:"prev_status,omitempty" dynamodbav:"prev_status,omitempty"`

	// Notices records the customer messages about this run, by channel
	// ("email", "slack"): written with a condition, so each is sent once.
	Notices map[string]Notice `json:"notices,omitempty" dynamodbav:"notices,omitempty"`
	// UpdatedAt is when the item was last written.
	UpdatedAt time.Time `json:"updated_at" dynamodbav:"updated_at"`
}

// UnfinishedShard is the value of Run.Unfinished of runs written before
// the unfinished index was sharded (their sweeps read it as one of
// UnfinishedKeys).
const UnfinishedShard = "unfinished"

// UnfinishedShards is how many partition keys the sparse unfinished index
// spreads unfinished runs over, so that no index key takes more than a
// fraction of the run writes (1,000 writes/s per key is DynamoDB's limit).
const UnfinishedShards = 16

// UnfinishedKey is the value of Run.Unfinished for the run with id runID
// while it is not terminal: "unfinished#" and the run's shard, two digits.
func UnfinishedKey(runID string) string {
	// FNV-1a, inline: the domain package keeps its imports minimal.
	h := uint32(2166136261)
	for i := 0; i < len(runID); i++ {
		h ^= uint32(runID[i])
		h *= 16777619
	}
	return fmt.Sprintf("%s#%02d", UnfinishedShard, h%UnfinishedShards)
}

// UnfinishedKeys are every partition key of the unfinished index: the
// shards, then the key of runs written before sharding.
func UnfinishedKeys() []string {
	keys := make([]string, 0, UnfinishedShards+1)
	for i := 0; i < UnfinishedShards; i++ {
		keys = append(keys, fmt.Sprintf("%s#%02d", UnfinishedShard, i))
	}
	return append(keys, UnfinishedShard)
}

// LeasePurpose says what a run's lease was taken for.
type LeasePurpose string

// Lease purposes.
const (
	// LeaseRequest: the holder may send the snapshot request; if the lease
	// lapses, the request's outcome is uncertain.
	LeaseRequest LeasePurpose = "request"
	// LeaseCheck: the holder only reads (follows the action, lists); a
	// lapsed check lease leaves nothing uncertain.
	LeaseCheck LeasePurpose = "check"
)

// MaxRequestWindows bounds Run.Requests.
const MaxRequestWindows = 8

// RequestWindow is when one snapshot request was in flight.
type RequestWindow struct {
	// From is when it was sent.
	From time.Time `json:"from" dynamodbav:"from"`
	// To is when its answer (or failure) came.
	To time.Time `json:"to" dynamodbav:"to"`
}

// Notice channels.
const (
	ChannelEmail = "email"
	ChannelSlack = "slack"
)

// NoticeKind says what a customer message was about.
type NoticeKind string

// Notice kinds.
const (
	// NoticeFailure tells of one failed run.
	NoticeFailure NoticeKind = "failure"
	// NoticeRecovery tells that a policy succeeded again after failures.
	NoticeRecovery NoticeKind = "recovery"
	// NoticeIncident tells of the failures of a provider incident, once
	// per customer.
	NoticeIncident NoticeKind = "incident"
	// NoticeResolved tells that a provider incident is over.
	NoticeResolved NoticeKind = "resolved"
	// NoticeDigest is the daily summary.
	NoticeDigest NoticeKind = "digest"
	// NoticeHeld marks a failure whose message is held for the incident
	// notice (hold mode).
	NoticeHeld NoticeKind = "held"
	// NoticeSkipped marks a run the customer's preference says not to
	// write about.
	NoticeSkipped NoticeKind = "skipped"
	// NoticeBroadcast is ops' one email to everyone a provider incident
	// affected (snapctl broadcast).
	NoticeBroadcast NoticeKind = "broadcast"
)

// Notice is one customer message about a run on one channel.
type Notice struct {
	// Kind is what the message was about.
	Kind NoticeKind `json:"kind" dynamodbav:"kind"`
	// ID is the message's id (SES MessageId, or snapkeep's own for Slack).
	ID string `json:"id,omitempty" dynamodbav:"id,omitempty"`
	// At is when it was sent or decided.
	At time.Time `json:"at" dynamodbav:"at"`
	// Error says why it could not be sent (a permanent rejection, or bad
	// data such as an unknown customer); it is not retried.
	Error string `json:"error,omitempty" dynamodbav:"error,omitempty"`
}

// Key returns the run's key.
func (r *Run) Key() RunKey { return NewRunKey(r.PolicyID, r.ScheduledAt) }

// Await makes the run (in memory) unfinished with no attempt owning it, to
// be checked again at next, rounded up to the whole second the unfinished
// index sorts by. Callers keep next within the run's deadline.
func (r *Run) Await(next time.Time) {
	at := ceilSecond(next)
	r.NextCheckAt = &at
	r.LeaseUntil, r.LeaseFor = nil, ""
	r.Unfinished = UnfinishedKey(r.RunID)
}

// Hold makes the run (in memory) owned by an attempt for purpose until
// until, and due to be checked again (by a sweep, should the attempt die)
// when that lease lapses.
func (r *Run) Hold(purpose LeasePurpose, until time.Time) {
	until = until.UTC()
	r.Await(until)
	r.LeaseUntil, r.LeaseFor = &until, purpose
}

// ceilSecond rounds t up to a whole second, in UTC.
func ceilSecond(t time.Time) time.Time {
	t = t.UTC()
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}

// RetentionResult records what retention did after a successful run.
type RetentionResult struct {
	// Kept counts the policy's snapshots kept.
	Kept int `json:"kept" dynamodbav:"kept"`
	// Deleted lists the ids of the snapshots deleted.
	Deleted []string `json:"deleted,omitempty" dynamodbav:"deleted,omitempty"`
	// Failed lists the ids whose delete failed; the next run tries again.
	Failed []string `json:"failed,omitempty" dynamodbav:"failed,omitempty"`
	// MadeRoom lists the policy's own snapshots deleted before the
	// snapshot was taken, because the volume was at DigitalOcean's limit of
	// 25 snapshots (oldest first).
	MadeRoom []string `json:"made_room,omitempty" dynamodbav:"made_room,omitempty"`
	// Error says why retention could not run or finish, if it could not.
	Error string `json:"error,omitempty" dynamodbav:"error,omitempty"`
}
