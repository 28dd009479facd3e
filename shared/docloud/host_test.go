package docloud

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// elsewhere is a second server, not DigitalOcean's API host, that keeps
// every Authorization header it is sent.
type elsewhere struct {
	*httptest.Server
	mu    sync.Mutex
	auths []string
}

func newElsewhere(t *testing.T) *elsewhere {
	t.Helper()
	e := &elsewhere{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.auths = append(e.auths, r.Header.Get("Authorization"))
		e.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"action": {"id": 99, "status": "completed", "type": "snapshot"}}`)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *elsewhere) seen() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.auths...)
}

// TestRedirectNeverFollowed: a 3xx from the API host to another host is
// not followed (the other host sees nothing, the token least of all); it
// is a provider_error whose row keeps the Location.
func TestRedirectNeverFollowed(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			f := setup(t)
			other := newElsewhere(t)
			target := other.URL + "/v2/droplets/5/actions"
			f.mux.HandleFunc("/v2/droplets/5/actions", func(w http.ResponseWriter, r *http.Request) {
				readAll(r)
				http.Redirect(w, r, target, status)
			})
			_, err := f.client.SnapshotDroplet(ctxOp(snapkeep.OpSnapshotDroplet), 5, "s")
			if got := other.seen(); len(got) != 0 {
				t.Fatalf("the other host got %d requests (authorization %q), want none", len(got), got)
			}
			e := Classify(err)
			if e == nil || e.Class != snapkeep.ClassProviderError || e.StatusCode != status || !strings.Contains(e.Message, target) {
				t.Fatalf("error %v classified %+v, want provider_error %d naming %s", err, e, status, target)
			}
			calls := f.rec.all()
			if len(calls) != 1 {
				t.Fatalf("%d rows, want 1", len(calls))
			}
			c := calls[0]
			apiHost := strings.TrimPrefix(f.server.URL, "http://")
			if c.StatusCode != status || c.ResponseHeaders["location"] != target || c.Class != snapkeep.ClassProviderError ||
				c.Host != apiHost || c.FailureHour == "" || !strings.Contains(c.ErrorMessage, "not followed") {
				t.Errorf("row %+v, want status %d, location %s, class provider_error, host %s, counted as failed", c, status, target, apiHost)
			}
			assertNoToken(t, f.token, calls)
		})
	}
}

// TestTokenOnlyToTheAPIHost: the transport refuses, without sending
// anything, a request for any scheme and host but the base URL's.
func TestTokenOnlyToTheAPIHost(t *testing.T) {
	f := setup(t)
	other := newElsewhere(t)
	api, err := url.Parse(f.server.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{
		other.URL + "/v2/account",                                                  // another port
		"http://localhost:" + api.Port() + "/v2/account",                           // another name for the same address
		"https://" + api.Host + "/v2/account",                                      // another scheme
		"http://" + api.Hostname() + ".evil.example:" + api.Port() + "/v2/account", // a suffix
		"http://user:" + f.token + "@" + other.Listener.Addr().String(),            // the token in the URL's user info
	} {
		req, err := http.NewRequest(http.MethodGet, target, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.client.godo.HTTPClient.Do(req)
		e := Classify(err)
		if e == nil || e.Class != snapkeep.ClassInternal || !strings.Contains(e.Message, "refused to send the DigitalOcean token") {
			t.Errorf("%s: error %v classified %+v, want an internal refusal", strings.ReplaceAll(target, f.token, "TOKEN"), err, e)
		}
		if err != nil && strings.Contains(err.Error(), f.token) {
			t.Errorf("refusal error holds the token")
		}
	}
	if got := other.seen(); len(got) != 0 {
		t.Errorf("the other host got %d requests, want none", len(got))
	}
	if calls := f.rec.all(); len(calls) != 0 {
		t.Errorf("%d rows for requests never sent, want none", len(calls))
	}
	// The API host itself still works, with the default port spelt out or not.
	f.mux.HandleFunc("/v2/actions/1", func(w http.ResponseWriter, r *http.Request) { serve(t, w, http.StatusOK, "action.json") })
	if _, err := f.client.GetAction(context.Background(), 1); err != nil {
		t.Errorf("API host: %v", err)
	}
	if o, p := originOf(mustURL(t, "https://API.digitalocean.com:443/")), originOf(mustURL(t, DefaultBaseURL)); o != p {
		t.Errorf("origin %v != %v", o, p)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestInvalidBaseURLs(t *testing.T) {
	for _, base := range []string{"http://[::1", "dotest.invalid", "ftp://api.digitalocean.com/", "https:///v2"} {
		c := New(newToken(t), WithBaseURL(base))
		_, err := c.GetDroplet(context.Background(), 1)
		if e := Classify(err); e == nil || e.Class != snapkeep.ClassInternal || !strings.Contains(e.Message, "invalid DigitalOcean base URL") {
			t.Errorf("base %q: %v, want internal invalid base URL", base, err)
		}
	}
}
