package awslocal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	cfndynamodb "github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/snapkeep/snapkeep/infra/cfn"
)

// TableTypeName is the CloudFormation type of a DynamoDB table.
const TableTypeName = "AWS::DynamoDB::Table"

// TableDef is one AWS::DynamoDB::Table of template.yaml, reduced to what
// shapes the table's data: keys, attribute types, indexes, stream and TTL.
type TableDef struct {
	// LogicalID is the resource's logical id, e.g. "PoliciesTable".
	LogicalID string
	// Attributes maps each defined attribute name to its type (S, N or B).
	Attributes map[string]string
	// PartitionKey is the table's HASH key attribute name.
	PartitionKey string
	// SortKey is the table's RANGE key attribute name; "" when it has none.
	SortKey string
	// Indexes are the table's global secondary indexes, in template order.
	Indexes []IndexDef
	// StreamViewType is the stream's view type (e.g. NEW_AND_OLD_IMAGES);
	// "" when the table has no stream.
	StreamViewType string
	// TTLAttribute is the TTL attribute name when TTL is enabled, else "".
	TTLAttribute string
}

// IndexDef is one global secondary index of a TableDef.
type IndexDef struct {
	// Name is the index name.
	Name string
	// PartitionKey is the index's HASH key attribute name.
	PartitionKey string
	// SortKey is the index's RANGE key attribute name; "" when it has none.
	SortKey string
	// ProjectionType is ALL, KEYS_ONLY or INCLUDE.
	ProjectionType string
	// NonKeyAttributes are the projected attributes of an INCLUDE index.
	NonKeyAttributes []string
}

// Tables reads every AWS::DynamoDB::Table of the CloudFormation/SAM template
// at templatePath, sorted by logical id.
//
// The template is read with goformation, but not with goformation.Open: that
// decodes every resource into goformation's typed structs, and the SAM
// function resources do not fit them once intrinsics are resolved (a !Ref to
// a Number parameter in Environment.Variables becomes a number where
// goformation wants a string). So the template's intrinsic functions are
// processed with goformation's intrinsics package (!Sub, !GetAtt, !If, !Ref
// AWS::NoValue, ...) and only the DynamoDB table resources are decoded, with
// goformation's own dynamodb.Table type, which rejects unknown properties.
func Tables(templatePath string) ([]TableDef, error) {
	return cfn.ReadFile(templatePath, ParseTables)
}

// processMu serialises goformation's intrinsics.ProcessYAML, which writes a
// package-level map on every call (two at once crash the process).
var processMu sync.Mutex

// ParseTables is Tables on the YAML or JSON text of a template.
func ParseTables(template []byte) ([]TableDef, error) {
	processMu.Lock()
	processed, err := intrinsics.ProcessYAML(template, nil)
	processMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("process intrinsic functions: %w", err)
	}
	var doc struct {
		Resources map[string]json.RawMessage
	}
	if err := json.Unmarshal(processed, &doc); err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	var defs []TableDef
	for id, raw := range doc.Resources {
		var head struct{ Type string }
		if err := json.Unmarshal(raw, &head); err != nil {
			return nil, fmt.Errorf("resource %s: %w", id, err)
		}
		if head.Type != TableTypeName {
			continue
		}
		var tbl cfndynamodb.Table
		if err := json.Unmarshal(raw, &tbl); err != nil {
			return nil, fmt.Errorf("table %s: %w", id, err)
		}
		def, err := tableDef(id, &tbl)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", id, err)
		}
		defs = append(defs, def)
	}
	sort.Slice(defs, func(i, j int) bool { return defs[i].LogicalID < defs[j].LogicalID })
	return defs, nil
}

func tableDef(id string, tbl *cfndynamodb.Table) (TableDef, error) {
	def := TableDef{LogicalID: id, Attributes: map[string]string{}}
	for _, a := range tbl.AttributeDefinitions {
		def.Attributes[a.AttributeName] = a.AttributeType
	}
	var err error
	if def.PartitionKey, def.SortKey, err = keys(tbl.KeySchema, def.Attributes); err != nil {
		return TableDef{}, fmt.Errorf("KeySchema: %w", err)
	}
	if len(tbl.LocalSecondaryIndexes) > 0 {
		return TableDef{}, errors.New("LocalSecondaryIndexes are not supported by the local stack")
	}
	for _, g := range tbl.GlobalSecondaryIndexes {
		idx := IndexDef{Name: g.IndexName}
		if idx.PartitionKey, idx.SortKey, err = keys(g.KeySchema, def.Attributes); err != nil {
			return TableDef{}, fmt.Errorf("index %s: KeySchema: %w", g.IndexName, err)
		}
		if g.Projection == nil || g.Projection.ProjectionType == nil {
			idx.ProjectionType = "KEYS_ONLY" // CloudFormation's default
		} else {
			idx.ProjectionType = *g.Projection.ProjectionType
		}
		if g.Projection != nil {
			idx.NonKeyAttributes = append([]string(nil), g.Projection.NonKeyAttributes...)
		}
		def.Indexes = append(def.Indexes, idx)
	}
	if s := tbl.StreamSpecification; s != nil {
		def.StreamViewType = s.StreamViewType
	}
	if ttl := tbl.TimeToLiveSpecification; ttl != nil && ttl.Enabled {
		if ttl.AttributeName == nil || *ttl.AttributeName == "" {
			return TableDef{}, errors.New("TimeToLiveSpecification is enabled without AttributeName")
		}
		def.TTLAttribute = *ttl.AttributeName
	}
	return def, nil
}

// keys returns the HASH and RANGE attribute names of a key schema and checks
// that each is a defined attribute.
func keys(schema []cfndynamodb.Table_KeySchema, attrs map[string]string) (hash, rng string, err error) {
	for _, k := range schema {
		if _, ok := attrs[k.AttributeName]; !ok {
			return "", "", fmt.Errorf("key attribute %q is not in AttributeDefinitions", k.AttributeName)
		}
		switch k.KeyType {
		case "HASH":
			if hash != "" {
				return "", "", errors.New("more than one HASH key")
			}
			hash = k.AttributeName
		case "RANGE":
			if rng != "" {
				return "", "", errors.New("more than one RANGE key")
			}
			rng = k.AttributeName
		default:
			return "", "", fmt.Errorf("key %q: unknown KeyType %q", k.AttributeName, k.KeyType)
		}
	}
	if hash == "" {
		return "", "", errors.New("no HASH key")
	}
	return hash, rng, nil
}

// FindTemplate walks up from the working directory to the module root (the
// directory holding go.mod) and returns the path of its template.yaml.
func FindTemplate() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find template.yaml: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			path := filepath.Join(dir, "template.yaml")
			if _, err := os.Stat(path); err != nil {
				return "", fmt.Errorf("find template.yaml: module root %s: %w", dir, err)
			}
			return path, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find template.yaml: no go.mod above the working directory")
		}
		dir = parent
	}
}
