package notice

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// TestHostileNames renders a failure, the incident notice and the digest
// with customer-controlled strings an attacker or an unusual customer may
// store: markup, header injection, a 10 KB name, right-to-left and CJK
// text, bidirectional overrides.
func TestHostileNames(t *testing.T) {
	huge := strings.Repeat("A", 10*1024)
	cases := []struct {
		name string
		// value is set as the resource name, the customer name and the
		// policy id.
		value string
		// shown is how the HTML shows the start of the value (escaped,
		// isolated); "" skips the check.
		shown string
	}{
		{"html injection", `<script>alert("x")</script><img src=x onerror=alert(1)>`, `<span dir="auto">&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`},
		{"crlf header injection", "web-1\r\nBcc: victim@example.com\r\n\r\n<b>body</b>", `<span dir="auto">web-1 Bcc: victim@example.com &lt;b&gt;body&lt;/b&gt;`},
		{"10 KB name", huge, `<span dir="auto">AAAA`},
		{"Arabic (right to left)", "خادم-الويب", `<span dir="auto">خادم-الويب</span>`},
		{"Hebrew (right to left)", "שרת ראשי", `<span dir="auto">שרת ראשי</span>`},
		{"CJK", "数据库服务器-東京", `<span dir="auto">数据库服务器-東京</span>`},
		{"bidi override", "\u202Egnp.exe\u2066x\u2069", `<span dir="auto">gnp.exex</span>`},
		{"invalid UTF-8 and controls", "web\xff\x00-1\x1b[31m\x1e", `<span dir="auto">web` + "\uFFFD" + `-1[31m</span>`},
		{"slack mention and link", "<!channel> <https://evil.example|click>", ""},
	}
	r := newRenderer(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := customer()
			c.Name = tc.value
			p := policy()
			p.PolicyID = tc.value
			run := runOf(p, slot, snapkeep.ClassProviderError)
			f, err := r.Failure(FailureInput{Run: run, Policy: p, Customer: c, ResourceName: tc.value, Now: now, Incident: openIncident()})
			if err != nil {
				t.Fatal(err)
			}
			inc, err := r.IncidentNotice(IncidentInput{Customer: c, Incident: openIncident(), Failed: []FailedRun{{Run: run, Policy: p, ResourceName: tc.value}}, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			for kind, m := range map[string]Message{"failure": f, "incident": inc} {
				checkHostile(t, kind, m, tc.value)
				if tc.shown != "" && !strings.Contains(m.HTML, tc.shown) {
					t.Errorf("%s: HTML lacks %s", kind, tc.shown)
				}
			}
			if !strings.HasSuffix(f.Subject, "— DigitalOcean problem, your server is fine") {
				t.Errorf("the subject lost its end: %q", f.Subject)
			}
		})
	}
}

func checkHostile(t *testing.T, kind string, m Message, value string) {
	t.Helper()
	for what, s := range map[string]string{"subject": m.Subject, "preheader": m.Preheader, "text": m.Text, "html": m.HTML, "slack": m.Slack.Text} {
		if !utf8.ValidString(s) {
			t.Errorf("%s %s is not valid UTF-8", kind, what)
		}
		for _, r := range s {
			if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) {
				t.Errorf("%s %s holds control or bidi character %U", kind, what, r)
				break
			}
		}
	}
	if strings.ContainsAny(m.Subject+m.Preheader, "\r\n") {
		t.Errorf("%s subject or preheader holds a line break: %q", kind, m.Subject)
	}
	if n := utf8.RuneCountInString(m.Subject); n > MaxSubject {
		t.Errorf("%s subject is %d characters", kind, n)
	}
	if len(m.Subject) > 4*MaxSubject || len(m.Text) > 20*1024 || len(m.HTML) > 40*1024 {
		t.Errorf("%s: a long name makes a long message: subject %d, text %d, HTML %d bytes", kind, len(m.Subject), len(m.Text), len(m.HTML))
	}
	for _, bad := range []string{"<script", "<img", "<b>"} {
		if strings.Contains(strings.ToLower(m.HTML), bad) {
			t.Errorf("%s HTML holds unescaped %q", kind, bad)
		}
	}
	if strings.Contains(m.HTML, `href="https://app.snapkeep.example/policies/<`) {
		t.Errorf("%s: policy link not escaped", kind)
	}
	payload, err := m.Slack.SlackPayload()
	if err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	var back SlackMessage
	if err := json.Unmarshal(payload, &back); err != nil {
		t.Fatalf("%s: Slack payload is not JSON: %v", kind, err)
	}
	for _, b := range back.Blocks {
		texts := b.Elements
		if b.Text != nil {
			texts = append(texts, *b.Text)
		}
		for _, x := range texts {
			if x.Type == "mrkdwn" && (strings.Contains(x.Text, "<!channel>") || strings.Contains(x.Text, "<script") || strings.Contains(x.Text, "|click>")) {
				t.Errorf("%s: Slack text not escaped: %q", kind, x.Text)
			}
			if b.Type == "header" && strings.ContainsAny(x.Text, "\r\n") {
				t.Errorf("%s: Slack header holds a line break", kind)
			}
		}
	}
}

func TestHeaderSafe(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"Backup failed", 100, "Backup failed"},
		{"  two\r\nlines\tand   spaces  ", 100, "two lines and spaces"},
		{"bell\a and nul\x00 and esc\x1b", 100, "bell and nul and esc"},
		{"\u202Eevil\u202C \u2066iso\u2069 \ufeffbom", 100, "evil iso bom"},
		{"line\u2028para\u2029end", 100, "line para end"},
		{"bad \xff byte", 100, "bad \uFFFD byte"},
		{"abcdefghij", 5, "abcd…"},
		{"abcd efghij", 5, "abcd…"},
		{"abc", 3, "abc"},
		{"数据库服务器", 4, "数据库…"},
		{"خادم الويب", 6, "خادم…"},
		{"emoji 👩‍💻 kept", 100, "emoji 👩‍💻 kept"},
		{"abc", 1, "…"},
		{"abc", 0, ""},
		{strings.Repeat("x", 10000), 120, strings.Repeat("x", 119) + "…"},
	}
	for _, tc := range cases {
		got := HeaderSafe(tc.in, tc.max)
		if got != tc.want {
			t.Errorf("HeaderSafe(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
		if n := utf8.RuneCountInString(got); n > tc.max && tc.max > 0 {
			t.Errorf("HeaderSafe(%q, %d) is %d characters", tc.in, tc.max, n)
		}
	}
}

// TestSlackHasNoPreferencesToken: the preferences token (which lets its
// holder unsubscribe the customer) goes only to the customer's email, not
// to a Slack channel.
func TestSlackHasNoPreferencesToken(t *testing.T) {
	r := newRenderer(t)
	for _, gc := range goldenCases() {
		m, err := gc.render(r)
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.Slack.SlackPayload()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(p), customer().PreferencesToken) {
			t.Errorf("%s: the Slack message holds the preferences token", gc.name)
		}
		if !strings.Contains(string(p), "<https://app.snapkeep.example/preferences|") {
			t.Errorf("%s: the Slack message does not link the preferences page", gc.name)
		}
	}
}
