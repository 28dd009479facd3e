package escalation

import (
	"bufio"
	"io"
	"strings"
	"unicode/utf8"
)

// textWidth is the width paragraphs are wrapped to in Text.
const textWidth = 78

// Text writes the report as plain text (UTF-8, for the email's text part
// and the terminal): every section under its title, tables aligned with
// spaces. Control characters in provider text were replaced by Build, so
// nothing can move a terminal's cursor.
func (r *Report) Text(w io.Writer) error {
	d := r.document()
	b := bufio.NewWriter(w)
	b.WriteString(d.Title + "\n" + strings.Repeat("=", utf8.RuneCountInString(d.Title)) + "\n\n")
	width := 0
	for _, m := range d.Meta {
		width = max(width, utf8.RuneCountInString(m[0]))
	}
	for _, m := range d.Meta {
		b.WriteString(pad(m[0]+":", width+1, false) + "  " + m[1] + "\n")
	}
	b.WriteString("\n" + wrap(d.Summary, textWidth) + "\n")
	for _, s := range d.Sections {
		b.WriteString("\n\n" + s.Title + "\n" + strings.Repeat("-", utf8.RuneCountInString(s.Title)) + "\n")
		for _, p := range s.Parts {
			switch {
			case p.Sub != "":
				b.WriteString("\n" + p.Sub + "\n")
			case p.Para != "":
				b.WriteString("\n" + wrap(p.Para, textWidth) + "\n")
			case p.Table != nil:
				b.WriteString("\n")
				textTable(b, p.Table)
			}
		}
	}
	return b.Flush()
}

// textTable writes t with columns padded to their widest cell.
func textTable(b *bufio.Writer, t *table) {
	widths := make([]int, len(t.Head))
	for i, h := range t.Head {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, row := range t.Rows {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	line := func(cells []string) {
		parts := make([]string, len(cells))
		for i, c := range cells {
			parts[i] = pad(c, widths[i], t.Right[i])
		}
		b.WriteString("  " + strings.TrimRight(strings.Join(parts, "  "), " ") + "\n")
	}
	line(t.Head)
	rule := make([]string, len(widths))
	for i, w := range widths {
		rule[i] = strings.Repeat("-", w)
	}
	line(rule)
	for _, row := range t.Rows {
		line(row)
	}
	if len(t.Rows) == 0 {
		b.WriteString("  (none)\n")
	}
}

// pad pads s with spaces to width runes, on the left when right is set.
func pad(s string, width int, right bool) string {
	n := width - utf8.RuneCountInString(s)
	if n <= 0 {
		return s
	}
	if right {
		return strings.Repeat(" ", n) + s
	}
	return s + strings.Repeat(" ", n)
}

// wrap breaks s into lines of at most width runes at spaces (a longer
// word stands on its own line).
func wrap(s string, width int) string {
	var b strings.Builder
	n := 0
	for _, word := range strings.Fields(s) {
		wl := utf8.RuneCountInString(word)
		switch {
		case n == 0:
		case n+1+wl > width:
			b.WriteByte('\n')
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += wl
	}
	return b.String()
}
