package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/godo"

	"github.com/snapkeep/snapkeep/infra/proc"
	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
)

var listenRE = regexp.MustCompile(`dofake listening on (http://\S+)`)

type tokenTransport string

func (t tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(t))
	return http.DefaultTransport.RoundTrip(r)
}

func TestRunServesSeededFake(t *testing.T) {
	token, ro := dotest.NewToken(), dotest.NewToken()
	env := map[string]string{envToken: token, envReadOnlyToken: ro}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := proc.NewTail(1 << 20)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-seed", "testdata/seed.json", "-action-duration", "1m"},
			func(k string) string { return env[k] }, out)
	}()
	var base string
	for range 500 {
		if m := listenRE.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("run ended early: %v\n%s", err, out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if base == "" {
		t.Fatalf("never listened:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "seeded 4 droplets, 1 volumes, 3 snapshots, 1 faults") {
		t.Errorf("stdout %q", out.String())
	}

	c, err := godo.New(&http.Client{Transport: tokenTransport(token)}, godo.SetBaseURL(base))
	if err != nil {
		t.Fatal(err)
	}
	bg := context.Background()
	d, _, err := c.Droplets.Get(bg, 3164450)
	if err != nil || d.Name != "db-1" || d.Region.Slug != "ams3" {
		t.Fatalf("droplet %+v, %v", d, err)
	}
	snaps, _, err := c.Droplets.Snapshots(bg, 3164444, nil)
	if err != nil || len(snaps) != 1 || snaps[0].Name != "customer-manual-snapshot" {
		t.Errorf("snapshots %+v, %v", snaps, err)
	}
	backups, _, err := c.Droplets.Backups(bg, 3164444, nil)
	if err != nil || len(backups) != 1 {
		t.Errorf("backups %+v, %v", backups, err)
	}
	roc, _ := godo.New(&http.Client{Transport: tokenTransport(ro)}, godo.SetBaseURL(base))
	if _, _, err := roc.Storage.CreateSnapshot(bg, &godo.SnapshotCreateRequest{VolumeID: "506f78a4-e098-11e5-ad9f-000f53306ae1", Name: "x"}); err == nil {
		t.Error("read-only token wrote")
	}

	// Admin: clear the seeded fault, snapshot, move the clock, see it done.
	adminDo(t, "DELETE", base+"/_fake/faults", "", nil)
	a, _, err := c.DropletActions.Snapshot(bg, 3164444, "demo")
	if err != nil {
		t.Fatal(err)
	}
	adminDo(t, "POST", base+"/_fake/clock", `{"advance":"61s"}`, nil)
	got, _, err := c.Actions.Get(bg, a.ID)
	if err != nil || got.Status != godo.ActionCompleted {
		t.Errorf("action %+v, %v", got, err)
	}
	var st dotest.State
	adminDo(t, "GET", base+"/_fake/state", "", &st)
	if st.PostCounts["droplet:3164444"] != 1 || len(st.Snapshots) != 4 {
		t.Errorf("state: posts %v, %d snapshots", st.PostCounts, len(st.Snapshots))
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	if strings.Contains(out.String(), token) || strings.Contains(out.String(), ro) {
		t.Error("a token was printed")
	}
}

func adminDo(t *testing.T, method, url, body string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d", method, url, resp.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"droplets":[{"id":1,"dsik":5}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	badFault := filepath.Join(dir, "fault.json")
	if err := os.WriteFile(badFault, []byte(`{"faults":[{"kind":"explode"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	token := dotest.NewToken()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no token", []string{"-addr", "127.0.0.1:0"}, nil, "DOFAKE_TOKEN is not set"},
		{"bad flag", []string{"-nope"}, map[string]string{envToken: token}, "flag provided but not defined"},
		{"extra args", []string{"serve"}, map[string]string{envToken: token}, "unexpected arguments"},
		{"missing seed", []string{"-seed", filepath.Join(dir, "none.json")}, map[string]string{envToken: token}, "no such file"},
		{"unknown seed field", []string{"-seed", bad}, map[string]string{envToken: token}, `unknown field "dsik"`},
		{"bad fault", []string{"-seed", badFault}, map[string]string{envToken: token}, `fault kind "explode"`},
		{"bad addr", []string{"-addr", "not an address"}, map[string]string{envToken: token}, "listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := proc.NewTail(1 << 20)
			err := run(context.Background(), tt.args, func(k string) string { return tt.env[k] }, out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), token) || strings.Contains(out.String(), token) {
				t.Error("token leaked")
			}
		})
	}
}
