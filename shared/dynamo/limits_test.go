package dynamo

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func num(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }

func TestItemSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		item map[string]types.AttributeValue
		want int
	}{
		{"string", map[string]types.AttributeValue{"ab": str("héllo")}, 2 + 6},
		{"number", map[string]types.AttributeValue{"n": num("123")}, 1 + 2 + 1},
		{"number, zeros trimmed", map[string]types.AttributeValue{"n": num("1000")}, 1 + 1 + 1},
		{"negative decimal", map[string]types.AttributeValue{"n": num("-0.0125")}, 1 + 2 + 1 + 1},
		{"exponent", map[string]types.AttributeValue{"n": num("1.5E+10")}, 1 + 1 + 1},
		{"bool and null", map[string]types.AttributeValue{"b": &types.AttributeValueMemberBOOL{Value: true}, "z": &types.AttributeValueMemberNULL{Value: true}}, 2 + 2},
		{"binary", map[string]types.AttributeValue{"b": &types.AttributeValueMemberB{Value: []byte{1, 2, 3}}}, 1 + 3},
		{"empty map", map[string]types.AttributeValue{"m": &types.AttributeValueMemberM{}}, 1 + 3},
		{"map", map[string]types.AttributeValue{"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": str("vv")}}}, 1 + 3 + 1 + (1 + 2)},
		{"list", map[string]types.AttributeValue{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{str("ab"), num("7")}}}, 1 + 3 + 2 + 2 + 2},
		{"string set", map[string]types.AttributeValue{"s": &types.AttributeValueMemberSS{Value: []string{"a", "bc"}}}, 1 + 3},
		{"number set", map[string]types.AttributeValue{"s": &types.AttributeValueMemberNS{Value: []string{"1", "22"}}}, 1 + 2 + 2},
	} {
		if got := ItemSize(tc.item); got != tc.want {
			t.Errorf("%s: ItemSize = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestCheckItem(t *testing.T) {
	t.Parallel()
	// An item of exactly the limit: "policy_id" + value.
	at := func(n int) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"policy_id": str("p"), "error_detail": str(strings.Repeat("x", n-len("policy_id")-1-len("error_detail")))}
	}
	for _, tc := range []struct {
		name string
		item map[string]types.AttributeValue
		want string // "" when the item fits
	}{
		{"at the item limit", at(MaxItemBytes), ""},
		{"one byte over", at(MaxItemBytes + 1), "item is 409601 bytes, over DynamoDB's limit of 409600"},
		{"partition key at its limit", map[string]types.AttributeValue{"policy_id": str(strings.Repeat("p", MaxPartitionKeyBytes))}, ""},
		{"partition key over", map[string]types.AttributeValue{"policy_id": str(strings.Repeat("p", MaxPartitionKeyBytes+1))}, "key attribute policy_id is 2049 bytes"},
		{"sort key over", map[string]types.AttributeValue{"scheduled_at": str(strings.Repeat("1", MaxSortKeyBytes+1))}, "key attribute scheduled_at is 1025 bytes"},
		{"index key over", map[string]types.AttributeValue{"customer_id": str(strings.Repeat("c", MaxPartitionKeyBytes+1))}, "key attribute customer_id"},
	} {
		size, err := checkItem(func() string { return "run x" }, Runs, tc.item)
		if size != ItemSize(tc.item) {
			t.Errorf("%s: size %d, want %d", tc.name, size, ItemSize(tc.item))
		}
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (!errors.Is(err, snapkeep.ErrInvalid) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "run x: ")):
			t.Errorf("%s: %v, want ErrInvalid with %q", tc.name, err, tc.want)
		}
	}
}

// maximalCall is a call whose every provider-controlled field is as large
// as snapkeep's bounds let it be.
func maximalCall() snapkeep.APICall {
	long := strings.Repeat("é", 4096)
	headers := func() map[string]string {
		h := map[string]string{}
		for i := 0; i < 200; i++ {
			h[strings.Repeat(string(rune('a'+i%26)), 1+i)] = long
		}
		return snapkeep.BoundHeaders(h)
	}
	text := snapkeep.Bound(long, snapkeep.MaxProviderText)
	return snapkeep.APICall{
		RunID: "pol-" + strings.Repeat("x", 60) + "#2026-11-24T03:00:00Z", Seq: 999999, PolicyID: "pol-" + strings.Repeat("x", 60),
		ResourceKey: "volume:" + strings.Repeat("f", 36), Region: "nyc3", AccountID: strings.Repeat("a", 64), Host: "api.digitalocean.com",
		Operation: "list_snapshots", Attempt: 9, Method: "GET", Path: "/v2/volumes/" + strings.Repeat("f", 36) + "/snapshots?page=999&per_page=200",
		RequestHeaders: headers(), StatusCode: 503, ResponseHeaders: headers(), StartedAt: time.Now(), DurationMS: 1 << 40,
		ProviderRequestID: text, ErrorID: text, ErrorMessage: text, TransportError: text,
		Class: snapkeep.ClassProviderError, FailureHour: "2026-11-24T03", ExpiresAt: 1 << 40,
	}
}

// TestBoundedRowsFitOneSave: rows bounded by snapkeep's limits are small
// enough that MaxSaveCalls of them fit one transaction with a run item at
// DynamoDB's item limit: the count, not the bytes, limits a save.
func TestBoundedRowsFitOneSave(t *testing.T) {
	t.Parallel()
	c := maximalCall()
	_, size, err := marshalAPICall(&c)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("largest bounded ApiCalls row: %d bytes; %d of them: %d bytes", size, MaxSaveCalls, MaxSaveCalls*size)
	if total := MaxSaveCalls*size + MaxItemBytes; total > MaxTransactBytes {
		t.Errorf("%d bounded rows and a 400 KB run are %d bytes, over %d", MaxSaveCalls, total, MaxTransactBytes)
	}
	if size < 2*snapkeep.MaxHeaderBytes {
		t.Errorf("row of %d bytes: the headers were not filled to their bound", size)
	}
}
