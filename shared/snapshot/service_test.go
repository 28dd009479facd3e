package snapshot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/snapshot"
)

func runID(policy string, slot time.Time) string { return snapkeep.NewRunKey(policy, slot).RunID() }

func TestDropletSuccess(t *testing.T) {
	r := newRig(t)
	out := r.invoke(slotInput("p1", start))
	if out.Action != "claimed" || out.Status != snapkeep.RunInProgress {
		t.Fatalf("first delivery: %+v, want claimed, in_progress", out)
	}
	id := runID("p1", start)
	run := r.store.run(t, id)
	if run.ActionID == 0 || run.Unfinished != snapkeep.UnfinishedKey(run.RunID) || run.NextCheckAt == nil || run.LeaseUntil != nil {
		t.Fatalf("in-progress run = %+v: want an action id, unfinished, a next check and no lease", run)
	}
	run = r.settle(id, 10)
	if run.Status != snapkeep.RunSucceeded || run.ErrorClass != "" {
		t.Fatalf("run = %s %s %q, want succeeded", run.Status, run.ErrorClass, run.ErrorDetail)
	}
	if run.SnapshotID == "" || run.SnapshotName != "snapkeep-p1-20261124T120000Z" || run.Unfinished != "" || run.NextCheckAt != nil {
		t.Errorf("run = %+v", run)
	}
	if n := r.fake.SnapshotPosts("droplet", fmt.Sprint(dropletID)); n != 1 {
		t.Errorf("snapshot POSTs = %d, want 1", n)
	}
	if _, ok := r.fake.Snapshot(run.SnapshotID); !ok {
		t.Errorf("snapshot %s not at the fake", run.SnapshotID)
	}
	rows := r.store.callRows(t, id)
	var ops []string
	for _, c := range rows {
		ops = append(ops, string(c.Operation))
		if c.RequestHeaders["authorization"] != snapkeep.Redacted {
			t.Errorf("call %d authorization = %q", c.Seq, c.RequestHeaders["authorization"])
		}
		if c.ResponseHeaders["x-request-id"] == "" || c.ResponseHeaders["ratelimit-remaining"] == "" {
			t.Errorf("call %d response headers = %v", c.Seq, c.ResponseHeaders)
		}
		if c.RunID != id || c.PolicyID != "p1" || c.ResourceKey != "droplet:3164444" || c.Region != "nyc3" {
			t.Errorf("call %d stamps = %+v", c.Seq, c)
		}
		if want := c.StartedAt.Add(snapshot.DefaultAPICallTTL).Unix(); c.ExpiresAt != want {
			t.Errorf("call %d expires_at = %d, want %d", c.Seq, c.ExpiresAt, want)
		}
	}
	if got := strings.Join(ops, ","); !strings.HasPrefix(got, "snapshot_droplet,get_action") || !strings.HasSuffix(got, "get_action,list_snapshots") {
		t.Errorf("operations = %s", got)
	}
	if strings.Contains(r.logs(), r.token) {
		t.Error("the token is in the log")
	}
}

func TestVolumeSuccessAndRetention(t *testing.T) {
	r := newRig(t)
	vol := "506f78a4-e098-11e5-ad9f-000f53306ae1"
	foreign, err := r.fake.AddSnapshot(dotest.Snapshot{ResourceType: "volume", ResourceID: vol, Name: "customer-own", CreatedAt: start.Add(-48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	lookalike, err := r.fake.AddSnapshot(dotest.Snapshot{ResourceType: "volume", ResourceID: vol, Name: "snapkeep-v1-manual", CreatedAt: start.Add(-47 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < 4; i++ {
		slot := start.Add(time.Duration(i) * time.Hour)
		r.clock.Set(slot.Add(2 * time.Second))
		out := r.invoke(slotInput("v1", slot))
		if out.Status != snapkeep.RunSucceeded {
			t.Fatalf("slot %d: %+v", i, out)
		}
		run := r.store.run(t, runID("v1", slot))
		ids = append(ids, run.SnapshotID)
		if i >= 2 {
			if run.Retention == nil || len(run.Retention.Deleted) != 1 || run.Retention.Deleted[0] != ids[i-2] || run.Retention.Kept != 2 {
				t.Errorf("slot %d retention = %+v, want %s deleted, 2 kept", i, run.Retention, ids[i-2])
			}
		}
	}
	left := map[string]bool{}
	for _, s := range r.fake.SnapshotsOf("volume", vol) {
		left[s.ID] = true
	}
	for _, id := range []string{foreign.ID, lookalike.ID, ids[2], ids[3]} {
		if !left[id] {
			t.Errorf("snapshot %s was deleted", id)
		}
	}
	if len(left) != 4 {
		t.Errorf("%d snapshots left, want 4: %v", len(left), left)
	}
}

func TestDuplicateDeliveries(t *testing.T) {
	r := newRig(t)
	id := runID("p1", start)
	r.invoke(slotInput("p1", start))
	if out := r.invoke(slotInput("p1", start)); out.Action != "not_due" {
		t.Errorf("replay while in progress: %+v", out)
	}
	r.settle(id, 10)
	if out := r.invoke(slotInput("p1", start)); out.Action != "finished_before" || out.Status != snapkeep.RunSucceeded {
		t.Errorf("replay after success: %+v", out)
	}
	if out := r.invoke(fmt.Sprintf(`{"policy_id":"p1","scheduled_time":%q,"follow_up":true}`, start.Format(time.RFC3339))); out.Action != "finished_before" {
		t.Errorf("follow-up after success: %+v", out)
	}
	if n := r.fake.SnapshotPosts("droplet", fmt.Sprint(dropletID)); n != 1 {
		t.Errorf("snapshot POSTs = %d, want 1", n)
	}
}

func TestConcurrentDeliveries(t *testing.T) {
	r := newRig(t)
	var wg sync.WaitGroup
	outs := make([]*snapshot.Outcome, 20)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := r.svc.Invoke(context.Background(), []byte(slotInput("p1", start)))
			if err != nil {
				t.Error(err)
			}
			outs[i] = out
		}()
	}
	wg.Wait()
	claimed := 0
	for _, o := range outs {
		if o != nil && o.Action == "claimed" {
			claimed++
		}
	}
	if claimed != 1 {
		t.Errorf("%d deliveries claimed the slot, want 1", claimed)
	}
	if n := r.fake.SnapshotPosts("droplet", fmt.Sprint(dropletID)); n != 1 {
		t.Errorf("snapshot POSTs = %d, want 1", n)
	}
	if len(r.store.runs) != 1 {
		t.Errorf("%d runs, want 1", len(r.store.runs))
	}
}

// A crash between the snapshot POST and the run's write leaves a claim
// with a lease; once it lapses the sweep resumes the run, finds the
// action's snapshot by its name and takes no second snapshot.
func TestResumeCrashedClaim(t *testing.T) {
	r := newRig(t)
	id := runID("p1", start)
	crash := true
	r.store.failSave = func(next *snapkeep.Run) error {
		if crash && next.ActionID != 0 {
			crash = false
			return errors.New("lambda crashed")
		}
		return nil
	}
	if _, err := r.svc.Invoke(context.Background(), []byte(slotInput("p1", start))); err == nil {
		t.Fatal("crashed invocation returned no error")
	}
	run := r.store.run(t, id)
	if run.Status != snapkeep.RunClaimed || run.LeaseUntil == nil {
		t.Fatalf("after crash: %+v", run)
	}
	if run.APICalls != 1 {
		t.Errorf("the crashed attempt's POST was not kept: api_calls = %d", run.APICalls)
	}
	// A duplicate delivery while the lease is live does nothing.
	if out := r.invoke(slotInput("p1", start)); out.Action != "leased_elsewhere" {
		t.Errorf("delivery during the lease: %+v", out)
	}
	run = r.settle(id, 30)
	if run.Status != snapkeep.RunSucceeded {
		t.Fatalf("run = %s %s %q", run.Status, run.ErrorClass, run.ErrorDetail)
	}
	if n := len(r.fake.SnapshotsOf("droplet", fmt.Sprint(dropletID))); n != 1 {
		t.Errorf("%d snapshots at the fake, want 1", n)
	}
	if !strings.Contains(r.logs(), "resuming a run whose attempt lapsed") {
		t.Error("no resume logged")
	}
	r.store.callRows(t, id)
}

func TestClaimOutcomes(t *testing.T) {
	r := newRig(t)
	r.pols.m["off"] = snapkeep.Policy{PolicyID: "off", AccountID: "acct1", Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "1"}}
	r.pols.m["bad"] = snapkeep.Policy{PolicyID: "bad", AccountID: "acct1", Enabled: true, InvalidReason: "schedule: bad cron", Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "1"}}
	nt := r.pols.m["p1"]
	nt.PolicyID, nt.AccountID = "notoken", "acct9"
	r.pols.m["notoken"] = nt
	for _, tc := range []struct {
		policy string
		status snapkeep.RunStatus
		class  snapkeep.ErrorClass
	}{
		{"off", snapkeep.RunSkipped, ""},
		{"bad", snapkeep.RunFailed, snapkeep.ClassInvalidPolicy},
		{"gone", snapkeep.RunFailed, snapkeep.ClassInvalidPolicy},
		{"notoken", snapkeep.RunFailed, snapkeep.ClassAuthRevoked},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			r.invoke(slotInput(tc.policy, start))
			run := r.store.run(t, runID(tc.policy, start))
			if run.Status != tc.status || run.ErrorClass != tc.class || run.Unfinished != "" || run.FinishedAt == nil {
				t.Errorf("run = %s %q %q (unfinished %q), want %s %q", run.Status, run.ErrorClass, run.ErrorDetail, run.Unfinished, tc.status, tc.class)
			}
		})
	}
	if n := len(r.fake.Requests()); n != 0 {
		t.Errorf("%d DigitalOcean requests, want 0", n)
	}
}

func TestRejectedInput(t *testing.T) {
	r := newRig(t)
	for _, tc := range []struct {
		name, input string
		run         bool
		log         string // the log line says what was wrong
	}{
		{"unknown field with key", `{"policy_id":"p1","scheduled_time":"2026-11-24T12:00:00Z","extra":1}`, true, `unknown field \"extra\"`},
		{"missing policy", `{"scheduled_time":"2026-11-24T12:00:00Z"}`, false, "policy_id is missing"},
		{"bad time", `{"policy_id":"p1","scheduled_time":"yesterday"}`, false, `scheduled_time \"yesterday\": want RFC 3339`},
		{"not json", `[1,2`, false, "decode input"},
		{"sweep with policy", `{"sweep":true,"policy_id":"p1"}`, false, "a sweep takes no policy_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(r.store.runs)
			logged := len(r.logs())
			out := r.invoke(tc.input)
			if out.Action != "rejected" {
				t.Errorf("outcome %+v, want rejected", out)
			}
			if line := r.logs()[logged:]; !strings.Contains(line, `"level":"ERROR"`) || !strings.Contains(line, "rejected input") || !strings.Contains(line, tc.log) {
				t.Errorf("log %s: want an error naming %s", line, tc.log)
			}
			if got := len(r.store.runs) - before; (got == 1) != tc.run {
				t.Errorf("%d runs recorded", got)
			}
		})
	}
	run := r.store.run(t, runID("p1", start))
	if run.Status != snapkeep.RunFailed || run.ErrorClass != snapkeep.ClassInternal || !strings.Contains(run.ErrorDetail, "extra") {
		t.Errorf("rejected run = %s %s %q", run.Status, run.ErrorClass, run.ErrorDetail)
	}
	if len(r.fake.Requests()) != 0 {
		t.Error("rejected input reached DigitalOcean")
	}
}

// A 429's retry-after is respected: the next attempt is not before it.
func TestRetryAfterRespected(t *testing.T) {
	r := newRig(t)
	r.fake.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Status: 429, RetryAfter: 420, Operation: dotest.OpDropletSnapshot, Count: 1})
	r.invoke(slotInput("p1", start))
	run := r.store.run(t, runID("p1", start))
	if run.Status != snapkeep.RunClaimed || run.NextCheckAt == nil || run.NextCheckAt.Before(start.Add(420*time.Second)) {
		t.Fatalf("after 429: %s next %v", run.Status, run.NextCheckAt)
	}
	if run.HTTPStatus != 429 || run.ProviderErrorID != "too_many_requests" || run.ErrorClass != "" {
		t.Errorf("unfinished run notes %d %q class %q", run.HTTPStatus, run.ProviderErrorID, run.ErrorClass)
	}
	run = r.settle(run.RunID, 30)
	if run.Status != snapkeep.RunSucceeded || run.Attempts != 2 {
		t.Errorf("run %s attempts %d", run.Status, run.Attempts)
	}
	for _, q := range r.fake.Requests() {
		if q.Operation == dotest.OpDropletSnapshot && q.Status == 201 && q.Time.Before(start.Add(420*time.Second)) {
			t.Errorf("retried at %s, before retry-after", q.Time)
		}
	}
}

// The service backs off before the token's hourly budget is spent: no 429.
func TestPacesBeforeTheBudgetIsSpent(t *testing.T) {
	r := newRig(t)
	clock := r.clock
	fake := dotest.New(dotest.WithVirtualClock(clock), dotest.WithActionDuration(3*time.Minute), dotest.WithRateLimits(4, 250))
	fake.AddToken(r.token)
	if err := fake.AddDroplet(dotest.Droplet{ID: dropletID, Disk: 25}); err != nil {
		t.Fatal(err)
	}
	r.fake = fake
	r.svc = newRigService(r, fake)
	r.invoke(slotInput("p1", start))
	run := r.settle(runID("p1", start), 30)
	if run.Status != snapkeep.RunSucceeded {
		for _, q := range fake.Requests() {
			t.Logf("%s %s %s %d", q.Time.Format(time.TimeOnly), q.Method, q.Path, q.Status)
		}
		t.Fatalf("run %s %s %q", run.Status, run.ErrorClass, run.ErrorDetail)
	}
	for _, q := range fake.Requests() {
		if q.Status == 429 {
			t.Errorf("request %d got a 429", q.Seq)
		}
	}
	if run.FinishedAt.Sub(start) < 30*time.Minute {
		t.Errorf("finished at %s: no wait for the hourly window", run.FinishedAt)
	}
}

func TestSweep(t *testing.T) {
	r := newRig(t)
	for i := 0; i < 5; i++ {
		id := fmt.Sprintf("p%d", i+10)
		p := r.pols.m["p1"]
		p.PolicyID = id
		r.pols.m[id] = p
	}
	// Five policies of the same droplet: one gets the action, the others
	// find it busy and retry.
	for i := 0; i < 5; i++ {
		r.invoke(slotInput(fmt.Sprintf("p%d", i+10), start))
	}
	// A sweep whose invocation is nearly out of time starts nothing.
	r.clock.Advance(10 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := r.svc.Sweep(ctx)
	if err != nil || out.Due != 5 || out.Handled != 0 {
		t.Errorf("sweep near the deadline: %+v, %v", out, err)
	}
	for i := 0; i < 60; i++ {
		r.clock.Advance(time.Minute)
		r.invoke(`{"sweep": true}`)
	}
	succeeded := 0
	for i := 0; i < 5; i++ {
		run := r.store.run(t, runID(fmt.Sprintf("p%d", i+10), start))
		if !run.Status.Terminal() {
			t.Errorf("run %s still %s", run.RunID, run.Status)
		}
		t.Logf("%s: %s %s attempts %d %q", run.RunID, run.Status, run.ErrorClass, run.Attempts, run.ErrorDetail)
		switch {
		case run.Status == snapkeep.RunSucceeded:
			succeeded++
		case run.Status == snapkeep.RunFailed && run.ErrorClass == snapkeep.ClassResourceBusy:
		default:
			t.Errorf("run %s ended %s %s, want succeeded or failed resource_busy", run.RunID, run.Status, run.ErrorClass)
		}
		r.store.callRows(t, run.RunID)
	}
	if n := len(r.fake.SnapshotsOf("droplet", fmt.Sprint(dropletID))); n != succeeded || n == 0 {
		t.Errorf("%d snapshots at the fake for %d succeeded runs", n, succeeded)
	}
	if due, _, _ := r.store.DueUnfinished(context.Background(), r.clock.Now().Add(24*time.Hour), 100); len(due) != 0 {
		t.Errorf("%d runs still unfinished", len(due))
	}
}

// A delivery that comes late (a flexible time window) still gets its full
// retry window and deadline, counted from the claim.
func TestLateDeliveryGetsItsWindow(t *testing.T) {
	r := newRig(t)
	r.clock.Set(start.Add(2 * time.Hour))
	r.fake.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Status: 500, Operation: dotest.OpDropletSnapshot, Count: 1})
	r.invoke(slotInput("p1", start))
	run := r.store.run(t, runID("p1", start))
	if !run.Deadline.Equal(start.Add(8 * time.Hour)) {
		t.Errorf("deadline %s, want 6 h after the claim", run.Deadline)
	}
	run = r.settle(run.RunID, 20)
	if run.Status != snapkeep.RunSucceeded || run.Attempts != 2 {
		t.Errorf("late run %s %s attempts %d", run.Status, run.ErrorClass, run.Attempts)
	}
}

// failingTokens is a TokenSource whose store is unreachable.
type failingTokens struct{}

func (failingTokens) Token(context.Context, string) (string, error) {
	return "", errors.New("secrets manager: connection refused")
}

// A token that cannot be read (Secrets Manager down, not a missing
// secret) is a failed step: it is recorded on the run (step_error,
// step_failures) with a backoff, not returned to Lambda, and the run never
// stays unfinished: without an action it fails internal at the end of the
// slot window; with one it times out at the deadline.
func TestTokenUnreadableEndsTheRun(t *testing.T) {
	for _, tc := range []struct {
		name     string
		started  bool // the snapshot action was started before the outage
		status   snapkeep.RunStatus
		class    snapkeep.ErrorClass
		notAfter time.Duration // after the slot
	}{
		{"before the request", false, snapkeep.RunFailed, snapkeep.ClassInternal, snapshot.DefaultSlotWindow + 2*time.Minute},
		{"while the action runs", true, snapkeep.RunTimedOut, snapkeep.ClassTimedOut, snapshot.DefaultDeadline + time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.svc.Config.TokenTTL = time.Nanosecond // read the token at every step
			id := runID("p1", start)
			if tc.started {
				r.invoke(slotInput("p1", start))
				r.svc.Tokens = failingTokens{}
			} else {
				r.svc.Tokens = failingTokens{}
				out, err := r.svc.Invoke(context.Background(), []byte(slotInput("p1", start)))
				if err != nil {
					t.Errorf("an unreadable token returned %v; want it recorded on the run", err)
				}
				run := r.store.run(t, id)
				if run.StepFailures != 1 || !strings.Contains(run.StepError, "token_unreadable") || run.NextCheckAt == nil ||
					!run.NextCheckAt.Equal(start.Add(time.Minute)) || run.LeaseUntil != nil {
					t.Errorf("after the first failed step: failures %d error %q next %v lease %v", run.StepFailures, run.StepError, run.NextCheckAt, run.LeaseUntil)
				}
				if out.Unhandled["token_unreadable"] != 1 {
					t.Errorf("outcome %+v does not say the step failed", out)
				}
			}
			run := r.settle(id, 500)
			if run.Status != tc.status || run.ErrorClass != tc.class || !strings.Contains(run.ErrorDetail, "connection refused") {
				t.Errorf("run = %s %q %q, want %s %q", run.Status, run.ErrorClass, run.ErrorDetail, tc.status, tc.class)
			}
			if run.FinishedAt.After(start.Add(tc.notAfter)) {
				t.Errorf("finished at %s, later than %s after the slot", run.FinishedAt, tc.notAfter)
			}
			if run.Unfinished != "" || run.NextCheckAt != nil {
				t.Errorf("terminal run still unfinished: %+v", run)
			}
		})
	}
}

// Two attempts check the same in-progress run at once (a follow-up and the
// sweep): the first to take the run's check lease checks it; the other
// leaves it ("leased_elsewhere" or "lost_race") without a DigitalOcean call.
func TestConcurrentChecksCheckOnce(t *testing.T) {
	r := newRig(t)
	id := runID("p1", start)
	key := snapkeep.NewRunKey("p1", start)
	r.invoke(slotInput("p1", start))
	r.clock.Advance(time.Minute)
	var inner atomic.Bool
	var innerOut *snapshot.Outcome
	r.store.failSave = func(*snapkeep.Run) error {
		if inner.CompareAndSwap(false, true) {
			// The other attempt runs to its write while this one is
			// about to take the run.
			out, err := r.svc.Check(context.Background(), key)
			if err != nil {
				t.Errorf("winning attempt: %v", err)
			}
			innerOut = out
		}
		return nil
	}
	out, err := r.svc.Check(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if out.Action != "lost_race" || innerOut == nil || innerOut.Action != "checked" {
		t.Errorf("outcomes: loser %+v, winner %+v; want lost_race and checked", out, innerOut)
	}
	rows := r.store.callRows(t, id)
	if n := len(r.fake.Requests()); len(rows) != n || n != 2 {
		t.Errorf("%d ApiCalls rows for %d requests, want 2 (POST and one GET)", len(rows), n)
	}
	r.store.failSave = nil
	if run := r.settle(id, 20); run.Status != snapkeep.RunSucceeded {
		t.Errorf("run %s %s", run.Status, run.ErrorClass)
	}
}

// An attempt whose check lease lapsed while it worked (a slow invocation)
// loses the run to the next one: its write fails, and the DigitalOcean
// calls it made are still recorded, so the ApiCalls rows match
// DigitalOcean's requests.
func TestLostRaceKeepsCalls(t *testing.T) {
	r := newRig(t)
	id := runID("p1", start)
	key := snapkeep.NewRunKey("p1", start)
	r.invoke(slotInput("p1", start))
	r.clock.Advance(time.Minute)
	saves := 0
	var innerOut *snapshot.Outcome
	r.store.failSave = func(*snapkeep.Run) error {
		saves++
		if saves == 2 {
			// This attempt made its GET and is about to write; its lease
			// has lapsed and another attempt checks the run.
			r.clock.Advance(snapshot.DefaultCheckLease + time.Second)
			out, err := r.svc.Check(context.Background(), key)
			if err != nil {
				t.Errorf("winning attempt: %v", err)
			}
			innerOut = out
		}
		return nil
	}
	out, err := r.svc.Check(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if out.Action != "lost_race" || innerOut == nil || innerOut.Action != "resumed" {
		t.Errorf("outcomes: loser %+v, winner %+v; want lost_race and resumed", out, innerOut)
	}
	rows := r.store.callRows(t, id)
	if n := len(r.fake.Requests()); len(rows) != n || n != 4 {
		t.Errorf("%d ApiCalls rows for %d requests, want 4 (POST, the loser's GET, the winner's GET and listing)", len(rows), n)
	}
	r.store.failSave = nil
	if run := r.settle(id, 20); run.Status != snapkeep.RunSucceeded {
		t.Errorf("run %s %s", run.Status, run.ErrorClass)
	}
}

// An action that completed but whose snapshot is not listed is looked for
// again every minute, without asking for the action again, for
// ListingGrace; a snapshot that shows up in time makes the run succeed, one
// that does not fails it provider_error.
func TestCompletedButNotListed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lag    time.Duration
		status snapkeep.RunStatus
		class  snapkeep.ErrorClass
	}{
		{"listed within the grace", 10 * time.Minute, snapkeep.RunSucceeded, ""},
		{"never listed in time", snapshot.DefaultListingGrace + 10*time.Minute, snapkeep.RunFailed, snapkeep.ClassProviderError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.fake.MustAddFault(dotest.Fault{Kind: dotest.FaultListingLag, Delay: tc.lag, Operation: dotest.OpDropletSnapshot, Count: 1})
			r.invoke(slotInput("p1", start))
			run := r.settle(runID("p1", start), 60)
			if run.Status != tc.status || run.ErrorClass != tc.class {
				t.Fatalf("run %s %q %q, want %s %q", run.Status, run.ErrorClass, run.ErrorDetail, tc.status, tc.class)
			}
			gets := 0
			for _, c := range r.store.callRows(t, run.RunID) {
				if c.Operation == snapkeep.OpGetAction && c.StatusCode == 200 {
					gets++
				}
			}
			if gets > 3 { // one minute, two, three: completed at three
				t.Errorf("%d GETs of the action: asked again after it completed", gets)
			}
			if tc.status == snapkeep.RunFailed && !strings.Contains(run.ErrorDetail, "was not listed within") {
				t.Errorf("detail %q", run.ErrorDetail)
			}
		})
	}
}

// The ApiCalls rows' TTL follows Config.APICallTTL
// (API_CALL_RETENTION_DAYS).
func TestAPICallTTLConfigurable(t *testing.T) {
	r := newRig(t)
	r.svc.Config.APICallTTL = 7 * 24 * time.Hour
	r.invoke(slotInput("v1", start))
	rows := r.store.callRows(t, runID("v1", start))
	if len(rows) == 0 {
		t.Fatal("no ApiCalls rows")
	}
	for _, c := range rows {
		if want := c.StartedAt.Add(7 * 24 * time.Hour).Unix(); c.ExpiresAt != want {
			t.Errorf("call %d expires_at %d, want %d", c.Seq, c.ExpiresAt, want)
		}
	}
}

// After a failed request, concurrent checks of the run (deliveries,
// follow-ups, sweeps) race for the lease before the re-POST: exactly one
// asks DigitalOcean again; every call of every attempt is recorded.
func TestConcurrentRetriesPostOnce(t *testing.T) {
	r := newRig(t)
	r.fake.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Status: 429, RetryAfter: 60, Operation: dotest.OpDropletSnapshot, Count: 1})
	id := runID("p1", start)
	r.invoke(slotInput("p1", start))
	run := r.store.run(t, id)
	if run.Status != snapkeep.RunClaimed || run.NextCheckAt == nil {
		t.Fatalf("after the 429: %s next %v", run.Status, run.NextCheckAt)
	}
	r.clock.Set(*run.NextCheckAt)
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.svc.Check(context.Background(), snapkeep.NewRunKey("p1", start)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := r.fake.SnapshotPosts("droplet", fmt.Sprint(dropletID)); n != 2 {
		t.Errorf("%d snapshot POSTs, want 2 (the 429 and one retry)", n)
	}
	rows := r.store.callRows(t, id)
	if n := len(r.fake.Requests()); len(rows) != n {
		t.Errorf("%d ApiCalls rows for %d requests", len(rows), n)
	}
	if run := r.settle(id, 20); run.Status != snapkeep.RunSucceeded || run.Attempts != 2 {
		t.Errorf("run %s %s attempts %d", run.Status, run.ErrorClass, run.Attempts)
	}
}
