// Package notice writes every message snapkeep sends its customers, in
// plain words: one failed backup (Failure, for each error class), the
// one notice per customer while a DigitalOcean incident is open
// (IncidentNotice) and the one when it is over (Resolved), a policy
// working again (Recovery), the daily summary (Digest) and the message to
// everyone a DigitalOcean problem affected (Broadcast); and, for snapctl,
// a sentence or two on one run (Explain).
//
// It is pure: no AWS SDK, no godo, no clock (Now is an input), no I/O. A
// Renderer, made once per process from the deployment's Links, turns an
// input into a Message — Subject, Preheader, Text, HTML and a Slack
// Block Kit message — which the email and Slack adapters send as is.
//
// # Where the words are
//
// All wording is in templates/words/*.tmpl, embedded: named phrases of
// plain prose that the text body (text/template), the HTML body
// (html/template, which escapes every value) and the Slack message
// (text/template, then mrkdwn-escaped) are all rendered from, so the
// three always say the same. The Go code decides which phrases go where
// (a document of blocks: heading, paragraphs, facts, items, links); the
// layouts (templates/layout.*.tmpl, and slack.go for Block Kit's JSON)
// only arrange them. Whether a class affects the server, needs the
// customer to act or is retried comes from snapkeep.ClassInfo, never from
// a template; the templates hold only how to say it.
//
// # Rules every message keeps
//
//   - The subject leads with the status and the object ("Backup failed:
//     web-1 (droplet 3164444) at 03:00 Europe/Berlin — your server is
//     fine") and says whether the server is fine. DigitalOcean's own
//     message ("Server Error") is never a subject or a headline: it is
//     quoted in the body and explained.
//   - Each failure says which backup (policy, droplet or volume id and
//     name, the slot in the policy's time zone and UTC), what happened,
//     whether the server is affected, what the customer must do, whether
//     snapkeep retries, the next scheduled backup (shared/schedule, as
//     EventBridge Scheduler fires it, daylight-saving changes included;
//     none for a paused, deleted or invalid policy), DigitalOcean's
//     request id and a link to the policy.
//   - Customer- and provider-controlled text is made safe (HeaderSafe: no
//     control characters, line breaks or bidirectional overrides) and cut
//     (names to 120 characters in bodies, 40 in subjects; subjects to
//     MaxSubject), escaped in HTML and Slack, and isolated with
//     dir="auto" in HTML so right-to-left names read right.
//   - HTML sets lang, keeps WCAG AA contrast (palette in colors.go,
//     checked by a test), never lets colour alone carry meaning, and has a
//     visible preferences and unsubscribe link in its footer.
//   - Slack messages keep Block Kit's limits (SlackMessage.Check): a
//     header of at most 150 bytes, sections of at most 3,000 (long
//     blocks are split, a too-long paragraph cut), at most 50 blocks (the
//     last then says where the rest is), and always a top-level text.
//   - Lists (incident, resolved, digest, broadcast) group failures by
//     policy, list at most MaxListedPolicies and count the rest.
//   - No token and no webhook URL ever enters a message: the package is
//     never given one.
//
// # Errors and warnings
//
// A function returns an error only when its input cannot make a message
// (no run, a run of the wrong status, no customer, an empty list, a
// broadcast that would wrongly say servers were never affected). Input
// that can be told in other words — an unknown error class (told as
// internal), a time zone that does not load (UTC), a schedule that does
// not parse (no next time), an incident that is not DigitalOcean's or
// not about the run's class (left out) — gives a complete Message whose
// Warnings say what happened; callers log them and send the message.
//
// Golden files in testdata/ show every message; `go test ./shared/notice
// -update` rewrites them, and the test fails on any difference.
package notice
