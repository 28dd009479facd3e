package dotest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/digitalocean/godo"

	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// TestResponseFaults covers the faults that change the answer, and whether
// the effect (an action created) happened.
func TestResponseFaults(t *testing.T) {
	tests := []struct {
		name       string
		fault      dotest.Fault
		timeout    time.Duration
		wantErr    func(t *testing.T, err error)
		wantAction bool
		wantStatus int // logged status, 0 for none
	}{
		{
			name:       "reset: nothing done, connection closed",
			fault:      dotest.Fault{Kind: dotest.FaultReset},
			wantErr:    wantTransportError,
			wantStatus: 0,
		},
		{
			name:       "hang until the client gives up",
			fault:      dotest.Fault{Kind: dotest.FaultHang},
			timeout:    50 * time.Millisecond,
			wantErr:    wantTimeout,
			wantStatus: 0,
		},
		{
			name:       "latency beyond the client's timeout: nothing done",
			fault:      dotest.Fault{Kind: dotest.FaultLatency, Delay: time.Hour},
			timeout:    50 * time.Millisecond,
			wantErr:    wantTimeout,
			wantStatus: 0,
		},
		{
			name:       "latency within the timeout: done",
			fault:      dotest.Fault{Kind: dotest.FaultLatency, Delay: time.Millisecond},
			wantAction: true,
			wantStatus: 201,
		},
		{
			name:       "malformed 201",
			fault:      dotest.Fault{Kind: dotest.FaultMalformed},
			wantErr:    wantSyntaxError,
			wantAction: true,
			wantStatus: 201,
		},
		{
			name:       "effect then 500",
			fault:      dotest.Fault{Kind: dotest.FaultEffectThenStatus},
			wantErr:    wantStatus(500, "Server Error"),
			wantAction: true,
			wantStatus: 500,
		},
		{
			name:       "effect then 503",
			fault:      dotest.Fault{Kind: dotest.FaultEffectThenStatus, Status: 503},
			wantErr:    wantStatus(503, "Service is currently unavailable."),
			wantAction: true,
			wantStatus: 503,
		},
		{
			name:       "effect then reset",
			fault:      dotest.Fault{Kind: dotest.FaultEffectThenReset},
			wantErr:    wantTransportError,
			wantAction: true,
			wantStatus: 0,
		},
		{
			name:       "500 without effect",
			fault:      dotest.Fault{Kind: dotest.FaultStatus},
			wantErr:    wantStatus(500, "Server Error"),
			wantStatus: 500,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			flt := tt.fault
			flt.Operation = snapkeep.OpSnapshotDroplet
			flt.Count = 1
			f.srv.MustAddFault(flt)
			c := f.client(t, f.token, tt.timeout)
			a, _, err := c.DropletActions.Snapshot(context.Background(), f.droplet, "nightly")
			if tt.wantErr == nil {
				must(t, err)
				if a.Status != godo.ActionInProgress {
					t.Errorf("action = %+v", a)
				}
			} else {
				tt.wantErr(t, err)
			}
			if got := len(f.srv.Actions()); (got == 1) != tt.wantAction || got > 1 {
				t.Errorf("%d actions created, want effect %v", got, tt.wantAction)
			}
			if n := f.srv.SnapshotPosts("droplet", strconv.Itoa(f.droplet)); n != 1 {
				t.Errorf("SnapshotPosts = %d, want 1", n)
			}
			lr := waitLogged(t, f.srv, 1)
			if lr.Status != tt.wantStatus || lr.Fault != tt.fault.Kind || !lr.Authorized {
				t.Errorf("logged %+v, want status %d fault %s", lr, tt.wantStatus, tt.fault.Kind)
			}
			// Used up: the next POST is handled normally (or 422 when the
			// first one's action runs).
			_, _, err = f.godo.DropletActions.Snapshot(context.Background(), f.droplet, "again")
			if tt.wantAction {
				if e := apiError(t, err); e.Response.StatusCode != 422 {
					t.Errorf("retry after effect: %d, want 422 pending event", e.Response.StatusCode)
				}
			} else {
				must(t, err)
			}
		})
	}
}

// waitLogged waits (bounded) until n requests are logged: a hung or
// abandoned request is logged when the server notices the client left.
func waitLogged(t *testing.T, srv *dotest.Server, n int) dotest.Request {
	t.Helper()
	for range 500 {
		if reqs := srv.Requests(); len(reqs) >= n {
			return reqs[n-1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("request %d never logged", n)
	return dotest.Request{}
}

func wantTransportError(t *testing.T, err error) {
	t.Helper()
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v (%T), want a *url.Error", err, err)
	}
	var ge *godo.ErrorResponse
	if errors.As(err, &ge) {
		t.Fatalf("err = %v, want no HTTP answer", err)
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
		t.Errorf("err = %v, want a connection reset or EOF", err)
	}
}

func wantTimeout(t *testing.T, err error) {
	t.Helper()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v (%T), want a timeout", err, err)
	}
}

func wantSyntaxError(t *testing.T, err error) {
	t.Helper()
	var se *json.SyntaxError
	if !errors.As(err, &se) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v (%T), want a JSON syntax error", err, err)
	}
}

func wantStatus(status int, msg string) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		t.Helper()
		e := apiError(t, err)
		if e.Response.StatusCode != status || e.Message != msg || e.RequestID == "" {
			t.Errorf("got %d %q %q, want %d %q", e.Response.StatusCode, e.Message, e.RequestID, status, msg)
		}
	}
}

// TestFaultFilters checks method, path, operation, window, count and rate.
func TestFaultFilters(t *testing.T) {
	ctx := context.Background()
	t.Run("window on the injected clock", func(t *testing.T) {
		f := newFixture(t)
		f.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, From: t0.Add(time.Hour), Until: t0.Add(2 * time.Hour)})
		steps := []struct {
			at   time.Duration
			fail bool
		}{{0, false}, {time.Hour - time.Second, false}, {time.Hour, true}, {2*time.Hour - time.Second, true}, {2 * time.Hour, false}}
		for _, st := range steps {
			f.clock.Set(t0.Add(st.at))
			_, _, err := f.godo.Droplets.Get(ctx, f.droplet)
			if (err != nil) != st.fail {
				t.Errorf("at +%v: err %v, want failure %v", st.at, err, st.fail)
			}
		}
	})
	t.Run("method and path", func(t *testing.T) {
		f := newFixture(t)
		f.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Method: "GET", Path: "/v2/volumes/*"})
		if _, _, err := f.godo.Droplets.Get(ctx, f.droplet); err != nil {
			t.Errorf("droplet: %v", err)
		}
		if _, _, err := f.godo.Storage.CreateSnapshot(ctx, &godo.SnapshotCreateRequest{VolumeID: f.volume, Name: "x"}); err != nil {
			t.Errorf("POST volume snapshot: %v", err)
		}
		if _, _, err := f.godo.Storage.ListSnapshots(ctx, f.volume, nil); err != nil {
			t.Errorf("list volume snapshots (deeper path): %v", err)
		}
		if _, _, err := f.godo.Storage.GetVolume(ctx, f.volume); err == nil {
			t.Error("GET volume: want the fault")
		}
	})
	t.Run("next N", func(t *testing.T) {
		f := newFixture(t)
		id := f.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Operation: dotest.OpGetDroplet, Count: 3})
		var fails []bool
		for range 5 {
			_, _, err := f.godo.Droplets.Get(ctx, f.droplet)
			fails = append(fails, err != nil)
		}
		if want := []bool{true, true, true, false, false}; !slices.Equal(fails, want) {
			t.Errorf("failures %v, want %v", fails, want)
		}
		if st := f.srv.Faults(); len(st) != 1 || st[0].ID != id || st[0].Hits != 3 || st[0].Left != 0 {
			t.Errorf("Faults() = %+v", st)
		}
		if !f.srv.RemoveFault(id) || len(f.srv.Faults()) != 0 {
			t.Error("RemoveFault")
		}
	})
	t.Run("rate is seeded", func(t *testing.T) {
		run := func() []bool {
			f := newFixture(t, dotest.WithSeed(7))
			f.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Rate: 0.3})
			var out []bool
			for range 200 {
				_, _, err := f.godo.Droplets.Get(ctx, f.droplet)
				out = append(out, err != nil)
			}
			return out
		}
		a, b := run(), run()
		if !slices.Equal(a, b) {
			t.Error("same seed, different failures")
		}
		n := 0
		for _, x := range a {
			if x {
				n++
			}
		}
		if n < 30 || n > 90 {
			t.Errorf("%d of 200 failed at rate 0.3", n)
		}
	})
	t.Run("first matching fault wins", func(t *testing.T) {
		f := newFixture(t)
		f.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Status: 503, Count: 1})
		f.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Status: 500, Count: 1})
		_, _, err1 := f.godo.Droplets.Get(ctx, f.droplet)
		_, _, err2 := f.godo.Droplets.Get(ctx, f.droplet)
		if apiError(t, err1).Response.StatusCode != 503 || apiError(t, err2).Response.StatusCode != 500 {
			t.Errorf("got %v then %v", err1, err2)
		}
		f.srv.ClearFaults()
		if _, _, err := f.godo.Droplets.Get(ctx, f.droplet); err != nil {
			t.Error(err)
		}
	})
	t.Run("invalid faults", func(t *testing.T) {
		f := newFixture(t)
		for _, bad := range []dotest.Fault{{Kind: "nope"}, {Kind: dotest.FaultStatus, Rate: 2}, {Kind: dotest.FaultStatus, Path: "["},
			{Kind: dotest.FaultStatus, Body: "xml"}, {Kind: dotest.FaultStatus, Count: -1}} {
			if _, err := f.srv.AddFault(bad); err == nil {
				t.Errorf("AddFault(%+v) accepted", bad)
			}
		}
	})
}

// TestCloseWakesHang: Close ends a hanging request (the client sees the
// connection close) instead of waiting forever.
func TestCloseWakesHang(t *testing.T) {
	f := newFixture(t)
	f.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultHang})
	errc := make(chan error, 1)
	go func() {
		_, _, err := f.godo.Droplets.Get(context.Background(), f.droplet)
		errc <- err
	}()
	for range 500 {
		if st := f.srv.Faults(); st[0].Hits == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.srv.Close()
	select {
	case err := <-errc:
		wantTransportError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("hanging request survived Close")
	}
}

// TestVolumeEffectThenFail: the volume snapshot exists although the client
// got a 500 — a blind re-POST makes a second one.
func TestVolumeEffectThenFail(t *testing.T) {
	f := newFixture(t)
	f.srv.MustAddFault(dotest.Fault{Kind: dotest.FaultEffectThenStatus, Operation: snapkeep.OpSnapshotVolume, Count: 1})
	req := &godo.SnapshotCreateRequest{VolumeID: f.volume, Name: "nightly"}
	_, _, err := f.godo.Storage.CreateSnapshot(context.Background(), req)
	wantStatus(500, "Server Error")(t, err)
	list, _, err := f.godo.Storage.ListSnapshots(context.Background(), f.volume, nil)
	must(t, err)
	if len(list) != 1 || list[0].Name != "nightly" {
		t.Errorf("snapshots after effect-then-500: %+v", list)
	}
	_, _, err = f.godo.Storage.CreateSnapshot(context.Background(), req)
	must(t, err)
	if n := len(f.srv.SnapshotsOf("volume", f.volume)); n != 2 || f.srv.SnapshotPosts("volume", f.volume) != 2 {
		t.Errorf("%d snapshots, %d posts", n, f.srv.SnapshotPosts("volume", f.volume))
	}
}

// TestFaultOperations: a fault names an endpoint by the domain's operation
// (or the fake's own); an unknown name is refused rather than never
// matching, and the fake's former names still read as the domain's.
func TestFaultOperations(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		op   snapkeep.Operation
		want snapkeep.Operation
		ok   bool
	}{
		{snapkeep.OpSnapshotDroplet, snapkeep.OpSnapshotDroplet, true},
		{snapkeep.OpGetAccount, snapkeep.OpGetAccount, true},
		{dotest.OpGetDroplet, dotest.OpGetDroplet, true},
		{"droplet_snapshot", snapkeep.OpSnapshotDroplet, true},
		{"volume_snapshot", snapkeep.OpSnapshotVolume, true},
		{"get_droplets", "", false},
	} {
		id, err := f.srv.AddFault(dotest.Fault{Kind: dotest.FaultStatus, Operation: tc.op})
		if (err == nil) != tc.ok {
			t.Errorf("AddFault(operation %q) error %v, want ok %v", tc.op, err, tc.ok)
			continue
		}
		if !tc.ok {
			continue
		}
		st := f.srv.Faults()
		if got := st[len(st)-1]; got.ID != id || got.Fault.Operation != tc.want {
			t.Errorf("fault %q stored as %q, want %q", tc.op, got.Fault.Operation, tc.want)
		}
	}
	if dotest.OpDropletSnapshot != snapkeep.OpSnapshotDroplet || dotest.OpVolumeSnapshot != snapkeep.OpSnapshotVolume {
		t.Error("deprecated names do not alias the domain's")
	}
}

// TestRequestOperations: every request is logged with its endpoint's
// operation, the domain's name where it has one.
func TestRequestOperations(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, _, err := f.godo.DropletActions.Snapshot(ctx, f.droplet, "n")
	must(t, err)
	_, _, err = f.godo.Account.Get(ctx)
	must(t, err)
	_, _, err = f.godo.Droplets.Get(ctx, f.droplet)
	must(t, err)
	var ops []snapkeep.Operation
	for _, r := range f.srv.Requests() {
		ops = append(ops, r.Operation)
	}
	if want := []snapkeep.Operation{snapkeep.OpSnapshotDroplet, snapkeep.OpGetAccount, dotest.OpGetDroplet}; !slices.Equal(ops, want) {
		t.Errorf("operations %v, want %v", ops, want)
	}
}
