package docloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/digitalocean/godo"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// assertBounded fails unless s is at most max bytes and says it was cut.
func assertBounded(t *testing.T, what, s string, max int) {
	t.Helper()
	if len(s) > max || !snapkeep.WasCut(s) {
		t.Errorf("%s: %d bytes, cut note %v; want at most %d bytes ending in the cut note", what, len(s), snapkeep.WasCut(s), max)
	}
}

// TestHugeErrorBodyIsBounded: a 450 KB error message, a 5 KB error id and
// request id end bounded on the row, on the Error and in godo's error.
func TestHugeErrorBodyIsBounded(t *testing.T) {
	f := setup(t)
	huge := strings.Repeat("Server exploded. ", 450*1024/17)
	longID := strings.Repeat("server_error", 500)
	longReq := strings.Repeat("r", 5000)
	f.mux.HandleFunc("/v2/droplets/7/actions", func(w http.ResponseWriter, r *http.Request) {
		readAll(r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"id":%q,"message":%q,"request_id":%q}`, longID, huge, longReq)
	})
	_, err := f.client.SnapshotDroplet(ctxOp(snapkeep.OpSnapshotDroplet), 7, "n")
	e := Classify(err)
	if e == nil || e.Class != snapkeep.ClassProviderError {
		t.Fatalf("error %v, want provider_error", err)
	}
	max := snapkeep.MaxProviderText
	assertBounded(t, "Error.Message", e.Message, max)
	assertBounded(t, "Error.ErrorID", e.ErrorID, max)
	assertBounded(t, "Error.RequestID", e.RequestID, max)
	if n := len(err.Error()); n > 4*max {
		t.Errorf("error text is %d bytes, want at most %d", n, 4*max)
	}
	var er *godo.ErrorResponse
	if !errors.As(err, &er) || len(er.Message) > max || len(er.Error()) > 3*max {
		t.Errorf("godo's error holds %d bytes of message", len(er.Message))
	}
	calls := f.rec.all()
	if len(calls) != 1 {
		t.Fatalf("%d rows, want 1", len(calls))
	}
	c := calls[0]
	assertBounded(t, "row ErrorMessage", c.ErrorMessage, max)
	assertBounded(t, "row ErrorID", c.ErrorID, max)
	assertBounded(t, "row ProviderRequestID", c.ProviderRequestID, max)
	if !strings.HasPrefix(c.ErrorMessage, "Server exploded.") || c.Class != snapkeep.ClassProviderError {
		t.Errorf("row message %.40q class %s", c.ErrorMessage, c.Class)
	}
}

// TestHugeHTMLPageIsBounded: a gateway's 450 KB page is not kept whole by
// godo either (it keeps a non-JSON body as its message).
func TestHugeHTMLPageIsBounded(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("/v2/actions/1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<html>"+strings.Repeat("<p>bad gateway</p>", 450*1024/18)+"</html>")
	})
	_, err := f.client.GetAction(context.Background(), 1)
	e := Classify(err)
	if e == nil || e.Class != snapkeep.ClassProviderError || e.Message != "Bad Gateway" {
		t.Fatalf("error %v, want provider_error Bad Gateway", err)
	}
	var er *godo.ErrorResponse
	if !errors.As(err, &er) || len(er.Message) > snapkeep.MaxProviderText {
		t.Errorf("godo's error holds %d bytes of the page", len(er.Message))
	}
}

// TestHugeHeadersAreBounded: 200 headers of 4 KB each; the row keeps each
// value within 1 KB and all of them within 8 KB, and says how many it
// dropped.
func TestHugeHeadersAreBounded(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("/v2/actions/1", func(w http.ResponseWriter, r *http.Request) {
		for i := range 200 {
			w.Header().Set(fmt.Sprintf("X-Padding-%03d", i), strings.Repeat("p", 4096))
		}
		w.Header().Set("X-Request-Id", strings.Repeat("q", 3000))
		w.Write(fixtureFile(t, "action.json"))
	})
	if _, err := f.client.GetAction(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	calls := f.rec.all()
	if len(calls) != 1 {
		t.Fatalf("%d rows, want 1", len(calls))
	}
	c := calls[0]
	total := 0
	for k, v := range c.ResponseHeaders {
		if len(v) > snapkeep.MaxHeaderValue {
			t.Errorf("header %s is %d bytes", k, len(v))
		}
		total += len(k) + len(v)
	}
	if total > snapkeep.MaxHeaderBytes || len(c.ResponseHeaders) > snapkeep.MaxHeaders {
		t.Errorf("row headers: %d of them, %d bytes; want at most %d and %d", len(c.ResponseHeaders), total, snapkeep.MaxHeaders, snapkeep.MaxHeaderBytes)
	}
	if c.ResponseHeaders[snapkeep.HeaderDropped] == "" {
		t.Errorf("no %s header on a row that dropped headers", snapkeep.HeaderDropped)
	}
	assertBounded(t, "row ProviderRequestID", c.ProviderRequestID, snapkeep.MaxProviderText)
}

// hugeErrTransport fails with a 100 KB error text.
type hugeErrTransport struct{}

func (hugeErrTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("proxy said %s: %w", strings.Repeat("no ", 100_000/3), context.DeadlineExceeded)
}

func TestHugeTransportErrorIsBounded(t *testing.T) {
	f := setup(t, WithHTTPTransport(hugeErrTransport{}))
	_, err := f.client.GetDroplet(context.Background(), 1)
	e := Classify(err)
	if e == nil || e.Class != snapkeep.ClassNetwork {
		t.Fatalf("error %v, want network", err)
	}
	if n := len(err.Error()); n > 2*snapkeep.MaxProviderText {
		t.Errorf("error text is %d bytes", n)
	}
	calls := f.rec.all()
	if len(calls) != 1 {
		t.Fatalf("%d rows, want 1", len(calls))
	}
	assertBounded(t, "row TransportError", calls[0].TransportError, snapkeep.MaxProviderText)
	if calls[0].Class != snapkeep.ClassNetwork {
		t.Errorf("row class %q, want network", calls[0].Class)
	}
}

// TestTokenScrubbedBeforeTheCut: a token that straddles the bound is
// replaced whole before the text is cut, so no part of it is kept.
func TestTokenScrubbedBeforeTheCut(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("/v2/droplets/1", func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"id":"unauthorized","message":%q}`, strings.Repeat("x", snapkeep.MaxProviderText-30)+tok+strings.Repeat("y", 5000))
	})
	_, err := f.client.GetDroplet(context.Background(), 1)
	part := f.token[len("dop_v1_") : len("dop_v1_")+16]
	if strings.Contains(err.Error(), part) || strings.Contains(Classify(err).Message, part) {
		t.Errorf("error keeps part of the token")
	}
	for _, c := range f.rec.all() {
		if strings.Contains(c.ErrorMessage, part) {
			t.Errorf("row keeps part of the token")
		}
	}
}

// TestBoundHeadersAgrees: the transport's copy-free bound gives what the
// domain's BoundHeaders gives, for header sets that fit and that do not.
func TestBoundHeadersAgrees(t *testing.T) {
	many := map[string]string{}
	for i := range snapkeep.MaxHeaders {
		many[fmt.Sprintf("h-%02d", i)] = "v"
	}
	big := map[string]string{}
	for i := range 9 {
		big[fmt.Sprintf("h-%d", i)] = strings.Repeat("b", 1000)
	}
	for name, h := range map[string]map[string]string{
		"usual":             {"content-type": "application/json; charset=utf-8", "ratelimit-limit": "5000", "x-request-id": "515850a0"},
		"empty":             {},
		"one long value":    {"x-long": strings.Repeat("l", snapkeep.MaxHeaderValue+1)},
		"one long name":     {strings.Repeat("n", 129): "v"},
		"invalid UTF-8":     {"x-bad": "\xff\xfe"},
		"too many":          many,
		"too many bytes":    big,
		"just under limits": {"a": strings.Repeat("x", snapkeep.MaxHeaderValue), "b": strings.Repeat("y", snapkeep.MaxHeaderValue)},
	} {
		want := snapkeep.BoundHeaders(h)
		if got := boundHeaders(h); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%s: boundHeaders differs from snapkeep.BoundHeaders", name)
		}
	}
}
