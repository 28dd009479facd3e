// Package docloud is snapkeep's DigitalOcean adapter: a thin wrapper around
// github.com/digitalocean/godo that converts DigitalOcean's answers into
// the domain's provider-neutral types (snapkeep.Action, snapkeep.Snapshot,
// Account), with a transport of our own that guards the token, bounds what
// DigitalOcean sends, parses its error bodies, tracks the rate-limit
// headers and its clock, and has every HTTP attempt recorded as one
// snapkeep.APICall (headers only, Authorization redacted, bodies never
// kept), classified by the one status-to-class rule.
//
// Design decisions, each guarding against a known trap:
//
//   - No godo retry. godo.WithRetryAndBackoffs swaps our *http.Client for a
//     go-retryablehttp one (the logging transport silently disappears), it
//     retries POSTs after a 5xx (a retried snapshot POST can take a second
//     snapshot), and godo.New(http.DefaultClient, godo.WithRetryAndBackoffs(...))
//     panics. So the godo client is built with our own *http.Client and no
//     retry option; every Client method makes at most one HTTP request.
//     Retrying is the caller's job (the snapshot service), which knows
//     whether a POST is safe to repeat.
//   - The token never leaves for another host. The http.Client follows no
//     redirect (CheckRedirect returns http.ErrUseLastResponse: net/http
//     would strip Authorization on a cross-host redirect, but our
//     transport sets it on every request, so it would put it back), and a
//     3xx is a provider_error whose row keeps its Location header. The
//     transport refuses, without sending anything, any request whose
//     scheme and host are not the base URL's (class internal), and each
//     row records the host it went to (APICall.Host).
//   - A token that fails snapkeep.CheckToken (a trailing newline, a space,
//     the wrong form) is never sent: New keeps it, every method fails at
//     once with auth_revoked and "the stored DigitalOcean token is
//     malformed: <what is wrong>" (never the token), and no row is made.
//   - The token is set only in the Authorization header, by our transport;
//     recorded headers carry snapkeep.Redacted instead, and every text the
//     transport records or returns is scrubbed of the token before it is
//     bounded (so a cut never keeps part of it).
//   - Everything DigitalOcean controls is bounded: the error id, message
//     and request id on the *Error and on the row, and a transport error's
//     text, to snapkeep.MaxProviderText (snapkeep.Bound, with a note of
//     what was cut); the row's headers by snapkeep.BoundHeaders (each value
//     1 KB, all of a row's 8 KB). The transport hands godo an error body
//     rebuilt from the bounded fields (or a non-JSON page cut to 1 KB), so
//     no error godo builds holds more either.
//   - DigitalOcean's error id ("server_error", "too_many_requests",
//     "unprocessable_entity", "not_found", "unauthorized", "forbidden",
//     "bad_request", ...) is in the JSON body {"id","message","request_id"},
//     which godo's ErrorResponse does not keep. The transport parses it,
//     so both the row and Classify see the id. Bodies are never stored.
//   - One row per HTTP attempt, finalized by the Client method. The
//     transport reads each response body whole before godo sees it (at
//     most 16 MiB, in memory only), so a body cut short is a network error
//     and a decode error afterwards can only be a malformed body; it holds
//     the attempt in a per-call holder in the request's context, and the
//     method records it once it knows the outcome, before it returns. So
//     the row's Class is the error's class by the same rule: a 2xx whose
//     body the client could not use (malformed JSON, a bad time, an action
//     id below 1, a missing object) is a provider_error row, counted as
//     failed (FailureHour set), with the reason in ErrorMessage. A context
//     cancelled mid-request still leaves its one row (network). HTTP
//     status to class lives in snapkeep.ClassOfStatus alone; Classify documents the
//     table.
//   - Rate limits: DigitalOcean reports the hourly budget on every answer;
//     a burst 429 (the minute's 250 spent) says ratelimit-remaining 0, a
//     ratelimit-reset up to an hour ahead and retry-after. PaceDelay waits
//     for retry-after after a burst, and keeps the hourly reserve to what
//     the answers that were not burst 429s said, so a burst never makes a
//     run wait an hour.
//   - Clock skew: each answer's date header measures DigitalOcean's clock
//     against ours (WithClock); ClockSkew is the median of the latest
//     five, each within half its round trip plus half a second. The
//     service uses it to compare an action's started_at with its own
//     times.
//   - godo has constants for "in-progress" and "completed" only; actions
//     can also end "errored" (snapkeep.ActionErrored).
//
// Typical use by the snapshot service, which owns retries and pacing:
//
//	c := docloud.New(token, docloud.WithRecorder(rec), docloud.WithClock(now))
//	if d := c.PaceDelay(now()); d > 0 { /* wait or defer the run */ }
//	ctx = docloud.WithOperation(ctx, snapkeep.OpSnapshotDroplet, attempt)
//	action, err := c.SnapshotDroplet(ctx, dropletID, name)
//	if e := docloud.Classify(err); e != nil && e.Retried() { /* retry later */ }
//	skew, known := c.ClockSkew() // DigitalOcean's clock minus ours
//
// snapctl checks a token with CheckAccount (GET /v2/account).
package docloud
