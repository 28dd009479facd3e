package notice

import (
	"strings"
	"unicode/utf8"
)

// slackEscape escapes the three characters Slack's mrkdwn gives meaning
// to, so customer text can neither mention (<!channel>) nor link.
func slackEscape(s string) string { return slackEscaper.Replace(s) }

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// cutBytes cuts s, at a character boundary, to at most max bytes, a cut
// string ending in "…".
func cutBytes(s string, max int) string {
	if len(s) <= max {
		return s
	}
	keep := max - len(ellipsis)
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return strings.TrimRight(s[:keep], " ") + ellipsis
}

// slackChunk is one paragraph, fact, item or link line of a section: raw
// is the unescaped text (nil for links, which are written escaped).
type slackChunk struct {
	text string // escaped mrkdwn
	raw  string // unescaped, to cut from when text is too long
	sep  string // what goes before it when it follows another chunk
}

func chunk(raw, prefix, sep string) slackChunk {
	return slackChunk{text: prefix + slackEscape(raw), raw: raw, sep: sep}
}

// fit returns c's text cut to at most max bytes, never inside an escape.
func (c slackChunk) fit(max int) string {
	if len(c.text) <= max {
		return c.text
	}
	prefix := strings.TrimSuffix(c.text, slackEscape(c.raw))
	room := max - len(prefix)
	for room > 0 {
		t := prefix + slackEscape(cutBytes(c.raw, room))
		if len(t) <= max {
			return t
		}
		room -= len(t) - max
	}
	return cutBytes(c.text, max)
}

// slackMessage lays out a page rendered in the Slack flavour: a header,
// one or more sections per block (split so none exceeds Slack's limit),
// and the footer as a context block; at most SlackMaxBlocks blocks, the
// last section saying where the rest is when that was not enough.
func slackMessage(subject, title string, p page[string], more string) SlackMessage {
	m := SlackMessage{Text: cutBytes(slackEscape(subject), SlackMaxTopLevel)}
	m.Blocks = append(m.Blocks, Block{Type: "header", Text: &TextObject{Type: "plain_text", Text: cutBytes(title, SlackMaxHeader)}})
	var sections []string
	for _, b := range p.Blocks {
		sections = append(sections, packSections(slackChunks(b))...)
	}
	room := SlackMaxBlocks - 3 // header, divider, footer
	if len(sections) > room {
		sections = append(sections[:room-1], more)
	}
	for _, s := range sections {
		m.Blocks = append(m.Blocks, Block{Type: "section", Text: &TextObject{Type: "mrkdwn", Text: s}})
	}
	footer := slackEscape(string(p.Footer)) + " <" + p.PreferencesURL + "|" + slackEscape(string(p.PreferencesTxt)) + ">"
	m.Blocks = append(m.Blocks, Block{Type: "divider"},
		Block{Type: "context", Elements: []TextObject{{Type: "mrkdwn", Text: cutBytes(footer, slackContextLength)}}})
	return m
}

func slackChunks(b pageBlock[string]) []slackChunk {
	var cs []slackChunk
	if b.Heading != "" {
		cs = append(cs, slackChunk{text: "*" + slackEscape(string(b.Heading)) + "*", sep: "\n\n"})
	}
	sep := "\n"
	for _, x := range b.Paras {
		cs = append(cs, chunk(x, "", sep))
		sep = "\n\n"
	}
	for _, f := range b.Facts {
		cs = append(cs, chunk(f.Value, "*"+slackEscape(f.Label)+":* ", "\n"))
	}
	for _, x := range b.Items {
		cs = append(cs, chunk(x, "• ", "\n"))
	}
	var links []string
	for _, l := range b.Links {
		links = append(links, "<"+l.URL+"|"+slackEscape(l.Label)+">")
	}
	if len(links) > 0 {
		cs = append(cs, slackChunk{text: strings.Join(links, "  ·  "), sep: "\n"})
	}
	if len(cs) > 0 {
		cs[0].sep = ""
	}
	return cs
}

// packSections joins chunks into section texts of at most SlackMaxSection
// bytes, starting a new section where the next chunk would not fit.
func packSections(cs []slackChunk) []string {
	var out []string
	var cur strings.Builder
	for _, c := range cs {
		t := c.fit(SlackMaxSection)
		if cur.Len() > 0 && cur.Len()+len(c.sep)+len(t) > SlackMaxSection {
			out = append(out, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteString(c.sep)
		}
		cur.WriteString(t)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}
