package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// The sample events in events/notify (`sam local invoke NotifyFunction
// -e events/notify/<file>`): every file is one this test knows.
func TestSampleEventFiles(t *testing.T) {
	files, err := filepath.Glob("../../events/notify/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	if want := []string{"batch.json", "run-failed.json", "tick.json"}; !slices.Equal(names, want) {
		t.Errorf("events/notify holds %v, want %v (add a test for a new sample)", names, want)
	}
}

func loadSample(t *testing.T, name string) ([]byte, events.DynamoDBEvent) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("../../events/notify", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return raw, ev
}

// imageTime reads a time attribute of an image.
func imageTime(t *testing.T, img map[string]events.DynamoDBAttributeValue, name string) time.Time {
	t.Helper()
	v, ok := img[name]
	if !ok {
		t.Fatalf("image has no %s", name)
	}
	at, err := time.Parse(time.RFC3339, v.String())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return at
}

// The stream samples are what Lambda would deliver: every record passes
// the template's filter, sequence numbers grow, each record is stamped
// when its run finished, and the images' times are in order.
func TestSampleStreamEventsAreRealistic(t *testing.T) {
	f := notifyFilter(t)
	for _, name := range []string{"batch.json", "run-failed.json"} {
		_, ev := loadSample(t, name)
		prevSeq := ""
		for i, rec := range ev.Records {
			where := name + " record " + rec.EventID
			if ok, err := f.MatchRecord(rec); err != nil || !ok {
				t.Errorf("%s: does not pass the NotifyFunction filter (%v)", where, err)
			}
			seq := rec.Change.SequenceNumber
			if i > 0 && (len(seq) != len(prevSeq) || seq <= prevSeq) {
				t.Errorf("%s: sequence number %s not after %s", where, seq, prevSeq)
			}
			prevSeq = seq
			n, o := rec.Change.NewImage, rec.Change.OldImage
			fin := imageTime(t, n, "finished_at")
			if at := rec.Change.ApproximateCreationDateTime.UTC(); !at.Equal(fin) {
				t.Errorf("%s: stamped %v, but the run finished at %v", where, at, fin)
			}
			if up := imageTime(t, n, "updated_at"); !up.Equal(fin) || !imageTime(t, o, "updated_at").Before(up) {
				t.Errorf("%s: updated_at old %v new %v, want old before new = finished_at", where, imageTime(t, o, "updated_at"), up)
			}
			slot, claimed := imageTime(t, n, "scheduled_at"), imageTime(t, n, "claimed_at")
			if claimed.Before(slot) || !fin.After(claimed) || n["run_id"].String() != n["policy_id"].String()+"#"+n["scheduled_at"].String() {
				t.Errorf("%s: slot %v claimed %v finished %v run_id %s", where, slot, claimed, fin, n["run_id"].String())
			}
			if rec.Change.Keys["policy_id"].String() != n["policy_id"].String() || rec.Change.Keys["scheduled_at"].String() != n["scheduled_at"].String() {
				t.Errorf("%s: Keys %v do not match the image", where, rec.Change.Keys)
			}
		}
	}
}

// The multi-record sample batch through the handler, as `sam local invoke
// -e events/notify/batch.json` runs it (the raw JSON through
// aws-lambda-go), against moto seeded with its customers, policies and
// runs: the failures and the recovery are told, the poison record is
// logged, recorded on its run and skipped, and no record fails.
func TestSampleBatchThroughTheHandler(t *testing.T) {
	s := newStack(t, stackOptions{})
	raw, ev := loadSample(t, "batch.json")
	acme := s.customer("cust-acme", snapkeep.NotifyEveryFailure, "")
	beta := s.customer("cust-beta", snapkeep.NotifyEveryFailure, "")
	for _, rec := range ev.Records {
		item, err := dynamo.FromStreamImage(rec.Change.NewImage)
		if err != nil {
			t.Fatal(err)
		}
		// The item as stored, the poison record's bad attribute included.
		if _, err := s.env.DynamoDB.PutItem(s.ctx, &dynamodb.PutItemInput{TableName: aws.String(s.runs.Table), Item: item}); err != nil {
			t.Fatal(err)
		}
		var p snapkeep.Policy
		if err := dynamo.UnmarshalStreamImage(rec.Change.NewImage, &p.Resource); err != nil {
			t.Fatal(err)
		}
		p.PolicyID, p.CustomerID, p.AccountID = rec.Change.NewImage["policy_id"].String(), rec.Change.NewImage["customer_id"].String(), rec.Change.NewImage["account_id"].String()
		p.Schedule, p.TimeZone, p.Enabled, p.KeepLast = "cron(0 * * * ? *)", "Europe/Berlin", true, 7
		if p.Kind == snapkeep.ResourceVolume {
			p.Schedule = "cron(0 2 * * ? *)"
		}
		if err := s.policies.Put(s.ctx, &p); err != nil {
			t.Fatal(err)
		}
	}
	s.clock.Set(time.Date(2026, 11, 24, 8, 0, 36, 0, time.UTC))
	out, err := s.invoke(s.ctx, raw)
	if err != nil {
		t.Fatalf("Invoke: %v\n%s", err, s.logs)
	}
	if string(out) != `{"batchItemFailures":[]}` {
		t.Errorf("response %s, want no failed record", out)
	}
	kinds := func(c *snapkeep.Customer) []string {
		var k []string
		for _, m := range s.mails(c.Email) {
			k = append(k, m.header("X-Snapkeep-Kind")+" "+m.header("X-Snapkeep-Run"))
		}
		slices.Sort(k)
		return k
	}
	if got, want := kinds(acme), []string{"failure pol-web-1#2026-11-24T07:30:00Z", "recovery pol-api-1#2026-11-24T07:00:00Z"}; !slices.Equal(got, want) {
		t.Errorf("acme's emails %v, want %v", got, want)
	}
	if got, want := kinds(beta), []string{"failure pol-db-1#2026-11-24T02:00:00Z"}; !slices.Equal(got, want) {
		t.Errorf("beta's emails %v, want %v", got, want)
	}
	item, err := s.env.DynamoDB.GetItem(s.ctx, &dynamodb.GetItemInput{TableName: aws.String(s.runs.Table),
		Key: map[string]types.AttributeValue{"policy_id": str("pol-cache-1"), "scheduled_at": str("2026-11-24T07:30:00Z")}})
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
		t.Errorf("poison run's notice %+v, want why it could not be read", n)
	}
	if !strings.Contains(s.logs.String(), `"msg":"Runs stream record cannot be read; skipped"`) {
		t.Errorf("the poison record is not logged:\n%s", s.logs)
	}

	// The tick sample.
	tick, err := os.ReadFile("../../events/notify/tick.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err = s.invoke(s.ctx, tick)
	if err != nil || string(out) != `{"digests":0,"resolved":0,"waiting":0,"failed":0}` {
		t.Errorf("tick sample: %s, %v", out, err)
	}
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
