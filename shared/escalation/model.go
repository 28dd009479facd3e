package escalation

import (
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Provider is the name the report and the alert subjects give the provider.
const Provider = "DigitalOcean"

// CallCounts counts DigitalOcean HTTP attempts by outcome. Only
// ProviderFailures count against DigitalOcean's error rate; rate-limited,
// busy and the customer's own 4xx are shown beside it, never in it.
type CallCounts struct {
	// Calls counts every attempt, successes included.
	Calls int64 `json:"calls"`
	// ProviderFailures counts the provider-side failures: 5xx, malformed
	// answers, 3xx and network errors (ClassInfo.ProviderSide).
	ProviderFailures int64 `json:"provider_failures"`
	// RateLimited counts 429 answers (the token's budget, not an outage).
	RateLimited int64 `json:"rate_limited"`
	// Busy counts 422 "pending event" answers (the resource was busy).
	Busy int64 `json:"busy"`
	// Customer4xx counts the customer-side 4xx: revoked tokens, deleted
	// resources, quotas, invalid policies (the classes with a
	// CustomerAction; snapkeep's own internal errors are in none of these).
	Customer4xx int64 `json:"customer_4xx"`
}

// Rate is the provider-side failure rate (0..1), 0 without calls.
func (c CallCounts) Rate() float64 {
	if c.Calls <= 0 {
		return 0
	}
	return float64(c.ProviderFailures) / float64(c.Calls)
}

// Add returns the sum of c and o, field by field.
func (c CallCounts) Add(o CallCounts) CallCounts {
	return CallCounts{
		Calls:            c.Calls + o.Calls,
		ProviderFailures: c.ProviderFailures + o.ProviderFailures,
		RateLimited:      c.RateLimited + o.RateLimited,
		Busy:             c.Busy + o.Busy,
		Customer4xx:      c.Customer4xx + o.Customer4xx,
	}
}

// DayCounts is one UTC day's counts of one dimension.
type DayCounts struct {
	// Day is the day's midnight, UTC.
	Day time.Time `json:"day"`
	CallCounts
}

// DailyRow is one day of the daily table and chart.
type DailyRow struct {
	DayCounts
	// FromMinutes is set on a window day the daily roll-ups did not hold
	// yet (the detector writes a day's roll-up once the day is over): its
	// counts are then its per-minute counts from midnight to Through, read
	// through WindowCounts like the window's own. A finished day without
	// calls is not marked: the detector writes no roll-up for it.
	FromMinutes bool `json:"from_minutes,omitempty"`
	// Through is where the row's counts end: the next midnight, or the
	// report's time on the day in progress.
	Through time.Time `json:"through"`
}

// Partial reports whether the row counts only part of its day: the day
// in progress, counted so far.
func (d DailyRow) Partial() bool { return d.Through.Before(d.Day.AddDate(0, 0, 1)) }

// RunCounts counts runs by terminal status (skipped: a paused policy
// fired anyway).
type RunCounts struct {
	Succeeded int64 `json:"succeeded"`
	Failed    int64 `json:"failed"`
	TimedOut  int64 `json:"timed_out"`
	Skipped   int64 `json:"skipped"`
}

// Window is a half-open time range [From, To), UTC.
type Window struct {
	// From is the first instant in the window, To the first after it.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Duration is To - From.
func (w Window) Duration() time.Duration { return w.To.Sub(w.From) }

// Contains reports whether t is in [From, To).
func (w Window) Contains(t time.Time) bool { return !t.Before(w.From) && t.Before(w.To) }

// Overlaps reports whether w and o share an instant.
func (w Window) Overlaps(o Window) bool { return w.From.Before(o.To) && o.From.Before(w.To) }

// Report is the escalation report: everything DigitalOcean's support
// needs to act on an error-rate incident, gathered by Build through
// indexes only and rendered by Text, Markdown, HTML and CSV. Every
// provider- or customer-controlled string in it has been bounded and
// scrubbed of anything token-like; the renderers escape it for their
// format.
type Report struct {
	// GeneratedAt is when Build ran (its Now).
	GeneratedAt time.Time `json:"generated_at"`
	// Incident is the incident reported on; nil for a report over a time
	// range (snapctl report --since 24h).
	Incident *snapkeep.Incident `json:"incident,omitempty"`
	// Dimension is the traffic reported on: the incident's, else the one
	// asked for, else all.
	Dimension snapkeep.Dimension `json:"dimension"`
	// Window is the range reported on.
	Window Window `json:"window"`
	// Daily is the dimension's counts for each of the last DailyDays UTC
	// days up to the window's end, oldest first, missing days as zeros;
	// a window day the roll-ups do not hold yet is summed from its
	// per-minute rows (DailyRow.FromMinutes).
	Daily []DailyRow `json:"daily"`
	// InWindow counts the dimension's calls in the window.
	InWindow CallCounts `json:"in_window"`
	// Baseline sums the daily counts of the days that do not overlap the
	// window: the rate DigitalOcean is compared with.
	Baseline CallCounts `json:"baseline"`
	// BaselineDays is how many days Baseline sums (the days of the 30
	// that the window does not overlap), BaselineCallDays how many of
	// them had calls: the days the baseline really comes from.
	BaselineDays     int `json:"baseline_days"`
	BaselineCallDays int `json:"baseline_call_days"`
	// Affected are the provider-side failed calls of the dimension in the
	// window, oldest first, at most MaxRows (the CSV attachment holds them
	// all; the renderings show the first InlineRows).
	Affected []AffectedCall `json:"affected"`
	// AffectedTotal counts them all, also those past MaxRows.
	AffectedTotal int `json:"affected_total"`
	// InlineRows is how many affected calls the renderings show inline.
	InlineRows int `json:"inline_rows"`
	// Resources are the affected droplets and volumes, most failures first.
	Resources []AffectedResource `json:"resources"`
	// AffectedAccounts counts the distinct accounts of the affected calls.
	AffectedAccounts int `json:"affected_accounts"`
	// TopErrors are the most frequent provider answers among the affected
	// calls, at most MaxTopErrors; OtherErrors counts the calls of the rest.
	TopErrors   []ErrorCount `json:"top_errors"`
	OtherErrors int          `json:"other_errors"`
	// Headers are request/response header samples of affected calls, at
	// most MaxHeaderSamples, spread over the window and its error kinds.
	Headers []HeaderSample `json:"headers"`
	// Timeline is the deep dive on one affected resource; nil when no
	// resource was affected.
	Timeline *Timeline `json:"timeline,omitempty"`
	// Impact is what the window did to customers' runs.
	Impact Impact `json:"impact"`
	// Notes says what Build left out or dropped and why (cut rows, headers
	// dropped as secrets), never quoting a secret.
	Notes []string `json:"notes,omitempty"`
}

// AffectedCall is one provider-side failed call: a row of the CSV
// attachment and of the inline table.
type AffectedCall struct {
	At             time.Time           `json:"at"`
	Operation      snapkeep.Operation  `json:"operation"`
	ResourceKey    string              `json:"resource_key"`
	Region         string              `json:"region"`
	AccountID      string              `json:"account_id"`
	HTTPStatus     int                 `json:"http_status"`
	ErrorID        string              `json:"error_id"`
	ErrorMessage   string              `json:"error_message"`
	RequestID      string              `json:"request_id"`
	RunID          string              `json:"run_id"`
	Seq            int                 `json:"seq"`
	Attempt        int                 `json:"attempt"`
	Method         string              `json:"method"`
	Path           string              `json:"path"`
	Class          snapkeep.ErrorClass `json:"class"`
	DurationMS     int64               `json:"duration_ms"`
	TransportError string              `json:"transport_error,omitempty"`
}

// AffectedResource sums the affected calls of one droplet or volume.
type AffectedResource struct {
	// ResourceKey is e.g. "droplet:3164444"; Region and AccountID are
	// those of its first affected call.
	ResourceKey string `json:"resource_key"`
	Region      string `json:"region"`
	AccountID   string `json:"account_id"`
	// Failures counts its affected calls and Runs the distinct runs that
	// made them; First and Last are the first and last call's times.
	Failures int       `json:"failures"`
	Runs     int       `json:"runs"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
}

// ErrorCount is one kind of provider answer among the affected calls.
type ErrorCount struct {
	// HTTPStatus and ErrorID are the answer's (0 and "" without one).
	HTTPStatus int    `json:"http_status"`
	ErrorID    string `json:"error_id"`
	// Message is DigitalOcean's message, or the transport error's when no
	// answer came.
	Message string    `json:"message"`
	Count   int       `json:"count"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
	// SampleRequestID is the x-request-id of the first such call.
	SampleRequestID string `json:"sample_request_id"`
}

// Header is one recorded header, its name in lower case.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// HeaderSample is one affected call's request and response headers, after
// the secret check (see CleanHeaders).
type HeaderSample struct {
	// At, Operation, ResourceKey, Method, Path, HTTPStatus and RequestID
	// identify the call; Request and Response are its cleaned headers,
	// sorted by name.
	At          time.Time          `json:"at"`
	Operation   snapkeep.Operation `json:"operation"`
	ResourceKey string             `json:"resource_key"`
	Method      string             `json:"method"`
	Path        string             `json:"path"`
	HTTPStatus  int                `json:"http_status"`
	RequestID   string             `json:"request_id"`
	Request     []Header           `json:"request"`
	Response    []Header           `json:"response"`
}

// Timeline is the deep dive: one affected resource's runs over the window.
type Timeline struct {
	// ResourceKey and Region name the resource followed.
	ResourceKey string `json:"resource_key"`
	Region      string `json:"region"`
	// Hourly is true when one of its policies fires hourly or more often
	// (two slots of one policy at most an hour apart).
	Hourly bool `json:"hourly"`
	// Failures counts its affected calls.
	Failures int `json:"failures"`
	// Chosen says how the resource was picked.
	Chosen string `json:"chosen"`
	// Runs are its runs scheduled in the window, oldest first, at most
	// MaxTimelineRuns; RunsOmitted counts the rest.
	Runs        []TimelineRun `json:"runs"`
	RunsOmitted int           `json:"runs_omitted"`
}

// TimelineRun is one run of the deep-dive resource.
type TimelineRun struct {
	// PolicyID and Slot are the run's key.
	PolicyID string             `json:"policy_id"`
	Slot     time.Time          `json:"slot"`
	Status   snapkeep.RunStatus `json:"status"`
	// Class is the run's error class, or its retry class while unfinished.
	Class snapkeep.ErrorClass `json:"class,omitempty"`
	// Attempts counts the snapshot attempts, APICalls the run's
	// DigitalOcean calls; FinishedAt is nil while it is unfinished.
	Attempts   int        `json:"attempts"`
	APICalls   int        `json:"api_calls"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// FailedCalls counts the run's failed calls in the window (any class).
	FailedCalls int `json:"failed_calls"`
	// RequestIDs are the x-request-ids of the run's failed calls and of
	// the answer that decided it, at most MaxRunRequestIDs.
	RequestIDs []string `json:"request_ids"`
}

// Impact is what the window did to customers: terminal runs per class.
type Impact struct {
	// Terminal counts the runs that ended in the window, all customers,
	// from the Stats roll-ups.
	Terminal RunCounts `json:"terminal"`
	// Classes are the failed and timed-out runs per class, from the
	// failures-by-class index, in ErrorClasses order.
	Classes []ClassImpact `json:"classes"`
	// FailedRuns counts the failed and timed-out runs of every class.
	FailedRuns int `json:"failed_runs"`
	// ProviderFailedRuns counts those of a provider-side class, and
	// CustomersAffected their distinct customers.
	ProviderFailedRuns int `json:"provider_failed_runs"`
	CustomersAffected  int `json:"customers_affected"`
}

// ClassImpact is the failed runs of one class.
type ClassImpact struct {
	// Class is the runs' class; ProviderSide says whether it counts as
	// DigitalOcean's failure. Failed and TimedOut count the runs by status,
	// Customers their distinct customers.
	Class        snapkeep.ErrorClass `json:"class"`
	ProviderSide bool                `json:"provider_side"`
	Failed       int                 `json:"failed"`
	TimedOut     int                 `json:"timed_out"`
	Customers    int                 `json:"customers"`
}
