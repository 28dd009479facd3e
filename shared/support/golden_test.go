package support_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
	"github.com/snapkeep/snapkeep/shared/support/supporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./shared/support -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./shared/support -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// fakeDB is a support.DynamoDB of function fields.
type fakeDB struct {
	query func(*dynamodb.QueryInput) (*dynamodb.QueryOutput, error)
	get   func(*dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error)
}

func (f *fakeDB) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return f.query(in)
}

func (f *fakeDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return f.get(in)
}

// items marshals runs as the table's items.
func items(t testing.TB, runs []snapkeep.Run) []map[string]types.AttributeValue {
	t.Helper()
	out := make([]map[string]types.AttributeValue, len(runs))
	for i := range runs {
		item, err := attributevalue.MarshalMap(&runs[i])
		if err != nil {
			t.Fatal(err)
		}
		out[i] = item
	}
	return out
}

func TestExplainGolden(t *testing.T) {
	fx := supporttest.Generate(supporttest.Size{Customers: 2, PoliciesPerCustomer: 2, Slots: 3})
	var reads []support.Read
	db := &fakeDB{query: func(in *dynamodb.QueryInput) (*dynamodb.QueryOutput, error) {
		its := items(t, fx.Runs[:2])
		return &dynamodb.QueryOutput{Items: its, Count: 2, ScannedCount: 9}, nil
	}}
	q := &support.Queries{DB: db, Tables: support.Tables{Runs: "snapkeep-prod-RunsTable-X1"}, Trace: func(r support.Read) { reads = append(reads, r) }}
	night := support.LastNight(supporttest.Now, zone(t, "America/New_York"))
	_, err := q.Runs(context.Background(), support.RunQuery{
		Subject: support.Subject{CustomerID: "acme"}, Range: night,
		Statuses: []snapkeep.RunStatus{snapkeep.RunFailed, snapkeep.RunTimedOut}, Class: snapkeep.ClassProviderError, Limit: 50,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = q.Failures(context.Background(), support.FailureQuery{Classes: []snapkeep.ErrorClass{snapkeep.ClassNetwork}, Range: support.Since(supporttest.Now, 24*time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range reads {
		b.WriteString(support.ExplainRead(r, "eu-west-1"))
	}
	golden(t, "explain.txt", []byte(b.String()))
}

func TestTablesGolden(t *testing.T) {
	fx := supporttest.Generate(supporttest.Size{Customers: 2, PoliciesPerCustomer: 3, Slots: 2})
	runs := fx.Runs
	runs[3].ProviderMessage = "Server Error\n\x1b[31mforged row\tx" // provider text must not forge rows
	var b bytes.Buffer
	tbl := support.RunsTable(runs, zone(t, "Europe/Berlin"))
	if err := tbl.WriteText(&b, 60); err != nil {
		t.Fatal(err)
	}
	golden(t, "runs.txt", b.Bytes())
	b.Reset()
	if err := tbl.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "runs.csv", b.Bytes())

	b.Reset()
	res := &support.FailuresResult{}
	for _, r := range runs {
		switch {
		case r.ErrorClass != "":
			res.Failed = append(res.Failed, r)
		case r.RetryClass != "":
			res.Retrying = append(res.Retrying, r)
		}
	}
	if err := support.FailuresTable(res).WriteText(&b, 60); err != nil {
		t.Fatal(err)
	}
	b.WriteString("\n")
	if err := support.CallsTable(fx.Calls[:4]).WriteText(&b, 60); err != nil {
		t.Fatal(err)
	}
	b.WriteString("\n")
	if err := support.IncidentsTable(fx.Incidents).WriteText(&b, 60); err != nil {
		t.Fatal(err)
	}
	b.WriteString("\n")
	if err := support.IncidentFields(&fx.Incidents[3]).WriteText(&b, 0); err != nil {
		t.Fatal(err)
	}
	golden(t, "failures-calls-incidents.txt", b.Bytes())
}

func TestYAMLKeepsJSONNamesAndOrder(t *testing.T) {
	fx := supporttest.Generate(supporttest.Size{Customers: 1, PoliciesPerCustomer: 1, Slots: 1})
	p := fx.Policies[0]
	p.PolicyID = "007" // a string that looks like a number stays a string
	p.AccountID = "true"
	var b bytes.Buffer
	if err := support.WriteYAML(&b, &p); err != nil {
		t.Fatal(err)
	}
	golden(t, "policy.yaml", b.Bytes())
}
