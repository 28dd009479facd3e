package docloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func TestTransportRecordsEveryAttempt(t *testing.T) {
	f := setup(t)
	var n atomic.Int32
	f.mux.HandleFunc("/v2/droplets/3164444/actions", func(w http.ResponseWriter, r *http.Request) {
		readAll(r)
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Ratelimit-Limit", "5000")
		h.Set("Ratelimit-Remaining", "4999")
		h.Set("Ratelimit-Reset", "1795953600")
		h.Set("X-Request-Id", fmt.Sprintf("req-%d", n.Add(1)))
		h.Add("Vary", "Accept")
		h.Add("Vary", "Origin")
		if n.Load() == 1 {
			h.Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"id":"server_error","message":"Server Error","request_id":"body-1"}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		w.Write(fixtureFile(t, "action.json"))
	})
	// The service retries, not the client: two operations, two records.
	ctx1 := WithOperation(context.Background(), snapkeep.OpSnapshotDroplet, 1)
	if _, err := f.client.SnapshotDroplet(ctx1, 3164444, "s"); err == nil {
		t.Fatal("first attempt succeeded")
	}
	ctx2 := WithOperation(context.Background(), snapkeep.OpSnapshotDroplet, 2)
	if _, err := f.client.SnapshotDroplet(ctx2, 3164444, "s"); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	calls := f.rec.all()
	if len(calls) != 2 {
		t.Fatalf("%d calls recorded, want 2", len(calls))
	}
	if n.Load() != 2 {
		t.Fatalf("server saw %d requests, want 2", n.Load())
	}
	first, second := calls[0], calls[1]

	for i, c := range calls {
		if c.Operation != snapkeep.OpSnapshotDroplet || c.Attempt != i+1 || c.Method != "POST" || c.Path != "/v2/droplets/3164444/actions" {
			t.Errorf("call %d: op %q attempt %d %s %s", i, c.Operation, c.Attempt, c.Method, c.Path)
		}
		if got := c.RequestHeaders["authorization"]; got != snapkeep.Redacted {
			t.Errorf("call %d: authorization header recorded as %q", i, got)
		}
		for _, h := range []string{"content-type", "accept", "user-agent"} {
			if c.RequestHeaders[h] == "" {
				t.Errorf("call %d: request header %s missing: %v", i, h, c.RequestHeaders)
			}
		}
		for _, h := range []string{"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "x-request-id", "date", "content-type", "content-length"} {
			if c.ResponseHeaders[h] == "" {
				t.Errorf("call %d: response header %s missing: %v", i, h, c.ResponseHeaders)
			}
		}
		if got := c.ResponseHeaders["vary"]; got != "Accept, Origin" {
			t.Errorf("call %d: vary = %q, want values joined", i, got)
		}
		// The step clock moves 25ms per reading: start, then end.
		if c.DurationMS != 25 {
			t.Errorf("call %d: DurationMS = %d, want 25", i, c.DurationMS)
		}
		if c.RunID != "" || c.Seq != 0 || c.ExpiresAt != 0 {
			t.Errorf("call %d: transport filled recorder fields", i)
		}
	}
	want1 := snapkeep.APICall{StatusCode: 503, ProviderRequestID: "req-1", ErrorID: "server_error", ErrorMessage: "Server Error", FailureHour: "2026-11-24T12", StartedAt: clockStart}
	if first.StatusCode != want1.StatusCode || first.ProviderRequestID != want1.ProviderRequestID || first.ErrorID != want1.ErrorID ||
		first.ErrorMessage != want1.ErrorMessage || first.FailureHour != want1.FailureHour || !first.StartedAt.Equal(want1.StartedAt) {
		t.Errorf("first call = %+v", first)
	}
	if first.ResponseHeaders["retry-after"] != "1" {
		t.Errorf("retry-after not recorded: %v", first.ResponseHeaders)
	}
	if second.StatusCode != 201 || second.ErrorID != "" || second.FailureHour != "" || second.TransportError != "" || second.ProviderRequestID != "req-2" {
		t.Errorf("second call = %+v", second)
	}
	if second.StartedAt.Location() != time.UTC {
		t.Errorf("StartedAt not UTC")
	}
	assertNoToken(t, f.token, calls)
}

func TestTransportRequestIDFromBody(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("/v2/droplets/1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"id":"not_found","message":"The resource you were accessing could not be found.","request_id":"body-id"}`)
	})
	_, err := f.client.GetDroplet(context.Background(), 1)
	if e := Classify(err); e.RequestID != "body-id" {
		t.Errorf("RequestID = %q, want body-id", e.RequestID)
	}
	if c := f.rec.all(); len(c) != 1 || c[0].ProviderRequestID != "body-id" {
		t.Errorf("recorded %+v", c)
	}
}

func TestTransportConnectionReset(t *testing.T) {
	for _, method := range []string{http.MethodPost, http.MethodGet} {
		t.Run(method, func(t *testing.T) {
			f := setup(t)
			var n atomic.Int32
			hijack := func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				readAll(r)
				conn, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Errorf("hijack: %v", err)
					return
				}
				if tc, ok := conn.(*net.TCPConn); ok {
					tc.SetLinger(0) // RST, not FIN
				}
				conn.Close()
			}
			f.mux.HandleFunc("/v2/droplets/5/actions", hijack)
			f.mux.HandleFunc("/v2/actions/5", hijack)
			var err error
			if method == http.MethodPost {
				_, err = f.client.SnapshotDroplet(ctxOp(snapkeep.OpSnapshotDroplet), 5, "s")
			} else {
				_, err = f.client.GetAction(ctxOp(snapkeep.OpGetAction), 5)
			}
			e := Classify(err)
			if e == nil || e.Class != snapkeep.ClassNetwork || e.StatusCode != 0 || !e.Retried() {
				t.Fatalf("error %v classified %+v, want network", err, e)
			}
			if n.Load() != 1 {
				t.Errorf("server saw %d requests, want 1", n.Load())
			}
			calls := f.rec.all()
			if len(calls) != 1 {
				t.Fatalf("%d calls recorded, want 1", len(calls))
			}
			c := calls[0]
			if c.TransportError == "" || c.StatusCode != 0 || c.FailureHour != "2026-11-24T12" || c.ResponseHeaders != nil {
				t.Errorf("recorded %+v", c)
			}
			if c.RequestHeaders["authorization"] != snapkeep.Redacted {
				t.Errorf("authorization not redacted")
			}
			assertNoToken(t, f.token, calls)
			if strings.Contains(err.Error(), f.token) {
				t.Error("error text holds the token")
			}
		})
	}
}

func TestTransportTimeout(t *testing.T) {
	f := setup(t, WithHTTPTimeout(50*time.Millisecond))
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.mux.HandleFunc("/v2/droplets/9", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	_, err := f.client.GetDroplet(ctxOp("get_droplet"), 9)
	e := Classify(err)
	if e == nil || e.Class != snapkeep.ClassNetwork {
		t.Fatalf("error %v classified %+v, want network", err, e)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("error %v is not a timeout", err)
	}
	calls := f.rec.all()
	if len(calls) != 1 || calls[0].TransportError == "" || calls[0].FailureHour == "" || calls[0].Operation != "get_droplet" {
		t.Fatalf("recorded %+v, want one transport error", calls)
	}
}

func TestTransportBodyCutShort(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("/v2/actions/3", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"action": {"id": 3,`)
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	})
	_, err := f.client.GetAction(context.Background(), 3)
	if e := Classify(err); e == nil || e.Class != snapkeep.ClassNetwork {
		t.Fatalf("error %v classified %+v, want network (not provider_error)", err, e)
	}
	calls := f.rec.all()
	if len(calls) != 1 || calls[0].StatusCode != 200 || !strings.Contains(calls[0].TransportError, "reading response body") || calls[0].FailureHour == "" {
		t.Fatalf("recorded %+v", calls)
	}
}

// leakyTransport fails with the Authorization header in its error text.
type leakyTransport struct{}

func (leakyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("proxy refused %s: %w", r.Header.Get("Authorization"), context.DeadlineExceeded)
}

func TestTokenNeverLeaks(t *testing.T) {
	t.Run("transport error", func(t *testing.T) {
		f := setup(t, WithHTTPTransport(leakyTransport{}))
		_, err := f.client.GetDroplet(context.Background(), 1)
		if err == nil {
			t.Fatal("no error")
		}
		if strings.Contains(err.Error(), f.token) {
			t.Errorf("error text holds the token: %v", err)
		}
		e := Classify(err)
		if e.Class != snapkeep.ClassNetwork || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("scrubbed error lost its identity: %+v", e)
		}
		for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
			if strings.Contains(u.Error(), f.token) {
				t.Errorf("wrapped error %T holds the token", u)
			}
		}
		calls := f.rec.all()
		if len(calls) != 1 || !strings.Contains(calls[0].TransportError, snapkeep.Redacted) {
			t.Errorf("recorded %+v", calls)
		}
		assertNoToken(t, f.token, calls)
	})
	t.Run("error body echoes it", func(t *testing.T) {
		f := setup(t)
		f.mux.HandleFunc("/v2/droplets/1", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"id":"unauthorized","message":"token %s is revoked"}`, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		})
		_, err := f.client.GetDroplet(context.Background(), 1)
		e := Classify(err)
		if e.Class != snapkeep.ClassAuthRevoked || strings.Contains(e.Message, f.token) || strings.Contains(err.Error(), f.token) {
			t.Errorf("error %v / message %q", err, e.Message)
		}
		assertNoToken(t, f.token, f.rec.all())
	})
}

// assertNoToken fails if the token appears anywhere in the recorded calls.
func assertNoToken(t *testing.T, token string, calls []snapkeep.APICall) {
	t.Helper()
	b, err := json.Marshal(calls)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), token) || strings.Contains(string(b), token[len("dop_v1_"):]) {
		t.Errorf("token found in recorded calls: %s", b)
	}
}

func TestNilRecorder(t *testing.T) {
	f := setup(t)
	f.client = New(f.token, WithBaseURL(f.server.URL))
	f.mux.HandleFunc("/v2/snapshots/1", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	if err := f.client.DeleteSnapshot(context.Background(), "1"); err != nil {
		t.Fatal(err)
	}
}

func TestOperationFrom(t *testing.T) {
	op, attempt := OperationFrom(context.Background())
	if op != "" || attempt != 0 {
		t.Errorf("empty ctx: %q %d", op, attempt)
	}
	op, attempt = OperationFrom(WithOperation(context.Background(), snapkeep.OpSnapshotVolume, 3))
	if op != snapkeep.OpSnapshotVolume || attempt != 3 {
		t.Errorf("got %q %d", op, attempt)
	}
}

func TestFlatten(t *testing.T) {
	got := flatten(http.Header{
		"Authorization":       {"Bearer x"},
		"Proxy-Authorization": {"Basic y"},
		"Ratelimit-Limit":     {"5000"},
		"Set-Cookie":          {"a=1", "b=2"},
	})
	want := map[string]string{
		"authorization": snapkeep.Redacted, "proxy-authorization": snapkeep.Redacted,
		"ratelimit-limit": "5000", "set-cookie": "a=1, b=2",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("flatten = %v, want %v", got, want)
	}
}

func TestTokenEchoedInHeadersAndPathIsScrubbed(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo", r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"id":"not_found","message":"no"}`)
	})
	// A caller mistake: the token as a snapshot id.
	err := f.client.DeleteSnapshot(context.Background(), f.token)
	if err == nil || strings.Contains(err.Error(), f.token) {
		t.Errorf("error %v", err)
	}
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
		if strings.Contains(u.Error(), f.token) {
			t.Errorf("wrapped error %T holds the token", u)
		}
	}
	if e := Classify(err); e.Class != snapkeep.ClassResourceMissing || e.ErrorID != "not_found" {
		t.Errorf("Classify = %+v", e)
	}
	calls := f.rec.all()
	if len(calls) != 1 || calls[0].ResponseHeaders["x-echo"] != "Bearer "+snapkeep.Redacted {
		t.Fatalf("recorded %+v", calls)
	}
	assertNoToken(t, f.token, calls)
}

// TestCancelledMidRequest: a context cancelled while the request waits
// for its answer still leaves exactly one row, of class network.
func TestCancelledMidRequest(t *testing.T) {
	f := setup(t)
	arrived := make(chan struct{})
	f.mux.HandleFunc("/v2/actions/4", func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(ctxOp(snapkeep.OpGetAction))
	go func() {
		<-arrived
		cancel()
	}()
	_, err := f.client.GetAction(ctx, 4)
	if e := Classify(err); e == nil || e.Class != snapkeep.ClassNetwork || !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want network (cancelled)", err)
	}
	calls := f.rec.all()
	if len(calls) != 1 {
		t.Fatalf("%d rows, want exactly 1", len(calls))
	}
	if c := calls[0]; c.Class != snapkeep.ClassNetwork || c.TransportError == "" || c.StatusCode != 0 || c.FailureHour == "" {
		t.Errorf("row %+v, want a network transport error", c)
	}
}

// TestRowsCarryTheirClass: success rows have none; every failure row the
// class its error has.
func TestRowsCarryTheirClass(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("/v2/actions/1", func(w http.ResponseWriter, r *http.Request) { serve(t, w, http.StatusOK, "action.json") })
	f.mux.HandleFunc("/v2/actions/2", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"id":"not_found","message":"The resource you were accessing could not be found."}`)
	})
	if _, err := f.client.GetAction(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	_, err := f.client.GetAction(context.Background(), 2)
	calls := f.rec.all()
	if len(calls) != 2 {
		t.Fatalf("%d rows, want 2", len(calls))
	}
	if calls[0].Class != "" || calls[0].FailureHour != "" {
		t.Errorf("success row class %q failure hour %q, want none", calls[0].Class, calls[0].FailureHour)
	}
	if calls[1].Class != snapkeep.ClassResourceMissing || calls[1].Class != Classify(err).Class {
		t.Errorf("404 row class %q, error class %q, want resource_missing for both", calls[1].Class, Classify(err).Class)
	}
}

// TestRequestOutsideAMethodIsRecordedAtOnce: a request through the
// client's http.Client that no Client method made is recorded by the
// transport itself, classified by its status (one row per attempt, always).
func TestRequestOutsideAMethodIsRecordedAtOnce(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("/v2/account", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	resp, err := f.client.godo.HTTPClient.Get(f.server.URL + "/v2/account")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	calls := f.rec.all()
	if len(calls) != 1 || calls[0].StatusCode != 503 || calls[0].Class != snapkeep.ClassProviderError {
		t.Errorf("rows %+v, want one 503 provider_error", calls)
	}
}
