// Command errorrate is the Lambda function that notices by itself when
// DigitalOcean's API error rate rises: it counts every DigitalOcean HTTP
// attempt (the ApiCalls stream) and every finished run (the Runs stream)
// per minute, exactly once, into the Stats table; every minute
// ({"evaluate": true}) it steps the detectors (shared/errorrate), opens
// and resolves incidents, and sends ops one alert and one resolution per
// incident with the escalation report (shared/escalation). This command
// only wires them.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/snapkeep/snapkeep/shared/clockfile"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/email"
	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/slack"
)

func main() {
	log := lambdacontext.NewLogger()
	// The local runner's virtual clock (shared/clockfile): nil, the real
	// clock, unless the local stack set SNAPKEEP_CLOCK_FILE.
	clock, err := clockfile.FromEnv(os.Getenv)
	if err != nil {
		log.Error("errorrate function cannot start", "error", err.Error())
		os.Exit(1)
	}
	h, err := newHandler(context.Background(), os.Getenv, clock, log)
	if err != nil {
		log.Error("errorrate function cannot start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(clock.Handler(h)) // a lambda.Handler: raw payload bytes, no reflection
}

// newHandler wires the handler from the environment, the standard AWS
// configuration (AWS_REGION, AWS_ENDPOINT_URL, ...) and the clock (nil:
// the real one).
func newHandler(ctx context.Context, getenv func(string) string, clock *clockfile.Clock, log *slog.Logger) (*Handler, error) {
	st, err := loadSettings(getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return wire(st, deps{
		DynamoDB: dynamodb.NewFromConfig(cfg), SES: sesv2.NewFromConfig(cfg),
		Secrets: secretsmanager.NewFromConfig(cfg), Metrics: os.Stdout,
		Now: clock.NowFunc(), Sleep: clock.SleepFunc(),
	}, log)
}

// deps are what wire does not build from settings: the AWS clients, where
// the metric lines go and, for tests, the webhook's HTTP client, the clock
// and the waits.
type deps struct {
	DynamoDB dynamo.Client
	SES      email.Client
	Secrets  secretsClient
	Metrics  io.Writer
	// WebhookHTTP sends the webhook requests; nil means a plain client.
	WebhookHTTP *http.Client
	// Now is the clock and Sleep the waits of the SES and webhook
	// backoffs; nil means the real ones.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

func (d deps) now() time.Time {
	if d.Now == nil {
		return time.Now().UTC()
	}
	return d.Now().UTC()
}

// wire builds the handler: the stores over DynamoDB, the SES sender, the
// webhook, the alerter and the evaluator.
func wire(st settings, d deps, log *slog.Logger) (*Handler, error) {
	stats := &dynamo.StatsStore{Client: d.DynamoDB, Table: st.statsTable, Retention: st.retention, Now: d.Now, Sleep: d.Sleep, Logger: log}
	runs := &dynamo.RunStore{Client: d.DynamoDB, Table: st.runsTable, CallsTable: st.callsTable, Now: d.Now, Logger: log}
	incidents := &dynamo.IncidentStore{Client: d.DynamoDB, Table: st.incidentsTable}
	sender := &email.Sender{
		Client: d.SES,
		Streams: map[email.Stream]email.StreamConfig{email.Transactional: {
			From: st.sender, ConfigurationSet: st.configSet,
			ListID: email.ListID{Name: "Snapkeep ops alerts", ID: "ops-alerts." + domainOf(st.sender.Email)},
		}},
		Builder: email.Builder{Now: d.Now},
		Sleep:   d.Sleep,
		Logger:  log,
	}
	alerter := &opsAlerter{
		Source: dynamo.EscalationSource{Stats: stats, Calls: &dynamo.APICallStore{Client: d.DynamoDB, Table: st.callsTable, Logger: log}, Runs: runs},
		Mail:   sender, To: st.ops, Now: d.now, Log: log,
	}
	if st.webhookSecret != "" {
		if d.Secrets == nil {
			return nil, fmt.Errorf("errorrate: %s is set but there is no Secrets Manager client", envWebhookSecret)
		}
		alerter.Webhook = &opsWebhook{Secrets: d.Secrets, SecretID: st.webhookSecret,
			Poster: &slack.Client{HTTP: d.WebhookHTTP, AllowedHosts: st.webhookHosts, Now: d.Now, Sleep: d.Sleep, Logger: log}}
	}
	ev := &errorrate.Evaluator{Stats: stats, Incidents: incidents, Runs: runs, Alerts: alerter, Now: d.Now, Logger: log}
	if err := ev.Check(); err != nil {
		return nil, err
	}
	return &Handler{Stats: stats, Evaluator: ev, CallsTable: st.callsTable, RunsTable: st.runsTable, Metrics: d.Metrics, Log: log}, nil
}

// domainOf is the domain part of an address ("snapkeep.invalid" without one).
func domainOf(address string) string {
	for i := len(address) - 1; i >= 0; i-- {
		if address[i] == '@' {
			return address[i+1:]
		}
	}
	return "snapkeep.invalid"
}
