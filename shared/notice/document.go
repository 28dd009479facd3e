package notice

import (
	htemplate "html/template"
	"strings"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// A document is a message before rendering: which phrase goes where. The
// builders (failure.go, incident.go, ...) decide the structure; the
// phrases (templates/words) hold the words; render turns one document
// into text, HTML and Slack, so the three always say the same.
type document struct {
	Kind      snapkeep.NoticeKind
	Tone      tone
	Status    phrase // the badge's words, "Backup failed"
	Subject   phrase
	Preheader phrase
	Title     phrase // the headline (h1, first line of the text)
	Blocks    []block
	Footer    phrase
	// PreferencesURL is the email footer's link, with the customer's
	// preferences token; SlackPreferencesURL is Slack's, without it
	// (everyone in a channel reads it, and the token would let them
	// unsubscribe the customer), so it asks to sign in.
	PreferencesURL      string
	SlackPreferencesURL string
	// MoreURL is where Slack sends readers when a message is too long
	// for it.
	MoreURL string
}

// phrase names a template in templates/words and the data it is
// executed with.
type phrase struct {
	Name string
	Data any
}

func ph(name string, data any) phrase { return phrase{Name: name, Data: data} }

// block is one section of a message: an optional heading, then
// paragraphs, facts (label: value), list items and links, in that order.
type block struct {
	Heading phrase
	Paras   []phrase
	Facts   []fact
	Items   []phrase
	Links   []link
}

type fact struct {
	Label phrase
	Value phrase
}

type link struct {
	Label phrase
	URL   string
}

// tone colours the badge; the badge's words always say the same.
type tone string

const (
	toneBad  tone = "bad"
	toneGood tone = "good"
	toneInfo tone = "info"
)

// page is a rendered document in one flavour: S is string for text and
// Slack, template.HTML for HTML.
type page[S ~string] struct {
	Lang           string
	Subject        string
	Preheader      string
	Status         S
	Title          S
	Blocks         []pageBlock[S]
	Footer         S
	PreferencesURL string
	PreferencesTxt S
	Colors         colors
	Badge          badgeColors
}

type pageBlock[S ~string] struct {
	Heading S
	Paras   []S
	Facts   []pageFact[S]
	Items   []S
	Links   []pageLink[S]
	// LabelWidth is the widest fact label, in characters (text layout).
	LabelWidth int
}

type pageFact[S ~string] struct {
	Label S
	Value S
}

type pageLink[S ~string] struct {
	Label S
	URL   string
}

// renderPage renders every phrase of d in flavour f. A fact or an item
// whose phrase is empty is left out, and so is a block left empty.
func renderPage[S ~string](e *engines, f flavour, d document) (page[S], error) {
	var p page[S]
	var err error
	one := func(x phrase) S {
		if err != nil {
			return ""
		}
		var s string
		s, err = e.one(f, x)
		return S(s)
	}
	many := func(x phrase) []S {
		if err != nil || x.Name == "" {
			return nil
		}
		var ps []string
		ps, err = e.exec(f, x.Name, x.Data)
		out := make([]S, len(ps))
		for i, s := range ps {
			out[i] = S(s)
		}
		return out
	}
	p.Lang = "en"
	p.Status, p.Title, p.Footer = one(d.Status), one(d.Title), one(d.Footer)
	p.PreferencesTxt = one(ph("preferences.link", nil))
	p.PreferencesURL = d.PreferencesURL
	p.Colors, p.Badge = palette, palette.badge(d.Tone)
	for _, b := range d.Blocks {
		pb := pageBlock[S]{Heading: one(b.Heading)}
		for _, x := range b.Paras {
			pb.Paras = append(pb.Paras, many(x)...)
		}
		for _, x := range b.Facts {
			if v := one(x.Value); v != "" {
				l := one(x.Label)
				pb.Facts = append(pb.Facts, pageFact[S]{Label: l, Value: v})
				pb.LabelWidth = max(pb.LabelWidth, len([]rune(string(l))))
			}
		}
		for _, x := range b.Items {
			if v := one(x); v != "" {
				pb.Items = append(pb.Items, v)
			}
		}
		for _, l := range b.Links {
			pb.Links = append(pb.Links, pageLink[S]{Label: one(l.Label), URL: l.URL})
		}
		if len(pb.Paras)+len(pb.Facts)+len(pb.Items)+len(pb.Links) > 0 {
			p.Blocks = append(p.Blocks, pb)
		}
	}
	return p, err
}

// render turns d into a Message.
func (r *Renderer) render(d document) (Message, error) {
	txt, err := renderPage[string](r.eng, flavourText, d)
	if err != nil {
		return Message{}, err
	}
	htm, err := renderPage[htemplate.HTML](r.eng, flavourHTML, d)
	if err != nil {
		return Message{}, err
	}
	slk, err := renderPage[string](r.eng, flavourSlack, d)
	if err != nil {
		return Message{}, err
	}
	slk.PreferencesURL = d.SlackPreferencesURL
	subject, err := r.eng.one(flavourText, d.Subject)
	if err != nil {
		return Message{}, err
	}
	pre, err := r.eng.one(flavourText, d.Preheader)
	if err != nil {
		return Message{}, err
	}
	m := Message{Kind: d.Kind, Subject: HeaderSafe(subject, MaxSubject), Preheader: HeaderSafe(pre, 140)}
	txt.Subject, txt.Preheader = m.Subject, m.Preheader
	htm.Subject, htm.Preheader = m.Subject, m.Preheader
	var b strings.Builder
	if err := r.eng.text.ExecuteTemplate(&b, "layout.txt", txt); err != nil {
		return Message{}, err
	}
	m.Text = tidyText(b.String())
	b.Reset()
	if err := r.eng.html.ExecuteTemplate(&b, "layout.html", htm); err != nil {
		return Message{}, err
	}
	m.HTML = tidyHTML(b.String())
	more, err := r.eng.one(flavourSlack, ph("slack.more", nil))
	if err != nil {
		return Message{}, err
	}
	m.Slack = slackMessage(m.Subject, txt.Title, slk, slackEscape(more)+" <"+d.MoreURL+">")
	return m, nil
}
