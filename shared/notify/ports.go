package notify

import (
	"context"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// The ports the service needs, in the domain's terms. shared/dynamo's
// stores implement the store ports (MailingStore through a conversion:
// Mailing and MailingRun have the same fields as dynamo's), and
// functions/notify adapts shared/email and shared/slack to Mailer and
// Poster.

// RunStore is the part of the Runs table the service uses
// (dynamo.RunStore).
type RunStore interface {
	// ClaimNotice writes n as the run's notice on channel if it has
	// none, returning (n, true); else it returns the existing notice and
	// false, unless takeover(existing) says the claim is abandoned (then
	// it takes it over and returns (n, true)).
	ClaimNotice(ctx context.Context, key snapkeep.RunKey, channel string, n snapkeep.Notice, takeover func(snapkeep.Notice) bool) (snapkeep.Notice, bool, error)
	// RecordNotice replaces the claim made at claimedAt with n; a claim
	// taken over meanwhile is an error wrapping snapkeep.ErrConflict.
	RecordNotice(ctx context.Context, key snapkeep.RunKey, channel string, claimedAt time.Time, n snapkeep.Notice) error
	// ReleaseNotice removes the claim made at claimedAt.
	ReleaseNotice(ctx context.Context, key snapkeep.RunKey, channel string, claimedAt time.Time) error
	// Get reads a run (snapkeep.ErrNotFound when there is none).
	Get(ctx context.Context, key snapkeep.RunKey) (*snapkeep.Run, error)
	// Recent returns up to limit of the policy's runs before before,
	// newest first.
	Recent(ctx context.Context, policyID string, before time.Time, limit int) ([]snapkeep.Run, error)
	// NextAfter returns the policy's first run scheduled after after, or
	// nil.
	NextAfter(ctx context.Context, policyID string, after time.Time) (*snapkeep.Run, error)
}

// CustomerStore reads customers and stops a channel that rejects
// messages for good (dynamo.CustomerStore).
type CustomerStore interface {
	// Get reads a customer (snapkeep.ErrNotFound when there is none).
	Get(ctx context.Context, customerID string) (*snapkeep.Customer, error)
	// Block sets the customer's EmailBlocked or SlackBlocked to reason.
	Block(ctx context.Context, customerID, channel, reason string) error
}

// PolicySource reads policies (dynamo.PolicyStore).
type PolicySource interface {
	// Get reads a policy (snapkeep.ErrNotFound when it was deleted).
	Get(ctx context.Context, policyID string) (*snapkeep.Policy, error)
}

// IncidentSource reads provider incidents (dynamo.IncidentStore).
type IncidentSource interface {
	// ListOpen returns the open incidents, oldest first.
	ListOpen(ctx context.Context) ([]snapkeep.Incident, error)
	// Get reads an incident (snapkeep.ErrNotFound when there is none).
	Get(ctx context.Context, id string) (*snapkeep.Incident, error)
}

// The notice maps of a mailing.
const (
	// MapNotices holds a mailing's first message: the incident notice, or
	// the digest.
	MapNotices = "notices"
	// MapResolved holds an incident mailing's resolved notice.
	MapResolved = "resolved"
)

// Values of Mailing.Pending: what the periodic trigger still has to send.
const (
	PendingDigest   = "digest"
	PendingResolved = "resolved"
)

// Mailing is one customer's part of a message snapkeep sends to many
// customers: an incident's notice and resolved notice, or a day's
// digest. Its fields are dynamo.Mailing's (see there).
type Mailing struct {
	MailingID  string
	CustomerID string
	Kind       snapkeep.NoticeKind
	IncidentID string
	RunIDs     []string
	Dropped    int
	Notices    map[string]snapkeep.Notice
	Resolved   map[string]snapkeep.Notice
	Pending    string
	DueAt      time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
	ExpiresAt  int64
}

// MailingRun adds one run to a customer's mailing; its fields are
// dynamo.MailingRun's (see there).
type MailingRun struct {
	MailingID, CustomerID string
	Kind                  snapkeep.NoticeKind
	IncidentID            string
	RunID                 string
	Pending               string
	DueAt                 time.Time
	ClosedBy              string
	MaxRuns               int
	ExpiresAt             time.Time
}

// MailingStore is the Mailings table (dynamo.MailingStore, converted).
type MailingStore interface {
	// AddRun adds a run to the mailing, creating it; false when the
	// mailing is full; snapkeep.ErrConflict when its ClosedBy message is
	// claimed already.
	AddRun(ctx context.Context, r MailingRun) (bool, error)
	// Get reads a mailing (snapkeep.ErrNotFound when there is none).
	Get(ctx context.Context, mailingID, customerID string) (*Mailing, error)
	// ClaimNotice, RecordNotice and ReleaseNotice work on the mailing's
	// notice map which (MapNotices, MapResolved) as RunStore's on a run.
	ClaimNotice(ctx context.Context, mailingID, customerID, which, channel string, n snapkeep.Notice, takeover func(snapkeep.Notice) bool) (snapkeep.Notice, bool, error)
	RecordNotice(ctx context.Context, mailingID, customerID, which, channel string, claimedAt time.Time, n snapkeep.Notice) error
	ReleaseNotice(ctx context.Context, mailingID, customerID, which, channel string, claimedAt time.Time) error
	// Done takes the mailing out of the pending index.
	Done(ctx context.Context, mailingID, customerID string) error
	// Pending lists up to limit mailings pending as pending and due by
	// dueBy.
	Pending(ctx context.Context, pending string, dueBy time.Time, limit int) ([]Mailing, error)
}

// Email is one customer email, as the service hands it to the Mailer.
type Email struct {
	// To and ToName are the recipient's address and display name.
	To, ToName string
	// Subject, Text and HTML are the rendered message.
	Subject, Text, HTML string
	// Broadcast is true for mail many customers get at once (incident,
	// resolved, digest); false for mail about one run of theirs.
	Broadcast bool
	// UnsubscribeURL is the customer's one-click preferences link (RFC
	// 8058), or "" when the customer has no preferences token.
	UnsubscribeURL string
	// Headers are extra X- headers (X-Snapkeep-Kind, X-Snapkeep-Run, ...).
	Headers map[string]string
}

// Mailer sends one email and returns its message id (the SES v2 adapter
// in functions/notify). A permanent failure is a
// *snapkeep.RejectedError; a rejection of the sender
// (snapkeep.RejectSender) fails the record, to be retried and, in the
// end, dead-lettered.
type Mailer interface {
	Send(ctx context.Context, e Email) (string, error)
}

// Poster posts one Block Kit payload to a Slack incoming webhook
// (shared/slack through the adapter in functions/notify). A permanent
// failure is a *snapkeep.RejectedError; no error ever contains the URL.
type Poster interface {
	Post(ctx context.Context, webhookURL string, payload []byte) error
}
