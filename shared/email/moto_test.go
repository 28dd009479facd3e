package email

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
)

// TestMain runs the package's tests against one moto_server (started here,
// or the one at $SNAPKEEP_AWS_ENDPOINT); without moto it fails with how to
// install it.
func TestMain(m *testing.M) { awstest.Main(m) }

// TestSendThroughMoto sends a full raw message through the real SES v2
// client to moto and reads it back from moto's store: every header and
// part must arrive as built.
func TestSendThroughMoto(t *testing.T) {
	t.Parallel()
	env := awstest.New(t)
	from := Address{Name: "Snapkeep Backups", Email: env.Prefix + "backups@snapkeep.example"}
	to := Address{Name: "Jürgen Müller", Email: env.Prefix + "ops@acme.example"}
	env.VerifySender(t, from.Email)

	s := &Sender{
		Client: env.SESv2(),
		Streams: map[Stream]StreamConfig{Transactional: {
			From:             from,
			ReplyTo:          []Address{{Name: "Snapkeep Support", Email: "support@snapkeep.example"}},
			ConfigurationSet: "snapkeep-local",
			ListID:           ListID{Name: "Snapkeep backup notices", ID: "notices.snapkeep.example"},
		}},
		Builder: fixedBuilder,
		Logger:  slog.New(slog.DiscardHandler),
	}
	m := fullMessage()
	m.Stream, m.From, m.ReplyTo, m.ListID = Transactional, Address{}, nil, ListID{}
	m.To = []Address{to}

	sent, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if sent.Attempts != 1 || sent.MessageID == "" {
		t.Errorf("Sent %+v: want one attempt and SES's message id", sent)
	}
	// moto answers GetSuppressedDestination with 404 (not implemented):
	// the send goes ahead and says the list was not checked.
	if !strings.Contains(sent.SuppressionUnchecked, "404") {
		t.Errorf("SuppressionUnchecked %q, want moto's 404", sent.SuppressionUnchecked)
	}

	got := env.SentEmailsTo(t, to.Email)
	if len(got) != 1 {
		t.Fatalf("moto holds %d emails to %s, want 1", len(got), to.Email)
	}
	e := got[0]
	// moto lists the envelope recipients (Destination) and then the raw To
	// header's addresses as they are written.
	if e.MessageID != sent.MessageID || e.From != from.Email || !slices.Contains(e.To, to.Email) {
		t.Errorf("stored id %q from %q to %v; want %q from %q to %s", e.MessageID, e.From, e.To, sent.MessageID, from.Email, to.Email)
	}

	// The stored bytes are the bytes Build writes for the filled message.
	m.From, m.ReplyTo, m.ListID = from, s.Streams[Transactional].ReplyTo, s.Streams[Transactional].ListID
	want, err := fixedBuilder.Build(m)
	if err != nil {
		t.Fatal(err)
	}
	if e.Raw != string(want) {
		t.Errorf("moto stored a different message:\n%s\nwant\n%s", e.Raw, want)
	}

	checkDelivered(t, e.Raw, m)
}

// checkDelivered parses the raw message moto stored and checks every
// header and part of m, the message as sent (From, Reply-To and List-Id
// filled in).
func checkDelivered(t *testing.T, raw string, m Message) {
	t.Helper()
	p := readBack(t, []byte(raw))
	for name, want := range map[string]string{
		"From":                  m.From.String(),
		"To":                    m.To[0].String(),
		"Reply-To":              m.ReplyTo[0].String(),
		"Subject":               m.Subject,
		"List-Id":               "Snapkeep backup notices <notices.snapkeep.example>",
		"List-Unsubscribe":      "<https://snapkeep.example/u/Zk3p9QwErTy>, <mailto:unsubscribe@snapkeep.example?subject=unsubscribe>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"X-Snapkeep-Run":        "pol-web#2026-11-24T02:00:00Z",
		"X-Snapkeep-Class":      "provider_error",
	} {
		got := decoded(t, p.Header, name)
		if name == "From" || name == "To" || name == "Reply-To" {
			list, err := p.Header.AddressList(name)
			if err != nil || len(list) != 1 {
				t.Fatalf("%s: %v, %v", name, list, err)
			}
			got = list[0].String()
		}
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if want := "multipart/mixed(multipart/alternative(text/plain,text/html),text/csv,text/plain)"; p.Structure != want {
		t.Fatalf("structure %s, want %s", p.Structure, want)
	}
	text, html, csv := p.Parts[0], p.Parts[1], p.Parts[2]
	if text.Body != crlf(m.Text) || !strings.Contains(text.Body, "Hello Jürgen") {
		t.Errorf("text part %q", text.Body)
	}
	if html.Body != m.HTML+"\r\n" {
		t.Errorf("html part %q", html.Body)
	}
	if csv.Filename != "failed-calls-2026-11-24.csv" || csv.Body != string(m.Attachments[0].Data) {
		t.Errorf("csv attachment %+v", csv)
	}
}

// TestSendThroughMotoUnverifiedSender checks the classification against the
// real SDK's error for an unverified sender (as in the SES sandbox).
func TestSendThroughMotoUnverifiedSender(t *testing.T) {
	t.Parallel()
	env := awstest.New(t)
	s := &Sender{
		Client:  env.SESv2(),
		Streams: map[Stream]StreamConfig{Transactional: {From: Address{Email: env.Prefix + "unverified@snapkeep.example"}}},
		Logger:  slog.New(slog.DiscardHandler),
	}
	m := Message{Stream: Transactional, To: []Address{{Email: env.Prefix + "ops@acme.example"}}, Subject: "s", Text: "t"}
	_, err := s.Send(context.Background(), m)
	var rej *Rejected
	if !errors.As(err, &rej) || rej.Code != "MessageRejected" || rej.Scope != ScopeMessage || !Permanent(err) {
		t.Fatalf("err = %v, want a MessageRejected *Rejected", err)
	}
	if n := len(env.SentEmailsTo(t, m.To[0].Email)); n != 0 {
		t.Errorf("moto holds %d emails from an unverified sender", n)
	}
}
