package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/snapkeep/snapkeep/infra/awslocal"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Summary is what happened, read back from the tables, moto's SES and the
// fake Slack (never from the runner's own counts, which it is checked
// against).
type Summary struct {
	// Runs are every run in the Runs table.
	Runs []snapkeep.Run
	// ByStatus and ByClass count the runs by status and the failed and
	// timed-out ones by class.
	ByStatus map[snapkeep.RunStatus]int
	ByClass  map[snapkeep.ErrorClass]int
	// Created counts the snapshots the runs took; Pruned the earlier ones
	// retention deleted, MadeRoom those deleted to fit a full volume.
	Created, Pruned, MadeRoom int
	// Requests is what the fake DigitalOcean received; CallRows the
	// ApiCalls rows; RunCalls the sum of the runs' api_calls.
	Requests, CallRows, RunCalls int
	// Incidents are every incident in the Incidents table, by OpenedAt.
	Incidents []snapkeep.Incident
	// Emails are every email SES accepted; Slack every post the fake
	// Slack received.
	Emails []Email
	Slack  []SlackPost
	// Mailings are the Mailings table's items.
	Mailings []dynamo.Mailing
	// Items counts the items of every table, by logical id.
	Items map[string]int
	// Failed counts the messages in each failure and dead-letter queue
	// (by logical id): deliveries AWS would have given up on. FailedSample
	// is one message's body per queue, bounded.
	Failed       map[string]int
	FailedSample map[string]string
	// Dropped counts asynchronous invocations that failed every retry of a
	// function without an on-failure destination (nothing records them).
	Dropped int
	// Leaks says where a secret was found (a table, the logs, a message).
	Leaks []string
}

// Message kinds of ops' notices.
const (
	opsAlert      = "ops alert"
	opsResolution = "ops resolution"
)

// summarize reads back what happened and checks every store for the
// tokens and webhook URLs.
func (d *Demo) summarize(ctx context.Context, _ DemoOptions) error {
	s := &Summary{ByStatus: map[snapkeep.RunStatus]int{}, ByClass: map[snapkeep.ErrorClass]int{}, Items: map[string]int{}}
	d.Summary = s
	secrets := d.secrets()
	for _, id := range sortedKeys(d.Tables) {
		if err := s.scanTable(ctx, d.DynamoDB, id, d.Tables[id], secrets); err != nil {
			return err
		}
	}
	for _, r := range s.Runs {
		s.ByStatus[r.Status]++
		if r.Status == snapkeep.RunFailed || r.Status == snapkeep.RunTimedOut {
			s.ByClass[r.ErrorClass]++
		}
		if r.Status == snapkeep.RunSucceeded && r.SnapshotID != "" {
			s.Created++
		}
		if r.Retention != nil {
			s.Pruned += len(r.Retention.Deleted)
			s.MadeRoom += len(r.Retention.MadeRoom)
		}
		s.RunCalls += r.APICalls
	}
	s.Requests = len(d.DO.Requests())
	sort.Slice(s.Incidents, func(i, j int) bool { return s.Incidents[i].OpenedAt.Before(s.Incidents[j].OpenedAt) })
	sent, err := awslocal.SentEmails(ctx, d.Moto.Endpoint)
	if err != nil {
		return err
	}
	for _, m := range sent {
		e, err := decodeEmail(m)
		if err != nil {
			return err
		}
		s.Emails = append(s.Emails, e)
	}
	s.Slack = d.Slack.Posts()
	if err := s.readFailureQueues(ctx, d.Stack); err != nil {
		return err
	}
	s.Dropped = d.Player.Stats().Lost
	s.leaksIn(secrets, d.FunctionLogs())
	d.printSummary()
	return nil
}

// failureQueues are the template's queues that hold what AWS gave up on:
// stream batches (StreamFailureQueue), Scheduler deliveries
// (ScheduleDeadLetterQueue), asynchronous invocations of the snapshot
// function (SnapshotFailureQueue) and follow-ups (FollowUpDeadLetterQueue).
var failureQueues = []string{"StreamFailureQueue", "ScheduleDeadLetterQueue", "SnapshotFailureQueue", "FollowUpDeadLetterQueue"}

// maxSample bounds the failed message the summary keeps per queue.
const maxSample = 600

// readFailureQueues counts the failure queues' messages and keeps one
// body of each.
func (s *Summary) readFailureQueues(ctx context.Context, st *Stack) error {
	s.Failed, s.FailedSample = map[string]int{}, map[string]string{}
	for _, id := range failureQueues {
		url := st.QueueURLs[id]
		attrs, err := st.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			return fmt.Errorf("read queue %s: %w", id, err)
		}
		n := 0
		for _, k := range []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible} {
			v, _ := strconv.Atoi(attrs.Attributes[string(k)])
			n += v
		}
		if n == 0 {
			continue
		}
		s.Failed[id] = n
		out, err := st.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 1, VisibilityTimeout: 0})
		if err != nil {
			return fmt.Errorf("read queue %s: %w", id, err)
		}
		if len(out.Messages) > 0 {
			s.FailedSample[id] = snapkeep.Bound(aws.ToString(out.Messages[0].Body), maxSample)
		}
	}
	return nil
}

// secret is a value that must appear nowhere but where it is kept.
type secret struct {
	what, value string
	// home is the table (logical id) where it is stored on purpose.
	home string
}

// secrets are the accounts' tokens and the customers' and ops' webhook
// URLs (their paths: the secret part).
func (d *Demo) secrets() []secret {
	var out []secret
	for _, acct := range sortedKeys(d.Tokens) {
		out = append(out, secret{what: "the DigitalOcean token of " + acct, value: d.Tokens[acct]})
	}
	for _, c := range d.Fleet.Customers {
		if c.SlackPath != "" {
			out = append(out, secret{what: "the Slack webhook of " + c.CustomerID, value: c.SlackPath, home: dynamo.Customers.LogicalID})
		}
	}
	return append(out, secret{what: "the ops Slack webhook", value: OpsSlackPath})
}

// scanTable reads a table whole: it counts the items, keeps the runs,
// incidents and mailings, and looks for the secrets in every item.
func (s *Summary) scanTable(ctx context.Context, db *dynamodb.Client, id, name string, secrets []secret) error {
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(name), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("scan %s: %w", id, err)
		}
		s.Items[id] += len(page.Items)
		for _, item := range page.Items {
			if err := s.keep(id, item); err != nil {
				return err
			}
			var plain map[string]any
			if err := attributevalue.UnmarshalMap(item, &plain); err != nil {
				return fmt.Errorf("scan %s: %w", id, err)
			}
			b, _ := json.Marshal(plain)
			for _, sec := range secrets {
				if sec.home != id && strings.Contains(string(b), sec.value) {
					s.Leaks = append(s.Leaks, fmt.Sprintf("%s is in table %s", sec.what, id))
				}
			}
		}
	}
	return nil
}

// keep decodes the items the summary reads.
func (s *Summary) keep(id string, item map[string]types.AttributeValue) error {
	var err error
	switch id {
	case dynamo.Runs.LogicalID:
		var r snapkeep.Run
		if err = attributevalue.UnmarshalMap(item, &r); err == nil {
			s.Runs = append(s.Runs, r)
		}
	case dynamo.Incidents.LogicalID:
		var inc snapkeep.Incident
		if err = attributevalue.UnmarshalMap(item, &inc); err == nil {
			s.Incidents = append(s.Incidents, inc)
		}
	case dynamo.Mailings.LogicalID:
		var m dynamo.Mailing
		if err = attributevalue.UnmarshalMap(item, &m); err == nil {
			s.Mailings = append(s.Mailings, m)
		}
	case dynamo.APICalls.LogicalID:
		s.CallRows++
	}
	if err != nil {
		return fmt.Errorf("read an item of %s: %w", id, err)
	}
	return nil
}

// leaksIn looks for the secrets in the logs, the emails and the Slack
// messages.
func (s *Summary) leaksIn(secrets []secret, logs string) {
	for _, sec := range secrets {
		if strings.Contains(logs, sec.value) {
			s.Leaks = append(s.Leaks, sec.what+" is in the functions' logs")
		}
		for _, e := range s.Emails {
			if strings.Contains(e.Raw, sec.value) || strings.Contains(e.Decoded, sec.value) || strings.Contains(e.Text, sec.value) {
				s.Leaks = append(s.Leaks, fmt.Sprintf("%s is in the email %q", sec.what, e.Subject))
			}
		}
		for _, p := range s.Slack {
			if strings.Contains(p.Body, sec.value) {
				s.Leaks = append(s.Leaks, sec.what+" is in a Slack message")
			}
		}
		for id, body := range s.FailedSample {
			if strings.Contains(body, sec.value) {
				s.Leaks = append(s.Leaks, sec.what+" is in a message of "+id)
			}
		}
	}
}

// leaksInFile looks for the secrets in a file the demo wrote.
func (s *Summary) leaksInFile(secrets []secret, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for _, sec := range secrets {
		if strings.Contains(string(b), sec.value) {
			s.Leaks = append(s.Leaks, fmt.Sprintf("%s is in %s", sec.what, path))
		}
	}
	return nil
}

// CustomerEmails counts the customers' emails by kind.
func (s *Summary) CustomerEmails() map[string]int {
	out := map[string]int{}
	for _, e := range s.Emails {
		if e.Kind != "" {
			out[e.Kind]++
		}
	}
	return out
}

// OpsEmails counts ops' emails: alerts and resolutions.
func (s *Summary) OpsEmails() map[string]int {
	out := map[string]int{}
	for _, e := range s.Emails {
		if e.Kind == "" && contains(e.To, OpsAddress) {
			out[opsKind(e.Subject)]++
		}
	}
	return out
}

// opsKind tells an alert from a resolution by its subject (or Slack text):
// shared/escalation's ResolutionSubject begins with ResolvedPrefix.
func opsKind(subject string) string {
	if strings.HasPrefix(subject, escalation.ResolvedPrefix) {
		return opsResolution
	}
	return opsAlert
}

// CustomerSlack counts the customers' Slack messages by kind, from the
// notices the runs and the mailings record (a post carries no kind).
func (s *Summary) CustomerSlack() map[string]int {
	out := map[string]int{}
	sent := func(n snapkeep.Notice, ok bool) bool { return ok && n.ID != "" && n.Error == "" }
	for _, r := range s.Runs {
		if n, ok := r.Notices[snapkeep.ChannelSlack]; sent(n, ok) {
			out[string(n.Kind)]++
		}
	}
	for _, m := range s.Mailings {
		if n, ok := m.Notices[snapkeep.ChannelSlack]; sent(n, ok) {
			out[string(n.Kind)]++
		}
		if n, ok := m.Resolved[snapkeep.ChannelSlack]; sent(n, ok) {
			out[string(n.Kind)]++
		}
	}
	return out
}

// SlackPosts counts the fake Slack's posts: to customers (answered 200)
// and to ops, by kind.
func (s *Summary) SlackPosts() (customers int, ops map[string]int) {
	ops = map[string]int{}
	for _, p := range s.Slack {
		switch {
		case p.Path == OpsSlackPath:
			ops[opsKind(p.Text)]++
		case p.Status == 200:
			customers++
		}
	}
	return customers, ops
}

// Provider returns the incidents that alerted ops (not folded into
// another), by opening time.
func (s *Summary) Provider() []snapkeep.Incident {
	var out []snapkeep.Incident
	for _, inc := range s.Incidents {
		if inc.Kind == snapkeep.IncidentProvider && !strings.HasPrefix(inc.AlertID, errorrate.FoldedPrefix) {
			out = append(out, inc)
		}
	}
	return out
}

// Folded returns the provider incidents folded into another.
func (s *Summary) Folded() []snapkeep.Incident {
	var out []snapkeep.Incident
	for _, inc := range s.Incidents {
		if strings.HasPrefix(inc.AlertID, errorrate.FoldedPrefix) {
			out = append(out, inc)
		}
	}
	return out
}

// ResolvedWaiting counts the incident mailings whose resolved notice is
// still pending: it waits for each affected policy's next run.
func (s *Summary) ResolvedWaiting() int {
	n := 0
	for _, m := range s.Mailings {
		if m.Kind == snapkeep.NoticeIncident && m.Pending != "" && len(m.Resolved) == 0 {
			n++
		}
	}
	return n
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) || strings.Contains(strings.ToLower(v), "<"+strings.ToLower(s)+">") {
			return true
		}
	}
	return false
}

// minutes is the whole minutes from a to b.
func minutes(a, b time.Time) int { return int(b.Sub(a) / time.Minute) }
