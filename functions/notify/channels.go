package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/snapkeep/snapkeep/shared/email"
	"github.com/snapkeep/snapkeep/shared/notify"
	"github.com/snapkeep/snapkeep/shared/slack"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// sesMailer is notify's Mailer over shared/email's SES v2 sender: it
// picks the stream, sets the one-click unsubscribe link, and turns the
// sender's permanent failures into *snapkeep.RejectedError.
type sesMailer struct{ sender *email.Sender }

// Send implements notify.Mailer.
func (m sesMailer) Send(ctx context.Context, e notify.Email) (string, error) {
	msg := email.Message{
		Stream:  email.Transactional,
		To:      []email.Address{{Name: e.ToName, Email: e.To}},
		Subject: e.Subject, Text: e.Text, HTML: e.HTML,
		Headers: e.Headers,
	}
	if e.Broadcast {
		msg.Stream = email.Broadcast
	}
	if e.UnsubscribeURL != "" {
		msg.Unsubscribe = email.Unsubscribe{URL: e.UnsubscribeURL}
	}
	sent, err := m.sender.Send(ctx, msg)
	if err == nil {
		return sent.MessageID, nil
	}
	var rej *email.Rejected
	switch {
	case errors.As(err, &rej):
		return "", rej.Domain()
	case errors.Is(err, snapkeep.ErrInvalid):
		return "", &snapkeep.RejectedError{Scope: snapkeep.RejectMessage, Code: "InvalidMessage", Reason: err.Error()}
	}
	return "", err
}

// slackPoster is notify's Poster over shared/slack: a webhook that is
// gone or forbids posting (403, 404, 410) or a URL that is not a webhook
// is the recipient's scope; any other refusal the message's.
type slackPoster struct{ client *slack.Client }

// Post implements notify.Poster.
func (p slackPoster) Post(ctx context.Context, webhookURL string, payload []byte) error {
	if len(payload) > slack.MaxPayloadBytes {
		return &snapkeep.RejectedError{Scope: snapkeep.RejectMessage, Code: "payload_too_large",
			Reason: fmt.Sprintf("the Block Kit payload is %d bytes, over %d", len(payload), slack.MaxPayloadBytes)}
	}
	err := p.client.Post(ctx, webhookURL, payload)
	var rej *slack.Rejected
	switch {
	case err == nil:
		return nil
	case errors.As(err, &rej):
		scope := snapkeep.RejectMessage
		if rej.Status == 403 || rej.Status == 404 || rej.Status == 410 {
			scope = snapkeep.RejectRecipient
		}
		code := rej.Code
		if code == "" {
			code = "no_error_code"
		}
		return &snapkeep.RejectedError{Scope: scope, Code: fmt.Sprintf("HTTP %d %s", rej.Status, code), Reason: rej.Error()}
	case errors.Is(err, snapkeep.ErrInvalid):
		// The payload was checked above and by notice: it is the URL.
		return &snapkeep.RejectedError{Scope: snapkeep.RejectRecipient, Code: "invalid_webhook_url", Reason: err.Error()}
	}
	return err
}
