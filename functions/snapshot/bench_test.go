package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/snapkeep/snapkeep/shared/docloud"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// memDB is an in-memory DynamoDB for the benchmark: it keeps items by table
// and key, serves GetItem, and counts write requests, items written and
// their size. Conditions are not evaluated (the benchmark has no
// contention; the integration tests run the real conditions on moto).
type memDB struct {
	mu       sync.Mutex
	items    map[string]map[string]types.AttributeValue
	requests int // write API requests
	written  int // items written
	bytes    int // item bytes written (DynamoDB's size rules)
	byTable  map[string]int
}

func newMemDB() *memDB {
	return &memDB{items: map[string]map[string]types.AttributeValue{}, byTable: map[string]int{}}
}

func itemKey(table string, item map[string]types.AttributeValue) string {
	k := table
	names := map[string][]string{"policies": {"policy_id"}, "runs": {"policy_id", "scheduled_at"}, "calls": {"run_id", "seq"}}[table]
	for _, name := range names {
		switch v := item[name].(type) {
		case *types.AttributeValueMemberS:
			k += "|" + v.Value
		case *types.AttributeValueMemberN:
			k += "|" + v.Value
		}
	}
	return k
}

func (m *memDB) put(table string, item map[string]types.AttributeValue) {
	m.items[itemKey(table, item)] = item
	m.written++
	m.bytes += dynamo.ItemSize(item)
	m.byTable[table] += dynamo.ItemSize(item)
}

func (m *memDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return &dynamodb.GetItemOutput{Item: m.items[itemKey(aws.ToString(in.TableName), in.Key)]}, nil
}

func (m *memDB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests++
	m.put(aws.ToString(in.TableName), in.Item)
	return &dynamodb.PutItemOutput{}, nil
}

func (m *memDB) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests++
	for _, it := range in.TransactItems {
		if it.Put == nil {
			return nil, fmt.Errorf("memDB: only Put in transactions")
		}
		m.put(aws.ToString(it.Put.TableName), it.Put.Item)
	}
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

func (m *memDB) BatchWriteItem(_ context.Context, in *dynamodb.BatchWriteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests++
	for table, reqs := range in.RequestItems {
		for _, r := range reqs {
			m.put(table, r.PutRequest.Item)
		}
	}
	return &dynamodb.BatchWriteItemOutput{}, nil
}

func (m *memDB) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return nil, fmt.Errorf("memDB: UpdateItem not expected on the success path")
}

func (m *memDB) DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return nil, fmt.Errorf("memDB: DeleteItem not expected")
}

func (m *memDB) Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return nil, fmt.Errorf("memDB: Query not expected")
}

func (m *memDB) Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	return nil, fmt.Errorf("memDB: Scan not expected")
}

type memSecrets struct{ token string }

func (s memSecrets) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(s.token)}, nil
}

func (memSecrets) CreateSecret(context.Context, *secretsmanager.CreateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	return nil, fmt.Errorf("not expected")
}

func (memSecrets) PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	return nil, fmt.Errorf("not expected")
}

// cannedDO answers the three requests of a successful droplet run with
// DigitalOcean-shaped responses, in memory.
type cannedDO struct {
	now      func() time.Time
	mu       sync.Mutex
	name     string
	action   int
	attempts int
}

var snapshotBody = regexp.MustCompile(`"name":"([^"]+)"`)

func (c *cannedDO) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attempts++
	var status int
	var body string
	switch {
	case r.Method == http.MethodPost:
		b, _ := io.ReadAll(r.Body)
		if m := snapshotBody.FindSubmatch(b); m != nil {
			c.name = string(m[1])
		}
		c.action++
		status = http.StatusCreated
		body = fmt.Sprintf(`{"action":{"id":%d,"status":"in-progress","type":"snapshot","started_at":"2026-11-24T03:00:01Z","completed_at":null,"resource_id":3164444,"resource_type":"droplet","region_slug":"nyc3"}}`, c.action)
	case bytes.HasPrefix([]byte(r.URL.Path), []byte("/v2/actions/")):
		status = http.StatusOK
		body = fmt.Sprintf(`{"action":{"id":%d,"status":"completed","type":"snapshot","started_at":"2026-11-24T03:00:01Z","completed_at":"2026-11-24T03:00:50Z","resource_id":3164444,"resource_type":"droplet","region_slug":"nyc3"}}`, c.action)
	default:
		status = http.StatusOK
		body = fmt.Sprintf(`{"snapshots":[{"id":%d,"name":%q,"distribution":"Ubuntu","slug":null,"public":false,"regions":["nyc3"],"created_at":"2026-11-24T03:00:50Z","min_disk_size":25,"size_gigabytes":2.36,"type":"snapshot","tags":[]}],"links":{},"meta":{"total":1}}`, 180000000+c.action, c.name)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Date", c.now().UTC().Format(http.TimeFormat))
	h.Set("X-Request-Id", "4ba7e8d2-0a7f-4f43-9a0b-"+strconv.Itoa(100000000000+c.attempts))
	h.Set("Ratelimit-Limit", "5000")
	h.Set("Ratelimit-Remaining", "4990")
	h.Set("Ratelimit-Reset", strconv.FormatInt(c.now().Add(time.Minute).Unix(), 10))
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader([]byte(body))), Request: r, ContentLength: int64(len(body))}, nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSuccessfulDropletRun measures one successful droplet run end to
// end through the handler: the scheduled invocation (claim, snapshot POST,
// in_progress) and the follow-up that finds the action completed, lists the
// snapshot, applies retention and finishes the run. DynamoDB, Secrets
// Manager and DigitalOcean are in-memory fakes; the docloud client,
// transport, recorder, run store and attribute marshalling are the real
// ones.
func BenchmarkSuccessfulDropletRun(b *testing.B) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 11, 24, 3, 0, 1, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	db := newMemDB()
	do := &cannedDO{now: clock}
	pol := snapkeep.Policy{PolicyID: "p1", CustomerID: "c1", AccountID: "acct1", Enabled: true, Schedule: "rate(1 hour)",
		Resource:  snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "3164444", Region: "nyc3"},
		Retention: snapkeep.Retention{KeepLast: 7}}
	item, err := attributevalue.MarshalMap(pol)
	if err != nil {
		b.Fatal(err)
	}
	db.items[itemKey("policies", item)] = item
	h := newHandler(env{PoliciesTable: "policies", RunsTable: "runs", CallsTable: "calls", LeasesTable: "leases", SecretPrefix: "snapkeep/bench/accounts/", BaseURL: "https://api.digitalocean.test"},
		clients{DynamoDB: db, Secrets: memSecrets{token: "dop_v1_" + fmt.Sprintf("%064x", 42)}, Now: clock,
			DigitalOcean: []docloud.Option{docloud.WithHTTPTransport(do)}},
		slog.New(slog.NewJSONHandler(io.Discard, nil)))
	base := now.Truncate(time.Hour)

	b.ReportAllocs()
	b.ResetTimer()
	db.requests, db.written, db.bytes, do.attempts = 0, 0, 0, 0
	clear(db.byTable)
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		slot := base.Add(time.Duration(i) * time.Hour)
		mu.Lock()
		now = slot.Add(time.Second)
		mu.Unlock()
		out, err := h.Invoke(ctx, json.RawMessage(`{"policy_id":"p1","scheduled_time":"`+slot.Format(snapkeep.SlotTimeFormat)+`"}`))
		if err != nil || out.Status != snapkeep.RunInProgress {
			b.Fatalf("scheduled: %+v, %v", out, err)
		}
		mu.Lock()
		now = now.Add(time.Minute)
		mu.Unlock()
		out, err = h.Invoke(ctx, json.RawMessage(`{"policy_id":"p1","scheduled_time":"`+slot.Format(snapkeep.SlotTimeFormat)+`","follow_up":true}`))
		if err != nil || out.Status != snapkeep.RunSucceeded {
			b.Fatalf("follow-up: %+v, %v", out, err)
		}
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/op")
	b.ReportMetric(float64(do.attempts)/n, "http-attempts/op")
	b.ReportMetric(float64(db.requests)/n, "ddb-write-requests/op")
	b.ReportMetric(float64(db.written)/n, "ddb-items-written/op")
	b.ReportMetric(float64(db.bytes)/n, "ddb-bytes-written/op")
	b.ReportMetric(float64(db.byTable["runs"])/n, "ddb-run-bytes/op")
	b.ReportMetric(float64(db.byTable["calls"])/n, "ddb-call-bytes/op")
	if w, a := float64(db.requests)/n, float64(do.attempts)/n; w > 1+a {
		b.Errorf("%.1f write requests per run for %.1f HTTP attempts: over the budget of 1 + attempts", w, a)
	}
}
