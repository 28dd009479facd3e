package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// TestMetricLines checks the Embedded Metric Format lines a window part
// logs: one per (dimension, minute), each a JSON object with the _aws
// metadata (millisecond timestamp of the minute, namespace snapkeep, the
// Dimension dimension, the five metrics as Count) and the values at the
// top level, as CloudWatch's EMF specification requires.
func TestMetricLines(t *testing.T) {
	agg := errorrate.NewAggregate()
	for i, class := range []snapkeep.ErrorClass{"", snapkeep.ClassProviderError, snapkeep.ClassRateLimited, snapkeep.ClassResourceBusy, snapkeep.ClassAuthRevoked} {
		c := testCall(i, 0, snapkeep.OpSnapshotDroplet, class)
		c.Region = "nyc3"
		if err := agg.Add(&c); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := writeMetrics(&buf, agg); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"_aws": map[string]any{
			"Timestamp": float64(testT0.UnixMilli()),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  "snapkeep",
				"Dimensions": []any{[]any{"Dimension"}},
				"Metrics": []any{
					map[string]any{"Name": "Calls", "Unit": "Count"},
					map[string]any{"Name": "Failures", "Unit": "Count"},
					map[string]any{"Name": "RateLimited", "Unit": "Count"},
					map[string]any{"Name": "Busy", "Unit": "Count"},
					map[string]any{"Name": "CustomerErrors", "Unit": "Count"},
				},
			}},
		},
		"Calls": float64(5), "Failures": float64(1), "RateLimited": float64(1), "Busy": float64(1), "CustomerErrors": float64(1),
	}
	var dims []string
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var got map[string]any
		if err := json.Unmarshal(sc.Bytes(), &got); err != nil {
			t.Fatalf("line %q is not a JSON object: %v", sc.Text(), err)
		}
		dim, _ := got["Dimension"].(string)
		dims = append(dims, dim)
		delete(got, "Dimension")
		if !reflect.DeepEqual(got, want) {
			t.Errorf("line of %s:\n%v\nwant\n%v", dim, got, want)
		}
	}
	if want := []string{"all", "operation:snapshot_droplet", "region:nyc3"}; !reflect.DeepEqual(dims, want) {
		t.Errorf("lines for %v, want %v", dims, want)
	}
}
