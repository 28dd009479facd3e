package docloud_test

import (
	"context"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/docloud"
	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// TestFakeListDropletActions: the client against the fake's
// GET /v2/droplets/{id}/actions finds a snapshot action POSTed earlier.
func TestFakeListDropletActions(t *testing.T) {
	e := newFake(t, nil)
	ctx := context.Background()
	older, err := e.srv.AddAction(dotest.Action{ResourceID: 100, StartedAt: e.clock.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.client.SnapshotDroplet(ctx, 100, "snapkeep-pol-1")
	if err != nil {
		t.Fatal(err)
	}
	got, more, err := e.client.ListDropletActions(ctx, 100, 1)
	if err != nil {
		t.Fatalf("ListDropletActions: %v", err)
	}
	if more || len(got) != 2 || got[0].ID != a.ID || got[1].ID != int64(older.ID) {
		t.Errorf("actions = %+v (more %v), want %d then %d", got, more, a.ID, older.ID)
	}
	if got[0].Type != "snapshot" || got[0].Status != snapkeep.ActionInProgress || !got[0].StartedAt.Equal(a.StartedAt) {
		t.Errorf("newest action = %+v, want the POSTed one", got[0])
	}
	if _, _, err := e.client.ListDropletActions(ctx, 999, 1); docloud.Classify(err) == nil || docloud.Classify(err).Class != snapkeep.ClassResourceMissing {
		t.Errorf("unknown droplet: %v, want resource_missing", err)
	}
	assertTokenAbsent(t, e.token, e.recorded())
}
