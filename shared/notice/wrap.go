package notice

import (
	"strings"
	"unicode/utf8"
)

// textWidth is the column the text body wraps at.
const textWidth = 72

// wrap fills s into lines of at most textWidth characters, the first
// starting with prefix and the others indented to line up after it. A
// word longer than a line (a URL) gets a line of its own and is never
// broken.
func wrap(prefix, s string) string {
	indent := strings.Repeat(" ", utf8.RuneCountInString(prefix))
	var b strings.Builder
	line, n := prefix, utf8.RuneCountInString(prefix)
	fresh := true // nothing but the prefix or indent on the line yet
	for _, w := range strings.Fields(s) {
		wn := utf8.RuneCountInString(w)
		if !fresh && n+1+wn > textWidth {
			b.WriteString(line)
			b.WriteByte('\n')
			line, n, fresh = indent, len(indent), true
		}
		if !fresh {
			line += " "
			n++
		}
		line += w
		n += wn
		fresh = false
	}
	b.WriteString(strings.TrimRight(line, " "))
	return b.String()
}

// factLine writes "Label:   value", values lined up at width+2 columns
// (or, for very long labels, on the next line, indented).
func factLine(label, value string, width int) string {
	head := label + ":"
	if width > 26 {
		return head + "\n" + wrap("    ", value)
	}
	head += strings.Repeat(" ", width+2-utf8.RuneCountInString(head))
	return wrap(head, value)
}

// underline is a line of dashes as long as s.
func underline(s string) string { return strings.Repeat("-", utf8.RuneCountInString(s)) }

// tidyText trims trailing spaces, makes every run of blank lines one blank
// line, and ends the text with exactly one newline.
func tidyText(s string) string {
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	blank := true // drop blank lines at the start
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			if !blank {
				out = append(out, "")
			}
			blank = true
			continue
		}
		out = append(out, l)
		blank = false
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, "\n") + "\n"
}

// tidyHTML drops the blank lines the layout's actions leave.
func tidyHTML(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n") + "\n"
}
