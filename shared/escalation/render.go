package escalation

import (
	"fmt"
	"io"
	"strings"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Format is a rendering of the report.
type Format string

// Formats, as snapctl report --format names them.
const (
	FormatText     Format = "text"
	FormatMarkdown Format = "md"
	FormatHTML     Format = "html"
	FormatCSV      Format = "csv"
)

// Formats returns every format, in the order --help lists them.
func Formats() []Format { return []Format{FormatMarkdown, FormatHTML, FormatText, FormatCSV} }

// ParseFormat reads a --format value: md (or markdown), html, text (or
// txt) or csv, in any case.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "md", "markdown":
		return FormatMarkdown, nil
	case "html", "htm":
		return FormatHTML, nil
	case "text", "txt":
		return FormatText, nil
	case "csv":
		return FormatCSV, nil
	}
	return "", fmt.Errorf("report format %q: want md, html, text or csv: %w", snapkeep.Bound(s, 32), snapkeep.ErrInvalid)
}

// Render writes the report in format f.
func (r *Report) Render(w io.Writer, f Format) error {
	switch f {
	case FormatMarkdown:
		return r.Markdown(w)
	case FormatHTML:
		return r.HTML(w)
	case FormatText:
		return r.Text(w)
	case FormatCSV:
		return r.CSV(w)
	}
	return fmt.Errorf("render report: unknown format %q: %w", snapkeep.Bound(string(f), 32), snapkeep.ErrInvalid)
}
