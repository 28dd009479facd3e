package dotest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/godo"

	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// TestGodoDropletActions checks GET /v2/droplets/{id}/actions against
// godo's Droplets.Actions: DigitalOcean's shape, newest first, paged, and
// only the droplet's own actions.
func TestGodoDropletActions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	must(t, f.srv.AddDroplet(dotest.Droplet{ID: 42, Name: "other", Disk: 10, Region: "ams3"}))

	// The customer's own snapshot yesterday, an errored one, another
	// droplet's action, then ours (in progress).
	old, err := f.srv.AddAction(dotest.Action{ResourceID: f.droplet, StartedAt: t0.Add(-24 * time.Hour)})
	must(t, err)
	bad, err := f.srv.AddAction(dotest.Action{ResourceID: f.droplet, Status: dotest.StatusErrored, StartedAt: t0.Add(-time.Hour)})
	must(t, err)
	_, err = f.srv.AddAction(dotest.Action{ResourceID: 42, StartedAt: t0.Add(-time.Minute)})
	must(t, err)
	f.clock.Advance(time.Second)
	ours, _, err := f.godo.DropletActions.Snapshot(ctx, f.droplet, "nightly")
	must(t, err)

	got, resp, err := f.godo.Droplets.Actions(ctx, f.droplet, &godo.ListOptions{Page: 1, PerPage: 2})
	must(t, err)
	checkHeaders(t, resp, t0.Add(time.Second))
	if resp.Meta == nil || resp.Meta.Total != 3 {
		t.Errorf("meta = %+v, want total 3", resp.Meta)
	}
	if resp.Links == nil || resp.Links.IsLastPage() || resp.Links.Pages.Next == "" {
		t.Errorf("links = %+v, want a next page", resp.Links)
	}
	if len(got) != 2 || got[0].ID != ours.ID || got[1].ID != bad.ID {
		t.Fatalf("page 1 = %+v, want actions %d then %d", got, ours.ID, bad.ID)
	}
	a := got[0]
	if a.Type != "snapshot" || a.Status != godo.ActionInProgress || a.ResourceID != f.droplet || a.ResourceType != "droplet" ||
		a.StartedAt == nil || !a.StartedAt.Time.Equal(t0.Add(time.Second)) || a.CompletedAt != nil || a.RegionSlug != "nyc3" {
		t.Errorf("newest action = %+v", a)
	}
	if got[1].Status != "errored" || got[1].CompletedAt == nil || !got[1].CompletedAt.Time.Equal(t0.Add(-time.Hour)) {
		t.Errorf("errored action = %+v", got[1])
	}
	raw := string(lastBody(t, f.godo))
	for _, want := range []string{`"actions":[`, `"links":{`, `"meta":{"total":3}`, `"completed_at":null`} {
		if !strings.Contains(raw, want) {
			t.Errorf("body %s lacks %s", raw, want)
		}
	}

	got, resp, err = f.godo.Droplets.Actions(ctx, f.droplet, &godo.ListOptions{Page: 2, PerPage: 2})
	must(t, err)
	if len(got) != 1 || got[0].ID != old.ID || !resp.Links.IsLastPage() {
		t.Errorf("page 2 = %+v (links %+v), want only action %d, last page", got, resp.Links, old.ID)
	}
	if r := lastRequest(t, f.srv); r.Operation != snapkeep.OpListActions {
		t.Errorf("operation = %q, want %q", r.Operation, snapkeep.OpListActions)
	}

	// Our action completes: listed as completed; the added one made no
	// snapshot.
	f.clock.Advance(time.Hour)
	got, _, err = f.godo.Droplets.Actions(ctx, f.droplet, nil)
	must(t, err)
	if len(got) != 3 || got[0].Status != godo.ActionCompleted {
		t.Errorf("after an hour: %+v, want 3 actions, the newest completed", got)
	}
	if snaps := f.srv.SnapshotsOf("droplet", "3164444"); len(snaps) != 1 || snaps[0].Name != "nightly" {
		t.Errorf("snapshots = %+v, want only nightly", snaps)
	}

	_, _, err = f.godo.Droplets.Actions(ctx, 999, nil)
	if e := apiError(t, err); e.Response.StatusCode != http.StatusNotFound {
		t.Errorf("unknown droplet: status %d, want 404", e.Response.StatusCode)
	}
	if _, err := f.srv.AddAction(dotest.Action{ResourceID: 999}); err == nil {
		t.Error("AddAction on an unknown droplet: no error")
	}
}

// TestAddedActionLocksDroplet: an added in-progress action makes a
// snapshot POST answer 422 pending event until it is due.
func TestAddedActionLocksDroplet(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.srv.AddAction(dotest.Action{ResourceID: f.droplet, Status: dotest.StatusInProgress, DueAt: t0.Add(time.Minute)})
	must(t, err)
	_, _, err = f.godo.DropletActions.Snapshot(ctx, f.droplet, "nightly")
	if e := apiError(t, err); e.Response.StatusCode != http.StatusUnprocessableEntity || e.Message != dotest.MsgPendingEvent {
		t.Errorf("POST while locked: %v, want 422 pending event", err)
	}
	f.clock.Advance(time.Minute)
	if _, _, err := f.godo.DropletActions.Snapshot(ctx, f.droplet, "nightly"); err != nil {
		t.Errorf("POST after the added action completed: %v", err)
	}
}
