package email

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// MaxReason caps Rejected.Reason (SES's message, or ours).
const MaxReason = 500

// Scope says what a permanent rejection is about, and so what the caller
// should stop doing.
type Scope string

// Scopes of a Rejected.
const (
	// ScopeRecipient: this address will not receive mail (it is on the
	// account's suppression list, or is not a valid address). Stop
	// emailing it (record it on the customer: snapkeep.Customer.EmailBlocked).
	ScopeRecipient Scope = "recipient"
	// ScopeMessage: SES refused this message (MessageRejected: content,
	// or in the SES sandbox an unverified recipient). Record it on the run;
	// other messages may go through.
	ScopeMessage Scope = "message"
	// ScopeSender: the deployment cannot send at all (account suspended,
	// sending paused, sender identity or configuration set missing or
	// unverified). Record it and alert ops; do not blame the customer.
	ScopeSender Scope = "sender"
)

// Codes of rejections that do not come from SES.
const (
	// CodeSuppressed: the recipient is on the account's suppression list.
	CodeSuppressed = "Suppressed"
	// CodeInvalidAddress: net/mail cannot parse the recipient address.
	CodeInvalidAddress = "InvalidAddress"
)

// Rejected is a permanent failure to send: retrying the same message can
// never succeed, so callers record it and do not retry. Test for it with
// errors.As, or with Permanent.
type Rejected struct {
	// Code is SES's error code (MessageRejected, AccountSuspendedException,
	// ...) or CodeSuppressed / CodeInvalidAddress.
	Code string
	// Reason says why, in SES's words or ours, cleaned and cut to
	// MaxReason characters (it is provider text).
	Reason string
	// Scope says what the rejection is about.
	Scope Scope
	// Recipient is the address concerned when Scope is ScopeRecipient.
	Recipient string
}

// Domain is the rejection as the services read it (snapkeep's one rule of
// who a rejection is about): the recipient's and the sender's scopes as
// they are, and an SES MessageRejected that says an identity is not
// verified the sender's too (the deployment cannot send), not only this
// message's.
func (r *Rejected) Domain() *snapkeep.RejectedError {
	scope := snapkeep.RejectMessage
	switch {
	case r.Scope == ScopeRecipient:
		scope = snapkeep.RejectRecipient
	case r.Scope == ScopeSender, strings.Contains(strings.ToLower(r.Reason), "not verified"):
		scope = snapkeep.RejectSender
	}
	return &snapkeep.RejectedError{Scope: scope, Code: r.Code, Reason: r.Reason}
}

// Error says who was rejected and why.
func (r *Rejected) Error() string {
	if r.Recipient != "" {
		return fmt.Sprintf("email to %s rejected (%s, %s): %s", r.Recipient, r.Code, r.Scope, r.Reason)
	}
	return fmt.Sprintf("email rejected (%s, %s): %s", r.Code, r.Scope, r.Reason)
}

// Permanent reports whether err can never succeed on retry: a *Rejected,
// or bad input (an error wrapping snapkeep.ErrInvalid, e.g. from Build).
// Every other error from Send (throttling that outlasted the retries, a
// network failure, a cancelled context) is transient.
func Permanent(err error) bool {
	var r *Rejected
	return errors.As(err, &r) || errors.Is(err, snapkeep.ErrInvalid)
}

// verdict is what Send does with an error from SES.
type verdict int

const (
	// giveUp: return the error as it is (transient, but not worth
	// retrying here: a cancelled context, an unknown failure).
	giveUp verdict = iota
	// retry: throttling, a server error or a failure to reach SES.
	retry
	// reject: a permanent rejection.
	reject
)

// throttleCodes are the error codes SES (v1 and v2, and the AWS SDK in
// general) uses for "slow down".
var throttleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "TooManyRequestsException": true,
	"LimitExceededException": true, "RequestLimitExceeded": true, "RequestThrottled": true,
}

// rejectCodes are SendEmail's permanent errors and their scopes.
var rejectCodes = map[string]Scope{
	"MessageRejected":                    ScopeMessage,
	"MailFromDomainNotVerifiedException": ScopeSender,
	"AccountSuspendedException":          ScopeSender,
	"SendingPausedException":             ScopeSender,
	// BadRequest and NotFound name the sender's setup: an identity, a
	// configuration set, a tenant that does not exist.
	"BadRequestException": ScopeSender,
	"NotFoundException":   ScopeSender,
}

// classify decides what to do with an error from SendEmail.
func classify(err error) (verdict, *Rejected) {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code := apiErr.ErrorCode()
		if throttleCodes[code] {
			return retry, nil
		}
		if scope, ok := rejectCodes[code]; ok {
			return reject, &Rejected{Code: code, Reason: CleanHeader(apiErr.ErrorMessage(), MaxReason), Scope: scope}
		}
	}
	var tooMany *types.TooManyRequestsException
	var limit *types.LimitExceededException
	if errors.As(err, &tooMany) || errors.As(err, &limit) {
		return retry, nil
	}
	var resp *smithyhttp.ResponseError
	if errors.As(err, &resp) {
		if s := resp.HTTPStatusCode(); s == http.StatusTooManyRequests || s >= 500 {
			return retry, nil
		}
		return giveUp, nil
	}
	// The request never got an answer: SES was not reached, or the
	// connection broke. (A broken connection may have sent the message;
	// a rare duplicate notice is better than a lost one.)
	var send *smithyhttp.RequestSendError
	if errors.As(err, &send) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return retry, nil
	}
	return giveUp, nil
}
