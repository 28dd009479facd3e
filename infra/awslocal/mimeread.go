package awslocal

import (
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// Received is a raw message read back as its recipient's mail program
// would: the header, the subject decoded, the tree of media types and the
// leaf parts with their transfer encoding undone.
type Received struct {
	// Header is the message's header as sent.
	Header mail.Header
	// Subject is the Subject header with RFC 2047 encoded words decoded.
	Subject string
	// Structure is the tree of media types, e.g.
	// "multipart/mixed(multipart/alternative(text/plain,text/html),text/csv)".
	Structure string
	// Parts are the leaf parts in the order sent.
	Parts []Part
}

// Part is one leaf part of a message.
type Part struct {
	// ContentType is the media type without parameters, e.g. "text/html".
	ContentType string
	// Filename is the Content-Disposition filename; "" for an inline part.
	Filename string
	// Body is the part's content, its quoted-printable or base64 undone.
	Body string
}

// ReadRaw reads a raw MIME message (SentEmail.Raw). A header, media type
// or encoding that does not parse is an error naming it.
func ReadRaw(raw string) (Received, error) {
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		return Received{}, fmt.Errorf("read message: %w", err)
	}
	r := Received{Header: msg.Header}
	if r.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return r, fmt.Errorf("subject: %w", err)
	}
	r.Structure, err = r.walk(msg.Header.Get("Content-Type"), msg.Header.Get, msg.Body)
	return r, err
}

// walk appends the leaf parts of an entity to r.Parts and returns the
// entity's structure.
func (r *Received) walk(contentType string, header func(string) string, body io.Reader) (string, error) {
	if contentType == "" {
		contentType = "text/plain" // RFC 2045's default
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		var kids []string
		for {
			p, err := mr.NextRawPart() // NextPart would undo quoted-printable and hide it
			if err == io.EOF {
				return mt + "(" + strings.Join(kids, ",") + ")", nil
			}
			if err != nil {
				return "", fmt.Errorf("%s: %w", mt, err)
			}
			kid, err := r.walk(p.Header.Get("Content-Type"), p.Header.Get, p)
			if err != nil {
				return "", fmt.Errorf("%s: %w", mt, err)
			}
			kids = append(kids, kid)
		}
	}
	var dec io.Reader = body
	switch strings.ToLower(header("Content-Transfer-Encoding")) {
	case "quoted-printable":
		dec = quotedprintable.NewReader(body)
	case "base64":
		dec = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(dec)
	if err != nil {
		return "", fmt.Errorf("%s part: %w", mt, err)
	}
	part := Part{ContentType: mt, Body: string(b)}
	if d := header("Content-Disposition"); d != "" {
		if _, dp, err := mime.ParseMediaType(d); err == nil {
			part.Filename = dp["filename"]
		} else {
			return "", fmt.Errorf("content disposition %q: %w", d, err)
		}
	}
	r.Parts = append(r.Parts, part)
	return mt, nil
}
