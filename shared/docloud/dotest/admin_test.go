package dotest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
)

// admin calls an admin endpoint and decodes the JSON answer into out.
func admin(t *testing.T, f *fixture, method, path, body string, wantStatus int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	must(t, err)
	resp, err := f.srv.Client().Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, wantStatus)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

func TestAdminEndpoints(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	var d dotest.Droplet
	admin(t, f, "POST", "/_fake/droplets", `{"id": 42, "disk": 2, "action_duration": "30s", "action_outcome": "errored"}`, 201, &d)
	if d.ID != 42 || d.ActionDuration != 30*time.Second || d.Region != "nyc3" {
		t.Errorf("droplet %+v", d)
	}
	admin(t, f, "POST", "/_fake/volumes", `{"id": "vol-2", "size_gigabytes": 5}`, 201, nil)
	var sn dotest.Snapshot
	admin(t, f, "POST", "/_fake/snapshots", `{"resource_type": "droplet", "resource_id": "42", "type": "backup"}`, 201, &sn)
	if sn.Origin != dotest.OriginForeign || sn.Type != dotest.TypeBackup || sn.ID == "" {
		t.Errorf("snapshot %+v", sn)
	}
	var fid map[string]int
	admin(t, f, "POST", "/_fake/faults", `{"kind": "status", "status": 503, "operation": "get_volume", "count": 1}`, 201, &fid)
	if fid["id"] == 0 {
		t.Errorf("fault id %v", fid)
	}
	admin(t, f, "POST", "/_fake/faults", `{"kind": "latency", "delay": 0.001, "path": "/v2/droplets/*/actions"}`, 201, nil)
	admin(t, f, "POST", "/_fake/faults", `{"kind": "bogus"}`, 422, nil)
	admin(t, f, "POST", "/_fake/faults", `{"kind": "status", "operation": "get_droplets"}`, 422, nil)
	admin(t, f, "POST", "/_fake/faults", `{"kind": "status", "unknown_field": 1}`, 400, nil)

	if _, _, err := f.godo.Storage.GetVolume(ctx, "vol-2"); err == nil {
		t.Error("want the injected 503")
	}
	a, _, err := f.godo.DropletActions.Snapshot(ctx, 42, "x")
	must(t, err)

	var now map[string]time.Time
	admin(t, f, "POST", "/_fake/clock", `{"advance": "30s"}`, 200, &now)
	if !now["now"].Equal(t0.Add(30 * time.Second)) {
		t.Errorf("clock %v", now)
	}
	admin(t, f, "GET", "/_fake/clock", "", 200, &now)

	var st dotest.State
	admin(t, f, "GET", "/_fake/state", "", 200, &st)
	if len(st.Droplets) != 2 || len(st.Volumes) != 2 || len(st.Snapshots) != 1 || len(st.Actions) != 1 ||
		st.Actions[0].ID != a.ID || st.Actions[0].Status != dotest.StatusErrored || st.PostCounts["droplet:42"] != 1 ||
		len(st.Faults) != 2 || st.Faults[0].Hits != 1 {
		t.Errorf("state %+v", st)
	}
	var reqs []dotest.Request
	admin(t, f, "GET", "/_fake/requests", "", 200, &reqs)
	if len(reqs) != 2 || reqs[0].Status != 503 || reqs[0].Operation != dotest.OpGetVolume || reqs[1].Status != 201 ||
		reqs[1].Fault != dotest.FaultLatency {
		t.Errorf("requests %+v", reqs)
	}
	var posts map[string]int
	admin(t, f, "GET", "/_fake/posts", "", 200, &posts)
	if posts["droplet:42"] != 1 {
		t.Errorf("posts %v", posts)
	}
	var actions []dotest.Action
	admin(t, f, "GET", "/_fake/actions", "", 200, &actions)
	var snaps []dotest.Snapshot
	admin(t, f, "GET", "/_fake/snapshots", "", 200, &snaps)
	if len(actions) != 1 || len(snaps) != 1 {
		t.Errorf("actions %v snapshots %v", actions, snaps)
	}
	var faults []dotest.FaultState
	admin(t, f, "GET", "/_fake/faults", "", 200, &faults)
	if len(faults) != 2 || faults[1].Fault.Delay != time.Millisecond {
		t.Errorf("faults %+v", faults)
	}
	admin(t, f, "DELETE", "/_fake/faults/"+itoa(faults[1].ID), "", 204, nil)
	admin(t, f, "DELETE", "/_fake/faults/999", "", 404, nil)
	admin(t, f, "DELETE", "/_fake/faults", "", 204, nil)
	admin(t, f, "DELETE", "/_fake/requests", "", 204, nil)
	admin(t, f, "DELETE", "/_fake/droplets/42", "", 204, nil)
	admin(t, f, "DELETE", "/_fake/volumes/vol-2", "", 204, nil)
	admin(t, f, "GET", "/_fake/state", "", 200, &st)
	if len(st.Droplets) != 1 || len(st.Volumes) != 1 || len(st.Faults) != 0 || len(f.srv.Requests()) != 0 {
		t.Errorf("after deletes: %+v", st)
	}
	admin(t, f, "GET", "/_fake/nothing", "", 404, nil)
}

func TestAdminClockNeedsVirtualClock(t *testing.T) {
	srv := dotest.NewServer()
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL+"/_fake/clock", "application/json", bytes.NewReader([]byte(`{"advance":"1m"}`)))
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("status %d, want 409", resp.StatusCode)
	}
}

// TestTokenNeverKept: the token appears in no inspection output.
func TestTokenNeverKept(t *testing.T) {
	f := newFixture(t)
	ro := dotest.NewToken()
	f.srv.AddReadOnlyToken(ro)
	ctx := context.Background()
	_, _, _ = f.godo.DropletActions.Snapshot(ctx, f.droplet, "a")
	_, _, _ = f.client(t, ro, 0).DropletActions.Snapshot(ctx, f.droplet, "b")
	_, _, _ = f.client(t, dotest.NewToken(), 0).Droplets.Get(ctx, f.droplet)
	var all []byte
	for _, p := range []string{"/_fake/state", "/_fake/requests"} {
		var raw json.RawMessage
		admin(t, f, "GET", p, "", 200, &raw)
		all = append(all, raw...)
	}
	b, _ := json.Marshal(f.srv.Requests())
	all = append(all, b...)
	for _, tok := range []string{f.token, ro, "dop_v1_"} {
		if bytes.Contains(all, []byte(tok)) {
			t.Errorf("a token appears in the inspection output")
		}
	}
	reqs := f.srv.Requests()
	if len(reqs) != 3 || !reqs[0].Authorized || !reqs[1].Authorized || reqs[1].Status != 403 || reqs[2].Authorized || reqs[2].Status != 401 {
		t.Errorf("requests %+v", reqs)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
