package notice

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// manyFailures is one failed run each of n policies with long names, so
// that every limit is reached.
func manyFailures(n int) []FailedRun {
	out := make([]FailedRun, n)
	for i := range out {
		p := policy()
		p.PolicyID = fmt.Sprintf("web-%03d", i)
		p.Resource.ID = fmt.Sprint(3164444 + i)
		out[i] = FailedRun{Run: runOf(p, slot, snapkeep.ClassProviderError), Policy: p,
			ResourceName: fmt.Sprintf("customer-facing-frontend-%03d.eu-central.acme-analytics.example", i)}
	}
	return out
}

func checkSlackLimits(t *testing.T, m SlackMessage) {
	t.Helper()
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
	if len(m.Blocks) > SlackMaxBlocks {
		t.Errorf("%d blocks", len(m.Blocks))
	}
	if m.Text == "" {
		t.Error("no top-level text")
	}
	for i, b := range m.Blocks {
		if b.Text == nil {
			continue
		}
		if b.Type == "header" && len(b.Text.Text) > SlackMaxHeader {
			t.Errorf("block %d: header of %d bytes", i, len(b.Text.Text))
		}
		if len(b.Text.Text) > SlackMaxSection {
			t.Errorf("block %d: section of %d bytes", i, len(b.Text.Text))
		}
	}
}

// TestSlackLimits renders messages far beyond Slack's limits: a 500-policy
// digest, broadcast and incident notice, and a failure whose every name is
// 10 KB.
func TestSlackLimits(t *testing.T) {
	r := newRenderer(t)
	fs := manyFailures(500)
	digest, err := r.Digest(DigestInput{Customer: customer(), From: slot.Add(-3 * time.Hour), To: slot.Add(21 * time.Hour), Failed: fs, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	inc, err := r.IncidentNotice(IncidentInput{Customer: customer(), Incident: openIncident(), Failed: fs, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	bc := broadcastInput()
	bc.Failed = fs
	broadcast, err := r.Broadcast(bc)
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]Message{"digest": digest, "incident": inc, "broadcast": broadcast} {
		t.Run(name, func(t *testing.T) {
			checkSlackLimits(t, m.Slack)
			if !strings.Contains(flat(m.Text), "and 400 more policies: see them all on your backup policies page") {
				t.Errorf("the text does not count the unlisted policies")
			}
			if strings.Count(m.Text, "customer-facing-frontend-") != MaxListedPolicies {
				t.Errorf("the text lists %d policies, want %d", strings.Count(m.Text, "customer-facing-frontend-"), MaxListedPolicies)
			}
			if len(m.HTML) > 102*1024 {
				t.Errorf("HTML is %d bytes: Gmail clips over 102 KB", len(m.HTML))
			}
		})
	}
	long := strings.Repeat("長", 4000)
	c := customer()
	c.Name = long
	m, err := r.Failure(FailureInput{Run: failedRun(snapkeep.ClassProviderError), Policy: policy(), Customer: c, ResourceName: long, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	checkSlackLimits(t, m.Slack)
}

// TestSlackPacking: sections are split where a chunk would not fit, a
// chunk too long for any section is cut (never inside an escape), and a
// message with too many sections ends with where to read the rest.
func TestSlackPacking(t *testing.T) {
	para := strings.Repeat("word & <more> ", 100) // 1,400 bytes raw, more escaped
	b := pageBlock[string]{Heading: "Heading", Paras: []string{para, para, para, strings.Repeat("x&", 3000)}}
	sections := packSections(slackChunks(b))
	if len(sections) < 3 {
		t.Fatalf("%d sections, want the paragraphs spread over at least 3", len(sections))
	}
	for i, s := range sections {
		if len(s) > SlackMaxSection {
			t.Errorf("section %d is %d bytes", i, len(s))
		}
		if strings.HasSuffix(strings.TrimSuffix(s, "…"), "&am") || strings.Contains(s, "<more>") {
			t.Errorf("section %d cut inside an escape or unescaped: …%q", i, s[max(0, len(s)-20):])
		}
	}
	var p page[string]
	p.Footer, p.PreferencesTxt, p.PreferencesURL = "footer", "prefs", "https://app.snapkeep.example/preferences/x"
	for i := 0; i < 80; i++ {
		p.Blocks = append(p.Blocks, pageBlock[string]{Paras: []string{fmt.Sprint("block ", i)}})
	}
	m := slackMessage("subject", "title", p, "more at <https://app.snapkeep.example/policies>")
	checkSlackLimits(t, m)
	if len(m.Blocks) != SlackMaxBlocks {
		t.Errorf("%d blocks, want exactly %d", len(m.Blocks), SlackMaxBlocks)
	}
	if last := m.Blocks[len(m.Blocks)-3]; last.Text == nil || !strings.HasPrefix(last.Text.Text, "more at") {
		t.Errorf("the last section does not say where the rest is: %+v", last)
	}
}

// TestSlackCheck: Check names each broken limit, and SlackPayload refuses
// to marshal a message that breaks one.
func TestSlackCheck(t *testing.T) {
	section := func(n int) Block {
		return Block{Type: "section", Text: &TextObject{Type: "mrkdwn", Text: strings.Repeat("x", n)}}
	}
	many := make([]Block, SlackMaxBlocks+1)
	for i := range many {
		many[i] = section(1)
	}
	cases := []struct {
		name string
		m    SlackMessage
		want string // "" for valid
	}{
		{"valid", SlackMessage{Text: "t", Blocks: []Block{section(SlackMaxSection)}}, ""},
		{"no top-level text", SlackMessage{Blocks: []Block{section(1)}}, "top-level text is empty"},
		{"long header", SlackMessage{Text: "t", Blocks: []Block{{Type: "header", Text: &TextObject{Type: "plain_text", Text: strings.Repeat("h", SlackMaxHeader+1)}}}}, "a header needs plain_text"},
		{"mrkdwn header", SlackMessage{Text: "t", Blocks: []Block{{Type: "header", Text: &TextObject{Type: "mrkdwn", Text: "h"}}}}, "a header needs plain_text"},
		{"long section", SlackMessage{Text: "t", Blocks: []Block{section(SlackMaxSection + 1)}}, "a section needs text of 1-3000 bytes"},
		{"empty section", SlackMessage{Text: "t", Blocks: []Block{section(0)}}, "a section needs text"},
		{"too many blocks", SlackMessage{Text: "t", Blocks: many}, "51 blocks, over 50"},
		{"empty context", SlackMessage{Text: "t", Blocks: []Block{{Type: "context"}}}, "a context needs 1-10 elements"},
		{"unknown type", SlackMessage{Text: "t", Blocks: []Block{{Type: "image"}}}, `unknown type "image"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m.Check()
			_, perr := tc.m.SlackPayload()
			switch {
			case tc.want == "" && (err != nil || perr != nil):
				t.Errorf("Check = %v, SlackPayload error = %v; want valid", err, perr)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Check = %v, want an error with %q", err, tc.want)
			case tc.want != "" && perr == nil:
				t.Error("SlackPayload marshalled an invalid message")
			}
		})
	}
}
