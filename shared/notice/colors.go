package notice

// colors is the HTML layout's palette. Every colour the layout uses comes
// from here, and a test checks each text colour against the background it
// is drawn on for WCAG's 4.5:1 contrast; no colour carries meaning alone
// (the badge's words say what its colour does).
type colors struct {
	Page, Card, Border    string // backgrounds and lines: no text on Page
	Text, Muted, Link     string // on Card
	BadFG, BadBG          string
	GoodFG, GoodBG        string
	InfoFG, InfoBG        string
	FactLabel, FactBorder string // FactLabel on Card
}

var palette = colors{
	Page: "#f3f4f6", Card: "#ffffff", Border: "#d0d7de",
	Text: "#1f2328", Muted: "#57606a", Link: "#0b57d0",
	BadFG: "#82071e", BadBG: "#ffebe9",
	GoodFG: "#116329", GoodBG: "#dafbe1",
	InfoFG: "#0a3069", InfoBG: "#ddf4ff",
	FactLabel: "#57606a", FactBorder: "#d0d7de",
}

// badgeColors are the status badge's colours for one tone.
type badgeColors struct{ FG, BG string }

func (c colors) badge(t tone) badgeColors {
	switch t {
	case toneBad:
		return badgeColors{FG: c.BadFG, BG: c.BadBG}
	case toneGood:
		return badgeColors{FG: c.GoodFG, BG: c.GoodBG}
	}
	return badgeColors{FG: c.InfoFG, BG: c.InfoBG}
}
