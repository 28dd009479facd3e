package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/infra/scenario"
	"github.com/snapkeep/snapkeep/infra/triggers"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// checkFixture is a small play that went right: one policy's slot, run and
// failure email, an incident that alerted ops once inside its window.
func checkFixture() (*Summary, CheckInput) {
	from := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	slot := from.Add(2 * time.Hour)
	runID := snapkeep.NewRunKey("p1", slot).RunID()
	s := &Summary{
		Runs:     []snapkeep.Run{{RunID: runID, Status: snapkeep.RunFailed, ErrorClass: snapkeep.ClassProviderError, APICalls: 3}},
		Requests: 3, CallRows: 3, RunCalls: 3,
		Incidents: []snapkeep.Incident{{IncidentID: "inc-1", Kind: snapkeep.IncidentProvider, OpenedAt: from.Add(30 * time.Minute), AlertID: "alert-1"}},
		Emails: []Email{
			{To: []string{OpsAddress}, Subject: "[snapkeep] DigitalOcean API error rate 2% since 10:30 UTC"},
			{To: []string{"ops@acme.example"}, Kind: string(snapkeep.NoticeFailure), Run: runID,
				Subject: "Your backup p1 did not run: DigitalOcean had a problem; your server is fine",
				Text:    "DigitalOcean answered “Server Error”, which means the error was on their side."},
		},
	}
	in := CheckInput{
		Fleet:   &scenario.Fleet{Incident: scenario.Incident{From: from, Until: from.Add(12 * time.Hour), Rate: 0.02}},
		Slots:   []triggers.Delivery{{Schedule: "p1", At: slot}, {Schedule: "paused", At: slot}},
		Enabled: map[string]bool{"p1": true},
	}
	return s, in
}

// TestCheck: the fixture passes, and each way the pipeline can misbehave
// fails the self-check with a sentence that says what went wrong.
func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Summary, *CheckInput)
		want   string // "" for no problem
	}{
		{"all well", func(*Summary, *CheckInput) {}, ""},
		{"a slot without its run", func(s *Summary, _ *CheckInput) { s.Runs = nil; s.RunCalls = 0 }, "1 scheduled slots have no run"},
		{"a run left unfinished", func(s *Summary, _ *CheckInput) { s.Runs[0].Status = snapkeep.RunInProgress }, "1 runs were left unfinished"},
		{"a call row lost", func(s *Summary, _ *CheckInput) { s.CallRows = 2 }, "call rows lost: DigitalOcean got 3 requests, ApiCalls has 2 rows"},
		{"a call not counted by its run", func(s *Summary, _ *CheckInput) { s.RunCalls = 2 }, "the runs count 2"},
		{"no alert during the incident", func(s *Summary, _ *CheckInput) { s.Incidents = nil; s.Emails = s.Emails[1:] }, "no alert during the incident"},
		{"an alert outside the incident", func(s *Summary, in *CheckInput) {
			s.Incidents[0].OpenedAt = in.Fleet.Incident.From.Add(-time.Hour)
		}, "ops was alerted outside the incident"},
		{"two alerts for one incident", func(s *Summary, _ *CheckInput) {
			second := s.Incidents[0]
			second.IncidentID, second.OpenedAt = "inc-2", second.OpenedAt.Add(time.Hour)
			s.Incidents = append(s.Incidents, second)
			s.Emails = append(s.Emails, s.Emails[0])
		}, "2 alerts for one incident (inc-1, inc-2)"},
		{"an alert without its email", func(s *Summary, _ *CheckInput) { s.Emails = s.Emails[1:] }, "ops got 0 alert emails for 1 alerting incidents"},
		{"a customer emailed twice about one run", func(s *Summary, _ *CheckInput) { s.Emails = append(s.Emails, s.Emails[1]) }, "emailed more than once about: run "},
		{"a bare Server Error in a subject", func(s *Summary, _ *CheckInput) { s.Emails[1].Subject = "Server Error" }, `a bare "Server Error" in the subject`},
		{"a bare Server Error in the text", func(s *Summary, _ *CheckInput) { s.Emails[1].Text = "Error: Server Error" }, `a bare "Server Error" in the text`},
		{"a bare Server Error on Slack", func(s *Summary, _ *CheckInput) {
			s.Slack = append(s.Slack, SlackPost{Path: "/services/T/B/x", Status: 200, Text: "Server Error"})
		}, `a bare "Server Error" in a Slack message's text`},
		{"a token in a table", func(s *Summary, _ *CheckInput) {
			s.Leaks = append(s.Leaks, "the DigitalOcean token of acct-1 is in table Runs")
		}, "the DigitalOcean token of acct-1 is in table Runs"},
		{"a stream batch in the failure queue", func(s *Summary, _ *CheckInput) {
			s.Failed = map[string]int{"StreamFailureQueue": 2}
			s.FailedSample = map[string]string{"StreamFailureQueue": `{"DDBStreamBatchInfo":{}}`}
		}, `2 messages in StreamFailureQueue (AWS gave up on them), e.g. {"DDBStreamBatchInfo":{}}`},
		{"an invocation dropped after its retries", func(s *Summary, _ *CheckInput) { s.Dropped = 1 }, "1 asynchronous invocations failed every retry"},
		{"a paused policy is not expected to run", func(s *Summary, in *CheckInput) { in.Enabled["paused"] = false }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, in := checkFixture()
			tt.mutate(s, &in)
			got := Check(s, in)
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("Check found problems in a good play: %q", got)
				}
				return
			}
			if !strings.Contains(strings.Join(got, "\n"), tt.want) {
				t.Fatalf("Check = %q, want a problem saying %q", got, tt.want)
			}
		})
	}
}

// TestBareProviderText: DigitalOcean's message is allowed only quoted, as
// shared/notice quotes it.
func TestBareProviderText(t *testing.T) {
	tests := []struct {
		name, subject, text, html, want string
	}{
		{"quoted in text", "Backup failed", "DigitalOcean answered “Server Error”.", "", ""},
		{"quoted in HTML", "", "", `DigitalOcean answered “<span dir="auto">Server Error</span>”.`, ""},
		{"quoted in Slack JSON", "", "", `answered “<span dir=\"auto\">Server Error</span>”`, ""},
		{"subject", "Server Error", "", "", "subject"},
		{"bare text", "", "Error: Server Error", "", "text"},
		{"bare HTML", "", "", "<h1>Server Error</h1>", "HTML"},
		{"quoted and bare", "", "“Server Error” and then Server Error", "", "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bareProviderText(tt.subject, tt.text, tt.html); got != tt.want {
				t.Errorf("bareProviderText = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLeaksIn: a secret is found wherever it went — the logs, a message's
// raw MIME or only its decoded parts (an attachment), a Slack post, a
// failure queue's message, a file the demo wrote — and nowhere else.
func TestLeaksIn(t *testing.T) {
	const token = "dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"
	secrets := []secret{{what: "the DigitalOcean token of acct-1", value: token}}
	tests := []struct {
		name  string
		put   func(*Summary, *string, string)
		where string
	}{
		{"nowhere", func(*Summary, *string, string) {}, ""},
		{"logs", func(_ *Summary, logs *string, _ string) { *logs = `{"msg":"token ` + token + `"}` }, "in the functions' logs"},
		{"raw email", func(s *Summary, _ *string, _ string) { s.Emails = []Email{{Subject: "x", Raw: token}} }, `in the email "x"`},
		{"attachment only", func(s *Summary, _ *string, _ string) { s.Emails = []Email{{Subject: "alert", Decoded: "a,b," + token}} }, `in the email "alert"`},
		{"Slack", func(s *Summary, _ *string, _ string) { s.Slack = []SlackPost{{Body: token}} }, "in a Slack message"},
		{"failure queue", func(s *Summary, _ *string, _ string) { s.FailedSample = map[string]string{"StreamFailureQueue": token} }, "in a message of StreamFailureQueue"},
		{"report file", func(s *Summary, _ *string, path string) {
			if err := os.WriteFile(path, []byte("<p>"+token+"</p>"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "is in "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, logs := &Summary{}, ""
			path := filepath.Join(t.TempDir(), "demo-report.html")
			if err := os.WriteFile(path, []byte("<p>clean</p>"), 0o600); err != nil {
				t.Fatal(err)
			}
			tt.put(s, &logs, path)
			s.leaksIn(secrets, logs)
			if err := s.leaksInFile(secrets, path); err != nil {
				t.Fatal(err)
			}
			got := strings.Join(s.Leaks, "; ")
			if tt.where == "" && got != "" || tt.where != "" && !strings.Contains(got, tt.where) {
				t.Errorf("leaks %q, want one %q", got, tt.where)
			}
		})
	}
}
