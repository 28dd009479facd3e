package main

import (
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/infra/local"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// notifyFilter is the NotifyFunction's FilterCriteria from template.yaml,
// compiled by infra/local (Lambda's matching rules).
func notifyFilter(t *testing.T) *local.Filter {
	t.Helper()
	srcs, err := local.Sources(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	src, err := local.FindSource(srcs, "NotifyFunction", "RunsStream")
	if err != nil {
		t.Fatal(err)
	}
	if len(src.Filters) == 0 {
		t.Fatal("NotifyFunction's RunsStream has no FilterCriteria: every run write would invoke it")
	}
	f, err := local.CompileFilter(src.Filters)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// The template's filter patterns against real stream records (moto): each
// write the run path and the function make, and whether Lambda hands it
// to the function.
func TestFilterPassesFailuresAndRecoveriesOnly(t *testing.T) {
	s := newStack(t, stackOptions{})
	f := notifyFilter(t)
	p := s.policy("web-1", "acme", "nyc3")
	at := func(h int) time.Time { return slot.Add(time.Duration(h) * time.Hour) }

	// Writes whose records are checked, in order; each returns nothing,
	// the records it made are read from the stream after it.
	type write struct {
		name string
		do   func()
		// pass lists, for each record the write makes, whether the filter
		// lets it through.
		pass []bool
	}
	var failed *snapkeep.Run
	writes := []write{
		{"claim and fail (in_progress, then failed)", func() {
			failed = s.finish(p, at(0), snapkeep.RunFailed, snapkeep.ClassProviderError, snapkeep.RunSucceeded)
		}, []bool{false, true}},
		{"claim and time out", func() { s.finish(p, at(1), snapkeep.RunTimedOut, snapkeep.ClassTimedOut, snapkeep.RunFailed) }, []bool{false, true}},
		{"failed at claim (INSERT)", func() { s.claimFailed(p, at(2)) }, []bool{true}},
		{"success after a success", func() { s.finish(p, at(3), snapkeep.RunSucceeded, "", snapkeep.RunSucceeded) }, []bool{false, false}},
		{"first success of a policy", func() { s.finish(p, at(4), snapkeep.RunSucceeded, "", "") }, []bool{false, false}},
		{"recovery after a failure", func() { s.finish(p, at(5), snapkeep.RunSucceeded, "", snapkeep.RunFailed) }, []bool{false, true}},
		{"recovery after a time-out", func() { s.finish(p, at(6), snapkeep.RunSucceeded, "", snapkeep.RunTimedOut) }, []bool{false, true}},
		{"skipped run", func() { s.finish(p, at(7), snapkeep.RunSkipped, "", snapkeep.RunFailed) }, []bool{false, false}},
		{"notify claims the email notice", func() { s.claimNotice(failed, snapkeep.ChannelEmail) }, []bool{false}},
		{"notify records it", func() { s.recordNotice(failed, snapkeep.ChannelEmail) }, []bool{false}},
		{"notify claims Slack only, on another failed run", func() { s.claimNotice(s.claimFailed(p, at(8)), snapkeep.ChannelSlack) }, []bool{true, false}},
		{"a late attempt appends calls to the failed run", func() { s.appendCalls(failed) }, []bool{false}},
		{"the failed run is deleted", func() { s.deleteRun(failed) }, []bool{false}},
	}
	s.env.StreamRecords(t, dynamoRuns) // start reading from here
	for _, w := range writes {
		w.do()
		recs := s.env.StreamRecords(t, dynamoRuns)
		if len(recs) != len(w.pass) {
			t.Errorf("%s: %d stream records, want %d", w.name, len(recs), len(w.pass))
			continue
		}
		for i, rec := range recs {
			ok, err := f.MatchRecord(rec)
			if err != nil || ok != w.pass[i] {
				t.Errorf("%s: record %d (%s %s → %s) passes %v (%v), want %v", w.name, i, rec.EventName,
					imageStatus(rec.Change.OldImage), imageStatus(rec.Change.NewImage), ok, err, w.pass[i])
			}
		}
	}
}

// A write that made a run terminal while carrying a notice already (none
// of the code does, but a hand edit could) is dropped too: the notices
// part of each pattern, on its own.
func TestFilterDropsImagesWithNotices(t *testing.T) {
	f := notifyFilter(t)
	str := events.NewStringAttribute
	notice := func(channel string) events.DynamoDBAttributeValue {
		return events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{
			channel: events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{"kind": str("failure"), "at": str("2026-11-24T02:31:00Z")}),
		})
	}
	rec := func(old, new string, extra map[string]events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
		r := events.DynamoDBEventRecord{EventName: "MODIFY", Change: events.DynamoDBStreamRecord{
			OldImage: map[string]events.DynamoDBAttributeValue{"status": str(old)},
			NewImage: map[string]events.DynamoDBAttributeValue{"status": str(new), "prev_status": str("failed")},
		}}
		for k, v := range extra {
			r.Change.NewImage[k] = v
		}
		return r
	}
	for _, tc := range []struct {
		name string
		rec  events.DynamoDBEventRecord
		want bool
	}{
		{"failed, no notices", rec("in_progress", "failed", nil), true},
		{"failed with an email notice", rec("in_progress", "failed", map[string]events.DynamoDBAttributeValue{"notices": notice("email")}), false},
		{"failed with a Slack notice", rec("claimed", "timed_out", map[string]events.DynamoDBAttributeValue{"notices": notice("slack")}), false},
		{"recovery with an email notice", rec("in_progress", "succeeded", map[string]events.DynamoDBAttributeValue{"notices": notice("email")}), false},
		{"recovery, no notices", rec("in_progress", "succeeded", nil), true},
		{"failed, an empty notices map", rec("in_progress", "failed", map[string]events.DynamoDBAttributeValue{"notices": events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{})}), true},
		{"failed after failed (a rewrite)", rec("failed", "failed", nil), false},
	} {
		if ok, err := f.MatchRecord(tc.rec); err != nil || ok != tc.want {
			t.Errorf("%s: passes %v (%v), want %v", tc.name, ok, err, tc.want)
		}
	}
}

// claimFailed writes a run that ends at its claim (an INSERT, failed
// invalid_policy), as the snapshot service does for a policy it cannot
// run.
func (s *stack) claimFailed(p *snapkeep.Policy, at time.Time) *snapkeep.Run {
	s.t.Helper()
	key := snapkeep.NewRunKey(p.PolicyID, at)
	fin := at.Add(time.Second)
	run := &snapkeep.Run{PolicyID: p.PolicyID, ScheduledAt: at, RunID: key.RunID(), CustomerID: p.CustomerID, AccountID: p.AccountID,
		Resource: p.Resource, ResourceKey: p.Resource.Key(), Trigger: snapkeep.TriggerScheduled, Status: snapkeep.RunFailed,
		ErrorClass: snapkeep.ClassInvalidPolicy, ErrorDetail: "schedule: fires every 5m", ClaimedAt: fin, FinishedAt: &fin,
		Deadline: at.Add(6 * time.Hour), UpdatedAt: fin, PrevStatus: snapkeep.RunSucceeded}
	if err := s.runs.Claim(s.ctx, run); err != nil {
		s.t.Fatal(err)
	}
	return run
}

func (s *stack) claimNotice(run *snapkeep.Run, channel string) {
	s.t.Helper()
	if _, ok, err := s.runs.ClaimNotice(s.ctx, run.Key(), channel, snapkeep.Notice{Kind: snapkeep.NoticeFailure, At: s.clock.Now()}, nil); err != nil || !ok {
		s.t.Fatalf("claim: %v, %v", ok, err)
	}
}

func (s *stack) recordNotice(run *snapkeep.Run, channel string) {
	s.t.Helper()
	if err := s.runs.RecordNotice(s.ctx, run.Key(), channel, s.clock.Now(), snapkeep.Notice{Kind: snapkeep.NoticeFailure, ID: "ses-1", At: s.clock.Now()}); err != nil {
		s.t.Fatal(err)
	}
}

func (s *stack) appendCalls(run *snapkeep.Run) {
	s.t.Helper()
	call := snapkeep.APICall{Operation: snapkeep.OpGetAction, Attempt: 1, Method: "GET", Path: "/v2/actions/1", StatusCode: 200, StartedAt: s.clock.Now()}
	if err := s.runs.AppendCalls(s.ctx, run.Key(), []snapkeep.APICall{call}); err != nil {
		s.t.Fatal(err)
	}
}

func (s *stack) deleteRun(run *snapkeep.Run) {
	s.t.Helper()
	_, err := s.env.DynamoDB.DeleteItem(s.ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.runs.Table), Key: map[string]types.AttributeValue{
		"policy_id":    &types.AttributeValueMemberS{Value: run.PolicyID},
		"scheduled_at": &types.AttributeValueMemberS{Value: run.ScheduledAt.UTC().Format(time.RFC3339Nano)},
	}})
	if err != nil {
		s.t.Fatal(err)
	}
}
