package docloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func TestClassifyResponses(t *testing.T) {
	date := "Tue, 24 Nov 2026 12:00:00 GMT"
	reset := fmt.Sprint(time.Date(2026, 11, 24, 12, 0, 42, 0, time.UTC).Unix())
	for _, tc := range []struct {
		name       string
		status     int
		headers    map[string]string
		body       string
		class      snapkeep.ErrorClass
		id         string
		message    string
		requestID  string
		retryAfter time.Duration
		retried    bool
	}{
		{
			name: "500 server error", status: 500,
			body:  `{"id":"server_error","message":"Server Error","request_id":"r-500"}`,
			class: snapkeep.ClassProviderError, id: "server_error", message: "Server Error", requestID: "r-500", retried: true,
		},
		{
			name: "502 gateway html", status: 502, headers: map[string]string{"Content-Type": "text/html", "X-Request-Id": "r-502"},
			body:  "<html><body><h1>502 Bad Gateway</h1></body></html>",
			class: snapkeep.ClassProviderError, message: "Bad Gateway", requestID: "r-502", retried: true,
		},
		{
			name: "503 empty body", status: 503,
			class: snapkeep.ClassProviderError, message: "Service Unavailable", retried: true,
		},
		{
			name: "504 gateway timeout", status: 504, headers: map[string]string{"Content-Type": "text/plain"},
			body:  "upstream request timeout",
			class: snapkeep.ClassProviderError, message: "Gateway Timeout", retried: true,
		},
		{
			name: "429 retry-after seconds", status: 429,
			headers: map[string]string{"Retry-After": "17", "Ratelimit-Reset": reset, "Date": date},
			body:    `{"id":"too_many_requests","message":"API Rate limit exceeded.","request_id":"r-429"}`,
			class:   snapkeep.ClassRateLimited, id: "too_many_requests", message: "API Rate limit exceeded.", requestID: "r-429",
			retryAfter: 17 * time.Second, retried: true,
		},
		{
			name: "429 retry-after date", status: 429,
			headers: map[string]string{"Retry-After": "Tue, 24 Nov 2026 12:00:05 GMT", "Date": date},
			body:    `{"id":"too_many_requests","message":"API Rate limit exceeded."}`,
			class:   snapkeep.ClassRateLimited, id: "too_many_requests", message: "API Rate limit exceeded.",
			retryAfter: 5 * time.Second, retried: true,
		},
		{
			name: "429 ratelimit-reset", status: 429,
			headers: map[string]string{"Ratelimit-Reset": reset, "Date": date, "X-Request-Id": "r-hdr"},
			body:    `{"id":"too_many_requests","message":"API Rate limit exceeded.","request_id":"r-body"}`,
			class:   snapkeep.ClassRateLimited, id: "too_many_requests", message: "API Rate limit exceeded.", requestID: "r-hdr",
			retryAfter: 42 * time.Second, retried: true,
		},
		{
			name: "422 pending event", status: 422,
			body:  `{"id":"unprocessable_entity","message":"Droplet already has a pending event.","request_id":"r-422"}`,
			class: snapkeep.ClassResourceBusy, id: "unprocessable_entity", message: "Droplet already has a pending event.", requestID: "r-422", retried: true,
		},
		{
			name: "422 action in progress", status: 422,
			body:  `{"id":"unprocessable_entity","message":"Volume already has an action in progress"}`,
			class: snapkeep.ClassResourceBusy, id: "unprocessable_entity", message: "Volume already has an action in progress", retried: true,
		},
		{
			name: "422 snapshot limit", status: 422,
			body:  `{"id":"unprocessable_entity","message":"Volume has reached its Snapshot LIMIT of 25."}`,
			class: snapkeep.ClassQuotaExceeded, id: "unprocessable_entity", message: "Volume has reached its Snapshot LIMIT of 25.",
		},
		{
			name: "422 quota", status: 422,
			body:  `{"id":"unprocessable_entity","message":"You have exceeded your snapshot quota."}`,
			class: snapkeep.ClassQuotaExceeded, id: "unprocessable_entity", message: "You have exceeded your snapshot quota.",
		},
		{
			name: "422 other", status: 422,
			body:  `{"id":"unprocessable_entity","message":"Name is invalid."}`,
			class: snapkeep.ClassInvalidPolicy, id: "unprocessable_entity", message: "Name is invalid.",
		},
		{
			name: "401", status: 401,
			body:  `{"id":"unauthorized","message":"Unable to authenticate you","request_id":"r-401"}`,
			class: snapkeep.ClassAuthRevoked, id: "unauthorized", message: "Unable to authenticate you", requestID: "r-401",
		},
		{
			name: "403", status: 403,
			body:  `{"id":"forbidden","message":"You do not have access for the attempted action."}`,
			class: snapkeep.ClassAuthRevoked, id: "forbidden", message: "You do not have access for the attempted action.",
		},
		{
			name: "404", status: 404,
			body:  `{"id":"not_found","message":"The resource you were accessing could not be found.","request_id":"r-404"}`,
			class: snapkeep.ClassResourceMissing, id: "not_found", message: "The resource you were accessing could not be found.", requestID: "r-404",
		},
		{
			name: "400", status: 400,
			body:  `{"id":"bad_request","message":"unexpected field"}`,
			class: snapkeep.ClassInternal, id: "bad_request", message: "unexpected field",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			var requests atomic.Int32
			f.mux.HandleFunc("/v2/droplets/7/actions", func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				readAll(r)
				for k, v := range tc.headers {
					w.Header().Set(k, v)
				}
				if w.Header().Get("Content-Type") == "" {
					w.Header().Set("Content-Type", "application/json")
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			_, err := f.client.SnapshotDroplet(ctxOp(snapkeep.OpSnapshotDroplet), 7, "n")
			if err == nil {
				t.Fatal("SnapshotDroplet succeeded")
			}
			if !strings.HasPrefix(err.Error(), "snapshot droplet 7: ") {
				t.Errorf("error %q lacks context", err)
			}
			e := Classify(err)
			if e.Class != tc.class || e.StatusCode != tc.status || e.ErrorID != tc.id || e.Message != tc.message ||
				e.RequestID != tc.requestID || e.RetryAfter != tc.retryAfter {
				t.Errorf("Classify = {class %s status %d id %q message %q request %q retry %s}\nwant  {class %s status %d id %q message %q request %q retry %s}",
					e.Class, e.StatusCode, e.ErrorID, e.Message, e.RequestID, e.RetryAfter,
					tc.class, tc.status, tc.id, tc.message, tc.requestID, tc.retryAfter)
			}
			if e.Retried() != tc.retried {
				t.Errorf("Transient() = %v, want %v", e.Retried(), tc.retried)
			}
			// No hidden retry: one request, one record, for every status.
			if n := requests.Load(); n != 1 {
				t.Errorf("server saw %d requests, want 1", n)
			}
			calls := f.rec.all()
			if len(calls) != 1 {
				t.Fatalf("%d calls recorded, want 1", len(calls))
			}
			c := calls[0]
			if c.StatusCode != tc.status || c.ErrorID != tc.id || c.FailureHour != "2026-11-24T12" || c.Class != tc.class {
				t.Errorf("recorded status %d id %q failure hour %q class %q, want class %q", c.StatusCode, c.ErrorID, c.FailureHour, c.Class, tc.class)
			}
			if strings.Contains(err.Error(), f.token) {
				t.Errorf("error text holds the token")
			}
		})
	}
}

// TestClassifyMalformedSuccess: a 2xx whose body the client cannot use is
// provider_error, on the returned error and on the recorded row (which is
// counted as a failure), whatever is wrong with it.
func TestClassifyMalformedSuccess(t *testing.T) {
	for _, tc := range []struct {
		name, body, wantMessage string
	}{
		{"cut JSON", `{"action": {"id": 1, "status": `, "malformed response body"},
		{"html", `<html>oops</html>`, "malformed response body"},
		{"empty", ``, "malformed response body"},
		{"no action", `{}`, "response has no action"},
		{"id of the wrong type", `{"action": {"id": "x"}}`, "malformed response body"},
		{"bad time", `{"action": {"id": 1, "status": "in-progress", "started_at": "yesterday"}}`, "malformed response body"},
		{"action id 0", `{"action": {"id": 0, "status": "in-progress"}}`, "malformed response: action id 0"},
		{"action id below 0", `{"action": {"id": -3, "status": "completed"}}`, "malformed response: action id -3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			f.mux.HandleFunc("/v2/actions/1", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, tc.body)
			})
			_, err := f.client.GetAction(ctxOp(snapkeep.OpGetAction), 1)
			e := Classify(err)
			if e == nil || e.Class != snapkeep.ClassProviderError || !strings.Contains(e.Message, tc.wantMessage) {
				t.Fatalf("GetAction with body %q: %v, want provider_error saying %q", tc.body, err, tc.wantMessage)
			}
			calls := f.rec.all()
			if len(calls) != 1 {
				t.Fatalf("%d rows recorded, want 1", len(calls))
			}
			c := calls[0]
			if c.StatusCode != 200 || c.Class != snapkeep.ClassProviderError || c.FailureHour != "2026-11-24T12" ||
				!strings.Contains(c.ErrorMessage, tc.wantMessage) || c.Operation != snapkeep.OpGetAction {
				t.Errorf("recorded %+v, want a 200 row of class provider_error, counted as failed, saying %q", c, tc.wantMessage)
			}
		})
	}
}

func TestClassifyPlainErrors(t *testing.T) {
	busy := &Error{Class: snapkeep.ClassResourceBusy, StatusCode: 422}
	var syn json.SyntaxError
	for _, tc := range []struct {
		name string
		err  error
		want snapkeep.ErrorClass
	}{
		{"wrapped Error", fmt.Errorf("snapshot droplet 1: %w", busy), snapkeep.ClassResourceBusy},
		{"deadline", context.DeadlineExceeded, snapkeep.ClassNetwork},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), snapkeep.ClassNetwork},
		{"json", &syn, snapkeep.ClassProviderError},
		{"eof", io.ErrUnexpectedEOF, snapkeep.ClassProviderError},
		{"other", errors.New("boom"), snapkeep.ClassInternal},
	} {
		if got := Classify(tc.err); got == nil || got.Class != tc.want {
			t.Errorf("%s: Classify = %+v, want %s", tc.name, got, tc.want)
		}
	}
	if Classify(nil) != nil {
		t.Error("Classify(nil) != nil")
	}
	if got := Classify(fmt.Errorf("ctx: %w", busy)); got != busy {
		t.Error("Classify did not return the wrapped *Error itself")
	}
}

func TestErrorText(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{
			&Error{Class: snapkeep.ClassResourceBusy, StatusCode: 422, ErrorID: "unprocessable_entity", Message: "Droplet already has a pending event.", RequestID: "r1"},
			"digitalocean: resource_busy: 422 unprocessable_entity: Droplet already has a pending event. (request r1)",
		},
		{
			&Error{Class: snapkeep.ClassRateLimited, StatusCode: 429, ErrorID: "too_many_requests", Message: "API Rate limit exceeded.", RetryAfter: 3 * time.Second},
			"digitalocean: rate_limited: 429 too_many_requests: API Rate limit exceeded. (retry after 3s)",
		},
		{
			&Error{Class: snapkeep.ClassNetwork, Err: errors.New("dial tcp: connection refused")},
			"digitalocean: network: dial tcp: connection refused",
		},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q\nwant %q", got, tc.want)
		}
	}
}
