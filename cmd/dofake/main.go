// Command dofake serves the fake DigitalOcean API of package dotest on a
// local port, for the local demo runner and manual tries with doctl or curl.
//
//	DOFAKE_TOKEN=dop_v1_... dofake -addr 127.0.0.1:8666 -seed testdata/seed.json
//
// The accepted token comes only from the environment: DOFAKE_TOKEN (read and
// write, required) and DOFAKE_READONLY_TOKEN (read only, optional). The seed
// file is JSON: {"droplets":[...], "volumes":[...], "snapshots":[...],
// "faults":[...]} with dotest's Droplet, Volume, Snapshot and Fault fields
// (durations as "90s"; a fault's operation is snapkeep's name, e.g.
// "snapshot_droplet", or the fake's own, e.g. "get_droplet"). The clock follows the wall clock and can be moved
// with POST /_fake/clock; faults and state are under /_fake/ (see dotest).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
)

// Environment variables holding the accepted tokens.
const (
	envToken         = "DOFAKE_TOKEN"
	envReadOnlyToken = "DOFAKE_READONLY_TOKEN"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dofake:", err)
		os.Exit(1)
	}
}

// seed is the seed file's shape.
type seed struct {
	Droplets  []dotest.Droplet  `json:"droplets"`
	Volumes   []dotest.Volume   `json:"volumes"`
	Snapshots []dotest.Snapshot `json:"snapshots"`
	Faults    []dotest.Fault    `json:"faults"`
}

// run parses args, builds the fake, serves it until ctx ends and then
// shuts down. It writes "dofake listening on <url>" to stdout once ready.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("dofake", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:8666", "listen address")
	seedFile := fs.String("seed", "", "JSON seed file of droplets, volumes, snapshots and faults")
	actionDuration := fs.Duration("action-duration", 0, "how long every snapshot action takes (default: -action-per-gb per GB of disk)")
	actionPerGB := fs.Duration("action-per-gb", dotest.DefaultActionPerGB, "snapshot action duration per GB of disk")
	listingLag := fs.Duration("listing-lag", 0, "delay between an action's completion and its snapshot being listed")
	volumeInterval := fs.Duration("volume-snapshot-interval", 0, "minimum time between two snapshots of a volume (DigitalOcean: 10m; 0 = off)")
	perHour := fs.Int("rate-per-hour", dotest.DefaultPerHour, "requests per token per hour (0 = unlimited)")
	perMinute := fs.Int("rate-per-minute", dotest.DefaultPerMinute, "requests per token per minute (0 = unlimited)")
	randSeed := fs.Uint64("rand-seed", 1, "seed of the rand that fault rates draw from")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	token := getenv(envToken)
	if token == "" {
		return fmt.Errorf("%s is not set: it holds the token the fake accepts", envToken)
	}

	clock := dotest.NewWallClock()
	srv := dotest.New(
		dotest.WithVirtualClock(clock),
		dotest.WithActionDuration(*actionDuration),
		dotest.WithActionPerGB(*actionPerGB),
		dotest.WithListingLag(*listingLag),
		dotest.WithVolumeSnapshotInterval(*volumeInterval),
		dotest.WithRateLimits(*perHour, *perMinute),
		dotest.WithSeed(*randSeed),
	)
	defer srv.Close()
	srv.AddToken(token)
	if ro := getenv(envReadOnlyToken); ro != "" {
		srv.AddReadOnlyToken(ro)
	}
	if *seedFile != "" {
		if err := load(srv, *seedFile, stdout); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *addr, err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "dofake listening on http://%s\n", ln.Addr())

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	srv.Close() // wake hanging requests first
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// load reads the seed file into srv.
func load(srv *dotest.Server, path string, stdout io.Writer) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s seed
	if err := dec.Decode(&s); err != nil {
		return fmt.Errorf("seed %s: %w", path, err)
	}
	for _, d := range s.Droplets {
		if err := srv.AddDroplet(d); err != nil {
			return fmt.Errorf("seed %s: %w", path, err)
		}
	}
	for _, v := range s.Volumes {
		if err := srv.AddVolume(v); err != nil {
			return fmt.Errorf("seed %s: %w", path, err)
		}
	}
	for _, sn := range s.Snapshots {
		if _, err := srv.AddSnapshot(sn); err != nil {
			return fmt.Errorf("seed %s: %w", path, err)
		}
	}
	for _, f := range s.Faults {
		if _, err := srv.AddFault(f); err != nil {
			return fmt.Errorf("seed %s: %w", path, err)
		}
	}
	fmt.Fprintf(stdout, "dofake seeded %d droplets, %d volumes, %d snapshots, %d faults from %s\n",
		len(s.Droplets), len(s.Volumes), len(s.Snapshots), len(s.Faults), path)
	return nil
}
