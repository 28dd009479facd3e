// Package snapshot is snapkeep's core job: it runs one policy slot from
// claim to retention, takes exactly one DigitalOcean snapshot for it, follows
// it to a terminal state and leaves a complete record: the run's outcome in
// Runs and every HTTP attempt to DigitalOcean in ApiCalls.
//
// The package imports no AWS SDK. It declares the small interfaces it needs
// (RunStore, PolicySource, TokenSource, DigitalOcean) and functions/snapshot
// wires the adapters (dynamo.RunStore, dynamo.PolicyStore, secrets.Store,
// docloud.Client) into a Service.
//
// # Inputs
//
// Service.Invoke takes the function's raw input (see Request): the
// scheduled form {"policy_id","scheduled_time"}, the on-demand form
// {"policy_id"} (the slot is now), the follow-up form
// {"policy_id","scheduled_time","follow_up":true} and the sweep
// {"sweep":true}. Unknown fields are rejected. A rejected input is logged
// and, when a run key can still be formed from it, recorded as a failed run
// (class internal, the detail says what was wrong); Invoke then returns no
// error, so Lambda's asynchronous retries do not replay garbage.
//
// # Exactly one snapshot per slot
//
// The run key is the policy id and the slot (snapkeep.RunKey), never the
// Scheduler execution id, which changes per delivery. The first delivery
// claims the slot with a conditional put (attribute_not_exists): the claim
// carries a lease (LeaseUntil, Config.Lease = 6 min, longer than the
// function's 300 s timeout, so a live attempt never loses it) and
// NextCheckAt = the lease's end, so a crashed claim surfaces in the sweep.
// A delivery that finds the slot claimed does nothing when the run is
// terminal, when its lease is live, or when its next check is not due; it
// resumes the run when the lease lapsed (the attempt crashed).
//
// Every later write of a run is a whole-item put conditioned on the
// updated_at and api_calls the writer read (optimistic concurrency;
// updated_at strictly increases with each write, so it is the version).
// Read-only steps (following an action, listing) run without a lease: if
// two attempts race, one write wins and the loser stops, appending its
// ApiCalls rows (RunStore.AppendCalls) so that no call is lost. Only the
// snapshot POST needs the lease: before a re-POST, the attempt takes the
// lease over with such a conditional write, so of concurrent attempts only
// one asks DigitalOcean.
//
// # Never a blind re-POST
//
// A POST that fails with a 5xx, a timeout, a reset or a malformed body may
// still have made the action (DigitalOcean does this), and a crash between
// a POST and its record leaves no trace in the run. The snapshot's name is
// deterministic (SnapshotName: snapkeep-<policy_id>-<slot as
// 20060102T150405Z>), so before any re-POST — whenever the run has
// attempts, or was taken over from a crashed attempt — the service lists
// the resource's snapshots and looks for the name. Found: the run
// succeeds with it.
//
// Not found, and the earlier request's outcome is unknown (a 5xx, timeout,
// reset or malformed answer, or a crashed attempt; the unfinished run's
// ErrorDetail ends with a note saying so), a droplet's action may still be
// running, or have completed with its snapshot not listed yet: the service
// lists the droplet's actions (GET /v2/droplets/{id}/actions, newest
// first; at most a few pages, stopping at the first action older than the
// bound) and adopts the newest "snapshot" action that started at or after
// the run's ClaimedAt less AdoptSkew (2 minutes). The claim is stored
// before the run's first snapshot request, so that request's action
// starts after it; the skew allows for DigitalOcean's clock being behind
// the function's. Actions carry no snapshot name, so that time is the
// only tie to the run. The adopted action's id is recorded and followed
// like an answered POST's: in progress, checked again later; completed,
// its snapshot is looked for by name (for up to ListingGrace); errored,
// the errored rules below (request again after the backoff within the
// window, else action_errored). Only when neither the snapshot nor such
// an action exists is the snapshot requested again.
//
// Known limits of the adoption: a snapshot action the customer started on
// the droplet after the run's claim would be adopted too (its snapshot
// does not have the run's name, so the run fails provider_error after
// ListingGrace); and an errored action of the run's own, found again after
// a later unconfirmed request, is followed once more (one more backoff
// before the next request). Both need the same minutes' coincidence.
//
// The name look-up and the 422 stay as the backstop (an action not listed
// yet, or listed outside the pages read): while an earlier action still
// runs, the droplet is locked, the re-POST answers 422 "pending event"
// (resource_busy), which is retried later, and a later look-up finds the
// snapshot once the action completes. Such an action can outlast the slot
// window (about a minute per GB), so a run whose earlier request's outcome
// is unknown retries a "pending event" until the deadline instead of the
// window's end, looking for the snapshot by name (and the action) before
// each re-POST; other failures keep the window. godo's own retry is never
// used (see shared/docloud): every docloud call is exactly one HTTP
// request.
//
// # Asynchronous completion: the one-minute sweep
//
// A droplet snapshot takes about a minute per GB. The run becomes
// in_progress with the action id, Unfinished = snapkeep.UnfinishedShard and
// NextCheckAt, and the invocation ends. The function's own schedule
// (template.yaml: Sweep, rate(1 minute), {"sweep":true}) runs Sweep, which
// queries the sparse unfinished index for next_check_at <= now and checks
// each due run (Config.SweepConcurrency at once, none started when less
// than Config.SweepMargin of the invocation is left). We chose a sweep over
// one-time Scheduler schedules per run because:
//
//   - no Lambda is held open for minutes (cost, and the 15-minute limit);
//   - there are no per-run schedules to create, clean up or leak (a
//     crashed run would leak its schedule; the sweep cannot leak);
//   - the same mechanism also catches crashed claims (their NextCheckAt is
//     their lease's end) and runs retries within the slot window, so one
//     code path resumes every unfinished run;
//   - its cost is one Query a minute when nothing is due.
//
// Checking an action: in progress → next check after 1 minute, growing
// with the elapsed time to 5 minutes (capped at the deadline); completed →
// list the snapshots and find it by name; "completed but not yet listed" is
// checked again every minute for Config.ListingGrace (15 min; the run's
// ErrorDetail notes the completion, so the action is not fetched again),
// then fails provider_error; errored → a new POST after the backoff while
// the slot window is open (an errored action made no snapshot, and
// action_errored is transient), else the run fails action_errored. A run
// still unfinished at its Deadline (Config.Deadline, 6 h, after the slot,
// or after the claim when the delivery came late) ends timed_out.
//
// # Failures and retries
//
// Transient classes (provider_error, rate_limited, resource_busy, network,
// action_errored) are retried within the slot window (Config.SlotWindow,
// 30 min, after the slot, or after the claim when the delivery came late,
// as with a flexible time window): GETs up to Config.GetAttempts times
// within an invocation with short waits; POSTs only in a later invocation, after 1, 2,
// 4, 8 minutes or DigitalOcean's retry-after / ratelimit-reset when longer
// (docloud.Error.RetryAfter); checks of a started action are retried until
// the deadline instead (and so is a "pending event" after a request whose
// outcome is unknown, see above). While retrying, the run keeps the latest
// failure's HTTP status, provider error id/message/request id and detail
// (but no error_class, which is for terminal runs only: the failures index
// is sparse). Permanent classes (auth_revoked, resource_missing,
// quota_exceeded, invalid_policy, internal) fail the run at once. A token
// that cannot be read (Secrets Manager failing, as opposed to a missing
// secret, which is auth_revoked) makes the invocation return an error, so
// Lambda and the sweep try again, until the slot window ends (the run fails
// internal) or, once the action was started, the deadline (timed_out). Before
// every request the service asks the client's PaceDelay: a short wait is
// slept, a long one (the token's hourly budget nearly spent) defers the run
// to NextCheckAt, so the budget is never spent to zero and no 429 is
// earned; deferring is not a failure unless it outlasts the slot window.
//
// # Retention
//
// Only after success: all pages of the resource's snapshots are listed,
// and only names of this policy's form (exactly snapkeep-<policy_id>-<slot>)
// are considered, never DigitalOcean backups, the customer's snapshots or
// another policy's. A snapshot is deleted only when every non-zero rule
// allows it (not among the newest KeepLast, older than MaxAgeDays); the new
// snapshot is never deleted. For volumes, retention also keeps the volume
// under DigitalOcean's limit of 25 snapshots (VolumeSnapshotLimit),
// deleting the oldest of the policy's own so that the next run fits; when
// the customer's own snapshots alone fill it, the next POST fails
// quota_exceeded. A failed delete is recorded in RetentionResult.Failed and
// does not fail the backup; the next run deletes it naturally. A 404 on
// delete counts as deleted.
//
// # ApiCalls
//
// Each client reports every HTTP attempt to a recorder (docloud.Recorder);
// the run's recorder, found through the request's context (clients are
// cached per account and shared by runs), stamps RunID, PolicyID,
// ResourceKey, Region and ExpiresAt (StartedAt + Config.APICallTTL, 90 days)
// and buffers the call. The buffer is written with the run's next write, in
// the same TransactWriteItems, numbered after Run.APICalls, so that
// Run.APICalls always equals the number of rows and a successful droplet
// run makes at most 1 + (HTTP attempts) write requests (claim; in_progress
// with the POST's row; succeeded with the rest). See BENCHMARKS.md.
//
// The token is read per run from TokenSource and held only inside the
// cached client; it never appears in a run, a call row, a log line or an
// error (docloud scrubs it and records Authorization as "REDACTED").
package snapshot
