package dotest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/godo"

	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// checkHeaders asserts the headers every answer carries and returns the
// request id.
func checkHeaders(t *testing.T, resp *godo.Response, now time.Time) string {
	t.Helper()
	if resp == nil {
		t.Fatal("no response")
	}
	h := resp.Header
	if got := h.Get("Content-Type"); got != "application/json; charset=utf-8" && got != "text/html" {
		t.Errorf("content-type = %q", got)
	}
	if got := h.Get("Date"); got != now.UTC().Format(http.TimeFormat) {
		t.Errorf("date = %q, want %q", got, now.UTC().Format(http.TimeFormat))
	}
	id := h.Get("X-Request-Id")
	if !uuidRE.MatchString(id) {
		t.Errorf("x-request-id = %q, want a UUID", id)
	}
	for _, k := range []string{"Ratelimit-Limit", "Ratelimit-Remaining", "Ratelimit-Reset"} {
		if _, err := strconv.ParseInt(h.Get(k), 10, 64); err != nil {
			t.Errorf("%s = %q, want an integer", k, h.Get(k))
		}
	}
	if resp.Rate.Limit != 5000 {
		t.Errorf("godo Rate.Limit = %d, want 5000", resp.Rate.Limit)
	}
	return id
}

func TestGodoDropletSnapshotFlow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	d, resp, err := f.godo.Droplets.Get(ctx, f.droplet)
	must(t, err)
	checkHeaders(t, resp, t0)
	if d.ID != f.droplet || d.Name != "web-1" || d.Disk != 25 || d.Region.Slug != "nyc3" || d.Region.Name != "New York 3" ||
		d.Locked || d.Status != "active" || !slices.Equal(d.VolumeIDs, []string{f.volume}) || d.Size.Slug != d.SizeSlug ||
		d.Size.Description != "Basic" {
		t.Errorf("droplet = %+v", d)
	}
	if resp.Rate.Remaining != 4999 || !resp.Rate.Reset.Time.Equal(t0.Add(time.Hour)) {
		t.Errorf("rate = %+v, want remaining 4999, reset %v", resp.Rate, t0.Add(time.Hour))
	}

	a, resp, err := f.godo.DropletActions.Snapshot(ctx, f.droplet, "nightly-1")
	must(t, err)
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("status = %d, want 201", resp.StatusCode)
	}
	checkHeaders(t, resp, t0)
	if a.Status != godo.ActionInProgress || a.Type != "snapshot" || a.ResourceID != f.droplet || a.ResourceType != "droplet" ||
		a.RegionSlug != "nyc3" || a.Region == nil || a.Region.Slug != "nyc3" || a.CompletedAt != nil || !a.StartedAt.Time.Equal(t0) {
		t.Errorf("action = %+v", a)
	}
	raw := string(lastBody(t, f.godo))
	for _, want := range []string{`"completed_at":null`, `"region_slug":"nyc3"`, `"resource_type":"droplet"`, `"status":"in-progress"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("action body %s lacks %s", raw, want)
		}
	}
	d, _, err = f.godo.Droplets.Get(ctx, f.droplet)
	must(t, err)
	if !d.Locked {
		t.Error("droplet not locked while its action runs")
	}

	// 25 GB: one minute per GB.
	f.clock.Advance(25*time.Minute - time.Second)
	got, _, err := f.godo.Actions.Get(ctx, a.ID)
	must(t, err)
	if got.Status != godo.ActionInProgress {
		t.Errorf("after 24m59s status = %q, want in-progress", got.Status)
	}
	snaps, _, err := f.godo.Droplets.Snapshots(ctx, f.droplet, nil)
	must(t, err)
	if len(snaps) != 0 {
		t.Errorf("snapshot listed before its action completed: %+v", snaps)
	}

	f.clock.Advance(time.Second)
	got, _, err = f.godo.DropletActions.Get(ctx, f.droplet, a.ID)
	must(t, err)
	if got.Status != godo.ActionCompleted || got.CompletedAt == nil || !got.CompletedAt.Time.Equal(t0.Add(25*time.Minute)) {
		t.Errorf("after 25m action = %+v", got)
	}
	snaps, resp, err = f.godo.Droplets.Snapshots(ctx, f.droplet, nil)
	must(t, err)
	if len(snaps) != 1 || snaps[0].Name != "nightly-1" || snaps[0].Type != "snapshot" || snaps[0].ID == 0 ||
		snaps[0].MinDiskSize != 25 || !slices.Equal(snaps[0].Regions, []string{"nyc3"}) || snaps[0].Created != t0.Format(time.RFC3339) {
		t.Fatalf("droplet snapshots = %+v", snaps)
	}
	if resp.Meta == nil || resp.Meta.Total != 1 || !resp.Links.IsLastPage() {
		t.Errorf("meta = %+v links = %+v", resp.Meta, resp.Links)
	}
	id := strconv.Itoa(snaps[0].ID)

	all, _, err := f.godo.Snapshots.ListDroplet(ctx, nil)
	must(t, err)
	if len(all) != 1 || all[0].ID != id || all[0].ResourceID != strconv.Itoa(f.droplet) || all[0].ResourceType != "droplet" {
		t.Errorf("/v2/snapshots?resource_type=droplet = %+v", all)
	}
	vols, _, err := f.godo.Snapshots.ListVolume(ctx, nil)
	must(t, err)
	if len(vols) != 0 {
		t.Errorf("volume snapshots = %+v", vols)
	}
	one, _, err := f.godo.Snapshots.Get(ctx, id)
	must(t, err)
	if one.ID != id || one.Name != "nightly-1" {
		t.Errorf("get snapshot = %+v", one)
	}
	d, _, err = f.godo.Droplets.Get(ctx, f.droplet)
	must(t, err)
	if d.Locked || !slices.Equal(d.SnapshotIDs, []int{snaps[0].ID}) {
		t.Errorf("droplet after snapshot: locked %v snapshot_ids %v", d.Locked, d.SnapshotIDs)
	}

	resp, err = f.godo.Snapshots.Delete(ctx, id)
	must(t, err)
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("delete status = %d, want 204", resp.StatusCode)
	}
	checkHeaders(t, resp, f.clock.Now())
	_, err = f.godo.Snapshots.Delete(ctx, id)
	if e := apiError(t, err); e.Response.StatusCode != http.StatusNotFound {
		t.Errorf("second delete status = %d, want 404", e.Response.StatusCode)
	}
	if del := f.srv.Deleted(); len(del) != 1 || del[0].ID != id {
		t.Errorf("Deleted() = %+v", del)
	}
	if n := f.srv.SnapshotPosts("droplet", strconv.Itoa(f.droplet)); n != 1 {
		t.Errorf("SnapshotPosts = %d, want 1", n)
	}
}

func TestGodoVolumeSnapshots(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	v, resp, err := f.godo.Storage.GetVolume(ctx, f.volume)
	must(t, err)
	checkHeaders(t, resp, t0)
	if v.ID != f.volume || v.Name != "data" || v.SizeGigaBytes != 100 || v.Region.Slug != "nyc3" ||
		!slices.Equal(v.DropletIDs, []int{f.droplet}) || !v.CreatedAt.Equal(t0) || v.FilesystemType != "ext4" {
		t.Errorf("volume = %+v", v)
	}

	sn, resp, err := f.godo.Storage.CreateSnapshot(ctx, &godo.SnapshotCreateRequest{VolumeID: f.volume, Name: "vol-nightly", Tags: []string{"snapkeep"}})
	must(t, err)
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("status = %d, want 201", resp.StatusCode)
	}
	if !uuidRE.MatchString(sn.ID) || sn.Name != "vol-nightly" || sn.ResourceID != f.volume || sn.ResourceType != "volume" ||
		sn.MinDiskSize != 100 || !slices.Equal(sn.Tags, []string{"snapkeep"}) || sn.Created != t0.Format(time.RFC3339) {
		t.Errorf("snapshot = %+v", sn)
	}
	list, resp, err := f.godo.Storage.ListSnapshots(ctx, f.volume, nil)
	must(t, err)
	if len(list) != 1 || list[0].ID != sn.ID || resp.Meta.Total != 1 {
		t.Errorf("volume snapshots = %+v meta %+v", list, resp.Meta)
	}
	got, _, err := f.godo.Storage.GetSnapshot(ctx, sn.ID)
	must(t, err)
	if got.ID != sn.ID {
		t.Errorf("get volume snapshot = %+v", got)
	}
	vols, _, err := f.godo.Snapshots.ListVolume(ctx, nil)
	must(t, err)
	if len(vols) != 1 || vols[0].ID != sn.ID {
		t.Errorf("/v2/snapshots?resource_type=volume = %+v", vols)
	}
	_, err = f.godo.Storage.DeleteSnapshot(ctx, sn.ID)
	must(t, err)
	_, _, err = f.godo.Snapshots.Get(ctx, sn.ID)
	if e := apiError(t, err); e.Response.StatusCode != http.StatusNotFound {
		t.Errorf("get deleted = %d", e.Response.StatusCode)
	}
	if n := f.srv.SnapshotPosts("volume", f.volume); n != 1 {
		t.Errorf("SnapshotPosts = %d, want 1", n)
	}
}

func TestVolumeSnapshotLimit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// 3 of the 25 are the customer's own.
	for i := range 3 {
		_, err := f.srv.AddSnapshot(dotest.Snapshot{ResourceType: "volume", ResourceID: f.volume, Name: "mine-" + strconv.Itoa(i)})
		must(t, err)
	}
	var first string
	for i := range 22 {
		sn, _, err := f.godo.Storage.CreateSnapshot(ctx, &godo.SnapshotCreateRequest{VolumeID: f.volume, Name: "s" + strconv.Itoa(i)})
		must(t, err)
		if i == 0 {
			first = sn.ID
		}
	}
	_, _, err := f.godo.Storage.CreateSnapshot(ctx, &godo.SnapshotCreateRequest{VolumeID: f.volume, Name: "s26"})
	e := apiError(t, err)
	if e.Response.StatusCode != http.StatusUnprocessableEntity || e.Message != dotest.MsgVolumeSnapshotLimit ||
		e.RequestID != e.Response.Header.Get("X-Request-Id") {
		t.Errorf("26th: %d %q %q", e.Response.StatusCode, e.Message, e.RequestID)
	}
	// Paging over the 25.
	opt := &godo.ListOptions{Page: 1, PerPage: 10}
	var ids []string
	for {
		page, resp, err := f.godo.Storage.ListSnapshots(ctx, f.volume, opt)
		must(t, err)
		if resp.Meta.Total != 25 {
			t.Errorf("meta.total = %d, want 25", resp.Meta.Total)
		}
		for _, s := range page {
			ids = append(ids, s.ID)
		}
		if resp.Links.IsLastPage() {
			break
		}
		cur, err := resp.Links.CurrentPage()
		must(t, err)
		if cur != opt.Page {
			t.Errorf("CurrentPage = %d, want %d", cur, opt.Page)
		}
		opt.Page++
		if opt.Page > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(ids) != 25 || opt.Page != 3 {
		t.Errorf("paged %d snapshots over %d pages, want 25 over 3", len(ids), opt.Page)
	}
	_, err = f.godo.Snapshots.Delete(ctx, first)
	must(t, err)
	_, _, err = f.godo.Storage.CreateSnapshot(ctx, &godo.SnapshotCreateRequest{VolumeID: f.volume, Name: "room again"})
	must(t, err)
}

func TestVolumeSnapshotInterval(t *testing.T) {
	f := newFixture(t, dotest.WithVolumeSnapshotInterval(10*time.Minute))
	ctx := context.Background()
	req := &godo.SnapshotCreateRequest{VolumeID: f.volume, Name: "a"}
	_, _, err := f.godo.Storage.CreateSnapshot(ctx, req)
	must(t, err)
	f.clock.Advance(9 * time.Minute)
	_, _, err = f.godo.Storage.CreateSnapshot(ctx, req)
	e := apiError(t, err)
	if e.Response.StatusCode != http.StatusTooManyRequests || e.Response.Header.Get("Retry-After") != "60" ||
		e.Message != "failed to create snapshot: this operation is rate-limited - one request per 10m0s" {
		t.Errorf("got %d retry-after %q %q", e.Response.StatusCode, e.Response.Header.Get("Retry-After"), e.Message)
	}
	f.clock.Advance(time.Minute)
	_, _, err = f.godo.Storage.CreateSnapshot(ctx, req)
	must(t, err)
}

func TestPagingLinks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := range 45 {
		_, err := f.srv.AddSnapshot(dotest.Snapshot{ResourceType: "droplet", ResourceID: strconv.Itoa(f.droplet),
			Name: "own-" + strconv.Itoa(i), CreatedAt: t0.Add(time.Duration(i) * time.Minute)})
		must(t, err)
	}
	var names []string
	opt := &godo.ListOptions{Page: 1, PerPage: 20}
	for pages := 1; ; pages++ {
		page, resp, err := f.godo.Droplets.Snapshots(ctx, f.droplet, opt)
		must(t, err)
		if resp.Meta.Total != 45 {
			t.Errorf("meta.total = %d", resp.Meta.Total)
		}
		for _, s := range page {
			names = append(names, s.Name)
		}
		if resp.Links.IsLastPage() {
			if pages != 3 || len(page) != 5 {
				t.Errorf("last page %d has %d items, want page 3 with 5", pages, len(page))
			}
			break
		}
		if resp.Links.Pages.Next == "" || resp.Links.Pages.Last == "" {
			t.Fatalf("links = %+v", resp.Links.Pages)
		}
		opt.Page++
	}
	if len(names) != 45 || names[0] != "own-0" || names[44] != "own-44" {
		t.Errorf("names = %v", names)
	}
}

func TestBackupsAreNotSnapshots(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	backup, err := f.srv.AddSnapshot(dotest.Snapshot{ResourceType: "droplet", ResourceID: strconv.Itoa(f.droplet), Type: dotest.TypeBackup})
	must(t, err)
	own, err := f.srv.AddSnapshot(dotest.Snapshot{ResourceType: "droplet", ResourceID: strconv.Itoa(f.droplet), Name: "customer's own"})
	must(t, err)

	snaps, _, err := f.godo.Droplets.Snapshots(ctx, f.droplet, nil)
	must(t, err)
	if len(snaps) != 1 || strconv.Itoa(snaps[0].ID) != own.ID {
		t.Errorf("snapshots = %+v, want only the customer's own", snaps)
	}
	backups, _, err := f.godo.Droplets.Backups(ctx, f.droplet, nil)
	must(t, err)
	if len(backups) != 1 || strconv.Itoa(backups[0].ID) != backup.ID || backups[0].Type != "backup" {
		t.Errorf("backups = %+v", backups)
	}
	d, _, err := f.godo.Droplets.Get(ctx, f.droplet)
	must(t, err)
	if len(d.BackupIDs) != 1 || len(d.SnapshotIDs) != 1 {
		t.Errorf("droplet backup_ids %v snapshot_ids %v", d.BackupIDs, d.SnapshotIDs)
	}
	// DigitalOcean's API description: 400 bad_request "the resource is not
	// a snapshot" for an image that is not a snapshot.
	_, err = f.godo.Snapshots.Delete(ctx, backup.ID)
	if e := apiError(t, err); e.Response.StatusCode != http.StatusBadRequest || e.Message != dotest.MsgNotASnapshot ||
		e.RequestID != e.Response.Header.Get("X-Request-Id") {
		t.Errorf("delete backup = %d %q, want 400 %q", e.Response.StatusCode, e.Message, dotest.MsgNotASnapshot)
	}
	_, _, err = f.godo.Snapshots.Get(ctx, backup.ID)
	if e := apiError(t, err); e.Response.StatusCode != http.StatusBadRequest || e.Message != dotest.MsgNotASnapshot {
		t.Errorf("get backup = %d %q, want 400 %q", e.Response.StatusCode, e.Message, dotest.MsgNotASnapshot)
	}
	var body struct{ ID string }
	must(t, json.Unmarshal(lastBody(t, f.godo), &body))
	if body.ID != "bad_request" {
		t.Errorf("error id %q, want bad_request", body.ID)
	}
	if _, ok := f.srv.Snapshot(backup.ID); !ok {
		t.Error("backup was deleted")
	}
	if got := f.srv.SnapshotsOf("droplet", strconv.Itoa(f.droplet)); len(got) != 2 || got[0].Origin != dotest.OriginForeign {
		t.Errorf("SnapshotsOf = %+v", got)
	}
}

// TestGodoAccount: GET /v2/account answers DigitalOcean's account object
// with the rate-limit headers, for read-only tokens too; SetAccount
// changes it; an unknown token is 401.
func TestGodoAccount(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, resp, err := f.godo.Account.Get(ctx)
	must(t, err)
	checkHeaders(t, resp, t0)
	if a.Status != "active" || !a.EmailVerified || a.DropletLimit != 25 || a.FloatingIPLimit != 5 || len(a.UUID) != 40 ||
		a.Email == "" || a.Team != nil {
		t.Errorf("account = %+v", a)
	}
	raw := string(lastBody(t, f.godo))
	for _, want := range []string{`"droplet_limit":25`, `"email_verified":true`, `"status_message":" "`, `"uuid":"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("account body %s lacks %s", raw, want)
		}
	}
	acct, ok := f.srv.Account(f.token)
	if !ok || acct.UUID != a.UUID {
		t.Fatalf("Account = %+v, %v", acct, ok)
	}
	acct.Status, acct.StatusMessage, acct.TeamName, acct.TeamUUID = "locked", "Payment overdue", "Ops", "5df3e3004a17e242b7c20ca6c9fc25b701a47ece"
	if !f.srv.SetAccount(f.token, acct) {
		t.Fatal("SetAccount: token not found")
	}
	b, _, err := f.godo.Account.Get(ctx)
	must(t, err)
	if b.Status != "locked" || b.StatusMessage != "Payment overdue" || b.UUID != a.UUID || b.Team == nil || b.Team.Name != "Ops" ||
		b.DropletLimit != 25 {
		t.Errorf("account after SetAccount = %+v", b)
	}
	ro := dotest.NewToken()
	f.srv.AddReadOnlyToken(ro)
	if _, _, err := f.client(t, ro, 0).Account.Get(ctx); err != nil {
		t.Errorf("read-only token: %v", err)
	}
	if f.srv.SetAccount(dotest.NewToken(), dotest.Account{}) {
		t.Error("SetAccount of an unknown token succeeded")
	}
	if _, ok := f.srv.Account(dotest.NewToken()); ok {
		t.Error("Account of an unknown token found")
	}
	_, _, err = f.client(t, dotest.NewToken(), 0).Account.Get(ctx)
	if e := apiError(t, err); e.Response.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown token = %d, want 401", e.Response.StatusCode)
	}
}
