// Package awstest runs integration tests against moto in server mode: one
// moto_server per test binary (Main), and per test a fresh, uniquely named
// copy of every DynamoDB table of template.yaml (New), with helpers to read
// table streams as Lambda delivers them, store secrets and read sent email.
//
// Use it as:
//
//	func TestMain(m *testing.M) { awstest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		env := awstest.New(t)
//		env.Setenv(t) // POLICIES_TABLE, RUNS_TABLE, ... (not with t.Parallel)
//		store := dynamo.PolicyStore{Client: env.DynamoDB, Table: env.TableName(dynamo.Policies)}
//		...
//	}
//
// Tests never skip: without moto_server, Main fails with how to install it.
//
// Besides the tables, Env gives clients for the other services the stack
// uses (SESv2, Scheduler, SecretsManager, SQS, or any client built from
// Env.Config) and helpers: PutSecret, VerifySender, SentEmails/SentEmailsTo,
// CreateScheduleGroup, CreateQueue. Everything but the tables is global to
// the moto server, which other test binaries may share: put Env.Prefix into
// the names of secrets, groups, queues and email addresses.
//
// Where moto 5.2.1 differs from AWS (checked by this package's tests or by
// hand; write tests that do not depend on these):
//
//   - DynamoDB Streams: a write that changes nothing (PutItem of an identical
//     item) still produces a MODIFY record; AWS writes none. Records carry
//     eventVersion "1.0" (Lambda delivers "1.1") and SizeBytes is an
//     overestimate. StreamRecords reports AWSRegion as the Env's region
//     (moto always says us-east-1).
//   - DynamoDB TTL: moto stores the TTL setting but never expires items.
//   - SES v2 SendEmail: a Simple message with both Text and Html bodies is
//     stored with the Html body only; ReplyToAddresses, ConfigurationSetName
//     (even an unknown one is accepted), headers and tags are not stored;
//     Content.Template fails with HTTP 500. The sender must be verified
//     (VerifySender), as in the SES sandbox; a display name
//     ("Name <addr>") is accepted.
//   - Scheduler: CreateSchedule in a group that does not exist answers HTTP
//     500 (the SDK retries it), not ResourceNotFoundException; likewise
//     DeleteScheduleGroup of a missing group. Expressions and time zones are
//     not validated. UpdateSchedule without State leaves State empty (AWS:
//     ENABLED). Without Target.RetryPolicy moto stores 185 attempts / 86400s,
//     AWS's defaults. Deleting a group deletes its schedules at once. Nothing
//     ever fires. Target.Input, ScheduleExpressionTimezone, State,
//     FlexibleTimeWindow, DeadLetterConfig and RetryPolicy are stored and
//     returned as given.
//   - moto's own API: GET /moto-api/data.json (how SentEmails reads mail
//     back) reads every model without a lock and can answer 500 while
//     another client writes; SentEmails asks again.
package awstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/snapkeep/snapkeep/infra/awslocal"
	"github.com/snapkeep/snapkeep/shared/dynamo"
)

// EndpointEnv names the environment variable holding the endpoint of an
// already running moto server to reuse (the Makefile may start one); when it
// is empty Main starts its own.
const EndpointEnv = "SNAPKEEP_AWS_ENDPOINT"

// opTimeout bounds each harness call to moto.
const opTimeout = 2 * time.Minute

var (
	endpointMu sync.Mutex
	endpoint   string
	started    *awslocal.Moto // nil when reusing $SNAPKEEP_AWS_ENDPOINT

	defsOnce sync.Once
	defs     []awslocal.TableDef
	defsErr  error
)

// Main runs the test binary's tests against moto: it reuses the moto at
// $SNAPKEEP_AWS_ENDPOINT or starts one moto_server, points the AWS SDK's
// environment at it (AWS_ENDPOINT_URL, AWS_REGION, fake credentials), runs
// the tests, stops moto and exits. When moto_server is missing it fails the
// binary with how to install it.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ep := os.Getenv(EndpointEnv)
	if ep != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := awslocal.Ping(ctx, ep)
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "awstest: FAIL: $%s=%s does not answer: %v\n(unset %s to let the tests start their own moto_server)\n", EndpointEnv, ep, err, EndpointEnv)
			return 1
		}
	} else {
		moto, err := awslocal.StartMoto(context.Background(), awslocal.Options{})
		if err != nil {
			fmt.Fprintf(os.Stderr, "awstest: FAIL: %v\n", err)
			return 1
		}
		defer moto.Stop()
		ep = moto.Endpoint
		setMoto(moto)
	}
	if err := setAWSEnv(ep); err != nil {
		fmt.Fprintf(os.Stderr, "awstest: FAIL: %v\n", err)
		return 1
	}
	endpointMu.Lock()
	endpoint = ep
	endpointMu.Unlock()
	return m.Run()
}

// setMoto records the moto server Main started, for motoTraceback.
func setMoto(m *awslocal.Moto) {
	endpointMu.Lock()
	defer endpointMu.Unlock()
	started = m
}

// motoTraceback returns, to append to a failure, the last Python traceback
// in the output of the moto server Main started ("" if there is none or the
// server is not ours): what moto itself says about a 500.
func motoTraceback() string {
	endpointMu.Lock()
	m := started
	endpointMu.Unlock()
	if m == nil {
		return ""
	}
	out := m.Output()
	i := strings.LastIndex(out, "Traceback (most recent call last)")
	if i < 0 {
		return ""
	}
	const limit = 4 << 10
	tb := out[i:]
	if len(tb) > limit {
		tb = tb[:limit] + "…"
	}
	return "\nmoto's last traceback:\n" + tb
}

// setAWSEnv makes config.LoadDefaultConfig in code under test (functions'
// main wiring, snapctl) talk to the local stack with fake credentials.
func setAWSEnv(ep string) error {
	vars := map[string]string{
		"AWS_ENDPOINT_URL":          ep,
		"AWS_REGION":                awslocal.Region(),
		"AWS_ACCESS_KEY_ID":         awslocal.FakeAccessKeyID,
		"AWS_SECRET_ACCESS_KEY":     awslocal.FakeSecretAccessKey,
		"AWS_EC2_METADATA_DISABLED": "true",
	}
	for k, v := range vars {
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("set %s: %w", k, err)
		}
	}
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"} {
		if err := os.Unsetenv(k); err != nil {
			return fmt.Errorf("unset %s: %w", k, err)
		}
	}
	return nil
}

// Endpoint returns the local stack's endpoint, or fails t when Main did not
// run.
func Endpoint(t testing.TB) string {
	t.Helper()
	endpointMu.Lock()
	defer endpointMu.Unlock()
	if endpoint == "" {
		t.Fatalf("awstest: no local AWS stack: add `func TestMain(m *testing.M) { awstest.Main(m) }` to the package's tests")
	}
	return endpoint
}

// TemplateTables returns the DynamoDB tables of the module's template.yaml,
// read once per test binary.
func TemplateTables(t testing.TB) []awslocal.TableDef {
	t.Helper()
	defsOnce.Do(func() {
		path, err := awslocal.FindTemplate()
		if err != nil {
			defsErr = err
			return
		}
		defs, defsErr = awslocal.Tables(path)
	})
	if defsErr != nil {
		t.Fatalf("awstest: %v", defsErr)
	}
	return defs
}

// Env is one test's view of the local stack: an aws.Config for moto and a
// fresh copy of every table of template.yaml.
type Env struct {
	// Config is an aws.Config for the local stack (fake credentials, region,
	// BaseEndpoint); build any service client from it, e.g.
	// sesv2.NewFromConfig(env.Config).
	Config aws.Config
	// Endpoint is moto's base URL.
	Endpoint string
	// Tables maps each table's logical id to this test's physical name.
	Tables map[string]string
	// DynamoDB is a client for the local stack.
	DynamoDB *dynamodb.Client
	// Prefix is this Env's unique table-name prefix ("snapkeep-local-<random>-");
	// use it to make other global names (secrets, email addresses, schedule
	// names) unique to the test too.
	Prefix string

	mu      sync.Mutex
	readers map[string]*awslocal.StreamReader // by logical id
}

// New creates, for this test only, every DynamoDB table of template.yaml as
// "<Prefix><LogicalID>" with a prefix unique to the test, and deletes them
// when the test ends. Tests using New may run in parallel.
func New(t testing.TB) *Env {
	t.Helper()
	ep := Endpoint(t)
	tables := TemplateTables(t)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	cfg, err := awslocal.Config(ctx, ep)
	if err != nil {
		t.Fatalf("awstest: %v", err)
	}
	e := &Env{
		Config:   cfg,
		Endpoint: ep,
		DynamoDB: dynamodb.NewFromConfig(cfg),
		Prefix:   awslocal.DefaultPrefix + randomHex(t, 4) + "-",
		readers:  map[string]*awslocal.StreamReader{},
	}
	names, err := awslocal.CreateTables(ctx, e.DynamoDB, tables, e.Prefix)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if err := awslocal.DeleteTables(ctx, e.DynamoDB, names); err != nil {
			t.Errorf("awstest: cleanup: %v", err)
		}
	})
	if err != nil {
		t.Fatalf("awstest: %v", err)
	}
	e.Tables = names
	return e
}

// TableName returns this Env's physical name of spec's table, failing the
// test when template.yaml has no such table.
func (e *Env) TableName(spec dynamo.TableSpec) string {
	name, ok := e.Tables[spec.LogicalID]
	if !ok {
		panic(fmt.Sprintf("awstest: template.yaml has no table %s (TableSpec %s)", spec.LogicalID, spec.EnvVar))
	}
	return name
}

// Setenv sets each table's environment variable (dynamo.TableSpec.EnvVar:
// POLICIES_TABLE, RUNS_TABLE, ...) to this Env's table name for the rest of
// the test. Like t.Setenv it cannot be used in parallel tests.
func (e *Env) Setenv(t testing.TB) {
	t.Helper()
	for _, spec := range dynamo.AllTables() {
		name, ok := e.Tables[spec.LogicalID]
		if !ok {
			t.Fatalf("awstest: template.yaml has no table %s for %s", spec.LogicalID, spec.EnvVar)
		}
		t.Setenv(spec.EnvVar, name)
	}
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("awstest: random: %v", err)
	}
	return hex.EncodeToString(b)
}
