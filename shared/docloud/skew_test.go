package docloud

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestClockSkewMedian: the estimate is the median of the latest
// skewSamples date headers, so one stale date does not move it, and old
// samples give way to new ones.
func TestClockSkewMedian(t *testing.T) {
	f := setup(t)
	f.clock.step = 0 // a round trip of zero: each estimate is date + 0.5s - ours
	var dates []time.Time
	f.mux.HandleFunc("/v2/actions/1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", dates[0].Format(http.TimeFormat))
		dates = dates[1:]
		w.Write(fixtureFile(t, "action.json"))
	})
	ahead := clockStart.Add(2 * time.Minute)
	stale := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		dates []time.Time
		want  time.Duration
	}{
		{[]time.Time{ahead}, 2*time.Minute + 500*time.Millisecond},
		{[]time.Time{ahead, stale, ahead, ahead}, 2*time.Minute + 500*time.Millisecond},
		// Five samples later, the clock has moved: only the latest count.
		{[]time.Time{clockStart.Add(-time.Minute), clockStart.Add(-time.Minute), clockStart.Add(-time.Minute),
			clockStart.Add(-time.Minute), clockStart.Add(-time.Minute)}, -time.Minute + 500*time.Millisecond},
	} {
		dates = tc.dates
		for range tc.dates {
			if _, err := f.client.GetAction(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
		}
		if got, known := f.client.ClockSkew(); !known || got != tc.want {
			t.Errorf("after dates %v: ClockSkew = %s (known %v), want %s", tc.dates, got, known, tc.want)
		}
	}
}

func TestClockSkewUnknownWithoutDate(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("/v2/actions/1", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil // net/http adds one unless told not to
		w.Write(fixtureFile(t, "action.json"))
	})
	if _, err := f.client.GetAction(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if d, known := f.client.ClockSkew(); known {
		t.Errorf("ClockSkew = %s, known without any date header", d)
	}
}
