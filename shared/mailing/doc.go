// Package mailing sends one message to every customer a DigitalOcean
// problem affected ("email everyone affected", snapctl broadcast), once
// each, resumably. It is pure: the stores, SES and the clock are ports
// (ports.go), so the logic is tested in memory and the command wires
// shared/dynamo and shared/email into it.
//
// A broadcast is about a Target: a provider incident (the runs it
// explains, by the domain's Incident.Explains rule, between its change point
// and its resolution), or one provider-side error class in a time range.
// Service.Plan reads, and writes nothing:
//
//   - the failed runs of each class (one Query each of the Runs table's
//     failures-by-class index), each run once, grouped by customer, so a
//     customer with ten failed runs gets one message listing them;
//   - each affected customer (one GetItem each), with the reason to skip
//     them: unknown, opted out (notification mode none), email blocked
//     (a suppressed address or rejected message recorded by the notify
//     function), no address, or no preferences token (broadcast mail must
//     carry RFC 8058 one-click unsubscribe);
//   - what earlier runs of the same broadcast left in the sent log (one
//     Query of the broadcast's partition of the Mailings table);
//   - the problem the message tells of: the incident's figures, or for a
//     class range the error rate of all calls in the window (Stats) and
//     whether an incident of the class is still open.
//
// Service.Send then goes through the recipients in customer-id order, one
// at a time, paced (Pacer: evenly spaced, never above the rate), and for
// each: render, claim, send, record. The claim is a conditional write of
// the customer's entry in the Mailings table (key: the broadcast's
// MailingID + customer id) made before SES is called; the record replaces
// it with SES's message id after. So:
//
//   - a second run of the same broadcast (the same MailingID: derived from
//     the incident id, or from the class and the range's whole UTC hours)
//     skips everyone sent, and sends the rest: an interrupted broadcast is
//     resumed by running the same command again;
//   - two runs at once never both send to a customer (the second finds a
//     fresh claim and skips it as claimed_by_another_run);
//   - a message SES took is recorded even when the run is interrupted
//     right after (the record outlives the run's context);
//   - a claim without a record older than DefaultStaleClaim (5 minutes)
//     is taken over and the message sent: the run that claimed it died
//     between claim and record, inside the SES call. That customer may get
//     the message twice, if the dead run's SES call had gone through: the
//     only case of a duplicate, and at most one;
//   - a permanent rejection is recorded and not retried: a suppressed or
//     invalid address also blocks the customer's email (as the notify
//     function does); a refused sender (unverified identity, sandbox)
//     stops the whole broadcast, releasing the claim;
//   - a send that fails for now (SES throttling or errors past the
//     sender's retries) releases its claim and is counted failed; a rerun
//     sends it. DefaultMaxFailures such failures in a row stop the
//     broadcast.
//
// Entries expire by TTL (DefaultTTL, 60 days); rerunning a broadcast
// after that sends it again.
package mailing
