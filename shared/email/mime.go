package email

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// MaxMessageBytes bounds a built message. SES v2 accepts up to 40 MB, but
// many receiving servers refuse more than 10-25 MB; snapkeep's reports
// are far smaller.
const MaxMessageBytes = 10 << 20

// MaxRecipients bounds To (SES allows 50 recipients per message).
const MaxRecipients = 50

// Message is one email, as Build writes it. Every string is cleaned of
// control characters and capped before it goes into a header (see
// CleanHeader), so customer- and provider-controlled text is safe here.
type Message struct {
	// Stream says which of the Sender's streams (From, configuration set,
	// List-Id) the message goes out on; Build ignores it.
	Stream Stream
	// From is the sender. Required.
	From Address
	// To lists the recipients: at least one, at most MaxRecipients.
	To []Address
	// ReplyTo, if set, lists where replies go (support, not the sender).
	ReplyTo []Address
	// Subject is required; it is cut to MaxSubject characters.
	Subject string
	// Text is the text/plain body. Required: it is the part screen readers,
	// text-only clients and previews rely on.
	Text string
	// HTML, if set, is the text/html alternative, written last (RFC 2046
	// §5.1.4: the last alternative is the preferred one).
	HTML string
	// Attachments, if any, follow the body in a multipart/mixed message.
	Attachments []Attachment
	// ListID, if set, is written as the List-Id header (RFC 2919).
	ListID ListID
	// Unsubscribe, if set, is written as List-Unsubscribe and
	// List-Unsubscribe-Post (RFC 2369, RFC 8058).
	Unsubscribe Unsubscribe
	// Headers are extra headers, named "X-..." (e.g. "X-Snapkeep-Run");
	// each value is cleaned and cut to MaxHeaderValue characters. They are
	// written sorted by name.
	Headers map[string]string
}

// Attachment is a file attached to a Message, sent base64-encoded.
type Attachment struct {
	// Filename is the name the reader sees ("errors-2026-11-24.csv"); path
	// separators are replaced and it is cut to MaxFilename characters.
	// Non-ASCII names are written per RFC 2231.
	Filename string
	// ContentType is the media type, e.g. "text/csv; charset=utf-8";
	// empty means application/octet-stream.
	ContentType string
	// Data is the file's content.
	Data []byte
}

// ListID names a mailing list for the List-Id header (RFC 2919), which
// lets receivers and their filters tell snapkeep's streams apart.
type ListID struct {
	// Name is the list's description, e.g. "Snapkeep backup notices".
	Name string
	// ID is the list's identifier, a dot-atom under a domain snapkeep
	// controls, e.g. "notices.snapkeep.example". Empty means no List-Id.
	ID string
}

// Unsubscribe is the one-click unsubscribe of a subscription-style email
// (RFC 8058): mail clients POST "List-Unsubscribe=One-Click" to URL.
type Unsubscribe struct {
	// URL is the https URL that unsubscribes on POST (never on GET: mail
	// software prefetches links); http is accepted only to a loopback
	// host (CheckUnsubscribeURL). It must carry an opaque, hard-to-guess
	// token. Empty means no List-Unsubscribe header at all.
	URL string
	// Mailto, if set, is a second, mailto: way to unsubscribe, e.g.
	// "mailto:unsubscribe@example.com?subject=unsubscribe".
	Mailto string
}

// Builder writes Messages as MIME (RFC 5322, RFC 2045-2047). The zero value
// is ready to use; tests inject Now and NewID for byte-identical output.
type Builder struct {
	// Now gives the Date header; nil means time.Now. (SES replaces Date
	// and Message-ID when it sends.)
	Now func() time.Time
	// NewID returns a value unique to each message, made of letters,
	// digits, '.', '-' and '_', used for the Message-ID's left part and the
	// MIME boundaries; nil means 128 random bits in hex.
	NewID func() string
	// MessageIDDomain is the Message-ID's right part; empty means the From
	// address's domain.
	MessageIDDomain string
}

// idPattern is what Builder.NewID must return (it goes into Message-ID and
// MIME boundaries verbatim).
var idPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,40}$`)

// Build returns m as a MIME message ready for SES's raw SendEmail, with
// CRLF line ends and no line over MaxLine bytes: a text/plain part, or a
// multipart/alternative of text/plain then text/html, inside a
// multipart/mixed with the attachments when there are any. Bodies are UTF-8
// in quoted-printable, attachments base64. Bad input (a missing field, an
// address net/mail cannot parse, an extra header not named X-...) gives an
// error wrapping snapkeep.ErrInvalid that says what is wrong.
func (b Builder) Build(m Message) ([]byte, error) {
	h, err := b.headers(m)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for _, f := range h.fields {
		buf.WriteString(f.name + ": " + f.value + "\r\n")
	}
	if err := writeBody(&buf, m, h.id); err != nil {
		return nil, err
	}
	if buf.Len() > MaxMessageBytes {
		return nil, fmt.Errorf("email: message is %d bytes, at most %d allowed: %w", buf.Len(), MaxMessageBytes, snapkeep.ErrInvalid)
	}
	return buf.Bytes(), nil
}

// field is one header, its value already encoded and folded.
type field struct{ name, value string }

// builtHeaders are a message's top-level headers, in writing order, and
// the id its boundaries are made of.
type builtHeaders struct {
	fields []field
	id     string
}

// headers checks m and returns its top-level headers except the
// Content-Type, which writeBody adds.
func (b Builder) headers(m Message) (builtHeaders, error) {
	from, err := checkAddress("from", m.From)
	if err != nil {
		return builtHeaders{}, err
	}
	to, err := parseAddresses("to", m.To)
	if err != nil {
		return builtHeaders{}, err
	}
	replyTo, err := parseAddresses("reply-to", m.ReplyTo)
	if err != nil {
		return builtHeaders{}, err
	}
	subject := CleanHeader(m.Subject, MaxSubject)
	if subject == "" {
		return builtHeaders{}, fmt.Errorf("email: subject is empty: %w", snapkeep.ErrInvalid)
	}
	if strings.TrimSpace(m.Text) == "" {
		return builtHeaders{}, fmt.Errorf("email: text body is empty (every message needs its text/plain part): %w", snapkeep.ErrInvalid)
	}
	id, err := b.id()
	if err != nil {
		return builtHeaders{}, err
	}
	domain := b.MessageIDDomain
	if domain == "" {
		domain = from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	}
	fs := []field{{"From", formatAddresses("From", []*mail.Address{from})}}
	if len(replyTo) > 0 {
		fs = append(fs, field{"Reply-To", formatAddresses("Reply-To", replyTo)})
	}
	fs = append(fs,
		field{"To", formatAddresses("To", to)},
		field{"Subject", encodeText("Subject", subject)},
		field{"Date", b.now().Format(time.RFC1123Z)},
		field{"Message-ID", "<" + id + "@" + CleanHeader(domain, MaxAddress) + ">"},
	)
	list, err := listFields(m.ListID, m.Unsubscribe)
	if err != nil {
		return builtHeaders{}, err
	}
	extra, err := extraFields(m.Headers)
	if err != nil {
		return builtHeaders{}, err
	}
	fs = append(append(append(fs, list...), extra...), field{"MIME-Version", "1.0"})
	return builtHeaders{fields: fs, id: id}, nil
}

func (b Builder) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// id returns the message's unique id from NewID, or a random one.
func (b Builder) id() (string, error) {
	if b.NewID == nil {
		var r [16]byte
		if _, err := rand.Read(r[:]); err != nil {
			return "", fmt.Errorf("email: message id: %w", err)
		}
		return hex.EncodeToString(r[:]), nil
	}
	id := b.NewID()
	if !idPattern.MatchString(id) {
		return "", fmt.Errorf("email: Builder.NewID returned %q: want 1-40 letters, digits, '.', '-' or '_': %w", snapkeep.Bound(id, 60), snapkeep.ErrInvalid)
	}
	return id, nil
}

// parseAddresses parses each address of a list header.
func parseAddresses(field string, list []Address) ([]*mail.Address, error) {
	if field == "to" && len(list) == 0 {
		return nil, fmt.Errorf("email: no recipient: %w", snapkeep.ErrInvalid)
	}
	if len(list) > MaxRecipients {
		return nil, fmt.Errorf("email: %d %s addresses, at most %d allowed: %w", len(list), field, MaxRecipients, snapkeep.ErrInvalid)
	}
	out := make([]*mail.Address, 0, len(list))
	for _, s := range list {
		a, err := checkAddress(field, s)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// listFields returns the List-Id, List-Unsubscribe and
// List-Unsubscribe-Post headers that l and u ask for.
func listFields(l ListID, u Unsubscribe) ([]field, error) {
	var fs []field
	if l.ID != "" {
		if !listIDPattern.MatchString(l.ID) || len(l.ID) > 255 {
			return nil, fmt.Errorf("email: list id %q must be a dot-atom under a domain, such as notices.example.com: %w", snapkeep.Bound(l.ID, 100), snapkeep.ErrInvalid)
		}
		words := []string{"<" + l.ID + ">"}
		if name := CleanHeader(l.Name, MaxHeaderValue); name != "" {
			words = append(phraseWords(name, len("List-Id: ")), words...)
		}
		fs = append(fs, field{"List-Id", foldWords(len("List-Id: "), words)})
	}
	if u.URL == "" {
		if u.Mailto != "" {
			return nil, fmt.Errorf("email: an unsubscribe mailto needs an https unsubscribe URL too (RFC 8058 one-click): %w", snapkeep.ErrInvalid)
		}
		return fs, nil
	}
	if err := CheckUnsubscribeURL(u.URL); err != nil {
		return nil, err
	}
	words := []string{"<" + u.URL + ">"}
	if u.Mailto != "" {
		if err := checkURI(u.Mailto, "mailto"); err != nil {
			return nil, err
		}
		words = []string{words[0] + ",", "<" + u.Mailto + ">"}
	}
	return append(fs,
		field{"List-Unsubscribe", foldWords(len("List-Unsubscribe: "), words)},
		field{"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
	), nil
}

// CheckUnsubscribeURL checks the one-click unsubscribe URL of
// List-Unsubscribe (RFC 8058): https with a host and no user, or http
// to a loopback host (localhost, 127.0.0.1, ::1) — a local stack's app,
// which no mail provider could reach anyway — and checkURI's rules for
// what may stand in the header. A bad URL is an error wrapping
// snapkeep.ErrInvalid that says what is wrong.
func CheckUnsubscribeURL(s string) error {
	if u, err := url.Parse(s); err == nil && u.Scheme == "http" && loopbackHost(u.Hostname()) {
		return checkURI(s, "http")
	}
	return checkURI(s, "https")
}

// loopbackHost reports whether host (without port or brackets) names
// this machine: localhost or a loopback IP literal of its own
// (127.0.0.1, ::1). Names that merely resolve to a loopback address
// do not count: the check must not depend on DNS.
func loopbackHost(host string) bool {
	switch strings.ToLower(host) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// checkURI checks that s is a URI with the given scheme that can stand in
// angle brackets in List-Unsubscribe: ASCII, no white space, no control
// characters, no '<', '>' or ',' (RFC 2369 wants those escaped), at most
// MaxURI bytes; an http or https URI needs a host and no user.
func checkURI(s, scheme string) error {
	bad := func(why string) error {
		return fmt.Errorf("email: unsubscribe %s URI %s: %w", scheme, why, snapkeep.ErrInvalid)
	}
	if len(s) > MaxURI {
		return bad(fmt.Sprintf("is %d bytes long, at most %d allowed", len(s), MaxURI))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 0x20 || c > 0x7e || c == '<' || c == '>' || c == ',' {
			return bad("has a character it must percent-encode (white space, control, non-ASCII, '<', '>' or ',')")
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != scheme {
		if scheme == "https" {
			return bad("must start with https: (http only to localhost, 127.0.0.1 or [::1])")
		}
		return bad("must start with " + scheme + ":")
	}
	if (scheme == "https" || scheme == "http") && (u.Host == "" || u.User != nil) {
		return bad("must name a host and no user")
	}
	if scheme == "mailto" && u.Opaque == "" {
		return bad("must name an address")
	}
	return nil
}

// extraFields returns the X- headers sorted by name.
func extraFields(h map[string]string) ([]field, error) {
	names := make([]string, 0, len(h))
	for k := range h {
		if !headerName.MatchString(k) {
			return nil, fmt.Errorf("email: extra header %q: names must be X- followed by letters, digits and '-' (at most 64 characters): %w", snapkeep.Bound(k, 80), snapkeep.ErrInvalid)
		}
		names = append(names, k)
	}
	sort.Strings(names)
	fs := make([]field, 0, len(names))
	for _, k := range names {
		name := textproto.CanonicalMIMEHeaderKey(k)
		fs = append(fs, field{name, encodeText(name, CleanHeader(h[k], MaxHeaderValue))})
	}
	return fs, nil
}

// writeBody writes the body's Content-Type (and Content-Transfer-Encoding),
// the blank line and the body: the text and HTML alternatives, wrapped in a
// multipart/mixed with the attachments when there are any.
func writeBody(w *bytes.Buffer, m Message, id string) error {
	h, body, err := alternatives(m, id)
	if err != nil {
		return err
	}
	if len(m.Attachments) > 0 {
		var mixed bytes.Buffer
		mw := multipart.NewWriter(&mixed)
		if err := mw.SetBoundary("=_mixed_" + id); err != nil {
			return fmt.Errorf("email: boundary: %w", err)
		}
		pw, err := mw.CreatePart(h)
		if err != nil {
			return fmt.Errorf("email: body part: %w", err)
		}
		if _, err := pw.Write(body); err != nil {
			return fmt.Errorf("email: body part: %w", err)
		}
		for i, a := range m.Attachments {
			if err := writeAttachment(mw, a); err != nil {
				return fmt.Errorf("email: attachment %d: %w", i+1, err)
			}
		}
		if err := mw.Close(); err != nil {
			return fmt.Errorf("email: close multipart/mixed: %w", err)
		}
		h = textproto.MIMEHeader{"Content-Type": {mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": mw.Boundary()})}}
		body = mixed.Bytes()
	}
	for _, k := range []string{"Content-Type", "Content-Transfer-Encoding"} {
		if v := h.Get(k); v != "" {
			w.WriteString(k + ": " + v + "\r\n")
		}
	}
	w.WriteString("\r\n")
	w.Write(body)
	return nil
}

// alternatives returns the headers and content of the message's body: the
// text part alone, or a multipart/alternative of text then HTML.
func alternatives(m Message, id string) (textproto.MIMEHeader, []byte, error) {
	qpHeader := func(ctype string) textproto.MIMEHeader {
		return textproto.MIMEHeader{
			"Content-Type":              {ctype + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		}
	}
	var buf bytes.Buffer
	if m.HTML == "" {
		if err := writeQP(&buf, m.Text); err != nil {
			return nil, nil, fmt.Errorf("email: text part: %w", err)
		}
		return qpHeader("text/plain"), buf.Bytes(), nil
	}
	alt := multipart.NewWriter(&buf)
	if err := alt.SetBoundary("=_alt_" + id); err != nil {
		return nil, nil, fmt.Errorf("email: boundary: %w", err)
	}
	for _, p := range []struct{ ctype, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		pw, err := alt.CreatePart(qpHeader(p.ctype))
		if err == nil {
			err = writeQP(pw, p.body)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("email: %s part: %w", p.ctype, err)
		}
	}
	if err := alt.Close(); err != nil {
		return nil, nil, fmt.Errorf("email: close multipart/alternative: %w", err)
	}
	h := textproto.MIMEHeader{"Content-Type": {mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": alt.Boundary()})}}
	return h, buf.Bytes(), nil
}

// writeQP writes s, as UTF-8 with CRLF line ends, in quoted-printable
// (lines of at most 76 characters), ending with a line break.
func writeQP(w io.Writer, s string) error {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	qp := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qp, s); err != nil {
		return err
	}
	return qp.Close()
}

// writeAttachment writes one attachment part, base64 in lines of 76.
func writeAttachment(mw *multipart.Writer, a Attachment) error {
	name := CleanHeader(strings.NewReplacer("/", "_", `\`, "_").Replace(a.Filename), MaxFilename)
	name = strings.TrimLeft(name, ". ")
	if name == "" {
		return fmt.Errorf("file name is empty: %w", snapkeep.ErrInvalid)
	}
	ctype := a.ContentType
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil || strings.HasPrefix(mt, "multipart/") {
		return fmt.Errorf("content type %q is not a single media type such as text/csv: %w", snapkeep.Bound(ctype, 100), snapkeep.ErrInvalid)
	}
	params["name"] = name
	pw, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {mime.FormatMediaType(mt, params)},
		"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": name})},
		"Content-Transfer-Encoding": {"base64"},
	})
	if err != nil {
		return err
	}
	enc := base64.StdEncoding.EncodeToString(a.Data)
	for len(enc) > 76 {
		if _, err := io.WriteString(pw, enc[:76]+"\r\n"); err != nil {
			return err
		}
		enc = enc[76:]
	}
	_, err = io.WriteString(pw, enc+"\r\n")
	return err
}
