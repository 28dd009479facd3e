package escalation_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/escalation/escalationtest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// fakeToken has the form of a DigitalOcean token; it must never come out.
var fakeToken = "dop_v1_" + strings.Repeat("0123456789abcdef", 4)

var hostileStart = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

// hostileReport builds a report over two failed calls whose every
// provider- or customer-controlled field is an attack.
func hostileReport(t *testing.T) *escalation.Report {
	t.Helper()
	end := hostileStart.AddDate(0, 0, 31)
	src := escalationtest.NewSource(hostileStart, end)
	at := end.Add(-30 * time.Minute)
	src.CountCalls(at, "nyc3", snapkeep.OpSnapshotDroplet, 100)
	src.AddCall(snapkeep.APICall{
		RunID: "pol-x#2026-05-31T23:00:00Z", Seq: 1, ResourceKey: "droplet:<b>1</b>", Region: "+nyc3",
		AccountID: "=cmd|' /C calc'!A0", Operation: snapkeep.OpSnapshotDroplet, Method: "POST",
		Path: "/v2/droplets/1/actions?<script>alert(0)</script>", StartedAt: at, StatusCode: 500,
		ErrorID: `"><img src=x onerror=alert(1)>`, ErrorMessage: "<script>alert(1)</script> | ` * [x](javascript:alert(1)) token " + fakeToken,
		ProviderRequestID: "@SUM(1+1)", Class: snapkeep.ClassProviderError,
		TransportError: "-2+3 \x1b[31mred\x1b[0m\r\nInjected: header",
		RequestHeaders: map[string]string{"authorization": "Bearer " + fakeToken, "accept": "application/json"},
		ResponseHeaders: map[string]string{"x-evil": "<script>alert(2)</script>", "x-echo": "Bearer abcdef123456",
			"x-token": fakeToken, "set-cookie": "session=1", "x-request-id": "@SUM(1+1)"},
	})
	src.AddCall(snapkeep.APICall{
		RunID: "pol-y#2026-05-31T23:00:00Z", Seq: 1, ResourceKey: "droplet:2", Region: "nyc3", AccountID: "acct-y",
		Operation: snapkeep.OpSnapshotDroplet, Method: "POST", Path: "/v2/droplets/2/actions", StartedAt: at.Add(time.Minute),
		StatusCode: 503, ErrorID: "service_unavailable", ErrorMessage: "=HYPERLINK(\"http://evil\")", ProviderRequestID: "rid-2",
		Class:          snapkeep.ClassProviderError,
		RequestHeaders: map[string]string{"authorization": snapkeep.Redacted},
	})
	inc := &snapkeep.Incident{IncidentID: "<script>alert(3)</script>", Kind: snapkeep.IncidentProvider,
		Dimension: snapkeep.OperationDimension(snapkeep.OpSnapshotDroplet), State: snapkeep.IncidentFiring,
		StartedAt: at.Add(-time.Minute), OpenedAt: at, Detector: "<i>cusum</i>"}
	r, err := escalation.Build(context.Background(), src, escalation.BuildInput{Incident: inc, Now: end})
	if err != nil {
		t.Fatal(err)
	}
	if r.AffectedTotal != 2 || len(r.Headers) != 2 {
		t.Fatalf("affected %d, samples %d; want 2 and 2", r.AffectedTotal, len(r.Headers))
	}
	return r
}

func TestHostileHTML(t *testing.T) {
	html := string(render(t, hostileReport(t), escalation.FormatHTML))
	if m := regexp.MustCompile(`(?i)<script|<img|<b>|<i>|<[^>]*\sonerror=`).FindString(html); m != "" {
		t.Errorf("HTML holds %q unescaped", m)
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "droplet:&lt;b&gt;1&lt;/b&gt;"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks the escaped %q", want)
		}
	}
}

func TestHostileMarkdown(t *testing.T) {
	md := string(render(t, hostileReport(t), escalation.FormatMarkdown))
	if m := regexp.MustCompile(`(?i)[^\\]<(script|img|b|i)\b`).FindString(md); m != "" {
		t.Errorf("Markdown holds %q unescaped", m)
	}
	if !strings.Contains(md, `\<script\>alert(1)\</script\>`) {
		t.Error("Markdown lacks the escaped message")
	}
	// Every line of a table has as many cell separators as its header.
	cells := regexp.MustCompile(`(^|[^\\])\|`)
	want := -1
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			want = -1
			continue
		}
		n := len(cells.FindAllString(line, -1))
		if want < 0 {
			want = n
		} else if n != want {
			t.Errorf("table line has %d cell separators, its header %d: %q", n, want, line)
		}
	}
	if regexp.MustCompile(`[^\\]\]\(javascript:`).MatchString(md) {
		t.Error("Markdown holds a live javascript: link")
	}
}

func TestHostileCSV(t *testing.T) {
	raw := render(t, hostileReport(t), escalation.FormatCSV)
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v", err)
	}
	if len(rows) != 3 || !reflect.DeepEqual(rows[0], escalation.CSVHeader) {
		t.Fatalf("CSV has %d rows, header %q", len(rows), rows[0])
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	want := map[string]string{"account_id": "'=cmd|' /C calc'!A0", "region": "'+nyc3", "x_request_id": "'@SUM(1+1)"}
	for name, v := range want {
		if got := rows[1][col[name]]; got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
	if got := rows[2][col["error_message"]]; got != `'=HYPERLINK("http://evil")` {
		t.Errorf("error_message = %q, want it guarded", got)
	}
	for _, row := range rows[1:] {
		for i, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("%s cell %q starts a formula", rows[0][i], cell)
			}
		}
	}
}

func TestHostileText(t *testing.T) {
	txt := string(render(t, hostileReport(t), escalation.FormatText))
	for _, r := range txt {
		if r < 0x20 && r != '\n' || r == 0x7f {
			t.Fatalf("text holds control character %U", r)
		}
	}
	if strings.Contains(txt, "\nInjected: header") {
		t.Error("a CR/LF in provider text started a new line")
	}
}

// TestNoTokenAnywhere checks a token in a header or in provider text is
// in no rendering and no note, and that the header holding it was dropped
// and named.
func TestNoTokenAnywhere(t *testing.T) {
	r := hostileReport(t)
	for _, f := range escalation.Formats() {
		out := string(render(t, r, f))
		for _, secret := range []string{fakeToken, strings.TrimPrefix(fakeToken, "dop_v1_"), "abcdef123456", "session=1"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s rendering holds %q", f, secret)
			}
		}
	}
	sample := r.Headers[0]
	for _, h := range append(sample.Request, sample.Response...) {
		switch h.Name {
		case "authorization", "x-echo", "x-token", "set-cookie":
			t.Errorf("header %s = %q was kept", h.Name, h.Value)
		}
	}
	if len(r.Headers[1].Request) != 1 || r.Headers[1].Request[0] != (escalation.Header{Name: "authorization", Value: snapkeep.Redacted}) {
		t.Errorf("second sample's request headers = %v, want authorization REDACTED kept", r.Headers[1].Request)
	}
	notes := strings.Join(r.Notes, "\n")
	for _, want := range []string{`request header "authorization" of a sampled call was dropped: it is not REDACTED`,
		`response header "x-echo" of a sampled call was dropped: its value looks like a token`,
		`response header "x-token"`, `response header "set-cookie" of a sampled call was dropped: cookies are never shown`} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if !strings.Contains(r.Affected[0].ErrorMessage, "token "+snapkeep.Redacted) {
		t.Errorf("error message %q: the token was not replaced", r.Affected[0].ErrorMessage)
	}
}

func TestCleanHeaders(t *testing.T) {
	tests := []struct {
		name    string
		in      map[string]string
		kept    []escalation.Header
		dropped []string
	}{
		{"redacted authorization kept", map[string]string{"Authorization": snapkeep.Redacted, "Accept": "application/json"},
			[]escalation.Header{{"accept", "application/json"}, {"authorization", snapkeep.Redacted}}, nil},
		{"live bearer dropped", map[string]string{"authorization": "Bearer " + fakeToken}, []escalation.Header{}, []string{"authorization"}},
		{"empty authorization dropped", map[string]string{"authorization": ""}, []escalation.Header{}, []string{"authorization"}},
		{"proxy authorization dropped", map[string]string{"proxy-authorization": "Basic dXNlcjpwYXNz"}, []escalation.Header{}, []string{"proxy-authorization"}},
		{"bearer in another header", map[string]string{"x-forwarded": "bearer   AbC.def-123_x"}, []escalation.Header{}, []string{"x-forwarded"}},
		{"redacted bearer elsewhere kept", map[string]string{"x-auth-echo": "Bearer REDACTED"}, []escalation.Header{{"x-auth-echo", "Bearer REDACTED"}}, nil},
		{"bare token", map[string]string{"x-t": strings.Repeat("ab", 32)}, []escalation.Header{}, []string{"x-t"}},
		{"oauth token", map[string]string{"x-t": "doo_v1_" + strings.Repeat("f", 64)}, []escalation.Header{}, []string{"x-t"}},
		{"cookie", map[string]string{"Cookie": "a=b"}, []escalation.Header{}, []string{"cookie"}},
		{"short hex kept", map[string]string{"cf-ray": "8d3f2a1b4c5d6e7f-EWR"}, []escalation.Header{{"cf-ray", "8d3f2a1b4c5d6e7f-EWR"}}, nil},
		{"bearer challenge dropped too (errs on the safe side)", map[string]string{"www-authenticate": "Bearer realm=\"api\""}, []escalation.Header{}, []string{"www-authenticate"}},
		{"control characters replaced", map[string]string{"x-a": "1\r\n2"}, []escalation.Header{{"x-a", "1  2"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kept, dropped := escalation.CleanHeaders(tt.in)
			if !reflect.DeepEqual(kept, tt.kept) {
				t.Errorf("kept %q, want %q", kept, tt.kept)
			}
			var names []string
			for _, d := range dropped {
				names = append(names, d.Name)
				for _, v := range tt.in {
					if v != "" && strings.Contains(d.Reason, v) {
						t.Errorf("reason %q quotes the value", d.Reason)
					}
				}
			}
			if !reflect.DeepEqual(names, tt.dropped) {
				t.Errorf("dropped %q, want %q", names, tt.dropped)
			}
		})
	}
}
