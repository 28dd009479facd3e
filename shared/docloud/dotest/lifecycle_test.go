package dotest_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/digitalocean/godo"

	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
)

// TestActionLifecycle: in-progress, then completed / errored / stuck, with
// the durations from the droplet, the server and the per-GB default.
func TestActionLifecycle(t *testing.T) {
	tests := []struct {
		name     string
		opts     []dotest.Option
		droplet  dotest.Droplet
		fault    *dotest.Fault
		duration time.Duration // when it leaves in-progress; 0 = never
		want     string
		snapshot bool
	}{
		{name: "per GB default", droplet: dotest.Droplet{Disk: 80}, duration: 80 * time.Minute, want: "completed", snapshot: true},
		{name: "per GB option", opts: []dotest.Option{dotest.WithActionPerGB(time.Second)}, droplet: dotest.Droplet{Disk: 80},
			duration: 80 * time.Second, want: "completed", snapshot: true},
		{name: "global duration", opts: []dotest.Option{dotest.WithActionDuration(3 * time.Minute)}, droplet: dotest.Droplet{Disk: 80},
			duration: 3 * time.Minute, want: "completed", snapshot: true},
		{name: "droplet duration wins", opts: []dotest.Option{dotest.WithActionDuration(3 * time.Minute)},
			droplet: dotest.Droplet{Disk: 80, ActionDuration: 42 * time.Second}, duration: 42 * time.Second, want: "completed", snapshot: true},
		{name: "droplet errors", droplet: dotest.Droplet{Disk: 10, ActionOutcome: dotest.OutcomeErrored}, duration: 10 * time.Minute, want: "errored"},
		{name: "errored by fault", droplet: dotest.Droplet{Disk: 10}, fault: &dotest.Fault{Kind: dotest.FaultActionErrored, Count: 1},
			duration: 10 * time.Minute, want: "errored"},
		{name: "droplet stuck", droplet: dotest.Droplet{Disk: 10, ActionOutcome: dotest.OutcomeStuck}, want: "in-progress"},
		{name: "stuck by fault", droplet: dotest.Droplet{Disk: 10}, fault: &dotest.Fault{Kind: dotest.FaultActionStuck}, want: "in-progress"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, tt.opts...)
			tt.droplet.ID = 777
			must(t, f.srv.AddDroplet(tt.droplet))
			if tt.fault != nil {
				f.srv.MustAddFault(*tt.fault)
			}
			a, _, err := f.godo.DropletActions.Snapshot(ctx, 777, "snap-777")
			must(t, err)
			check := func(at time.Duration, status string, snaps int) {
				t.Helper()
				f.clock.Set(t0.Add(at))
				got, _, err := f.godo.Actions.Get(ctx, a.ID)
				must(t, err)
				if got.Status != status {
					t.Errorf("at +%v status %q, want %q", at, got.Status, status)
				}
				if (got.CompletedAt != nil) != (status != "in-progress") {
					t.Errorf("at +%v completed_at %v", at, got.CompletedAt)
				}
				list, _, err := f.godo.Droplets.Snapshots(ctx, 777, nil)
				must(t, err)
				if len(list) != snaps {
					t.Errorf("at +%v %d snapshots listed, want %d", at, len(list), snaps)
				}
			}
			if tt.duration == 0 {
				check(1000*time.Hour, "in-progress", 0)
				_, _, err := f.godo.DropletActions.Snapshot(ctx, 777, "again")
				if e := apiError(t, err); e.Response.StatusCode != 422 || e.Message != dotest.MsgPendingEvent {
					t.Errorf("stuck droplet: %d %q", e.Response.StatusCode, e.Message)
				}
				return
			}
			check(tt.duration-time.Second, "in-progress", 0)
			n := 0
			if tt.snapshot {
				n = 1
			}
			check(tt.duration, tt.want, n)
			st, ok := f.srv.Action(a.ID)
			if !ok || st.Status != tt.want || (st.SnapshotID != "") != tt.snapshot {
				t.Errorf("Action() = %+v", st)
			}
			// The droplet is free again.
			_, _, err = f.godo.DropletActions.Snapshot(ctx, 777, "next")
			must(t, err)
		})
	}
}

// TestActionCompletesUnpolled: the snapshot appears when the action is due
// even if nobody polls the action.
func TestActionCompletesUnpolled(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, _, err := f.godo.DropletActions.Snapshot(ctx, f.droplet, "quiet")
	must(t, err)
	f.clock.Advance(time.Hour)
	all, _, err := f.godo.Snapshots.List(ctx, nil)
	must(t, err)
	if len(all) != 1 || all[0].Name != "quiet" {
		t.Errorf("snapshots = %+v", all)
	}
}

// TestListingLag: completed, but listed only after the lag.
func TestListingLag(t *testing.T) {
	tests := []struct {
		name  string
		opts  []dotest.Option
		fault *dotest.Fault
		lag   time.Duration
	}{
		{name: "server option", opts: []dotest.Option{dotest.WithListingLag(2 * time.Minute)}, lag: 2 * time.Minute},
		{name: "fault", fault: &dotest.Fault{Kind: dotest.FaultListingLag, Delay: 5 * time.Minute, Count: 1}, lag: 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, tt.opts...)
			if tt.fault != nil {
				f.srv.MustAddFault(*tt.fault)
			}
			a, _, err := f.godo.DropletActions.Snapshot(ctx, f.droplet, "lagging")
			must(t, err)
			f.clock.Advance(25 * time.Minute)
			got, _, err := f.godo.Actions.Get(ctx, a.ID)
			must(t, err)
			if got.Status != godo.ActionCompleted {
				t.Fatalf("status %q", got.Status)
			}
			id := strconv.Itoa(f.droplet)
			list, _, err := f.godo.Droplets.Snapshots(ctx, f.droplet, nil)
			must(t, err)
			if len(list) != 0 {
				t.Errorf("listed during the lag: %+v", list)
			}
			if got := f.srv.SnapshotsOf("droplet", id); len(got) != 1 || got[0].ListedAt != t0.Add(25*time.Minute+tt.lag) {
				t.Errorf("SnapshotsOf = %+v", got)
			}
			f.clock.Advance(tt.lag)
			list, _, err = f.godo.Droplets.Snapshots(ctx, f.droplet, nil)
			must(t, err)
			if len(list) != 1 {
				t.Errorf("after the lag %d listed, want 1", len(list))
			}
		})
	}
}

// TestDropletActionOfOtherDroplet: GET /v2/droplets/{id}/actions/{action}
// answers 404 when the action belongs to another droplet.
func TestDropletActionOfOtherDroplet(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	must(t, f.srv.AddDroplet(dotest.Droplet{ID: 1}))
	a, _, err := f.godo.DropletActions.Snapshot(ctx, f.droplet, "x")
	must(t, err)
	_, _, err = f.godo.DropletActions.Get(ctx, 1, a.ID)
	if e := apiError(t, err); e.Response.StatusCode != 404 {
		t.Errorf("status %d", e.Response.StatusCode)
	}
}
