package sample

import (
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/infra/local"
)

// Source is a DynamoDB event source mapping of template.yaml (its batch
// size, batching window, tumbling window and filters).
func Source(t testing.TB, function, event string) local.Source {
	t.Helper()
	srcs, err := local.Sources(TemplatePath(t))
	if err != nil {
		t.Fatal(err)
	}
	src, err := local.FindSource(srcs, function, event)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// Deliver is what src's mapping hands the function of recs: the records
// its FilterCriteria let through, in order.
func Deliver(t testing.TB, src local.Source, recs []events.DynamoDBEventRecord) []events.DynamoDBEventRecord {
	t.Helper()
	f, err := local.CompileFilter(src.Filters)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	var out []events.DynamoDBEventRecord
	for _, r := range recs {
		ok, err := f.MatchRecord(r)
		if err != nil {
			t.Fatalf("%s: record %s: %v", src, r.EventID, err)
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

// Window is the tumbling window of src's mapping that holds t (windows
// are multiples of TumblingWindowInSeconds since the epoch).
func Window(src local.Source, t time.Time) events.Window {
	d := src.TumblingWindow()
	start := t.UTC().Truncate(d)
	return events.Window{Start: events.RFC3339EpochTime{Time: start}, End: events.RFC3339EpochTime{Time: start.Add(d)}}
}
