package snapkeep

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

// ClassInfo describes an error class in the words customers and ops read.
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
	// Transient is true when retrying later can succeed without anyone acting.
	Transient bool
	// ProviderSide is true when the failure counts against DigitalOcean's
	// error rate (the errorrate detector watches these).
	ProviderSide bool
}

var classes = map[ErrorClass]ClassInfo{
	ClassProviderError:   {ClassProviderError, "DigitalOcean's API answered with a server error", false, "", true, true},
	ClassRateLimited:     {ClassRateLimited, "the DigitalOcean API token's request budget (5,000 an hour, 250 a minute) was spent", false, "", true, false},
	ClassResourceBusy:    {ClassResourceBusy, "the droplet already had another action in progress", false, "", true, false},
	ClassAuthRevoked:     {ClassAuthRevoked, "the DigitalOcean API token was revoked or lacks the scopes snapkeep needs", false, "reconnect your DigitalOcean account in snapkeep", false, false},
	ClassResourceMissing: {ClassResourceMissing, "the droplet or volume no longer exists at DigitalOcean", true, "update the backup policy to the new resource, or delete it", false, false},
	ClassQuotaExceeded:   {ClassQuotaExceeded, "a DigitalOcean snapshot limit was reached", false, "raise the limit with DigitalOcean or keep fewer snapshots", false, false},
	ClassActionErrored:   {ClassActionErrored, "DigitalOcean started the snapshot but reported it as errored", false, "", true, true},
	ClassTimedOut:        {ClassTimedOut, "the snapshot did not finish before the deadline", false, "", true, true},
	ClassNetwork:         {ClassNetwork, "snapkeep could not reach DigitalOcean's API (timeout, reset or DNS)", false, "", true, true},
	ClassInvalidPolicy:   {ClassInvalidPolicy, "the backup policy is no longer valid", false, "fix the backup policy", false, false},
	ClassInternal:        {ClassInternal, "a fault inside snapkeep", false, "", true, false},
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
