package sample

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/snapshot"
)

// The run path's timings on the stack (template.yaml's defaults and
// shared/snapshot's).
const (
	// Deadline is RunDeadlineHours: an unfinished run ends timed_out then.
	Deadline = 6 * time.Hour
	// SlotWindow is SlotWindowMinutes: transient failures are retried
	// within it.
	SlotWindow = 30 * time.Minute
	// RequestLease and CheckLease are how long an attempt owns a run.
	RequestLease = 6 * time.Minute
	CheckLease   = 5 * time.Minute
	// CallTTL is ApiCallRetentionDays (the rows' expires_at).
	CallTTL = 90 * 24 * time.Hour
	// WriteLatency is how long after the run path reads its clock a write
	// lands (and is stamped in the stream).
	WriteLatency = 38 * time.Millisecond
)

// Fleet writes runs and their DigitalOcean calls as the run path
// (shared/snapshot) does, through the real dynamo.RunStore, into Tables.
type Fleet struct {
	t    testing.TB
	T    *Tables
	Runs *dynamo.RunStore
}

// NewFleet writes into tables; a failed write fails t.
func NewFleet(t testing.TB, tables *Tables) *Fleet {
	return &Fleet{t: t, T: tables, Runs: &dynamo.RunStore{Client: tables, Table: TableName("RunsTable"),
		CallsTable: TableName("ApiCallsTable"), LeasesTable: TableName("LeasesTable"), Now: tables.Clock}}
}

// Life is one run as the run path keeps it: change Run (the helpers do
// what shared/snapshot does), then Save it with the calls made since.
type Life struct {
	// Run is the working copy.
	Run  snapkeep.Run
	f    *Fleet
	prev *snapkeep.Run
	// budget counts down the token's requests (ratelimit-remaining).
	budget int
}

// Claim stores the claim of p's slot made at at, holding the request
// lease, with what the run path notes of the policy's previous run (its
// status, how long its snapshot took): the run's INSERT.
func (f *Fleet) Claim(p *snapkeep.Policy, slot, at time.Time, prev snapkeep.RunStatus, expectedSeconds int) *Life {
	f.t.Helper()
	return f.claim(p, slot, at, func(l *Life) {
		l.Run.PrevStatus, l.Run.ExpectedActionSeconds = prev, expectedSeconds
		l.Lease(snapkeep.LeaseRequest, at)
	})
}

// claim stores the claim of p's slot made at at, as prepare leaves it.
func (f *Fleet) claim(p *snapkeep.Policy, slot, at time.Time, prepare func(*Life)) *Life {
	f.t.Helper()
	key := snapkeep.NewRunKey(p.PolicyID, slot)
	start := key.ScheduledAt // a late delivery starts the window and the deadline
	if at.After(start) {
		start = at.Truncate(time.Second)
	}
	l := &Life{f: f, budget: 4999, Run: snapkeep.Run{
		PolicyID: key.PolicyID, ScheduledAt: key.ScheduledAt, RunID: key.RunID(),
		CustomerID: p.CustomerID, AccountID: p.AccountID, Resource: p.Resource, ResourceKey: p.Resource.Key(),
		Trigger: snapkeep.TriggerScheduled, Status: snapkeep.RunClaimed, SnapshotName: snapshot.SnapshotName(key),
		ClaimedAt: at.Truncate(time.Second), Deadline: start.Add(Deadline), UpdatedAt: at.UTC(),
	}}
	prepare(l)
	f.T.Now = at.Add(WriteLatency)
	run := l.Run
	if err := f.Runs.Claim(context.Background(), &run); err != nil {
		f.t.Fatalf("claim %s: %v", key, err)
	}
	l.prev, l.Run = &run, run
	return l
}

// Lease makes the attempt at at own the run for purpose.
func (l *Life) Lease(purpose snapkeep.LeasePurpose, at time.Time) {
	d := RequestLease
	if purpose == snapkeep.LeaseCheck {
		d = CheckLease
	}
	l.Run.Hold(purpose, at.Add(d))
}

// Wait leaves the run unfinished, to be checked again at next (never
// after the deadline), and releases the lease.
func (l *Life) Wait(next time.Time) {
	if next.After(l.Run.Deadline) {
		next = l.Run.Deadline
	}
	l.Run.Await(next)
}

// Requested records the accepted snapshot request of a droplet (action
// id): the run is in progress, to be checked at check.
func (l *Life) Requested(at time.Time, action int64, check time.Time) {
	started := at.Truncate(time.Second)
	l.Run.ActionID, l.Run.Status, l.Run.StartedAt = action, snapkeep.RunInProgress, &started
	l.Settled()
	l.Wait(check)
}

// Retrying records a transient failure answered by call (retried later,
// at next): its class, DigitalOcean's answer and detail.
func (l *Life) Retrying(call snapkeep.APICall, detail string, next time.Time) {
	l.Note(call, detail)
	l.Run.RetryClass = call.Class
	posted := call.Operation == snapkeep.OpSnapshotDroplet || call.Operation == snapkeep.OpSnapshotVolume
	if posted && (call.Class == snapkeep.ClassProviderError || call.Class == snapkeep.ClassNetwork) {
		l.Run.RequestUncertain = true
		l.Run.Requests = append(l.Run.Requests, snapkeep.RequestWindow{From: call.StartedAt,
			To: call.StartedAt.Add(time.Duration(call.DurationMS) * time.Millisecond)})
	}
	l.Wait(next)
}

// Note records DigitalOcean's answer of a failure on the run.
func (l *Life) Note(call snapkeep.APICall, detail string) {
	l.Run.ErrorDetail = detail
	l.Run.HTTPStatus = call.StatusCode
	l.Run.ProviderErrorID, l.Run.ProviderMessage, l.Run.ProviderRequestID = call.ErrorID, call.ErrorMessage, call.ProviderRequestID
}

// Settled forgets the failures of the request: it was answered.
func (l *Life) Settled() {
	l.Run.ErrorDetail, l.Run.HTTPStatus, l.Run.ProviderErrorID, l.Run.ProviderMessage, l.Run.ProviderRequestID = "", 0, "", "", ""
	l.Run.RetryClass, l.Run.StepFailures, l.Run.StepError = "", 0, ""
	l.Run.RequestUncertain, l.Run.Requests = false, nil
}

// Terminate makes the run terminal at at, as shared/snapshot does.
func (l *Life) Terminate(at time.Time, status snapkeep.RunStatus, class snapkeep.ErrorClass, detail string) {
	fin := at.Truncate(time.Second).UTC()
	r := &l.Run
	r.Status, r.FinishedAt = status, &fin
	r.Unfinished, r.NextCheckAt, r.LeaseUntil, r.LeaseFor, r.RetryClass, r.StepError = "", nil, nil, "", "", ""
	r.ErrorClass = ""
	if status == snapkeep.RunFailed || status == snapkeep.RunTimedOut {
		r.ErrorClass = class
	}
	r.ErrorDetail = detail
}

// Succeed makes the run succeeded at at with its snapshot (its action
// completed at completed) and what retention kept and deleted.
func (l *Life) Succeed(at, completed time.Time, snapshotID string, kept int, deleted ...string) {
	l.Settled()
	if l.Run.StartedAt != nil && completed.After(*l.Run.StartedAt) {
		l.Run.ActionSeconds = int(completed.Sub(*l.Run.StartedAt).Seconds())
	}
	l.Run.ActionCompletedAt, l.Run.Adopted, l.Run.SnapshotID = nil, false, snapshotID
	l.Run.Retention = &snapkeep.RetentionResult{Kept: kept, Deleted: deleted}
	l.Terminate(at, snapkeep.RunSucceeded, "", "")
}

// Save writes the working copy at at (its updated_at) with the calls made
// since the last write, stamped as the run's recorder stamps them.
func (l *Life) Save(at time.Time, calls ...snapkeep.APICall) {
	l.f.t.Helper()
	next := l.Run
	next.UpdatedAt = at.UTC()
	for i := range calls {
		c := &calls[i]
		c.RunID, c.PolicyID, c.ResourceKey, c.Region, c.AccountID = l.Run.RunID, l.Run.PolicyID, l.Run.ResourceKey, l.Run.Region, l.Run.AccountID
		c.ExpiresAt = c.StartedAt.Add(CallTTL).Unix()
	}
	l.f.T.Now = at.Add(WriteLatency)
	if err := l.f.Runs.Save(context.Background(), l.prev, &next, calls); err != nil {
		l.f.t.Fatalf("save run %s at %s: %v", l.Run.RunID, at.Format(time.RFC3339Nano), err)
	}
	l.prev, l.Run = &next, next
}

// Godo is the godo version the client sends in its user agent (go.mod's).
const Godo = "godo/1.236.0"

// Call is one HTTP attempt to DigitalOcean as shared/docloud records it,
// before the run's recorder stamps it (Life.Save does).
type Call struct {
	// Op and Attempt are the operation and the attempt's number.
	Op      snapkeep.Operation
	Attempt int
	// Method and Path are the request's (the path with its query).
	Method, Path string
	// At is when it was sent, Took how long the answer took.
	At   time.Time
	Took time.Duration
	// Status is the answer's; ErrorID and Message DigitalOcean's error
	// body ("" for a success).
	Status           int
	ErrorID, Message string
	// Remaining is the token's budget left (ratelimit-remaining).
	Remaining int
}

// Row is the call as its ApiCalls row holds it: the headers godo sent
// (the token redacted) and DigitalOcean's answer, its class by the one
// status rule.
func (c Call) Row() snapkeep.APICall {
	if c.Attempt == 0 {
		c.Attempt = 1
	}
	answered := c.At.Add(c.Took / 2).UTC()
	reqID := UUID(c.Method, c.Path, c.At.Format(time.RFC3339Nano))
	resp := map[string]string{
		"cache-control":             "max-age=0, private, must-revalidate",
		"cf-cache-status":           "DYNAMIC",
		"cf-ray":                    hash(reqID)[:16] + "-EWR",
		"date":                      answered.Format(http.TimeFormat),
		"ratelimit-limit":           "5000",
		"ratelimit-remaining":       strconv.Itoa(c.Remaining),
		"ratelimit-reset":           strconv.FormatInt(c.At.Add(time.Hour).Truncate(time.Minute).Unix(), 10),
		"server":                    "cloudflare",
		"strict-transport-security": "max-age=31536000; includeSubDomains",
		"vary":                      "Accept-Encoding",
		"x-content-type-options":    "nosniff",
		"x-frame-options":           "SAMEORIGIN",
		"x-request-id":              reqID,
	}
	if c.Status != http.StatusNoContent {
		resp["content-type"] = "application/json; charset=utf-8"
	}
	row := snapkeep.APICall{
		Host: "api.digitalocean.com", Operation: c.Op, Attempt: c.Attempt, Method: c.Method, Path: c.Path,
		RequestHeaders: map[string]string{
			"accept": "application/json", "authorization": snapkeep.Redacted,
			"content-type": "application/json", "user-agent": "snapkeep/1.0 " + Godo,
		},
		StatusCode: c.Status, ResponseHeaders: resp, StartedAt: c.At.UTC(), DurationMS: c.Took.Milliseconds(),
		ProviderRequestID: reqID, ErrorID: c.ErrorID, ErrorMessage: c.Message,
		Class: snapkeep.ClassOfStatus(c.Status, c.Message),
	}
	if row.Class != "" {
		row.FailureHour = row.StartedAt.Format(snapkeep.FailureHourFormat)
	}
	return row
}

// DropletActionsPath is where a droplet's snapshot is requested (POST).
func DropletActionsPath(id string) string { return "/v2/droplets/" + id + "/actions" }

// ActionPath is one action (GET).
func ActionPath(id int64) string { return fmt.Sprintf("/v2/actions/%d", id) }

// DropletSnapshotsPath is the first page of a droplet's snapshots.
func DropletSnapshotsPath(id string) string {
	return "/v2/droplets/" + id + "/snapshots?page=1&per_page=200"
}

// VolumeSnapshotsPath is where a volume's snapshot is made (POST), or with
// list the first page of its snapshots.
func VolumeSnapshotsPath(id string, list bool) string {
	if list {
		return "/v2/volumes/" + id + "/snapshots?page=1&per_page=200"
	}
	return "/v2/volumes/" + id + "/snapshots"
}

// SnapshotPath is one snapshot (DELETE).
func SnapshotPath(id string) string { return "/v2/snapshots/" + id }
