// Package notify tells customers about their finished backup runs: the
// failure messages, the recoveries, the daily digests and, during a
// DigitalOcean incident, one incident notice and one resolved notice per
// customer. The words are shared/notice's; this package decides what to
// send, to whom, on which channel (email, Slack), and makes sure each
// message goes out once. It imports no AWS SDK: the stores, the mailer and
// the Slack poster are ports (ports.go), implemented by shared/dynamo and
// by functions/notify's adapters over shared/email and shared/slack.
//
// # Which records arrive
//
// functions/notify follows the Runs table's stream. The event source
// mapping's filter (template.yaml) passes only the write that made a run
// failed or timed_out, and the one that made it succeeded when the
// policy's previous run had failed (prev_status, set at claim), and never
// a record whose new image carries notices: the function's own writes do
// not come back to it. Batch checks the same again (Change.Finished,
// SubjectOf), so a record the filter let through by mistake costs a log
// line, never a message.
//
// # Exactly once per run and channel
//
// Before a message is sent, its notice is claimed on the run with a
// conditional UpdateItem: notices.<channel> = {kind, at} only if the run
// has no notice on that channel (the store creates the notices map when
// the run has none, since DynamoDB cannot set a path in a missing map).
// Then the message is sent, then the message id is recorded, on the
// condition that the claim is still the one made. A delivery that finds
// the notice settled (an id, an error, or a decision such as held) sends
// nothing, so duplicate and replayed records are harmless.
//
// A delivery that crashed between claim and record leaves a claim without
// an id. A later delivery takes it over once it is older than
// Config.ClaimTimeout (150 s, more than the function's 120 s timeout, so
// that the claim cannot belong to an invocation still sending),
// conditional on the claim's at; a retry that comes sooner waits for that
// moment if the invocation has the time, else fails the record to be
// retried. This is the at-least-once edge: if the crash came after the
// provider accepted the message, the customer gets it twice. A send that
// fails for a while (throttling beyond shared/email's and shared/slack's
// own backoff, a network failure) releases its claim and fails the record,
// so that Lambda delivers it again and the retry claims afresh; a lost
// answer to a send that did go out is the same edge.
//
// Permanent rejections are recorded on the notice (Notice.Error) and never
// retried: a suppressed or invalid address and a Slack webhook answering
// 403, 404 or 410 also block the channel on the customer (EmailBlocked,
// SlackBlocked; nothing more is sent there until support clears it); a
// rejected message (SES MessageRejected, Slack invalid_payload) only the
// notice. A rejection of the sender (the SES sandbox, an unverified
// identity, a paused account) is the deployment's fault: it is logged as
// an error, the claim released, and the record fails, to be retried and
// in the end dead-lettered; the customer is not blamed.
//
// # What each customer hears (Decide)
//
// every_failure (the default): every failure, and a recovery when a
// policy succeeds after failures. first_failure: a failure only when the
// policy's previous finished run succeeded or there was none, then the
// recovery. daily_digest: each failure joins the customer's next digest
// (its notice says digest, with the digest's mailing id). none: every run
// is recorded as skipped. An open provider incident that covers the
// failure (snapkeep.Incident.Covers; the open incidents are read once per
// batch) changes the failure's wording.
//
// Hold mode (Config.Hold): for every_failure and first_failure
// customers, a failure an open incident covers is recorded held, with no
// message of its own; it joins the mailing "incident#<incident id>" of
// its customer (Mailings table, one item per mailing and customer), and
// after the batch's records the customer's one incident notice is sent,
// claimed per channel on that item like a run's notice, listing the
// failures held so far. A recovery right after a held failure is
// skipped: the resolved notice tells it.
//
// # The periodic trigger (Tick)
//
// A schedule invokes the function every 10 minutes with {"tick": true}.
// Each tick reads the Mailings table's sparse pending index (pending,
// due_at; never a scan):
//
//   - digests: the digest of day D is due at D DigestHour:00 UTC (08:00 by
//     default) and lists the failures that finished in the 24 hours
//     before; a failure is in the first digest due after it finished, or
//     the next one if that was sent before the failure got there. The first
//     tick after 08:00 sends it, one per customer, and takes it out of the
//     index.
//   - resolved notices: each held failure's mailing waits in the index
//     until its incident is resolved and each affected policy's first run
//     after its last held failure has finished (or ResolvedWait, 24 h,
//     has passed since the resolution); then the one resolved notice
//     says, per policy, whether that run succeeded.
//
// # Bad input
//
// An unreadable record, a run of an unknown customer, a customer without
// an email address, a message that cannot be written: logged as an
// error, recorded on the run's email notice (Notice.Error, "not sent:
// ..."), never failed (retrying cannot mend it); the batch goes on. An
// unknown error class is told in internal wording and sent; the notice's
// Error keeps the warning. A Slack webhook URL is never logged.
package notify
