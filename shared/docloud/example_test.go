package docloud_test

import (
	"context"
	"fmt"
	"time"

	"github.com/snapkeep/snapkeep/shared/docloud"
	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func Example() {
	clock := dotest.NewClock(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	token := dotest.NewToken()
	srv := dotest.NewServer(dotest.WithVirtualClock(clock), dotest.WithToken(token))
	defer srv.Close()
	srv.AddDroplet(dotest.Droplet{ID: 3164444, Disk: 1})

	rec := docloud.RecorderFunc(func(_ context.Context, c snapkeep.APICall) {
		fmt.Println("recorded:", c.Operation, c.Attempt, c.Method, c.Path, c.StatusCode, c.ErrorID, c.RequestHeaders["authorization"])
	})
	c := docloud.New(token, docloud.WithBaseURL(srv.URL), docloud.WithRecorder(rec), docloud.WithClock(clock.Now))

	ctx := docloud.WithOperation(context.Background(), snapkeep.OpSnapshotDroplet, 1)
	action, err := c.SnapshotDroplet(ctx, 3164444, "nightly")
	if err != nil {
		panic(err)
	}
	fmt.Println("action:", action.Status)

	// A second snapshot while the first runs: DigitalOcean says the droplet
	// is busy. The client does not retry; the caller decides.
	ctx = docloud.WithOperation(context.Background(), snapkeep.OpSnapshotDroplet, 2)
	_, err = c.SnapshotDroplet(ctx, 3164444, "nightly")
	e := docloud.Classify(err)
	fmt.Println("class:", e.Class, e.StatusCode, e.ErrorID, "retried:", e.Retried())
	fmt.Println("wait:", c.PaceDelay(clock.Now()))
	// Output:
	// recorded: snapshot_droplet 1 POST /v2/droplets/3164444/actions 201  REDACTED
	// action: in-progress
	// recorded: snapshot_droplet 2 POST /v2/droplets/3164444/actions 422 unprocessable_entity REDACTED
	// class: resource_busy 422 unprocessable_entity retried: true
	// wait: 0s
}
