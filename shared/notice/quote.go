package notice

import "strings"

// quoteForms are the ways the templates' quote function writes a
// provider's words: in text and Slack “words”, in HTML
// “<span dir="auto">words</span>” (the words HTML-escaped), and that
// HTML inside a JSON string.
func quoteForms(phrase string) []string {
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(phrase)
	return []string{
		`“<span dir="auto">` + esc + `</span>”`,
		`“<span dir=\"auto\">` + esc + `</span>”`,
		"“" + phrase + "”",
	}
}

// Unquoted reports whether phrase (DigitalOcean's own words, such as
// "Server Error") appears in s other than quoted as a notice quotes it.
// The rule every message keeps: the provider's message is never a
// headline or a bare sentence, only a quoted reference, explained.
func Unquoted(s, phrase string) bool {
	for _, q := range quoteForms(phrase) {
		s = strings.ReplaceAll(s, q, "")
	}
	return strings.Contains(s, phrase)
}
