package escalation

import (
	"regexp"
	"sort"
	"strings"
	"unicode"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// secretPattern finds what looks like a credential in a header value or a
// provider string: a bearer credential other than snapkeep.Redacted, or a
// DigitalOcean token (dop_v1_/doo_v1_ + 64 hex, or 64 hex alone).
var secretPattern = regexp.MustCompile(`(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{6,}|\b(?:do[op]_v1_)?[0-9a-f]{64}\b`)

// redactedBearer is how a redacted bearer credential may read.
var redactedBearer = regexp.MustCompile(`(?i)^bearer\s+` + snapkeep.Redacted + `$`)

// looksSecret reports whether s holds something credential-like.
func looksSecret(s string) bool {
	if !mayHoldSecret(s) {
		return false
	}
	for _, m := range secretPattern.FindAllString(s, -1) {
		if !redactedBearer.MatchString(m) {
			return true
		}
	}
	return false
}

// mayHoldSecret is a cheap filter before secretPattern: a match needs 64
// characters, or "bearer" and at least 13.
func mayHoldSecret(s string) bool {
	if len(s) >= 64 {
		return true
	}
	if len(s) < 13 {
		return false
	}
	for i := 0; i+6 <= len(s); i++ {
		if s[i]|0x20 == 'b' && strings.EqualFold(s[i:i+6], "bearer") {
			return true
		}
	}
	return false
}

// scrub replaces anything credential-like in s with snapkeep.Redacted.
func scrub(s string) string {
	if !looksSecret(s) {
		return s
	}
	return secretPattern.ReplaceAllStringFunc(s, func(m string) string {
		if redactedBearer.MatchString(m) {
			return m
		}
		return snapkeep.Redacted
	})
}

// clean bounds s to max bytes, replaces control characters (a terminal
// escape, a CR/LF that would break a line-based format) with spaces and
// scrubs it of anything credential-like. Every provider- or
// customer-controlled string goes through it on its way into a Report.
func clean(s string, max int) string {
	s = snapkeep.Bound(s, max)
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		s = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return ' '
			}
			return r
		}, s)
	}
	return scrub(s)
}

// DroppedHeader names a header CleanHeaders left out, and why; it never
// holds the value.
type DroppedHeader struct {
	// Name is the header's name, lower case (itself scrubbed).
	Name string
	// Reason says why, e.g. "it is not REDACTED".
	Reason string
}

// secretHeaders are headers whose only acceptable recorded value is
// snapkeep.Redacted.
var secretHeaders = map[string]bool{"authorization": true, "proxy-authorization": true}

// cookieHeaders are never shown: DigitalOcean's API sets none, so one
// would be someone else's session.
var cookieHeaders = map[string]bool{"cookie": true, "set-cookie": true}

// CleanHeaders returns h as name-sorted headers ready to show, bounded as
// snapkeep.BoundHeaders bounds them. Authorization must still read
// snapkeep.Redacted, as the recorder stored it: any other value is dropped.
// As defence in depth any header whose value looks like a bearer token or
// a DigitalOcean token is dropped too, and cookies always are. What was
// dropped is returned by name and reason only.
func CleanHeaders(h map[string]string) ([]Header, []DroppedHeader) {
	h = snapkeep.BoundHeaders(h)
	out := make([]Header, 0, len(h))
	var dropped []DroppedHeader
	for name, value := range h {
		lname := strings.ToLower(clean(name, 128))
		switch {
		case secretHeaders[lname] && value != snapkeep.Redacted:
			dropped = append(dropped, DroppedHeader{Name: lname, Reason: "it is not " + snapkeep.Redacted})
		case cookieHeaders[lname]:
			dropped = append(dropped, DroppedHeader{Name: lname, Reason: "cookies are never shown"})
		case looksSecret(value) || looksSecret(name):
			dropped = append(dropped, DroppedHeader{Name: lname, Reason: "its value looks like a token"})
		default:
			out = append(out, Header{Name: lname, Value: clean(value, snapkeep.MaxHeaderValue)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	sort.Slice(dropped, func(i, j int) bool { return dropped[i].Name < dropped[j].Name })
	return out, dropped
}
