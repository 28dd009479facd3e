package notice

import "testing"

// TestRenderedNoticesQuoteTheProvider: every golden message (each class,
// with and without an incident, every other kind), in every part and in
// Slack, keeps the rule Unquoted checks for DigitalOcean's "Server Error".
func TestRenderedNoticesQuoteTheProvider(t *testing.T) {
	r := newRenderer(t)
	for _, gc := range goldenCases() {
		m, err := gc.render(r)
		if err != nil {
			t.Fatalf("%s: %v", gc.name, err)
		}
		slack, err := m.Slack.SlackPayload()
		if err != nil {
			t.Fatalf("%s: %v", gc.name, err)
		}
		for part, body := range map[string]string{"subject": m.Subject, "text": m.Text, "HTML": m.HTML, "Slack": string(slack)} {
			if Unquoted(body, "Server Error") {
				t.Errorf("%s: a bare \"Server Error\" in the %s", gc.name, part)
			}
		}
	}
}
