package escalation

import (
	"bufio"
	"io"
	"strings"
)

// Markdown writes the report as GitHub-flavoured Markdown: a "## " heading
// per section (the section's Title), pipe tables. Every cell and paragraph
// is escaped, so provider text can neither open HTML (a "<script>" stays
// text) nor break a table.
func (r *Report) Markdown(w io.Writer) error {
	d := r.document()
	b := bufio.NewWriter(w)
	b.WriteString("# " + mdEscape(d.Title) + "\n\n")
	for _, m := range d.Meta {
		b.WriteString("- **" + mdEscape(m[0]) + ":** " + mdEscape(m[1]) + "\n")
	}
	b.WriteString("\n" + mdEscape(d.Summary) + "\n")
	for _, s := range d.Sections {
		b.WriteString("\n## " + mdEscape(s.Title) + "\n")
		for _, p := range s.Parts {
			switch {
			case p.Sub != "":
				b.WriteString("\n### " + mdEscape(p.Sub) + "\n")
			case p.Para != "":
				b.WriteString("\n" + mdEscape(p.Para) + "\n")
			case p.Table != nil:
				b.WriteString("\n")
				mdTable(b, p.Table)
			}
		}
	}
	return b.Flush()
}

func mdTable(b *bufio.Writer, t *table) {
	cells := make([]string, len(t.Head))
	for i, h := range t.Head {
		cells[i] = mdCell(h)
	}
	b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	for i := range t.Head {
		cells[i] = "---"
		if t.Right[i] {
			cells[i] = "--:"
		}
	}
	b.WriteString("|" + strings.Join(cells, "|") + "|\n")
	for _, row := range t.Rows {
		for i, c := range row {
			cells[i] = mdCell(c)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
}

// mdCell escapes a table cell; an empty cell stays empty.
func mdCell(s string) string {
	if s == "" {
		return " "
	}
	return mdEscape(s)
}

// mdEscape backslash-escapes the characters that Markdown would read as
// markup (CommonMark allows a backslash before any ASCII punctuation), and
// flattens line breaks. An underscore inside a word ("snapshot_droplet")
// is left alone, since GFM never reads it as emphasis.
func mdEscape(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\', '`', '*', '[', ']', '<', '>', '|', '#', '!', '~', '&', '$':
			b.WriteByte('\\')
		case '_':
			if i == 0 || i == len(s)-1 || !wordByte(s[i-1]) || !wordByte(s[i+1]) {
				b.WriteByte('\\')
			}
		case '\n', '\r':
			c = ' '
		}
		b.WriteByte(c)
	}
	return b.String()
}

func wordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
