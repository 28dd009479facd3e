package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/notice"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// slot is where the notices of one message are recorded, per channel: a
// run's notices, or one notice map of a mailing.
type slot interface {
	claim(ctx context.Context, channel string, n snapkeep.Notice, takeover func(snapkeep.Notice) bool) (snapkeep.Notice, bool, error)
	record(ctx context.Context, channel string, claimedAt time.Time, n snapkeep.Notice) error
	release(ctx context.Context, channel string, claimedAt time.Time) error
	// logAttrs name the slot in log lines.
	logAttrs() []any
}

type runSlot struct {
	runs RunStore
	key  snapkeep.RunKey
}

func (r runSlot) claim(ctx context.Context, channel string, n snapkeep.Notice, takeover func(snapkeep.Notice) bool) (snapkeep.Notice, bool, error) {
	return r.runs.ClaimNotice(ctx, r.key, channel, n, takeover)
}

func (r runSlot) record(ctx context.Context, channel string, claimedAt time.Time, n snapkeep.Notice) error {
	return r.runs.RecordNotice(ctx, r.key, channel, claimedAt, n)
}

func (r runSlot) release(ctx context.Context, channel string, claimedAt time.Time) error {
	return r.runs.ReleaseNotice(ctx, r.key, channel, claimedAt)
}

func (r runSlot) logAttrs() []any { return []any{"run_id", r.key.RunID()} }

type mailingSlot struct {
	mailings              MailingStore
	mailingID, customerID string
	which                 string
}

func (m mailingSlot) claim(ctx context.Context, channel string, n snapkeep.Notice, takeover func(snapkeep.Notice) bool) (snapkeep.Notice, bool, error) {
	return m.mailings.ClaimNotice(ctx, m.mailingID, m.customerID, m.which, channel, n, takeover)
}

func (m mailingSlot) record(ctx context.Context, channel string, claimedAt time.Time, n snapkeep.Notice) error {
	return m.mailings.RecordNotice(ctx, m.mailingID, m.customerID, m.which, channel, claimedAt, n)
}

func (m mailingSlot) release(ctx context.Context, channel string, claimedAt time.Time) error {
	return m.mailings.ReleaseNotice(ctx, m.mailingID, m.customerID, m.which, channel, claimedAt)
}

func (m mailingSlot) logAttrs() []any { return []any{"mailing_id", m.mailingID, "map", m.which} }

// delivery is one rendered message for one customer.
type delivery struct {
	slot     slot
	customer *snapkeep.Customer
	kind     snapkeep.NoticeKind
	msg      notice.Message
	// headers are the X- headers of the email (X-Snapkeep-Run, ...).
	headers map[string]string
}

// errClaimed says another delivery holds a fresh claim on the message:
// the record is retried, and takes the claim over once it is stale.
var errClaimed = errors.New("another delivery is sending this message")

// tellAll tells d on every channel of its customer and returns the
// transient failures, joined (nil when every channel is settled: sent,
// told before, or recorded as not sendable).
func (s *Service) tellAll(ctx context.Context, d delivery) error {
	var errs []error
	for _, ch := range channels(d.customer) {
		if err := s.tell(ctx, d, ch); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ch, err))
		}
	}
	return errors.Join(errs...)
}

// tell sends d on channel exactly once: claim, send, record. It returns
// nil once the channel is settled, or a transient error (the claim is
// released so that the retry claims afresh).
func (s *Service) tell(ctx context.Context, d delivery, channel string) error {
	log := s.log().With(append(d.slot.logAttrs(), "channel", channel, "kind", string(d.kind), "customer_id", d.customer.CustomerID)...)
	if why, badData := unreachable(d.customer, channel, s.Slack != nil); why != "" {
		if badData {
			log.ErrorContext(ctx, "notice not sent: "+why+"; recorded, not retried")
		} else {
			log.WarnContext(ctx, "notice not sent: "+why)
		}
		return s.final(ctx, d.slot, channel, snapkeep.Notice{Kind: d.kind, At: s.now(), Error: "not sent: " + why})
	}
	claimedAt, ok, err := s.claim(ctx, d.slot, channel, d.kind)
	if err != nil || !ok {
		return err
	}
	id, err := s.send(ctx, d, channel)
	var rej *snapkeep.RejectedError
	switch {
	case err == nil:
		n := snapkeep.Notice{Kind: d.kind, ID: id, At: s.now()}
		if len(d.msg.Warnings) > 0 {
			n.Error = "sent, told in fallback words: " + strings.Join(d.msg.Warnings, "; ")
			log.WarnContext(ctx, "notice sent in fallback words", "warnings", d.msg.Warnings)
		}
		s.recordSent(ctx, log, d.slot, channel, claimedAt, n)
		log.InfoContext(ctx, "notice sent", "message_id", id)
		return nil
	case errors.As(err, &rej) && rej.Scope == snapkeep.RejectSender:
		s.releaseClaim(ctx, log, d.slot, channel, claimedAt)
		log.ErrorContext(ctx, "the deployment cannot send: check the sender identity, SES sandbox and sending status (not the customer's fault); the record is retried", "code", rej.Code, "error", rej.Reason)
		return fmt.Errorf("sender refused: %w", rej)
	case errors.As(err, &rej):
		n := snapkeep.Notice{Kind: d.kind, At: s.now(), Error: "not sent: " + rej.Error()}
		s.recordSent(ctx, log, d.slot, channel, claimedAt, n)
		log.WarnContext(ctx, "notice rejected for good; not retried", "scope", string(rej.Scope), "code", rej.Code, "error", rej.Reason)
		if rej.Scope == snapkeep.RejectRecipient {
			s.block(ctx, log, d.customer, channel, rej)
		}
		return nil
	default:
		s.releaseClaim(ctx, log, d.slot, channel, claimedAt)
		return fmt.Errorf("send %s notice: %w", d.kind, err)
	}
}

// claim claims the slot's channel for a message of kind. It returns
// (claim time, true) to send; (_, false, nil) when the channel is settled
// already (told before); errClaimed when another delivery's claim is
// fresh and does not go stale in the time this one has.
func (s *Service) claim(ctx context.Context, sl slot, channel string, kind snapkeep.NoticeKind) (time.Time, bool, error) {
	timeout := s.cfg().ClaimTimeout
	for round := 0; ; round++ {
		now := s.now()
		stale := func(e snapkeep.Notice) bool { return e.Kind == kind && e.At.Before(now.Add(-timeout)) }
		existing, ok, err := sl.claim(ctx, channel, snapkeep.Notice{Kind: kind, At: now}, stale)
		switch {
		case err != nil:
			return time.Time{}, false, fmt.Errorf("claim: %w", err)
		case ok:
			return now, true, nil
		case existing.ID != "" || existing.Error != "" || existing.Kind != kind:
			s.log().DebugContext(ctx, "notice settled before", append(sl.logAttrs(), "channel", channel, "kind", string(existing.Kind), "message_id", existing.ID)...)
			return time.Time{}, false, nil
		}
		// A fresh claim of another delivery (most likely one that crashed
		// between claim and record): wait until it is stale if that fits.
		wait := existing.At.Add(timeout).Sub(now) + time.Second
		if deadline, has := ctx.Deadline(); round > 0 || (has && time.Until(deadline) < wait+claimReserve) {
			return time.Time{}, false, fmt.Errorf("claimed at %s: %w", existing.At.Format(time.RFC3339), errClaimed)
		}
		if err := s.sleep(ctx, wait); err != nil {
			return time.Time{}, false, fmt.Errorf("wait for a claim to go stale: %w", err)
		}
	}
}

// final records a notice that sends nothing (held, waiting for the
// digest, skipped, or why the message cannot be sent): only if the
// channel has no notice yet, and never taken over.
func (s *Service) final(ctx context.Context, sl slot, channel string, n snapkeep.Notice) error {
	existing, ok, err := sl.claim(ctx, channel, n, nil)
	if err != nil {
		return fmt.Errorf("record %s notice: %w", n.Kind, err)
	}
	if !ok {
		s.log().DebugContext(ctx, "notice settled before", append(sl.logAttrs(), "channel", channel, "kind", string(existing.Kind))...)
	}
	return nil
}

// finals records n on each of the customer's channels.
func (s *Service) finals(ctx context.Context, sl slot, c *snapkeep.Customer, n snapkeep.Notice) error {
	var errs []error
	for _, ch := range channels(c) {
		errs = append(errs, s.final(ctx, sl, ch, n))
	}
	return errors.Join(errs...)
}

// unreachable says why the customer cannot get a message on channel, or
// "", and whether that is bad data (a customer without an address)
// rather than a known state (a blocked channel).
func unreachable(c *snapkeep.Customer, channel string, slackConfigured bool) (string, bool) {
	switch channel {
	case snapkeep.ChannelEmail:
		switch {
		case strings.TrimSpace(c.Email) == "":
			return "the customer has no email address", true
		case c.EmailBlocked != "":
			return "email to the customer is blocked: " + c.EmailBlocked, false
		}
	case snapkeep.ChannelSlack:
		switch {
		case !slackConfigured:
			return "this deployment sends no Slack messages", false
		case c.SlackBlocked != "":
			return "Slack messages to the customer are blocked: " + c.SlackBlocked, false
		}
	default:
		return "unknown channel " + channel, true
	}
	return "", false
}

// send sends d's message on channel and returns its id.
func (s *Service) send(ctx context.Context, d delivery, channel string) (string, error) {
	if channel == snapkeep.ChannelSlack {
		payload, err := d.msg.Slack.SlackPayload()
		if err != nil {
			return "", &snapkeep.RejectedError{Scope: snapkeep.RejectMessage, Code: "invalid_blocks", Reason: err.Error()}
		}
		if err := s.Slack.Post(ctx, d.customer.SlackWebhookURL, payload); err != nil {
			return "", err
		}
		return "slack-" + s.newID(), nil
	}
	e := Email{
		To: d.customer.Email, ToName: notice.HeaderSafe(d.customer.Name, 100),
		Subject: d.msg.Subject, Text: d.msg.Text, HTML: d.msg.HTML,
		Broadcast: d.kind == snapkeep.NoticeIncident || d.kind == snapkeep.NoticeResolved || d.kind == snapkeep.NoticeDigest,
		Headers:   map[string]string{"X-Snapkeep-Kind": string(d.kind), "X-Snapkeep-Customer": d.customer.CustomerID},
	}
	for k, v := range d.headers {
		e.Headers[k] = v
	}
	if d.customer.PreferencesToken != "" {
		e.UnsubscribeURL = s.Notices.Links().Preferences(d.customer)
	}
	return s.Email.Send(ctx, e)
}

// recordSent records the outcome of a send. A record that fails is
// logged, not returned: the message went out (or was refused for good),
// and failing the stream record would send it again.
func (s *Service) recordSent(ctx context.Context, log logger, sl slot, channel string, claimedAt time.Time, n snapkeep.Notice) {
	err := sl.record(ctx, channel, claimedAt, n)
	switch {
	case errors.Is(err, snapkeep.ErrConflict):
		log.WarnContext(ctx, "notice sent, but another delivery took the claim over meanwhile: the customer may get it twice", "message_id", n.ID)
	case err != nil:
		log.ErrorContext(ctx, "notice sent, but its outcome could not be recorded", "message_id", n.ID, "error", err.Error())
	}
}

// releaseClaim gives up a claim whose send failed, so that the retry
// claims afresh instead of waiting for it to go stale.
func (s *Service) releaseClaim(ctx context.Context, log logger, sl slot, channel string, claimedAt time.Time) {
	if err := sl.release(ctx, channel, claimedAt); err != nil {
		log.WarnContext(ctx, "could not release the claim; a retry takes it over once it is stale", "error", err.Error())
	}
}

// block stops the channel for the customer after a rejection of the
// recipient; the customer in hand is changed too, so that the rest of the
// batch sends nothing more on it.
func (s *Service) block(ctx context.Context, log logger, c *snapkeep.Customer, channel string, rej *snapkeep.RejectedError) {
	reason := fmt.Sprintf("%s (%s) on %s", rej.Reason, rej.Code, s.now().Format(time.RFC3339))
	if channel == snapkeep.ChannelEmail {
		c.EmailBlocked = reason
	} else {
		c.SlackBlocked = reason
	}
	if err := s.Customers.Block(ctx, c.CustomerID, channel, reason); err != nil {
		log.ErrorContext(ctx, "could not record the block on the customer", "error", err.Error())
		return
	}
	log.WarnContext(ctx, "channel blocked for the customer until support clears it", "reason", reason)
}

// logger is the part of *slog.Logger the helpers above use.
type logger interface {
	InfoContext(ctx context.Context, msg string, args ...any)
	WarnContext(ctx context.Context, msg string, args ...any)
	ErrorContext(ctx context.Context, msg string, args ...any)
}
