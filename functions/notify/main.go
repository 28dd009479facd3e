// Command notify is the Lambda function that tells customers, in plain
// words, about their backups: on the Runs table's stream (filtered to
// failures and recoveries) it sends each failure's and recovery's message
// by email and Slack, exactly once per run and channel, holds failures for
// one incident notice during a DigitalOcean incident when so configured,
// and collects daily-digest failures; every 10 minutes ({"tick": true}) it
// sends the digests that are due and the resolved notices. The work is
// shared/notify's; this command wires it.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	// Messages tell times in each policy's IANA time zone; provided.al2023
	// has no zoneinfo, so embed it.
	_ "time/tzdata"

	"github.com/snapkeep/snapkeep/shared/clockfile"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/email"
	"github.com/snapkeep/snapkeep/shared/notice"
	"github.com/snapkeep/snapkeep/shared/notify"
	"github.com/snapkeep/snapkeep/shared/slack"
)

func main() {
	log := lambdacontext.NewLogger()
	// The local runner's virtual clock (shared/clockfile): nil, the real
	// clock, unless the local stack set SNAPKEEP_CLOCK_FILE.
	clock, err := clockfile.FromEnv(os.Getenv)
	if err != nil {
		log.Error("notify function cannot start", "error", err.Error())
		os.Exit(1)
	}
	h, err := newHandler(context.Background(), os.Getenv, clock, log)
	if err != nil {
		log.Error("notify function cannot start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(clock.Handler(h.Handle))
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
	return wire(st, deps{DynamoDB: dynamodb.NewFromConfig(cfg), SES: sesv2.NewFromConfig(cfg),
		Now: clock.NowFunc(), Sleep: clock.SleepFunc()}, log)
}

// deps are what wire does not build from settings: the AWS clients and,
// for tests, the Slack HTTP client, the clock and the waits.
type deps struct {
	DynamoDB dynamo.Client
	SES      email.Client
	// SlackHTTP sends the webhook requests; nil means a plain client.
	SlackHTTP *http.Client
	// Now, NewID and Sleep are the clock, the Slack message ids and the
	// waits (of the service, and of the email and Slack backoffs); nil
	// means the real ones.
	Now   func() time.Time
	NewID func() string
	Sleep func(ctx context.Context, d time.Duration) error
}

// wire builds the handler: the stores over DynamoDB, the SES sender with
// its two streams, the Slack client, the renderer and the service.
func wire(st settings, d deps, log *slog.Logger) (*Handler, error) {
	renderer, err := notice.New(st.links)
	if err != nil {
		return nil, err
	}
	domain := st.listDomain()
	stream := func(name, id string) email.StreamConfig {
		return email.StreamConfig{From: st.sender, ReplyTo: st.replyTo, ConfigurationSet: st.configSet,
			ListID: email.ListID{Name: name, ID: id + "." + domain}}
	}
	sender := &email.Sender{
		Client: d.SES,
		Streams: map[email.Stream]email.StreamConfig{
			email.Transactional: stream("Snapkeep backup notices", "notices"),
			email.Broadcast:     stream("Snapkeep incident notices and digests", "updates"),
		},
		Builder: email.Builder{Now: d.Now},
		Sleep:   d.Sleep,
		Logger:  log,
	}
	svc := &notify.Service{
		Runs:      &dynamo.RunStore{Client: d.DynamoDB, Table: st.runsTable, Now: d.Now, Logger: log},
		Customers: &dynamo.CustomerStore{Client: d.DynamoDB, Table: st.customersTable, Now: d.Now},
		Policies:  &dynamo.PolicyStore{Client: d.DynamoDB, Table: st.policiesTable, Now: d.Now},
		Incidents: &dynamo.IncidentStore{Client: d.DynamoDB, Table: st.incidentsTable},
		Mailings:  mailings{&dynamo.MailingStore{Client: d.DynamoDB, Table: st.mailingsTable, Now: d.Now, Logger: log}},
		Email:     sesMailer{sender},
		Slack: slackPoster{&slack.Client{HTTP: d.SlackHTTP, AllowedHosts: st.slackHosts, Now: d.Now, Sleep: d.Sleep,
			Logger: log}},
		Notices: renderer,
		Config:  notify.Config{Hold: st.hold, DigestHour: st.digestHour},
		Now:     d.Now,
		NewID:   d.NewID,
		Sleep:   d.Sleep,
		Logger:  log,
	}
	if err := svc.Check(); err != nil {
		return nil, err
	}
	return &Handler{Service: svc, Log: log}, nil
}
