package snapkeep

import "time"

// APICall is one HTTP attempt to DigitalOcean's API, retries and transport
// errors included. Bodies are never kept; headers are, with Authorization
// redacted. One item per attempt in the ApiCalls table.
type APICall struct {
	// RunID is the run that made the call (partition key), see RunKey.RunID.
	RunID string `json:"run_id" dynamodbav:"run_id"`
	// Seq numbers the run's calls from 1 (sort key).
	Seq int `json:"seq" dynamodbav:"seq"`
	// PolicyID is the run's policy.
	PolicyID string `json:"policy_id,omitempty" dynamodbav:"policy_id,omitempty"`
	// ResourceKey is the run's resource, e.g. "droplet:3164444".
	ResourceKey string `json:"resource_key,omitempty" dynamodbav:"resource_key,omitempty"`
	// Region is the resource's region.
	Region string `json:"region,omitempty" dynamodbav:"region,omitempty"`
	// AccountID is the DigitalOcean account whose token made the call.
	AccountID string `json:"account_id,omitempty" dynamodbav:"account_id,omitempty"`
	// Host is the host the request went to (only ever DigitalOcean's API
	// host: the token is never sent elsewhere).
	Host string `json:"host,omitempty" dynamodbav:"host,omitempty"`
	// Operation names what the call was for, e.g. "snapshot_droplet".
	Operation Operation `json:"operation,omitempty" dynamodbav:"operation,omitempty"`
	// Attempt is 1 for the first try of an operation, 2 for its first retry...
	Attempt int `json:"attempt" dynamodbav:"attempt"`
	// Method is the HTTP method.
	Method string `json:"method" dynamodbav:"method"`
	// Path is the request path and query, e.g. "/v2/droplets/3164444/actions".
	Path string `json:"path" dynamodbav:"path"`
	// RequestHeaders are the request's headers, Authorization redacted.
	RequestHeaders map[string]string `json:"request_headers,omitempty" dynamodbav:"request_headers,omitempty"`
	// StatusCode is the HTTP status, 0 when no response came.
	StatusCode int `json:"status_code,omitempty" dynamodbav:"status_code,omitempty"`
	// ResponseHeaders are all the response's headers.
	ResponseHeaders map[string]string `json:"response_headers,omitempty" dynamodbav:"response_headers,omitempty"`
	// StartedAt is when the request was sent.
	StartedAt time.Time `json:"started_at" dynamodbav:"started_at"`
	// DurationMS is how long the attempt took, in milliseconds.
	DurationMS int64 `json:"duration_ms" dynamodbav:"duration_ms"`
	// ProviderRequestID is DigitalOcean's x-request-id (sparse index).
	ProviderRequestID string `json:"provider_request_id,omitempty" dynamodbav:"provider_request_id,omitempty"`
	// ErrorID is DigitalOcean's error id from the body, e.g. "server_error".
	ErrorID string `json:"error_id,omitempty" dynamodbav:"error_id,omitempty"`
	// ErrorMessage is DigitalOcean's error message from the body.
	ErrorMessage string `json:"error_message,omitempty" dynamodbav:"error_message,omitempty"`
	// TransportError is the network error text when no response came.
	TransportError string `json:"transport_error,omitempty" dynamodbav:"transport_error,omitempty"`
	// Class is the attempt's error class by the one status-to-class rule
	// (shared/docloud), including a 2xx whose body could not be used
	// (provider_error); empty for a success. The error-rate detector counts
	// the calls whose class is provider-side.
	Class ErrorClass `json:"error_class,omitempty" dynamodbav:"error_class,omitempty"`
	// FailureHour is set on failed calls only, as "2006-01-02T15" UTC
	// (sparse failing-calls-by-hour index, sorted by StartedAt).
	FailureHour string `json:"failure_hour,omitempty" dynamodbav:"failure_hour,omitempty"`
	// ExpiresAt is the item's TTL, Unix seconds.
	ExpiresAt int64 `json:"expires_at" dynamodbav:"expires_at"`
}

// FailureHourFormat is the layout of APICall.FailureHour.
const FailureHourFormat = "2006-01-02T15"

// Failed reports whether the call failed: a transport error, a status of
// 400 or more, or an answer the client could not use (a class on a 2xx or
// 3xx row: a malformed body, a redirect).
func (c *APICall) Failed() bool {
	return c.TransportError != "" || c.StatusCode >= 400 || c.Class != ""
}

// Redacted is what replaces a secret header's value before it is stored.
const Redacted = "REDACTED"
