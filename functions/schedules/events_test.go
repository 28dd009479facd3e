package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/events/sample"
	"github.com/snapkeep/snapkeep/infra/triggers"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/policysync"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// The samples in events/schedules (`sam local invoke SchedulesFunction -e
// events/schedules/<file> --env-vars events/env.json`) are built here: the
// Policies table's stream records of snapctl's writes through the real
// dynamo.PolicyStore, on Tuesday 24 November 2026 (go test
// ./functions/schedules -update rewrites them).

// samplePolicy is one of the samples' policies.
func samplePolicy(id, customer, account string, res snapkeep.Resource, schedule, zone string, keep int) *snapkeep.Policy {
	return &snapkeep.Policy{PolicyID: id, CustomerID: customer, AccountID: account, Resource: res, Schedule: schedule,
		TimeZone: zone, Retention: snapkeep.Retention{KeepLast: keep, MaxAgeDays: 30}, Enabled: true, FlexibleWindowMinutes: 15}
}

// policySamples writes the samples' policies as snapctl would and returns
// each sample's event: name → event.
func policySamples(t *testing.T) map[string]any {
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	tables := sample.NewTables(day)
	store := &dynamo.PolicyStore{Client: tables, Table: sample.TableName(dynamo.Policies.LogicalID), Now: tables.Clock}
	ctx := context.Background()
	at := func(h, m, s, ms int) {
		tables.Now = day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second + time.Duration(ms)*time.Millisecond)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	batch := func() events.DynamoDBEvent {
		return events.DynamoDBEvent{Records: tables.Take(dynamo.Policies.LogicalID, tables.Now.Add(time.Second))}
	}
	nightly := samplePolicy("pol-acme-db-nightly", "cust-acme", "acct-acme-main",
		snapkeep.Resource{Kind: snapkeep.ResourceVolume, ID: "7f3c2a9e-8b41-11ef-9d2a-0a58ac14a1b2", Region: "fra1"},
		"cron(0 3 * * ? *)", "Europe/Berlin", 14)
	legacy := samplePolicy("pol-globex-legacy", "cust-globex", "acct-globex", snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "2917403", Region: "ams3"},
		"cron(0 4 * * ? *)", "Europe/Amsterdam", 7)

	tables.Now = day.AddDate(0, 0, -7).Add(8*time.Hour + 2*time.Minute + 44615*time.Millisecond) // last week's policy
	must(store.Put(ctx, legacy))
	tables.Take(dynamo.Policies.LogicalID, day)

	out := map[string]any{}
	at(9, 12, 31, 482) // snapctl policy put: Acme's nightly volume backup
	must(store.Put(ctx, nightly))
	out["insert.json"] = batch()

	// snapctl in a loop, within a second: Globex's two hourly droplet
	// policies, the legacy one removed, Acme's nightly moved an hour
	// earlier. One batch (BatchSize 50, MaximumBatchingWindowInSeconds 1).
	at(9, 14, 5, 211)
	must(store.Put(ctx, samplePolicy("pol-globex-app-hourly", "cust-globex", "acct-globex",
		snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "3164511", Region: "ams3"}, "cron(0 * * * ? *)", "", 24)))
	at(9, 14, 5, 488)
	must(store.Put(ctx, samplePolicy("pol-globex-cache-hourly", "cust-globex", "acct-globex",
		snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "3164519", Region: "ams3"}, "cron(30 * * * ? *)", "", 24)))
	at(9, 14, 5, 702)
	must(store.Delete(ctx, legacy.PolicyID))
	at(9, 14, 5, 934)
	moved := *nightly
	moved.Schedule = "cron(0 2 * * ? *)"
	must(store.Put(ctx, &moved))
	out["batch.json"] = batch()

	at(13, 5, 2, 117) // snapctl policy pause
	must(store.SetEnabled(ctx, nightly.PolicyID, false))
	out["modify-pause.json"] = batch()

	at(16, 40, 9, 903) // snapctl policy delete
	must(store.Delete(ctx, nightly.PolicyID))
	out["remove.json"] = batch()

	out["reconcile.json"] = map[string]bool{"reconcile": true}
	return out
}

// TestSampleEvents checks every sample in events/schedules against the
// code that builds it, then runs it through the handler.
func TestSampleEvents(t *testing.T) {
	built := policySamples(t)
	var names []string
	for name, ev := range built {
		sample.Golden(t, "schedules/"+name, ev)
		names = append(names, name)
	}
	slices.Sort(names)
	if got := sample.Files(t, "schedules"); !slices.Equal(got, names) {
		t.Errorf("events/schedules holds %v, this test builds %v", got, names)
	}

	const nightly = "pol-acme-db-nightly"
	spec := func(id, expr, zone string, enabled bool) policysync.ScheduleSpec {
		return policysync.ScheduleSpec{Name: id, Expression: expr, TimeZone: zone, FlexibleWindowMinutes: 15, Enabled: enabled, Input: policysync.TargetInput(id)}
	}
	tests := []struct {
		file        string
		wantApplied []policysync.ScheduleSpec
		wantDeleted []string
	}{
		{file: "insert.json", wantApplied: []policysync.ScheduleSpec{spec(nightly, "cron(0 3 * * ? *)", "Europe/Berlin", true)}},
		{file: "batch.json", wantApplied: []policysync.ScheduleSpec{
			spec("pol-globex-app-hourly", "cron(0 * * * ? *)", "", true),
			spec("pol-globex-cache-hourly", "cron(30 * * * ? *)", "", true),
			spec(nightly, "cron(0 2 * * ? *)", "Europe/Berlin", true),
		}, wantDeleted: []string{"pol-globex-legacy"}},
		{file: "modify-pause.json", wantApplied: []policysync.ScheduleSpec{spec(nightly, "cron(0 2 * * ? *)", "Europe/Berlin", false)}},
		{file: "remove.json", wantDeleted: []string{nightly}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var ev events.DynamoDBEvent
			sample.Decode(t, "schedules/"+tt.file, &ev)
			sched := &recSchedules{}
			h := &Handler{Syncer: &policysync.Syncer{Policies: tableAfter(t, ev), Schedules: sched}}
			// Through the Lambda entry point, as `sam local invoke` would.
			out, err := h.Invoke(context.Background(), sample.Read(t, "schedules/"+tt.file))
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			resp, ok := out.(events.DynamoDBEventResponse)
			if !ok || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("Invoke returned %#v, want the stream response without failures", out)
			}
			if !slices.Equal(sched.applied, tt.wantApplied) || !slices.Equal(sched.deleted, tt.wantDeleted) {
				t.Errorf("applied %+v, deleted %q; want applied %+v, deleted %q", sched.applied, sched.deleted, tt.wantApplied, tt.wantDeleted)
			}
		})
	}
	t.Run("reconcile.json", func(t *testing.T) {
		tpl, err := triggers.ReadTemplate(sample.TemplatePath(t), sample.Stage)
		if err != nil {
			t.Fatal(err)
		}
		raw := sample.Read(t, "schedules/reconcile.json")
		if in := templateInput(tpl, "SchedulesFunction", "Reconcile"); !sameJSON(raw, in) {
			t.Errorf("reconcile.json is %s, the template's Reconcile schedule sends %s", raw, in)
		}
		rec := &countingReconciler{}
		out, err := (&Handler{Reconciler: rec}).Invoke(context.Background(), raw)
		if _, ok := out.(*policysync.Report); err != nil || !ok || rec.calls != 1 {
			t.Errorf("reconcile: %#v, %v after %d reconciles; want one reconcile's report", out, err, rec.calls)
		}
	})
}

// tableAfter is the Policies table as a batch leaves it: each policy as
// its last record wrote it (none after a REMOVE).
func tableAfter(t *testing.T, ev events.DynamoDBEvent) memPolicies {
	t.Helper()
	table := memPolicies{}
	for _, rec := range ev.Records {
		id := rec.Change.Keys[dynamo.Policies.PartitionKey.Name].String()
		if len(rec.Change.NewImage) == 0 {
			delete(table, id)
			continue
		}
		var p snapkeep.Policy
		if err := dynamo.UnmarshalStreamImage(rec.Change.NewImage, &p); err != nil {
			t.Fatalf("record %s: NewImage: %v", rec.EventID, err)
		}
		if len(rec.Change.OldImage) > 0 {
			var old snapkeep.Policy
			if err := dynamo.UnmarshalStreamImage(rec.Change.OldImage, &old); err != nil {
				t.Fatalf("record %s: OldImage: %v", rec.EventID, err)
			}
		}
		table[id] = p
	}
	return table
}

// templateInput is the Input of a function's ScheduleV2 event in the
// template ("" when there is none).
func templateInput(tpl *triggers.Template, function, event string) string {
	for _, s := range tpl.Schedules {
		if s.Function == function && s.Event == event {
			return s.Input
		}
	}
	return ""
}

// sameJSON says whether a and b are the same JSON value.
func sameJSON(a []byte, b string) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal([]byte(b), &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}

// countingReconciler is a reconcile that compares nothing and counts.
type countingReconciler struct{ calls int }

func (r *countingReconciler) Reconcile(context.Context) (*policysync.Report, error) {
	r.calls++
	return &policysync.Report{Started: time.Date(2026, 11, 24, 9, 15, 0, 0, time.UTC), Complete: true}, nil
}

// memPolicies is a Policies table of one moment, for the syncer.
type memPolicies map[string]snapkeep.Policy

func (m memPolicies) Get(_ context.Context, id string) (*snapkeep.Policy, error) {
	p, ok := m[id]
	if !ok {
		return nil, fmt.Errorf("get policy %q: %w", id, snapkeep.ErrNotFound)
	}
	return &p, nil
}

func (m memPolicies) MarkInvalid(_ context.Context, id, reason string) (bool, error) {
	return false, fmt.Errorf("mark policy %q invalid %q: unexpected in this test", id, reason)
}

// recSchedules records what the syncer asked of Scheduler.
type recSchedules struct {
	applied []policysync.ScheduleSpec
	deleted []string
}

func (r *recSchedules) Apply(_ context.Context, spec policysync.ScheduleSpec) (bool, error) {
	r.applied = append(r.applied, spec)
	return true, nil
}

func (r *recSchedules) Delete(_ context.Context, name string) (bool, error) {
	r.deleted = append(r.deleted, name)
	return true, nil
}

// TestEnvFile: events/env.json's SchedulesFunction settings load and are
// the ones the function reads.
func TestEnvFile(t *testing.T) {
	sample.CheckEnv(t, "SchedulesFunction", func(getenv func(string) string) error {
		_, err := loadSettings(getenv)
		return err
	})
}
