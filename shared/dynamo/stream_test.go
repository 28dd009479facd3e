package dynamo_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// streamValueCases pairs each DynamoDB data type as Lambda delivers it with
// the SDK attribute value it must become.
var streamValueCases = []struct {
	name string
	in   events.DynamoDBAttributeValue
	want types.AttributeValue
}{
	{"S", events.NewStringAttribute("pol_1"), &types.AttributeValueMemberS{Value: "pol_1"}},
	{"S empty", events.NewStringAttribute(""), &types.AttributeValueMemberS{Value: ""}},
	{"N integer", events.NewNumberAttribute("42"), &types.AttributeValueMemberN{Value: "42"}},
	{"N keeps its text", events.NewNumberAttribute("-1.50E+3"), &types.AttributeValueMemberN{Value: "-1.50E+3"}},
	{"B", events.NewBinaryAttribute([]byte{0, 1, 0xff}), &types.AttributeValueMemberB{Value: []byte{0, 1, 0xff}}},
	{"BOOL true", events.NewBooleanAttribute(true), &types.AttributeValueMemberBOOL{Value: true}},
	{"BOOL false", events.NewBooleanAttribute(false), &types.AttributeValueMemberBOOL{Value: false}},
	{"NULL", events.NewNullAttribute(), &types.AttributeValueMemberNULL{Value: true}},
	{"L mixed", events.NewListAttribute([]events.DynamoDBAttributeValue{
		events.NewStringAttribute("a"), events.NewNumberAttribute("1"), events.NewNullAttribute(),
		events.NewListAttribute([]events.DynamoDBAttributeValue{events.NewBooleanAttribute(true)}),
	}), &types.AttributeValueMemberL{Value: []types.AttributeValue{
		&types.AttributeValueMemberS{Value: "a"}, &types.AttributeValueMemberN{Value: "1"}, &types.AttributeValueMemberNULL{Value: true},
		&types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberBOOL{Value: true}}},
	}}},
	{"L empty", events.NewListAttribute([]events.DynamoDBAttributeValue{}), &types.AttributeValueMemberL{Value: []types.AttributeValue{}}},
	{"M nested", events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{
		"kept":    events.NewNumberAttribute("7"),
		"deleted": events.NewListAttribute([]events.DynamoDBAttributeValue{events.NewStringAttribute("snap-1")}),
		"inner":   events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{"b": events.NewBinaryAttribute([]byte("x"))}),
	}), &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"kept":    &types.AttributeValueMemberN{Value: "7"},
		"deleted": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "snap-1"}}},
		"inner":   &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"b": &types.AttributeValueMemberB{Value: []byte("x")}}},
	}}},
	{"M empty", events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{}), &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}},
	{"SS is a set, not a list", events.NewStringSetAttribute([]string{"a", "b"}), &types.AttributeValueMemberSS{Value: []string{"a", "b"}}},
	{"NS is a set of numbers", events.NewNumberSetAttribute([]string{"1", "2.5"}), &types.AttributeValueMemberNS{Value: []string{"1", "2.5"}}},
	{"BS is a set of binaries", events.NewBinarySetAttribute([][]byte{{1}, {2, 3}}), &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2, 3}}}},
}

func TestFromStreamImage(t *testing.T) {
	for _, tc := range streamValueCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dynamo.FromStreamImage(map[string]events.DynamoDBAttributeValue{"a": tc.in})
			if err != nil {
				t.Fatalf("FromStreamImage: %v", err)
			}
			if want := map[string]types.AttributeValue{"a": tc.want}; !reflect.DeepEqual(got, want) {
				t.Errorf("FromStreamImage = %s, want %s", show(got["a"]), show(tc.want))
			}
		})
	}
}

func TestToStreamImage(t *testing.T) {
	for _, tc := range streamValueCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dynamo.ToStreamImage(map[string]streamtypes.AttributeValue{"a": toStreamsValue(t, tc.want)})
			if err != nil {
				t.Fatalf("ToStreamImage: %v", err)
			}
			// Compare as Lambda's JSON: that is what a handler receives.
			if g, w := mustJSON(t, got["a"]), mustJSON(t, tc.in); g != w {
				t.Errorf("ToStreamImage = %s, want %s", g, w)
			}
			if got["a"].DataType() != tc.in.DataType() {
				t.Errorf("data type %d, want %d", got["a"].DataType(), tc.in.DataType())
			}
		})
	}
}

func TestStreamImageNil(t *testing.T) {
	// A REMOVE record has no NewImage, an INSERT no OldImage: nil stays nil.
	if got, err := dynamo.FromStreamImage(nil); got != nil || err != nil {
		t.Errorf("FromStreamImage(nil) = %v, %v; want nil, nil", got, err)
	}
	if got, err := dynamo.ToStreamImage(nil); got != nil || err != nil {
		t.Errorf("ToStreamImage(nil) = %v, %v; want nil, nil", got, err)
	}
}

func TestStreamImageErrors(t *testing.T) {
	// The zero value claims to be binary but holds nothing: an error naming
	// the attribute, not a panic.
	_, err := dynamo.FromStreamImage(map[string]events.DynamoDBAttributeValue{
		"retention": events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{"kept": {}}),
	})
	if err == nil || !strings.Contains(err.Error(), `"retention"`) || !strings.Contains(err.Error(), `"kept"`) {
		t.Errorf("FromStreamImage(malformed) error = %v, want one naming retention and kept", err)
	}
	_, err = dynamo.ToStreamImage(map[string]streamtypes.AttributeValue{
		"odd": &streamtypes.AttributeValueMemberL{Value: []streamtypes.AttributeValue{&streamtypes.UnknownUnionMember{Tag: "X"}}},
	})
	if err == nil || !strings.Contains(err.Error(), `"odd"`) || !strings.Contains(err.Error(), "list element 0") {
		t.Errorf("ToStreamImage(unknown member) error = %v, want one naming odd and list element 0", err)
	}
	var run snapkeep.Run
	err = dynamo.UnmarshalStreamImage(map[string]events.DynamoDBAttributeValue{"attempts": events.NewStringAttribute("three")}, &run)
	if err == nil {
		t.Error("UnmarshalStreamImage of a string into an int field: no error")
	}
}

func TestUnmarshalStreamImageSets(t *testing.T) {
	var out struct {
		Tags    []string  `dynamodbav:"tags,stringset"`
		Sizes   []float64 `dynamodbav:"sizes,numberset"`
		Blobs   [][]byte  `dynamodbav:"blobs,binaryset"`
		Gone    *string   `dynamodbav:"gone"`
		Enabled bool      `dynamodbav:"enabled"`
	}
	img := map[string]events.DynamoDBAttributeValue{
		"tags":    events.NewStringSetAttribute([]string{"daily"}),
		"sizes":   events.NewNumberSetAttribute([]string{"1.5"}),
		"blobs":   events.NewBinarySetAttribute([][]byte{[]byte("z")}),
		"gone":    events.NewNullAttribute(),
		"enabled": events.NewBooleanAttribute(true),
	}
	if err := dynamo.UnmarshalStreamImage(img, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.Tags, []string{"daily"}) || !reflect.DeepEqual(out.Sizes, []float64{1.5}) ||
		!reflect.DeepEqual(out.Blobs, [][]byte{[]byte("z")}) || out.Gone != nil || !out.Enabled {
		t.Errorf("unmarshalled %+v", out)
	}
}

// TestStreamEventFixture reads a Runs stream event as Lambda delivers it,
// decodes its images into snapkeep.Run, converts them to SDK values and
// back, and checks that the event marshals to the same JSON.
func TestStreamEventFixture(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "runs-stream-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("unmarshal fixture: %v", err)
	}
	if len(ev.Records) != 2 {
		t.Fatalf("fixture has %d records, want 2", len(ev.Records))
	}

	var failed, before snapkeep.Run
	rec := ev.Records[0]
	if err := dynamo.UnmarshalStreamImage(rec.Change.NewImage, &failed); err != nil {
		t.Fatalf("NewImage: %v", err)
	}
	if err := dynamo.UnmarshalStreamImage(rec.Change.OldImage, &before); err != nil {
		t.Fatalf("OldImage: %v", err)
	}
	slot := time.Date(2026, 11, 24, 2, 30, 0, 0, time.UTC)
	finished := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	switch {
	case rec.EventName != string(events.DynamoDBOperationTypeModify):
		t.Errorf("EventName %q", rec.EventName)
	case failed.PolicyID != "pol_7f3a9c" || !failed.ScheduledAt.Equal(slot) || failed.Key().RunID() != failed.RunID:
		t.Errorf("key: %q %v %q", failed.PolicyID, failed.ScheduledAt, failed.RunID)
	case failed.Status != snapkeep.RunFailed || before.Status != snapkeep.RunInProgress:
		t.Errorf("status %q -> %q, want in_progress -> failed", before.Status, failed.Status)
	case failed.ErrorClass != snapkeep.ClassProviderError || failed.HTTPStatus != 500 || failed.ProviderErrorID != "server_error":
		t.Errorf("failure: %q %d %q", failed.ErrorClass, failed.HTTPStatus, failed.ProviderErrorID)
	case failed.Resource != (snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "3164444", Region: "nyc3"}) || failed.ResourceKey != failed.Resource.Key():
		t.Errorf("resource %+v key %q", failed.Resource, failed.ResourceKey)
	case failed.Attempts != 3 || failed.APICalls != 3 || failed.Notices[snapkeep.ChannelEmail].Kind != snapkeep.NoticeFailure ||
		failed.Notices[snapkeep.ChannelEmail].ID != "0100018f-ses-message":
		t.Errorf("attempts %d api calls %d notices %+v", failed.Attempts, failed.APICalls, failed.Notices)
	case failed.FinishedAt == nil || !failed.FinishedAt.Equal(finished) || failed.Unfinished != "" || failed.NextCheckAt != nil:
		t.Errorf("finished %v unfinished %q next check %v", failed.FinishedAt, failed.Unfinished, failed.NextCheckAt)
	case before.Unfinished != snapkeep.UnfinishedShard || before.LeaseUntil == nil || before.FinishedAt != nil:
		t.Errorf("old image: unfinished %q lease %v finished %v", before.Unfinished, before.LeaseUntil, before.FinishedAt)
	case !failed.ClaimedAt.Equal(time.Date(2026, 11, 24, 2, 30, 1, 250e6, time.UTC)):
		t.Errorf("claimed at %v", failed.ClaimedAt)
	}

	var ok snapkeep.Run
	if err := dynamo.UnmarshalStreamImage(ev.Records[1].Change.NewImage, &ok); err != nil {
		t.Fatalf("record 2 NewImage: %v", err)
	}
	want := &snapkeep.RetentionResult{Kept: 7, Deleted: []string{"4f60fc64-85d1-11e6-a004-000f53315871", "5a1b2c3d-85d1-11e6-a004-000f53315871"}}
	if ok.Status != snapkeep.RunSucceeded || ok.Resource.Kind != snapkeep.ResourceVolume || !reflect.DeepEqual(ok.Retention, want) {
		t.Errorf("record 2: status %q kind %q retention %+v", ok.Status, ok.Resource.Kind, ok.Retention)
	}

	// Round trip: Lambda JSON -> SDK values -> Streams API values -> Lambda JSON.
	for i := range ev.Records {
		c := &ev.Records[i].Change
		for _, img := range []*map[string]events.DynamoDBAttributeValue{&c.Keys, &c.NewImage, &c.OldImage} {
			item, err := dynamo.FromStreamImage(*img)
			if err != nil {
				t.Fatalf("record %d: FromStreamImage: %v", i, err)
			}
			if *img, err = dynamo.ToStreamImage(toStreamsImage(t, item)); err != nil {
				t.Fatalf("record %d: ToStreamImage: %v", i, err)
			}
		}
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, raw, out)
}

func assertJSONEqual(t *testing.T, want, got []byte) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(w, g) {
		t.Errorf("JSON differs after the round trip:\nwant %s\n got %s", want, got)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func show(v types.AttributeValue) string { return fmt.Sprintf("%T%+v", v, v) }

// toStreamsImage and toStreamsValue restate SDK DynamoDB values as the
// DynamoDB Streams API's, as GetRecords returns them.
func toStreamsImage(t *testing.T, item map[string]types.AttributeValue) map[string]streamtypes.AttributeValue {
	if item == nil {
		return nil
	}
	out := map[string]streamtypes.AttributeValue{}
	for k, v := range item {
		out[k] = toStreamsValue(t, v)
	}
	return out
}

func toStreamsValue(t *testing.T, v types.AttributeValue) streamtypes.AttributeValue {
	t.Helper()
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return &streamtypes.AttributeValueMemberS{Value: v.Value}
	case *types.AttributeValueMemberN:
		return &streamtypes.AttributeValueMemberN{Value: v.Value}
	case *types.AttributeValueMemberB:
		return &streamtypes.AttributeValueMemberB{Value: v.Value}
	case *types.AttributeValueMemberBOOL:
		return &streamtypes.AttributeValueMemberBOOL{Value: v.Value}
	case *types.AttributeValueMemberNULL:
		return &streamtypes.AttributeValueMemberNULL{Value: v.Value}
	case *types.AttributeValueMemberL:
		l := make([]streamtypes.AttributeValue, len(v.Value))
		for i, e := range v.Value {
			l[i] = toStreamsValue(t, e)
		}
		return &streamtypes.AttributeValueMemberL{Value: l}
	case *types.AttributeValueMemberM:
		return &streamtypes.AttributeValueMemberM{Value: toStreamsImage(t, v.Value)}
	case *types.AttributeValueMemberSS:
		return &streamtypes.AttributeValueMemberSS{Value: v.Value}
	case *types.AttributeValueMemberNS:
		return &streamtypes.AttributeValueMemberNS{Value: v.Value}
	case *types.AttributeValueMemberBS:
		return &streamtypes.AttributeValueMemberBS{Value: v.Value}
	}
	t.Fatalf("unexpected attribute value %T", v)
	return nil
}
