package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/snapkeep/snapkeep/infra/awslocal"
	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/infra/local"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/email"
	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// TestMain runs the package's tests against one moto_server (started here,
// or the one at $SNAPKEEP_AWS_ENDPOINT); without moto it fails with how to
// install it.
func TestMain(m *testing.M) { awstest.Main(m) }

// The integration rig: moto's tables, SES and on-failure queue; the real
// handler wired as main wires it (on a virtual clock); and infra/local's
// Deliverers, which hand it the ApiCalls and Runs stream records the way
// template.yaml's event source mappings say (batch sizes, filters,
// 60-second tumbling windows with state, final invocations, retries,
// partial batch responses, the on-failure queue).

// stackT0 is the virtual clock's start (a UTC midnight).
var stackT0 = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

// stack is one test's local stack.
type stack struct {
	t       *testing.T
	env     *awstest.Env
	now     time.Time
	h       *Handler
	calls   *local.Deliverer
	runs    *local.Deliverer
	store   *dynamo.APICallStore
	runDB   *dynamo.RunStore
	stats   *dynamo.StatsStore
	ops     string
	queue   string
	metrics bytes.Buffer
	// want is every call row written, counted as the detector should.
	want *errorrate.Aggregate
	rng  *rand.Rand
	seq  int
}

func newStack(t *testing.T, seed uint64) *stack {
	t.Helper()
	ctx := context.Background()
	env := awstest.New(t)
	s := &stack{t: t, env: env, now: stackT0, want: errorrate.NewAggregate(), rng: rand.New(rand.NewPCG(seed, seed^0x5eed))}
	sender := env.Prefix + "alerts@snapkeep.example"
	s.ops = env.Prefix + "ops@snapkeep.example"
	env.VerifySender(t, sender)
	s.queue, _ = env.CreateQueue(t, env.Prefix+"stream-failures")
	st := settings{
		statsTable: env.TableName(dynamo.Stats), incidentsTable: env.TableName(dynamo.Incidents),
		runsTable: env.TableName(dynamo.Runs), callsTable: env.TableName(dynamo.APICalls),
		sender: email.Address{Name: "Snapkeep", Email: sender}, ops: email.Address{Email: s.ops},
		retention: dynamo.DefaultStatsRetention,
	}
	h, err := wire(st, deps{DynamoDB: env.DynamoDB, SES: env.SESv2(), Metrics: &s.metrics,
		Now: func() time.Time { return s.now }, Sleep: func(context.Context, time.Duration) error { return nil }}, discard)
	if err != nil {
		t.Fatal(err)
	}
	s.h = h
	s.store = &dynamo.APICallStore{Client: env.DynamoDB, Table: st.callsTable}
	s.runDB = &dynamo.RunStore{Client: env.DynamoDB, Table: st.runsTable, CallsTable: st.callsTable, Logger: discard}
	s.stats = &dynamo.StatsStore{Client: env.DynamoDB, Table: st.statsTable, Logger: discard}
	srcs, err := local.Sources("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	deliverer := func(event, table string) *local.Deliverer {
		src, err := local.FindSource(srcs, "ErrorRateFunction", event)
		if err != nil {
			t.Fatal(err)
		}
		d, err := local.New(ctx, local.Config{Source: src, Stream: local.NewTableStream(env.Config, table),
			Invoke: h.Invoke, SQS: env.SQS(), OnFailureQueueURL: s.queue})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	s.calls = deliverer("ApiCallsStream", st.callsTable)
	s.runs = deliverer("RunsStream", st.runsTable)
	return s
}

// Traffic of the simulated fleet: 60 droplets of 12 accounts in two
// regions; each minute about 20 snapshot requests, 30 action polls and 10
// snapshot listings.
var ops = []struct {
	op      snapkeep.Operation
	perMin  int
	method  string
	pathFmt string
}{
	{snapkeep.OpSnapshotDroplet, 20, "POST", "/v2/droplets/%d/actions"},
	{snapkeep.OpGetAction, 30, "GET", "/v2/actions/%d"},
	{snapkeep.OpListSnapshots, 10, "GET", "/v2/droplets/%d/snapshots"},
}

// seedBaseline writes 30 days of daily roll-ups at a 0.05% failure rate
// for every dimension the traffic has.
func (s *stack) seedBaseline() {
	ctx := context.Background()
	perDay := map[snapkeep.Dimension]int64{"all": 60 * 1440, "region:nyc3": 30 * 1440, "region:ams3": 30 * 1440}
	for _, o := range ops {
		perDay[snapkeep.OperationDimension(o.op)] = int64(o.perMin * 1440)
	}
	for dim, calls := range perDay {
		for d := 1; d <= 30; d++ {
			c := errorrate.Counts{Calls: calls, Failures: calls * 5 / 10000}
			if err := s.stats.PutDaily(ctx, dim, errorrate.DayCounts{Day: stackT0.AddDate(0, 0, -d), Counts: c}); err != nil {
				s.t.Fatal(err)
			}
		}
	}
}

// traffic writes minute m's ApiCalls rows (snapshot_droplet failing at
// rate p, everything else at the baseline) through the store, as the
// snapshot function does after each step.
func (s *stack) traffic(m int, p float64) {
	s.t.Helper()
	var rows []snapkeep.APICall
	for _, o := range ops {
		for i := 0; i < o.perMin; i++ {
			drop := s.rng.IntN(60)
			rate := 0.0005
			if o.op == snapkeep.OpSnapshotDroplet {
				rate = p
			}
			s.seq++
			c := snapkeep.APICall{
				RunID: fmt.Sprintf("pol-%02d#%s", drop, stackT0.Add(time.Duration(m)*time.Minute).Format(time.RFC3339)), Seq: s.seq,
				PolicyID: fmt.Sprintf("pol-%02d", drop), ResourceKey: fmt.Sprintf("droplet:%d", 3164400+drop),
				Region: []string{"nyc3", "ams3"}[drop%2], AccountID: fmt.Sprintf("acct-%02d", drop%12), Host: "api.digitalocean.com",
				Operation: o.op, Attempt: 1, Method: o.method, Path: fmt.Sprintf(o.pathFmt, 3164400+drop),
				RequestHeaders: map[string]string{"authorization": snapkeep.Redacted, "user-agent": "snapkeep/1.0"},
				StartedAt:      stackT0.Add(time.Duration(m)*time.Minute + time.Duration(s.rng.IntN(59000))*time.Millisecond),
				DurationMS:     int64(80 + s.rng.IntN(200)), StatusCode: 200,
				ExpiresAt: stackT0.Add(90 * 24 * time.Hour).Unix(),
			}
			c.ProviderRequestID = fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", s.rng.Uint32(), s.seq%65536, m%4096, i, s.rng.Uint64()&0xffffffffffff)
			c.ResponseHeaders = map[string]string{"x-request-id": c.ProviderRequestID, "ratelimit-remaining": "4800", "content-type": "application/json"}
			if s.rng.Float64() < rate {
				c.StatusCode, c.Class, c.ErrorID, c.ErrorMessage = 500, snapkeep.ClassProviderError, "server_error", "Server Error"
				c.FailureHour = c.StartedAt.Format(snapkeep.FailureHourFormat)
			}
			rows = append(rows, c)
			if err := s.want.Add(&c); err != nil {
				s.t.Fatal(err)
			}
		}
	}
	if err := s.store.Put(context.Background(), rows); err != nil {
		s.t.Fatalf("minute %d: put calls: %v", m, err)
	}
}

// finishRun writes a run that ended in minute m (an INSERT of a terminal
// run, which the Runs mapping's filter lets through).
func (s *stack) finishRun(m, i int, status snapkeep.RunStatus, class snapkeep.ErrorClass) {
	s.t.Helper()
	slot := stackT0.Add(time.Duration(m) * time.Minute)
	fin := slot.Add(50 * time.Second)
	r := &snapkeep.Run{PolicyID: fmt.Sprintf("pol-%02d", i), ScheduledAt: slot, CustomerID: fmt.Sprintf("cust-%02d", i),
		ResourceKey: fmt.Sprintf("droplet:%d", 3164400+i), Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: fmt.Sprint(3164400 + i), Region: "nyc3"},
		Trigger: snapkeep.TriggerScheduled, Status: status, ErrorClass: class, FinishedAt: &fin, ClaimedAt: slot, UpdatedAt: fin}
	r.RunID = r.Key().RunID()
	if err := s.runDB.Claim(context.Background(), r); err != nil {
		s.t.Fatalf("run %s: %v", r.RunID, err)
	}
}

// minute moves the clock through virtual minute c: ticks of the
// Deliverers at :00 and :40 and the one-minute evaluation at :30.
func (s *stack) minute(c int) {
	s.t.Helper()
	ctx := context.Background()
	for _, sec := range []int{0, 30, 40} {
		s.now = stackT0.Add(time.Duration(c)*time.Minute + time.Duration(sec)*time.Second)
		if sec == 30 {
			if _, err := s.h.Invoke(ctx, []byte(`{"evaluate": true}`)); err != nil {
				s.t.Fatalf("minute %d: evaluate: %v", c, err)
			}
			continue
		}
		for _, d := range []*local.Deliverer{s.calls, s.runs} {
			if err := d.Tick(ctx, s.now); err != nil {
				s.t.Fatalf("minute %d: deliver: %v", c, err)
			}
		}
	}
}

// counted reads back the Stats minute counts of every dimension the
// traffic has, over the first m minutes.
func (s *stack) counted(m int) map[string]string {
	s.t.Helper()
	out := map[string]string{}
	dims := map[snapkeep.Dimension]bool{}
	for _, k := range s.want.Keys() {
		dims[k.Dimension] = true
	}
	for dim := range dims {
		agg, err := s.stats.MinuteCounts(context.Background(), dim, stackT0, stackT0.Add(time.Duration(m)*time.Minute))
		if err != nil {
			s.t.Fatal(err)
		}
		for _, k := range agg.Keys() {
			out[k.String()] = fmt.Sprint(agg.Get(k))
		}
	}
	return out
}

// expect is the same from what was written.
func (s *stack) expect(m int) map[string]string {
	out := map[string]string{}
	for _, k := range s.want.Keys() {
		if k.Minute.Before(stackT0.Add(time.Duration(m) * time.Minute)) {
			out[k.String()] = fmt.Sprint(s.want.Get(k))
		}
	}
	return out
}

// onFailure receives what the on-failure queue holds.
func (s *stack) onFailure() []local.OnFailureRecord {
	s.t.Helper()
	out, err := s.env.SQS().ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(s.queue), MaxNumberOfMessages: 10})
	if err != nil {
		s.t.Fatal(err)
	}
	var recs []local.OnFailureRecord
	for _, m := range out.Messages {
		var r local.OnFailureRecord
		if err := jsonUnmarshal([]byte(aws.ToString(m.Body)), &r); err != nil {
			s.t.Fatalf("on-failure record %s: %v", aws.ToString(m.Body), err)
		}
		recs = append(recs, r)
	}
	return recs
}

// putPoison writes an ApiCalls row around the store whose started_at is
// not a time (an image that does not decode).
func (s *stack) putPoison(m int) {
	s.t.Helper()
	_, err := s.env.DynamoDB.PutItem(context.Background(), &dynamodb.PutItemInput{
		TableName: aws.String(s.store.Table),
		Item: map[string]types.AttributeValue{
			"run_id":     &types.AttributeValueMemberS{Value: fmt.Sprintf("pol-poison#%d", m)},
			"seq":        &types.AttributeValueMemberN{Value: "1"},
			"started_at": &types.AttributeValueMemberS{Value: "half past six"},
			"operation":  &types.AttributeValueMemberS{Value: "get_action"},
		},
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// readEmail decodes a raw MIME message into its subject and leaf parts.
func readEmail(t *testing.T, raw string) (subject string, parts []awslocal.Part) {
	t.Helper()
	msg, err := awslocal.ReadRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	return msg.Subject, msg.Parts
}

// scanIncidents reads every incident (a test may scan; the code never does).
func (s *stack) scanIncidents(t *testing.T) []snapkeep.Incident {
	t.Helper()
	out, err := s.env.DynamoDB.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(s.env.TableName(dynamo.Incidents))})
	if err != nil {
		t.Fatal(err)
	}
	var incs []snapkeep.Incident
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &incs); err != nil {
		t.Fatal(err)
	}
	return incs
}
