package notice

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Message is one rendered customer message, ready for any channel: the
// email adapter sends Subject, Text and HTML (multipart/alternative, text
// first); the Slack adapter posts Slack.SlackPayload().
type Message struct {
	// Kind says what the message is about.
	Kind snapkeep.NoticeKind
	// Subject is the email subject: one line, at most MaxSubject
	// characters, no control characters (HeaderSafe), leading with the
	// status and the object ("Backup failed: web-1 ...").
	Subject string
	// Preheader is the preview text mail clients show after the subject,
	// 40-140 characters; it is also hidden at the top of HTML.
	Preheader string
	// Text is the plain-text body, wrapped at 72 columns.
	Text string
	// HTML is the HTML body: a whole document with lang set.
	HTML string
	// Slack is the same content as a Block Kit message.
	Slack SlackMessage
	// Warnings are the parts of the input that could not be used as they
	// were, and what the message says instead (an unknown error class told
	// in internal wording, an unreadable schedule, an incident ignored
	// because it is not about DigitalOcean). The message is complete and
	// may be sent; callers should log each warning.
	Warnings []string
}

// Slack Block Kit limits (Slack's documentation). Lengths are checked in
// bytes, which is never less than Slack's count of characters, so a
// message that passes here is never rejected as too long.
const (
	SlackMaxBlocks     = 50
	SlackMaxHeader     = 150
	SlackMaxSection    = 3000
	SlackMaxContext    = 10
	SlackMaxTopLevel   = 40000
	slackContextLength = 3000
)

// SlackMessage is a Slack message in Block Kit, as an incoming webhook
// takes it.
type SlackMessage struct {
	// Text is the top-level fallback: Slack shows it in notifications and
	// screen readers read it. Always set (mrkdwn-escaped).
	Text string `json:"text"`
	// Blocks are the message's layout blocks.
	Blocks []Block `json:"blocks,omitempty"`
}

// Block is one Block Kit layout block: a header (Text, plain_text), a
// section (Text, mrkdwn), a context (Elements, mrkdwn) or a divider.
type Block struct {
	// Type is "header", "section", "context" or "divider".
	Type string `json:"type"`
	// Text is the header's or section's text.
	Text *TextObject `json:"text,omitempty"`
	// Elements are a context block's texts.
	Elements []TextObject `json:"elements,omitempty"`
}

// TextObject is a Block Kit text object.
type TextObject struct {
	// Type is "plain_text" or "mrkdwn".
	Type string `json:"type"`
	// Text is the text; in mrkdwn, &, < and > are escaped as &amp;, &lt;
	// and &gt; except in the links snapkeep writes (<url|label>).
	Text string `json:"text"`
}

// Check returns an error naming every Block Kit limit m breaks, or nil.
func (m SlackMessage) Check() error {
	var errs []error
	if m.Text == "" {
		errs = append(errs, errors.New("slack message: top-level text is empty"))
	}
	if len(m.Text) > SlackMaxTopLevel {
		errs = append(errs, fmt.Errorf("slack message: top-level text is %d bytes, over %d", len(m.Text), SlackMaxTopLevel))
	}
	if len(m.Blocks) > SlackMaxBlocks {
		errs = append(errs, fmt.Errorf("slack message: %d blocks, over %d", len(m.Blocks), SlackMaxBlocks))
	}
	for i, b := range m.Blocks {
		switch b.Type {
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" || len(b.Text.Text) > SlackMaxHeader {
				errs = append(errs, fmt.Errorf("slack message: block %d: a header needs plain_text of at most %d bytes", i, SlackMaxHeader))
			}
		case "section":
			if b.Text == nil || b.Text.Text == "" || len(b.Text.Text) > SlackMaxSection {
				errs = append(errs, fmt.Errorf("slack message: block %d: a section needs text of 1-%d bytes", i, SlackMaxSection))
			}
		case "context":
			if len(b.Elements) == 0 || len(b.Elements) > SlackMaxContext {
				errs = append(errs, fmt.Errorf("slack message: block %d: a context needs 1-%d elements", i, SlackMaxContext))
			}
			for _, e := range b.Elements {
				if len(e.Text) > slackContextLength {
					errs = append(errs, fmt.Errorf("slack message: block %d: a context element is over %d bytes", i, slackContextLength))
				}
			}
		case "divider":
		default:
			errs = append(errs, fmt.Errorf("slack message: block %d: unknown type %q", i, b.Type))
		}
	}
	return errors.Join(errs...)
}

// SlackPayload returns the JSON body an incoming webhook takes, after
// checking Block Kit's limits (Check). HTML characters are not escaped as
// \u003c: the mrkdwn text is escaped already.
func (m SlackMessage) SlackPayload() ([]byte, error) {
	if err := m.Check(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("slack message: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
