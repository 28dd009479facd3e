package main

import (
	"fmt"

	"github.com/snapkeep/snapkeep/infra/awslocal"
)

// Email is one message moto's SES accepted, decoded: the headers snapkeep
// sets, the text and HTML parts and the attachments' names.
type Email struct {
	// To are the recipients: the message's To header ("Name <address>"),
	// else the envelope's destinations.
	To []string
	// Subject is the decoded subject.
	Subject string
	// Kind is X-Snapkeep-Kind (customer messages: failure, recovery,
	// incident, resolved, digest); "" for ops' messages.
	Kind string
	// Run is X-Snapkeep-Run (a message about one run), Customer
	// X-Snapkeep-Customer, Incident X-Snapkeep-Incident (ops' alert and
	// resolution, and the incident and resolved notices), Mailing
	// X-Snapkeep-Mailing.
	Run, Customer, Incident, Mailing string
	// Text and HTML are the bodies.
	Text, HTML string
	// Attachments are the attached files' names.
	Attachments []string
	// Decoded is every part as decoded (text, HTML and the attachments'
	// bytes), for the leak check: a quoted-printable or base64 part can
	// split or hide a secret in Raw.
	Decoded string
	// Raw is the message as sent.
	Raw string
}

// decodeEmail reads a raw MIME message moto stored.
func decodeEmail(m awslocal.SentEmail) (Email, error) {
	e := Email{To: m.Recipients(), Subject: m.Subject, Raw: m.Raw}
	if m.Raw == "" {
		e.Text = m.Body
		return e, nil
	}
	msg, err := awslocal.ReadRaw(m.Raw)
	if err != nil {
		return e, fmt.Errorf("email %s: %w", m.MessageID, err)
	}
	if to, err := msg.Header.AddressList("To"); err == nil {
		e.To = e.To[:0]
		for _, a := range to {
			e.To = append(e.To, a.String())
		}
	}
	e.Subject = msg.Subject
	e.Kind = msg.Header.Get("X-Snapkeep-Kind")
	e.Run = msg.Header.Get("X-Snapkeep-Run")
	e.Customer = msg.Header.Get("X-Snapkeep-Customer")
	e.Incident = msg.Header.Get("X-Snapkeep-Incident")
	e.Mailing = msg.Header.Get("X-Snapkeep-Mailing")
	for _, p := range msg.Parts {
		e.Decoded += p.Body + "\n"
		switch {
		case p.Filename != "":
			e.Attachments = append(e.Attachments, p.Filename)
		case p.ContentType == "text/plain":
			e.Text += p.Body
		case p.ContentType == "text/html":
			e.HTML += p.Body
		}
	}
	return e, nil
}
