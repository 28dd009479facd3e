package sample

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func TestApply(t *testing.T) {
	names := map[string]string{"#a": "schedule", "#c": "created_at", "#r": "invalid_reason"}
	values := map[string]types.AttributeValue{":a": s("cron(0 2 * * ? *)"), ":c": s("2026-11-24T09:14:05Z")}
	tests := []struct {
		name, expr string
		item, want map[string]types.AttributeValue
		wantErr    bool
	}{
		{"set", "SET #a = :a", map[string]types.AttributeValue{}, map[string]types.AttributeValue{"schedule": s("cron(0 2 * * ? *)")}, false},
		{"if_not_exists keeps", "SET #c = if_not_exists(#c, :c)", map[string]types.AttributeValue{"created_at": s("2026-11-17T08:02:44Z")},
			map[string]types.AttributeValue{"created_at": s("2026-11-17T08:02:44Z")}, false},
		{"if_not_exists sets", "SET #a = :a, #c = if_not_exists(#c, :c)", map[string]types.AttributeValue{},
			map[string]types.AttributeValue{"schedule": s("cron(0 2 * * ? *)"), "created_at": s("2026-11-24T09:14:05Z")}, false},
		{"set and remove", "SET #a = :a REMOVE #r", map[string]types.AttributeValue{"invalid_reason": s("bad zone")},
			map[string]types.AttributeValue{"schedule": s("cron(0 2 * * ? *)")}, false},
		{"remove only", "REMOVE #r", map[string]types.AttributeValue{"invalid_reason": s("bad zone")}, map[string]types.AttributeValue{}, false},
		{"unknown name", "SET #z = :a", map[string]types.AttributeValue{}, nil, true},
		{"unknown value", "SET #a = :z", map[string]types.AttributeValue{}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := apply(tt.item, tt.expr, names, values)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			got, _ := json.Marshal(Image(tt.item))
			want, _ := json.Marshal(Image(tt.want))
			if string(got) != string(want) {
				t.Errorf("item %s, want %s", got, want)
			}
		})
	}
}

// TestTablesStream: a write that changes an item streams INSERT, MODIFY or
// REMOVE with the view type's images; one that changes nothing streams
// nothing; Take gives records in time order whatever the order of the
// writes to different items.
func TestTablesStream(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	tb := NewTables(start)
	table := aws.String(TableName("PoliciesTable"))
	put := func(at time.Time, id, schedule string) {
		t.Helper()
		tb.Now = at
		if _, err := tb.PutItem(ctx, &dynamodb.PutItemInput{TableName: table,
			Item: map[string]types.AttributeValue{"policy_id": s(id), "schedule": s(schedule)}}); err != nil {
			t.Fatal(err)
		}
	}
	put(start.Add(3*time.Second), "pol-b", "cron(0 1 * * ? *)")
	put(start.Add(time.Second), "pol-a", "cron(0 2 * * ? *)")
	put(start.Add(4*time.Second), "pol-a", "cron(0 2 * * ? *)") // unchanged
	put(start.Add(5*time.Second), "pol-a", "cron(0 3 * * ? *)")
	tb.Now = start.Add(6 * time.Second)
	if _, err := tb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: map[string]types.AttributeValue{"policy_id": s("pol-b")}}); err != nil {
		t.Fatal(err)
	}
	tb.Now = start.Add(2 * time.Second)
	if _, err := tb.PutItem(ctx, &dynamodb.PutItemInput{TableName: table,
		Item: map[string]types.AttributeValue{"policy_id": s("pol-a"), "schedule": s("rate(1 hour)")}}); err == nil {
		t.Error("a write to pol-a before its last one was accepted")
	}
	recs := tb.Take("PoliciesTable", start.Add(time.Minute))
	var got []string
	for _, r := range recs {
		got = append(got, r.EventName+" "+r.Change.Keys["policy_id"].String()+" "+r.Change.ApproximateCreationDateTime.UTC().Format("15:04:05"))
		if (r.Change.OldImage != nil) != (r.EventName != "INSERT") || (r.Change.NewImage != nil) != (r.EventName != "REMOVE") {
			t.Errorf("%s %s: old image %v, new image %v", r.EventName, r.EventID, r.Change.OldImage != nil, r.Change.NewImage != nil)
		}
	}
	want := []string{"INSERT pol-a 09:00:01", "INSERT pol-b 09:00:03", "MODIFY pol-a 09:00:05", "REMOVE pol-b 09:00:06"}
	if len(got) != len(want) {
		t.Fatalf("records %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d is %s, want %s", i, got[i], want[i])
		}
		if i > 0 && recs[i].Change.SequenceNumber <= recs[i-1].Change.SequenceNumber {
			t.Errorf("sequence number %s not after %s", recs[i].Change.SequenceNumber, recs[i-1].Change.SequenceNumber)
		}
	}
	if again := tb.Take("PoliciesTable", start.Add(time.Minute)); len(again) != 0 {
		t.Errorf("a second Take gave %d records again", len(again))
	}
}
