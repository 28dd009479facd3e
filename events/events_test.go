// Package events_test checks the sample events under events/ against
// template.yaml: every DynamoDB stream sample is a batch the template's
// mapping would deliver on the local stage (its table's stream, batch
// size, batching window, tumbling window and filters), each record's
// images are what the stores write and its times are consistent with the
// item's; events/env.json's values are the template's or the local
// stage's stated choices; no sample holds a secret; and every sample is
// named in a test of its function.
package events_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/events/sample"
	"github.com/snapkeep/snapkeep/infra/awslocal"
	"github.com/snapkeep/snapkeep/infra/local"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// functionDirs maps the folders of events/ (and functions/) to the
// template's function logical ids.
var functionDirs = map[string]string{
	"snapshot":  "SnapshotFunction",
	"schedules": "SchedulesFunction",
	"errorrate": "ErrorRateFunction",
	"notify":    "NotifyFunction",
}

// sampleFiles lists every sample: "<folder>/<name>.json".
func sampleFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	for dir := range functionDirs {
		for _, name := range sample.Files(t, dir) {
			out = append(out, dir+"/"+name)
		}
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && e.Name() != "sample" && functionDirs[e.Name()] == "" {
			t.Errorf("events/%s is not a function's folder (%v)", e.Name(), functionDirs)
		}
	}
	slices.Sort(out)
	return out
}

// TestEverySampleIsTested: each sample's name ("<name>.json" or
// "<folder>/<name>.json") is a string literal in a test of its function
// (which builds it, compares it and runs the handler on it); a mention in
// a comment does not count.
func TestEverySampleIsTested(t *testing.T) {
	literals := map[string]map[string]bool{} // folder: the string literals of its function's tests
	for _, rel := range sampleFiles(t) {
		dir, name, _ := strings.Cut(rel, "/")
		if literals[dir] == nil {
			literals[dir] = testLiterals(t, filepath.Join("..", "functions", dir))
		}
		if !literals[dir][name] && !literals[dir][rel] {
			t.Errorf("events/%s is named in no string literal of functions/%s's tests", rel, dir)
		}
	}
}

// testLiterals is the set of string literals (unquoted) in the _test.go
// files of dir.
func testLiterals(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("%s has no tests (%v)", dir, err)
	}
	out := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if v, err := strconv.Unquote(lit.Value); err == nil {
					out[v] = true
				}
			}
			return true
		})
	}
	return out
}

// testLiterals counts a name written as a string literal, raw or
// interpreted, and not one in a comment or an identifier.
func TestTestLiterals(t *testing.T) {
	dir := t.TempDir()
	src := "package x\n\n// commented.json is only mentioned here.\nvar a, b = \"interpreted.json\", `raw.json`\n\nfunc Test(t *testing.T) { _ = \"notify/\" + \"joined.json\" }\n"
	if err := os.WriteFile(filepath.Join(dir, "x_test.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	got := testLiterals(t, dir)
	for name, want := range map[string]bool{"interpreted.json": true, "raw.json": true, "joined.json": true, "commented.json": false, "notify/joined.json": false} {
		if got[name] != want {
			t.Errorf("testLiterals has %q: %v, want %v (all: %v)", name, got[name], want, got)
		}
	}
}

// streamSample is a DynamoDB stream sample: the batch and, for a
// windowed mapping, the window's fields.
type streamSample struct {
	rel      string
	src      local.Source
	def      awslocal.TableDef
	records  []events.DynamoDBEventRecord
	windowed bool
	window   sample.WindowEvent
}

// streamSamples reads every sample that is a DynamoDB stream batch, with
// the mapping of its function that reads its records' stream.
func streamSamples(t *testing.T) []streamSample {
	t.Helper()
	srcs, err := local.Sources(sample.TemplatePath(t))
	if err != nil {
		t.Fatal(err)
	}
	defs, err := awslocal.Tables(sample.TemplatePath(t))
	if err != nil {
		t.Fatal(err)
	}
	var out []streamSample
	for _, rel := range sampleFiles(t) {
		raw := sample.Read(t, rel)
		var probe struct {
			Records []struct {
				EventSource    string `json:"eventSource"`
				EventSourceARN string `json:"eventSourceARN"`
			} `json:"Records"`
			Window *json.RawMessage `json:"window"`
			ARN    string           `json:"eventSourceARN"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil || probe.Records == nil || (len(probe.Records) > 0 && probe.Records[0].EventSource != "aws:dynamodb") {
			continue
		}
		arn := probe.ARN
		if len(probe.Records) > 0 {
			arn = probe.Records[0].EventSourceARN
		}
		s := streamSample{rel: rel, windowed: probe.Window != nil}
		dir, _, _ := strings.Cut(rel, "/")
		for _, src := range srcs {
			if src.Function == functionDirs[dir] && sample.StreamARN(src.Table) == arn {
				s.src = src
			}
		}
		if s.src.Function == "" {
			t.Errorf("%s: stream %s is read by no mapping of %s", rel, arn, functionDirs[dir])
			continue
		}
		for _, d := range defs {
			if d.LogicalID == s.src.Table {
				s.def = d
			}
		}
		if s.windowed {
			sample.Decode(t, rel, &s.window)
			s.records = s.window.Records
			// The events type's own field names, the state aside (the
			// function's JSON object; aws-lambda-go's wants strings).
			plain := s.window
			plain.State = json.RawMessage(`{}`)
			b, _ := json.Marshal(plain)
			var typed events.DynamoDBTimeWindowEvent
			strictly(t, rel, b, &typed)
		} else {
			var ev events.DynamoDBEvent
			sample.Decode(t, rel, &ev)
			s.records = ev.Records
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		t.Fatal("no stream samples")
	}
	return out
}

func strictly(t *testing.T, rel string, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Errorf("%s does not decode as a %T: %v", rel, v, err)
	}
}

// TestStreamBatches: each stream sample is a batch its mapping delivers:
// within the batch size and the batching window, every record passing the
// filters, in one tumbling window of the template's length (with its
// shard and stream) when the mapping has windows, a final invocation
// without records.
func TestStreamBatches(t *testing.T) {
	for _, s := range streamSamples(t) {
		t.Run(s.rel, func(t *testing.T) {
			if len(s.records) > s.src.BatchSize {
				t.Errorf("%d records, over %s's BatchSize %d", len(s.records), s.src, s.src.BatchSize)
			}
			if len(s.records) > 0 {
				first := s.records[0].Change.ApproximateCreationDateTime.UTC()
				last := s.records[len(s.records)-1].Change.ApproximateCreationDateTime.UTC()
				if span := last.Sub(first); span > s.src.BatchingWindow() {
					t.Errorf("records span %v, over %s's batching window %v", span, s.src, s.src.BatchingWindow())
				}
			}
			f, err := local.CompileFilter(s.src.Filters)
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range s.records {
				if ok, err := f.MatchRecord(rec); err != nil || !ok {
					t.Errorf("record %s does not pass %s's filters (%v)", rec.EventID, s.src, err)
				}
			}
			if s.windowed != (s.src.TumblingWindowInSeconds > 0) {
				t.Fatalf("window fields %v, but %s has TumblingWindowInSeconds %d", s.windowed, s.src, s.src.TumblingWindowInSeconds)
			}
			if !s.windowed {
				if len(s.records) == 0 {
					t.Error("a batch without windows has records")
				}
				return
			}
			w := s.window
			start, end := w.Window.Start.UTC(), w.Window.End.UTC()
			if end.Sub(start) != s.src.TumblingWindow() || !start.Equal(start.Truncate(s.src.TumblingWindow())) {
				t.Errorf("window %v-%v is not one of %s's %v windows", start, end, s.src, s.src.TumblingWindow())
			}
			if w.EventSourceARN != sample.StreamARN(s.src.Table) || w.ShardID != sample.ShardID(s.src.Table, start) || !bytes.HasPrefix(w.State, []byte("{")) {
				t.Errorf("stream %s, shard %s, state %s; want %s, %s and an object", w.EventSourceARN, w.ShardID, w.State, sample.StreamARN(s.src.Table), sample.ShardID(s.src.Table, start))
			}
			if w.IsFinalInvokeForWindow == (len(s.records) > 0) || w.IsWindowTerminatedEarly {
				t.Errorf("final %v, terminated early %v with %d records; want records before the final invocation, none in it",
					w.IsFinalInvokeForWindow, w.IsWindowTerminatedEarly, len(s.records))
			}
			for _, rec := range s.records {
				if at := rec.Change.ApproximateCreationDateTime.UTC(); at.Before(start) || !at.Before(end) {
					t.Errorf("record %s stamped %v, outside the window %v-%v", rec.EventID, at, start, end)
				}
			}
		})
	}
}

// TestStreamRecords: each record is DynamoDB's: its table's stream ARN,
// view type and keys, sequence numbers growing, unique ids, and images
// that are exactly what the stores write (they decode as the domain type
// and encode back unchanged, each attribute the template defines of its
// type), the poison samples' one bad record aside.
func TestStreamRecords(t *testing.T) {
	ids := map[string]string{}
	for _, s := range streamSamples(t) {
		t.Run(s.rel, func(t *testing.T) {
			bad := 0
			for i, rec := range s.records {
				where := fmt.Sprintf("record %d (%s)", i, rec.EventID)
				if rec.EventSource != "aws:dynamodb" || rec.EventVersion != "1.1" || rec.AWSRegion != sample.Region || rec.EventSourceArn != sample.StreamARN(s.src.Table) {
					t.Errorf("%s: %s %s %s %s; want aws:dynamodb 1.1 %s %s", where, rec.EventSource, rec.EventVersion, rec.AWSRegion, rec.EventSourceArn, sample.Region, sample.StreamARN(s.src.Table))
				}
				if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(rec.EventID) || ids[rec.EventID] != "" {
					t.Errorf("%s: event id %q is not 32 hex digits or is also in %s", where, rec.EventID, ids[rec.EventID])
				}
				ids[rec.EventID] = s.rel
				if i > 0 && (!seqBefore(s.records[i-1].Change.SequenceNumber, rec.Change.SequenceNumber) ||
					rec.Change.ApproximateCreationDateTime.Before(s.records[i-1].Change.ApproximateCreationDateTime.Time)) {
					t.Errorf("%s: sequence number %s stamped %v, after %s stamped %v", where, rec.Change.SequenceNumber, rec.Change.ApproximateCreationDateTime.UTC(),
						s.records[i-1].Change.SequenceNumber, s.records[i-1].Change.ApproximateCreationDateTime.UTC())
				}
				if rec.Change.StreamViewType != s.def.StreamViewType || rec.Change.SizeBytes <= 0 {
					t.Errorf("%s: view type %s, size %d; want the table's %s", where, rec.Change.StreamViewType, rec.Change.SizeBytes, s.def.StreamViewType)
				}
				checkImages(t, where, s.def, rec)
				if err := storeWrites(s.src.Table, rec.Change.NewImage); err != nil {
					bad++
					if !strings.Contains(s.rel, "poison") {
						t.Errorf("%s: the new image is not what the store writes: %v", where, err)
					}
				}
				if err := storeWrites(s.src.Table, rec.Change.OldImage); err != nil {
					t.Errorf("%s: the old image is not what the store writes: %v", where, err)
				}
			}
			if strings.Contains(s.rel, "poison") && bad != 1 {
				t.Errorf("%d records the store would not write, want the one poison record", bad)
			}
		})
	}
}

// seqBefore orders sequence numbers (decimal strings).
func seqBefore(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// checkImages: the event name fits the images, the view type carries
// them, the keys are the table's and the images', and each attribute the
// template defines has its type.
func checkImages(t *testing.T, where string, def awslocal.TableDef, rec events.DynamoDBEventRecord) {
	t.Helper()
	ch := rec.Change
	want := map[string]bool{"INSERT": ch.OldImage == nil && ch.NewImage != nil, "REMOVE": ch.NewImage == nil && ch.OldImage != nil,
		"MODIFY": ch.NewImage != nil && (ch.OldImage != nil || def.StreamViewType == dynamo.StreamNewImage)}
	if !want[rec.EventName] || (def.StreamViewType == dynamo.StreamNewImage && ch.OldImage != nil) {
		t.Errorf("%s: %s with old image %v, new image %v on a %s stream", where, rec.EventName, ch.OldImage != nil, ch.NewImage != nil, def.StreamViewType)
	}
	keys := []string{def.PartitionKey}
	if def.SortKey != "" {
		keys = append(keys, def.SortKey)
	}
	if len(ch.Keys) != len(keys) {
		t.Errorf("%s: keys %v, want %v", where, ch.Keys, keys)
	}
	for _, img := range []map[string]events.DynamoDBAttributeValue{ch.NewImage, ch.OldImage} {
		if img == nil {
			continue
		}
		for _, k := range keys {
			kb, _ := json.Marshal(ch.Keys[k])
			ib, _ := json.Marshal(img[k])
			if _, ok := ch.Keys[k]; !ok || !bytes.Equal(kb, ib) {
				t.Errorf("%s: key %s is %s, the image's %s", where, k, kb, ib)
			}
		}
		for name, typ := range def.Attributes {
			if v, ok := img[name]; ok && dataType(v) != typ {
				t.Errorf("%s: attribute %s is of type %s, the template defines %s (DynamoDB would refuse the item)", where, name, dataType(v), typ)
			}
		}
	}
}

func dataType(v events.DynamoDBAttributeValue) string {
	switch v.DataType() {
	case events.DataTypeString:
		return "S"
	case events.DataTypeNumber:
		return "N"
	case events.DataTypeBinary:
		return "B"
	}
	return fmt.Sprintf("type %d", v.DataType())
}

// storeWrites says why img is not an item the table's store writes: it
// must decode as the store's type and encode back to itself (an ApiCalls
// row's started_at in the store's fixed-width form).
func storeWrites(table string, img map[string]events.DynamoDBAttributeValue) error {
	if img == nil {
		return nil
	}
	item, err := dynamo.FromStreamImage(img)
	if err != nil {
		return err
	}
	var back map[string]types.AttributeValue
	switch table {
	case dynamo.Runs.LogicalID:
		back, err = roundTrip[snapkeep.Run](item)
	case dynamo.Policies.LogicalID:
		back, err = roundTrip[snapkeep.Policy](item)
	case dynamo.APICalls.LogicalID:
		var c snapkeep.APICall
		if err := attributevalue.UnmarshalMap(item, &c); err != nil {
			return err
		}
		if c.StartedAt.IsZero() {
			return fmt.Errorf("no started_at")
		}
		if back, err = attributevalue.MarshalMap(c); err == nil {
			back["started_at"] = &types.AttributeValueMemberS{Value: c.StartedAt.UTC().Format("2006-01-02T15:04:05.000000000Z")}
		}
	default:
		return fmt.Errorf("no store for table %s", table)
	}
	if err != nil {
		return err
	}
	got, _ := json.Marshal(sample.Image(back))
	want, _ := json.Marshal(img)
	if !bytes.Equal(got, want) {
		return fmt.Errorf("it encodes back as %s", got)
	}
	return nil
}

func roundTrip[T any](item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	var v T
	if err := attributevalue.UnmarshalMap(item, &v); err != nil {
		return nil, err
	}
	return attributevalue.MarshalMap(v)
}

// TestStreamRecordTimes: a record is stamped (ApproximateCreationDateTime,
// whole seconds) after its table's stream was made and within a second of
// the write its image records: a run's or policy's updated_at (a run's
// slot, claim and finish in that order, its old image written before), a
// call's end.
func TestStreamRecordTimes(t *testing.T) {
	for _, s := range streamSamples(t) {
		t.Run(s.rel, func(t *testing.T) {
			for i, rec := range s.records {
				where := fmt.Sprintf("record %d (%s)", i, rec.EventID)
				stamp := rec.Change.ApproximateCreationDateTime.UTC()
				if !stamp.Equal(stamp.Truncate(time.Second)) || !stamp.After(sample.StreamCreated(s.src.Table)) {
					t.Errorf("%s: stamped %v: want whole seconds after the stream was made (%v)", where, stamp, sample.StreamCreated(s.src.Table))
				}
				written, err := writtenAt(s.src.Table, rec.Change.NewImage, rec.Change.OldImage)
				removed := rec.Change.NewImage == nil // written some time after the item's last change
				switch {
				case err != nil && strings.Contains(s.rel, "poison"):
					continue // the record the store would not write
				case err != nil:
					t.Errorf("%s: %v", where, err)
				case stamp.Before(written.Truncate(time.Second)) || (!removed && stamp.Sub(written) > time.Second):
					t.Errorf("%s: stamped %v, its write was at %v", where, stamp, written)
				}
			}
		})
	}
}

// writtenAt is when the write of a record happened, by its images' own
// times (a REMOVE's: when the item last changed), checking that those are
// in order.
func writtenAt(table string, img, old map[string]events.DynamoDBAttributeValue) (time.Time, error) {
	if img == nil { // a REMOVE: written after the item's last change
		img = old
		old = nil
	}
	switch table {
	case dynamo.APICalls.LogicalID:
		var c snapkeep.APICall
		if err := dynamo.UnmarshalStreamImage(img, &c); err != nil || c.StartedAt.IsZero() {
			return time.Time{}, fmt.Errorf("row without a start: %v", err)
		}
		return c.StartedAt.Add(time.Duration(c.DurationMS) * time.Millisecond), nil
	case dynamo.Policies.LogicalID:
		var p, was snapkeep.Policy
		if err := dynamo.UnmarshalStreamImage(img, &p); err != nil {
			return time.Time{}, err
		}
		if old != nil {
			if err := dynamo.UnmarshalStreamImage(old, &was); err != nil || !was.UpdatedAt.Before(p.UpdatedAt) || !was.CreatedAt.Equal(p.CreatedAt) {
				return time.Time{}, fmt.Errorf("old image updated %v, created %v; new updated %v, created %v (%v)", was.UpdatedAt, was.CreatedAt, p.UpdatedAt, p.CreatedAt, err)
			}
		}
		if p.UpdatedAt.Before(p.CreatedAt) {
			return time.Time{}, fmt.Errorf("updated %v before created %v", p.UpdatedAt, p.CreatedAt)
		}
		return p.UpdatedAt, nil
	}
	var r, was snapkeep.Run
	if err := dynamo.UnmarshalStreamImage(img, &r); err != nil {
		return time.Time{}, err
	}
	if r.ClaimedAt.Before(r.ScheduledAt) || r.Deadline.Before(r.ClaimedAt) || r.UpdatedAt.Before(r.ClaimedAt) ||
		(r.FinishedAt != nil && (r.FinishedAt.Before(r.ClaimedAt) || r.FinishedAt.After(r.UpdatedAt))) ||
		(r.StartedAt != nil && (r.StartedAt.Before(r.ClaimedAt) || (r.FinishedAt != nil && r.StartedAt.After(*r.FinishedAt)))) {
		return time.Time{}, fmt.Errorf("run %s: slot %v, claimed %v, started %v, finished %v, updated %v, deadline %v: out of order",
			r.RunID, r.ScheduledAt, r.ClaimedAt, r.StartedAt, r.FinishedAt, r.UpdatedAt, r.Deadline)
	}
	if old != nil {
		if err := dynamo.UnmarshalStreamImage(old, &was); err != nil || !was.UpdatedAt.Before(r.UpdatedAt) || was.APICalls > r.APICalls ||
			(was.NextCheckAt != nil && was.NextCheckAt.Before(was.UpdatedAt)) {
			return time.Time{}, fmt.Errorf("old image updated %v (next check %v, %d calls), new updated %v (%d calls): out of order (%v)",
				was.UpdatedAt, was.NextCheckAt, was.APICalls, r.UpdatedAt, r.APICalls, err)
		}
	}
	return r.UpdatedAt, nil
}

// localEnv are the values events/env.json gives on purpose where the
// local stage differs from template.yaml's: the variables the template
// leaves to the stack (triggers.FunctionConfig.Provided: its tables,
// queue, schedule group, ARNs and parameters without a default) as
// `snaplocal up` creates them, and the few it decides that the local stage
// sets otherwise. Every other value must be the template's.
func localEnv() map[string]string {
	env := map[string]string{
		// The template's is empty (AWS's own endpoints); locally moto, on
		// the host, as SAM's container reaches it.
		sample.EndpointVar: sample.Endpoint,
		// snaplocal up runs with incident holds on, so the samples show
		// held failure notices; the template's default is off.
		"HOLD_NOTICES_DURING_INCIDENTS": "true",
		// Empty whatever the template's default: the local secret holds
		// the URL of snaplocal up's own fake Slack, which a function in
		// SAM's container cannot reach.
		"OPS_WEBHOOK_SECRET": "",
		// Provided by the stack.
		"APP_URL":               "https://app.snapkeep.example", // the AppURL parameter events/README.md passes
		"FOLLOW_UP_QUEUE_URL":   sample.QueueURL("FollowUpQueue"),
		"SCHEDULE_GROUP":        "snapkeep-" + sample.Stage,
		"SNAPSHOT_FUNCTION_ARN": sample.FunctionARN("SnapshotFunction"),
		"SCHEDULE_DLQ_ARN":      sample.QueueARN("ScheduleDeadLetterQueue"),
		"SCHEDULER_ROLE_ARN":    "arn:aws:iam::" + sample.Account + ":role/snapkeep-" + sample.Stage + "-scheduler-invoke",
	}
	for _, spec := range dynamo.AllTables() {
		env[spec.EnvVar] = sample.TableName(spec.LogicalID)
	}
	return env
}

// TestEnvFile: events/env.json is keyed by the template's functions, and
// each value it sets is the one template.yaml gives the function on the
// local stage (triggers.ReadTemplate: Globals applied, parameters at their
// defaults) or, for a variable the stack provides or one of the local
// choices, localEnv's. Which variables it sets is each function's test's
// to check against its loader (sample.CheckEnv): every one the function
// reads that the template declares, so every provided one it reads.
func TestEnvFile(t *testing.T) {
	if sample.TablePrefix != awslocal.DefaultPrefix {
		t.Errorf("sample.TablePrefix %q, the local stack's tables are %q<LogicalID>", sample.TablePrefix, awslocal.DefaultPrefix)
	}
	env := sample.EnvFile(t)
	for _, fn := range functionDirs {
		if _, ok := env[fn]; !ok {
			t.Errorf("events/env.json has no %s", fn)
		}
	}
	local := localEnv()
	for fn, vars := range env {
		if !slices.Contains(slices.Collect(maps.Values(functionDirs)), fn) {
			t.Errorf("events/env.json has %s, not a function of template.yaml", fn)
			continue
		}
		tpl := sample.TemplateFunction(t, fn)
		for name, v := range vars {
			tv, decided := tpl.Env[name]
			lv, chosen := local[name]
			provided := slices.Contains(tpl.Provided, name)
			switch {
			case !decided && !provided:
				t.Errorf("events/env.json %s.%s: template.yaml does not declare it for %s, so SAM ignores it", fn, name, fn)
			case chosen && v != lv:
				t.Errorf("events/env.json %s.%s = %q, want the local stage's %q", fn, name, v, lv)
			case !chosen && provided:
				t.Errorf("events/env.json %s.%s: the stack provides it, and localEnv has no local value to check %q against", fn, name, v)
			case !chosen && v != tv:
				t.Errorf("events/env.json %s.%s = %q, template.yaml gives %q (add it to localEnv, with why, if the local stage differs on purpose)", fn, name, v, tv)
			}
		}
	}
}

// TestNoSecrets: no sample holds a DigitalOcean token, a bearer
// credential or a webhook URL, and every recorded Authorization header
// (a DynamoDB image's {"S": ...} or a plain string, under any key
// spelling "authorization") is exactly snapkeep.Redacted, what docloud
// records in its place.
func TestNoSecrets(t *testing.T) {
	secret := regexp.MustCompile(`(do[op]_v1_)?[0-9a-f]{64}|(?i:bearer)\s|hooks\.slack\.com`)
	files := append(sampleFiles(t), "env.json", "README.md")
	headers := 0
	for _, rel := range files {
		raw := sample.Read(t, rel)
		if m := secret.Find(raw); m != nil {
			t.Errorf("events/%s holds %q", rel, m)
		}
		if !strings.HasSuffix(rel, ".json") {
			continue
		}
		var doc any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("events/%s: %v", rel, err)
		}
		for _, v := range authorizations(doc) {
			headers++
			if v != snapkeep.Redacted {
				t.Errorf("events/%s records an Authorization header %q, want exactly %q", rel, v, snapkeep.Redacted)
			}
		}
	}
	if headers == 0 {
		t.Error("no sample records an Authorization header: the check above checked nothing")
	}
}

// authorizations returns the value of every "authorization" key (any
// case) in a decoded JSON document: the string, or the S of a DynamoDB
// attribute value; anything else is returned as its JSON, which is never
// snapkeep.Redacted.
func authorizations(doc any) []string {
	var out []string
	switch v := doc.(type) {
	case map[string]any:
		for k, x := range v {
			if strings.EqualFold(k, "authorization") {
				out = append(out, headerValue(x))
				continue
			}
			out = append(out, authorizations(x)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, authorizations(x)...)
		}
	}
	return out
}

// headerValue is a recorded header's value: a plain string or a DynamoDB
// string attribute ({"S": ...} and nothing else).
func headerValue(x any) string {
	if s, ok := x.(string); ok {
		return s
	}
	if m, ok := x.(map[string]any); ok && len(m) == 1 {
		if s, ok := m["S"].(string); ok {
			return s
		}
	}
	b, _ := json.Marshal(x)
	return string(b)
}
