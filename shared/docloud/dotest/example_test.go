package dotest_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/digitalocean/godo"

	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// A droplet snapshot with a virtual clock: the action completes after one
// minute per GB of disk, and the snapshot is then listed.
func Example() {
	clock := dotest.NewClock(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	srv := dotest.NewServer(dotest.WithVirtualClock(clock))
	defer srv.Close()
	token := dotest.NewToken()
	srv.AddToken(token)
	_ = srv.AddDroplet(dotest.Droplet{ID: 3164444, Disk: 25, Region: "nyc3"})

	client, _ := godo.New(&http.Client{Transport: bearer(token)}, godo.SetBaseURL(srv.URL))
	ctx := context.Background()
	action, _, _ := client.DropletActions.Snapshot(ctx, 3164444, "nightly")
	fmt.Println(action.Status)

	clock.Advance(25 * time.Minute)
	action, _, _ = client.Actions.Get(ctx, action.ID)
	fmt.Println(action.Status)

	snaps, _, _ := client.Droplets.Snapshots(ctx, 3164444, nil)
	fmt.Println(len(snaps), snaps[0].Name)

	// Next two snapshot POSTs get a 500 but the action is created anyway.
	srv.MustAddFault(dotest.Fault{Kind: dotest.FaultEffectThenStatus, Operation: snapkeep.OpSnapshotDroplet, Count: 2})
	_, _, err := client.DropletActions.Snapshot(ctx, 3164444, "again")
	fmt.Println(err.(*godo.ErrorResponse).Response.StatusCode, srv.SnapshotPosts("droplet", "3164444"))
	// Output:
	// in-progress
	// completed
	// 1 nightly
	// 500 2
}

// bearer is an http.RoundTripper that adds the token.
type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}
