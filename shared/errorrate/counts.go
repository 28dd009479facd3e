package errorrate

import (
	"fmt"
	"sort"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Outcome is what one DigitalOcean HTTP attempt counts as.
type Outcome uint8

// Outcomes, by the row's error class (snapkeep.APICall.Class).
const (
	// OutcomeOK: no error class (a usable 2xx).
	OutcomeOK Outcome = iota
	// OutcomeProviderFailure: a class whose ClassInfo.ProviderSide is true
	// (provider_error: 5xx, malformed 2xx, 3xx; network; action_errored;
	// timed_out). The detector's signal.
	OutcomeProviderFailure
	// OutcomeRateLimited: rate_limited (429), counted apart: our own
	// request budget, not DigitalOcean's health.
	OutcomeRateLimited
	// OutcomeBusy: resource_busy (a 422 for a pending action), counted apart.
	OutcomeBusy
	// OutcomeCustomerError: a customer-side 4xx (auth_revoked,
	// resource_missing, quota_exceeded, invalid_policy): never a provider
	// failure.
	OutcomeCustomerError
	// OutcomeOther: internal or an unknown class: counted in Calls only.
	OutcomeOther
)

var outcomeNames = [...]string{"ok", "provider_failure", "rate_limited", "busy", "customer_error", "other"}

// String names the outcome in snake case, as logs and metrics spell it.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

// outcomeOf maps an error class to its outcome; the one rule both Classify
// and Aggregate.Add use.
func outcomeOf(class snapkeep.ErrorClass) Outcome {
	switch {
	case class == "":
		return OutcomeOK
	case class == snapkeep.ClassRateLimited:
		return OutcomeRateLimited
	case class == snapkeep.ClassResourceBusy:
		return OutcomeBusy
	}
	info := class.Info()
	switch {
	case info.ProviderSide:
		return OutcomeProviderFailure
	case info.CustomerAction != "":
		return OutcomeCustomerError
	}
	return OutcomeOther
}

// MaxDimensionLabel bounds the region or operation text a dimension is made
// of. A longer (or empty) label is not counted in a region or operation
// dimension at all (the call still counts in DimensionAll), so that text a
// customer controls (a policy's region) can never grow the set of
// dimensions without bound.
const MaxDimensionLabel = 32

// Classify returns the call's outcome and the dimensions it counts in:
// DimensionAll, its region's and its operation's (the last two only when
// the call names a region or operation of at most MaxDimensionLabel bytes).
// The error class is the row's Class, the one status-to-class rule of
// shared/docloud; an empty class is a success.
func Classify(call *snapkeep.APICall) (Outcome, []snapkeep.Dimension) {
	dims := []snapkeep.Dimension{snapkeep.DimensionAll}
	if labelOK(call.Region) {
		dims = append(dims, snapkeep.RegionDimension(call.Region))
	}
	if labelOK(string(call.Operation)) {
		dims = append(dims, snapkeep.OperationDimension(call.Operation))
	}
	return outcomeOf(call.Class), dims
}

func labelOK(s string) bool { return s != "" && len(s) <= MaxDimensionLabel }

// MaxMinuteIDs bounds Counts.FailedAccounts and Counts.FailedResources.
// They exist for the detector's minimum-evidence guard, which needs a
// handful of distinct ids; 16 keeps the worst case of a whole 15-minute
// tumbling window (22 dimensions, every entry with full sets of the
// longest ids) at about 0.7 MB, inside Lambda's 1 MB state.
const MaxMinuteIDs = 16

// MaxIDLength bounds one account or resource id kept in a set; a longer
// id is cut (snapkeep.Bound), which keeps it distinct in practice.
const MaxIDLength = 64

// Counts are the call outcomes of one dimension in one window (a minute,
// or a day for the baseline's roll-ups). Calls counts every attempt;
// the outcome counts add up to at most Calls (the rest were successes).
type Counts struct {
	// Calls counts every HTTP attempt.
	Calls int64 `json:"calls" dynamodbav:"calls"`
	// Failures counts provider-side failures (OutcomeProviderFailure).
	Failures int64 `json:"failures,omitempty" dynamodbav:"failures,omitempty"`
	// RateLimited counts 429s (OutcomeRateLimited).
	RateLimited int64 `json:"rate_limited,omitempty" dynamodbav:"rate_limited,omitempty"`
	// Busy counts resource_busy answers (OutcomeBusy).
	Busy int64 `json:"busy,omitempty" dynamodbav:"busy,omitempty"`
	// CustomerErrors counts customer-side 4xx (OutcomeCustomerError).
	CustomerErrors int64 `json:"customer_errors,omitempty" dynamodbav:"customer_errors,omitempty"`
	// Other counts internal or unknown classes (OutcomeOther).
	Other int64 `json:"other,omitempty" dynamodbav:"other,omitempty"`
	// FailedAccounts are the accounts with provider-side failures: sorted,
	// distinct, the MaxMinuteIDs smallest when there were more (so merging
	// is associative and commutative).
	FailedAccounts []string `json:"failed_accounts,omitempty" dynamodbav:"failed_accounts,omitempty"`
	// FailedResources are the resources ("droplet:3164444") with
	// provider-side failures, bounded like FailedAccounts.
	FailedResources []string `json:"failed_resources,omitempty" dynamodbav:"failed_resources,omitempty"`
}

// Rate is the provider-side failure rate Failures/Calls, 0 without calls.
func (c Counts) Rate() float64 {
	if c.Calls == 0 {
		return 0
	}
	return float64(c.Failures) / float64(c.Calls)
}

// Add adds o to c: the numbers sum, the id sets unite (bounded to
// MaxMinuteIDs). Adding is associative and commutative.
func (c *Counts) Add(o Counts) {
	c.Calls += o.Calls
	c.Failures += o.Failures
	c.RateLimited += o.RateLimited
	c.Busy += o.Busy
	c.CustomerErrors += o.CustomerErrors
	c.Other += o.Other
	c.FailedAccounts = unite(c.FailedAccounts, o.FailedAccounts, MaxMinuteIDs)
	c.FailedResources = unite(c.FailedResources, o.FailedResources, MaxMinuteIDs)
}

// Record counts one attempt with the given outcome; a provider-side
// failure also records its account and resource (empty ids are kept as
// "unknown", so that the failure still counts as evidence from one source).
func (c *Counts) Record(o Outcome, account, resource string) {
	c.Calls++
	switch o {
	case OutcomeProviderFailure:
		c.Failures++
		c.FailedAccounts = insertID(c.FailedAccounts, evidenceID(account), MaxMinuteIDs)
		c.FailedResources = insertID(c.FailedResources, evidenceID(resource), MaxMinuteIDs)
	case OutcomeRateLimited:
		c.RateLimited++
	case OutcomeBusy:
		c.Busy++
	case OutcomeCustomerError:
		c.CustomerErrors++
	case OutcomeOther:
		c.Other++
	}
}

// UnknownSource is the id recorded for a failure whose call names no
// account or resource.
const UnknownSource = "unknown"

func evidenceID(id string) string {
	if id == "" {
		return UnknownSource
	}
	if len(id) > MaxIDLength {
		return snapkeep.Bound(id, MaxIDLength)
	}
	return id
}

// insertID adds id to the sorted set s, keeping at most max of the
// smallest ids.
func insertID(s []string, id string, max int) []string {
	i := sort.SearchStrings(s, id)
	if i < len(s) && s[i] == id {
		return s
	}
	if len(s) >= max {
		if i >= max {
			return s
		}
		s = s[:max-1]
	}
	s = append(s, "")
	copy(s[i+1:], s[i:])
	s[i] = id
	return s
}

// unite returns the union of the sorted sets a and b, at most max of the
// smallest ids. The minimum-max of a union is associative and commutative,
// so window parts merged in any order give the same set. a may be reused.
func unite(a, b []string, max int) []string {
	if len(b) == 0 {
		if len(a) > max {
			return a[:max]
		}
		return a
	}
	out := make([]string, 0, min(len(a)+len(b), max))
	i, j := 0, 0
	for len(out) < max && (i < len(a) || j < len(b)) {
		switch {
		case j >= len(b) || (i < len(a) && a[i] < b[j]):
			out = append(out, a[i])
			i++
		case i >= len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// Validate reports what is wrong with counts read from outside (a stored
// item, a window state): negative numbers, outcomes that exceed the calls,
// id sets over MaxMinuteIDs, unsorted or larger than the failures.
func (c Counts) Validate() error {
	switch {
	case c.Calls < 0 || c.Failures < 0 || c.RateLimited < 0 || c.Busy < 0 || c.CustomerErrors < 0 || c.Other < 0:
		return fmt.Errorf("negative count in %+v", c.numbers())
	case c.Failures+c.RateLimited+c.Busy+c.CustomerErrors+c.Other > c.Calls:
		return fmt.Errorf("outcomes exceed the %d calls in %+v", c.Calls, c.numbers())
	case len(c.FailedAccounts) > MaxMinuteIDs || len(c.FailedResources) > MaxMinuteIDs:
		return fmt.Errorf("%d failed accounts and %d failed resources: at most %d each",
			len(c.FailedAccounts), len(c.FailedResources), MaxMinuteIDs)
	case int64(len(c.FailedAccounts)) > c.Failures || int64(len(c.FailedResources)) > c.Failures:
		return fmt.Errorf("%d failed accounts and %d failed resources but only %d failures",
			len(c.FailedAccounts), len(c.FailedResources), c.Failures)
	case !sortedDistinct(c.FailedAccounts) || !sortedDistinct(c.FailedResources):
		return fmt.Errorf("failed accounts or resources are not sorted and distinct")
	}
	return nil
}

// numbers is c without its id sets, for error messages.
func (c Counts) numbers() Counts {
	c.FailedAccounts, c.FailedResources = nil, nil
	return c
}

func sortedDistinct(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i] <= s[i-1] {
			return false
		}
	}
	return true
}
