package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/email"
	"github.com/snapkeep/snapkeep/shared/mailing"
	"github.com/snapkeep/snapkeep/shared/notice"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
)

// Environment variables broadcast reads (the notify function's, and the
// broadcast stream's own).
const (
	envBroadcastSender    = "BROADCAST_SENDER_ADDRESS"
	envSender             = "SENDER_ADDRESS"
	envBroadcastConfigSet = "BROADCAST_CONFIGURATION_SET"
	envConfigSet          = "SES_CONFIGURATION_SET"
	envReplyTo            = "REPLY_TO_ADDRESS"
	envAppURL             = "APP_URL"
	envStatusPage         = "STATUS_PAGE_URL"
)

// The local stack's customer app and verified sender (cmd/snaplocal's
// AppURL and SenderAddress), the defaults there.
const (
	localAppURL = "http://localhost:8080"
	localSender = "backups@example.com"
)

// templateIncident is the one broadcast template: notice.Broadcast.
const templateIncident = "incident"

// broadcastListName is the List-Id name of the broadcast stream, the
// notify function's.
const broadcastListName = "Snapkeep incident notices and digests"

// sesClient is the part of *sesv2.Client broadcast uses: what
// shared/email's sender calls, and GetAccount for the send quota, with
// the SDK's own signatures.
type sesClient interface {
	email.Client
	GetAccount(ctx context.Context, in *sesv2.GetAccountInput, optFns ...func(*sesv2.Options)) (*sesv2.GetAccountOutput, error)
}

var _ sesClient = (*sesv2.Client)(nil)

// broadcastFlags are broadcast's flags.
type broadcastFlags struct {
	incident, class string
	since, until    whenValue
	template        string
	dryRun, quiet   bool
	rate            float64
	sender, replyTo string
	configSet       string
	listID          string
	appURL          string
	statusPage      string
}

const broadcastLong = `Email every customer a DigitalOcean problem affected, once each: in the last
N hours some of your backups failed; DigitalOcean's API had a problem (its
error rate across all customers, how long); snapkeep raised it and tracked
it; it is resolved or still going on; your servers were never affected;
which backups failed; DigitalOcean's status page.

Who, one of:
  --incident ID             the runs the incident explains (its provider-side
                            classes and dimension), from its change point to
                            its resolution (or now)
  --class CLASS --since WHEN [--until WHEN]
                            the runs that failed with a DigitalOcean-side
                            class (provider_error, network, action_errored,
                            timed_out) and finished in the range, widened to
                            whole UTC hours; the error rate told is that of
                            all calls in the range (Stats)

One message per customer, listing all their failed runs. Skipped, and
counted: customers whose notification mode is none, whose email is blocked
(a suppressed address or rejected message), without an address, or
without a preferences token (broadcast mail must carry RFC 8058 one-click
unsubscribe). SES's suppression list is checked before each send; a
suppressed address blocks the customer's email from then on.

Sending is paced to the SES account's MaxSendRate (GetAccount), one
message at a time; --rate N overrides. When the rate cannot be read it is
1 a second, and snapctl says so. A progress bar is drawn on stderr when it
is a terminal (not with --quiet).

Resumable: each customer's message is claimed in the Mailings table
before it is sent and recorded after (key: the broadcast's mailing id,
derived from the incident id or the class and hours, and the customer).
Run the same command again after an interruption (Ctrl-C, a lost
connection) and it sends only to those not sent; snapctl prints the exact
command. A claim left by a run that died inside the SES call is re-sent
once it is 5 minutes old (that customer may then get the message twice);
entries are kept 60 days.

--dry-run lists the recipients (-o table, json, csv, yaml) and renders one
message as text, sending nothing and writing nothing.

The broadcast stream has its own sender, configuration set and List-Id
(updates.<sender's domain>). Each comes from its flag, else the stack's
outputs (--stack), else the environment:
  --sender             BroadcastSenderAddress; $BROADCAST_SENDER_ADDRESS,
                       else $SENDER_ADDRESS
  --configuration-set  BroadcastConfigurationSet (none when the stack has
                       none); $BROADCAST_CONFIGURATION_SET, else
                       $SES_CONFIGURATION_SET
  --app-url            AppURL; $APP_URL
  --reply-to           $REPLY_TO_ADDRESS
The stack's SupportOperatorPolicy lets operators send from its broadcast
sender only. Links go to the app, which must be https to send (the
one-click unsubscribe link), or http to this machine (localhost,
127.0.0.1, [::1]): the local stack's http://localhost:8080 and
backups@example.com are its defaults there. stderr says which sender,
set and app were used, and from where.`

const broadcastExample = `  snapctl broadcast --incident 'provider_error#region:nyc3#2026-11-24T07:00Z' --dry-run
  # On a deployed stack: its broadcast sender, configuration set and app.
  AWS_PROFILE=prod snapctl --stack snapkeep-prod broadcast --incident 'provider_error#region:nyc3#2026-11-24T07:00Z'
  snapctl broadcast --incident 'provider_error#region:nyc3#2026-11-24T07:00Z' --sender 'Snapkeep <updates@snapkeep.example>'
  snapctl broadcast --class provider_error --since 24h --dry-run -o csv > recipients.csv
  snapctl broadcast --class provider_error --since 2026-11-24T06:00:00Z --until 2026-11-24T19:00:00Z --rate 5`

func (a *app) broadcastCommand() *cobra.Command {
	var bf broadcastFlags
	cmd := &cobra.Command{
		Use:     "broadcast (--incident ID | --class CLASS --since WHEN [--until WHEN]) [--dry-run] [--rate N]",
		Short:   "Email every customer a DigitalOcean problem affected, once each (resumable)",
		Long:    broadcastLong,
		Example: broadcastExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.broadcast(cmd, &bf)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&bf.incident, "incident", "", "the incident whose affected customers to email (snapctl incidents list)")
	fs.StringVar(&bf.class, "class", "", "a DigitalOcean-side error class: provider_error, network, action_errored or timed_out")
	fs.Var(&bf.since, "since", "with --class: runs that finished from WHEN: an age (24h) or a time (2026-11-24T06:00:00Z)")
	fs.Var(&bf.until, "until", "with --class: ... until WHEN (default now)")
	fs.StringVar(&bf.template, "template", templateIncident, "the message: incident (DigitalOcean had a problem; your servers were never affected)")
	fs.BoolVar(&bf.dryRun, "dry-run", false, "list the recipients and render one message; send and write nothing")
	fs.Float64Var(&bf.rate, "rate", 0, "messages a second (default: the SES account's MaxSendRate, else 1)")
	fs.BoolVarP(&bf.quiet, "quiet", "q", false, "no progress bar")
	fs.StringVar(&bf.sender, "sender", "", "the broadcast stream's verified sender (default: the stack's BroadcastSenderAddress, $"+envBroadcastSender+", else $"+envSender+")")
	fs.StringVar(&bf.replyTo, "reply-to", "", "Reply-To address (default $"+envReplyTo+")")
	fs.StringVar(&bf.configSet, "configuration-set", "", "SES configuration set of the broadcast stream (default: the stack's BroadcastConfigurationSet, $"+envBroadcastConfigSet+", else $"+envConfigSet+")")
	fs.StringVar(&bf.listID, "list-id", "", "List-Id of the broadcast stream (default updates.<sender's domain>)")
	fs.StringVar(&bf.appURL, "app-url", "", "the customers' app the messages link to (default: the stack's AppURL, else $"+envAppURL+")")
	fs.StringVar(&bf.statusPage, "status-page", "", "DigitalOcean's status page (default $"+envStatusPage+", else "+notice.DefaultStatusPage+")")
	return cmd
}

func (a *app) broadcast(cmd *cobra.Command, bf *broadcastFlags) error {
	if err := bf.check(cmd); err != nil {
		return err
	}
	ctx := cmd.Context()
	target, err := a.broadcastTarget(ctx, bf)
	if err != nil {
		return err
	}
	b, err := a.broadcaster(ctx, bf)
	if err != nil {
		return err
	}
	plan, err := b.svc.Plan(ctx, target)
	if errors.Is(err, snapkeep.ErrInvalid) {
		return &usageError{err: err}
	}
	if err != nil {
		return err
	}
	a.notePlan(plan)
	fmt.Fprint(a.stderr, b.settings.describe())
	rate, err := a.sendRate(ctx, b.ses, bf, cmd.Flags().Changed("rate"), due(plan, a.now()))
	if err != nil {
		return err
	}
	if bf.dryRun {
		return a.dryRun(ctx, b.svc, plan, rate)
	}
	return a.send(ctx, cmd, b, plan, bf, rate)
}

// broadcaster is a broadcast wired over the stack: the service, the SES
// client, the broadcast stream's settings and the stack they came from.
type broadcaster struct {
	svc      *mailing.Service
	ses      sesClient
	settings broadcastSettings
	target   *target
}

// check rejects flag combinations before anything is read.
func (bf *broadcastFlags) check(cmd *cobra.Command) error {
	byIncident, byClass := bf.incident != "", bf.class != ""
	switch {
	case byIncident == byClass:
		return usagef("give exactly one of --incident ID or --class CLASS --since WHEN")
	case byIncident && (bf.since.raw != "" || bf.until.raw != ""):
		return usagef("--since/--until: only with --class (an incident's window is its own)")
	case byClass && bf.since.raw == "":
		return usagef("--class needs --since WHEN (e.g. --since 24h)")
	case bf.template != templateIncident:
		return usagef("--template %q: the only template is %s (notice.Broadcast)", snapkeep.Bound(bf.template, 32), templateIncident)
	}
	if cmd.Flags().Changed("rate") {
		if err := mailing.CheckRate(bf.rate); err != nil {
			return usagef("--rate %s: want a number of messages a second from %g (one a minute) to %g", strconv.FormatFloat(bf.rate, 'g', -1, 64), mailing.MinRate, mailing.MaxRate)
		}
	}
	return nil
}

// broadcastTarget reads the incident, or makes the class target.
func (a *app) broadcastTarget(ctx context.Context, bf *broadcastFlags) (mailing.Target, error) {
	if bf.class != "" {
		return mailing.Target{Class: snapkeep.ErrorClass(strings.TrimSpace(bf.class)), From: bf.since.time(a.now()), To: bf.until.time(a.now())}, nil
	}
	q, err := a.queries(ctx)
	if err != nil {
		return mailing.Target{}, err
	}
	inc, err := q.Incident(ctx, bf.incident)
	switch {
	case errors.Is(err, snapkeep.ErrNotFound):
		return mailing.Target{}, withHint(err, "List incidents with 'snapctl incidents list --all --since 30d'.")
	case errors.Is(err, snapkeep.ErrInvalid):
		return mailing.Target{}, usagef("--incident: %v", err)
	case err != nil:
		return mailing.Target{}, err
	}
	return mailing.Target{Incident: inc}, nil
}

// broadcaster wires the broadcast over the stack's tables and SES.
func (a *app) broadcaster(ctx context.Context, bf *broadcastFlags) (*broadcaster, error) {
	cfg, t, err := a.session(ctx)
	if err != nil {
		return nil, err
	}
	settings, err := a.resolveBroadcast(bf, t)
	if err != nil {
		return nil, err
	}
	renderer, err := notice.New(notice.Links{AppURL: settings.appURL.value, StatusPage: firstOf(bf.statusPage, a.getenv(envStatusPage))})
	if err != nil {
		return nil, usagef("--app-url/--status-page: %v", err)
	}
	db := a.clients.DynamoDB(cfg)
	log := onceLogger(a.stderr)
	src := dynamo.EscalationSource{
		Stats: &dynamo.StatsStore{Client: db, Table: t.table(dynamo.Stats), Now: a.now, Logger: log},
		Runs:  &dynamo.RunStore{Client: db, Table: t.table(dynamo.Runs), Now: a.now, Logger: log},
	}
	svc := &mailing.Service{
		Runs: src, Counts: src,
		Customers: &dynamo.CustomerStore{Client: db, Table: t.table(dynamo.Customers), Now: a.now},
		Policies:  &dynamo.PolicyStore{Client: db, Table: t.table(dynamo.Policies), Now: a.now},
		Incidents: &dynamo.IncidentStore{Client: db, Table: t.table(dynamo.Incidents)},
		Ledger:    &dynamo.MailingStore{Client: db, Table: t.table(dynamo.Mailings), Now: a.now, Logger: log},
		Notices:   renderer,
		Now:       a.now,
		Logger:    log,
	}
	return &broadcaster{svc: svc, ses: a.clients.SES(cfg), settings: settings, target: t}, nil
}

// firstOf returns the first of values that is not blank, trimmed.
func firstOf(values ...string) string {
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// notePlan says on stderr what the plan read and left out.
func (a *app) notePlan(p *mailing.Plan) {
	fmt.Fprintf(a.stderr, "Broadcast %s: window %s, %d failed runs", p.MailingID, p.Window, p.Runs)
	if p.Outside > 0 {
		fmt.Fprintf(a.stderr, " (%d outside the incident's %s left out)", p.Outside, p.Target.Incident.Dimension)
	}
	if p.NoCustomer > 0 {
		fmt.Fprintf(a.stderr, " (%d without a customer left out)", p.NoCustomer)
	}
	fmt.Fprintf(a.stderr, ", %d customers affected.\n", len(p.Recipients))
}

// due counts the recipients a send would send to.
func due(p *mailing.Plan, now time.Time) int {
	n := 0
	for _, r := range p.Recipients {
		if st, _ := p.Status(r, now, 0); st == mailing.StatusSend || st == mailing.StatusResend {
			n++
		}
	}
	return n
}

// sendRate is --rate, else the SES account's MaxSendRate, else
// mailing.FallbackRate, with a note on stderr saying which and how long
// sending n messages takes; it warns when n exceeds what the account may
// still send today, or when the account is in the SES sandbox.
func (a *app) sendRate(ctx context.Context, ses sesClient, bf *broadcastFlags, changed bool, n int) (float64, error) {
	rate, source := bf.rate, "--rate"
	acct, err := readAccount(ctx, ses)
	switch {
	case changed:
	case err != nil:
		rate, source = mailing.FallbackRate, fmt.Sprintf("the SES account's send rate could not be read (%s), so 1 a second; pass --rate to choose", accountError(err))
	default:
		rate, source = math.Min(acct.SendQuota.MaxSendRate, mailing.MaxRate), "the SES account's MaxSendRate"
	}
	if err := mailing.CheckRate(rate); err != nil {
		return 0, fmt.Errorf("send rate from %s: %w", source, err)
	}
	took := time.Duration(float64(n) / rate * float64(time.Second)).Round(time.Second)
	fmt.Fprintf(a.stderr, "Pace: %s a second (%s): %d messages take about %s.\n", strconv.FormatFloat(rate, 'g', 4, 64), source, n, took)
	if err == nil && acct.SendQuota != nil {
		left := acct.SendQuota.Max24HourSend - acct.SendQuota.SentLast24Hours
		if acct.SendQuota.Max24HourSend > 0 && float64(n) > left {
			fmt.Fprintf(a.stderr, "warning: the SES account may send %.0f more messages in the next 24 hours; %d are due: the rest will be refused (rerun later to send them)\n", left, n)
		}
		if !acct.ProductionAccessEnabled {
			fmt.Fprintln(a.stderr, "warning: the SES account is in the sandbox: only verified addresses receive mail")
		}
	}
	return rate, nil
}

// accountError says briefly why GetAccount failed: its HTTP status when
// it answered (moto answers 404: it does not implement it), else the error.
func accountError(err error) string {
	var resp *smithyhttp.ResponseError
	if errors.As(err, &resp) {
		return fmt.Sprintf("GetAccount answered HTTP %d", resp.HTTPStatusCode())
	}
	return "GetAccount: " + support.Cell(err.Error(), 120)
}

// accountTimeout bounds the GetAccount call (one attempt).
const accountTimeout = 10 * time.Second

type accountInfo struct {
	SendQuota               *sendQuota
	ProductionAccessEnabled bool
}

type sendQuota struct{ MaxSendRate, Max24HourSend, SentLast24Hours float64 }

func readAccount(ctx context.Context, ses sesClient) (accountInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, accountTimeout)
	defer cancel()
	out, err := ses.GetAccount(ctx, &sesv2.GetAccountInput{}, func(o *sesv2.Options) { o.RetryMaxAttempts = 1 })
	if err != nil {
		return accountInfo{}, err
	}
	if out.SendQuota == nil || out.SendQuota.MaxSendRate <= 0 {
		return accountInfo{}, errors.New("GetAccount has no SendQuota.MaxSendRate")
	}
	q := out.SendQuota
	return accountInfo{ProductionAccessEnabled: out.ProductionAccessEnabled,
		SendQuota: &sendQuota{MaxSendRate: q.MaxSendRate, Max24HourSend: q.Max24HourSend, SentLast24Hours: q.SentLast24Hours}}, nil
}

// recipientView is one recipient as --dry-run lists it.
type recipientView struct {
	CustomerID string `json:"customer_id"`
	Name       string `json:"name,omitempty"`
	Email      string `json:"email,omitempty"`
	FailedRuns int    `json:"failed_runs"`
	Status     string `json:"status"`
	Reason     string `json:"reason,omitempty"`
	SentAt     string `json:"sent_at,omitempty"`
}

// dryRunView is --dry-run's output as JSON or YAML.
type dryRunView struct {
	MailingID  string          `json:"mailing_id"`
	Window     string          `json:"window"`
	Rate       float64         `json:"rate_per_second"`
	Recipients []recipientView `json:"recipients"`
	Sample     *sampleView     `json:"sample,omitempty"`
}

type sampleView struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

func (a *app) recipientViews(p *mailing.Plan) ([]recipientView, *support.Table) {
	t := &support.Table{Columns: []string{"customer", "email", "failed runs", "status", "reason", "sent at"}}
	views := make([]recipientView, 0, len(p.Recipients))
	for _, r := range p.Recipients {
		st, reason := p.Status(r, a.now(), 0)
		v := recipientView{CustomerID: r.CustomerID, FailedRuns: len(r.Runs), Status: string(st), Reason: string(reason)}
		if r.Customer != nil {
			v.Name, v.Email = r.Customer.Name, r.Customer.Email
		}
		if r.Before != nil && !r.Before.At.IsZero() {
			v.SentAt = r.Before.At.UTC().Format(time.RFC3339)
		}
		views = append(views, v)
		t.Add(v.CustomerID, v.Email, strconv.Itoa(v.FailedRuns), v.Status, v.Reason, v.SentAt)
	}
	return views, t
}

// dryRun lists the recipients and renders the message to the first one
// due it, reading only.
func (a *app) dryRun(ctx context.Context, svc *mailing.Service, p *mailing.Plan, rate float64) error {
	views, table := a.recipientViews(p)
	var sample *sampleView
	for i := range p.Recipients {
		r := &p.Recipients[i]
		if st, _ := p.Status(*r, a.now(), 0); st != mailing.StatusSend && st != mailing.StatusResend {
			continue
		}
		msg, err := svc.Render(ctx, p, r)
		if err != nil {
			return err
		}
		sample = &sampleView{To: r.Customer.Email, Subject: msg.Subject, Text: msg.Text}
		break
	}
	if a.structured() {
		return a.printValue(dryRunView{MailingID: p.MailingID, Window: p.Window.String(), Rate: rate, Recipients: views, Sample: sample})
	}
	if err := a.emit(views, table); err != nil {
		return err
	}
	w := a.stdout
	if a.flags.output == support.FormatCSV {
		w = a.stderr // keep stdout a CSV
	}
	if sample == nil {
		fmt.Fprintln(w, "\nNobody is due the message: nothing would be sent.")
		return nil
	}
	fmt.Fprintf(w, "\n--- the message to %s (dry run: nothing was sent or written) ---\nSubject: %s\n\n%s\n", sample.To, sample.Subject, sample.Text)
	return nil
}

// send sends the broadcast with a progress bar and prints the summary.
func (a *app) send(ctx context.Context, cmd *cobra.Command, b *broadcaster, p *mailing.Plan, bf *broadcastFlags, rate float64) error {
	mailer, err := a.broadcastMailer(b, bf)
	if err != nil {
		return err
	}
	svc := b.svc
	// Pacing is real time, whatever clock the messages are dated by.
	pace, err := mailing.NewPacer(rate, nil, nil)
	if err != nil {
		return err
	}
	bar := newProgress(a.stderr, len(p.Recipients), !bf.quiet && writerIsTerminal(a.stderr))
	svc.Mailer, svc.Pace, svc.Progress = mailer, pace, bar.update
	started := time.Now()
	sum, err := svc.Send(ctx, p)
	bar.finish()
	if sum == nil {
		return err
	}
	if perr := a.printSummary(sum, time.Since(started), rate); perr != nil {
		return perr
	}
	again := resumeCommand(cmd, p)
	switch {
	case sum.Interrupted:
		return withHint(fmt.Errorf("broadcast interrupted: %d sent, %d customers left", sum.Sent, sum.Remaining),
			"Run the same broadcast again to send the rest (those sent are skipped):\n  %s", again)
	case err != nil:
		return withHint(err, "Fix the cause, then run the same broadcast again (those sent are skipped):\n  %s", again)
	case sum.Failed > 0:
		return withHint(fmt.Errorf("broadcast: %d sends failed", sum.Failed),
			"Those not recorded as rejected are retried by running the same broadcast again:\n  %s", again)
	}
	return nil
}

// broadcastMailer is the SES v2 sender on the broadcast stream: its own
// From, configuration set and List-Id, one-click unsubscribe required.
func (a *app) broadcastMailer(b *broadcaster, bf *broadcastFlags) (mailing.Mailer, error) {
	addr, err := a.checkSendable(b.settings, b.target)
	if err != nil {
		return nil, err
	}
	stream := email.StreamConfig{From: addr, RequireUnsubscribe: true, ConfigurationSet: b.settings.configSet.value}
	if rt := firstOf(bf.replyTo, a.getenv(envReplyTo)); rt != "" {
		r, err := email.ParseAddress(rt)
		if err != nil {
			return nil, usagef("--reply-to: %v", err)
		}
		stream.ReplyTo = []email.Address{r}
	}
	_, domain, _ := strings.Cut(addr.Email, "@")
	stream.ListID = email.ListID{Name: broadcastListName, ID: firstOf(bf.listID, "updates."+domain)}
	sender := &email.Sender{Client: b.ses, Streams: map[email.Stream]email.StreamConfig{email.Broadcast: stream},
		Builder: email.Builder{Now: a.now}, Logger: b.svc.Logger}
	return sesBroadcaster{sender}, nil
}

// sesBroadcaster is mailing's Mailer over shared/email's SES v2 sender:
// the broadcast stream, the one-click unsubscribe link, and the sender's
// permanent failures as *snapkeep.RejectedError.
type sesBroadcaster struct{ sender *email.Sender }

// Send implements mailing.Mailer.
func (m sesBroadcaster) Send(ctx context.Context, e mailing.Email) (string, error) {
	sent, err := m.sender.Send(ctx, email.Message{
		Stream:  email.Broadcast,
		To:      []email.Address{{Name: e.ToName, Email: e.To}},
		Subject: e.Subject, Text: e.Text, HTML: e.HTML,
		Unsubscribe: email.Unsubscribe{URL: e.UnsubscribeURL},
		Headers:     e.Headers,
	})
	if err == nil {
		return sent.MessageID, nil
	}
	var rej *email.Rejected
	switch {
	case errors.As(err, &rej):
		return "", rej.Domain()
	case errors.Is(err, snapkeep.ErrInvalid):
		// The message as built from the flags and templates: every
		// customer's would be refused alike, so stop rather than record
		// each one as rejected for good.
		return "", &snapkeep.RejectedError{Scope: snapkeep.RejectSender, Code: "InvalidMessage", Reason: err.Error()}
	}
	return "", err
}

// printSummary prints what the broadcast did: the Summary as JSON or
// YAML, else as lines (or CSV rows).
func (a *app) printSummary(sum *mailing.Summary, took time.Duration, rate float64) error {
	if a.structured() {
		return a.printValue(sum)
	}
	var skipped []string
	for _, r := range sum.SkipReasons() {
		skipped = append(skipped, fmt.Sprintf("%s %d", r, sum.Skipped[r]))
	}
	f := &support.Fields{}
	f.Add("broadcast", sum.MailingID)
	f.Add("affected customers", strconv.Itoa(sum.Recipients))
	sent := strconv.Itoa(sum.Sent)
	if sum.Resent > 0 {
		sent += fmt.Sprintf(" (%d of them re-sent after a stale claim)", sum.Resent)
	}
	f.Add("sent", sent)
	f.Add("sent before", strconv.Itoa(sum.SentBefore))
	f.Add("skipped", fmt.Sprintf("%d: %s", sum.SkippedTotal(), strings.Join(skipped, ", ")))
	f.Add("failed", strconv.Itoa(sum.Failed))
	for _, fl := range sum.Failures {
		f.Add("  "+fl.CustomerID, fl.Error)
	}
	if sum.Unrecorded+sum.InFlight > 0 {
		f.Add("claims kept", fmt.Sprintf("%d (sent but not recorded, or cut off in flight: re-sent by a run 5 minutes on)", sum.Unrecorded+sum.InFlight))
	}
	if sum.Remaining > 0 {
		f.Add("not reached", strconv.Itoa(sum.Remaining))
	}
	f.Add("took", fmt.Sprintf("%s at up to %s a second", took.Round(10*time.Millisecond), strconv.FormatFloat(rate, 'g', 4, 64)))
	return a.emitFields(sum, f)
}

// resumeCommand is the command line that runs the same broadcast again:
// the flags given, with a class range's --since/--until as the times
// that name it.
func resumeCommand(cmd *cobra.Command, p *mailing.Plan) string {
	parts := []string{cmd.CommandPath()}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		switch f.Name {
		case "since", "until", "dry-run":
			return
		}
		parts = append(parts, "--"+f.Name+"="+shellQuote(f.Value.String()))
	})
	if p.Target.Incident == nil {
		parts = append(parts, "--since="+p.Window.From.UTC().Format(time.RFC3339), "--until="+p.Window.To.UTC().Format(time.RFC3339))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/@=+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// progress draws a progress bar of a broadcast on a terminal, or nothing.
type progress struct {
	bar *progressbar.ProgressBar
}

func newProgress(w io.Writer, total int, visible bool) *progress {
	if !visible || total == 0 {
		return &progress{}
	}
	return &progress{bar: progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("broadcast"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)}
}

func (p *progress) update(pr mailing.Progress) {
	if p.bar != nil {
		_ = p.bar.Set(pr.Done)
	}
}

// finish ends the bar's line, whether every recipient was settled or
// the broadcast stopped early.
func (p *progress) finish() {
	if p.bar != nil && !p.bar.IsFinished() {
		_ = p.bar.Exit()
	}
}

// writerIsTerminal reports whether w is a terminal.
func writerIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isTerminal(f)
}

// onceLogger logs warnings and errors to w, each distinct message once:
// the stores and the SES sender log per item, and a broadcast of
// thousands would repeat the same line thousands of times (moto, for
// one, has no suppression list to check).
func onceLogger(w io.Writer) *slog.Logger {
	return slog.New(&onceHandler{mu: &sync.Mutex{}, w: w, seen: map[string]bool{}})
}

// onceHandler is onceLogger's handler; its copies (WithAttrs) share what
// was written.
type onceHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	seen  map[string]bool
	attrs []slog.Attr
}

// Enabled passes warnings and errors.
func (h *onceHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

// Handle writes the record unless its message was written before.
func (h *onceHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen[r.Message] {
		return nil
	}
	h.seen[r.Message] = true
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", strings.ToLower(r.Level.String()), r.Message)
	add := func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%q", a.Key, a.Value.String()); return true }
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	b.WriteString(" (repeats are not shown)\n")
	_, err := io.WriteString(h.w, b.String())
	return err
}

// WithAttrs returns a handler adding attrs to each line.
func (h *onceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &c
}

// WithGroup ignores the group (the lines are flat).
func (h *onceHandler) WithGroup(string) slog.Handler { return h }
