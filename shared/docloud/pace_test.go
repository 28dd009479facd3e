package docloud

import (
	"context"
	"io"
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

// TestPaceDelayAfter429: a burst 429 (retry-after, ratelimit-remaining 0,
// reset up to an hour ahead) waits for retry-after; a 429 without
// retry-after (the hour spent) waits for the reset; a burst says nothing
// of the hourly budget, which a later answer's headers keep telling.
func TestPaceDelayAfter429(t *testing.T) {
	hour := unix(clockStart.Add(59 * time.Minute))
	burst := map[string]string{"Ratelimit-Limit": "5000", "Ratelimit-Remaining": "0", "Ratelimit-Reset": hour, "Retry-After": "29"}
	spent := map[string]string{"Ratelimit-Limit": "5000", "Ratelimit-Remaining": "0", "Ratelimit-Reset": unix(clockStart.Add(10 * time.Minute))}
	low := map[string]string{"Ratelimit-Limit": "5000", "Ratelimit-Remaining": "20", "Ratelimit-Reset": unix(clockStart.Add(5 * time.Minute))}
	plenty := map[string]string{"Ratelimit-Limit": "5000", "Ratelimit-Remaining": "4000", "Ratelimit-Reset": hour}
	type answer struct {
		status  int
		headers map[string]string
	}
	for _, tc := range []struct {
		name    string
		answers []answer
		at      time.Duration // after clockStart
		want    time.Duration
	}{
		{"burst waits for retry-after", []answer{{429, burst}}, 0, 29 * time.Second},
		{"burst over", []answer{{429, burst}}, 29 * time.Second, 0},
		{"burst after plenty", []answer{{200, plenty}, {429, burst}}, 10 * time.Second, 19 * time.Second},
		{"plenty after a burst: the burst still runs", []answer{{429, burst}, {200, plenty}}, 20 * time.Second, 9 * time.Second},
		{"hour spent waits for the reset", []answer{{429, spent}}, 0, 10 * time.Minute},
		{"low hourly budget kept across a burst", []answer{{200, low}, {429, burst}}, time.Minute, 4 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			f.clock.step = 0
			answers := tc.answers
			f.mux.HandleFunc("/v2/droplets/1", func(w http.ResponseWriter, r *http.Request) {
				a := answers[0]
				answers = answers[1:]
				for k, v := range a.headers {
					w.Header().Set(k, v)
				}
				w.WriteHeader(a.status)
				if a.status == 200 {
					w.Write(fixtureFile(t, "droplet.json"))
				} else {
					io.WriteString(w, `{"id":"too_many_requests","message":"API Rate limit exceeded."}`)
				}
			})
			for range tc.answers {
				f.client.GetDroplet(context.Background(), 1)
			}
			if got := f.client.PaceDelay(clockStart.Add(tc.at)); got != tc.want {
				t.Errorf("PaceDelay at +%s = %s, want %s", tc.at, got, tc.want)
			}
		})
	}
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
