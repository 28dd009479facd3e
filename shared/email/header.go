package email

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Caps on header values, in characters, applied after CleanHeader has
// removed control characters. They keep every header far below RFC 5322's
// 998-byte line limit once encoded and folded.
const (
	// MaxSubject caps the Subject. Mail clients show about 60-80
	// characters; the rest is for the preview of long policy names.
	MaxSubject = 200
	// MaxDisplayName caps the display name of an address.
	MaxDisplayName = 100
	// MaxHeaderValue caps an X- header's value and the List-Id's name.
	MaxHeaderValue = 300
	// MaxFilename caps an attachment's file name.
	MaxFilename = 100
	// MaxAddress is RFC 5321's limit on an address (a forward-path).
	MaxAddress = 254
	// MaxURI caps each List-Unsubscribe URI.
	MaxURI = 800
	// MaxLine is RFC 5322's limit on a line, CRLF excluded.
	MaxLine = 998
)

// foldAt is where folding starts a new line (RFC 5322's SHOULD of 78
// characters, less room for the header's name on the first line).
const foldAt = 76

// ellipsis ends a value CleanHeader cut.
const ellipsis = "…"

// CleanHeader returns s made safe for a header value (CWE-93): invalid
// UTF-8 is replaced, every control character (CR, LF, TAB, NUL, DEL, the C1
// range) and bidirectional override or isolate (U+202A-U+202E,
// U+2066-U+2069) becomes a space, every run of white space (including
// U+2028 and NBSP) becomes one space, the ends are trimmed, and the result
// is cut to max characters, the last of which is then "…". It is applied to
// every header value Build writes, whoever supplied it.
func CleanHeader(s string, max int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || isBidiControl(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return cutRunes(b.String(), max)
}

// isBidiControl reports whether r is an explicit bidirectional embedding,
// override or isolate: unbalanced, they reorder the rest of a subject line.
// Right-to-left text needs none of them.
func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// cutRunes returns s, or its first max-1 characters and "…" when it is
// longer than max characters.
func cutRunes(s string, max int) string {
	if max <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return strings.TrimRight(s[:i], " ") + ellipsis
		}
		n++
	}
	return s
}

// isPlain reports whether s can be written as-is in an unstructured header:
// printable ASCII only, and nothing a reader would take for an RFC 2047
// encoded-word.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return !strings.Contains(s, "=?")
}

// encodeText returns the cleaned value s as the body of the unstructured
// header name (Subject, X- headers): plain ASCII as it is, anything else as
// RFC 2047 "Q" encoded-words in UTF-8; folded at spaces to lines of about
// foldAt characters.
func encodeText(name, s string) string {
	if isPlain(s) {
		return foldWords(len(name)+2, strings.Split(s, " "))
	}
	return foldWords(len(name)+2, encodedWords(s, len(name)+2))
}

// foldWords joins words with spaces, starting a new (folded) line before a
// word that would take the line past foldAt; start is the length of the
// first line before the first word (len("Subject: ")). Unfolding (removing
// the CRLFs) gives back the words joined by single spaces. No word is ever
// split, so a line is longer than foldAt only when one word is: callers cap
// their values so that a word stays far below MaxLine.
func foldWords(start int, words []string) string {
	var b strings.Builder
	line := start
	for i, w := range words {
		switch {
		case i == 0:
		case line+1+len(w) > foldAt:
			b.WriteString("\r\n ")
			line = 1
		default:
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	return b.String()
}

// maxEncodedWord is RFC 2047's limit on one encoded-word.
const maxEncodedWord = 75

// encodedWords returns s as RFC 2047 "Q" encoded-words in UTF-8, never
// splitting a character: the first word fits in what is left of a line
// after start columns, the others on a folded line of their own, and none
// is longer than 75 characters. Only letters, digits and "!*+-/" stay
// literal (the set RFC 2047 §5 allows even in a phrase), so the words can
// be used in a display name too. Readers ignore the white space between
// adjacent encoded-words.
func encodedWords(s string, start int) []string {
	const prefix, suffix = "=?utf-8?q?", "?="
	room := func(col int) int {
		return min(maxEncodedWord, foldAt-col) - len(prefix) - len(suffix)
	}
	// Every character must fit in a word of its own (12 bytes of Q).
	limit := max(room(start), 12)
	var words []string
	var cur strings.Builder
	for _, r := range s {
		enc := qEncodeRune(r)
		if cur.Len() > 0 && cur.Len()+len(enc) > limit {
			words = append(words, prefix+cur.String()+suffix)
			cur.Reset()
			limit = room(1)
		}
		cur.WriteString(enc)
	}
	if cur.Len() > 0 {
		words = append(words, prefix+cur.String()+suffix)
	}
	return words
}

// qEncodeRune returns r in RFC 2047 "Q" encoding.
func qEncodeRune(r rune) string {
	switch {
	case r == ' ':
		return "_"
	case r < utf8.RuneSelf && (isAlnum(byte(r)) || strings.ContainsRune("!*+-/", r)):
		return string(r)
	}
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	var b strings.Builder
	for _, c := range buf[:n] {
		fmt.Fprintf(&b, "=%02X", c)
	}
	return b.String()
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// atext is RFC 5322's atom text: a display name made only of these and
// spaces needs no quoting.
const atext = "!#$%&'*+-/=?^_`{|}~"

// phraseWords returns a cleaned display name as the words of an RFC 5322
// phrase: atoms when it can, else one quoted string when it is ASCII, else
// encoded-words (the first fitting after start columns).
func phraseWords(name string, start int) []string {
	if !isPlain(name) {
		return encodedWords(name, start)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isAlnum(c) && c != ' ' && !strings.ContainsRune(atext, rune(c)) {
			return []string{`"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`}
		}
	}
	return strings.Split(name, " ")
}

// Address is one mailbox: an optional display name and the address.
type Address struct {
	// Name is the display name ("Jürgen Müller"); it may hold anything (a
	// customer typed it): Build cleans it and cuts it to MaxDisplayName
	// characters.
	Name string
	// Email is the address alone, "ops@acme.example": ASCII (SES sends to
	// no internationalised addresses), at most MaxAddress bytes.
	Email string
}

// String returns the address as a header would show it, unfolded.
func (a Address) String() string {
	return (&mail.Address{Name: CleanHeader(a.Name, MaxDisplayName), Address: a.Email}).String()
}

// ParseAddress parses "ops@example.com" or "Ops <ops@example.com>" (a
// sender address from configuration) with net/mail. The error wraps
// snapkeep.ErrInvalid.
func ParseAddress(s string) (Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return Address{}, fmt.Errorf("email: %q is not one email address such as ops@example.com or \"Ops <ops@example.com>\": %w", snapkeep.Bound(s, 100), snapkeep.ErrInvalid)
	}
	out := Address{Name: a.Name, Email: a.Address}
	if _, err := checkAddress("address", out); err != nil {
		return Address{}, err
	}
	return out, nil
}

// checkAddress validates a.Email with net/mail and checks what SES needs:
// an ASCII address of at most MaxAddress bytes. It returns the address
// with its display name cleaned and capped. field names the header for the
// error, which wraps snapkeep.ErrInvalid.
func checkAddress(field string, a Address) (*mail.Address, error) {
	p, err := mail.ParseAddress(a.Email)
	if err != nil || p.Name != "" || p.Address != a.Email {
		return nil, fmt.Errorf("email: %s %q is not an email address such as ops@example.com: %w", field, snapkeep.Bound(a.Email, 100), snapkeep.ErrInvalid)
	}
	if len(p.Address) > MaxAddress {
		return nil, fmt.Errorf("email: %s address is %d bytes long, at most %d allowed: %w", field, len(p.Address), MaxAddress, snapkeep.ErrInvalid)
	}
	for i := 0; i < len(p.Address); i++ {
		if c := p.Address[i]; c <= 0x20 || c > 0x7e {
			return nil, fmt.Errorf("email: %s address %q must be ASCII (SES sends to no internationalised addresses; write the domain in punycode): %w", field, snapkeep.Bound(p.Address, 100), snapkeep.ErrInvalid)
		}
	}
	p.Name = CleanHeader(a.Name, MaxDisplayName)
	return p, nil
}

// formatAddresses writes the body of the address header name: each
// address as its display name's words then "<address>", or the bare
// address when it has none; separated by commas, folded.
func formatAddresses(name string, as []*mail.Address) string {
	var words []string
	start := len(name) + 2
	for i, a := range as {
		w := a.Address
		if a.Name != "" {
			words = append(words, phraseWords(a.Name, start)...)
			w = "<" + a.Address + ">"
		}
		if i < len(as)-1 {
			w += ","
		}
		words = append(words, w)
		start = 1 // later addresses are likely on a folded line
	}
	return foldWords(len(name)+2, words)
}

// headerName is what an extra header's name must look like.
var headerName = regexp.MustCompile(`^X-[A-Za-z0-9][A-Za-z0-9-]{0,62}$`)

// listIDPattern is RFC 2919's list-id: a dot-atom with at least one dot
// ("notices.snapkeep.example").
var listIDPattern = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+/=?^_` + "`" + `{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_` + "`" + `{|}~-]+)+$`)
