package notice

import (
	"io/fs"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// luminance is WCAG 2's relative luminance of a #rrggbb colour.
func luminance(t *testing.T, hex string) float64 {
	t.Helper()
	if len(hex) != 7 || hex[0] != '#' {
		t.Fatalf("colour %q is not #rrggbb", hex)
	}
	var l [3]float64
	for i := range l {
		v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		if err != nil {
			t.Fatal(err)
		}
		c := float64(v) / 255
		if c <= 0.04045 {
			l[i] = c / 12.92
		} else {
			l[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

func contrast(t *testing.T, fg, bg string) float64 {
	a, b := luminance(t, fg), luminance(t, bg)
	return (max(a, b) + 0.05) / (min(a, b) + 0.05)
}

// TestContrast checks every text colour of the layout against the
// background it is drawn on (WCAG AA, 4.5:1), and that the rendered HTML
// uses no colour outside the palette.
func TestContrast(t *testing.T) {
	c := palette
	pairs := []struct{ name, fg, bg string }{
		{"text on card", c.Text, c.Card}, {"muted footer on card", c.Muted, c.Card},
		{"links on card", c.Link, c.Card}, {"fact labels on card", c.FactLabel, c.Card},
		{"bad badge", c.BadFG, c.BadBG}, {"good badge", c.GoodFG, c.GoodBG}, {"info badge", c.InfoFG, c.InfoBG},
		{"text on page (outside the card)", c.Text, c.Page},
	}
	for _, p := range pairs {
		if r := contrast(t, p.fg, p.bg); r < 4.5 {
			t.Errorf("%s: %s on %s has contrast %.2f:1, want at least 4.5:1", p.name, p.fg, p.bg, r)
		}
	}
	known := map[string]bool{}
	for _, v := range []string{c.Page, c.Card, c.Border, c.Text, c.Muted, c.Link, c.BadFG, c.BadBG, c.GoodFG, c.GoodBG, c.InfoFG, c.InfoBG, c.FactLabel, c.FactBorder} {
		known[v] = true
	}
	r := newRenderer(t)
	hex := regexp.MustCompile(`(?:color:|solid )([^;"]*)`)
	for _, gc := range goldenCases() {
		m, err := gc.render(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, sm := range hex.FindAllStringSubmatch(m.HTML, -1) {
			if col := sm[1]; !known[col] {
				t.Errorf("%s: HTML uses colour %s, not in the palette", gc.name, col)
			}
		}
	}
}

// TestStatusInWords: the badge's colour is never the only sign: every
// message's badge holds words.
func TestStatusInWords(t *testing.T) {
	r := newRenderer(t)
	badge := regexp.MustCompile(`background-color:#[0-9a-f]{6}">([^<]*)</span>`)
	for _, gc := range goldenCases() {
		m, err := gc.render(r)
		if err != nil {
			t.Fatal(err)
		}
		got := badge.FindStringSubmatch(m.HTML)
		if got == nil || len(strings.Fields(got[1])) == 0 {
			t.Errorf("%s: badge without words", gc.name)
		}
	}
}

// TestPhrasesHaveNoMarkup: the phrase files are parsed by html/template
// too, which does not escape template text; markup or an ampersand there
// would reach the HTML raw and the text body as code.
func TestPhrasesHaveNoMarkup(t *testing.T) {
	actions := regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	files, err := fs.Glob(templateFS, wordsGlob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no phrase files: %v", err)
	}
	for _, f := range files {
		b, err := fs.ReadFile(templateFS, f)
		if err != nil {
			t.Fatal(err)
		}
		prose := actions.ReplaceAllString(string(b), "")
		if i := strings.IndexAny(prose, "<>&"); i >= 0 {
			t.Errorf("%s: markup character %q in prose: …%s…", f, prose[i], prose[max(0, i-30):min(len(prose), i+30)])
		}
	}
}

func TestLinks(t *testing.T) {
	cases := []struct {
		links Links
		want  string // "" for valid
	}{
		{Links{AppURL: "https://app.snapkeep.example"}, ""},
		{Links{AppURL: "https://snapkeep.example/app/"}, ""},
		{Links{AppURL: "http://localhost:8080"}, ""},
		{Links{AppURL: "https://app.snapkeep.example", StatusPage: "https://status.digitalocean.com"}, ""},
		{Links{}, "AppURL is empty"},
		{Links{AppURL: "http://app.snapkeep.example"}, "want an https URL"},
		{Links{AppURL: "javascript:alert(1)"}, "want an https URL"},
		{Links{AppURL: "https://"}, "has no host"},
		{Links{AppURL: "https://app.snapkeep.example/?x=1"}, "want no query"},
		{Links{AppURL: "https://app.snapkeep.example/a|b"}, "holds a space"},
		{Links{AppURL: "https://app.snapkeep.example", StatusPage: "ftp://status"}, "StatusPage"},
	}
	for _, tc := range cases {
		_, err := New(tc.links)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("New(%+v) = %v, want no error", tc.links, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("New(%+v) = %v, want an error with %q", tc.links, err, tc.want)
		}
	}
	l := Links{AppURL: "https://snapkeep.example/app/"}
	c := customer()
	for got, want := range map[string]string{
		l.Policy("web 1/<x>"): "https://snapkeep.example/app/policies/web%201%2F%3Cx%3E",
		l.Policies():          "https://snapkeep.example/app/policies",
		l.Preferences(c):      "https://snapkeep.example/app/preferences/pt_7Kq2mZx9Vb4LwRn8cT3yHs",
		l.Preferences(nil):    "https://snapkeep.example/app/preferences",
		l.Status():            DefaultStatusPage,
		Links{StatusPage: "https://status.example/"}.Status(): "https://status.example",
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}
