package notice

import (
	htemplate "html/template"
	"strings"
)

// quoteForms are the ways the templates' quote function writes a
// provider's words: in text and Slack “words”, in HTML
// “<span dir="auto">words</span>” with the words escaped as html/template
// escapes them, and that HTML inside a JSON string.
func quoteForms(phrase string) []string {
	esc := htemplate.HTMLEscapeString(phrase)
	return []string{
		`“<span dir="auto">` + esc + `</span>”`,
		`“<span dir=\"auto\">` + esc + `</span>”`,
		"“" + phrase + "”",
	}
}

// Unquoted reports whether phrase (DigitalOcean's own words, such as
// "Server Error") appears in s, as written or HTML-escaped, other than
// quoted as a notice quotes it. The rule every message keeps: the
// provider's message is never a headline or a bare sentence, only a
// quoted reference, explained.
func Unquoted(s, phrase string) bool {
	for _, q := range quoteForms(phrase) {
		s = strings.ReplaceAll(s, q, "")
	}
	return strings.Contains(s, phrase) || strings.Contains(s, htemplate.HTMLEscapeString(phrase))
}
