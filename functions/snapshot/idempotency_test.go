package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/snapshot"
)

// TestConcurrentDeliveries fires the same slot 20 times at once: exactly
// one snapshot POST and one run.
func TestConcurrentDeliveries(t *testing.T) {
	s := newStack(t, stackOpt{})
	var wg sync.WaitGroup
	var claimed atomic.Int32
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := s.h.Invoke(context.Background(), []byte(slotInput("p1", slot0)))
			if err != nil {
				t.Error(err)
				return
			}
			if out.Action == "claimed" {
				claimed.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := claimed.Load(); n != 1 {
		t.Errorf("%d deliveries claimed the slot, want 1", n)
	}
	if n := s.fake.SnapshotPosts("droplet", fmt.Sprint(dropletID)); n != 1 {
		t.Errorf("%d snapshot POSTs, want 1", n)
	}
	runs, err := s.runs.ListByPolicy(context.Background(), "p1", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Errorf("%d runs, want 1", len(runs))
	}
	r := s.settle("p1", slot0, 20)
	if r.Status != snapkeep.RunSucceeded {
		t.Errorf("run %s %s %q", r.Status, r.ErrorClass, r.ErrorDetail)
	}
	s.checkCalls(r)
	s.checkNoToken()
}

// TestReplays delivers the slot again at every stage: nothing new happens.
func TestReplays(t *testing.T) {
	s := newStack(t, stackOpt{})
	s.invoke(slotInput("p1", slot0))
	for _, in := range []string{slotInput("p1", slot0), slotInput("p1", slot0.Add(0))} {
		if out := s.invoke(in); out.Action != "not_due" {
			t.Errorf("replay in progress: %+v", out)
		}
	}
	r := s.settle("p1", slot0, 20)
	for i := 0; i < 3; i++ {
		s.clock.Advance(time.Hour)
		if out := s.invoke(slotInput("p1", slot0)); out.Action != "finished_before" {
			t.Errorf("replay after the end: %+v", out)
		}
	}
	if n := s.fake.SnapshotPosts("droplet", fmt.Sprint(dropletID)); n != 1 {
		t.Errorf("%d snapshot POSTs, want 1", n)
	}
	r2 := s.run("p1", slot0)
	if !r2.UpdatedAt.Equal(r.UpdatedAt) {
		t.Error("a replay wrote the finished run")
	}
}

// failingDB fails the first TransactWriteItems: the invocation crashes
// after its snapshot POST, before recording it.
// failingDB fails the first transaction that writes ApiCalls rows (the
// run's write after its snapshot request): the attempt "crashes" after the
// POST, before recording it.
type failingDB struct {
	dynamo.Client
	calls  string // the ApiCalls table
	failed atomic.Bool
}

func (f *failingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if writesTable(in, f.calls) && f.failed.CompareAndSwap(false, true) {
		return nil, errors.New("injected: DynamoDB unreachable")
	}
	return f.Client.TransactWriteItems(ctx, in, opts...)
}

// writesTable reports whether the transaction puts an item into table.
func writesTable(in *dynamodb.TransactWriteItemsInput, table string) bool {
	for _, it := range in.TransactItems {
		if it.Put != nil && aws.ToString(it.Put.TableName) == table {
			return true
		}
	}
	return false
}

// TestResumeCrashedClaim: the attempt that claimed the slot made the POST
// and died before writing; the sweep takes over once the lease lapsed and
// never takes a second snapshot: it finds the snapshot by name when the
// action is done, or adopts the action still running (found among the
// droplet's actions) and follows it.
func TestResumeCrashedClaim(t *testing.T) {
	for _, tc := range []struct {
		name    string
		slow    time.Duration // the droplet's action duration; 0: the stack's 3 minutes
		adopted bool
	}{
		{name: "action done at the takeover"},
		{name: "action still running at the takeover", slow: 30 * time.Minute, adopted: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, stackOpt{})
			if tc.slow > 0 {
				slowDroplet(s, tc.slow)
			}
			db := &failingDB{Client: s.env.DynamoDB, calls: s.env.TableName(dynamo.APICalls)}
			s.h.svc.Runs.(*dynamo.RunStore).Client = db
			if _, err := s.h.Invoke(context.Background(), []byte(slotInput("p1", slot0))); err == nil {
				t.Fatal("the crashed attempt reported no error")
			}
			r := s.run("p1", slot0)
			if r.Status != snapkeep.RunClaimed || r.LeaseUntil == nil || r.APICalls != 1 {
				t.Fatalf("after the crash: %s lease %v api_calls %d", r.Status, r.LeaseUntil, r.APICalls)
			}
			if out := s.invoke(`{"sweep": true}`); out.Handled != 0 {
				t.Errorf("sweep during the lease handled %d runs", out.Handled)
			}
			r = s.settle("p1", slot0, 40)
			if r.Status != snapkeep.RunSucceeded {
				t.Fatalf("run %s %s %q", r.Status, r.ErrorClass, r.ErrorDetail)
			}
			if n := len(s.own("droplet", fmt.Sprint(dropletID))); n != 1 {
				t.Errorf("%d snapshots, want 1", n)
			}
			if n := s.fake.SnapshotPosts("droplet", fmt.Sprint(dropletID)); n != 1 {
				t.Errorf("%d snapshot POSTs, want 1", n)
			}
			rows := s.checkCalls(r)
			if tc.adopted {
				checkAdopted(t, s, r, rows)
			}
			s.checkNoToken()
			if !strings.Contains(s.logs.String(), "resuming a run whose attempt lapsed") {
				t.Error("resume not logged")
			}
			if tc.adopted && !strings.Contains(s.logs.String(), "adopting the snapshot action of an earlier request") {
				t.Error("adoption not logged")
			}
		})
	}
}

// TestRetentionWithForeignSnapshots: only the policy's own snapshots beyond
// keep_last are deleted; the customer's own, DigitalOcean backups, another
// policy's and look-alike names stay.
func TestRetentionWithForeignSnapshots(t *testing.T) {
	s := newStack(t, stackOpt{})
	d := fmt.Sprint(dropletID)
	add := func(name, typ string, age time.Duration) dotest.Snapshot {
		sn, err := s.fake.AddSnapshot(dotest.Snapshot{ResourceType: "droplet", ResourceID: d, Name: name, Type: typ, CreatedAt: slot0.Add(-age)})
		if err != nil {
			t.Fatal(err)
		}
		return sn
	}
	keep := []dotest.Snapshot{
		add("customer-before-upgrade", "", 30*24*time.Hour),
		add("daily-backup", dotest.TypeBackup, 24*time.Hour),
		add("snapkeep-p1-x-20261101T000000Z", "", 20*24*time.Hour),
		add("snapkeep-p1-manual", "", 19*24*time.Hour),
		add("snapkeep-p1-20261123T030000Z", "", 24*time.Hour), // newest older own: kept (keep_last 2)
	}
	gone := []dotest.Snapshot{
		add("snapkeep-p1-20261122T030000Z", "", 48*time.Hour),
		add("snapkeep-p1-20261121T030000Z", "", 72*time.Hour),
	}
	s.invoke(slotInput("p1", slot0))
	r := s.settle("p1", slot0, 20)
	if r.Status != snapkeep.RunSucceeded || r.Retention == nil {
		t.Fatalf("run %s %+v", r.Status, r.Retention)
	}
	if len(r.Retention.Deleted) != 2 || r.Retention.Kept != 2 || len(r.Retention.Failed) != 0 {
		t.Errorf("retention = %+v", r.Retention)
	}
	deleted := map[string]bool{}
	for _, sn := range s.fake.Deleted() {
		deleted[sn.ID] = true
	}
	for _, sn := range gone {
		if !deleted[sn.ID] {
			t.Errorf("%s not deleted", sn.Name)
		}
	}
	for _, sn := range keep {
		if deleted[sn.ID] {
			t.Errorf("%s deleted", sn.Name)
		}
	}
	if deleted[r.SnapshotID] || len(deleted) != 2 {
		t.Errorf("deleted %v (new %s)", deleted, r.SnapshotID)
	}
	s.checkCalls(r)
	s.checkNoToken()
}

// TestRetentionDeleteFails: a failed delete is recorded and does not fail
// the backup; the next run deletes it.
func TestRetentionDeleteFails(t *testing.T) {
	s := newStack(t, stackOpt{})
	old, err := s.fake.AddSnapshot(dotest.Snapshot{ResourceType: "droplet", ResourceID: fmt.Sprint(dropletID), Name: "snapkeep-p1-20261120T030000Z", CreatedAt: slot0.Add(-96 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.fake.AddSnapshot(dotest.Snapshot{ResourceType: "droplet", ResourceID: fmt.Sprint(dropletID), Name: "snapkeep-p1-20261121T030000Z", CreatedAt: slot0.Add(-72 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	s.fake.MustAddFault(dotest.Fault{Kind: dotest.FaultStatus, Status: 500, Operation: dotest.OpDeleteSnapshot, Count: 1})
	s.invoke(slotInput("p1", slot0))
	r := s.settle("p1", slot0, 20)
	if r.Status != snapkeep.RunSucceeded || r.Retention == nil || len(r.Retention.Failed) != 1 || r.Retention.Failed[0] != old.ID || r.Retention.Error == "" {
		t.Fatalf("run %s retention %+v", r.Status, r.Retention)
	}
	slot1 := slot0.Add(time.Hour)
	s.clock.Set(slot1.Add(time.Second))
	s.invoke(slotInput("p1", slot1))
	r1 := s.settle("p1", slot1, 20)
	if r1.Retention == nil || len(r1.Retention.Failed) != 0 || len(r1.Retention.Deleted) != 2 {
		t.Errorf("next run retention %+v", r1.Retention)
	}
	if _, ok := s.fake.Snapshot(old.ID); ok {
		t.Error("the snapshot whose delete failed is still there after the next run")
	}
}

// TestOnDemandAndFollowUp: an on-demand run takes its slot from the clock;
// a follow-up checks it before its next check is due.
func TestOnDemandAndFollowUp(t *testing.T) {
	s := newStack(t, stackOpt{})
	now := s.clock.Now().Truncate(time.Second)
	out := s.invoke(`{"policy_id": "p1"}`)
	if out.Action != "claimed" || out.RunID != snapkeep.NewRunKey("p1", now).RunID() {
		t.Fatalf("on-demand: %+v", out)
	}
	r := s.run("p1", now)
	if r.Trigger != snapkeep.TriggerOnDemand {
		t.Errorf("trigger %s", r.Trigger)
	}
	s.clock.Advance(4 * time.Minute)
	follow := fmt.Sprintf(`{"policy_id":"p1","scheduled_time":%q,"follow_up":true}`, now.Format(snapkeep.SlotTimeFormat))
	if out := s.invoke(follow); out.Status != snapkeep.RunSucceeded {
		t.Errorf("follow-up: %+v", out)
	}
	if out := s.invoke(`{"policy_id":"p1","scheduled_time":"2026-11-24T03:00:00Z","follow_up":true}`); out.Action != "not_found" {
		t.Errorf("follow-up of no run: %+v", out)
	}
}

// TestRejectedInputRecorded: an input with an unknown field becomes a
// failed run (internal), and the handler returns no error.
func TestRejectedInputRecorded(t *testing.T) {
	s := newStack(t, stackOpt{})
	out, err := s.h.Invoke(context.Background(), []byte(`{"policy_id":"p1","scheduled_time":"2026-11-24T03:00:00Z","execution_id":"x"}`))
	if err != nil || out.Action != "rejected" {
		t.Fatalf("%+v, %v", out, err)
	}
	r := s.run("p1", slot0)
	if r.Status != snapkeep.RunFailed || r.ErrorClass != snapkeep.ClassInternal || !strings.Contains(r.ErrorDetail, "execution_id") {
		t.Errorf("run %s %s %q", r.Status, r.ErrorClass, r.ErrorDetail)
	}
	fails, err := s.runs.Failures(context.Background(), snapkeep.ClassInternal, slot0.Add(-time.Hour))
	if err != nil || len(fails) != 1 {
		t.Errorf("failures index: %d, %v", len(fails), err)
	}
	if _, err := s.h.Invoke(context.Background(), []byte(`{"nonsense":true}`)); err != nil {
		t.Errorf("bad input without a key: %v", err)
	}
}

// raceDB runs during once, just before the first TransactWriteItems it
// sees: another attempt that writes the run first.
type raceDB struct {
	dynamo.Client
	calls  string // the ApiCalls table
	fired  atomic.Bool
	during func()
}

func (r *raceDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if writesTable(in, r.calls) && r.fired.CompareAndSwap(false, true) {
		r.during()
	}
	return r.Client.TransactWriteItems(ctx, in, opts...)
}

// TestLostRaceKeepsCalls: a follow-up checks the in-progress run but is so
// slow that its check lease lapses before it writes; another follow-up
// takes the run over and writes first. The first loses the conditional
// write on moto, stops, and appends its GET to ApiCalls, so the rows still
// match DigitalOcean's requests one to one. (Two follow-ups at once never
// both check: the second finds the run leased.)
func TestLostRaceKeepsCalls(t *testing.T) {
	s := newStack(t, stackOpt{})
	s.invoke(slotInput("p1", slot0))
	s.clock.Advance(time.Minute)
	follow := fmt.Sprintf(`{"policy_id":"p1","scheduled_time":%q,"follow_up":true}`, slot0.Format(snapkeep.SlotTimeFormat))
	var winner, during *snapshot.Outcome
	db := &raceDB{Client: s.env.DynamoDB, calls: s.env.TableName(dynamo.APICalls), during: func() {
		during = s.invoke(follow) // while the lease is live: left alone
		s.clock.Advance(snapshot.DefaultCheckLease + time.Second)
		winner = s.invoke(follow)
	}}
	s.h.svc.Runs.(*dynamo.RunStore).Client = db
	loser := s.invoke(follow)
	if loser.Action != "lost_race" || during == nil || during.Action != "leased_elsewhere" || winner == nil || winner.Action != "resumed" {
		t.Errorf("outcomes: loser %+v, during %+v, winner %+v; want lost_race, leased_elsewhere and resumed", loser, during, winner)
	}
	r := s.run("p1", slot0)
	if gets := s.countOps(r, snapkeep.OpGetAction); gets != 2 {
		t.Errorf("%d get_action rows, want 2 (the loser's and the winner's)", gets)
	}
	s.checkCalls(r)
	r = s.settle("p1", slot0, 20)
	if r.Status != snapkeep.RunSucceeded {
		t.Errorf("run %s %s %q", r.Status, r.ErrorClass, r.ErrorDetail)
	}
	s.checkCalls(r)
	s.checkNoToken()
}

// countOps counts the run's ApiCalls rows of op.
func (s *stack) countOps(r *snapkeep.Run, op snapkeep.Operation) int {
	s.t.Helper()
	rows, err := s.calls.ListByRun(context.Background(), r.RunID)
	if err != nil {
		s.t.Fatal(err)
	}
	n := 0
	for _, c := range rows {
		if c.Operation == op {
			n++
		}
	}
	return n
}

// TestRetentionVolumeLimit: a volume holding 22 of the customer's
// snapshots and 2 of the policy's gets its 25th from this run; retention
// deletes the policy's oldest (keep_last would keep it) so that the next
// run fits under DigitalOcean's limit of 25, and touches nothing else.
func TestRetentionVolumeLimit(t *testing.T) {
	s := newStack(t, stackOpt{policy: func(p *snapkeep.Policy) { p.Retention.KeepLast = 10 }})
	var foreign []dotest.Snapshot
	for i := 0; i < 22; i++ {
		sn, err := s.fake.AddSnapshot(dotest.Snapshot{ResourceType: "volume", ResourceID: volumeID, Name: fmt.Sprintf("customer-%d", i), CreatedAt: slot0.Add(-time.Duration(100+i) * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		foreign = append(foreign, sn)
	}
	var own []dotest.Snapshot
	for _, age := range []time.Duration{2, 1} {
		slot := slot0.Add(-age * time.Hour)
		sn, err := s.fake.AddSnapshot(dotest.Snapshot{ResourceType: "volume", ResourceID: volumeID, Name: snapshot.SnapshotName(snapkeep.NewRunKey("v1", slot)), CreatedAt: slot})
		if err != nil {
			t.Fatal(err)
		}
		own = append(own, sn)
	}
	s.invoke(slotInput("v1", slot0))
	r := s.settle("v1", slot0, 10)
	if r.Status != snapkeep.RunSucceeded || r.Retention == nil {
		t.Fatalf("run %s %s %q retention %+v", r.Status, r.ErrorClass, r.ErrorDetail, r.Retention)
	}
	if len(r.Retention.Deleted) != 1 || r.Retention.Deleted[0] != own[0].ID || r.Retention.Kept != 2 {
		t.Errorf("retention %+v, want %s (the oldest of ours) deleted and 2 kept", r.Retention, own[0].ID)
	}
	left := map[string]bool{}
	for _, sn := range s.fake.SnapshotsOf("volume", volumeID) {
		left[sn.ID] = true
	}
	if len(left) != snapshot.VolumeSnapshotLimit-1 {
		t.Errorf("%d snapshots on the volume, want %d", len(left), snapshot.VolumeSnapshotLimit-1)
	}
	for _, sn := range append(foreign, own[1]) {
		if !left[sn.ID] {
			t.Errorf("%s was deleted", sn.Name)
		}
	}
	if !left[r.SnapshotID] {
		t.Error("the new snapshot was deleted")
	}
	s.checkCalls(r)
	s.checkNoToken()
}

// TestPolicyOutcomes: on moto and Secrets Manager, a slot whose policy is
// disabled, marked invalid, unreadable or gone, or whose account has no
// token, ends at once with its recorded terminal outcome and no
// DigitalOcean request.
func TestPolicyOutcomes(t *testing.T) {
	s := newStack(t, stackOpt{})
	ctx := context.Background()
	pols := &dynamo.PolicyStore{Client: s.env.DynamoDB, Table: s.env.TableName(dynamo.Policies)}
	base, err := pols.Get(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	put := func(id string, change func(p *snapkeep.Policy)) {
		p := *base
		p.PolicyID = id
		change(&p)
		if err := pols.Put(ctx, &p); err != nil {
			t.Fatal(err)
		}
	}
	put("off", func(p *snapkeep.Policy) { p.Enabled = false })
	put("marked", func(p *snapkeep.Policy) { p.InvalidReason = "schedule: cron(0 3 * * ? *) needs 6 fields" })
	put("notoken", func(p *snapkeep.Policy) { p.AccountID = "acct-without-token" })
	put("unchecked", func(p *snapkeep.Policy) { p.Schedule = "every night" }) // not (yet) marked invalid
	if _, err := s.env.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.env.TableName(dynamo.Policies)),
		Item: map[string]types.AttributeValue{
			"policy_id": &types.AttributeValueMemberS{Value: "garbled"},
			"enabled":   &types.AttributeValueMemberS{Value: "yes"},
		},
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		policy string
		status snapkeep.RunStatus
		class  snapkeep.ErrorClass
		detail string
	}{
		{"off", snapkeep.RunSkipped, "", "disabled"},
		{"marked", snapkeep.RunFailed, snapkeep.ClassInvalidPolicy, "needs 6 fields"},
		{"garbled", snapkeep.RunFailed, snapkeep.ClassInvalidPolicy, "enabled"},
		{"unchecked", snapkeep.RunFailed, snapkeep.ClassInvalidPolicy, "schedule"},
		{"gone", snapkeep.RunFailed, snapkeep.ClassInvalidPolicy, "does not exist"},
		{"notoken", snapkeep.RunFailed, snapkeep.ClassAuthRevoked, "no DigitalOcean token"},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			out, err := s.h.Invoke(ctx, []byte(slotInput(tc.policy, slot0)))
			if err != nil {
				t.Fatalf("handler error %v: the outcome is not recorded, Lambda would retry", err)
			}
			r := s.run(tc.policy, slot0)
			if out.Status != tc.status || r.Status != tc.status || r.ErrorClass != tc.class || !strings.Contains(r.ErrorDetail, tc.detail) {
				t.Errorf("run %s %q %q, want %s %q (%s)", r.Status, r.ErrorClass, r.ErrorDetail, tc.status, tc.class, tc.detail)
			}
			if r.FinishedAt == nil || r.Unfinished != "" || r.NextCheckAt != nil || r.LeaseUntil != nil {
				t.Errorf("terminal run keeps unfinished state: finished %v unfinished %q next %v lease %v", r.FinishedAt, r.Unfinished, r.NextCheckAt, r.LeaseUntil)
			}
		})
	}
	if n := len(s.fake.Requests()); n != 0 {
		t.Errorf("%d DigitalOcean requests, want 0", n)
	}
	fails, err := s.runs.Failures(ctx, snapkeep.ClassInvalidPolicy, slot0.Add(-time.Hour))
	if err != nil || len(fails) != 4 {
		t.Errorf("failures index: %d invalid_policy runs, %v; want 4", len(fails), err)
	}
	s.checkNoToken()
}
