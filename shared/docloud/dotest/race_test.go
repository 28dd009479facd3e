package dotest_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/digitalocean/godo"

	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// TestConcurrentHammer: 20 goroutines mix every endpoint, faults, the
// inspection methods and clock moves; run with -race. Afterwards the
// counts must add up.
func TestConcurrentHammer(t *testing.T) {
	f := newFixture(t, dotest.WithRateLimits(0, 0), dotest.WithActionDuration(time.Minute))
	f.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Operation: dotest.OpGetDroplet, Rate: 0.2})
	f.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultEffectThenStatus, Operation: snapkeep.OpSnapshotVolume, Rate: 0.1})
	const workers, rounds = 20, 15
	for w := range workers {
		must(t, f.srv.AddDroplet(dotest.Droplet{ID: 1000 + w, Disk: 1}))
		must(t, f.srv.AddVolume(dotest.Volume{ID: "vol-" + strconv.Itoa(w)}))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var unexpected []error
	note := func(err error) {
		var e *godo.ErrorResponse
		if err == nil || errors.As(err, &e) && (e.Response.StatusCode == 500 || e.Response.StatusCode == 422 || e.Response.StatusCode == 404) {
			return
		}
		mu.Lock()
		unexpected = append(unexpected, err)
		mu.Unlock()
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			c := f.client(t, f.token, 0)
			id, vol := 1000+w, "vol-"+strconv.Itoa(w)
			for i := range rounds {
				a, _, err := c.DropletActions.Snapshot(ctx, id, "s"+strconv.Itoa(i))
				note(err)
				if a != nil {
					_, _, err = c.Actions.Get(ctx, a.ID)
					note(err)
				}
				_, _, err = c.Droplets.Get(ctx, id)
				note(err)
				_, _, err = c.Storage.CreateSnapshot(ctx, &godo.SnapshotCreateRequest{VolumeID: vol, Name: "v" + strconv.Itoa(i)})
				note(err)
				list, _, err := c.Storage.ListSnapshots(ctx, vol, nil)
				note(err)
				if len(list) > 10 {
					_, err = c.Snapshots.Delete(ctx, list[0].ID)
					note(err)
				}
				_, _, err = c.Snapshots.ListDroplet(ctx, &godo.ListOptions{PerPage: 5})
				note(err)
				f.clock.Advance(10 * time.Second)
				_ = f.srv.Snapshots()
				_ = f.srv.Requests()
				_ = f.srv.State()
			}
		}()
	}
	wg.Wait()
	for _, err := range unexpected {
		t.Errorf("unexpected error: %v", err)
	}
	posts := f.srv.PostCounts()
	for w := range workers {
		if got := posts[dotest.DropletKey(1000+w)]; got != rounds {
			t.Errorf("droplet %d: %d POSTs counted, want %d", 1000+w, got, rounds)
		}
		if got := posts["volume:vol-"+strconv.Itoa(w)]; got != rounds {
			t.Errorf("volume %d: %d POSTs counted, want %d", w, got, rounds)
		}
		// Every volume POST made a snapshot (effect-then-500 included);
		// from round 11 on each round deletes one.
		if n := len(f.srv.SnapshotsOf("volume", "vol-"+strconv.Itoa(w))); n != 10 {
			t.Errorf("volume %d holds %d snapshots, want 10", w, n)
		}
	}
	if n := len(f.srv.Deleted()); n != workers*(rounds-10) {
		t.Errorf("%d deleted, want %d", n, workers*(rounds-10))
	}
	seqs := map[int]bool{}
	for _, r := range f.srv.Requests() {
		if seqs[r.Seq] {
			t.Fatalf("seq %d repeated", r.Seq)
		}
		seqs[r.Seq] = true
	}
}
