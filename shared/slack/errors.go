package slack

import (
	"errors"
	"fmt"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// ErrUnavailable is wrapped by the error of a post Slack throttled (429) or
// failed (5xx) on every attempt: transient, worth trying again later.
var ErrUnavailable = errors.New("slack is throttling or failing")

// Rejected is an answer from the webhook that retrying cannot change: 400
// invalid_payload, 403 action_prohibited, 404 channel_not_found or
// no_service, 410 channel_is_archived, or any other 4xx but 429 (and a
// redirect, which Post never follows). Callers record it and stop posting
// to the webhook until the customer fixes it.
type Rejected struct {
	// Status is the HTTP status.
	Status int
	// Code is Slack's plain-text error code ("channel_not_found"), or ""
	// when the body was not one.
	Code string
}

// Error names the status and Slack's error code, never the URL.
func (r *Rejected) Error() string {
	return fmt.Sprintf("slack webhook rejected the message: HTTP %d %s", r.Status, codeOrNone(r.Code))
}

// Permanent reports whether err can never succeed on retry: a *Rejected,
// or a bad webhook URL or payload (an error wrapping snapkeep.ErrInvalid).
func Permanent(err error) bool {
	var r *Rejected
	return errors.As(err, &r) || errors.Is(err, snapkeep.ErrInvalid)
}
