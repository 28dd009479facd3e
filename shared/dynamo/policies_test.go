package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// TestMain starts one moto server for the package's tests.
func TestMain(m *testing.M) { awstest.Main(m) }

// fakeClock is a virtual clock the tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
}

// smallPages is the real moto client with every Query and Scan limited to
// one item, so the stores' pagination is exercised.
type smallPages struct{ *dynamodb.Client }

func (c smallPages) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	in.Limit = aws.Int32(1)
	return c.Client.Query(ctx, in, optFns...)
}

func (c smallPages) Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	in.Limit = aws.Int32(1)
	return c.Client.Scan(ctx, in, optFns...)
}

func newPolicyStore(t *testing.T) (*dynamo.PolicyStore, *fakeClock, *awstest.Env) {
	t.Helper()
	env := awstest.New(t)
	clk := newClock()
	return &dynamo.PolicyStore{Client: env.DynamoDB, Table: env.TableName(dynamo.Policies), Now: clk.Now}, clk, env
}

func samplePolicy(id, customer string) *snapkeep.Policy {
	return &snapkeep.Policy{
		PolicyID:   id,
		CustomerID: customer,
		AccountID:  "acct-1",
		Resource:   snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "3164444", Region: "nyc3"},
		Schedule:   "cron(0 3 * * ? *)",
		TimeZone:   "Europe/Berlin",
		Retention:  snapkeep.Retention{KeepLast: 7, MaxAgeDays: 30},
		Enabled:    true,

		FlexibleWindowMinutes: 15,
	}
}

func rawItem(t *testing.T, env *awstest.Env, table, key, id string) map[string]types.AttributeValue {
	t.Helper()
	out, err := env.DynamoDB.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(table),
		Key:       map[string]types.AttributeValue{key: &types.AttributeValueMemberS{Value: id}},
	})
	if err != nil {
		t.Fatalf("raw get %s: %v", id, err)
	}
	return out.Item
}

func TestPolicyStorePutGet(t *testing.T) {
	ctx := context.Background()
	s, clk, env := newPolicyStore(t)

	p := samplePolicy("pol-1", "cust-1")
	if err := s.Put(ctx, p); err != nil {
		t.Fatalf("Put: %v", err)
	}
	created := clk.Now()
	if !p.CreatedAt.Equal(created) || !p.UpdatedAt.Equal(created) {
		t.Errorf("after first Put: created %v updated %v, want both %v", p.CreatedAt, p.UpdatedAt, created)
	}
	got, err := s.Get(ctx, "pol-1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if *got != *p {
		t.Errorf("Get = %+v\nwant %+v", *got, *p)
	}

	// Replace it later: created_at is kept, optional attributes the new
	// version lacks are removed, the rest is replaced.
	clk.Advance(time.Hour)
	if _, err := s.MarkInvalid(ctx, "pol-1", "bad schedule"); err != nil {
		t.Fatalf("MarkInvalid: %v", err)
	}
	q := samplePolicy("pol-1", "cust-2")
	q.TimeZone, q.MaxAgeDays, q.FlexibleWindowMinutes = "", 0, 0
	q.Schedule = "rate(1 day)"
	if err := s.Put(ctx, q); err != nil {
		t.Fatalf("second Put: %v", err)
	}
	if !q.CreatedAt.Equal(created) {
		t.Errorf("second Put: CreatedAt = %v, want kept %v", q.CreatedAt, created)
	}
	if !q.UpdatedAt.Equal(clk.Now()) {
		t.Errorf("second Put: UpdatedAt = %v, want %v", q.UpdatedAt, clk.Now())
	}
	got, err = s.Get(ctx, "pol-1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if *got != *q {
		t.Errorf("Get after replace = %+v\nwant %+v", *got, *q)
	}
	item := rawItem(t, env, s.Table, "policy_id", "pol-1")
	for _, a := range []string{"time_zone", "max_age_days", "flexible_window_minutes", "invalid_reason"} {
		if _, ok := item[a]; ok {
			t.Errorf("attribute %s still stored after a Put without it", a)
		}
	}
	if v, ok := item["customer_id"].(*types.AttributeValueMemberS); !ok || v.Value != "cust-2" {
		t.Errorf("customer_id = %#v, want cust-2", item["customer_id"])
	}
}

func TestPolicyStorePutKeepsGivenCreatedAtForNewItem(t *testing.T) {
	s, _, _ := newPolicyStore(t)
	p := samplePolicy("pol-1", "cust-1")
	then := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	p.CreatedAt = then
	if err := s.Put(context.Background(), p); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if !p.CreatedAt.Equal(then) {
		t.Errorf("CreatedAt = %v, want %v", p.CreatedAt, then)
	}
}

func TestPolicyStorePutRequiresID(t *testing.T) {
	s, _, _ := newPolicyStore(t)
	err := s.Put(context.Background(), samplePolicy("", "cust-1"))
	if !errors.Is(err, snapkeep.ErrInvalid) {
		t.Errorf("Put without id: err = %v, want ErrInvalid", err)
	}
}

func TestPolicyStoreNotFound(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newPolicyStore(t)
	tests := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := s.Get(ctx, "nope"); return err }},
		{"Delete", func() error { return s.Delete(ctx, "nope") }},
		{"SetEnabled", func() error { return s.SetEnabled(ctx, "nope", false) }},
		{"MarkInvalid", func() error { _, err := s.MarkInvalid(ctx, "nope", "x"); return err }},
		{"MarkInvalid clear", func() error { _, err := s.MarkInvalid(ctx, "nope", ""); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, snapkeep.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
			if want := `"nope"`; !strings.Contains(err.Error(), want) {
				t.Errorf("err = %q, want it to name the policy %s", err, want)
			}
		})
	}
}

func TestPolicyStoreDelete(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newPolicyStore(t)
	if err := s.Put(ctx, samplePolicy("pol-1", "cust-1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "pol-1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(ctx, "pol-1"); !errors.Is(err, snapkeep.ErrNotFound) {
		t.Errorf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "pol-1"); !errors.Is(err, snapkeep.ErrNotFound) {
		t.Errorf("second Delete: err = %v, want ErrNotFound", err)
	}
}

func TestPolicyStoreList(t *testing.T) {
	ctx := context.Background()
	s, _, env := newPolicyStore(t)
	s.Client = smallPages{env.DynamoDB}
	want := map[string][]string{
		"cust-a": {"pol-1", "pol-3", "pol-4"},
		"cust-b": {"pol-2"},
	}
	for c, ids := range want {
		for _, id := range ids {
			if err := s.Put(ctx, samplePolicy(id, c)); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		customer string
		want     []string
	}{
		{"cust-a", []string{"pol-1", "pol-3", "pol-4"}},
		{"cust-b", []string{"pol-2"}},
		{"cust-none", nil},
		{"", []string{"pol-1", "pol-2", "pol-3", "pol-4"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("customer=%q", tt.customer), func(t *testing.T) {
			got, err := s.List(ctx, tt.customer)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			ids := map[string]bool{}
			for _, p := range got {
				if tt.customer != "" && p.CustomerID != tt.customer {
					t.Errorf("policy %s of customer %s listed for %s", p.PolicyID, p.CustomerID, tt.customer)
				}
				if ids[p.PolicyID] {
					t.Errorf("policy %s listed twice", p.PolicyID)
				}
				ids[p.PolicyID] = true
			}
			if len(got) != len(tt.want) {
				t.Errorf("List = %d policies, want %d (%v)", len(got), len(tt.want), tt.want)
			}
			for _, id := range tt.want {
				if !ids[id] {
					t.Errorf("policy %s missing from List", id)
				}
			}
			if tt.customer != "" {
				for i := 1; i < len(got); i++ {
					if got[i-1].PolicyID >= got[i].PolicyID {
						t.Errorf("List not ordered by policy id: %s before %s", got[i-1].PolicyID, got[i].PolicyID)
					}
				}
			}
		})
	}
}

func TestPolicyStoreSetEnabled(t *testing.T) {
	ctx := context.Background()
	s, clk, _ := newPolicyStore(t)
	if err := s.Put(ctx, samplePolicy("pol-1", "cust-1")); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		enabled     bool
		wantUpdated bool
	}{
		{false, true},
		{false, false}, // already paused: no write
		{true, true},
		{true, false},
	}
	for i, st := range steps {
		before, err := s.Get(ctx, "pol-1")
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
		if err := s.SetEnabled(ctx, "pol-1", st.enabled); err != nil {
			t.Fatalf("step %d SetEnabled(%t): %v", i, st.enabled, err)
		}
		after, err := s.Get(ctx, "pol-1")
		if err != nil {
			t.Fatal(err)
		}
		if after.Enabled != st.enabled {
			t.Errorf("step %d: Enabled = %t, want %t", i, after.Enabled, st.enabled)
		}
		if updated := !after.UpdatedAt.Equal(before.UpdatedAt); updated != st.wantUpdated {
			t.Errorf("step %d: updated_at changed = %t, want %t", i, updated, st.wantUpdated)
		}
		if st.wantUpdated && !after.UpdatedAt.Equal(clk.Now()) {
			t.Errorf("step %d: UpdatedAt = %v, want %v", i, after.UpdatedAt, clk.Now())
		}
		if !after.CreatedAt.Equal(before.CreatedAt) {
			t.Errorf("step %d: CreatedAt changed", i)
		}
	}
}

func TestPolicyStoreMarkInvalid(t *testing.T) {
	ctx := context.Background()
	s, clk, env := newPolicyStore(t)
	if err := s.Put(ctx, samplePolicy("pol-1", "cust-1")); err != nil {
		t.Fatal(err)
	}
	env.StreamRecords(t, dynamo.Policies) // drop the INSERT
	steps := []struct {
		reason      string
		wantChanged bool
	}{
		{"", false}, // nothing to clear
		{"schedule: malformed cron", true},
		{"schedule: malformed cron", false},
		{"time_zone: unknown", true},
		{"", true},
		{"", false},
	}
	for i, st := range steps {
		clk.Advance(time.Minute)
		changed, err := s.MarkInvalid(ctx, "pol-1", st.reason)
		if err != nil {
			t.Fatalf("step %d MarkInvalid(%q): %v", i, st.reason, err)
		}
		if changed != st.wantChanged {
			t.Errorf("step %d MarkInvalid(%q) changed = %t, want %t", i, st.reason, changed, st.wantChanged)
		}
		got, err := s.Get(ctx, "pol-1")
		if err != nil {
			t.Fatal(err)
		}
		if got.InvalidReason != st.reason {
			t.Errorf("step %d: InvalidReason = %q, want %q", i, got.InvalidReason, st.reason)
		}
		recs := env.StreamRecords(t, dynamo.Policies)
		if wantRecs := map[bool]int{true: 1, false: 0}[st.wantChanged]; len(recs) != wantRecs {
			t.Errorf("step %d: %d stream records, want %d", i, len(recs), wantRecs)
		}
	}
	got, err := s.Get(ctx, "pol-1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.UpdatedAt.Equal(got.CreatedAt) {
		t.Errorf("MarkInvalid changed updated_at: %v, created %v", got.UpdatedAt, got.CreatedAt)
	}
}

// TestPolicyStoreUnreadableItem covers an item written around the store
// (e.g. in the console) with an attribute of the wrong type: Get and List
// answer with an error wrapping ErrInvalid that names the attribute, and
// MarkInvalid still works on it.
func TestPolicyStoreUnreadableItem(t *testing.T) {
	ctx := context.Background()
	s, _, env := newPolicyStore(t)
	if err := s.Put(ctx, samplePolicy("pol-1", "cust-1")); err != nil {
		t.Fatal(err)
	}
	item := rawItem(t, env, s.Table, "policy_id", "pol-1")
	item["enabled"] = &types.AttributeValueMemberS{Value: "yes"}
	if _, err := env.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Get(ctx, "pol-1")
	if !errors.Is(err, snapkeep.ErrInvalid) || errors.Is(err, snapkeep.ErrNotFound) {
		t.Fatalf("Get of an unreadable item: err = %v, want ErrInvalid", err)
	}
	for _, want := range []string{`"pol-1"`, "attribute enabled", "bool"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Get error %q does not mention %s", err, want)
		}
	}
	if _, err := s.List(ctx, ""); !errors.Is(err, snapkeep.ErrInvalid) || !strings.Contains(err.Error(), "attribute enabled") {
		t.Errorf("List with an unreadable item: err = %v, want ErrInvalid naming the attribute", err)
	}
	if changed, err := s.MarkInvalid(ctx, "pol-1", "unreadable"); err != nil || !changed {
		t.Errorf("MarkInvalid of an unreadable item = %t, %v; want true, nil", changed, err)
	}
	// Marking it again with the same reason is a no-op, not an error: the
	// mark's own stream record must not fail (and block) the stream.
	if changed, err := s.MarkInvalid(ctx, "pol-1", "unreadable"); err != nil || changed {
		t.Errorf("second MarkInvalid of an unreadable item = %t, %v; want false, nil", changed, err)
	}
}
