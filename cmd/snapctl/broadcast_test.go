package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/mail"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dynamotypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/mailing"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

const testAppURL = "https://app.snapkeep.example"

// sender is the stack's broadcast sender, verified in moto's SES.
func (s *incidentStack) sender(t *testing.T) string {
	t.Helper()
	addr := fmt.Sprintf("updates-%s@snapkeep.example", s.tag)
	s.c.env.VerifySender(t, addr)
	return addr
}

// broadcastArgs are the flags every broadcast of the tests passes.
func (s *incidentStack) broadcastArgs(t *testing.T, args ...string) []string {
	return append([]string{"broadcast", "--sender", "Snapkeep <" + s.sender(t) + ">", "--app-url", testAppURL,
		"--rate", "1000", "--quiet"}, args...)
}

// affected returns the ids of the customers with a run the target tells
// of: provider_error, finished in [from, to), in region ("" for any).
func (s *incidentStack) affected(from, to time.Time, region string) map[string]bool {
	out := map[string]bool{}
	for _, r := range s.runs {
		if r.ErrorClass == snapkeep.ClassProviderError && !r.FinishedAt.Before(from) && r.FinishedAt.Before(to) && (region == "" || r.Region == region) {
			out[r.CustomerID] = true
		}
	}
	return out
}

// sendable are the affected customers who get the message (opted-in,
// not blocked, with a preferences token), by address.
func (s *incidentStack) sendable(affected map[string]bool) map[string]snapkeep.Customer {
	out := map[string]snapkeep.Customer{}
	for _, c := range s.customers {
		if affected[c.CustomerID] && c.NotificationMode != snapkeep.NotifyNone && c.EmailBlocked == "" && c.PreferencesToken != "" {
			out[c.Email] = c
		}
	}
	return out
}

// sentTo counts moto's sent emails per address of this stack's customers
// (moto lists a raw message's recipients as given to SendEmail and as in
// its To header: each address counts once per message).
func (s *incidentStack) sentTo(t *testing.T) (map[string]int, []awstestEmail) {
	t.Helper()
	counts := map[string]int{}
	var mine []awstestEmail
	for _, m := range s.c.env.SentEmails(t) {
		seen := map[string]bool{}
		for _, r := range m.Recipients() {
			addr := r
			if a, err := mail.ParseAddress(r); err == nil {
				addr = a.Address
			}
			if strings.Contains(addr, "ops-"+s.tag+"@") && !seen[addr] {
				seen[addr] = true
				counts[addr]++
				mine = append(mine, awstestEmail{to: addr, raw: m.Raw, from: m.From})
			}
		}
	}
	return counts, mine
}

type awstestEmail struct{ to, raw, from string }

// mailingItems counts the Mailings table's items of the broadcast (a
// Scan: the test looks at everything there is).
func (s *incidentStack) mailingItems(t *testing.T, mailingID string) int {
	t.Helper()
	in := &dynamodb.ScanInput{TableName: aws.String(s.vars[dynamo.Mailings.EnvVar])}
	n := 0
	for {
		out, err := s.c.env.DynamoDB.Scan(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range out.Items {
			if v, ok := item["mailing_id"].(*dynamotypes.AttributeValueMemberS); ok && v.Value == mailingID {
				n++
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return n
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// TestBroadcastIncident: against moto seeded with 4,320 runs of 60
// customers, the dry run lists exactly the affected customers and sends
// and writes nothing; the broadcast sends exactly one email per affected
// customer who may get it, on the broadcast stream, with one-click
// unsubscribe; a second run sends nothing.
func TestBroadcastIncident(t *testing.T) {
	t.Parallel()
	s := seedIncidentStack(t, 60)
	if len(s.runs) < 4000 {
		t.Fatalf("fixture: %d runs, want thousands", len(s.runs))
	}
	affected := s.affected(stackChange, stackResolved, "nyc3")
	want := s.sendable(affected)
	for _, i := range []int{stackOptedOut, stackBlocked, stackNoToken} {
		if !affected[fmt.Sprintf("cust-%03d", i)] {
			t.Fatalf("fixture: special customer %d is not affected", i)
		}
	}
	if len(want) < 30 || len(want) != len(affected)-3 {
		t.Fatalf("fixture: %d sendable of %d affected", len(want), len(affected))
	}
	mailingID := "broadcast#incident#" + s.incident.IncidentID

	var dry dryRunView
	r := s.c.ok(s.broadcastArgs(t, "--incident", s.incident.IncidentID, "--dry-run", "-o", "json")...)
	if err := json.Unmarshal([]byte(r.stdout), &dry); err != nil {
		t.Fatalf("dry run -o json: %v\n%s", err, r.stdout)
	}
	statuses := map[string]string{}
	for _, v := range dry.Recipients {
		statuses[v.CustomerID] = v.Status + " " + v.Reason
	}
	if len(dry.Recipients) != len(affected) || dry.MailingID != mailingID || dry.Sample == nil || !strings.Contains(dry.Sample.Text, "never affected") {
		t.Errorf("dry run: %d recipients (want %d), id %q, sample %v", len(dry.Recipients), len(affected), dry.MailingID, dry.Sample != nil)
	}
	for i, wantStatus := range map[int]string{stackOptedOut: "skip opted_out", stackBlocked: "skip email_blocked", stackNoToken: "skip no_unsubscribe_link", 0: "send "} {
		if got := statuses[fmt.Sprintf("cust-%03d", i)]; got != wantStatus {
			t.Errorf("dry run: cust-%03d is %q, want %q", i, got, wantStatus)
		}
	}
	if sent, _ := s.sentTo(t); len(sent) != 0 || s.mailingItems(t, mailingID) != 0 {
		t.Fatalf("the dry run sent %d emails and wrote %d mailing items", len(sent), s.mailingItems(t, mailingID))
	}

	var sum mailing.Summary
	r = s.c.ok(s.broadcastArgs(t, "--incident", s.incident.IncidentID, "-o", "json")...)
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatalf("summary: %v\n%s", err, r.stdout)
	}
	if sum.Sent != len(want) || sum.SentBefore != 0 || sum.Failed != 0 || sum.Skipped[mailing.SkipOptedOut] != 1 ||
		sum.Skipped[mailing.SkipBlocked] != 1 || sum.Skipped[mailing.SkipNoUnsubscribe] != 1 || sum.Recipients != len(affected) {
		t.Errorf("summary %+v, want %d sent and 3 skipped", sum, len(want))
	}
	sent, emails := s.sentTo(t)
	checkOnceEach(t, sent, want)
	for _, e := range emails[:3] {
		checkBroadcastHeaders(t, e, want[e.to], "<"+s.sender(t)+">", testAppURL)
	}
	if n := s.mailingItems(t, mailingID); n != len(want) {
		t.Errorf("%d mailing items, want one per customer sent (%d)", n, len(want))
	}

	r = s.c.ok(s.broadcastArgs(t, "--incident", s.incident.IncidentID)...)
	again, _ := s.sentTo(t)
	checkOnceEach(t, again, want)
	if !strings.Contains(r.stdout, fmt.Sprintf("sent before:         %d", len(want))) {
		t.Errorf("second run's summary:\n%s", r.stdout)
	}
}

// checkOnceEach checks that exactly the wanted addresses got one email each.
func checkOnceEach(t *testing.T, sent map[string]int, want map[string]snapkeep.Customer) {
	t.Helper()
	if len(sent) != len(want) {
		t.Errorf("%d addresses got mail, want %d", len(sent), len(want))
	}
	for addr := range want {
		if sent[addr] != 1 {
			t.Errorf("%s got %d emails, want 1", addr, sent[addr])
		}
	}
}

// checkBroadcastHeaders checks the raw MIME of one broadcast email: from
// the sender, linking to the app.
func checkBroadcastHeaders(t *testing.T, e awstestEmail, c snapkeep.Customer, from, app string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(e.raw))
	if err != nil {
		t.Fatalf("email to %s is not a MIME message: %v", e.to, err)
	}
	h := m.Header
	_, domain, _ := strings.Cut(strings.Trim(from, "<>"), "@")
	for name, want := range map[string]string{
		"List-Unsubscribe":      "<" + app + "/preferences/" + c.PreferencesToken + ">",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"List-Id":               "<updates." + domain + ">",
		"X-Snapkeep-Kind":       "broadcast",
		"X-Snapkeep-Mailing":    "broadcast#incident#provider_error#region:nyc3#2026-11-24T07:00Z",
	} {
		if got := h.Get(name); !strings.Contains(got, want) {
			t.Errorf("email to %s: %s = %q, want %q", e.to, name, got, want)
		}
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || !strings.Contains(h.Get("From"), from) || !strings.HasPrefix(subject, "DigitalOcean problem, resolved:") {
		t.Errorf("email to %s: From %q, Subject %q (%v)", e.to, h.Get("From"), subject, err)
	}
}

// fakeSES wraps moto's SES: it counts accepted sends (and runs after on
// each) by configuration set (moto ignores the name), answers GetAccount
// as AWS does when account is set, and keeps a suppression list, which
// moto does not implement.
type fakeSES struct {
	sesClient
	mu         sync.Mutex
	sends      int
	sets       map[string]int
	after      func(n int)
	account    *sesv2.GetAccountOutput
	suppressed map[string]bool
}

func (f *fakeSES) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	out, err := f.sesClient.SendEmail(ctx, in, opts...)
	if err == nil {
		f.mu.Lock()
		f.sends++
		n := f.sends
		if f.sets == nil {
			f.sets = map[string]int{}
		}
		f.sets[aws.ToString(in.ConfigurationSetName)]++
		f.mu.Unlock()
		if f.after != nil {
			f.after(n)
		}
	}
	return out, err
}

func (f *fakeSES) GetAccount(ctx context.Context, in *sesv2.GetAccountInput, opts ...func(*sesv2.Options)) (*sesv2.GetAccountOutput, error) {
	if f.account != nil {
		return f.account, nil
	}
	return f.sesClient.GetAccount(ctx, in, opts...)
}

func (f *fakeSES) GetSuppressedDestination(ctx context.Context, in *sesv2.GetSuppressedDestinationInput, opts ...func(*sesv2.Options)) (*sesv2.GetSuppressedDestinationOutput, error) {
	if f.suppressed == nil {
		return f.sesClient.GetSuppressedDestination(ctx, in, opts...)
	}
	addr := aws.ToString(in.EmailAddress)
	if !f.suppressed[addr] {
		return nil, &sestypes.NotFoundException{Message: aws.String("not suppressed")}
	}
	at := stackNow.Add(-48 * time.Hour)
	return &sesv2.GetSuppressedDestinationOutput{SuppressedDestination: &sestypes.SuppressedDestination{
		EmailAddress: aws.String(addr), Reason: sestypes.SuppressionListReasonBounce, LastUpdateTime: &at}}, nil
}

// useFakeSES makes app a's SES client f over the one it had (moto's).
func useFakeSES(a *app, f *fakeSES) {
	inner := a.clients.SES
	a.clients.SES = func(cfg aws.Config) sesClient {
		f.sesClient = inner(cfg)
		return f
	}
}

// TestBroadcastResumesAfterInterruption kills a class broadcast after n
// sends (its context is cancelled right after SES took the n-th message,
// as Ctrl-C would), runs the command it prints, and checks that the
// union is exactly one email per customer.
func TestBroadcastResumesAfterInterruption(t *testing.T) {
	t.Parallel()
	s := seedIncidentStack(t, 40)
	want := s.sendable(s.affected(stackNow.Add(-25*time.Hour), stackNow, ""))
	const n = 9
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &fakeSES{after: func(sent int) {
		if sent == n {
			cancel()
		}
	}}
	var stdout, stderr bytes.Buffer
	a := newApp(strings.NewReader(""), &stdout, &stderr, func(k string) string { return s.c.vars[k] })
	a.now = func() time.Time { return stackNow }
	useFakeSES(a, f)
	code := a.run(ctx, s.broadcastArgs(t, "--class", "provider_error", "--since", "24h"))
	if code != exitFailure || !strings.Contains(stderr.String(), "broadcast interrupted: 9 sent") {
		t.Fatalf("interrupted run: exit %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
	if sent, _ := s.sentTo(t); len(sent) != n {
		t.Fatalf("%d sent before the interruption, want %d", len(sent), n)
	}
	_, again, ok := strings.Cut(stderr.String(), "those sent are skipped):\n  ")
	if !ok {
		t.Fatalf("no command to run again:\n%s", stderr.String())
	}
	args := shellSplit(t, strings.TrimSpace(again))
	if args[0] != "snapctl" || !strings.Contains(again, "--since=2026-11-23T19:00:00Z --until=2026-11-24T19:30:00Z") {
		t.Fatalf("command to run again: %q", again)
	}
	f.after = nil
	s.c.now = stackNow.Add(40 * time.Minute) // the same hour range, resumed later
	var sum mailing.Summary
	r := s.c.ok(append(args[1:], "-o", "json")...)
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.SentBefore != n || sum.Sent != len(want)-n || sum.InFlight != 0 {
		t.Errorf("resumed: %+v, want %d sent before and %d sent", sum, n, len(want)-n)
	}
	sent, _ := s.sentTo(t)
	checkOnceEach(t, sent, want)
}

// shellSplit splits a command line as a POSIX shell would, for the
// quoting resumeCommand writes (single quotes, '\” for a quote).
func shellSplit(t *testing.T, line string) []string {
	t.Helper()
	var out []string
	var cur strings.Builder
	inWord, quoted := false, false
	for _, r := range line {
		switch {
		case r == '\'':
			quoted, inWord = !quoted, true
		case r == '\\' && !quoted:
		case r == ' ' && !quoted:
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
			}
			inWord = false
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quotes in %q", line)
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

// TestBroadcastPaceAndSuppression: the pace is the account's MaxSendRate
// (a fake of GetAccount; moto has none, and then the pace is 1 a second,
// said on stderr); a quota too small is warned of; an address on the
// suppression list is skipped, counted and blocked in the Customers table.
func TestBroadcastPaceAndSuppression(t *testing.T) {
	t.Parallel()
	s := seedIncidentStack(t, 8)
	dry := s.c.ok("broadcast", "--incident", s.incident.IncidentID, "--dry-run", "--app-url", testAppURL)
	if !strings.Contains(dry.stderr, "could not be read (GetAccount answered HTTP 404), so 1 a second") {
		t.Errorf("moto's missing GetAccount is not told:\n%s", dry.stderr)
	}
	want := s.sendable(s.affected(stackChange, stackResolved, "nyc3"))
	victim := s.email(1)
	f := &fakeSES{suppressed: map[string]bool{victim: true},
		account: &sesv2.GetAccountOutput{ProductionAccessEnabled: true,
			SendQuota: &sestypes.SendQuota{MaxSendRate: 40, Max24HourSend: 50_000, SentLast24Hours: 49_998}}}
	s.c.setup = func(a *app) { useFakeSES(a, f) }
	args := s.broadcastArgs(t, "--incident", s.incident.IncidentID)
	args = append(args[:5], args[7:]...) // no --rate: the account's
	r := s.c.run("", args...)
	for _, w := range []string{"Pace: 40 a second (the SES account's MaxSendRate)", "may send 2 more messages in the next 24 hours"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
	if r.code != exitOK || !strings.Contains(r.stdout, "suppressed 1") {
		t.Errorf("exit %d, summary:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	delete(want, victim)
	sent, _ := s.sentTo(t)
	checkOnceEach(t, sent, want)
	c, err := (&dynamo.CustomerStore{Client: s.c.env.DynamoDB, Table: s.c.vars[dynamo.Customers.EnvVar]}).Get(context.Background(), "cust-001")
	if err != nil || !strings.HasPrefix(c.EmailBlocked, "Suppressed") {
		t.Errorf("the suppressed customer's email is not blocked: %+v, %v", c, err)
	}
}

func TestBroadcastBadFlags(t *testing.T) {
	t.Parallel()
	s := seedIncidentStack(t, 2)
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"neither", []string{"broadcast"}, exitUsage, []string{"exactly one of --incident ID or --class CLASS --since WHEN"}},
		{"both", []string{"broadcast", "--incident", "x", "--class", "provider_error"}, exitUsage, []string{"exactly one of"}},
		{"incident with a range", []string{"broadcast", "--incident", "x", "--since", "24h"}, exitUsage, []string{"only with --class"}},
		{"class without since", []string{"broadcast", "--class", "provider_error"}, exitUsage, []string{"--class needs --since"}},
		{"unknown class", []string{"broadcast", "--class", "server_error", "--since", "24h"}, exitUsage, []string{`"server_error" is not an error class`}},
		{"customer-side class", []string{"broadcast", "--class", "auth_revoked", "--since", "24h"}, exitUsage, []string{"not a DigitalOcean-side failure"}},
		{"too long", []string{"broadcast", "--class", "provider_error", "--since", "40d"}, exitUsage, []string{"longer than 31 days"}},
		{"bad since", []string{"broadcast", "--class", "provider_error", "--since", "lately"}, exitUsage, []string{`--since: "lately" is neither an age`}},
		{"template", []string{"broadcast", "--incident", "x", "--template", "fancy"}, exitUsage, []string{`--template "fancy": the only template is incident`}},
		{"rate zero", []string{"broadcast", "--incident", "x", "--rate", "0"}, exitUsage, []string{"--rate 0: want a number of messages a second"}},
		{"rate not a number", []string{"broadcast", "--incident", "x", "--rate", "fast"}, exitUsage, []string{`--rate: "fast" is not a number`}},
		{"unknown incident", []string{"broadcast", "--incident", "provider_error#all#2026-01-01T00:00Z"}, exitUsage, []string{"no incident", "snapctl incidents list"}},
		{"http app", []string{"broadcast", "--incident", s.incident.IncidentID, "--app-url", "http://app.snapkeep.example"}, exitUsage,
			[]string{`--app-url/--status-page: notice links: AppURL "http://app.snapkeep.example": want an https URL`}},
		{"bad sender", []string{"broadcast", "--incident", s.incident.IncidentID, "--app-url", testAppURL, "--sender", "not an address"}, exitUsage, []string{"--sender:"}},
		{"bad app url", []string{"broadcast", "--incident", s.incident.IncidentID, "--app-url", "ftp://x"}, exitUsage, []string{"--app-url/--status-page:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.c.run("", tt.args...)
			assertFails(t, r, tt.code, tt.want...)
			if strings.Contains(r.stderr, "strconv.") {
				t.Errorf("stderr leaks parser internals: %s", r.stderr)
			}
		})
	}
	if sent, _ := s.sentTo(t); len(sent) != 0 {
		t.Errorf("bad flags sent %d emails", len(sent))
	}
}

func TestProgressBarAndOnceLogger(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, 3, true)
	for i := 1; i <= 3; i++ {
		p.update(mailing.Progress{Done: i, Total: 3})
	}
	p.finish()
	if !strings.Contains(buf.String(), "3/3") || !strings.Contains(buf.String(), "broadcast") {
		t.Errorf("progress bar drew %q", buf.String())
	}
	buf.Reset()
	q := newProgress(&buf, 3, false)
	q.update(mailing.Progress{Done: 1, Total: 3})
	q.finish()
	if buf.Len() != 0 {
		t.Errorf("an invisible bar drew %q", buf.String())
	}

	log := onceLogger(&buf).With("mailing_id", "m")
	for i := 0; i < 3; i++ {
		log.Warn("email: suppression list not checked; sending anyway", "error", fmt.Sprint(i))
	}
	log.Info("not shown")
	log.Error("another")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	sort.Strings(lines)
	if len(lines) != 2 || !strings.Contains(lines[0], `error: another mailing_id="m"`) || !strings.Contains(lines[1], `error="0"`) {
		t.Errorf("once logger wrote %q", lines)
	}
}

// opCounter counts AWS requests by operation (a middleware on the client).
type opCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *opCounter) add(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("count", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		c.mu.Lock()
		c.n[awsmiddleware.GetOperationName(ctx)]++
		c.mu.Unlock()
		return next.HandleInitialize(ctx, in)
	}), middleware.After)
}

// countRequests makes app a's DynamoDB and SES clients count their
// requests in dynamo and ses.
func countRequests(a *app, dynamo, ses *opCounter) {
	a.clients.DynamoDB = func(cfg aws.Config) *dynamodb.Client {
		return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, dynamo.add) })
	}
	a.clients.SES = func(cfg aws.Config) sesClient {
		return sesv2.NewFromConfig(cfg, func(o *sesv2.Options) { o.APIOptions = append(o.APIOptions, ses.add) })
	}
}

// TestBroadcastRequestsPerEmail counts what a broadcast asks of AWS: the
// plan reads each provider-side class's failures-by-class index once, the
// broadcast's ledger partition once, and each affected customer; each
// email costs one conditional PutItem (the claim), one UpdateItem (the
// record), one GetItem per policy it lists, and two SES calls (the
// suppression list, then SendEmail). Nothing scans.
func TestBroadcastRequestsPerEmail(t *testing.T) {
	t.Parallel()
	s := seedIncidentStack(t, 30)
	affected := s.affected(stackChange, stackResolved, "nyc3")
	want := s.sendable(affected)
	policies := 0 // distinct nyc3 policies with a failure in the window, of customers sent
	seen := map[string]bool{}
	for _, r := range s.runs {
		c := s.customers[customerIndex(r.CustomerID)]
		if _, ok := want[c.Email]; ok && r.ErrorClass == snapkeep.ClassProviderError && r.Region == "nyc3" &&
			!r.FinishedAt.Before(stackChange) && r.FinishedAt.Before(stackResolved) && !seen[r.PolicyID] {
			seen[r.PolicyID] = true
			policies++
		}
	}
	args := s.broadcastArgs(t, "--incident", s.incident.IncidentID)
	ddb, ses := &opCounter{n: map[string]int{}}, &opCounter{n: map[string]int{}}
	s.c.setup = func(a *app) { countRequests(a, ddb, ses) }
	s.c.ok(args...)
	n := len(want)
	wantDDB := map[string]int{
		"GetItem": 1 + len(affected) + policies, // the incident, each customer, each policy listed
		"Query":   4 + 1,                        // failures-by-class of each provider-side class, the ledger
		"PutItem": n, "UpdateItem": n,
	}
	wantSES := map[string]int{"GetAccount": 1, "GetSuppressedDestination": n, "SendEmail": n}
	if fmt.Sprint(ddb.n) != fmt.Sprint(wantDDB) || fmt.Sprint(ses.n) != fmt.Sprint(wantSES) {
		t.Errorf("requests: DynamoDB %v, SES %v; want %v and %v", ddb.n, ses.n, wantDDB, wantSES)
	}
	t.Logf("%d emails to %d affected customers: DynamoDB %v, SES %v: %.1f DynamoDB and 2 SES requests an email",
		n, len(affected), ddb.n, ses.n, float64(ddb.n["GetItem"]+ddb.n["Query"]+ddb.n["PutItem"]+ddb.n["UpdateItem"])/float64(n))
}

func customerIndex(id string) int {
	var i int
	fmt.Sscanf(id, "cust-%d", &i)
	return i
}

// BenchmarkBroadcast sends a broadcast to 40 customers' worth of an
// incident stack in moto, unpaced (--rate 1000), one fresh broadcast per
// iteration: the time an email takes when SES and DynamoDB answer at
// once, and the requests an email makes.
func BenchmarkBroadcast(b *testing.B) {
	env := awstest.New(b)
	vars := map[string]string{}
	for _, spec := range dynamo.AllTables() {
		vars[spec.EnvVar] = env.TableName(spec)
	}
	s := &incidentStack{env: env, vars: vars, tag: fmt.Sprintf("b%x", time.Now().UnixNano()%0xffffff)}
	s.seed(b, 40)
	sender := fmt.Sprintf("updates-%s@snapkeep.example", s.tag)
	env.VerifySender(b, sender)
	ddb, ses := &opCounter{n: map[string]int{}}, &opCounter{n: map[string]int{}}
	emails := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var stdout, stderr bytes.Buffer
		a := newApp(strings.NewReader(""), &stdout, &stderr, func(k string) string { return vars[k] })
		a.now = func() time.Time { return stackNow }
		countRequests(a, ddb, ses)
		// A class range reaching back one more hour each time is a new broadcast.
		code := a.run(context.Background(), []string{"broadcast", "--class", "provider_error", "--since", fmt.Sprintf("%dh", 25+i),
			"--sender", sender, "--app-url", testAppURL, "--rate", "1000", "--quiet", "-o", "json"})
		var sum mailing.Summary
		if code != exitOK || json.Unmarshal(stdout.Bytes(), &sum) != nil || sum.Sent == 0 {
			b.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
		}
		emails += sum.Sent
	}
	b.StopTimer()
	total := 0
	for _, v := range ddb.n {
		total += v
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(emails), "ms/email")
	b.ReportMetric(float64(total)/float64(emails), "dynamodb-req/email")
	b.ReportMetric(float64(ses.n["SendEmail"]+ses.n["GetSuppressedDestination"])/float64(emails), "ses-req/email")
}

// TestBroadcastClaimsLeftBehind: in moto, a claim without a record that a
// dead run left 10 minutes ago is taken over and sent; one made a minute
// ago (a run still going) is left alone and counted.
func TestBroadcastClaimsLeftBehind(t *testing.T) {
	t.Parallel()
	s := seedIncidentStack(t, 8)
	want := s.sendable(s.affected(stackChange, stackResolved, "nyc3"))
	store := &dynamo.MailingStore{Client: s.env.DynamoDB, Table: s.vars[dynamo.Mailings.EnvVar]}
	mailingID := "broadcast#incident#" + s.incident.IncidentID
	for id, age := range map[string]time.Duration{"cust-000": 10 * time.Minute, "cust-001": time.Minute} {
		n := snapkeep.Notice{Kind: snapkeep.NoticeBroadcast, At: stackNow.Add(-age)}
		if _, ok, err := store.ClaimBroadcast(context.Background(), mailing.Entry{MailingID: mailingID, CustomerID: id, ExpiresAt: stackNow.Add(time.Hour)}, n, nil); err != nil || !ok {
			t.Fatalf("claim %s: %v, %v", id, ok, err)
		}
	}
	var sum mailing.Summary
	r := s.c.ok(s.broadcastArgs(t, "--incident", s.incident.IncidentID, "-o", "json")...)
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Resent != 1 || sum.Sent != len(want)-1 || sum.Skipped[mailing.SkipInProgress] != 1 {
		t.Errorf("summary %+v: want cust-000 re-sent and cust-001 left to its run", sum)
	}
	sent, _ := s.sentTo(t)
	delete(want, s.email(1))
	checkOnceEach(t, sent, want)
	notices, err := store.BroadcastNotices(context.Background(), mailingID)
	if err != nil || notices["cust-000"].ID == "" || notices["cust-001"].ID != "" || len(notices) != len(want)+1 {
		t.Errorf("ledger after the run: %v, %v", notices, err)
	}
}
