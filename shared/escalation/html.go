package escalation

import (
	_ "embed"
	"html/template"
	"io"
)

//go:embed report.html.tmpl
var htmlSource string

// htmlTemplate escapes every value by its context (html/template), so
// provider- and customer-controlled text stays text.
var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"add": func(a, b float64) float64 { return round1(a + b) },
	"sub": func(a, b float64) float64 { return round1(a - b) },
}).Parse(htmlSource))

// HTML writes the report as one self-contained HTML page: inline CSS, an
// inline SVG chart of the daily error rate (the baseline dashed, the
// window shaded), a <table> per table, each section a <section> whose id
// is its Section.ID. No script, no external resource: it renders the same
// in a mail client, a browser and headless Chromium.
func (r *Report) HTML(w io.Writer) error {
	return htmlTemplate.Execute(w, r.document())
}
