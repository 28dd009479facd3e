package snapkeep

import "fmt"

// RejectScope says who a permanent rejection of a message is about, and so
// what is recorded and what stops. What a service does beyond that (a
// notice's record retried, a broadcast stopped) is that service's rule and
// is documented there.
type RejectScope string

// Scopes of a RejectedError.
const (
	// RejectRecipient: this address or webhook will not take messages (a
	// suppressed or invalid address; a Slack webhook answering 403, 404
	// or 410). Recorded, and the channel blocked on the customer
	// (Customer.EmailBlocked, Customer.SlackBlocked): nothing more is sent
	// there until support clears it.
	RejectRecipient RejectScope = "recipient"
	// RejectMessage: this message was refused (SES MessageRejected, Slack
	// invalid_payload). Recorded; not retried; other messages may go
	// through.
	RejectMessage RejectScope = "message"
	// RejectSender: the deployment cannot send (the SES sandbox, an
	// unverified identity, a paused or suspended account). Not the
	// customer's fault: nothing is blocked on the customer.
	RejectSender RejectScope = "sender"
)

// RejectedError is a permanent failure to send one message (an email or a
// Slack post): retrying the same message cannot succeed. The adapters
// that send for a service (functions/notify, snapctl broadcast) convert
// their provider's rejection into it; services test for it with errors.As.
type RejectedError struct {
	// Scope says who it is about.
	Scope RejectScope
	// Code is the provider's code (SES's error code, e.g. "Suppressed" or
	// "MessageRejected"; Slack's error word and HTTP status), or
	// snapkeep's.
	Code string
	// Reason says why, in the provider's words or snapkeep's; never a
	// webhook URL.
	Reason string
}

// Error names the scope, the code and the reason.
func (r *RejectedError) Error() string {
	return fmt.Sprintf("rejected (%s, %s): %s", r.Scope, r.Code, r.Reason)
}
