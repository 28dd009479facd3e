package docloud

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/digitalocean/godo"
)

func TestRateAndPaceDelay(t *testing.T) {
	now := clockStart
	reset := now.Add(10 * time.Minute)
	for _, tc := range []struct {
		name      string
		headers   map[string]string
		wantRate  godo.Rate
		wantDelay time.Duration
	}{
		{name: "no headers yet", wantDelay: 0},
		{
			name:      "plenty left",
			headers:   map[string]string{"Ratelimit-Limit": "5000", "Ratelimit-Remaining": "4816", "Ratelimit-Reset": unix(reset)},
			wantRate:  godo.Rate{Limit: 5000, Remaining: 4816, Reset: godo.Timestamp{Time: reset}},
			wantDelay: 0,
		},
		{
			name:      "just above the reserve",
			headers:   map[string]string{"Ratelimit-Limit": "5000", "Ratelimit-Remaining": "51", "Ratelimit-Reset": unix(reset)},
			wantRate:  godo.Rate{Limit: 5000, Remaining: 51, Reset: godo.Timestamp{Time: reset}},
			wantDelay: 0,
		},
		{
			name:      "at the reserve",
			headers:   map[string]string{"Ratelimit-Limit": "5000", "Ratelimit-Remaining": "50", "Ratelimit-Reset": unix(reset)},
			wantRate:  godo.Rate{Limit: 5000, Remaining: 50, Reset: godo.Timestamp{Time: reset}},
			wantDelay: 10 * time.Minute,
		},
		{
			name:      "spent",
			headers:   map[string]string{"Ratelimit-Limit": "5000", "Ratelimit-Remaining": "0", "Ratelimit-Reset": unix(now.Add(90 * time.Second))},
			wantRate:  godo.Rate{Limit: 5000, Remaining: 0, Reset: godo.Timestamp{Time: now.Add(90 * time.Second)}},
			wantDelay: 90 * time.Second,
		},
		{
			name:      "reset already passed",
			headers:   map[string]string{"Ratelimit-Limit": "5000", "Ratelimit-Remaining": "0", "Ratelimit-Reset": unix(now.Add(-time.Second))},
			wantRate:  godo.Rate{Limit: 5000, Remaining: 0, Reset: godo.Timestamp{Time: now.Add(-time.Second)}},
			wantDelay: 0,
		},
		{
			name:      "small limit keeps a reserve of one",
			headers:   map[string]string{"Ratelimit-Limit": "50", "Ratelimit-Remaining": "1", "Ratelimit-Reset": unix(now.Add(time.Minute))},
			wantRate:  godo.Rate{Limit: 50, Remaining: 1, Reset: godo.Timestamp{Time: now.Add(time.Minute)}},
			wantDelay: time.Minute,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			f.mux.HandleFunc("/v2/droplets/1", func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.headers {
					w.Header().Set(k, v)
				}
				w.Write(fixtureFile(t, "droplet.json"))
			})
			if _, err := f.client.GetDroplet(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
			if got := f.client.Rate(); !got.Reset.Equal(tc.wantRate.Reset) || got.Limit != tc.wantRate.Limit || got.Remaining != tc.wantRate.Remaining {
				t.Errorf("Rate() = %+v, want %+v", got, tc.wantRate)
			}
			if got := f.client.PaceDelay(now); got != tc.wantDelay {
				t.Errorf("PaceDelay = %s, want %s", got, tc.wantDelay)
			}
		})
	}
}

func TestRateKeptAcrossResponsesWithoutHeaders(t *testing.T) {
	f := setup(t)
	n := 0
	f.mux.HandleFunc("/v2/droplets/1", func(w http.ResponseWriter, r *http.Request) {
		n++
		if n == 1 {
			w.Header().Set("Ratelimit-Limit", "5000")
			w.Header().Set("Ratelimit-Remaining", "7")
			w.Header().Set("Ratelimit-Reset", unix(clockStart.Add(time.Hour)))
		}
		if n == 2 { // a gateway error page carries no rate headers
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.Write(fixtureFile(t, "droplet.json"))
	})
	f.client.GetDroplet(context.Background(), 1)
	f.client.GetDroplet(context.Background(), 1)
	if got := f.client.Rate(); got.Remaining != 7 || got.Limit != 5000 {
		t.Errorf("Rate() = %+v, want the last headers seen", got)
	}
}

func TestPaceDelayPerMinute(t *testing.T) {
	f := setup(t)
	f.clock.step = 100 * time.Millisecond // two readings per request: 200ms apart
	f.mux.HandleFunc("/v2/actions/1", func(w http.ResponseWriter, r *http.Request) {
		w.Write(fixtureFile(t, "action.json"))
	})
	for i := 0; i < MinuteBudget-1; i++ {
		if _, err := f.client.GetAction(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	// 239 requests sent at 0s, 0.2s, ... 47.6s.
	last := clockStart.Add(time.Duration(MinuteBudget-2) * 200 * time.Millisecond)
	if d := f.client.PaceDelay(last); d != 0 {
		t.Errorf("PaceDelay below the minute budget = %s, want 0", d)
	}
	if _, err := f.client.GetAction(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	now := last.Add(200 * time.Millisecond) // the 240th was sent now
	if d, want := f.client.PaceDelay(now), clockStart.Add(time.Minute).Sub(now); d != want {
		t.Errorf("PaceDelay at the minute budget = %s, want %s (until the first is a minute old)", d, want)
	}
	if d := f.client.PaceDelay(clockStart.Add(time.Minute)); d != 0 {
		t.Errorf("PaceDelay once the first left the window = %s, want 0", d)
	}
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
