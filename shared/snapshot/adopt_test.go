package snapshot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/docloud"
	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/snapshot"
)

// listHook is the service's DigitalOcean with ListDropletActions replaced.
type listHook struct {
	snapshot.DigitalOcean
	list func(ctx context.Context, dropletID, page int) ([]snapkeep.Action, bool, error)
}

func (h *listHook) ListDropletActions(ctx context.Context, dropletID, page int) ([]snapkeep.Action, bool, error) {
	return h.list(ctx, dropletID, page)
}

// hookActions makes the rig's service answer ListDropletActions with list.
func (r *rig) hookActions(list func(ctx context.Context, dropletID, page int) ([]snapkeep.Action, bool, error)) {
	connect := r.svc.Connect
	r.svc.Connect = func(token string, rec snapshot.Recorder) snapshot.DigitalOcean {
		return &listHook{DigitalOcean: connect(token, rec), list: list}
	}
}

func (r *rig) posts() int { return r.fake.SnapshotPosts("droplet", fmt.Sprint(dropletID)) }

// ops counts the run's recorded calls of an operation.
func (r *rig) ops(id string, op snapkeep.Operation) int {
	n := 0
	for _, c := range r.store.callRows(r.t, id) {
		if c.Operation == op {
			n++
		}
	}
	return n
}

// An unconfirmed POST (its action made, the answer a 500, a reset or a
// malformed body) is resolved by listing the droplet's actions: the run
// adopts the action and never POSTs again.
func TestAdoptActionOfUnconfirmedPost(t *testing.T) {
	for _, kind := range []dotest.FaultKind{dotest.FaultEffectThenStatus, dotest.FaultMalformed} {
		t.Run(string(kind), func(t *testing.T) {
			r := newRig(t)
			r.fake.MustAddFault(dotest.Fault{Kind: kind, Status: 500, Operation: dotest.OpDropletSnapshot, Count: 1})
			id := runID("p1", start)
			r.invoke(slotInput("p1", start))
			if run := r.store.run(t, id); run.ActionID != 0 || run.Status != snapkeep.RunClaimed {
				t.Fatalf("after the unconfirmed POST: %s action %d", run.Status, run.ActionID)
			}
			// The next check finds the action still running (3 minutes).
			run := r.store.run(t, id)
			r.clock.Set(*run.NextCheckAt)
			r.invoke(`{"sweep": true}`)
			run = r.store.run(t, id)
			acts := r.fake.Actions()
			if len(acts) != 1 || run.ActionID != int64(acts[0].ID) || run.Status != snapkeep.RunInProgress {
				t.Fatalf("after the look-up: %s action %d, fake actions %+v: want the action adopted", run.Status, run.ActionID, acts)
			}
			if run.StartedAt == nil || run.StartedAt.Before(run.ClaimedAt) || run.ErrorDetail != "" || run.HTTPStatus != 0 {
				t.Errorf("adopted run: started %v (claimed %v) detail %q http %d", run.StartedAt, run.ClaimedAt, run.ErrorDetail, run.HTTPStatus)
			}
			run = r.settle(id, 20)
			if run.Status != snapkeep.RunSucceeded || run.ActionID != int64(acts[0].ID) || run.Attempts != 1 {
				t.Errorf("run %s %s action %d attempts %d", run.Status, run.ErrorClass, run.ActionID, run.Attempts)
			}
			if n := r.posts(); n != 1 {
				t.Errorf("%d snapshot POSTs, want 1", n)
			}
			if n := r.ops(id, snapkeep.OpListActions); n != 1 {
				t.Errorf("%d list_actions calls, want 1", n)
			}
			if rows, n := r.store.callRows(t, id), len(r.fake.Requests()); len(rows) != n {
				t.Errorf("%d ApiCalls rows for %d requests", len(rows), n)
			}
			if !strings.Contains(r.logs(), "adopting the snapshot action of an earlier request") {
				t.Error("adoption not logged")
			}
		})
	}
}

// Only snapshot actions that started while one of the run's uncertain
// requests was in flight (by DigitalOcean's clock, within AdoptTolerance)
// are the run's: an older one (another run's, the customer's) or another
// type is not adopted, and the run asks again. An adopted action that
// completes without the run's snapshot was not the run's own after all:
// the run asks again inside its window (never loses the slot to it).
func TestAdoptionBound(t *testing.T) {
	for _, tc := range []struct {
		name    string
		action  dotest.Action
		adopted bool
	}{
		{"snapshot during the request", dotest.Action{StartedAt: start.Add(time.Second)}, true},
		{"snapshot within the tolerance", dotest.Action{StartedAt: start.Add(-snapshot.AdoptTolerance + time.Second)}, true},
		{"snapshot before the request", dotest.Action{StartedAt: start.Add(-10 * time.Second)}, false},
		{"the customer's snapshot yesterday", dotest.Action{StartedAt: start.Add(-24 * time.Hour)}, false},
		{"power cycle during the request", dotest.Action{Type: "power_cycle", StartedAt: start.Add(time.Second)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			tc.action.ResourceID = dropletID
			added, err := r.fake.AddAction(tc.action)
			if err != nil {
				t.Fatal(err)
			}
			// A 500 that made nothing.
			r.fake.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Status: 500, Operation: dotest.OpDropletSnapshot, Count: 1})
			id := runID("p1", start)
			r.invoke(slotInput("p1", start))
			run := r.store.run(t, id)
			if !run.RequestUncertain || len(run.Requests) != 1 || run.RetryClass != snapkeep.ClassProviderError {
				t.Fatalf("after a 500: uncertain %v windows %v retry class %q", run.RequestUncertain, run.Requests, run.RetryClass)
			}
			r.clock.Set(*run.NextCheckAt)
			r.invoke(`{"sweep": true}`)
			run = r.store.run(t, id)
			if got := run.ActionID == int64(added.ID); got != tc.adopted {
				t.Fatalf("run action %d, added action %d: adopted %v, want %v", run.ActionID, added.ID, got, tc.adopted)
			}
			if n := r.ops(id, snapkeep.OpListActions); n != 1 {
				t.Errorf("%d list_actions calls, want 1", n)
			}
			if tc.adopted {
				// The added action completed without the run's snapshot:
				// the run waits a little for the listing, then asks again.
				if r.posts() != 1 || !run.Adopted || run.ActionCompletedAt == nil {
					t.Errorf("adopted completed action: %d POSTs, adopted %v, completed at %v", r.posts(), run.Adopted, run.ActionCompletedAt)
				}
			} else if n := r.posts(); n != 2 || run.Attempts != 2 || run.ActionID == 0 {
				t.Errorf("%d POSTs, attempts %d, action %d: want the snapshot asked again", n, run.Attempts, run.ActionID)
			}
			if run = r.settle(id, 20); run.Status != snapkeep.RunSucceeded {
				t.Errorf("run %s %s %q", run.Status, run.ErrorClass, run.ErrorDetail)
			}
			if n := r.posts(); n != 2 {
				t.Errorf("%d POSTs in all, want 2", n)
			}
			if !run.FinishedAt.Before(start.Add(snapshot.DefaultSlotWindow)) {
				t.Errorf("finished at %s, after the slot window", run.FinishedAt)
			}
		})
	}
}

// A clock skew of DigitalOcean's (its clock 5 minutes behind ours, more
// than AdoptSkew) is measured from its Date headers: the run's own action,
// started_at 5 minutes "before" the request by our clock, is still adopted,
// and while its snapshot is slow to be listed the run waits for it instead
// of asking again: the slot gets one snapshot.
func TestAdoptionWithClockSkew(t *testing.T) {
	const skew = 5 * time.Minute
	r := newRig(t)
	ours := func() time.Time { return r.clock.Now().Add(skew) } // our clock runs ahead
	r.svc.Now = ours
	r.svc.Connect = func(token string, rec snapshot.Recorder) snapshot.DigitalOcean {
		return docloud.New(token, docloud.WithBaseURL("http://dotest.invalid"), docloud.WithRecorder(rec),
			docloud.WithClock(ours), docloud.WithHTTPTransport(handlerTransport{r.fake}))
	}
	r.fake.MustAddFault(dotest.Fault{Kind: dotest.FaultEffectThenStatus, Status: 500, Operation: dotest.OpDropletSnapshot, Count: 1})
	r.fake.MustAddFault(dotest.Fault{Kind: dotest.FaultListingLag, Delay: 10 * time.Minute, Operation: dotest.OpDropletSnapshot, Count: 1})
	slot := ours().Truncate(time.Minute)
	id := runID("p1", slot)
	r.invoke(slotInput("p1", slot))
	acts := r.fake.Actions()
	if len(acts) != 1 {
		t.Fatalf("fake actions %+v", acts)
	}
	// The action (3 minutes) has completed by the check; its snapshot is
	// not listed yet.
	r.clock.Advance(4 * time.Minute)
	r.invoke(`{"sweep": true}`)
	run := r.store.run(t, id)
	if run.ActionID != int64(acts[0].ID) || !run.Adopted {
		t.Fatalf("run action %d adopted %v, want action %d adopted (skew measured)", run.ActionID, run.Adopted, acts[0].ID)
	}
	for i := 0; i < 30 && !run.Status.Terminal(); i++ {
		r.clock.Set(run.NextCheckAt.Add(-skew))
		r.invoke(`{"sweep": true}`)
		run = r.store.run(t, id)
	}
	if run.Status != snapkeep.RunSucceeded || r.posts() != 1 {
		t.Errorf("run %s %s %q, %d POSTs; want one snapshot", run.Status, run.ErrorClass, run.ErrorDetail, r.posts())
	}
	if n := len(r.fake.SnapshotsOf("droplet", fmt.Sprint(dropletID))); n != 1 {
		t.Errorf("%d snapshots of the droplet, want 1", n)
	}
}

// The droplet's actions are read newest first, page by page, until one is
// older than the bound.
func TestAdoptionPages(t *testing.T) {
	r := newRig(t)
	r.fake.MustAddFault(dotest.Fault{Kind: dotest.FaultEffectThenStatus, Status: 500, Operation: dotest.OpDropletSnapshot, Count: 1})
	id := runID("p1", start)
	r.invoke(slotInput("p1", start))
	ours := r.fake.Actions()
	if len(ours) != 1 {
		t.Fatalf("fake actions %+v", ours)
	}
	// 200 newer actions (a full page) push ours to page 2.
	for i := 0; i < docloud.PerPage; i++ {
		if _, err := r.fake.AddAction(dotest.Action{ResourceID: dropletID, Type: "enable_backups", StartedAt: start.Add(10 * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	run := r.store.run(t, id)
	r.clock.Set(*run.NextCheckAt)
	r.invoke(`{"sweep": true}`)
	run = r.store.run(t, id)
	if run.ActionID != int64(ours[0].ID) {
		t.Fatalf("run action %d, want %d (page 2)", run.ActionID, ours[0].ID)
	}
	if n := r.ops(id, snapkeep.OpListActions); n != 2 {
		t.Errorf("%d list_actions calls, want 2 (two pages)", n)
	}
	if run = r.settle(id, 20); run.Status != snapkeep.RunSucceeded || r.posts() != 1 {
		t.Errorf("run %s %s, %d POSTs", run.Status, run.ErrorClass, r.posts())
	}
}

// The listing is cut short at the first action older than the bound, and
// at maxActionPages; an action without started_at is skipped.
func TestAdoptionListing(t *testing.T) {
	ts := func(t time.Time) time.Time { return t }
	for _, tc := range []struct {
		name  string
		pages [][]snapkeep.Action
		want  int // adopted action id, 0 for none
		reads int // pages read
	}{
		{"stops at an older action", [][]snapkeep.Action{
			{{ID: 9, Type: "power_on", StartedAt: ts(start.Add(time.Minute))}, {ID: 8, Type: "snapshot", StartedAt: ts(start.Add(-time.Hour))}},
			{{ID: 7, Type: "snapshot", StartedAt: ts(start)}},
		}, 0, 1},
		{"skips an action without started_at", [][]snapkeep.Action{
			{{ID: 9, Type: "snapshot"}, {ID: 8, Type: "snapshot", StartedAt: ts(start.Add(time.Second)), Status: snapkeep.ActionInProgress}},
		}, 8, 1},
		{"another droplet's action", [][]snapkeep.Action{
			{{ID: 9, Type: "snapshot", ResourceID: 42, StartedAt: ts(start.Add(time.Second)), Status: snapkeep.ActionInProgress}},
		}, 0, 1},
		{"bounded page count", [][]snapkeep.Action{
			{{ID: 1, Type: "power_on", StartedAt: ts(start.Add(time.Minute))}}, {{ID: 2, Type: "power_on", StartedAt: ts(start.Add(time.Minute))}},
			{{ID: 3, Type: "power_on", StartedAt: ts(start.Add(time.Minute))}}, {{ID: 4, Type: "power_on", StartedAt: ts(start.Add(time.Minute))}},
			{{ID: 5, Type: "power_on", StartedAt: ts(start.Add(time.Minute))}}, {{ID: 6, Type: "snapshot", StartedAt: ts(start.Add(time.Minute)), Status: snapkeep.ActionInProgress}},
		}, 0, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			reads := 0
			r.hookActions(func(_ context.Context, droplet, page int) ([]snapkeep.Action, bool, error) {
				reads++
				if droplet != dropletID {
					t.Errorf("listed droplet %d", droplet)
				}
				if page < 1 || page > len(tc.pages) {
					return nil, false, nil
				}
				return tc.pages[page-1], page < len(tc.pages), nil
			})
			r.fake.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Status: 503, Operation: dotest.OpDropletSnapshot, Count: 1})
			id := runID("p1", start)
			r.invoke(slotInput("p1", start))
			run := r.store.run(t, id)
			r.clock.Set(*run.NextCheckAt)
			r.invoke(`{"sweep": true}`)
			run = r.store.run(t, id)
			if reads != tc.reads {
				t.Errorf("%d pages read, want %d", reads, tc.reads)
			}
			if tc.want != 0 {
				if run.ActionID != int64(tc.want) || r.posts() != 1 {
					t.Errorf("run action %d, %d POSTs: want %d adopted", run.ActionID, r.posts(), tc.want)
				}
				return
			}
			if r.posts() != 2 || run.ActionID == 0 || run.ActionID == 6 {
				t.Errorf("run action %d, %d POSTs: want none adopted, asked again", run.ActionID, r.posts())
			}
		})
	}
}

// An adopted action that errors follows the errored rules: the snapshot is
// requested again after the backoff, within the window.
func TestAdoptedActionErrored(t *testing.T) {
	r := newRig(t)
	r.fake.MustAddFault(dotest.Fault{Kind: dotest.FaultEffectThenStatus, Status: 500, Operation: dotest.OpDropletSnapshot, Count: 1})
	r.fake.MustAddFault(dotest.Fault{Kind: dotest.FaultActionErrored, Operation: dotest.OpDropletSnapshot, Count: 1})
	id := runID("p1", start)
	r.invoke(slotInput("p1", start))
	first := r.fake.Actions()
	if len(first) != 1 {
		t.Fatalf("fake actions %+v", first)
	}
	run := r.settle(id, 30)
	if run.Status != snapkeep.RunSucceeded || r.posts() != 2 || run.ActionID == int64(first[0].ID) {
		t.Errorf("run %s %s action %d, %d POSTs: want success with a second action", run.Status, run.ErrorClass, run.ActionID, r.posts())
	}
	if !strings.Contains(r.logs(), "adopting the snapshot action of an earlier request") || !strings.Contains(r.logs(), "snapshot action errored") {
		t.Errorf("logs lack the adoption or the errored action: %s", r.logs())
	}
	if n := r.ops(id, snapkeep.OpListActions); n != 1 {
		t.Errorf("%d list_actions calls, want 1 (the errored action's detail ends the uncertainty)", n)
	}
}

// A failure that made nothing for sure (429, 422) does not list actions;
// a listing that fails is retried like the name look-up.
func TestNoListingWithoutDoubt(t *testing.T) {
	r := newRig(t)
	r.fake.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Status: 429, RetryAfter: 60, Operation: dotest.OpDropletSnapshot, Count: 1})
	id := runID("p1", start)
	r.invoke(slotInput("p1", start))
	if run := r.settle(id, 20); run.Status != snapkeep.RunSucceeded || r.posts() != 2 {
		t.Errorf("run %s, %d POSTs", run.Status, r.posts())
	}
	if n := r.ops(id, snapkeep.OpListActions); n != 0 {
		t.Errorf("%d list_actions calls after a 429, want 0", n)
	}
}

func TestListingFailureIsRetried(t *testing.T) {
	r := newRig(t)
	fail := true
	r.hookActions(func(ctx context.Context, droplet, page int) ([]snapkeep.Action, bool, error) {
		if fail {
			return nil, false, &docloud.Error{Class: snapkeep.ClassNetwork, Message: "connection reset", Err: errors.New("reset")}
		}
		return nil, false, nil
	})
	r.fake.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Status: 500, Operation: dotest.OpDropletSnapshot, Count: 1})
	id := runID("p1", start)
	r.invoke(slotInput("p1", start))
	run := r.store.run(t, id)
	r.clock.Set(*run.NextCheckAt)
	r.invoke(`{"sweep": true}`)
	run = r.store.run(t, id)
	if r.posts() != 1 || run.Status.Terminal() || !strings.Contains(run.ErrorDetail, "look for the snapshot action of an earlier attempt") {
		t.Fatalf("after a failed listing: %s %q, %d POSTs: want a later retry, no POST", run.Status, run.ErrorDetail, r.posts())
	}
	fail = false
	if run = r.settle(id, 20); run.Status != snapkeep.RunSucceeded || r.posts() != 2 {
		t.Errorf("run %s %s %q, %d POSTs", run.Status, run.ErrorClass, run.ErrorDetail, r.posts())
	}
}
