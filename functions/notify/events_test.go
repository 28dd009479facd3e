package main

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/events/sample"
	"github.com/snapkeep/snapkeep/infra/triggers"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// The samples in events/notify (`sam local invoke NotifyFunction -e
// events/notify/<file> --env-vars events/env.json`) are built here (go
// test ./functions/notify -update rewrites them): the runs of Tuesday 24
// November 2026 on the local stage written by the real dynamo.RunStore as
// the run path writes them, and the Runs stream's records of them that
// the NotifyFunction mapping's filter lets through, in its batches.

func at(h, m, s, ms int) time.Time {
	return time.Date(2026, 11, 24, h, m, s, ms*1e6, time.UTC)
}

// notifySamples is what the samples are made of: each sample's event,
// and the Runs table as the run path left it (the runs the handler reads
// back: a recovery's history, the runs it records notices on).
type notifySamples struct {
	events map[string]any
	runs   []map[string]types.AttributeValue
}

func buildNotifySamples(t *testing.T, tpl *triggers.Template) notifySamples {
	tables := sample.NewTables(at(0, 0, 0, 0).AddDate(0, 0, -1))
	f := sample.NewFleet(t, tables)
	src := sample.Source(t, "NotifyFunction", "RunsStream")
	deliver := func(until time.Time) events.DynamoDBEvent {
		return events.DynamoDBEvent{Records: sample.Deliver(t, src, tables.Take(dynamo.Runs.LogicalID, until))}
	}

	// Yesterday's 07:30 slot of Stark's volume failed: today's is a
	// recovery.
	yesterday := f.Claim(sample.Policy("pol-stark-vol"), at(7, 30, 0, 0).AddDate(0, 0, -1), at(7, 33, 40, 118).AddDate(0, 0, -1), snapkeep.RunSucceeded, 0)
	yesterday.FailRetrying(at(7, 33, 40, 170).AddDate(0, 0, -1), sample.ServerError)
	// The night: Acme's nightly volume (02:00 in Berlin) fails on Server
	// Errors for its whole slot window; Initech's database droplet starts
	// its snapshot a minute after its slot (its deadline is six hours
	// after the claim).
	nightly := f.Claim(sample.Policy("pol-acme-db-nightly"), at(1, 0, 0, 0), at(1, 4, 12, 334), snapkeep.RunSucceeded, 0)
	nightly.FailRetrying(at(1, 4, 12, 390), sample.ServerError)
	initech := f.Claim(sample.Policy("pol-initech-db"), at(1, 30, 0, 0), at(1, 31, 12, 20), snapkeep.RunSucceeded, 0)
	initech.StartDroplet(at(1, 31, 12, 80), 2318577031)

	// 07:31: the 07:00 slots of Acme's and Globex's droplets fail at the
	// end of their slot windows (claimed late in Scheduler's flexible
	// window), Dunder's droplet is gone, Initech's snapshot is still
	// running at its deadline, Stark's volume is snapshotted again.
	acme := f.Claim(sample.Policy("pol-acme-web-hourly"), at(7, 0, 0, 0), at(7, 7, 58, 412), snapkeep.RunSucceeded, 2325)
	acme.FailRetrying(at(7, 7, 58, 470), sample.ServerError)
	globex := f.Claim(sample.Policy("pol-globex-app-hourly"), at(7, 0, 0, 0), at(7, 8, 0, 96), snapkeep.RunSucceeded, 0)
	globex.FailRetrying(at(7, 8, 0, 150), sample.ServerError)
	dunder := f.Claim(sample.Policy("pol-dunder-files"), at(7, 30, 0, 0), at(7, 31, 11, 803), snapkeep.RunSucceeded, 0)
	dunder.FailNow(at(7, 31, 11, 860), sample.NotFound)
	initech.Follow(time.Time{}, "", 0)
	stark := f.Claim(sample.Policy("pol-stark-vol"), at(7, 30, 0, 0), at(7, 31, 12, 911), snapkeep.RunFailed, 0)
	stark.SnapshotVolume(at(7, 31, 12, 960), "6a0e5b2c-aa4f-11f1-a7d3-0a58ac14c5d6", 10, "d41c7e90-a0b5-11f1-8e2a-0a58ac14c5d6")

	// 08:31: Acme's 08:00 slot fails again; a support script failed
	// Hooli's stuck 08:30 run by hand (PutItem), writing attempts as
	// text; Initech's web droplet fails too.
	acme8 := f.Claim(sample.Policy("pol-acme-web-hourly"), at(8, 0, 0, 0), at(8, 8, 10, 507), snapkeep.RunFailed, 2325)
	acme8.FailRetrying(at(8, 8, 10, 560), sample.ServerError)
	hooli := f.Claim(sample.Policy("pol-hooli-api"), at(8, 30, 0, 0), at(8, 30, 41, 220), snapkeep.RunSucceeded, 0)
	web := f.Claim(sample.Policy("pol-initech-web"), at(8, 0, 0, 0), at(8, 8, 13, 640), snapkeep.RunSucceeded, 0)
	web.FailRetrying(at(8, 8, 13, 700), sample.ServerError)
	failByHand(t, tables, hooli, at(8, 31, 22, 412))

	out := notifySamples{events: map[string]any{}}
	deliver(at(1, 0, 0, 0))
	out.events["run-failed.json"] = deliver(at(2, 0, 0, 0))
	deliver(at(7, 31, 0, 0))
	out.events["batch.json"] = deliver(at(7, 32, 0, 0))
	deliver(at(8, 31, 0, 0))
	out.events["poison.json"] = deliver(at(8, 32, 0, 0))
	for _, s := range tpl.Schedules {
		if s.Function == "NotifyFunction" && s.Event == "Tick" {
			out.events["tick.json"] = json.RawMessage(s.Input)
		}
	}
	for _, l := range []*sample.Life{yesterday, nightly, initech, acme, globex, dunder, stark, acme8, hooli, web} {
		out.runs = append(out.runs, tables.Item(dynamo.Runs.LogicalID, l.Run.PolicyID, l.Run.ScheduledAt.Format(time.RFC3339)))
	}
	return out
}

// failByHand is the support script: it ends l's run failed with a
// PutItem around the store, its attempts written as text.
func failByHand(t *testing.T, tables *sample.Tables, l *sample.Life, when time.Time) {
	t.Helper()
	l.Terminate(when, snapkeep.RunFailed, snapkeep.ClassInternal, "failed by support: the run was stuck after a lost follow-up")
	l.Run.UpdatedAt = when
	item, err := attributevalue.MarshalMap(l.Run)
	if err != nil {
		t.Fatal(err)
	}
	item["attempts"] = &types.AttributeValueMemberS{Value: "2"}
	tables.Now = when.Add(sample.WriteLatency)
	if _, err := tables.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(sample.TableName(dynamo.Runs.LogicalID)), Item: item}); err != nil {
		t.Fatal(err)
	}
}

// TestSampleEvents checks every sample in events/notify against the code
// that builds it; the tick is the template's Tick input.
func TestSampleEvents(t *testing.T) {
	tpl, err := triggers.ReadTemplate(sample.TemplatePath(t), sample.Stage)
	if err != nil {
		t.Fatal(err)
	}
	built := buildNotifySamples(t, tpl).events
	names := slices.Sorted(maps.Keys(built))
	for _, name := range names {
		sample.Golden(t, "notify/"+name, built[name])
	}
	if got := sample.Files(t, "notify"); !slices.Equal(got, names) {
		t.Errorf("events/notify holds %v, this test builds %v", got, names)
	}
	for name, n := range map[string]int{"run-failed.json": 1, "batch.json": 5, "poison.json": 3} {
		var ev events.DynamoDBEvent
		sample.Decode(t, "notify/"+name, &ev)
		if len(ev.Records) != n {
			t.Errorf("%s has %d records, want %d", name, len(ev.Records), n)
		}
	}
}

// seededStack is the notify function on moto with the samples' customers
// (every one told of every failure), policies and runs.
func seededStack(t *testing.T) (*stack, map[string]*snapkeep.Customer) {
	t.Helper()
	tpl, err := triggers.ReadTemplate(sample.TemplatePath(t), sample.Stage)
	if err != nil {
		t.Fatal(err)
	}
	s := newStack(t, stackOptions{})
	customers := map[string]*snapkeep.Customer{}
	for _, item := range buildNotifySamples(t, tpl).runs {
		if _, err := s.env.DynamoDB.PutItem(s.ctx, &dynamodb.PutItemInput{TableName: aws.String(s.runs.Table), Item: item}); err != nil {
			t.Fatal(err)
		}
		var key struct {
			PolicyID string `dynamodbav:"policy_id"`
		}
		if err := attributevalue.UnmarshalMap(item, &key); err != nil {
			t.Fatal(err)
		}
		p := sample.Policy(key.PolicyID)
		if err := s.policies.Put(s.ctx, p); err != nil {
			t.Fatal(err)
		}
		if customers[p.CustomerID] == nil {
			customers[p.CustomerID] = s.customer(p.CustomerID, snapkeep.NotifyEveryFailure, "")
		}
	}
	return s, customers
}

// told is what each customer was emailed: "kind run", sorted.
func told(s *stack, customers map[string]*snapkeep.Customer) map[string][]string {
	out := map[string][]string{}
	for id, c := range customers {
		for _, m := range s.mails(c.Email) {
			out[id] = append(out[id], m.header("X-Snapkeep-Kind")+" "+m.header("X-Snapkeep-Run"))
		}
		slices.Sort(out[id])
	}
	return out
}

// The samples through the handler, as `sam local invoke -e` runs them
// (the raw JSON through aws-lambda-go), against moto seeded with the
// samples' runs, policies and customers: each failure and the recovery
// told once, the poison record logged, recorded on its run and skipped
// with no record failed, the tick answered.
func TestSampleBatchesThroughTheHandler(t *testing.T) {
	s, customers := seededStack(t)
	for _, step := range []struct {
		file string
		now  time.Time
	}{{"run-failed.json", at(1, 27, 40, 0)}, {"batch.json", at(7, 31, 20, 0)}, {"poison.json", at(8, 31, 28, 0)}} {
		s.clock.Set(step.now)
		out, err := s.invoke(s.ctx, sample.Read(t, "notify/"+step.file))
		if err != nil {
			t.Fatalf("%s: Invoke: %v\n%s", step.file, err, s.logs)
		}
		if string(out) != `{"batchItemFailures":[]}` {
			t.Errorf("%s: response %s, want no failed record", step.file, out)
		}
	}
	want := map[string][]string{
		"cust-acme": {"failure pol-acme-db-nightly#2026-11-24T01:00:00Z", "failure pol-acme-web-hourly#2026-11-24T07:00:00Z",
			"failure pol-acme-web-hourly#2026-11-24T08:00:00Z"},
		"cust-globex":  {"failure pol-globex-app-hourly#2026-11-24T07:00:00Z"},
		"cust-dunder":  {"failure pol-dunder-files#2026-11-24T07:30:00Z"},
		"cust-initech": {"failure pol-initech-db#2026-11-24T01:30:00Z", "failure pol-initech-web#2026-11-24T08:00:00Z"},
		"cust-stark":   {"recovery pol-stark-vol#2026-11-24T07:30:00Z"},
	}
	got := told(s, customers)
	for id := range customers {
		if !slices.Equal(got[id], want[id]) {
			t.Errorf("%s was told %v, want %v", id, got[id], want[id])
		}
	}

	item, err := s.env.DynamoDB.GetItem(s.ctx, &dynamodb.GetItemInput{TableName: aws.String(s.runs.Table),
		Key: map[string]types.AttributeValue{"policy_id": &types.AttributeValueMemberS{Value: "pol-hooli-api"},
			"scheduled_at": &types.AttributeValueMemberS{Value: "2026-11-24T08:30:00Z"}}})
	if err != nil {
		t.Fatal(err)
	}
	var poison struct {
		Notices map[string]snapkeep.Notice `dynamodbav:"notices"`
	}
	if err := attributevalue.UnmarshalMap(item.Item, &poison); err != nil {
		t.Fatal(err)
	}
	if n := poison.Notices[snapkeep.ChannelEmail]; !strings.Contains(n.Error, "could not be read") || !strings.Contains(n.Error, "attempts") || n.ID != "" {
		t.Errorf("the poison run's notice %+v, want why it could not be read", n)
	}
	if !strings.Contains(s.logs.String(), `"msg":"Runs stream record cannot be read; skipped"`) {
		t.Errorf("the poison record is not logged:\n%s", s.logs)
	}

	out, err := s.invoke(s.ctx, sample.Read(t, "notify/tick.json"))
	if err != nil || string(out) != `{"digests":0,"resolved":0,"waiting":0,"failed":0}` {
		t.Errorf("tick sample: %s, %v", out, err)
	}
}

// TestEnvFile: events/env.json's NotifyFunction settings load and are
// the ones the function reads.
func TestEnvFile(t *testing.T) {
	sample.CheckEnv(t, "NotifyFunction", func(getenv func(string) string) error {
		_, err := loadSettings(getenv)
		return err
	})
}
