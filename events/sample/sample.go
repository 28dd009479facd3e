// Package sample builds and reads the sample events under events/: what
// AWS would deliver to each function of template.yaml on the local stage
// (the stack `snaplocal up` runs), for `sam local invoke -e`. It never runs
// in a Lambda: the functions' tests build their samples with it (the
// stores' real writes into Tables, whose stream records are DynamoDB's),
// compare them with the files (go test ./functions/<name> -update
// rewrites them) and run their handlers on the files; events/events_test.go
// checks every file against template.yaml.
package sample

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The local stage's account, as template.yaml names its resources there.
const (
	// Stage is the stage snaplocal runs (template parameter Stage).
	Stage = "local"
	// Region is the local stack's region (moto's and SAM's default).
	Region = "us-east-1"
	// Account is moto's account id (and SAM local's AWS_ACCOUNT_ID).
	Account = "123456789012"
	// TablePrefix names the local tables "<TablePrefix><LogicalID>", as
	// infra/awslocal creates them.
	TablePrefix = "snapkeep-" + Stage + "-"
	// Endpoint is where a function in SAM's container reaches moto: the
	// host's port 5000 (AWS_ENDPOINT_URL in events/env.json).
	Endpoint = "http://host.docker.internal:5000"
)

// Update rewrites the sample files from the code that builds them
// (go test ./functions/<name> -update).
var Update = flag.Bool("update", false, "rewrite the sample events under events/ from the code that builds them")

// streamCreated is when each table's stream was made (the stack's
// creation): the label of its stream ARN.
var streamCreated = map[string]time.Time{
	"PoliciesTable": time.Date(2026, 11, 2, 9, 41, 17, 208e6, time.UTC),
	"RunsTable":     time.Date(2026, 11, 2, 9, 41, 17, 514e6, time.UTC),
	"ApiCallsTable": time.Date(2026, 11, 2, 9, 41, 17, 846e6, time.UTC),
}

// TableName is a table's name on the local stage.
func TableName(logicalID string) string { return TablePrefix + logicalID }

// LogicalID is the template's logical id of a local table name ("" when
// name is not one).
func LogicalID(name string) string {
	id, ok := strings.CutPrefix(name, TablePrefix)
	if !ok {
		return ""
	}
	return id
}

// StreamARN is the ARN of a table's stream, labelled (as AWS labels
// streams) with the time it was made.
func StreamARN(logicalID string) string {
	at, ok := streamCreated[logicalID]
	if !ok {
		panic("sample: no stream for table " + logicalID)
	}
	return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s/stream/%s", Region, Account, TableName(logicalID), at.Format("2006-01-02T15:04:05.000"))
}

// StreamCreated is when a table's stream was made.
func StreamCreated(logicalID string) time.Time { return streamCreated[logicalID] }

// ShardID is the id of the stream shard a record written at t is in:
// DynamoDB opens a new shard about every four hours, and names it after
// the time it opened (milliseconds) and a hash.
func ShardID(logicalID string, t time.Time) string {
	opened := t.UTC().Truncate(4 * time.Hour).Add(time.Duration(len(logicalID)) * 1117 * time.Millisecond)
	return fmt.Sprintf("shardId-%020d-%s", opened.UnixMilli(), hash(logicalID, opened.String())[:8])
}

// QueueARN and QueueURL name a queue of the template on the local stage
// (the URL as a function in SAM's container reaches it through moto).
func QueueARN(logicalID string) string {
	return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", Region, Account, TablePrefix+logicalID)
}

// QueueURL is the URL of a queue of the template on the local stage.
func QueueURL(logicalID string) string {
	return Endpoint + "/" + Account + "/" + TablePrefix + logicalID
}

// FunctionARN is the ARN of a function of the template on the local stage
// (snaplocal names it snapkeep-local-<LogicalID>).
func FunctionARN(logicalID string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:snapkeep-%s-%s", Region, Account, Stage, logicalID)
}

// hash is a stable hex digest of parts (ids that look like AWS's).
func hash(parts ...string) string {
	sum := md5.Sum([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}

// UUID is a stable version-4-shaped UUID of parts (request ids).
func UUID(parts ...string) string {
	h := hash(parts...)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

// Root is the module root (the directory holding go.mod and
// template.yaml), found from the working directory up.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "template.yaml")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return dir, nil
			}
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("no template.yaml and go.mod above the working directory")
		}
		dir = up
	}
}

// Path is the path of a sample, rel being relative to events/
// ("notify/batch.json").
func Path(t testing.TB, rel string) string {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "events", filepath.FromSlash(rel))
}

// TemplatePath is the path of template.yaml.
func TemplatePath(t testing.TB) string {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "template.yaml")
}

// Read returns a sample's bytes (rel relative to events/).
func Read(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(Path(t, rel))
	if err != nil {
		t.Fatalf("%v (go test -update in the function's package writes it)", err)
	}
	return b
}

// Decode reads a sample into v, refusing fields v does not have: a
// sample's shape is its events type's.
func Decode(t testing.TB, rel string, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(Read(t, rel)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("events/%s does not decode as a %T: %v", rel, v, err)
	}
}

// Encode is how a sample file holds v: indented JSON, HTML characters
// as they are, a final newline.
func Encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Golden checks that the sample rel holds v, or with -update writes it.
func Golden(t testing.TB, rel string, v any) {
	t.Helper()
	want, err := Encode(v)
	if err != nil {
		t.Fatalf("encode events/%s: %v", rel, err)
	}
	path := Path(t, rel)
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update in this package writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("events/%s differs from what the code builds; go test -update in this package rewrites it", rel)
	}
}

// Files lists the samples of a folder of events/ (their names).
func Files(t testing.TB, dir string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(Path(t, dir), "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	return names
}
