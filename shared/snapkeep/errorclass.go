package snapkeep

import "strings"

// ErrorClass is the category of a failed run, as customers and ops see it.
// Every failed or timed-out run carries exactly one.
type ErrorClass string

// Error classes, from the design's table.
const (
	ClassProviderError   ErrorClass = "provider_error"
	ClassRateLimited     ErrorClass = "rate_limited"
	ClassResourceBusy    ErrorClass = "resource_busy"
	ClassAuthRevoked     ErrorClass = "auth_revoked"
	ClassResourceMissing ErrorClass = "resource_missing"
	ClassQuotaExceeded   ErrorClass = "quota_exceeded"
	ClassActionErrored   ErrorClass = "action_errored"
	ClassTimedOut        ErrorClass = "timed_out"
	ClassNetwork         ErrorClass = "network"
	ClassInvalidPolicy   ErrorClass = "invalid_policy"
	ClassInternal        ErrorClass = "internal"
)

// ClassInfo describes an error class in the words customers and ops read,
// and holds the one rule of which classes the run path retries.
type ClassInfo struct {
	// Class is the class described.
	Class ErrorClass
	// Cause is the typical cause, in plain words.
	Cause string
	// ServerAffected is true only when the customer's server itself is
	// affected (resource_missing: it is gone).
	ServerAffected bool
	// CustomerAction is what the customer should do, or "" for nothing.
	CustomerAction string
	// Retried is the one retry rule: true when the run path tries again by
	// itself, within the slot window (or, once a snapshot was started, the
	// deadline), because a later try can succeed without anyone acting.
	// timed_out (the deadline has passed) and internal (a fault of ours
	// that retrying does not mend) are not retried: the run ends.
	Retried bool
	// ProviderSide is true when the failure counts against DigitalOcean's
	// error rate (the errorrate detector watches these).
	ProviderSide bool
}

var classes = map[ErrorClass]ClassInfo{
	ClassProviderError: {Class: ClassProviderError, Cause: "DigitalOcean's API answered with a server error",
		Retried: true, ProviderSide: true},
	ClassRateLimited: {Class: ClassRateLimited, Cause: "the DigitalOcean API token's request budget (5,000 an hour, 250 a minute) was spent",
		Retried: true},
	ClassResourceBusy: {Class: ClassResourceBusy, Cause: "the droplet already had another action in progress",
		Retried: true},
	ClassAuthRevoked: {Class: ClassAuthRevoked, Cause: "the DigitalOcean API token was revoked, is malformed or lacks the scopes snapkeep needs",
		CustomerAction: "reconnect your DigitalOcean account in snapkeep"},
	ClassResourceMissing: {Class: ClassResourceMissing, Cause: "the droplet or volume no longer exists at DigitalOcean",
		ServerAffected: true, CustomerAction: "update the backup policy to the new resource, or delete it"},
	ClassQuotaExceeded: {Class: ClassQuotaExceeded, Cause: "a DigitalOcean snapshot limit was reached",
		CustomerAction: "raise the limit with DigitalOcean or keep fewer snapshots"},
	ClassActionErrored: {Class: ClassActionErrored, Cause: "DigitalOcean started the snapshot but reported it as errored",
		Retried: true, ProviderSide: true},
	ClassTimedOut: {Class: ClassTimedOut, Cause: "the snapshot did not finish before the deadline",
		ProviderSide: true},
	ClassNetwork: {Class: ClassNetwork, Cause: "snapkeep could not reach DigitalOcean's API (timeout, reset or DNS)",
		Retried: true, ProviderSide: true},
	ClassInvalidPolicy: {Class: ClassInvalidPolicy, Cause: "the backup policy is no longer valid",
		CustomerAction: "fix the backup policy"},
	ClassInternal: {Class: ClassInternal, Cause: "a fault inside snapkeep"},
}

// Info returns the description of c; an unknown class is described as internal.
func (c ErrorClass) Info() ClassInfo {
	if info, ok := classes[c]; ok {
		return info
	}
	info := classes[ClassInternal]
	info.Class = c
	return info
}

// Valid reports whether c is one of the known classes.
func (c ErrorClass) Valid() bool {
	_, ok := classes[c]
	return ok
}

// ErrorClasses returns every known class, in the design's order.
func ErrorClasses() []ErrorClass {
	return []ErrorClass{
		ClassProviderError, ClassRateLimited, ClassResourceBusy, ClassAuthRevoked,
		ClassResourceMissing, ClassQuotaExceeded, ClassActionErrored, ClassTimedOut,
		ClassNetwork, ClassInvalidPolicy, ClassInternal,
	}
}

// ClassOfStatus is the one rule from an HTTP status of DigitalOcean's API
// (and, for a 422, its message) to an error class; "" for a 2xx. The
// adapter (shared/docloud) applies it to every answer and ApiCalls row;
// nothing else maps statuses.
//
//   - 5xx, and a 3xx (a redirect, never followed) → provider_error
//   - 429 → rate_limited
//   - 422 saying a pending event or an action already in progress →
//     resource_busy; mentioning a limit or quota → quota_exceeded; any
//     other 422 → invalid_policy
//   - 401, 403 → auth_revoked; 404 → resource_missing
//   - any other 4xx → internal (snapkeep sent a request DigitalOcean rejects)
func ClassOfStatus(code int, message string) ErrorClass {
	switch {
	case code >= 200 && code < 300:
		return ""
	case code >= 300 && code < 400, code >= 500:
		return ClassProviderError
	case code == 429:
		return ClassRateLimited
	case code == 422:
		return classOf422(message)
	case code == 401 || code == 403:
		return ClassAuthRevoked
	case code == 404:
		return ClassResourceMissing
	}
	return ClassInternal
}

// classOf422 tells a busy resource and a snapshot limit from other
// rejections by DigitalOcean's message, e.g. "Droplet already has a pending
// event." and "... snapshot limit ..." (the wording dotest uses too).
func classOf422(msg string) ErrorClass {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "pending event"), strings.Contains(m, "already has an action"),
		strings.Contains(m, "action in progress"), strings.Contains(m, "already in progress"):
		return ClassResourceBusy
	case strings.Contains(m, "limit"), strings.Contains(m, "quota"):
		return ClassQuotaExceeded
	}
	return ClassInvalidPolicy
}
