package dynamo_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/snapkeep/snapkeep/infra/awslocal"
	"github.com/snapkeep/snapkeep/shared/dynamo"
)

// templatePath is the module's template.yaml, two directories up.
var templatePath = filepath.Join("..", "..", "template.yaml")

// schemaProblems compares the code's tables (specs) with template.yaml's
// (defs) and describes every difference, naming the table and the field.
func schemaProblems(specs []dynamo.TableSpec, defs []awslocal.TableDef) []string {
	byID := map[string]awslocal.TableDef{}
	for _, d := range defs {
		byID[d.LogicalID] = d
	}
	var problems []string
	known := map[string]bool{}
	for _, spec := range specs {
		known[spec.LogicalID] = true
		def, ok := byID[spec.LogicalID]
		if !ok {
			problems = append(problems, fmt.Sprintf("table %s (%s): missing from template.yaml", spec.LogicalID, spec.EnvVar))
			continue
		}
		add := func(format string, args ...any) {
			problems = append(problems, fmt.Sprintf("table %s: ", spec.LogicalID)+fmt.Sprintf(format, args...))
		}
		checkKey := func(what string, want dynamo.KeyAttr, got string) {
			if g := keyAttr(def, got); g != want {
				add("%s: template.yaml has %s, code expects %s", what, showKey(g), showKey(want))
			}
		}
		checkKey("partition key", spec.PartitionKey, def.PartitionKey)
		checkKey("sort key", spec.SortKey, def.SortKey)

		defIdx := map[string]awslocal.IndexDef{}
		for _, idx := range def.Indexes {
			defIdx[idx.Name] = idx
		}
		for _, want := range spec.Indexes {
			idx, ok := defIdx[want.Name]
			if !ok {
				add("index %s: missing from template.yaml", want.Name)
				continue
			}
			delete(defIdx, want.Name)
			checkKey("index "+want.Name+" partition key", want.PartitionKey, idx.PartitionKey)
			checkKey("index "+want.Name+" sort key", want.SortKey, idx.SortKey)
			// The stores read whole items from every index.
			if idx.ProjectionType != "ALL" {
				add("index %s: projection %s, code expects ALL", want.Name, idx.ProjectionType)
			}
		}
		for name := range defIdx {
			add("index %s: in template.yaml but not in the code's TableSpec", name)
		}

		wantStream := spec.Stream
		if def.StreamViewType != wantStream {
			add("stream: template.yaml has %s, code expects %s", orNone(def.StreamViewType), orNone(wantStream))
		}
		if def.TTLAttribute != spec.TTLAttribute {
			add("TTL attribute: template.yaml has %s, code expects %s", orNone(def.TTLAttribute), orNone(spec.TTLAttribute))
		}
	}
	for _, d := range defs {
		if !known[d.LogicalID] {
			problems = append(problems, fmt.Sprintf("table %s: in template.yaml but not in dynamo.AllTables()", d.LogicalID))
		}
	}
	slices.Sort(problems)
	return problems
}

func keyAttr(def awslocal.TableDef, name string) dynamo.KeyAttr {
	if name == "" {
		return dynamo.KeyAttr{}
	}
	return dynamo.KeyAttr{Name: name, Type: def.Attributes[name]}
}

func showKey(k dynamo.KeyAttr) string {
	if k.Name == "" {
		return "none"
	}
	return k.Name + " (" + k.Type + ")"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func TestSchemaMatchesTemplate(t *testing.T) {
	defs, err := awslocal.Tables(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range schemaProblems(dynamo.AllTables(), defs) {
		t.Error(p)
	}
}

// TestSchemaCheckFailsOnDrift proves the check above can fail: it runs it
// against broken copies of template.yaml and expects messages naming the
// table and the field.
func TestSchemaCheckFailsOnDrift(t *testing.T) {
	orig, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		old, new  string // replace old with new in template.yaml
		all       bool   // every old, not only the first
		wantParts []string
	}{
		{
			name: "missing table", old: "\n  IncidentsTable:\n", new: "\n  IncidentsTableRenamed:\n",
			wantParts: []string{"table IncidentsTable (INCIDENTS_TABLE): missing from template.yaml"},
		},
		{
			name: "key type", old: "- { AttributeName: seq, AttributeType: N }", new: "- { AttributeName: seq, AttributeType: S }",
			wantParts: []string{"table ApiCallsTable: sort key: template.yaml has seq (S), code expects seq (N)"},
		},
		{
			name: "key name", old: "AttributeName: window,", new: "AttributeName: window_bucket,", all: true,
			wantParts: []string{"table StatsTable: sort key: template.yaml has window_bucket (S), code expects window (S)"},
		},
		{
			name: "index key", old: "- { AttributeName: customer_id, KeyType: HASH }\n", new: "- { AttributeName: policy_id, KeyType: HASH }\n",
			wantParts: []string{"table PoliciesTable: index by-customer partition key: template.yaml has policy_id (S), code expects customer_id (S)"},
		},
		{
			name: "projection", old: "Projection: { ProjectionType: ALL }", new: "Projection: { ProjectionType: KEYS_ONLY }",
			wantParts: []string{"table PoliciesTable: index by-customer: projection KEYS_ONLY, code expects ALL"},
		},
		{
			name: "index", old: "- IndexName: failures-by-class", new: "- IndexName: failures",
			wantParts: []string{"table RunsTable: index failures-by-class: missing", "table RunsTable: index failures: in template.yaml"},
		},
		{
			name: "stream", old: "StreamViewType: NEW_AND_OLD_IMAGES", new: "StreamViewType: KEYS_ONLY",
			wantParts: []string{"table PoliciesTable: stream: template.yaml has KEYS_ONLY, code expects NEW_AND_OLD_IMAGES"},
		},
		{
			name: "ttl", old: "AttributeName: expires_at", new: "AttributeName: expiry",
			wantParts: []string{"table ApiCallsTable: TTL attribute: template.yaml has expiry, code expects expires_at"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(orig), tc.old) {
				t.Fatalf("template.yaml no longer contains %q: update this test", tc.old)
			}
			n := 1
			if tc.all {
				n = -1
			}
			broken := strings.Replace(string(orig), tc.old, tc.new, n)
			defs, err := awslocal.ParseTables([]byte(broken))
			if err != nil {
				t.Fatalf("parse broken template: %v", err)
			}
			problems := strings.Join(schemaProblems(dynamo.AllTables(), defs), "\n")
			if problems == "" {
				t.Fatal("no problems found in a broken template")
			}
			for _, want := range tc.wantParts {
				if !strings.Contains(problems, want) {
					t.Errorf("problems do not contain %q:\n%s", want, problems)
				}
			}
		})
	}
}
