package dotest_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/digitalocean/godo"

	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// fixture is a started fake with a virtual clock, a read-write token, a
// droplet (3164444, 25 GB, nyc3), a volume and a godo client.
type fixture struct {
	srv     *dotest.Server
	clock   *dotest.Clock
	token   string
	godo    *godo.Client
	volume  string
	droplet int
}

func newFixture(t *testing.T, opts ...dotest.Option) *fixture {
	t.Helper()
	clock := dotest.NewClock(t0)
	srv := dotest.NewServer(append([]dotest.Option{dotest.WithVirtualClock(clock)}, opts...)...)
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv, clock: clock, token: dotest.NewToken(), droplet: 3164444,
		volume: "506f78a4-e098-11e5-ad9f-000f53306ae1"}
	srv.AddToken(f.token)
	must(t, srv.AddDroplet(dotest.Droplet{ID: f.droplet, Name: "web-1", Disk: 25, Region: "nyc3", VolumeIDs: []string{f.volume}}))
	must(t, srv.AddVolume(dotest.Volume{ID: f.volume, Name: "data", Region: "nyc3", SizeGigaBytes: 100, DropletIDs: []int{f.droplet}}))
	f.godo = f.client(t, f.token, 0)
	return f
}

// client returns a godo client for token; timeout 0 means none.
func (f *fixture) client(t *testing.T, token string, timeout time.Duration) *godo.Client {
	t.Helper()
	hc := &http.Client{Timeout: timeout, Transport: &bearerTransport{token: token, next: f.srv.Client().Transport}}
	c, err := godo.New(hc, godo.SetBaseURL(f.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// bearerTransport adds the token and keeps the last response body.
type bearerTransport struct {
	token string
	next  http.RoundTripper

	mu       sync.Mutex
	lastBody []byte
}

func (b *bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.token != "" {
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	resp, err := b.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.lastBody = body
	b.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// lastBody returns the last response body client c received.
func lastBody(t *testing.T, c *godo.Client) []byte {
	t.Helper()
	bt, ok := c.HTTPClient.Transport.(*bearerTransport)
	if !ok {
		t.Fatalf("transport %T", c.HTTPClient.Transport)
	}
	bt.mu.Lock()
	defer bt.mu.Unlock()
	return bt.lastBody
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// apiError asserts err is a *godo.ErrorResponse and returns it.
func apiError(t *testing.T, err error) *godo.ErrorResponse {
	t.Helper()
	var e *godo.ErrorResponse
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *godo.ErrorResponse", err, err)
	}
	return e
}

// lastRequest returns the last request the fake logged.
func lastRequest(t *testing.T, srv *dotest.Server) dotest.Request {
	t.Helper()
	reqs := srv.Requests()
	if len(reqs) == 0 {
		t.Fatal("no request logged")
	}
	return reqs[len(reqs)-1]
}
