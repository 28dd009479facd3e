package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/snapkeep/snapkeep/shared/email"
	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/slack"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// alertMaxRows bounds the affected calls an alert's report keeps (and its
// CSV attachment holds): about 300 bytes a row, so the CSV stays near 6 MB
// and the message, base64 included, well inside SES's 40 MB.
const alertMaxRows = 20_000

// mailer is the part of email.Sender the alerts use.
type mailer interface {
	Send(ctx context.Context, m email.Message) (email.Sent, error)
}

// poster is the part of slack.Client the webhook uses.
type poster interface {
	Post(ctx context.Context, webhookURL string, payload []byte) error
}

// secretsClient is the part of the Secrets Manager client the webhook URL
// is read with, with the SDK's signature.
type secretsClient interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ secretsClient = (*secretsmanager.Client)(nil)

// opsAlerter sends ops the alert and the resolution notice of an incident
// (errorrate.Alerter): one SES email with the escalation report (text and
// HTML alternatives, the affected calls as CSV and the report as Markdown
// attached), then, when a webhook is configured, a short webhook post.
type opsAlerter struct {
	Source escalation.Source
	Mail   mailer
	To     email.Address
	// Webhook posts to the ops webhook; nil means none.
	Webhook *opsWebhook
	Now     func() time.Time
	Log     *slog.Logger
}

var _ errorrate.Alerter = (*opsAlerter)(nil)

// Send builds the incident's report and emails it. A permanent SES
// refusal wraps errorrate.ErrUndeliverable; a failed report or a
// throttled send is an error to retry. The webhook's failures are logged,
// never returned: the email is the notice of record.
func (a *opsAlerter) Send(ctx context.Context, inc *snapkeep.Incident, n errorrate.Notice) (string, error) {
	now := a.Now().UTC()
	report, err := escalation.Build(ctx, a.Source, reportInput(inc, now))
	if err != nil {
		return "", err
	}
	subject := escalation.AlertSubject(inc)
	if n == errorrate.NoticeResolution {
		subject = escalation.ResolutionSubject(inc)
	}
	msg, err := alertMessage(report, inc, subject, a.To)
	if err != nil {
		return "", err
	}
	sent, err := a.Mail.Send(ctx, msg)
	if err != nil {
		if email.Permanent(err) {
			return "", fmt.Errorf("%w: %w", errorrate.ErrUndeliverable, err)
		}
		return "", err
	}
	a.Log.InfoContext(ctx, "errorrate: ops "+string(n)+" sent", "incident", inc.IncidentID, "message_id", sent.MessageID,
		"attempts", sent.Attempts, "affected_calls", report.AffectedTotal)
	if a.Webhook != nil {
		if err := a.Webhook.post(ctx, inc, subject); err != nil {
			a.Log.WarnContext(ctx, "errorrate: ops webhook post failed", "incident", inc.IncidentID, "error", err.Error())
		}
	}
	return sent.MessageID, nil
}

// reportInput is the report of inc: its window (start to resolution, or to
// now), the most recent escalation.MaxWindow of a longer one.
func reportInput(inc *snapkeep.Incident, now time.Time) escalation.BuildInput {
	in := escalation.BuildInput{Incident: inc, Now: now, MaxRows: alertMaxRows}
	end := now
	if inc.ResolvedAt != nil && !inc.ResolvedAt.After(now) {
		end = *inc.ResolvedAt
	}
	start := inc.StartedAt
	if end.Sub(start) > escalation.MaxWindow {
		start = end.Add(-escalation.MaxWindow)
	}
	if !start.Before(end) {
		start = end.Add(-time.Minute)
	}
	in.From, in.To = start, end
	return in
}

// alertMessage renders the report into the ops email.
func alertMessage(r *escalation.Report, inc *snapkeep.Incident, subject string, to email.Address) (email.Message, error) {
	var text, html, csv, md bytes.Buffer
	for _, render := range []struct {
		f   escalation.Format
		buf *bytes.Buffer
	}{{escalation.FormatText, &text}, {escalation.FormatHTML, &html}, {escalation.FormatCSV, &csv}, {escalation.FormatMarkdown, &md}} {
		if err := r.Render(render.buf, render.f); err != nil {
			return email.Message{}, fmt.Errorf("render the report as %s: %w", render.f, err)
		}
	}
	mdName := strings.TrimSuffix(r.CSVFilename(), ".csv") + ".md"
	return email.Message{
		Stream:  email.Transactional,
		To:      []email.Address{to},
		Subject: subject,
		Text:    text.String(),
		HTML:    html.String(),
		Attachments: []email.Attachment{
			{Filename: r.CSVFilename(), ContentType: "text/csv; charset=utf-8", Data: csv.Bytes()},
			{Filename: mdName, ContentType: "text/markdown; charset=utf-8", Data: md.Bytes()},
		},
		Headers: map[string]string{"X-Snapkeep-Incident": inc.IncidentID},
	}, nil
}

// opsWebhook posts a one-line notice to the ops webhook, whose URL is read
// once from Secrets Manager. The URL is a secret: it never appears in a
// log line or an error.
type opsWebhook struct {
	Secrets secretsClient
	// SecretID names the secret (its name or ARN).
	SecretID string
	Poster   poster

	mu  sync.Mutex
	url string
}

func (w *opsWebhook) post(ctx context.Context, inc *snapkeep.Incident, subject string) error {
	url, err := w.webhookURL(ctx)
	if err != nil {
		return err
	}
	payload, err := json.Marshal(map[string]string{"text": slackEscape(subject) + "\n`" + slackEscape(inc.IncidentID) + "` (the report went to the ops address)"})
	if err != nil {
		return err
	}
	return w.Poster.Post(ctx, url, payload)
}

// webhookURL reads the secret once per container.
func (w *opsWebhook) webhookURL(ctx context.Context) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.url != "" {
		return w.url, nil
	}
	out, err := w.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(w.SecretID)})
	if err != nil {
		return "", fmt.Errorf("read the ops webhook secret %q: %w", w.SecretID, err)
	}
	url := strings.TrimSpace(aws.ToString(out.SecretString))
	if url == "" {
		return "", errors.New("the ops webhook secret is empty")
	}
	w.url = url
	return url, nil
}

// slackEscape escapes what Slack's mrkdwn treats as markup.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

var _ poster = (*slack.Client)(nil)
