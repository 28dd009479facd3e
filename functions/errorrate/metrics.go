package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// CloudWatch Embedded Metric Format: one JSON log line per (dimension,
// minute) of a window part, which CloudWatch Logs turns into the metrics
// snapkeep/{Calls,Failures,RateLimited,Busy,CustomerErrors} with the
// dimension "Dimension", at the minute the calls started. No API call is
// made; a minute split over parts or shards is summed by the Sum
// statistic. (A replayed window logs its lines again: the dashboards may
// then count twice where the Stats items, keyed by part, do not.)
const (
	metricNamespace = "snapkeep"
	metricDimension = "Dimension"
)

// metricNames are the metrics of each line, in order.
var metricNames = []string{"Calls", "Failures", "RateLimited", "Busy", "CustomerErrors"}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// emfLine is one EMF log line: the metadata and, at the top level, the
// dimension's value and each metric's value.
type emfLine struct {
	AWS            emfMeta            `json:"_aws"`
	Dimension      snapkeep.Dimension `json:"Dimension"`
	Calls          int64              `json:"Calls"`
	Failures       int64              `json:"Failures"`
	RateLimited    int64              `json:"RateLimited"`
	Busy           int64              `json:"Busy"`
	CustomerErrors int64              `json:"CustomerErrors"`
}

var emfDirectives = func() []emfDirective {
	ms := make([]emfMetric, len(metricNames))
	for i, n := range metricNames {
		ms[i] = emfMetric{Name: n, Unit: "Count"}
	}
	return []emfDirective{{Namespace: metricNamespace, Dimensions: [][]string{{metricDimension}}, Metrics: ms}}
}()

// writeMetrics writes agg's entries as EMF lines to w.
func writeMetrics(w io.Writer, agg *errorrate.Aggregate) error {
	if w == nil {
		return nil
	}
	b := bufio.NewWriter(w)
	enc := json.NewEncoder(b)
	for _, k := range agg.Keys() {
		c := agg.Get(k)
		line := emfLine{
			AWS:       emfMeta{Timestamp: k.Minute.UnixMilli(), CloudWatchMetrics: emfDirectives},
			Dimension: k.Dimension, Calls: c.Calls, Failures: c.Failures, RateLimited: c.RateLimited,
			Busy: c.Busy, CustomerErrors: c.CustomerErrors,
		}
		if err := enc.Encode(line); err != nil {
			return fmt.Errorf("metrics of %s: %w", k, err)
		}
	}
	return b.Flush()
}
