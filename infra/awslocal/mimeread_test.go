package awslocal

import (
	"strings"
	"testing"

	"github.com/snapkeep/snapkeep/shared/email"
)

// TestReadRaw reads back what shared/email builds: the structure, the
// decoded subject, each part's quoted-printable or base64 undone and the
// attachments' names (an RFC 2231 one included).
func TestReadRaw(t *testing.T) {
	long := strings.Repeat("A line long enough that quoted-printable must wrap it. ", 4)
	raw, err := email.Builder{}.Build(email.Message{
		From:    email.Address{Name: "Snapkeep", Email: "backups@snapkeep.example"},
		To:      []email.Address{{Email: "ops@acme.example"}},
		Subject: "Backup failed: web-01 — Müller GmbH",
		Text:    "Grüße\n" + long + "\n",
		HTML:    "<p>Grüße</p>",
		Attachments: []email.Attachment{
			{Filename: "calls.csv", ContentType: "text/csv; charset=utf-8", Data: []byte("time,droplet_id\n2026-11-24T02:00:03Z,3164444\n")},
			{Filename: "Bericht März.txt", ContentType: "text/plain; charset=utf-8", Data: []byte("ü\n")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadRaw(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	if want := "multipart/mixed(multipart/alternative(text/plain,text/html),text/csv,text/plain)"; got.Structure != want {
		t.Errorf("structure %s, want %s", got.Structure, want)
	}
	if got.Subject != "Backup failed: web-01 — Müller GmbH" {
		t.Errorf("subject %q", got.Subject)
	}
	want := []Part{
		{ContentType: "text/plain", Body: "Grüße\r\n" + long + "\r\n"},
		{ContentType: "text/html", Body: "<p>Grüße</p>"},
		{ContentType: "text/csv", Filename: "calls.csv", Body: "time,droplet_id\n2026-11-24T02:00:03Z,3164444\n"},
		{ContentType: "text/plain", Filename: "Bericht März.txt", Body: "ü\n"},
	}
	if len(got.Parts) != len(want) {
		t.Fatalf("%d parts, want %d: %+v", len(got.Parts), len(want), got.Parts)
	}
	for i, p := range got.Parts {
		if p.ContentType != want[i].ContentType || p.Filename != want[i].Filename ||
			strings.TrimRight(p.Body, "\r\n") != strings.TrimRight(want[i].Body, "\r\n") {
			t.Errorf("part %d = %+v, want %+v", i, p, want[i])
		}
	}
}

// TestReadRawRejects checks that what does not parse is an error naming it.
func TestReadRawRejects(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{name: "no header end", raw: "Subject", want: "read message"},
		{name: "bad media type", raw: "Content-Type: text/\r\n\r\nx", want: `content type "text/"`},
		{name: "bad base64", raw: "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!", want: "text/plain part"},
		{name: "bad disposition", raw: "Content-Type: text/csv\r\nContent-Disposition: attachment; =\r\n\r\nx", want: "content disposition"},
		{name: "unterminated multipart", raw: "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx", want: "multipart/mixed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadRaw(tt.raw)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
