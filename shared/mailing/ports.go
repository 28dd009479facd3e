package mailing

import (
	"context"
	"time"

	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/notice"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// The ports a broadcast needs, in the domain's terms. shared/dynamo's
// stores implement the store ports as they are (EscalationSource is the
// RunReader and the CallCounter, MailingStore the Ledger); snapctl adapts
// shared/email's SES v2 sender to Mailer.

// RunReader reads the failed runs (the Runs table's failures-by-class
// index; dynamo.EscalationSource).
type RunReader interface {
	// FailedRuns returns the runs that ended failed or timed out with
	// class and finished in [from, to), oldest first.
	FailedRuns(ctx context.Context, class snapkeep.ErrorClass, from, to time.Time) ([]snapkeep.Run, error)
}

// CustomerStore reads customers and stops email to one whose address
// SES rejects for good (dynamo.CustomerStore).
type CustomerStore interface {
	// Get reads a customer (snapkeep.ErrNotFound when there is none).
	Get(ctx context.Context, customerID string) (*snapkeep.Customer, error)
	// Block sets the customer's EmailBlocked (channel "email") to reason.
	Block(ctx context.Context, customerID, channel, reason string) error
}

// PolicyReader reads policies (dynamo.PolicyStore).
type PolicyReader interface {
	// Get reads a policy (snapkeep.ErrNotFound once it is deleted).
	Get(ctx context.Context, policyID string) (*snapkeep.Policy, error)
}

// CallCounter counts DigitalOcean calls across all customers (the Stats
// table; dynamo.EscalationSource), for a class broadcast's error rate.
type CallCounter interface {
	// WindowCounts returns dim's call counts over [from, to).
	WindowCounts(ctx context.Context, dim snapkeep.Dimension, from, to time.Time) (escalation.CallCounts, error)
}

// IncidentLister lists the open incidents (dynamo.IncidentStore), to say
// whether a class broadcast's problem is still going on.
type IncidentLister interface {
	ListOpen(ctx context.Context) ([]snapkeep.Incident, error)
}

// Entry is one customer's item of a broadcast in the Ledger.
type Entry struct {
	// MailingID is the broadcast's id (Target.MailingID); CustomerID the
	// customer's.
	MailingID, CustomerID string
	// IncidentID is the incident told of, or "".
	IncidentID string
	// RunIDs are the runs the message tells of (at most MaxEntryRuns).
	RunIDs []string
	// ExpiresAt is the item's TTL.
	ExpiresAt time.Time
}

// Ledger is the sent log: one item per (broadcast, customer) in the
// Mailings table (dynamo.MailingStore), whose email notice is claimed
// before the message is sent and recorded after, with the same
// conditional writes as every other notice.
type Ledger interface {
	// BroadcastNotices returns the email notice of each customer's item
	// of the mailing, by customer id: a claim (no id, no error), a sent
	// message (an id) or a recorded failure (an error).
	BroadcastNotices(ctx context.Context, mailingID string) (map[string]snapkeep.Notice, error)
	// ClaimBroadcast writes n as the entry's email notice, creating the
	// entry if it does not exist, and returns (n, true); when the entry
	// has a notice it returns that one and false, unless takeover says the
	// claim is abandoned (then it takes it over and returns (n, true)).
	ClaimBroadcast(ctx context.Context, e Entry, n snapkeep.Notice, takeover func(snapkeep.Notice) bool) (snapkeep.Notice, bool, error)
	// RecordBroadcast replaces the claim made at claimedAt with n; a claim
	// taken over meanwhile is an error wrapping snapkeep.ErrConflict.
	RecordBroadcast(ctx context.Context, mailingID, customerID string, claimedAt time.Time, n snapkeep.Notice) error
	// ReleaseBroadcast removes the claim made at claimedAt, so that the
	// next run claims afresh.
	ReleaseBroadcast(ctx context.Context, mailingID, customerID string, claimedAt time.Time) error
}

// Renderer renders the message (notice.Renderer).
type Renderer interface {
	Broadcast(in notice.BroadcastInput) (notice.Message, error)
	// Links are what messages link to: the one-click unsubscribe URL is
	// the customer's preferences page (Links.Preferences).
	Links() notice.Links
}

// Email is one broadcast email, as the Service hands it to the Mailer.
type Email struct {
	// To and ToName are the recipient's address and display name.
	To, ToName string
	// Subject, Text and HTML are the rendered message.
	Subject, Text, HTML string
	// UnsubscribeURL is the customer's one-click preferences link (RFC
	// 8058); always set (customers without one are skipped).
	UnsubscribeURL string
	// Headers are extra X- headers (X-Snapkeep-Kind, X-Snapkeep-Mailing).
	Headers map[string]string
}

// Mailer sends one email on the broadcast stream and returns its message
// id. A permanent failure is a *snapkeep.RejectedError: a rejection of
// the sender (snapkeep.RejectSender) stops the broadcast; of the
// recipient, the customer is counted skipped; of the message, failed.
type Mailer interface {
	Send(ctx context.Context, e Email) (string, error)
}

// Waiter paces the sends: Wait returns when the next one may go (Pacer).
type Waiter interface {
	Wait(ctx context.Context) error
}
