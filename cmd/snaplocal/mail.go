package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"

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
	msg, err := mail.ReadMessage(strings.NewReader(m.Raw))
	if err != nil {
		return e, fmt.Errorf("email %s: %w", m.MessageID, err)
	}
	if to, err := msg.Header.AddressList("To"); err == nil {
		e.To = e.To[:0]
		for _, a := range to {
			e.To = append(e.To, a.String())
		}
	}
	if s, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err == nil {
		e.Subject = s
	}
	e.Kind = msg.Header.Get("X-Snapkeep-Kind")
	e.Run = msg.Header.Get("X-Snapkeep-Run")
	e.Customer = msg.Header.Get("X-Snapkeep-Customer")
	e.Incident = msg.Header.Get("X-Snapkeep-Incident")
	e.Mailing = msg.Header.Get("X-Snapkeep-Mailing")
	if err := e.walk(msg.Header.Get("Content-Type"), partHeader(msg.Header), msg.Body); err != nil {
		return e, fmt.Errorf("email %s: %w", m.MessageID, err)
	}
	return e, nil
}

// partHeader is a message's or a part's header, read by canonical key.
type partHeader map[string][]string

func (h partHeader) get(k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// walk collects the leaf parts of a (multipart) body.
func (e *Email) walk(contentType string, h partHeader, body io.Reader) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := e.walk(p.Header.Get("Content-Type"), partHeader(p.Header), p); err != nil {
				return err
			}
		}
	}
	var r io.Reader = body
	switch strings.ToLower(h.get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	e.Decoded += string(b) + "\n"
	if _, dp, err := mime.ParseMediaType(h.get("Content-Disposition")); err == nil && dp["filename"] != "" {
		e.Attachments = append(e.Attachments, dp["filename"])
		return nil
	}
	switch mt {
	case "text/plain":
		e.Text += string(b)
	case "text/html":
		e.HTML += string(b)
	}
	return nil
}
