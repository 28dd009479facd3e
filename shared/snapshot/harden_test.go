package snapshot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/docloud"
	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/snapshot"
)

// accessDenied is a token source whose reads fail for one account with
// something other than "not found" (a secret scheduled for deletion, KMS,
// AccessDenied).
type accessDenied struct {
	memTokens
	account string
}

func (a accessDenied) Token(ctx context.Context, account string) (string, error) {
	if account == a.account {
		return "", errors.New("AccessDeniedException: not authorized to perform secretsmanager:GetSecretValue")
	}
	return a.memTokens.Token(ctx, account)
}

// One account whose secret cannot be read must not starve the others: its
// runs back off (each failed step moves next_check_at), the sweep counts
// them by reason, and the other account's runs are checked and finish
// although the failing ones come first and fill the sweep's limit.
func TestSweepFairWhenOneSecretIsUnreadable(t *testing.T) {
	u := newUnit(t)
	u.svc.Config.SweepLimit = 2
	u.svc.Tokens = accessDenied{memTokens: memTokens{"acct1": token1, "acct2": token2}, account: "acct1"}
	// p1 and p3 (acct1) are claimed first, so they are due first.
	for _, p := range []string{"p1", "p3"} {
		u.invoke(slotInput(p, start))
	}
	u.now = start.Add(10 * time.Second)
	for _, p := range []string{"p2", "p4"} {
		u.invoke(slotInput(p, start))
	}
	var unhandled int
	for i := 0; i < 6; i++ {
		u.now = u.now.Add(time.Minute)
		out := u.invoke(`{"sweep": true}`)
		unhandled += out.Unhandled["token_unreadable"]
	}
	for _, p := range []string{"p2", "p4"} {
		if run := u.store.run(t, runID(p, start)); run.Status != snapkeep.RunSucceeded {
			t.Errorf("%s (the healthy account) is %s: starved by the failing account", p, run.Status)
		}
	}
	for _, p := range []string{"p1", "p3"} {
		run := u.store.run(t, runID(p, start))
		if run.Status.Terminal() || run.StepFailures < 2 || !strings.Contains(run.StepError, "AccessDenied") {
			t.Errorf("%s: status %s, step failures %d, step error %q; want it retrying with a recorded reason", p, run.Status, run.StepFailures, run.StepError)
		}
		if !run.NextCheckAt.After(u.now) {
			t.Errorf("%s: next check %s not moved past now %s", p, run.NextCheckAt, u.now)
		}
	}
	if unhandled == 0 {
		t.Error("the sweeps' outcomes never counted a token_unreadable run")
	}
	if strings.Contains(u.logs.String(), token1) || strings.Contains(u.logs.String(), token2) {
		t.Error("a token is in the log")
	}
}

// Two policies on one droplet fire in the same minute (hourly and daily at
// 00:00 is routine). The first one's request fails with a 500 that made
// nothing; the second must not request in the first one's uncertain
// window (the droplet is locked for it), so the first never adopts the
// second's action, and both slots get their own snapshot.
func TestTwoPoliciesOnOneDroplet(t *testing.T) {
	r := newRig(t)
	r.pols.m["p2"] = snapkeep.Policy{PolicyID: "p2", CustomerID: "c1", AccountID: "acct1", Enabled: true, Schedule: "cron(0 0 * * ? *)",
		Resource:  snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: fmt.Sprint(dropletID), Region: "nyc3"},
		Retention: snapkeep.Retention{KeepLast: 3}}
	r.fake.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Status: 500, Operation: dotest.OpDropletSnapshot, Count: 1})
	a, b := runID("p1", start), runID("p2", start)
	r.invoke(slotInput("p1", start))
	if out := r.invoke(slotInput("p2", start)); out.Action != "waiting_for_lock" {
		t.Errorf("second policy's delivery: %+v, want waiting_for_lock", out)
	}
	if run := r.store.run(t, b); run.Attempts != 0 || !strings.Contains(run.StepError, "locked") {
		t.Errorf("second policy requested at once (attempts %d, step error %q)", run.Attempts, run.StepError)
	}
	for i := 0; i < 60; i++ {
		ra, rb := r.store.run(t, a), r.store.run(t, b)
		if ra.Status.Terminal() && rb.Status.Terminal() {
			break
		}
		r.clock.Advance(time.Minute)
		r.invoke(`{"sweep": true}`)
	}
	ra, rb := r.store.run(t, a), r.store.run(t, b)
	if ra.Status != snapkeep.RunSucceeded || rb.Status != snapkeep.RunSucceeded {
		t.Fatalf("runs %s %s %q / %s %s %q, want both succeeded", ra.Status, ra.ErrorClass, ra.ErrorDetail, rb.Status, rb.ErrorClass, rb.ErrorDetail)
	}
	if ra.ActionID == rb.ActionID {
		t.Errorf("both runs followed action %d", ra.ActionID)
	}
	names := map[string]bool{}
	for _, s := range r.fake.SnapshotsOf("droplet", fmt.Sprint(dropletID)) {
		names[s.Name] = true
	}
	if !names[snapshot.SnapshotName(snapkeep.NewRunKey("p1", start))] || !names[snapshot.SnapshotName(snapkeep.NewRunKey("p2", start))] || len(names) != 2 {
		t.Errorf("snapshots %v, want one named for each slot", names)
	}
}

// A volume at DigitalOcean's 25-snapshot limit with two of the policy's
// own snapshots: the run deletes the policy's oldest own snapshot (never
// another's), takes the new one and says so in its retention result. When
// the customer's own snapshots fill the volume, it fails quota_exceeded
// saying exactly that.
func TestVolumeAtTheLimit(t *testing.T) {
	for _, tc := range []struct {
		name          string
		own, customer int
		want          snapkeep.RunStatus
	}{
		{"two own, room made", 2, 23, snapkeep.RunSucceeded},
		{"one own, full of the customer's", 1, 24, snapkeep.RunFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUnit(t)
			vol := "506f78a4-e098-11e5-ad9f-000f53306ae1"
			u.pols.m["v1"] = snapkeep.Policy{PolicyID: "v1", CustomerID: "c1", AccountID: "acct1", Enabled: true, Schedule: "rate(1 hour)",
				Resource: snapkeep.Resource{Kind: snapkeep.ResourceVolume, ID: vol, Region: "nyc3"}, Retention: snapkeep.Retention{KeepLast: 5}}
			var list []snapkeep.Snapshot
			for i := 0; i < tc.own; i++ {
				slot := start.Add(-time.Duration(i+1) * time.Hour)
				list = append(list, snapkeep.Snapshot{ID: fmt.Sprintf("own-%d", i+1), Name: snapshot.SnapshotName(snapkeep.NewRunKey("v1", slot)), Created: slot})
			}
			for i := 0; i < tc.customer; i++ {
				list = append(list, snapkeep.Snapshot{ID: fmt.Sprintf("cust-%d", i), Name: fmt.Sprintf("manual-%d", i), Created: start.Add(-200 * time.Hour)})
			}
			var mu sync.Mutex
			var deleted []string
			u.do.ListSnapshotsFn = func(context.Context, snapkeep.ResourceKind, string, int) ([]snapkeep.Snapshot, bool, error) {
				mu.Lock()
				defer mu.Unlock()
				return append([]snapkeep.Snapshot(nil), list...), false, nil
			}
			u.do.DeleteSnapshotFn = func(_ context.Context, id string) error {
				mu.Lock()
				defer mu.Unlock()
				deleted = append(deleted, id)
				for i, s := range list {
					if s.ID == id {
						list = append(list[:i], list[i+1:]...)
						break
					}
				}
				return nil
			}
			u.do.SnapshotVolumeFn = func(_ context.Context, _, name string, _ []string) (*snapkeep.Snapshot, error) {
				mu.Lock()
				defer mu.Unlock()
				if len(list) >= snapshot.VolumeSnapshotLimit {
					return nil, &docloud.Error{Class: snapkeep.ClassQuotaExceeded, StatusCode: 422, ErrorID: "unprocessable_entity",
						Message: "You have reached the snapshot limit for this volume."}
				}
				s := snapkeep.Snapshot{ID: "new", Name: name, Created: start}
				list = append(list, s)
				return &s, nil
			}
			u.invoke(slotInput("v1", start))
			run := u.store.run(t, runID("v1", start))
			if run.Status != tc.want {
				t.Fatalf("run %s %s %q, want %s", run.Status, run.ErrorClass, run.ErrorDetail, tc.want)
			}
			for _, id := range deleted {
				if !strings.HasPrefix(id, "own-") {
					t.Errorf("deleted %s, not one of the policy's own", id)
				}
			}
			if tc.want == snapkeep.RunSucceeded {
				if run.Retention == nil || len(run.Retention.MadeRoom) != 1 || run.Retention.MadeRoom[0] != "own-2" {
					t.Errorf("retention %+v, want own-2 (the oldest own) deleted to make room", run.Retention)
				}
				return
			}
			if run.ErrorClass != snapkeep.ClassQuotaExceeded || !strings.Contains(run.ErrorDetail, "24 of them not made by this policy") || len(deleted) != 0 {
				t.Errorf("class %s detail %q deleted %v; want quota_exceeded naming the customer's snapshots, nothing deleted", run.ErrorClass, run.ErrorDetail, deleted)
			}
		})
	}
}

// A scheduled slot more than FutureSlack (plus the policy's flexible
// window) ahead of now is rejected: no run, no error (no Lambda retry).
func TestFutureSlotsRejected(t *testing.T) {
	for _, tc := range []struct {
		name     string
		slot     time.Time
		flexible int
		rejected bool
	}{
		{"year 2099", time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), 0, true},
		{"tomorrow", start.Add(24 * time.Hour), 0, true},
		{"ten minutes ahead", start.Add(10 * time.Minute), 0, true},
		{"ten minutes ahead in a 15-minute flexible window", start.Add(10 * time.Minute), 15, false},
		{"a minute ahead (clock skew)", start.Add(time.Minute), 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUnit(t)
			p := u.pols.m["p1"]
			p.FlexibleWindowMinutes = tc.flexible
			u.pols.m["p1"] = p
			out := u.invoke(slotInput("p1", tc.slot))
			_, err := u.store.Get(context.Background(), snapkeep.NewRunKey("p1", tc.slot))
			if got := out.Action == "rejected"; got != tc.rejected {
				t.Errorf("outcome %+v, rejected %v, want %v", out, got, tc.rejected)
			}
			if tc.rejected != errors.Is(err, snapkeep.ErrNotFound) {
				t.Errorf("stored run: %v (rejected %v)", err, tc.rejected)
			}
			if tc.rejected && !strings.Contains(u.logs.String(), "ahead of now") {
				t.Error("the rejection is not logged clearly")
			}
		})
	}
}

// A policy id outside the id rule (one over DynamoDB's key size among
// them) is rejected without a run and without a Lambda retry.
func TestBadPolicyIDRejected(t *testing.T) {
	for _, id := range []string{strings.Repeat("p", 3000), "p/1", "p#1"} {
		u := newUnit(t)
		out := u.invoke(slotInput(id, start))
		if out.Action != "rejected" || len(u.store.runs) != 0 {
			t.Errorf("policy id %.20q…: outcome %+v, %d runs stored; want rejected, none", id, out, len(u.store.runs))
		}
		if len(u.logs.String()) > 4000 {
			t.Errorf("policy id %.20q…: %d bytes logged; the id must be bounded in the log", id, len(u.logs.String()))
		}
	}
}

// A stored token DigitalOcean would never issue (a trailing newline from a
// file) fails the run auth_revoked at once, saying it is malformed, and is
// never sent.
func TestMalformedTokenIsAuthRevoked(t *testing.T) {
	u := newUnit(t)
	u.svc.Tokens = memTokens{"acct1": token1 + "\n"}
	u.invoke(slotInput("p1", start))
	run := u.store.run(t, runID("p1", start))
	if run.Status != snapkeep.RunFailed || run.ErrorClass != snapkeep.ClassAuthRevoked || !strings.Contains(run.ErrorDetail, "malformed") ||
		!strings.Contains(run.ErrorDetail, "line break") {
		t.Errorf("run %s %s %q, want failed auth_revoked saying the token is malformed", run.Status, run.ErrorClass, run.ErrorDetail)
	}
	if strings.Contains(run.ErrorDetail, token1[10:]) || strings.Contains(u.logs.String(), token1[10:]) {
		t.Error("the token is in the run or the log")
	}
	if n := u.do.count(snapkeep.OpSnapshotDroplet) + u.do.count(snapkeep.OpListSnapshots); n != 0 {
		t.Errorf("%d DigitalOcean calls with a malformed token", n)
	}
}

// When the invocation's time runs out during retention, no DigitalOcean
// call is started without CallMargin left, the call in flight is cut off
// before the invocation ends, and the run's final write (on a context
// detached from the invocation's) still records every call made.
func TestOutOfTimeKeepsCallsAndProgress(t *testing.T) {
	u := newUnit(t)
	u.svc.Config.CallMargin = 300 * time.Millisecond
	u.svc.Config.WriteTimeout = 2 * time.Second
	vol := "506f78a4-e098-11e5-ad9f-000f53306ae1"
	u.pols.m["v1"] = snapkeep.Policy{PolicyID: "v1", CustomerID: "c1", AccountID: "acct1", Enabled: true, Schedule: "rate(1 hour)",
		Resource: snapkeep.Resource{Kind: snapkeep.ResourceVolume, ID: vol, Region: "nyc3"}, Retention: snapkeep.Retention{KeepLast: 1}}
	var old []snapkeep.Snapshot
	for i := 0; i < 20; i++ {
		slot := start.Add(-time.Duration(i+1) * time.Hour)
		old = append(old, snapkeep.Snapshot{ID: fmt.Sprintf("old-%d", i), Name: snapshot.SnapshotName(snapkeep.NewRunKey("v1", slot)), Created: slot})
	}
	u.do.ListSnapshotsFn = func(context.Context, snapkeep.ResourceKind, string, int) ([]snapkeep.Snapshot, bool, error) {
		return append(old, snapkeep.Snapshot{ID: "vs-new", Name: snapshot.SnapshotName(snapkeep.NewRunKey("v1", start)), Created: start}), false, nil
	}
	u.do.SnapshotVolumeFn = func(_ context.Context, _, name string, _ []string) (*snapkeep.Snapshot, error) {
		return &snapkeep.Snapshot{ID: "vs-new", Name: name, Created: start}, nil
	}
	u.do.DeleteSnapshotFn = func(ctx context.Context, _ string) error {
		select {
		case <-time.After(60 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	u.store.failSave = func(next *snapkeep.Run) error {
		if next.Status.Terminal() {
			<-ctx.Done() // the invocation's time is over before the final write
		}
		return nil
	}
	if _, err := u.svc.Invoke(ctx, []byte(slotInput("v1", start))); err != nil {
		t.Fatalf("invoke: %v", err)
	}
	run := u.store.run(t, runID("v1", start))
	rows := u.store.callRows(t, run.RunID)
	made := 1 + u.do.count(snapkeep.OpListSnapshots) + u.do.count(snapkeep.OpDeleteSnapshot)
	if len(rows) != made || run.APICalls != made {
		t.Errorf("%d rows, run says %d, for %d DigitalOcean calls", len(rows), run.APICalls, made)
	}
	if u.do.count(snapkeep.OpDeleteSnapshot) >= 19 {
		t.Errorf("%d deletes: the time reserve did not stop them", u.do.count(snapkeep.OpDeleteSnapshot))
	}
	if run.Status != snapkeep.RunSucceeded || run.Retention == nil || len(run.Retention.Failed) == 0 || !strings.Contains(run.Retention.Error, "deferred") {
		t.Errorf("run %s retention %+v, want succeeded with the rest of the deletes deferred", run.Status, run.Retention)
	}
}

// A provider error text of 450 KB is bounded on the run (DynamoDB's item
// limit is 400 KB), saying it was cut, and the run can still end.
func TestHugeProviderMessageIsBounded(t *testing.T) {
	u := newUnit(t)
	huge := strings.Repeat("Server Error ", 450*1024/13)
	u.do.SnapshotDropletFn = func(context.Context, int, string) (*snapkeep.Action, error) {
		return nil, &docloud.Error{Class: snapkeep.ClassProviderError, StatusCode: 500, ErrorID: "server_error", Message: huge, RequestID: strings.Repeat("r", 5000)}
	}
	u.invoke(slotInput("p1", start))
	run := u.store.run(t, runID("p1", start))
	if len(run.ProviderMessage) > snapkeep.MaxProviderText || !snapkeep.WasCut(run.ProviderMessage) ||
		len(run.ProviderRequestID) > snapkeep.MaxProviderText || len(run.ErrorDetail) > 2*snapkeep.MaxProviderText {
		t.Errorf("run keeps %d bytes of message, %d of request id, %d of detail", len(run.ProviderMessage), len(run.ProviderRequestID), len(run.ErrorDetail))
	}
	u.now = start.Add(snapshot.DefaultSlotWindow + time.Minute)
	u.invoke(`{"sweep": true}`)
	if run = u.store.run(t, runID("p1", start)); run.Status != snapkeep.RunFailed || run.ErrorClass != snapkeep.ClassProviderError {
		t.Errorf("run %s %s, want failed provider_error at the window's end", run.Status, run.ErrorClass)
	}
}

// A step with more calls than one transaction holds (retention deleting
// 150 snapshots) flushes them ahead of the run's write; a throttled flush
// is retried with the same seqs: exactly one row per request, no
// duplicates, and no run write carries more than MaxCallsPerSave.
func TestLongStepFlushesCallsOnce(t *testing.T) {
	u := newUnit(t)
	u.pols.m["p1"] = snapkeep.Policy{PolicyID: "p1", CustomerID: "c1", AccountID: "acct1", Enabled: true, Schedule: "rate(1 hour)",
		Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: fmt.Sprint(dropletID), Region: "nyc3"}, Retention: snapkeep.Retention{KeepLast: 1}}
	var old []snapkeep.Snapshot
	for i := 0; i < 150; i++ {
		slot := start.Add(-time.Duration(i+1) * time.Hour)
		old = append(old, snapkeep.Snapshot{ID: fmt.Sprintf("old-%d", i), Name: snapshot.SnapshotName(snapkeep.NewRunKey("p1", slot)), Created: slot})
	}
	name := snapshot.SnapshotName(snapkeep.NewRunKey("p1", start))
	u.do.ListSnapshotsFn = func(context.Context, snapkeep.ResourceKind, string, int) ([]snapkeep.Snapshot, bool, error) {
		return append([]snapkeep.Snapshot{{ID: "new", Name: name, Created: start}}, old...), false, nil
	}
	throttled := 0
	u.store.failAppend = func([]snapkeep.APICall) error {
		if throttled++; throttled == 1 {
			return errors.New("ProvisionedThroughputExceededException: throttled")
		}
		return nil
	}
	u.invoke(slotInput("p1", start))
	for i := 0; i < 5; i++ {
		run := u.store.run(t, runID("p1", start))
		if run.Status.Terminal() {
			break
		}
		// A step whose write failed leaves its lease to lapse.
		u.now = u.now.Add(snapshot.DefaultCheckLease + time.Minute)
		u.invoke(`{"sweep": true}`)
	}
	run := u.store.run(t, runID("p1", start))
	if run.Retention == nil {
		t.Fatalf("run %s %s %q step error %q, no retention", run.Status, run.ErrorClass, run.ErrorDetail, run.StepError)
	}
	rows := u.store.callRows(t, run.RunID)
	made := 0
	for _, op := range snapkeep.Operations() {
		made += u.do.count(op)
	}
	if run.Status != snapkeep.RunSucceeded || len(rows) != made || len(run.Retention.Deleted) < 150 {
		t.Errorf("run %s: %d rows for %d requests, %d deleted", run.Status, len(rows), made, len(run.Retention.Deleted))
	}
	if u.store.maxSaveCalls > snapshot.MaxCallsPerSave {
		t.Errorf("a run write carried %d calls", u.store.maxSaveCalls)
	}
	if throttled < 2 {
		t.Errorf("the flush was tried %d times, want the throttled one retried", throttled)
	}
}

// Overlapping sweeps (a slow one still running when the next starts) never
// check one run twice at once: every due run's action is asked about once.
func TestOverlappingSweepsCheckEachRunOnce(t *testing.T) {
	u := newUnit(t)
	for i := 0; i < 20; i++ {
		id := fmt.Sprintf("q%02d", i)
		u.pols.m[id] = snapkeep.Policy{PolicyID: id, CustomerID: "c1", AccountID: "acct1", Enabled: true, Schedule: "rate(1 hour)",
			Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: fmt.Sprint(5000 + i), Region: "nyc3"}, Retention: snapkeep.Retention{KeepLast: 3}}
		u.invoke(slotInput(id, start))
	}
	u.do.GetActionFn = func(_ context.Context, id int64) (*snapkeep.Action, error) {
		time.Sleep(2 * time.Millisecond) // let the sweeps overlap
		return &snapkeep.Action{ID: id, Type: "snapshot", Status: snapkeep.ActionInProgress}, nil
	}
	u.now = start.Add(time.Minute)
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := u.svc.Invoke(context.Background(), []byte(`{"sweep": true}`)); err != nil {
				t.Errorf("sweep: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := u.do.count(snapkeep.OpGetAction); n != 20 {
		t.Errorf("%d action checks for 20 due runs over 3 overlapping sweeps, want 20", n)
	}
}

// The sweep reports the undecodable items the store took out of the
// unfinished index, and handles the rest.
func TestSweepReportsQuarantined(t *testing.T) {
	u := newUnit(t)
	u.invoke(slotInput("p2", start))
	u.store.poisoned = 1
	u.now = start.Add(time.Minute)
	out := u.invoke(`{"sweep": true}`)
	if out.Quarantined != 1 || out.Handled != 1 {
		t.Errorf("outcome %+v, want 1 quarantined and 1 handled", out)
	}
}

// A run written before the retry state became fields (its ErrorDetail
// ending in the old "may have started" note, its class only implied by the
// HTTP status) goes on after the deploy: it is read as uncertain with the
// status's class, looks for its snapshot before asking again, and ends
// with that class when the window passes.
func TestLegacyRunInFlight(t *testing.T) {
	u := newUnit(t)
	key := snapkeep.NewRunKey("p1", start)
	next := start.Add(time.Minute)
	u.store.runs[key.RunID()] = snapkeep.Run{PolicyID: "p1", ScheduledAt: start, RunID: key.RunID(), CustomerID: "c1", AccountID: "acct1",
		Resource: u.pols.m["p1"].Resource, ResourceKey: u.pols.m["p1"].Resource.Key(), Trigger: snapkeep.TriggerScheduled,
		Status: snapkeep.RunClaimed, SnapshotName: snapshot.SnapshotName(key), Attempts: 1, ClaimedAt: start,
		Deadline: start.Add(snapshot.DefaultDeadline), NextCheckAt: &next, Unfinished: snapkeep.UnfinishedShard, UpdatedAt: start,
		HTTPStatus: 503, ProviderMessage: "Service Unavailable",
		ErrorDetail: "request the droplet snapshot: digitalocean: provider_error: 503 (an earlier request may have started the snapshot)"}
	u.do.SnapshotDropletFn = func(context.Context, int, string) (*snapkeep.Action, error) {
		return nil, &docloud.Error{Class: snapkeep.ClassRateLimited, StatusCode: 429, Message: "Too many requests"}
	}
	u.now = next
	u.invoke(`{"sweep": true}`)
	run := u.store.run(t, key.RunID())
	if u.do.count(snapkeep.OpListActions) != 1 || u.do.count(snapkeep.OpListSnapshots) != 1 {
		t.Errorf("the legacy uncertain run did not look for its snapshot and action first (%d lists, %d action lists)",
			u.do.count(snapkeep.OpListSnapshots), u.do.count(snapkeep.OpListActions))
	}
	if !run.RequestUncertain || strings.Contains(run.ErrorDetail, "may have started") || run.RetryClass != snapkeep.ClassRateLimited {
		t.Errorf("upgraded run: uncertain %v retry class %q detail %q", run.RequestUncertain, run.RetryClass, run.ErrorDetail)
	}
	u.now = start.Add(snapshot.DefaultSlotWindow + time.Minute)
	u.invoke(`{"sweep": true}`)
	if run = u.store.run(t, key.RunID()); run.Status != snapkeep.RunFailed || run.ErrorClass != snapkeep.ClassRateLimited {
		t.Errorf("run %s %s, want failed rate_limited at the window's end", run.Status, run.ErrorClass)
	}
}

// Each claim records how the policy's previous finished run ended (the
// notify function's filter passes a success only after a failure).
func TestClaimRecordsPreviousStatus(t *testing.T) {
	u := newUnit(t)
	u.do.SnapshotDropletFn = func(context.Context, int, string) (*snapkeep.Action, error) {
		return nil, &docloud.Error{Class: snapkeep.ClassResourceMissing, StatusCode: 404, Message: "The resource you were accessing could not be found."}
	}
	u.invoke(slotInput("p1", start))
	u.do.SnapshotDropletFn = nil
	next := start.Add(time.Hour)
	u.now = next
	u.invoke(slotInput("p1", next))
	first, second := u.store.run(t, runID("p1", start)), u.store.run(t, runID("p1", next))
	if first.PrevStatus != "" || first.Status != snapkeep.RunFailed || second.PrevStatus != snapkeep.RunFailed {
		t.Errorf("prev_status %q (first, %s) and %q (second), want empty and failed", first.PrevStatus, first.Status, second.PrevStatus)
	}
}

// countingTokens counts the token reads.
type countingTokens struct {
	memTokens
	mu sync.Mutex
	n  int
}

func (c *countingTokens) Token(ctx context.Context, account string) (string, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.memTokens.Token(ctx, account)
}

// The token is read once per TokenTTL per account (Secrets Manager bills
// per read: four reads a run at a million runs an hour would be costly),
// and at once again after DigitalOcean refused it, so a reconnected
// account's new token is used by the next run.
func TestTokenReadOncePerTTL(t *testing.T) {
	u := newUnit(t)
	tokens := &countingTokens{memTokens: memTokens{"acct1": token1, "acct2": token2}}
	u.svc.Tokens = tokens
	for i := 0; i < 8; i++ {
		id := fmt.Sprintf("t%d", i)
		u.pols.m[id] = snapkeep.Policy{PolicyID: id, CustomerID: "c1", AccountID: "acct1", Enabled: true, Schedule: "rate(1 hour)",
			Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: fmt.Sprint(7000 + i), Region: "nyc3"}, Retention: snapkeep.Retention{KeepLast: 3}}
	}
	for i := 0; i < 8; i++ {
		u.now = start.Add(time.Duration(i) * 30 * time.Second)
		u.invoke(slotInput(fmt.Sprintf("t%d", i), start))
	}
	if tokens.n != 1 {
		t.Errorf("%d token reads for 8 runs in 4 minutes, want 1", tokens.n)
	}
	later := start.Add(time.Hour)
	u.now = later
	u.invoke(slotInput("t0", later))
	if tokens.n != 2 {
		t.Errorf("%d token reads after the TTL, want 2", tokens.n)
	}
	u.do.SnapshotDropletFn = func(context.Context, int, string) (*snapkeep.Action, error) {
		return nil, &docloud.Error{Class: snapkeep.ClassAuthRevoked, StatusCode: 401, ErrorID: "unauthorized", Message: "Unable to authenticate you"}
	}
	u.invoke(slotInput("t1", later))
	u.do.SnapshotDropletFn = nil
	u.invoke(slotInput("t2", later))
	if tokens.n != 3 {
		t.Errorf("%d token reads, want 3: a refused token is read again at once", tokens.n)
	}
}

// An account whose policies spend its own DigitalOcean budget has its runs
// wait for the budget, each wait recorded on the run. A run the budget
// keeps out of its slot window fails rate_limited, saying the account's own
// budget delayed it (not "internal"), whether the budget is still spent
// when it wakes or it woke late.
func TestOwnBudgetDelaysAreRecorded(t *testing.T) {
	window := snapshot.DefaultSlotWindow
	tests := []struct {
		name      string
		busyUntil time.Duration // the budget is spent until start + this
		lateBy    time.Duration // the follow-up arrives this late
		status    snapkeep.RunStatus
		class     snapkeep.ErrorClass
		detail    string
	}{
		{name: "within the window", busyUntil: 5 * time.Minute, status: snapkeep.RunSucceeded},
		{name: "until just before the window ends", busyUntil: window - time.Minute, status: snapkeep.RunSucceeded},
		{name: "woken past the window", busyUntil: window - time.Minute, lateBy: 5 * time.Minute, status: snapkeep.RunFailed,
			class: snapkeep.ClassRateLimited, detail: "own DigitalOcean rate budget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUnit(t)
			u.do.PaceDelayFn = func(now time.Time) time.Duration {
				if until := start.Add(tt.busyUntil); now.Before(until) {
					return until.Sub(now)
				}
				return 0
			}
			u.invoke(slotInput("p1", start))
			run := u.store.run(t, runID("p1", start))
			if run.BudgetDelays != 1 || run.BudgetDelayedUntil == nil || u.do.count(snapkeep.OpSnapshotDroplet) != 0 {
				t.Fatalf("after the first invocation: %d budget delays until %v, %d requests; want one recorded delay and no request",
					run.BudgetDelays, run.BudgetDelayedUntil, u.do.count(snapkeep.OpSnapshotDroplet))
			}
			u.now = run.NextCheckAt.Add(tt.lateBy)
			for i := 0; i < 40 && !run.Status.Terminal(); i++ {
				u.invoke(`{"sweep": true}`)
				run = u.store.run(t, runID("p1", start))
				if run.NextCheckAt != nil {
					u.now = *run.NextCheckAt
				}
			}
			if run.Status != tt.status || run.ErrorClass != tt.class || !strings.Contains(run.ErrorDetail, tt.detail) {
				t.Errorf("run %s %s %q; want %s %s containing %q", run.Status, run.ErrorClass, run.ErrorDetail, tt.status, tt.class, tt.detail)
			}
			if run.BudgetDelays == 0 {
				t.Error("the run lost its record of the budget delays")
			}
		})
	}
	// A budget spent beyond the whole window fails the run at once, as
	// rate_limited, with nothing requested.
	u := newUnit(t)
	u.do.PaceDelayFn = func(time.Time) time.Duration { return 3 * time.Hour }
	u.invoke(slotInput("p1", start))
	if run := u.store.run(t, runID("p1", start)); run.Status != snapkeep.RunFailed || run.ErrorClass != snapkeep.ClassRateLimited {
		t.Errorf("budget spent for 3 hours: run %s %s %q; want failed rate_limited", run.Status, run.ErrorClass, run.ErrorDetail)
	}
}

// A run records how long its snapshot took; the policy's next run looks at
// its action first at ExpectedShare of that, so a long snapshot costs a few
// checks (DigitalOcean calls and writes), not one every few minutes. A run
// with no previous success, or whose previous run snapshotted another
// resource, checks on the usual schedule.
func TestChecksFollowThePreviousSnapshotsTime(t *testing.T) {
	const took = 100 * time.Minute
	u := newUnit(t)
	started := map[int64]time.Time{}
	u.do.SnapshotDropletFn = func(_ context.Context, id int, name string) (*snapkeep.Action, error) {
		aid, _ := u.do.makeSnapshot(fmt.Sprint(id), name)
		started[aid] = u.now
		return &snapkeep.Action{ID: aid, Type: "snapshot", Status: snapkeep.ActionInProgress, ResourceID: int64(id), StartedAt: u.now}, nil
	}
	u.do.GetActionFn = func(_ context.Context, id int64) (*snapkeep.Action, error) {
		if done := started[id].Add(took); !u.now.Before(done) {
			return &snapkeep.Action{ID: id, Type: "snapshot", Status: snapkeep.ActionCompleted, CompletedAt: done}, nil
		}
		return &snapkeep.Action{ID: id, Type: "snapshot", Status: snapkeep.ActionInProgress}, nil
	}
	follow := func(slot time.Time) (snapkeep.Run, int) {
		t.Helper()
		u.now = slot
		before := u.do.count(snapkeep.OpGetAction)
		u.invoke(slotInput("p1", slot))
		run := u.store.run(t, runID("p1", slot))
		for i := 0; i < 60 && !run.Status.Terminal(); i++ {
			u.now = *run.NextCheckAt
			u.invoke(`{"sweep": true}`)
			run = u.store.run(t, runID("p1", slot))
		}
		return run, u.do.count(snapkeep.OpGetAction) - before
	}
	first, firstChecks := follow(start)
	if first.Status != snapkeep.RunSucceeded || first.ActionSeconds != int(took.Seconds()) {
		t.Fatalf("first run %s, action seconds %d; want succeeded and %d", first.Status, first.ActionSeconds, int(took.Seconds()))
	}
	second, secondChecks := follow(start.Add(4 * time.Hour))
	if second.ExpectedActionSeconds != first.ActionSeconds || second.Status != snapkeep.RunSucceeded {
		t.Fatalf("second run %s expected %d s; want succeeded expecting %d s", second.Status, second.ExpectedActionSeconds, first.ActionSeconds)
	}
	if secondChecks > 4 || secondChecks >= firstChecks {
		t.Errorf("checks: %d without an expectation, %d with one; want at most 4 with it", firstChecks, secondChecks)
	}
	// The policy now snapshots another droplet: no expectation carries over.
	pol := u.pols.m["p1"]
	pol.Resource.ID = fmt.Sprint(dropletID + 9)
	u.pols.m["p1"] = pol
	third, _ := follow(start.Add(8 * time.Hour))
	if third.ExpectedActionSeconds != 0 {
		t.Errorf("a run on another droplet expects %d s from the previous droplet's snapshot", third.ExpectedActionSeconds)
	}
}
