package notice

import (
	"embed"
	"fmt"
	htemplate "html/template"
	"strings"
	"sync"
	ttemplate "text/template"
)

// The wording lives in templates/words/*.tmpl: named phrases, plain prose
// without markup, parsed three times — by text/template for the text body,
// by html/template for the HTML body (which escapes every value) and by
// text/template again for Slack mrkdwn. The few functions that differ by
// flavour (user, em, code, quote, para) are what add markup. The layouts
// (templates/layout.*.tmpl) arrange the rendered phrases; Slack's layout
// is built in Go (slack.go), because Block Kit is JSON with limits.
//
//go:embed templates
var templateFS embed.FS

// paraBreak separates paragraphs inside one phrase ({{para}}). It is a
// control character, which HeaderSafe strips from every customer string,
// so no input can forge one.
const paraBreak = "\x1e"

type flavour int

const (
	flavourText flavour = iota
	flavourHTML
	flavourSlack
)

// funcs are the template functions every flavour shares.
func sharedFuncs() map[string]any {
	return map[string]any{
		"plural":    plural,
		"percent":   percent,
		"thousands": thousands[int64],
		"cut":       cut,
		"add":       func(a, b int) int { return a + b },
		"para":      func() string { return paraBreak },
		"span":      span,
	}
}

func textFuncs(f flavour) ttemplate.FuncMap {
	m := ttemplate.FuncMap(sharedFuncs())
	m["user"] = func(s string) string { return s }
	m["wrap"], m["fact"], m["underline"] = wrap, factLine, underline
	m["quote"] = func(s string) string { return "“" + s + "”" }
	m["em"] = func(s string) string { return s }
	m["code"] = func(s string) string { return s }
	if f == flavourSlack {
		m["em"] = func(s string) string { return "*" + s + "*" }
		m["code"] = func(s string) string { return "`" + s + "`" }
	}
	return m
}

func htmlFuncs() htemplate.FuncMap {
	m := htemplate.FuncMap(sharedFuncs())
	esc := htemplate.HTMLEscapeString
	// Customer text is isolated for the bidirectional algorithm, so a
	// right-to-left name does not reorder the sentence around it.
	m["user"] = func(s string) htemplate.HTML { return htemplate.HTML(`<span dir="auto">` + esc(s) + `</span>`) }
	m["quote"] = func(s string) htemplate.HTML {
		return htemplate.HTML(`“<span dir="auto">` + esc(s) + `</span>”`)
	}
	m["em"] = func(s string) htemplate.HTML { return htemplate.HTML("<strong>" + esc(s) + "</strong>") }
	m["code"] = func(s string) htemplate.HTML {
		return htemplate.HTML(`<code style="font-family:Menlo,Consolas,monospace">` + esc(s) + "</code>")
	}
	m["para"] = func() htemplate.HTML { return paraBreak }
	return m
}

// engines holds the parsed template sets.
type engines struct {
	text  *ttemplate.Template
	slack *ttemplate.Template
	html  *htemplate.Template
}

const wordsGlob = "templates/words/*.tmpl"

// loadEngines parses the embedded templates once per process.
var loadEngines = sync.OnceValues(parseEngines)

func parseEngines() (*engines, error) {
	text, err := ttemplate.New("notice").Funcs(textFuncs(flavourText)).ParseFS(templateFS, wordsGlob, "templates/layout.txt.tmpl")
	if err != nil {
		return nil, fmt.Errorf("notice templates (text): %w", err)
	}
	slack, err := ttemplate.New("notice").Funcs(textFuncs(flavourSlack)).ParseFS(templateFS, wordsGlob)
	if err != nil {
		return nil, fmt.Errorf("notice templates (slack): %w", err)
	}
	html, err := htemplate.New("notice").Funcs(htmlFuncs()).ParseFS(templateFS, wordsGlob, "templates/layout.html.tmpl")
	if err != nil {
		return nil, fmt.Errorf("notice templates (html): %w", err)
	}
	return &engines{text: text, slack: slack, html: html}, nil
}

// exec renders one phrase in flavour f and splits it into paragraphs,
// white space collapsed; an empty phrase gives none.
func (e *engines) exec(f flavour, name string, data any) ([]string, error) {
	var b strings.Builder
	var err error
	switch f {
	case flavourText:
		err = e.text.ExecuteTemplate(&b, name, data)
	case flavourSlack:
		err = e.slack.ExecuteTemplate(&b, name, data)
	default:
		err = e.html.ExecuteTemplate(&b, name, data)
	}
	if err != nil {
		return nil, fmt.Errorf("phrase %q: %w", name, err)
	}
	var out []string
	for _, p := range strings.Split(b.String(), paraBreak) {
		if p = strings.Join(strings.Fields(p), " "); p != "" {
			out = append(out, p)
		}
	}
	return out, nil
}

// one renders a phrase that must be a single paragraph (a subject, a
// label), joining paragraphs with a space.
func (e *engines) one(f flavour, ph phrase) (string, error) {
	if ph.Name == "" {
		return "", nil
	}
	ps, err := e.exec(f, ph.Name, ph.Data)
	return strings.Join(ps, " "), err
}
