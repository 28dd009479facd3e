package email

import (
	"errors"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func TestCleanHeader(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{name: "plain", in: "Backup failed", max: 50, want: "Backup failed"},
		{name: "CRLF injection", in: "web-01\r\nBcc: evil@example.com", max: 100, want: "web-01 Bcc: evil@example.com"},
		{name: "bare LF and CR", in: "a\nb\rc", max: 10, want: "a b c"},
		{name: "tabs and runs of spaces", in: "  a\t\t b   c  ", max: 10, want: "a b c"},
		{name: "NUL DEL and C1", in: "a\x00b\x7fc\u0085d\u009be", max: 20, want: "a b c d e"},
		{name: "unicode line separators", in: "a\u2028b\u2029c\u00a0d", max: 20, want: "a b c d"},
		{name: "bidi override removed", in: "invoice\u202Egpj.exe", max: 30, want: "invoice gpj.exe"},
		{name: "bidi isolate removed", in: "a\u2066b\u2069", max: 30, want: "a b"},
		{name: "invalid UTF-8 replaced", in: "caf\xe9", max: 10, want: "caf\uFFFD"},
		{name: "cut with ellipsis", in: "abcdefghij", max: 5, want: "abcd…"},
		{name: "cut counts characters not bytes", in: "東京東京東京", max: 4, want: "東京東…"},
		{name: "exactly max is kept", in: "東京東京", max: 4, want: "東京東京"},
		{name: "no trailing space before ellipsis", in: "abc def", max: 5, want: "abc…"},
		{name: "right-to-left text kept", in: "שרת גיבוי", max: 20, want: "שרת גיבוי"},
		{name: "emoji with joiner kept", in: "ops 👩‍💻", max: 20, want: "ops 👩‍💻"},
		{name: "only control characters", in: "\r\n\t", max: 10, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CleanHeader(tt.in, tt.max)
			if got != tt.want {
				t.Errorf("CleanHeader(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n > tt.max {
				t.Errorf("result has %d characters, max %d", n, tt.max)
			}
		})
	}
}

// unfold undoes header folding (RFC 5322 §2.2.3).
func unfold(s string) string { return strings.ReplaceAll(s, "\r\n", "") }

func TestEncodeTextRoundTrip(t *testing.T) {
	tests := []struct{ name, in string }{
		{name: "short ASCII", in: "Backup failed"},
		{name: "long ASCII folds at spaces", in: strings.Repeat("backup failed again ", 9) + "end"},
		{name: "ASCII that looks like an encoded-word", in: "=?utf-8?q?spoof?= trick"},
		{name: "Latin accents", in: "Sauvegarde échouée : serveur « web »"},
		{name: "CJK long", in: strings.Repeat("東京のサーバー", 25)},
		{name: "right-to-left", in: "הגיבוי נכשל: שרת web-01"},
		{name: "emoji", in: "✅ Backup recovered 🎉"},
		{name: "specials", in: `a_b=c?d "e" (f) <g>`},
	}
	dec := new(mime.WordDecoder)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := CleanHeader(tt.in, MaxSubject)
			enc := encodeText("Subject", in)
			for i, line := range strings.Split("Subject: "+enc, "\r\n") {
				if len(line) > 78 {
					t.Errorf("line %d is %d bytes (want ≤ 78): %q", i, len(line), line)
				}
				if i > 0 && !strings.HasPrefix(line, " ") {
					t.Errorf("continuation line %d does not start with a space: %q", i, line)
				}
			}
			got, err := dec.DecodeHeader(unfold(enc))
			if err != nil {
				t.Fatalf("decode %q: %v", enc, err)
			}
			if got != in {
				t.Errorf("round trip:\n got %q\nwant %q\n enc %q", got, in, enc)
			}
		})
	}
}

func TestAddressRoundTrip(t *testing.T) {
	tests := []struct{ name, in, wantName, wantAddr string }{
		{name: "bare", in: "ops@acme.example", wantAddr: "ops@acme.example"},
		{name: "atoms", in: "Snapkeep Backups <backups@example.com>", wantName: "Snapkeep Backups", wantAddr: "backups@example.com"},
		{name: "needs quoting", in: `"Acme, Inc. (ops)" <ops@acme.example>`, wantName: "Acme, Inc. (ops)", wantAddr: "ops@acme.example"},
		{name: "quote and backslash", in: `"say \"hi\" \\ bye" <a@b.example>`, wantName: `say "hi" \ bye`, wantAddr: "a@b.example"},
		{name: "non-ASCII", in: "=?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <j@acme.example>", wantName: "Jürgen Müller", wantAddr: "j@acme.example"},
		{name: "long CJK name is cut and split", in: mime.QEncoding.Encode("utf-8", strings.Repeat("山田太郎", 40)) + " <y@acme.example>",
			wantName: strings.Repeat("山田太郎", 25)[:len(strings.Repeat("山田太郎", 25))-len("郎")] + "…", wantAddr: "y@acme.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := ParseAddress(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			a, err := checkAddress("to", in)
			if err != nil {
				t.Fatal(err)
			}
			enc := formatAddresses("To", []*mail.Address{a})
			for _, line := range strings.Split(enc, "\r\n") {
				if len(line) > MaxLine {
					t.Errorf("line of %d bytes", len(line))
				}
			}
			got, err := mail.ParseAddress(unfold(enc))
			if err != nil {
				t.Fatalf("parse %q: %v", enc, err)
			}
			if got.Name != tt.wantName || got.Address != tt.wantAddr {
				t.Errorf("round trip of %q = (%q, %q), want (%q, %q); written %q", tt.in, got.Name, got.Address, tt.wantName, tt.wantAddr, enc)
			}
		})
	}
}

func TestParseAddressRejects(t *testing.T) {
	for _, in := range []string{
		"", "ops", "ops@", "a@b.example, c@d.example", "ops@acme.example\r\nBcc: evil@example.com",
		"jürgen@acme.example", strings.Repeat("a", 250) + "@acme.example",
	} {
		if _, err := ParseAddress(in); !errors.Is(err, snapkeep.ErrInvalid) {
			t.Errorf("ParseAddress(%q): err %v, want one wrapping ErrInvalid", in, err)
		}
		if _, err := checkAddress("to", Address{Email: in}); !errors.Is(err, snapkeep.ErrInvalid) {
			t.Errorf("checkAddress(%q): err %v, want one wrapping ErrInvalid", in, err)
		}
	}
	// An address with a display name in the Email field is refused: the
	// name belongs in Name.
	if _, err := checkAddress("to", Address{Email: "Ops <ops@acme.example>"}); err == nil {
		t.Error("checkAddress accepted a display name in Email")
	}
}

func TestAddressString(t *testing.T) {
	a := Address{Name: "Acme\r\nBcc: x", Email: "ops@acme.example"}
	if got, want := a.String(), `"Acme Bcc: x" <ops@acme.example>`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
