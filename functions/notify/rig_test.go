package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/snapkeep/snapkeep/infra/awslocal"
	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/infra/local"
	"github.com/snapkeep/snapkeep/infra/proc"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/email"
	"github.com/snapkeep/snapkeep/shared/notify"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// TestMain runs the package's tests against one moto_server.
func TestMain(m *testing.M) { awstest.Main(m) }

const templatePath = "../../template.yaml"

// The integration tests run the real handler (wire: the stores over
// moto's DynamoDB, the SES v2 sender over moto's SES, the Slack client
// against a local TLS webhook server) and hand it the Runs stream the
// way template.yaml's event source mapping does (infra/local's
// Deliverer: batch size, FilterCriteria, partial batch responses,
// retries, the on-failure queue), on a virtual clock.

// vclock is the virtual clock of the service and the Deliverer.
type vclock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *vclock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *vclock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// hookPost is one request the Slack webhook server got.
type hookPost struct {
	Path string
	Body string
}

// slackHook is a local Slack incoming-webhook server: 200 "ok", but 404
// channel_not_found on paths ending /gone.
type slackHook struct {
	srv   *httptest.Server
	mu    sync.Mutex
	posts []hookPost
}

func newSlackHook(t testing.TB) *slackHook {
	h := &slackHook{}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.posts = append(h.posts, hookPost{Path: r.URL.Path, Body: string(body)})
		h.mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/gone") {
			http.Error(w, "channel_not_found", http.StatusNotFound)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// url is a webhook URL on the server.
func (h *slackHook) url(path string) string { return h.srv.URL + "/services/T0SNAP/B0KEEP/" + path }

func (h *slackHook) to(path string) []hookPost {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []hookPost
	for _, p := range h.posts {
		if strings.HasSuffix(p.Path, "/"+path) {
			out = append(out, p)
		}
	}
	return out
}

// stack is one test's notify function on moto.
type stack struct {
	t         testing.TB
	ctx       context.Context
	env       *awstest.Env
	clock     *vclock
	handler   *Handler
	invoke    local.InvokeFunc
	deliverer *local.Deliverer
	hook      *slackHook
	logs      *proc.Tail
	sender    email.Address
	runs      *dynamo.RunStore
	customers *dynamo.CustomerStore
	policies  *dynamo.PolicyStore
	incidents *dynamo.IncidentStore
	mailings  *dynamo.MailingStore
	failQueue string
}

// stackOptions vary the stack.
type stackOptions struct {
	hold bool
	// ses replaces moto's SES (a fake of the SES port).
	ses email.Client
	// wrapDB and wrapSES, when set, wrap the clients the function gets.
	wrapDB  func(dynamo.Client) dynamo.Client
	wrapSES func(email.Client) email.Client
}

// start is the virtual time the tests begin at: the night of 24 November
// 2026, just after the 02:00 UTC slots failed.
var start = time.Date(2026, 11, 24, 2, 31, 0, 0, time.UTC)

func newStack(t testing.TB, opt stackOptions) *stack {
	t.Helper()
	env := awstest.New(t)
	s := &stack{t: t, ctx: context.Background(), env: env, clock: &vclock{t: start}, hook: newSlackHook(t), logs: proc.NewTail(16 << 20)}
	s.sender = email.Address{Name: "Snapkeep Backups", Email: env.Prefix + "backups@snapkeep.example"}
	env.VerifySender(t, s.sender.Email)
	getenv := s.environment(opt.hold)
	st, err := loadSettings(func(k string) string { return getenv[k] })
	if err != nil {
		t.Fatal(err)
	}
	ses := opt.ses
	if ses == nil {
		ses = env.SESv2()
	}
	var db dynamo.Client = env.DynamoDB
	if opt.wrapDB != nil {
		db = opt.wrapDB(db)
	}
	if opt.wrapSES != nil {
		ses = opt.wrapSES(ses)
	}
	log := slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s.handler, err = wire(st, deps{DynamoDB: db, SES: ses, SlackHTTP: s.hook.srv.Client(), Now: s.clock.Now,
		Sleep: func(context.Context, time.Duration) error { return nil }}, log)
	if err != nil {
		t.Fatal(err)
	}
	s.invoke = lambda.NewHandler(s.handler.Handle).Invoke
	s.runs = &dynamo.RunStore{Client: env.DynamoDB, Table: env.TableName(dynamo.Runs), CallsTable: env.TableName(dynamo.APICalls)}
	s.customers = &dynamo.CustomerStore{Client: env.DynamoDB, Table: env.TableName(dynamo.Customers), Now: s.clock.Now}
	s.policies = &dynamo.PolicyStore{Client: env.DynamoDB, Table: env.TableName(dynamo.Policies), Now: s.clock.Now}
	s.incidents = &dynamo.IncidentStore{Client: env.DynamoDB, Table: env.TableName(dynamo.Incidents)}
	s.mailings = &dynamo.MailingStore{Client: env.DynamoDB, Table: env.TableName(dynamo.Mailings)}
	s.deliverer = s.newDeliverer(0)
	return s
}

// environment is what template.yaml gives the function, pointed at this
// test's tables and webhook server.
func (s *stack) environment(hold bool) map[string]string {
	env := map[string]string{
		envSender:     s.sender.String(),
		envReplyTo:    "Snapkeep Support <support@snapkeep.example>",
		envConfigSet:  "snapkeep-test",
		envAppURL:     "https://app.snapkeep.example",
		envHold:       map[bool]string{true: "true", false: "false"}[hold],
		envDigestHour: "8",
		envSlackHosts: strings.TrimPrefix(s.hook.srv.URL, "https://"),
	}
	for _, spec := range dynamo.AllTables() {
		env[spec.EnvVar] = s.env.TableName(spec)
	}
	return env
}

// newDeliverer is template.yaml's NotifyFunction RunsStream mapping over
// this test's Runs stream; batch > 0 overrides its batch size.
func (s *stack) newDeliverer(batch int) *local.Deliverer {
	s.t.Helper()
	srcs, err := local.Sources(templatePath)
	if err != nil {
		s.t.Fatal(err)
	}
	src, err := local.FindSource(srcs, "NotifyFunction", "RunsStream")
	if err != nil {
		s.t.Fatal(err)
	}
	if s.failQueue == "" {
		s.failQueue, _ = s.env.CreateQueue(s.t, s.env.Prefix+"stream-failures")
	}
	d, err := local.New(s.ctx, local.Config{Source: src, Stream: local.NewTableStream(s.env.Config, s.env.TableName(dynamo.Runs)),
		Invoke: s.invoke, SQS: s.env.SQS(), OnFailureQueueURL: s.failQueue, BatchSize: batch})
	if err != nil {
		s.t.Fatal(err)
	}
	return d
}

// flush delivers every record written so far, now.
func (s *stack) flush() local.Stats {
	s.t.Helper()
	if err := s.deliverer.Flush(s.ctx, s.clock.Now()); err != nil {
		s.t.Fatal(err)
	}
	return s.deliverer.Stats()
}

// tick invokes the function as its schedule does.
func (s *stack) tick() notify.TickResult {
	s.t.Helper()
	out, err := s.invoke(s.ctx, []byte(`{"tick": true}`))
	if err != nil {
		s.t.Fatalf("tick: %v\n%s", err, s.logs)
	}
	var res notify.TickResult
	if err := json.Unmarshal(out, &res); err != nil {
		s.t.Fatalf("tick result %s: %v", out, err)
	}
	return res
}

func (s *stack) customer(id string, mode snapkeep.NotificationMode, slackPath string) *snapkeep.Customer {
	s.t.Helper()
	c := &snapkeep.Customer{CustomerID: id, Name: "Customer " + strings.ToUpper(id), Email: s.env.Prefix + id + "@customer.example",
		NotificationMode: mode, PreferencesToken: "pt-" + id + "-7Kq2mZx9Vb4L"}
	if slackPath != "" {
		c.SlackWebhookURL = s.hook.url(slackPath)
	}
	if err := s.customers.Put(s.ctx, c); err != nil {
		s.t.Fatal(err)
	}
	return c
}

func (s *stack) policy(id, customer, region string) *snapkeep.Policy {
	s.t.Helper()
	p := &snapkeep.Policy{PolicyID: id, CustomerID: customer, AccountID: "acct-" + customer,
		Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "3164444", Region: region},
		Schedule: "cron(0 * * * ? *)", Retention: snapkeep.Retention{KeepLast: 7}, Enabled: true}
	if err := s.policies.Put(s.ctx, p); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// finish writes a run of policy at slot as the snapshot service does: a
// claim (in progress), then the write that ends it with status and class
// (a MODIFY record). prev is the policy's previous run's status.
func (s *stack) finish(p *snapkeep.Policy, slot time.Time, status snapkeep.RunStatus, class snapkeep.ErrorClass, prev snapkeep.RunStatus) *snapkeep.Run {
	s.t.Helper()
	key := snapkeep.NewRunKey(p.PolicyID, slot)
	lease := slot.Add(6 * time.Minute)
	run := &snapkeep.Run{PolicyID: p.PolicyID, ScheduledAt: slot, RunID: key.RunID(), CustomerID: p.CustomerID, AccountID: p.AccountID,
		Resource: p.Resource, ResourceKey: p.Resource.Key(), Trigger: snapkeep.TriggerScheduled, Status: snapkeep.RunInProgress,
		Attempts: 1, ClaimedAt: slot.Add(2 * time.Second), Deadline: slot.Add(6 * time.Hour), LeaseUntil: &lease, NextCheckAt: &lease,
		Unfinished: snapkeep.UnfinishedShard, PrevStatus: prev, UpdatedAt: slot.Add(2 * time.Second)}
	if err := s.runs.Claim(s.ctx, run); err != nil {
		s.t.Fatal(err)
	}
	next := *run
	fin := slot.Add(30*time.Minute + 5*time.Second)
	next.Status, next.ErrorClass, next.FinishedAt, next.UpdatedAt = status, class, &fin, fin
	next.LeaseUntil, next.NextCheckAt, next.Unfinished = nil, nil, ""
	if class == snapkeep.ClassProviderError {
		next.HTTPStatus, next.ProviderErrorID, next.ProviderMessage = 500, "server_error", "Server Error"
		next.ProviderRequestID, next.Attempts = "4d1f1a4e-0b2a-4c43-9b5c-"+key.ScheduledAt.Format("150405")+"8f1a2f0f", 4
	}
	if status == snapkeep.RunSucceeded {
		next.SnapshotID, next.SnapshotName = "snap-"+key.ScheduledAt.Format("150405"), "snapkeep-"+p.PolicyID+"-"+key.ScheduledAt.Format("20060102T150405Z")
	}
	if err := s.runs.Save(s.ctx, run, &next, nil); err != nil {
		s.t.Fatal(err)
	}
	return &next
}

// stored reads a run back.
func (s *stack) stored(run *snapkeep.Run) *snapkeep.Run {
	s.t.Helper()
	got, err := s.runs.Get(s.ctx, run.Key())
	if err != nil {
		s.t.Fatal(err)
	}
	return got
}

// delivered is one email moto's SES accepted, read back from its raw
// MIME: every header (encoded words decoded) and the decoded parts.
type delivered struct {
	MessageID string
	Header    mail.Header
	Structure string
	Text      string
	HTML      string
}

// header returns a header decoded (RFC 2047).
func (d delivered) header(name string) string {
	v, err := new(mime.WordDecoder).DecodeHeader(d.Header.Get(name))
	if err != nil {
		return d.Header.Get(name)
	}
	return v
}

// mails returns the emails to addr, oldest first.
func (s *stack) mails(addr string) []delivered {
	s.t.Helper()
	var out []delivered
	for _, m := range s.env.SentEmailsTo(s.t, addr) {
		out = append(out, readMail(s.t, m.MessageID, m.Raw))
	}
	return out
}

func readMail(t testing.TB, id, raw string) delivered {
	t.Helper()
	msg, err := awslocal.ReadRaw(raw)
	if err != nil {
		t.Fatalf("email %s: %v", id, err)
	}
	if !strings.HasPrefix(msg.Structure, "multipart/alternative(") {
		t.Fatalf("email %s: Content-Type %q, want multipart/alternative", id, msg.Header.Get("Content-Type"))
	}
	d := delivered{MessageID: id, Header: msg.Header, Structure: msg.Structure}
	for _, p := range msg.Parts {
		switch p.ContentType {
		case "text/plain":
			d.Text = strings.ReplaceAll(p.Body, "\r\n", "\n")
		case "text/html":
			d.HTML = strings.ReplaceAll(p.Body, "\r\n", "\n")
		}
	}
	return d
}

// sameBody reports whether a part read back is the rendered body (the
// builder ends each part with a line break).
func sameBody(got, want string) bool {
	return strings.TrimRight(got, "\n") == strings.TrimRight(strings.ReplaceAll(want, "\r\n", "\n"), "\n")
}

// dynamoRuns is the Runs table's spec.
var dynamoRuns = dynamo.Runs

// eventRecord is a stream record as Lambda delivers it.
type eventRecord = events.DynamoDBEventRecord

func eventOf(recs []eventRecord) events.DynamoDBEvent { return events.DynamoDBEvent{Records: recs} }

// imageStatus is an image's status, or "" when it has none.
func imageStatus(img map[string]events.DynamoDBAttributeValue) string {
	v, ok := img["status"]
	if !ok || v.DataType() != events.DataTypeString {
		return ""
	}
	return v.String()
}

// openIncident stores an open DigitalOcean incident in dim, opened an
// hour before the slot.
func openIncident(t *testing.T, s *stack, dim snapkeep.Dimension) *snapkeep.Incident {
	t.Helper()
	opened := slot.Add(-time.Hour)
	inc := &snapkeep.Incident{IncidentID: "provider_error#" + string(dim) + "#" + opened.Format("2006-01-02T15:04Z"), Kind: snapkeep.IncidentProvider,
		Dimension: dim, Class: snapkeep.ClassProviderError, State: snapkeep.IncidentFiring, StartedAt: opened.Add(-20 * time.Minute), OpenedAt: opened,
		Detector: "cusum", BaselineRate: 0.0005, Rate: 0.015, PeakRate: 0.021, Calls: 24000, Failures: 360, AffectedAccounts: 41,
		AffectedResources: 260, FailedRuns: 118, AffectedCustomers: 37, UpdatedAt: opened}
	if err := s.incidents.Create(s.ctx, inc); err != nil {
		t.Fatal(err)
	}
	got, err := s.incidents.Get(s.ctx, inc.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
