package notice

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Lengths, in characters, that customer- and provider-controlled text is
// cut to before it enters a message.
const (
	// MaxSubject bounds a whole subject line.
	MaxSubject = 200
	// maxName bounds a name (policy id, droplet or volume name, account id)
	// in a message body.
	maxName = 120
	// maxSubjectName bounds a name inside a subject or a headline, so the
	// words after it (your server is fine) are never cut off.
	maxSubjectName = 40
	// maxCustomerName bounds the customer's name in the greeting.
	maxCustomerName = 80
	// maxProviderText bounds DigitalOcean's message and ids in a body.
	maxProviderText = 200
	// maxReason bounds an invalid policy's reason.
	maxReason = 300
)

// ellipsis ends a string that HeaderSafe cut.
const ellipsis = "…"

// HeaderSafe returns s fit for one line of a message header (a subject, a
// display name) or any single-line field: invalid UTF-8 replaced; CR, LF,
// tabs, line and paragraph separators and runs of white space collapsed to
// one space; other control characters, bidirectional overrides and
// isolates (which can make text display in another order than it reads)
// and byte-order marks dropped; trimmed; and at most max characters (runes)
// long, a cut string ending in "…". It never returns a string with a CR or
// LF, so a header built from it cannot be split into two (CWE-93). A max
// below 1 returns "". Right-to-left and CJK text is kept as is.
func HeaderSafe(s string, max int) string {
	if max < 1 {
		return ""
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	var b strings.Builder
	b.Grow(min(len(s), 4*max+8))
	space := false // a space is pending
	n := 0         // runes written
	cut := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || r == '\u2028' || r == '\u2029':
			space = n > 0
			continue
		case dropped(r):
			continue
		}
		if space {
			if n+1 >= max {
				cut = true
				break
			}
			b.WriteByte(' ')
			n++
			space = false
		}
		if n >= max {
			cut = true
			break
		}
		b.WriteRune(r)
		n++
	}
	if !cut {
		return b.String()
	}
	// Make room for the ellipsis: drop the last rune (and a space before it).
	out := []rune(b.String())
	if len(out) >= max {
		out = out[:max-1]
	}
	return strings.TrimRight(string(out), " ") + ellipsis
}

// dropped reports whether r is removed from single-line text: control
// characters, bidirectional embeddings, overrides and isolates, and the
// byte-order mark. Zero-width joiners (emoji, Persian) and the
// left-to-right/right-to-left marks are kept.
func dropped(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069', r == '\uFEFF':
		return true
	}
	return false
}

// cut shortens s, already made safe, to at most max characters.
func cut(max int, s string) string { return HeaderSafe(s, max) }
