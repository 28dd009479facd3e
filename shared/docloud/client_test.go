package docloud

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitalocean/godo"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// fixture is godo's test setup: an httptest server with a mux, and a Client
// pointed at it with a fresh random token, a recorder and a virtual clock.
type fixture struct {
	mux    *http.ServeMux
	server *httptest.Server
	client *Client
	rec    *recorder
	clock  *stepClock
	token  string
}

// recorder keeps the calls recorded.
type recorder struct {
	mu    sync.Mutex
	calls []snapkeep.APICall
}

func (r *recorder) Record(_ context.Context, c snapkeep.APICall) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

func (r *recorder) all() []snapkeep.APICall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]snapkeep.APICall(nil), r.calls...)
}

// stepClock is a virtual clock that moves on by step at every reading.
type stepClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now
	c.now = c.now.Add(c.step)
	return t
}

var clockStart = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func newToken(t testing.TB) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "dop_v1_" + hex.EncodeToString(b)
}

func setup(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	f := &fixture{mux: http.NewServeMux(), rec: &recorder{}, token: newToken(t)}
	f.clock = &stepClock{now: clockStart, step: 25 * time.Millisecond}
	f.server = httptest.NewServer(f.mux)
	t.Cleanup(f.server.Close)
	opts = append([]Option{WithBaseURL(f.server.URL), WithRecorder(f.rec), WithClock(f.clock.Now)}, opts...)
	f.client = New(f.token, opts...)
	return f
}

func testMethod(t *testing.T, r *http.Request, want string) {
	t.Helper()
	if got := r.Method; got != want {
		t.Errorf("Request method: %v, want %v", got, want)
	}
}

func testJSONBody(t *testing.T, r *http.Request, want map[string]any) {
	t.Helper()
	var got map[string]any
	if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
		t.Fatalf("decode request body: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Request body = %v, want %v", got, want)
	}
}

func fixtureFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serve answers with status and a testdata file, DigitalOcean's headers set.
func serve(t *testing.T, w http.ResponseWriter, status int, file string) {
	t.Helper()
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Ratelimit-Limit", "5000")
	h.Set("Ratelimit-Remaining", "4816")
	h.Set("Ratelimit-Reset", "1795953600")
	h.Set("X-Request-Id", "req-ok")
	w.WriteHeader(status)
	if file != "" {
		w.Write(fixtureFile(t, file))
	}
}

func ctxOp(op snapkeep.Operation) context.Context { return WithOperation(context.Background(), op, 1) }

func TestSnapshotDroplet(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("/v2/droplets/3164444/actions", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodPost)
		testJSONBody(t, r, map[string]any{"type": "snapshot", "name": "snapkeep-pol2-20261124T120000Z"})
		if got, want := r.Header.Get("Authorization"), "Bearer "+f.token; got != want {
			t.Errorf("Authorization header not the bearer token")
		}
		if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, UserAgent+" godo/") {
			t.Errorf("User-Agent = %q, want %q prefix", ua, UserAgent+" godo/")
		}
		serve(t, w, http.StatusCreated, "action.json")
	})
	a, err := f.client.SnapshotDroplet(ctxOp(snapkeep.OpSnapshotDroplet), 3164444, "snapkeep-pol2-20261124T120000Z")
	if err != nil {
		t.Fatalf("SnapshotDroplet: %v", err)
	}
	if a.ID != 36804745 || a.Status != snapkeep.ActionInProgress || a.Type != "snapshot" || a.ResourceID != 3164444 {
		t.Errorf("SnapshotDroplet = %+v", a)
	}
}

func TestGetAction(t *testing.T) {
	for _, tc := range []struct {
		file   string
		id     int
		status snapkeep.ActionStatus
	}{
		{"action.json", 36804745, snapkeep.ActionInProgress},
		{"action_errored.json", 36804746, snapkeep.ActionErrored},
	} {
		t.Run(string(tc.status), func(t *testing.T) {
			f := setup(t)
			f.mux.HandleFunc(fmt.Sprintf("/v2/actions/%d", tc.id), func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodGet)
				serve(t, w, http.StatusOK, tc.file)
			})
			a, err := f.client.GetAction(context.Background(), int64(tc.id))
			if err != nil {
				t.Fatalf("GetAction: %v", err)
			}
			if a.ID != int64(tc.id) || a.Status != tc.status {
				t.Errorf("GetAction = id %d status %q, want %d %q", a.ID, a.Status, tc.id, tc.status)
			}
		})
	}
}

func TestGetDroplet(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("/v2/droplets/3164444", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		serve(t, w, http.StatusOK, "droplet.json")
	})
	d, err := f.client.GetDroplet(context.Background(), 3164444)
	if err != nil {
		t.Fatalf("GetDroplet: %v", err)
	}
	if d.ID != 3164444 || d.Name != "web-1" || d.Region.Slug != "nyc3" || d.Disk != 25 {
		t.Errorf("GetDroplet = %+v", d)
	}
}

func TestGetVolume(t *testing.T) {
	f := setup(t)
	const id = "506f78a4-e098-11e5-ad9f-000f53306ae1"
	f.mux.HandleFunc("/v2/volumes/"+id, func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		serve(t, w, http.StatusOK, "volume.json")
	})
	v, err := f.client.GetVolume(context.Background(), id)
	if err != nil {
		t.Fatalf("GetVolume: %v", err)
	}
	if v.ID != id || v.Name != "example" || v.Region.Slug != "nyc1" || v.SizeGigaBytes != 10 {
		t.Errorf("GetVolume = %+v", v)
	}
}

func TestSnapshotVolume(t *testing.T) {
	f := setup(t)
	const id = "506f78a4-e098-11e5-ad9f-000f53306ae1"
	f.mux.HandleFunc("/v2/volumes/"+id+"/snapshots", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodPost)
		testJSONBody(t, r, map[string]any{
			"volume_id": id, "name": "snapkeep-pol1-20261124T120000Z", "description": "",
			"tags": []any{"snapkeep", "snapkeep:pol1"},
		})
		serve(t, w, http.StatusCreated, "volume_snapshot.json")
	})
	s, err := f.client.SnapshotVolume(context.Background(), id, "snapkeep-pol1-20261124T120000Z", []string{"snapkeep", "snapkeep:pol1"})
	if err != nil {
		t.Fatalf("SnapshotVolume: %v", err)
	}
	want := &snapkeep.Snapshot{
		ID: "8fa70202-873f-11e6-8b68-000f533176b1", Name: "snapkeep-pol1-20261124T120000Z",
		ResourceID: id, SizeGB: 0.5, Created: time.Date(2026, 11, 24, 12, 0, 1, 0, time.UTC),
		Tags: []string{"snapkeep", "snapkeep:pol1"},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("SnapshotVolume = %+v, want %+v", s, want)
	}
}

func TestListSnapshots(t *testing.T) {
	const volID = "506f78a4-e098-11e5-ad9f-000f53306ae1"
	for _, tc := range []struct {
		name     string
		kind     snapkeep.ResourceKind
		id       string
		page     int
		path     string
		file     string
		wantPage string
		want     []snapkeep.Snapshot
		more     bool
	}{
		{
			name: "volume first page", kind: snapkeep.ResourceVolume, id: volID, page: 0,
			path: "/v2/volumes/" + volID + "/snapshots", file: "volume_snapshots_page1.json", wantPage: "1",
			want: []snapkeep.Snapshot{{
				ID: "8fa70202-873f-11e6-8b68-000f533176b1", Name: "snapkeep-pol1-20261124T120000Z",
				ResourceID: volID, SizeGB: 0.5, Created: time.Date(2026, 11, 24, 12, 0, 1, 0, time.UTC),
				Tags: []string{"snapkeep"},
			}},
			more: true,
		},
		{
			name: "droplet last page", kind: snapkeep.ResourceDroplet, id: "3164444", page: 2,
			path: "/v2/droplets/3164444/snapshots", file: "droplet_snapshots_last.json", wantPage: "2",
			want: []snapkeep.Snapshot{
				{
					ID: "6372321", Name: "snapkeep-pol2-20261124T120000Z", ResourceID: "3164444",
					SizeGB: 2.34, Created: time.Date(2026, 11, 24, 12, 0, 1, 0, time.UTC), Tags: []string{"snapkeep"},
				},
				{
					ID: "6372322", Name: "manual", ResourceID: "3164444", SizeGB: 2.1,
					Created: time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC),
				},
			},
			more: false,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			f.mux.HandleFunc(tc.path, func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodGet)
				q := r.URL.Query()
				if q.Get("page") != tc.wantPage || q.Get("per_page") != "200" {
					t.Errorf("query = %v, want page=%s per_page=200", q, tc.wantPage)
				}
				serve(t, w, http.StatusOK, tc.file)
			})
			got, more, err := f.client.ListSnapshots(context.Background(), tc.kind, tc.id, tc.page)
			if err != nil {
				t.Fatalf("ListSnapshots: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ListSnapshots = %+v\nwant %+v", got, tc.want)
			}
			if more != tc.more {
				t.Errorf("more = %v, want %v", more, tc.more)
			}
		})
	}
}

func TestListSnapshotsBadInput(t *testing.T) {
	f := setup(t)
	for _, tc := range []struct {
		kind snapkeep.ResourceKind
		id   string
	}{{snapkeep.ResourceDroplet, "web-1"}, {"image", "1"}} {
		_, _, err := f.client.ListSnapshots(context.Background(), tc.kind, tc.id, 1)
		if e := Classify(err); e == nil || e.Class != snapkeep.ClassInvalidPolicy {
			t.Errorf("ListSnapshots(%s, %s) error = %v, want invalid_policy", tc.kind, tc.id, err)
		}
	}
	if n := len(f.rec.all()); n != 0 {
		t.Errorf("%d requests made, want none", n)
	}
}

func TestDeleteSnapshot(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("/v2/snapshots/6372321", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodDelete)
		w.WriteHeader(http.StatusNoContent)
	})
	if err := f.client.DeleteSnapshot(context.Background(), "6372321"); err != nil {
		t.Fatalf("DeleteSnapshot: %v", err)
	}
}

func TestStatusConstants(t *testing.T) {
	// DigitalOcean's wire values, which actionOf passes through as the
	// domain's statuses.
	if snapkeep.ActionInProgress != "in-progress" || snapkeep.ActionCompleted != "completed" || snapkeep.ActionErrored != "errored" {
		t.Errorf("status constants %q %q %q", snapkeep.ActionInProgress, snapkeep.ActionCompleted, snapkeep.ActionErrored)
	}
}

// readAll drains r; used by handlers that must read a body before failing.
func readAll(r *http.Request) { io.Copy(io.Discard, r.Body) }

func TestInvalidIDsMakeNoRequest(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request %s %s made", r.Method, r.URL)
	})
	ctx := context.Background()
	errs := map[string]error{}
	_, errs["SnapshotDroplet(0)"] = f.client.SnapshotDroplet(ctx, 0, "n")
	_, errs["GetDroplet(0)"] = f.client.GetDroplet(ctx, 0)
	_, errs[`GetVolume("")`] = f.client.GetVolume(ctx, "")
	_, errs[`GetVolume("../droplets/1")`] = f.client.GetVolume(ctx, "../droplets/1")
	_, errs[`SnapshotVolume("a?b")`] = f.client.SnapshotVolume(ctx, "a?b", "n", nil)
	errs[`DeleteSnapshot("")`] = f.client.DeleteSnapshot(ctx, "")
	_, _, errs[`ListSnapshots(droplet, "-3")`] = f.client.ListSnapshots(ctx, snapkeep.ResourceDroplet, "-3", 1)
	_, _, errs[`ListSnapshots(volume, "")`] = f.client.ListSnapshots(ctx, snapkeep.ResourceVolume, "", 1)
	for name, err := range errs {
		if e := Classify(err); e == nil || e.Class != snapkeep.ClassInvalidPolicy {
			t.Errorf("%s: %v, want invalid_policy", name, err)
		}
	}
	// An action id is snapkeep's own record, not the customer's: a bad one
	// is internal.
	if _, err := f.client.GetAction(ctx, -1); Classify(err) == nil || Classify(err).Class != snapkeep.ClassInternal {
		t.Errorf("GetAction(-1): %v, want internal", err)
	}
	if n := len(f.rec.all()); n != 0 {
		t.Errorf("%d calls recorded, want 0", n)
	}
}

func TestEmptySuccessBody(t *testing.T) {
	f := setup(t)
	f.mux.HandleFunc("/v2/droplets/1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	})
	_, err := f.client.GetDroplet(context.Background(), 1)
	if e := Classify(err); e == nil || e.Class != snapkeep.ClassProviderError {
		t.Errorf("GetDroplet with {} = %v, want provider_error", err)
	}
}

func TestClassifyArgError(t *testing.T) {
	if e := Classify(godo.NewArgError("dropletID", "cannot be less than 1")); e.Class != snapkeep.ClassInvalidPolicy {
		t.Errorf("Classify(ArgError) = %s", e.Class)
	}
}
