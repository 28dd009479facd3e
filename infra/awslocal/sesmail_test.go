package awslocal

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestSentEmailsRetries checks that a 5xx from moto's data.json (a read
// racing a write) is asked again, a 4xx is not, and a lasting 5xx ends in an
// error that says what moto answered.
func TestSentEmailsRetries(t *testing.T) {
	const doc = `{"ses":{"RawMessage":[{"id":"m-1","source":"a@example.com",` +
		`"destinations":["b@example.com"],"raw_data":"Subject: hi\r\n\r\nbody"}]}}`
	tests := []struct {
		name     string
		failures int // answers of status before the first 200
		status   int
		wantReqs int32
		wantErr  string
	}{
		{name: "passing 500", failures: 2, status: http.StatusInternalServerError, wantReqs: 3},
		{name: "lasting 500", failures: 99, status: http.StatusInternalServerError, wantReqs: dataAttempts, wantErr: "500 Internal Server Error: oops"},
		{name: "404 not retried", failures: 99, status: http.StatusNotFound, wantReqs: 1, wantErr: "404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reqs atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/moto-api/data.json" {
					t.Errorf("GET %s, want /moto-api/data.json", r.URL.Path)
				}
				if int(reqs.Add(1)) <= tt.failures {
					http.Error(w, "oops", tt.status)
					return
				}
				w.Write([]byte(doc))
			}))
			defer srv.Close()
			got, err := SentEmails(context.Background(), srv.URL)
			if n := reqs.Load(); n != tt.wantReqs {
				t.Errorf("%d requests, want %d", n, tt.wantReqs)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Subject != "hi" || got[0].To[0] != "b@example.com" {
				t.Errorf("got %+v, want the one raw message", got)
			}
		})
	}
}
