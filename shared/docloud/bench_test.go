package docloud

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// handlerTransport serves requests with a handler in process (no network),
// so a benchmark measures the client alone.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	return w.Result(), nil
}

// BenchmarkGetAction is one successful GetAction with DigitalOcean's usual
// headers, recorded (the run path's most frequent call).
func BenchmarkGetAction(b *testing.B) {
	body, err := os.ReadFile("testdata/action.json")
	if err != nil {
		b.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Type", "application/json; charset=utf-8")
		hd.Set("Date", "Tue, 24 Nov 2026 12:00:00 GMT")
		hd.Set("Ratelimit-Limit", "5000")
		hd.Set("Ratelimit-Remaining", "4816")
		hd.Set("Ratelimit-Reset", "1795953600")
		hd.Set("X-Request-Id", "515850a0-a812-50bf-aa3c-d0d21d287e40")
		w.Write(body)
	})
	var rows int
	rec := RecorderFunc(func(context.Context, snapkeep.APICall) { rows++ })
	c := New(newToken(b), WithBaseURL("https://api.digitalocean.com/"), WithRecorder(rec), WithHTTPTransport(handlerTransport{h}))
	ctx := WithOperation(context.Background(), snapkeep.OpGetAction, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetAction(ctx, 36804745); err != nil {
			b.Fatal(err)
		}
	}
	if rows == 0 {
		b.Fatal("nothing recorded")
	}
}
