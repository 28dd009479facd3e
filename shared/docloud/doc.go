// Package docloud is snapkeep's DigitalOcean adapter: a thin wrapper around
// github.com/digitalocean/godo with a transport of our own that logs every
// HTTP attempt (headers only, Authorization redacted, bodies never kept),
// parses DigitalOcean's error bodies, tracks the rate-limit headers, and a
// classifier that maps failures to snapkeep's error classes.
//
// Design decisions, each guarding against a known trap:
//
//   - No godo retry. godo.WithRetryAndBackoffs swaps our *http.Client for a
//     go-retryablehttp one (the logging transport silently disappears), it
//     retries POSTs after a 5xx (a retried snapshot POST can take a second
//     snapshot), and godo.New(http.DefaultClient, godo.WithRetryAndBackoffs(...))
//     panics. So the godo client is built with
//     godo.New(&http.Client{Transport: ours, Timeout: ...}, godo.SetBaseURL(...),
//     godo.SetUserAgent(...)) and no retry option; every Client method makes
//     exactly one HTTP request. Retrying is the caller's job (the snapshot
//     service), which knows whether a POST is safe to repeat.
//   - DigitalOcean's error id ("server_error", "too_many_requests",
//     "unprocessable_entity", "not_found", "unauthorized", "forbidden", ...)
//     is in the JSON body {"id","message","request_id"}, which godo's
//     ErrorResponse does not keep. The transport reads the body of every
//     non-2xx response, parses it and hands godo an equivalent body, so both
//     the recorder and Classify see the id. Bodies are never stored.
//   - godo has constants for "in-progress" and "completed" only; actions can
//     also end "errored", hence StatusErrored.
//   - The transport reads each response body whole before godo sees it (at
//     most 16 MiB, in memory only), so a body cut short is a network error
//     and a decode error afterwards can only be malformed JSON
//     (provider_error), never a reset misread as a provider fault.
//   - The token is set only in the Authorization header, by our transport;
//     recorded headers carry snapkeep.Redacted instead, and every error text
//     the transport produces is scrubbed of the token.
//
// Typical use by the snapshot service, which owns retries and pacing:
//
//	c := docloud.New(token, docloud.WithRecorder(rec), docloud.WithClock(now))
//	if d := c.PaceDelay(now()); d > 0 { /* wait or defer the run */ }
//	ctx = docloud.WithOperation(ctx, snapkeep.OpSnapshotDroplet, attempt)
//	action, err := c.SnapshotDroplet(ctx, dropletID, name)
//	if e := docloud.Classify(err); e != nil && e.Retried() { /* retry later */ }
package docloud
