package email

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/snapkeep/snapkeep/shared/backoff"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Client is the part of *sesv2.Client the Sender uses, with the SDK's own
// method signatures, so that a test fake is a struct of function fields.
type Client interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, optFns ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
	GetSuppressedDestination(ctx context.Context, in *sesv2.GetSuppressedDestinationInput, optFns ...func(*sesv2.Options)) (*sesv2.GetSuppressedDestinationOutput, error)
}

var _ Client = (*sesv2.Client)(nil)

// Stream is a kind of mail with its own sender, configuration set and
// List-Id, so that receivers (and SES's reputation metrics) tell them
// apart: Gmail and Yahoo ask that transactional and broadcast mail be kept
// apart.
type Stream string

// Streams.
const (
	// Transactional is mail about one event of the reader's: a failed
	// backup, a recovery, an ops alert.
	Transactional Stream = "transactional"
	// Broadcast is mail to many customers at once: incident notices,
	// digests.
	Broadcast Stream = "broadcast"
)

// StreamConfig is how one Stream's mail goes out.
type StreamConfig struct {
	// From is the verified SES sender (template: SenderAddress; parse a
	// configured string with ParseAddress). Used when the message has no
	// From.
	From Address
	// ReplyTo, if set, is used when the message has no Reply-To.
	ReplyTo []Address
	// ConfigurationSet is the SES configuration set; empty means none
	// (template: SESConfigurationSet).
	ConfigurationSet string
	// ListID is used when the message has no List-Id.
	ListID ListID
	// RequireUnsubscribe makes Send refuse a message of this stream without
	// an unsubscribe URL (subscription-style mail must have one-click
	// unsubscribe, RFC 8058).
	RequireUnsubscribe bool
}

// Sender sends Messages through SES v2 as raw MIME (Content.Raw: SES's
// Simple content would drop List-Unsubscribe and the other headers). It is
// safe for concurrent use when its fields are not changed.
type Sender struct {
	// Client is the SES v2 client.
	Client Client
	// Streams configures each stream a message may name.
	Streams map[Stream]StreamConfig
	// Builder writes the MIME.
	Builder Builder
	// Backoff bounds the retries of throttled sends; zero means
	// DefaultBackoff.
	Backoff Backoff
	// Sleep waits between attempts; nil means a timer that stops when ctx
	// is done. Tests inject one that records the waits.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1) for the random half of each wait;
	// nil means math/rand/v2.
	Jitter func() float64
	// Logger gets a line per retry and per skipped suppression check (no
	// message content); nil means slog.Default().
	Logger *slog.Logger
}

// Sent is what Send did.
type Sent struct {
	// MessageID is SES's id of the message (SendEmailOutput.MessageId),
	// which SES also puts in the Message-ID it sends.
	MessageID string
	// Attempts counts the SendEmail calls made.
	Attempts int
	// SuppressionUnchecked, when not empty, says why the suppression list
	// could not be read before sending (the send went ahead regardless):
	// e.g. a missing IAM grant, or a local SES without the API.
	SuppressionUnchecked string
}

// Send builds m (filling From, Reply-To and List-Id from its stream's
// config where m has none), checks that no recipient is on the account's
// suppression list, and sends it, retrying throttling and server errors
// with backoff. A permanent failure is a *Rejected (Permanent reports
// true): a suppressed or invalid recipient, or SES refusing the message or
// the sender. Bad input is an error wrapping snapkeep.ErrInvalid.
func (s *Sender) Send(ctx context.Context, m Message) (Sent, error) {
	m, cfg, err := s.prepare(m)
	if err != nil {
		return Sent{}, err
	}
	raw, err := s.Builder.Build(m)
	if err != nil {
		return Sent{}, err
	}
	to := make([]string, len(m.To))
	for i, r := range m.To {
		to[i] = r.Email // checked by Build
	}
	unchecked, err := s.checkSuppressed(ctx, to)
	if err != nil {
		return Sent{}, err
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.From.Email),
		Destination:      &types.Destination{ToAddresses: to},
		Content:          &types.EmailContent{Raw: &types.RawMessage{Data: raw}},
		EmailTags:        []types.MessageTag{{Name: aws.String("stream"), Value: aws.String(string(m.Stream))}},
	}
	if cfg.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(cfg.ConfigurationSet)
	}
	id, attempts, err := s.sendWithRetry(ctx, in)
	return Sent{MessageID: id, Attempts: attempts, SuppressionUnchecked: unchecked}, err
}

// prepare fills m from its stream's config and checks what Build does not:
// the stream, the unsubscribe URL the stream requires, and the recipients
// (an address net/mail cannot parse is a permanent rejection of that
// recipient, not a bug).
func (s *Sender) prepare(m Message) (Message, StreamConfig, error) {
	cfg, ok := s.Streams[m.Stream]
	if !ok {
		return m, cfg, fmt.Errorf("email: stream %q is not configured (%d streams are): %w", m.Stream, len(s.Streams), snapkeep.ErrInvalid)
	}
	if m.From.Email == "" {
		m.From = cfg.From
	}
	if len(m.ReplyTo) == 0 {
		m.ReplyTo = cfg.ReplyTo
	}
	if m.ListID.ID == "" {
		m.ListID = cfg.ListID
	}
	if cfg.RequireUnsubscribe && m.Unsubscribe.URL == "" {
		return m, cfg, fmt.Errorf("email: %s mail needs an unsubscribe URL (RFC 8058 one-click): %w", m.Stream, snapkeep.ErrInvalid)
	}
	for _, r := range m.To {
		if _, err := checkAddress("to", r); err != nil {
			return m, cfg, &Rejected{Code: CodeInvalidAddress, Reason: CleanHeader(err.Error(), MaxReason), Scope: ScopeRecipient, Recipient: CleanHeader(r.Email, MaxAddress)}
		}
	}
	return m, cfg, nil
}

// checkSuppressed returns a *Rejected when one of the addresses is on the
// account's suppression list. When the list cannot be read it returns why,
// and no error: a send must not fail because a safety check could not run.
func (s *Sender) checkSuppressed(ctx context.Context, to []string) (unchecked string, err error) {
	for _, addr := range to {
		out, err := s.Client.GetSuppressedDestination(ctx, &sesv2.GetSuppressedDestinationInput{EmailAddress: aws.String(addr)})
		var nf *types.NotFoundException
		switch {
		case errors.As(err, &nf):
			continue
		case err != nil:
			if ctx.Err() != nil {
				return "", fmt.Errorf("email: check suppression list: %w", ctx.Err())
			}
			why := CleanHeader(err.Error(), MaxReason)
			s.logger().WarnContext(ctx, "email: suppression list not checked; sending anyway", "error", why)
			return why, nil
		case out.SuppressedDestination != nil:
			d := out.SuppressedDestination
			reason := fmt.Sprintf("on the SES account's suppression list (%s", d.Reason)
			if d.LastUpdateTime != nil {
				reason += " since " + d.LastUpdateTime.UTC().Format(time.RFC3339)
			}
			return "", &Rejected{Code: CodeSuppressed, Reason: reason + ")", Scope: ScopeRecipient, Recipient: addr}
		}
	}
	return "", nil
}

// sendWithRetry calls SendEmail until it succeeds, fails permanently, or
// the backoff's attempts are spent. The SDK's own retryer is switched off
// for the call, so every attempt is one of ours: counted, logged and
// waited for on Sleep.
func (s *Sender) sendWithRetry(ctx context.Context, in *sesv2.SendEmailInput) (string, int, error) {
	b := s.Backoff.Or(DefaultBackoff)
	noSDKRetry := func(o *sesv2.Options) { o.Retryer = aws.NopRetryer{} }
	for n := 1; ; n++ {
		out, err := s.Client.SendEmail(ctx, in, noSDKRetry)
		if err == nil {
			return aws.ToString(out.MessageId), n, nil
		}
		v, rej := classify(err)
		switch {
		case v == reject:
			return "", n, rej
		case v == giveUp:
			return "", n, fmt.Errorf("email: send: %w", err)
		case n >= b.Attempts:
			return "", n, fmt.Errorf("email: send: still throttled or failing after %d attempts: %w", n, err)
		}
		d := b.Wait(n, s.jitter())
		s.logger().WarnContext(ctx, "email: send throttled or failed; retrying", "attempt", n, "wait", d.String(), "error", CleanHeader(err.Error(), MaxReason))
		if err := s.sleep()(ctx, d); err != nil {
			return "", n, fmt.Errorf("email: send: waiting to retry after %d attempts: %w", n, err)
		}
	}
}

func (s *Sender) sleep() func(context.Context, time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep
	}
	return backoff.Sleep
}

func (s *Sender) jitter() func() float64 {
	if s.Jitter != nil {
		return s.Jitter
	}
	return backoff.Jitter
}

func (s *Sender) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}
