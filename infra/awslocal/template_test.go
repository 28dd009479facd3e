package awslocal

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/snapkeep/snapkeep/shared/dynamo"
)

func TestTablesFromProjectTemplate(t *testing.T) {
	path, err := FindTemplate()
	if err != nil {
		t.Fatal(err)
	}
	defs, err := Tables(path)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	byID := map[string]TableDef{}
	for _, d := range defs {
		ids = append(ids, d.LogicalID)
		byID[d.LogicalID] = d
	}
	var wantIDs []string
	for _, spec := range dynamo.AllTables() {
		wantIDs = append(wantIDs, spec.LogicalID)
	}
	sort.Strings(wantIDs)
	if !reflect.DeepEqual(ids, wantIDs) {
		t.Fatalf("tables %v, want %v (sorted)", ids, wantIDs)
	}
	wantCalls := TableDef{
		LogicalID:    "ApiCallsTable",
		Attributes:   map[string]string{"run_id": "S", "seq": "N", "provider_request_id": "S", "failure_hour": "S", "started_at": "S"},
		PartitionKey: "run_id", SortKey: "seq",
		Indexes: []IndexDef{
			{Name: "by-request-id", PartitionKey: "provider_request_id", ProjectionType: "ALL"},
			{Name: "failures-by-hour", PartitionKey: "failure_hour", SortKey: "started_at", ProjectionType: "ALL"},
		},
		StreamViewType: "NEW_IMAGE",
		TTLAttribute:   "expires_at",
	}
	if got := byID["ApiCallsTable"]; !reflect.DeepEqual(got, wantCalls) {
		t.Errorf("ApiCallsTable =\n%+v\nwant\n%+v", got, wantCalls)
	}
	runs := byID["RunsTable"]
	var names []string
	for _, ix := range runs.Indexes {
		names = append(names, ix.Name)
	}
	if want := []string{"by-customer", "by-resource", "failures-by-class", "unfinished", "retrying"}; runs.StreamViewType != "NEW_AND_OLD_IMAGES" ||
		!reflect.DeepEqual(names, want) || runs.TTLAttribute != "" {
		t.Errorf("RunsTable = %+v; want a NEW_AND_OLD_IMAGES stream, indexes %v, no TTL", runs, want)
	}
}

// A template with the intrinsic functions and SAM shapes that keep
// goformation.Open from reading the project's template.
const intrinsicsTemplate = `
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: { Type: String, Default: dev }
  Days: { Type: Number, Default: 90 }
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          DAYS: !Ref Days
          TABLE: !Ref ThingsTable
          ARN: !GetAtt ThingsTable.StreamArn
      Policies:
        - Statement:
            - Effect: Allow
              Action: ses:SendEmail
              Resource:
                - !Sub arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*
                - !If [IsProd, !Sub "arn:aws:ses:::configuration-set/${Stage}", !Ref AWS::NoValue]
  ThingsTable:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub things-${Stage}
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - { AttributeName: id, AttributeType: S }
        - { AttributeName: owner, AttributeType: S }
        - { AttributeName: n, AttributeType: N }
      KeySchema:
        - { AttributeName: id, KeyType: HASH }
      GlobalSecondaryIndexes:
        - IndexName: by-owner
          KeySchema:
            - { AttributeName: owner, KeyType: HASH }
            - { AttributeName: n, KeyType: RANGE }
          Projection: { ProjectionType: INCLUDE, NonKeyAttributes: [title] }
      StreamSpecification: { StreamViewType: NEW_IMAGE }
      TimeToLiveSpecification: { AttributeName: gone_at, Enabled: false }
`

func TestParseTablesWithIntrinsics(t *testing.T) {
	defs, err := ParseTables([]byte(intrinsicsTemplate))
	if err != nil {
		t.Fatal(err)
	}
	want := []TableDef{{
		LogicalID:    "ThingsTable",
		Attributes:   map[string]string{"id": "S", "owner": "S", "n": "N"},
		PartitionKey: "id",
		Indexes:      []IndexDef{{Name: "by-owner", PartitionKey: "owner", SortKey: "n", ProjectionType: "INCLUDE", NonKeyAttributes: []string{"title"}}},
		// TTL disabled: no TTLAttribute.
		StreamViewType: "NEW_IMAGE",
	}}
	if !reflect.DeepEqual(defs, want) {
		t.Errorf("ParseTables =\n%+v\nwant\n%+v", defs, want)
	}
}

func TestParseTablesErrors(t *testing.T) {
	tests := []struct {
		name, old, new, want string
	}{
		{"undefined key attribute", "- { AttributeName: id, KeyType: HASH }", "- { AttributeName: uid, KeyType: HASH }",
			`table ThingsTable: KeySchema: key attribute "uid" is not in AttributeDefinitions`},
		{"no hash key", "- { AttributeName: id, KeyType: HASH }", "- { AttributeName: id, KeyType: RANGE }",
			"table ThingsTable: KeySchema: no HASH key"},
		{"unknown property", "BillingMode: PAY_PER_REQUEST", "BilingMode: PAY_PER_REQUEST",
			"table ThingsTable: "},
		{"index key", "- { AttributeName: n, KeyType: RANGE }", "- { AttributeName: m, KeyType: RANGE }",
			`table ThingsTable: index by-owner: KeySchema: key attribute "m"`},
		{"ttl without attribute", "{ AttributeName: gone_at, Enabled: false }", "{ Enabled: true }",
			"table ThingsTable: TimeToLiveSpecification is enabled without AttributeName"},
		{"local index", "      StreamSpecification:", "      LocalSecondaryIndexes:\n        - { IndexName: l, KeySchema: [{ AttributeName: id, KeyType: HASH }], Projection: { ProjectionType: ALL } }\n      StreamSpecification:",
			"table ThingsTable: LocalSecondaryIndexes are not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(intrinsicsTemplate, tc.old) {
				t.Fatalf("template lacks %q", tc.old)
			}
			_, err := ParseTables([]byte(strings.Replace(intrinsicsTemplate, tc.old, tc.new, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseTables error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestTablesMissingFile(t *testing.T) {
	_, err := Tables(filepath.Join(t.TempDir(), "template.yaml"))
	if err == nil || !strings.Contains(err.Error(), "read template") {
		t.Errorf("Tables(missing) error = %v", err)
	}
}

func TestFindTemplate(t *testing.T) {
	got, err := FindTemplate()
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if want := filepath.Join(wd, "..", "..", "template.yaml"); filepath.Clean(want) != got {
		t.Errorf("FindTemplate() = %q, want %q", got, filepath.Clean(want))
	}

	dir := t.TempDir()
	t.Chdir(dir)
	if _, err := FindTemplate(); err == nil || !strings.Contains(err.Error(), "no go.mod") {
		t.Errorf("outside a module: error %v, want no go.mod", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	if _, err := FindTemplate(); err == nil || !strings.Contains(err.Error(), "module root") {
		t.Errorf("module without template: error %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "template.yaml"), []byte("Resources: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = FindTemplate()
	if err != nil || !strings.HasSuffix(got, filepath.Join(filepath.Base(dir), "template.yaml")) {
		t.Errorf("FindTemplate() from a subdirectory = %q, %v", got, err)
	}
}
