// Package snapshot is snapkeep's core job: it runs one policy slot from
// claim to retention, takes exactly one DigitalOcean snapshot for it, follows
// it to a terminal state and leaves a complete record: the run's outcome in
// Runs and every HTTP attempt to DigitalOcean in ApiCalls.
//
// The package imports no AWS SDK, no godo and no adapter. It declares the
// small interfaces it needs (RunStore, PolicySource, TokenSource, and
// DigitalOcean, its port in provider-neutral types: snapkeep.Action,
// snapkeep.Snapshot, snapkeep.Operation, snapkeep.ProviderError), and
// functions/snapshot wires the adapters (dynamo.RunStore,
// dynamo.PolicyStore, secrets.Store, docloud.Client) into a Service. Unit
// tests drive it through a function-field fake of the port.
//
// # Inputs
//
// Service.Invoke takes the function's raw input (see Request): the
// scheduled form {"policy_id","scheduled_time"}, the on-demand form
// {"policy_id"} (the slot is now), the follow-up form
// {"policy_id","scheduled_time","follow_up":true} and the sweep
// {"sweep":true}. Unknown fields are rejected, and so is a policy id
// outside the id rule (1-64 of 0-9 A-Z a-z _ . -, far below DynamoDB's key
// size). A rejected input is logged and, when a run key can still be formed
// from it, recorded as a failed run (class internal, the detail says what
// was wrong); Invoke then returns no error, so Lambda's asynchronous
// retries do not replay garbage. A scheduled slot more than
// Config.FutureSlack (5 min) plus the policy's flexible window ahead of now
// is rejected without a run: claiming it would take a later slot's
// snapshot now and make the real delivery find it done.
//
// # Exactly one snapshot per slot, one attempt per run at a time
//
// The run key is the policy id and the slot (snapkeep.RunKey), never the
// Scheduler execution id, which changes per delivery. The first delivery
// claims the slot with a conditional put (attribute_not_exists). Every
// later write of a run is a whole-item put conditioned on the updated_at
// and api_calls the writer read (optimistic concurrency; updated_at
// strictly increases with each write, so it is the version).
//
// An attempt owns a run through its lease (LeaseUntil, with LeaseFor
// saying what for), taken with such a conditional write before it works on
// the run, so two invocations never work on one run at once (overlapping
// sweeps, a follow-up beside the sweep):
//
//   - a request lease (Config.Lease, 6 min, longer than the function's
//     300 s timeout) for an attempt that may send the snapshot request: the
//     claim carries it. If it lapses, the request's outcome is uncertain
//     (the attempt crashed between request and record).
//   - a check lease (Config.CheckLease, 5 min) for an attempt that only
//     reads: following the action, listing. A lapsed check lease leaves
//     nothing uncertain.
//
// NextCheckAt is set to the lease's end with it, so a crashed attempt
// surfaces in the sweep. A delivery that finds the run terminal, leased or
// not due leaves it alone. An attempt whose lease lapsed while it worked
// loses its final write to the next one; it stops and appends its ApiCalls
// rows (RunStore.AppendCalls), so no call is lost.
//
// # Never a blind re-POST, never another's action
//
// A POST that fails with a 5xx, a timeout, a reset or a malformed body may
// still have made the action (DigitalOcean does this), and a crash between
// a POST and its record leaves no trace in the run. Such a run is marked
// RequestUncertain and keeps the window each such request was in flight
// (Requests, from send to answer, at most snapkeep.MaxRequestWindows).
// Snapshot names are deterministic (SnapshotName: snapkeep-<policy_id>-<slot
// as 20060102T150405Z>), so before any re-POST the service lists the
// resource's snapshots and looks for the name. Found: the run succeeds
// with it.
//
// Not found, and the run's request was uncertain, a droplet's action may
// still be running, or have completed with its snapshot not listed yet:
// the service lists the droplet's actions (newest first, at most
// maxActionPages) and adopts the newest "snapshot" action that started
// inside one of the run's request windows, by DigitalOcean's clock.
// Actions carry no snapshot name, so time is the only tie; two guards make
// it sound:
//
//   - snapkeep's own requests for one droplet are serialised: a run takes a
//     droplet lock (snapkeep.Lock in the Leases table, Config.LockTTL = 2
//     min, longer than an HTTP attempt) in the same transaction as its
//     claim or request lease, and another run finding it held waits for it
//     (NextCheckAt = its end, recorded in StepError, no request). So no other
//     snapkeep run's action can start in a request window (hourly and daily
//     policies on one droplet firing at 00:00 is routine).
//   - DigitalOcean's clock offset is measured from its Date headers
//     (DigitalOcean.ClockSkew); the windows are shifted by it and widened by
//     AdoptTolerance (5 s), or by AdoptSkew (2 min) before any measurement.
//
// An adopted action (Adopted) is followed like an answered POST's. If it
// completes without the run's named snapshot — another snapshot made while
// it ran is listed, or ListingGrace passes — it was not the run's (the
// customer's own snapshot in the same seconds): the run drops it and
// requests again while its slot window is open, instead of losing the slot.
// While an earlier action still runs, the droplet is locked and a re-POST
// answers 422 "pending event" (resource_busy), retried later; after an
// uncertain request, that 422 is retried until the deadline rather than the
// window's end, since a big droplet's snapshot can outlast the window.
// godo's own retry is never used (see shared/docloud): every port call is
// exactly one HTTP request.
//
// # Asynchronous completion: follow-ups, and the sweep as backstop
//
// A droplet snapshot takes about a minute per GB. The run becomes
// in_progress with the action id, Unfinished = snapkeep.UnfinishedKey(RunID)
// and NextCheckAt, and the invocation ends. When Service.FollowUps is set
// (production: an SQS queue, shared/sqsqueue), every such write also
// queues a follow-up message delayed until NextCheckAt; the queue's event
// source mapping invokes the function with batches of them. A follow-up
// that comes early (SQS delays at most 15 minutes) is sent on with the
// rest of its delay (Outcome.Queued); one for a run no longer due is
// dropped (not_due). Each check takes the run's lease first, so two
// deliveries never check a run at once. The function's own schedule
// (template.yaml: Sweep, rate(5 minutes), {"sweep":true}) runs Sweep,
// which queries the sparse unfinished index (16 shard keys,
// snapkeep.UnfinishedKeys) for runs overdue by more than
// Config.BackstopLag and checks each (Config.SweepConcurrency at once, none
// started when less than Config.SweepMargin of the invocation is left): it
// catches what a lost message or a crashed invocation left behind.
// Without FollowUps the sweep is the only path (the behaviour of a stack
// without the queue: SweepLimit due runs a sweep). An item in the index
// that does not decode as a run is quarantined by the store (it leaves the
// index, its key and reason kept) and counted, never blocking the others.
// We chose queued follow-ups over one-time Scheduler schedules per run
// (no per-run schedules to create, clean up or leak) and over a sharded
// index alone (the queue spreads checks over as many invocations as the
// mapping allows); BENCHMARKS.md ("Scale") has the measurements.
//
// Checking an action: in progress → next check after half the time it has
// run, at least 1 minute and at most 10 (capped at the deadline), or, when
// the policy's previous snapshot took E (Run.ExpectedActionSeconds), first
// at ExpectedShare (80%) of E: about 7 checks for a 14-minute snapshot, 22
// for a 3-hour one without E, 2-3 with it; completed → record
// ActionSeconds, list the snapshots and find it by name; "completed but
// not yet listed"
// (ActionCompletedAt set, so the action is not fetched again) is checked
// every minute for Config.ListingGrace (15 min), then fails provider_error
// (or, for an adopted action, is dropped as above); errored → a new POST
// after the backoff while the slot window is open (an errored action made
// no snapshot), else the run fails action_errored. A run still unfinished
// at its Deadline (Config.Deadline, 6 h, after the slot, or after the claim
// when the delivery came late) ends timed_out.
//
// # Failures and retries: the run's state in fields
//
// The one retry rule is snapkeep.ClassInfo.Retried: provider_error,
// rate_limited, resource_busy, network and action_errored are retried;
// auth_revoked, resource_missing, quota_exceeded, invalid_policy,
// internal and timed_out end the run at once. The adapter decides the
// class (snapkeep.ClassOfStatus, the one status → class rule); the service
// never maps a status. Retried failures are tried again within the slot
// window (Config.SlotWindow, 30 min, after the slot or the late claim):
// GETs up to Config.GetAttempts times within an invocation with short
// waits; POSTs only in a later invocation, after 1, 2, 4, 8 minutes or
// DigitalOcean's retry-after when longer; checks of a started action until
// the deadline. While retrying, the run keeps its state in fields that the
// stream readers and support read: RetryClass (the latest retried
// failure's class), RequestUncertain and Requests, Adopted,
// ActionCompletedAt, and the latest failure's HTTP status, provider error
// id, message and request id (each bounded to snapkeep.MaxProviderText)
// and ErrorDetail. ErrorClass is set on terminal runs only (the failures
// index is sparse). Runs written before these fields existed kept them in
// ErrorDetail's text; they are read once on load (legacy.go).
//
// A step that ends without an answer from DigitalOcean — the token cannot
// be read (Secrets Manager failing, as opposed to a missing secret, which
// is auth_revoked; a stored token that is not of DigitalOcean's form is
// auth_revoked too, and never sent) — is recorded on the run (StepFailures,
// StepError) and moves NextCheckAt back off (1, 2, 4 ... minutes, up to
// Config.MaxStepBackoff), so a failing run never holds a place in every
// sweep and starves the others; the sweep's outcome counts such runs by
// reason. Past the slot window (no action yet) the run fails internal;
// past the deadline it ends timed_out. Such a step returns no error to
// Lambda: the run is safe and the sweep retries it.
//
// Before every request the service asks the client's PaceDelay: a short
// wait is slept, a long one (the token's budget nearly spent, or a burst
// 429's retry-after) defers the run to NextCheckAt and counts a delay of
// the account's own making (BudgetDelays, BudgetDelayedUntil); deferring
// is not a failure unless it outlasts the slot window.
//
// # The invocation's time
//
// No DigitalOcean call is started with less than Config.CallMargin (45 s,
// more than one HTTP attempt) of the invocation left, including listing
// pages and retention deletes; a call still in flight when a third of it
// is left is cut off. The run is then stored to be checked again in a
// minute. Every run write runs on a context detached from the invocation's
// deadline, bounded by Config.WriteTimeout, so the calls already made and
// the progress are recorded even when the invocation has run out.
//
// # Retention and the volume limit
//
// Only after success: all pages of the resource's snapshots are listed,
// and only names of this policy's form (exactly snapkeep-<policy_id>-<slot>)
// are considered, never DigitalOcean backups, the customer's snapshots or
// another policy's. A snapshot is deleted only when every non-zero rule
// allows it (not among the newest KeepLast, older than MaxAgeDays); the new
// snapshot is never deleted. For volumes, retention also keeps the volume
// under DigitalOcean's limit of 25 snapshots (VolumeSnapshotLimit). When a
// volume is at the limit anyway (the customer added snapshots) and
// DigitalOcean refuses the snapshot, the service deletes the policy's own
// oldest snapshots (never another's, always keeping its newest) until one
// more fits, records them in RetentionResult.MadeRoom and requests again;
// only when the customer's own snapshots fill the volume does the run fail
// quota_exceeded, saying so. A failed delete is recorded in
// RetentionResult.Failed and does not fail the backup; the next run deletes
// it naturally. A 404 on delete counts as deleted.
//
// # ApiCalls
//
// Each client reports every HTTP attempt to a Recorder; the run's recorder,
// found through the request's context (clients are cached per account and
// shared by runs), stamps RunID, PolicyID, ResourceKey, Region, AccountID
// and ExpiresAt (StartedAt + Config.APICallTTL, 90 days) and buffers the
// call. The buffer is written with the run's next write, in the same
// TransactWriteItems, numbered after Run.APICalls, so that Run.APICalls
// equals the number of rows. A step with more calls than one transaction
// holds (MaxCallsPerSave) flushes the oldest ahead with AppendCalls, whose
// seqs are reserved once, so a retried flush never duplicates a row. A
// successful droplet run makes at most 1 + (HTTP attempts) write requests
// (claim with the droplet lock; in_progress with the POST's row; the
// check's lease; succeeded with the rest). See BENCHMARKS.md.
//
// The token is read per run from TokenSource and held only inside the
// cached client; it never appears in a run, a call row, a log line or an
// error (docloud scrubs it and records Authorization as "REDACTED").
package snapshot
