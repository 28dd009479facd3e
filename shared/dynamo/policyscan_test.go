package dynamo_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// scanAll pages through every segment, checking that no page exceeds the
// limit and no id repeats.
func scanAll(t *testing.T, scan func(ctx context.Context, segment, segments, limit int, cursor string) ([]string, string, error), segments, limit int) []string {
	t.Helper()
	var all []string
	for seg := range segments {
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 100 {
				t.Fatalf("segment %d: more than 100 pages", seg)
			}
			ids, next, err := scan(context.Background(), seg, segments, limit, cursor)
			if err != nil {
				t.Fatalf("segment %d of %d after %q: %v", seg, segments, cursor, err)
			}
			if len(ids) > limit {
				t.Fatalf("page of %d ids, limit %d", len(ids), limit)
			}
			all = append(all, ids...)
			if next == "" {
				break
			}
			cursor = next
		}
	}
	slices.Sort(all)
	for i := 1; i < len(all); i++ {
		if all[i] == all[i-1] {
			t.Fatalf("id %s scanned twice", all[i])
		}
	}
	return all
}

func TestScanPolicyIDsPagesEverySegment(t *testing.T) {
	store, _, env := newPolicyStore(t)
	ctx := context.Background()
	var want []string
	for i := range 23 {
		p := samplePolicy(fmt.Sprintf("pol-%02d", i), "cust-1")
		if err := store.Put(ctx, p); err != nil {
			t.Fatal(err)
		}
		want = append(want, p.PolicyID)
	}
	// An item that is not a readable policy still names its key: the
	// reconciler syncs it, and the sync marks it invalid.
	if _, err := env.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(store.Table),
		Item: map[string]types.AttributeValue{
			"policy_id": &types.AttributeValueMemberS{Value: "pol-odd"},
			"enabled":   &types.AttributeValueMemberS{Value: "yes"},
		},
	}); err != nil {
		t.Fatal(err)
	}
	want = append(want, "pol-odd")
	slices.Sort(want)
	for _, tt := range []struct{ segments, limit int }{{1, 1000}, {1, 5}, {4, 3}, {7, 1}} {
		t.Run(fmt.Sprintf("%d segments of pages of %d", tt.segments, tt.limit), func(t *testing.T) {
			if got := scanAll(t, store.ScanPolicyIDs, tt.segments, tt.limit); !slices.Equal(got, want) {
				t.Errorf("scanned %q,\nwant %q", got, want)
			}
		})
	}
}

func TestScanPolicyIDsProjectsTheKey(t *testing.T) {
	store, _, env := newPolicyStore(t)
	var got *dynamodb.ScanInput
	store.Client = scanSpy{Client: env.DynamoDB, seen: &got}
	if _, _, err := store.ScanPolicyIDs(context.Background(), 2, 8, 500, "pol-b"); err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.ProjectionExpression) != "#k" || got.ExpressionAttributeNames["#k"] != "policy_id" ||
		aws.ToInt32(got.Limit) != 500 || aws.ToInt32(got.Segment) != 2 || aws.ToInt32(got.TotalSegments) != 8 ||
		aws.ToBool(got.ConsistentRead) {
		t.Errorf("scan input %+v", got)
	}
	if v, _ := got.ExclusiveStartKey["policy_id"].(*types.AttributeValueMemberS); v == nil || v.Value != "pol-b" {
		t.Errorf("ExclusiveStartKey %v, want the cursor", got.ExclusiveStartKey)
	}
}

// scanSpy records the last Scan's input.
type scanSpy struct {
	*dynamodb.Client
	seen **dynamodb.ScanInput
}

func (s scanSpy) Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	*s.seen = in
	return s.Client.Scan(ctx, in, optFns...)
}

func TestScanPolicyIDsRejectsBadPages(t *testing.T) {
	store, _, _ := newPolicyStore(t)
	for _, tt := range []struct {
		segment, segments, limit int
		want                     string
	}{
		{0, 0, 10, "segments"},
		{0, 1000001, 10, "segments"},
		{3, 3, 10, "segment 3"},
		{-1, 3, 10, "segment -1"},
		{0, 1, 0, "limit 0"},
		{0, 1, 1001, "limit 1001"},
	} {
		_, _, err := store.ScanPolicyIDs(context.Background(), tt.segment, tt.segments, tt.limit, "")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ScanPolicyIDs(%d, %d, %d): %v, want an error naming %q", tt.segment, tt.segments, tt.limit, err, tt.want)
		}
	}
}
