package email

import (
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixedBuilder writes byte-identical messages.
var fixedBuilder = Builder{
	Now:   func() time.Time { return time.Date(2026, 11, 24, 3, 0, 12, 0, time.FixedZone("", 0)) },
	NewID: func() string { return "0123456789abcdef" },
}

// part is one leaf of a parsed MIME message, decoded.
type part struct {
	ContentType string // media type without parameters
	Charset     string
	Filename    string // of an attachment
	Body        string
}

// parsed is a message read back with net/mail and mime/multipart.
type parsed struct {
	Header mail.Header
	// Structure is the media types from the top, e.g.
	// "multipart/mixed(multipart/alternative(text/plain,text/html),text/csv)".
	Structure string
	Parts     []part
}

// readBack parses raw the way a mail client would, checking on the way
// that it is well-formed: CRLF line ends only, no line over 998 bytes.
func readBack(t *testing.T, raw []byte) parsed {
	t.Helper()
	for i, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > MaxLine {
			t.Errorf("line %d is %d bytes, over %d", i+1, len(line), MaxLine)
		}
		if bytes.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, line)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("mail.ReadMessage: %v\n%s", err, raw)
	}
	p := parsed{Header: msg.Header}
	p.Structure = readEntity(t, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, "", &p.Parts)
	return p
}

// readEntity reads one MIME entity, recursing into multiparts, and returns
// its structure.
func readEntity(t *testing.T, ctype, cte string, body io.Reader, disposition string, out *[]part) string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		t.Fatalf("content type %q: %v", ctype, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		var subs []string
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: next part: %v", mt, err)
			}
			// multipart.Reader decodes quoted-printable itself and hides
			// the Content-Transfer-Encoding header.
			subs = append(subs, readEntity(t, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, p.Header.Get("Content-Disposition"), out))
		}
		return mt + "(" + strings.Join(subs, ",") + ")"
	}
	data, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("%s: read: %v", mt, err)
	}
	switch strings.ToLower(cte) {
	case "base64":
		data, err = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(data)))
		if err != nil {
			t.Fatalf("%s: base64: %v", mt, err)
		}
	case "quoted-printable": // at the top level; multipart decodes its parts
		data, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(data)))
		if err != nil {
			t.Fatalf("%s: quoted-printable: %v", mt, err)
		}
	}
	pt := part{ContentType: mt, Charset: params["charset"], Body: string(data)}
	if disposition != "" {
		_, dp, err := mime.ParseMediaType(disposition)
		if err != nil {
			t.Fatalf("content disposition %q: %v", disposition, err)
		}
		pt.Filename = dp["filename"]
	}
	*out = append(*out, pt)
	return mt
}

// decoded returns the header's value with RFC 2047 words decoded.
func decoded(t *testing.T, h mail.Header, name string) string {
	t.Helper()
	v, err := new(mime.WordDecoder).DecodeHeader(h.Get(name))
	if err != nil {
		t.Fatalf("decode %s %q: %v", name, h.Get(name), err)
	}
	return v
}

// fullMessage has every feature: display names, Reply-To, both bodies,
// two attachments, List-Id, one-click unsubscribe with mailto, X- headers.
func fullMessage() Message {
	return Message{
		From:    Address{Name: "Snapkeep Backups", Email: "backups@snapkeep.example"},
		To:      []Address{{Name: "Jürgen Müller", Email: "ops@acme.example"}},
		ReplyTo: []Address{{Name: "Snapkeep Support", Email: "support@snapkeep.example"}},
		Subject: "Backup failed: web-01 (droplet 3164444) — Müller GmbH 東京",
		Text:    "Hello Jürgen,\n\nLast night's backup of web-01 failed. Your server is fine.\nWe retry on our own at 04:00 (Europe/Berlin).\n\n" + strings.Repeat("A long line that must be wrapped by quoted-printable. ", 4) + "\n",
		HTML:    "<!doctype html><html lang=\"en\"><body><p>Hello J&uuml;rgen,</p><p>Last night&#39;s backup of <b>web-01</b> failed. Your server is fine.</p></body></html>",
		Attachments: []Attachment{
			{Filename: "failed-calls-2026-11-24.csv", ContentType: "text/csv; charset=utf-8", Data: []byte("time,droplet_id,request_id\n2026-11-24T02:00:03Z,3164444,7c1d5a2e-0000\n")},
			{Filename: "Bericht März.txt", ContentType: "text/plain; charset=utf-8", Data: []byte("Grüße\n")},
		},
		ListID:      ListID{Name: "Snapkeep backup notices", ID: "notices.snapkeep.example"},
		Unsubscribe: Unsubscribe{URL: "https://snapkeep.example/u/Zk3p9QwErTy", Mailto: "mailto:unsubscribe@snapkeep.example?subject=unsubscribe"},
		Headers:     map[string]string{"X-Snapkeep-Run": "pol-web#2026-11-24T02:00:00Z", "X-Snapkeep-Class": "provider_error"},
	}
}

func TestBuildRoundTrip(t *testing.T) {
	raw, err := fixedBuilder.Build(fullMessage())
	if err != nil {
		t.Fatal(err)
	}
	p := readBack(t, raw)
	h := p.Header
	wantHeaders := map[string]string{
		"Subject":               "Backup failed: web-01 (droplet 3164444) — Müller GmbH 東京",
		"Date":                  "Tue, 24 Nov 2026 03:00:12 +0000",
		"Message-Id":            "<0123456789abcdef@snapkeep.example>",
		"List-Id":               "Snapkeep backup notices <notices.snapkeep.example>",
		"List-Unsubscribe":      "<https://snapkeep.example/u/Zk3p9QwErTy>, <mailto:unsubscribe@snapkeep.example?subject=unsubscribe>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"X-Snapkeep-Run":        "pol-web#2026-11-24T02:00:00Z",
		"X-Snapkeep-Class":      "provider_error",
		"Mime-Version":          "1.0",
	}
	for name, want := range wantHeaders {
		if got := decoded(t, h, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for name, want := range map[string]string{
		"From":     `"Snapkeep Backups" <backups@snapkeep.example>`,
		"To":       `"Jürgen Müller" <ops@acme.example>`,
		"Reply-To": `"Snapkeep Support" <support@snapkeep.example>`,
	} {
		list, err := h.AddressList(name)
		if err != nil || len(list) != 1 {
			t.Fatalf("%s: %v %v", name, list, err)
		}
		if got := list[0].String(); got != mustAddr(t, want).String() {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	if want := "multipart/mixed(multipart/alternative(text/plain,text/html),text/csv,text/plain)"; p.Structure != want {
		t.Errorf("structure %s, want %s", p.Structure, want)
	}
	m := fullMessage()
	wantParts := []part{
		{ContentType: "text/plain", Charset: "utf-8", Body: crlf(m.Text)},
		{ContentType: "text/html", Charset: "utf-8", Body: m.HTML + "\r\n"},
		{ContentType: "text/csv", Charset: "utf-8", Filename: "failed-calls-2026-11-24.csv", Body: string(m.Attachments[0].Data)},
		{ContentType: "text/plain", Charset: "utf-8", Filename: "Bericht März.txt", Body: "Grüße\n"},
	}
	if len(p.Parts) != len(wantParts) {
		t.Fatalf("%d parts, want %d: %+v", len(p.Parts), len(wantParts), p.Parts)
	}
	for i, want := range wantParts {
		if p.Parts[i] != want {
			t.Errorf("part %d =\n%+v\nwant\n%+v", i, p.Parts[i], want)
		}
	}
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func mustAddr(t *testing.T, s string) *mail.Address {
	t.Helper()
	a, err := mail.ParseAddress(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestBuildStructure(t *testing.T) {
	base := Message{From: Address{Email: "a@snapkeep.example"}, To: []Address{{Email: "b@acme.example"}}, Subject: "s", Text: "text"}
	tests := []struct {
		name string
		edit func(*Message)
		want string
	}{
		{name: "text only", edit: func(*Message) {}, want: "text/plain"},
		{name: "text and html", edit: func(m *Message) { m.HTML = "<p>html</p>" }, want: "multipart/alternative(text/plain,text/html)"},
		{name: "text and attachment", edit: func(m *Message) { m.Attachments = []Attachment{{Filename: "r.csv", Data: []byte("x")}} },
			want: "multipart/mixed(text/plain,application/octet-stream)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base
			tt.edit(&m)
			raw, err := fixedBuilder.Build(m)
			if err != nil {
				t.Fatal(err)
			}
			p := readBack(t, raw)
			if p.Structure != tt.want {
				t.Errorf("structure %s, want %s", p.Structure, tt.want)
			}
			if p.Parts[0].Body != "text\r\n" || p.Parts[0].Charset != "utf-8" {
				t.Errorf("text part %+v", p.Parts[0])
			}
			for _, absent := range []string{"Reply-To", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post"} {
				if _, ok := p.Header[absent]; ok {
					t.Errorf("%s written though not asked for", absent)
				}
			}
		})
	}
}

func TestBuildGolden(t *testing.T) {
	tests := []struct {
		file string
		msg  Message
	}{
		{file: "full.eml", msg: fullMessage()},
		{file: "text-only.eml", msg: Message{
			From: Address{Email: "ops-alerts@snapkeep.example"}, To: []Address{{Email: "ops@snapkeep.example"}},
			Subject: "DigitalOcean error rate 1.6% (baseline 0.05%) in nyc3", Text: "Incident inc-1 opened at 02:10 UTC.\n",
			Headers: map[string]string{"X-Snapkeep-Incident": "inc-1"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := fixedBuilder.Build(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./shared/email -update to write it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Build output differs from %s (run go test ./shared/email -update after checking the change):\n%s", path, got)
			}
		})
	}
}

// TestBuildHeaderInjection puts CRLF sequences that would add a Bcc header
// into every customer- or provider-controlled value and checks that the
// message read back has exactly the headers Build writes, each on its own.
func TestBuildHeaderInjection(t *testing.T) {
	const evil = "\r\nBcc: evil@attacker.example\r\n\r\nbody"
	m := fullMessage()
	m.Subject = "Backup failed: web-01" + evil
	m.To = []Address{{Name: "Acme" + evil, Email: "ops@acme.example"}}
	m.From.Name = "Snapkeep" + evil
	m.ListID.Name = "Notices" + evil
	m.Headers = map[string]string{"X-Snapkeep-Provider-Message": "Server Error" + evil + strings.Repeat("x", 5000)}
	m.Attachments[0].Filename = "r.csv" + evil
	raw, err := fixedBuilder.Build(m)
	if err != nil {
		t.Fatal(err)
	}
	p := readBack(t, raw)
	if _, ok := p.Header["Bcc"]; ok {
		t.Fatalf("a Bcc header was injected:\n%s", raw)
	}
	want := []string{"From", "To", "Reply-To", "Subject", "Date", "Message-Id", "List-Id", "List-Unsubscribe",
		"List-Unsubscribe-Post", "X-Snapkeep-Provider-Message", "Mime-Version", "Content-Type"}
	if len(p.Header) != len(want) {
		t.Errorf("%d headers, want %d: %v", len(p.Header), len(want), p.Header)
	}
	for _, name := range want {
		if len(p.Header[name]) != 1 {
			t.Errorf("header %s appears %d times, want once", name, len(p.Header[name]))
		}
	}
	if got := decoded(t, p.Header, "Subject"); got != "Backup failed: web-01 Bcc: evil@attacker.example body" {
		t.Errorf("Subject = %q", got)
	}
	if got := decoded(t, p.Header, "X-Snapkeep-Provider-Message"); len([]rune(got)) != MaxHeaderValue || !strings.HasSuffix(got, "…") {
		t.Errorf("X- header not capped to %d characters: %d", MaxHeaderValue, len([]rune(got)))
	}
	to, err := p.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "Acme Bcc: evil@attacker.example body" {
		t.Errorf("To = %v, %v", to, err)
	}
	from, err := p.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Snapkeep Bcc: evil@attacker.example body" {
		t.Errorf("From = %v, %v", from, err)
	}
	if got := p.Parts[2].Filename; got != "r.csv Bcc: evil@attacker.example body" {
		t.Errorf("attachment file name %q", got)
	}
}

func TestBuildRejects(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Message)
		builder Builder
		want    string // in the error
	}{
		{name: "no from", edit: func(m *Message) { m.From = Address{} }, want: "from"},
		{name: "bad from", edit: func(m *Message) { m.From.Email = "backups" }, want: "from"},
		{name: "no recipient", edit: func(m *Message) { m.To = nil }, want: "no recipient"},
		{name: "two addresses in one", edit: func(m *Message) { m.To = []Address{{Email: "a@x.example, b@x.example"}} }, want: "to"},
		{name: "CRLF in address", edit: func(m *Message) { m.To = []Address{{Email: "a@x.example\r\nBcc: e@x.example"}} }, want: "to"},
		{name: "non-ASCII address", edit: func(m *Message) { m.To = []Address{{Email: "jürgen@acme.example"}} }, want: "ASCII"},
		{name: "too many recipients", edit: func(m *Message) { m.To = make([]Address, MaxRecipients+1) }, want: "at most"},
		{name: "bad reply-to", edit: func(m *Message) { m.ReplyTo = []Address{{Email: "support"}} }, want: "reply-to"},
		{name: "empty subject", edit: func(m *Message) { m.Subject = " \r\n " }, want: "subject"},
		{name: "empty text", edit: func(m *Message) { m.Text = "\n" }, want: "text"},
		{name: "standard header as extra", edit: func(m *Message) { m.Headers = map[string]string{"Bcc": "evil@x.example"} }, want: "X-"},
		{name: "header name with colon", edit: func(m *Message) { m.Headers = map[string]string{"X-A: b": "c"} }, want: "X-"},
		{name: "http unsubscribe", edit: func(m *Message) { m.Unsubscribe.URL = "http://snapkeep.example/u/t" }, want: "https"},
		{name: "http to a look-alike of localhost", edit: func(m *Message) { m.Unsubscribe.URL = "http://localhost.snapkeep.example/u/t" }, want: "http only to localhost"},
		{name: "http to localhost with a user", edit: func(m *Message) { m.Unsubscribe.URL = "http://me@localhost:8080/u/t" }, want: "no user"},
		{name: "unsubscribe with space", edit: func(m *Message) { m.Unsubscribe.URL = "https://snapkeep.example/u/a b" }, want: "percent-encode"},
		{name: "unsubscribe with bracket", edit: func(m *Message) { m.Unsubscribe.URL = "https://snapkeep.example/u/a>b" }, want: "percent-encode"},
		{name: "unsubscribe without host", edit: func(m *Message) { m.Unsubscribe.URL = "https:///u/t" }, want: "host"},
		{name: "unsubscribe too long", edit: func(m *Message) { m.Unsubscribe.URL = "https://s.example/" + strings.Repeat("a", MaxURI) }, want: "at most"},
		{name: "mailto only", edit: func(m *Message) { m.Unsubscribe.URL = "" }, want: "https"},
		{name: "bad mailto", edit: func(m *Message) { m.Unsubscribe.Mailto = "unsubscribe@snapkeep.example" }, want: "mailto"},
		{name: "bad list id", edit: func(m *Message) { m.ListID.ID = "notices" }, want: "dot-atom"},
		{name: "multipart attachment", edit: func(m *Message) { m.Attachments[0].ContentType = "multipart/mixed; boundary=x" }, want: "media type"},
		{name: "bad attachment type", edit: func(m *Message) { m.Attachments[0].ContentType = "text/" }, want: "media type"},
		{name: "empty file name", edit: func(m *Message) { m.Attachments[0].Filename = " ..\r\n " }, want: "file name"},
		{name: "huge attachment", edit: func(m *Message) { m.Attachments[0].Data = make([]byte, MaxMessageBytes) }, want: "bytes"},
		{name: "bad id", builder: Builder{NewID: func() string { return "a b" }}, want: "NewID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fullMessage()
			if tt.edit != nil {
				tt.edit(&m)
			}
			b := tt.builder
			if b.NewID == nil {
				b = fixedBuilder
			}
			_, err := b.Build(m)
			if !errors.Is(err, snapkeep.ErrInvalid) {
				t.Fatalf("err = %v, want one wrapping snapkeep.ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

// TestUnsubscribeURLOfALocalStack: http is accepted for loopback hosts
// only (the local stack's app is http://localhost:8080), so a local
// broadcast carries its one-click link; every other host must be https.
func TestUnsubscribeURLOfALocalStack(t *testing.T) {
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"https://app.snapkeep.example/preferences/Zk3p9Qw", true},
		{"http://localhost:8080/preferences/Zk3p9Qw", true},
		{"http://LOCALHOST/preferences/Zk3p9Qw", true},
		{"http://127.0.0.1:8080/preferences/Zk3p9Qw", true},
		{"http://[::1]:8080/preferences/Zk3p9Qw", true},
		{"http://app.snapkeep.example/preferences/Zk3p9Qw", false},
		{"http://127.0.0.2/preferences/Zk3p9Qw", false},
		{"http://127.0.0.1.nip.example/preferences/Zk3p9Qw", false},
		{"http://localhost@app.snapkeep.example/preferences/Zk3p9Qw", false},
		{"http:///preferences/Zk3p9Qw", false},
		{"ftp://localhost/preferences/Zk3p9Qw", false},
	} {
		err := CheckUnsubscribeURL(tt.url)
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, snapkeep.ErrInvalid)) {
			t.Errorf("CheckUnsubscribeURL(%q) = %v, want ok %t", tt.url, err, tt.ok)
		}
	}
	m := fullMessage()
	m.Unsubscribe = Unsubscribe{URL: "http://localhost:8080/preferences/Zk3p9Qw"}
	raw, err := fixedBuilder.Build(m)
	if err != nil {
		t.Fatalf("a local stack's message: %v", err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get("List-Unsubscribe"); got != "<http://localhost:8080/preferences/Zk3p9Qw>" || msg.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe = %q, Post = %q", got, msg.Header.Get("List-Unsubscribe-Post"))
	}
}

func TestBuildDefaults(t *testing.T) {
	m := Message{From: Address{Email: "a@snapkeep.example"}, To: []Address{{Email: "b@acme.example"}}, Subject: "s", Text: "t"}
	one, err := Builder{}.Build(m)
	if err != nil {
		t.Fatal(err)
	}
	two, err := Builder{MessageIDDomain: "mail.snapkeep.example"}.Build(m)
	if err != nil {
		t.Fatal(err)
	}
	id1, id2 := readBack(t, one).Header.Get("Message-Id"), readBack(t, two).Header.Get("Message-Id")
	if id1 == id2 || !strings.HasSuffix(id1, "@snapkeep.example>") || !strings.HasSuffix(id2, "@mail.snapkeep.example>") || len(id1) < 32 {
		t.Errorf("message ids %s, %s: want random, distinct, at the From domain or MessageIDDomain", id1, id2)
	}
	d, err := readBack(t, one).Header.Date()
	if err != nil || time.Since(d) > time.Hour || time.Until(d) > time.Hour {
		t.Errorf("Date %v (%v): want now", d, err)
	}
}

func BenchmarkBuild(b *testing.B) {
	m := fullMessage()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fixedBuilder.Build(m); err != nil {
			b.Fatal(err)
		}
	}
}
