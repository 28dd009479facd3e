package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/snapkeep/snapkeep/shared/email"
	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/escalation/escalationtest"
	"github.com/snapkeep/snapkeep/shared/slack"
)

// fakeMailer records messages and answers with err.
type fakeMailer struct {
	sent []email.Message
	err  error
}

func (m *fakeMailer) Send(_ context.Context, msg email.Message) (email.Sent, error) {
	if m.err != nil {
		return email.Sent{}, m.err
	}
	m.sent = append(m.sent, msg)
	return email.Sent{MessageID: "ses-1", Attempts: 1}, nil
}

// fakeSecrets answers GetSecretValue with a function field.
type fakeSecrets struct {
	get   func(id string) (string, error)
	reads int
}

func (s *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	s.reads++
	v, err := s.get(aws.ToString(in.SecretId))
	if err != nil {
		return nil, err
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

// fakePoster records webhook posts.
type fakePoster struct {
	urls     []string
	payloads []string
	err      error
}

func (p *fakePoster) Post(_ context.Context, url string, payload []byte) error {
	p.urls, p.payloads = append(p.urls, url), append(p.payloads, string(payload))
	return p.err
}

const secretURL = "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX"

// TestAlerterSends: the alert and the resolution of the fixture's 12-hour
// incident go out as one email each, with the report's text and HTML and
// the CSV and Markdown attached, the subjects the escalation package
// makes; the webhook gets a one-line post from a URL read once from the
// secret and never logged.
func TestAlerterSends(t *testing.T) {
	sc := escalationtest.Incident12h()
	var logs bytes.Buffer
	mail, post := &fakeMailer{}, &fakePoster{err: &slack.Rejected{Status: 404, Code: "channel_not_found"}}
	secrets := &fakeSecrets{get: func(id string) (string, error) { return secretURL, nil }}
	a := &opsAlerter{Source: sc.Source, Mail: mail, To: email.Address{Email: "ops@snapkeep.example"},
		Webhook: &opsWebhook{Secrets: secrets, SecretID: "snapkeep/dev/ops-webhook", Poster: post},
		Now:     func() time.Time { return sc.Now }, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	for _, n := range []errorrate.Notice{errorrate.NoticeAlert, errorrate.NoticeResolution} {
		id, err := a.Send(context.Background(), sc.Incident, n)
		if err != nil || id != "ses-1" {
			t.Fatalf("%s: Send = %q, %v", n, id, err)
		}
	}
	if len(mail.sent) != 2 {
		t.Fatalf("%d emails", len(mail.sent))
	}
	for i, want := range []string{escalation.AlertSubject(sc.Incident), escalation.ResolutionSubject(sc.Incident)} {
		m := mail.sent[i]
		if m.Subject != want || m.Stream != email.Transactional || m.To[0].Email != "ops@snapkeep.example" ||
			m.Headers["X-Snapkeep-Incident"] != sc.Incident.IncidentID {
			t.Errorf("email %d: %q to %v headers %v; want %q", i, m.Subject, m.To, m.Headers, want)
		}
		for _, sec := range escalation.Sections() {
			if !strings.Contains(m.HTML, `id="`+sec.ID+`"`) || !strings.Contains(m.Text, sec.Title) {
				t.Errorf("email %d lacks section %s", i, sec.ID)
			}
		}
		if len(m.Attachments) != 2 || !strings.HasSuffix(m.Attachments[0].Filename, ".csv") || !strings.HasSuffix(m.Attachments[1].Filename, ".md") ||
			bytes.Count(m.Attachments[0].Data, []byte("\n")) < 100 {
			t.Errorf("email %d attachments: %d", i, len(m.Attachments))
		}
	}
	if secrets.reads != 1 || len(post.urls) != 2 || post.urls[0] != secretURL || !strings.Contains(post.payloads[0], sc.Incident.IncidentID) {
		t.Errorf("webhook: %d secret reads, posts %v", secrets.reads, post.payloads)
	}
	var payload map[string]string
	if err := json.Unmarshal([]byte(post.payloads[0]), &payload); err != nil || !strings.Contains(payload["text"], "DigitalOcean API error rate") {
		t.Errorf("webhook payload %s: %v", post.payloads[0], err)
	}
	if strings.Contains(logs.String(), "hooks.slack.com") || strings.Contains(logs.String(), "XXXXsecretXXXX") {
		t.Errorf("the webhook URL was logged:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "ops webhook post failed") {
		t.Errorf("the rejected post was not logged:\n%s", logs.String())
	}
}

// TestAlerterErrors: a permanent SES refusal is undeliverable (never
// retried); throttling is not.
func TestAlerterErrors(t *testing.T) {
	sc := escalationtest.Incident12h()
	tests := []struct {
		name          string
		err           error
		undeliverable bool
	}{
		{"suppressed recipient", &email.Rejected{Code: email.CodeSuppressed, Scope: email.ScopeRecipient}, true},
		{"throttled after the retries", errors.New("TooManyRequestsException: maximum sending rate exceeded"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &opsAlerter{Source: sc.Source, Mail: &fakeMailer{err: tt.err}, To: email.Address{Email: "ops@snapkeep.example"},
				Now: func() time.Time { return sc.Now }, Log: discard}
			_, err := a.Send(context.Background(), sc.Incident, errorrate.NoticeAlert)
			if err == nil || errors.Is(err, errorrate.ErrUndeliverable) != tt.undeliverable {
				t.Errorf("Send: %v; undeliverable %v, want %v", err, errors.Is(err, errorrate.ErrUndeliverable), tt.undeliverable)
			}
		})
	}
}
