// Package email is the SES v2 adapter for snapkeep's mail: a MIME builder
// (pure, no AWS) and a Sender over SES v2 SendEmail with raw content.
//
// # Building
//
// Builder.Build writes a Message as RFC 5322 / MIME text: a text/plain
// part, or multipart/alternative with text/plain first and text/html last
// (RFC 2046: the last is the preferred), wrapped in multipart/mixed when the
// message has attachments (a CSV report). Bodies are UTF-8 in
// quoted-printable, attachments base64; non-ASCII subjects, display names
// and X- header values are RFC 2047 encoded-words; long headers are folded,
// so no line exceeds 998 bytes. It writes From, Reply-To, To, Subject, Date,
// Message-ID (SES replaces Date and Message-ID), List-Id (RFC 2919),
// List-Unsubscribe with List-Unsubscribe-Post: List-Unsubscribe=One-Click
// (RFC 8058) and any X- headers.
//
// Every header value, whoever supplied it (a customer's policy name, a
// provider's error text), goes through CleanHeader first: control
// characters (CR and LF above all: CWE-93 header injection) and bidi
// overrides removed, white space collapsed, length capped. Addresses are
// parsed with net/mail and must be ASCII, as SES requires.
//
// # Sending
//
// Sender.Send fills in the stream's sender, Reply-To and List-Id (mail is
// sent on one of two streams, Transactional or Broadcast, each with its own
// sender, configuration set and List-Id), checks the SES account's
// suppression list (GetSuppressedDestination), and calls SendEmail with
// Content.Raw: Simple content would drop the headers (and moto, in the
// tests, keeps raw messages verbatim). Throttling (TooManyRequests,
// LimitExceeded, Throttling, HTTP 429) and server errors are retried with
// exponential backoff and jitter, a bounded number of times, on an injected
// Sleep; the SDK's own retryer is switched off for the call, so every
// attempt is one of ours. Permanent failures are a *Rejected with a Scope
// saying whether the recipient, the message or the whole sender is at
// fault; Permanent(err) tells callers not to retry.
//
// The suppression check never stops a send by failing: if the list cannot
// be read (no IAM grant, or moto, which does not implement the API and
// answers 404), Send goes ahead and says so in Sent.SuppressionUnchecked.
package email
