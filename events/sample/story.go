package sample

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/snapshot"
)

// The samples' fleet: the policies of Tuesday 24 November 2026 on the
// local stage, by id. Every flexible window is 15 minutes, so Scheduler
// delivers a slot up to 15 minutes late, and a late claim starts the
// run's slot window and deadline.
var fleet = map[string]snapkeep.Policy{
	"pol-acme-web-hourly":     policy("cust-acme", "acct-acme-main", droplet("3164444", "nyc3"), "cron(0 * * * ? *)", 24),
	"pol-acme-db-nightly":     policy("cust-acme", "acct-acme-main", volume("7f3c2a9e-8b41-11ef-9d2a-0a58ac14a1b2", "fra1"), "cron(0 2 * * ? *)", 14),
	"pol-globex-app-hourly":   policy("cust-globex", "acct-globex", droplet("3164511", "ams3"), "cron(0 * * * ? *)", 24),
	"pol-globex-cache-hourly": policy("cust-globex", "acct-globex", droplet("3164519", "ams3"), "cron(30 * * * ? *)", 24),
	"pol-initech-files":       policy("cust-initech", "acct-initech", volume("5c1e0b7a-9f2d-11ef-8e3b-0a58ac14b3c4", "sfo3"), "cron(30 6 * * ? *)", 7),
	"pol-initech-db":          policy("cust-initech", "acct-initech", droplet("3175512", "sfo3"), "cron(30 1 * * ? *)", 7),
	"pol-initech-web":         policy("cust-initech", "acct-initech", droplet("3175601", "sfo3"), "cron(0 * * * ? *)", 24),
	"pol-hooli-api":           policy("cust-hooli", "acct-hooli", droplet("3170022", "nyc3"), "cron(30 * * * ? *)", 48),
	"pol-wayne-legacy":        policy("cust-wayne", "acct-wayne", droplet("2890117", "sfo3"), "cron(30 0 * * ? *)", 7),
	"pol-umbrella-web":        policy("cust-umbrella", "acct-umbrella", droplet("3171890", "fra1"), "cron(30 6 * * ? *)", 7),
	"pol-vance-files":         policy("cust-vance", "acct-vance", droplet("3172030", "nyc1"), "cron(30 6 * * ? *)", 7),
	"pol-dunder-files":        policy("cust-dunder", "acct-dunder", droplet("3172277", "nyc1"), "cron(30 7 * * ? *)", 7),
	"pol-stark-vol":           policy("cust-stark", "acct-stark", volume("0c9d4e5f-a1b2-11ef-b3c4-0a58ac14c5d6", "lon1"), "cron(30 7 * * ? *)", 10),
}

func policy(customer, account string, res snapkeep.Resource, schedule string, keep int) snapkeep.Policy {
	return snapkeep.Policy{CustomerID: customer, AccountID: account, Resource: res, Schedule: schedule,
		Retention: snapkeep.Retention{KeepLast: keep}, Enabled: true, FlexibleWindowMinutes: 15}
}

func droplet(id, region string) snapkeep.Resource {
	return snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: id, Region: region}
}

func volume(id, region string) snapkeep.Resource {
	return snapkeep.Resource{Kind: snapkeep.ResourceVolume, ID: id, Region: region}
}

// Policy is a policy of the samples' fleet.
func Policy(id string) *snapkeep.Policy {
	p, ok := fleet[id]
	if !ok {
		panic("sample: no policy " + id)
	}
	p.PolicyID = id
	return &p
}

// DigitalOcean's answers the samples use.
var (
	// ServerError is a 500: provider_error, retried.
	ServerError = Answer{Status: http.StatusInternalServerError, ErrorID: "server_error", Message: "Server Error"}
	// RateLimited is a 429: rate_limited, retried.
	RateLimited = Answer{Status: http.StatusTooManyRequests, ErrorID: "too_many_requests", Message: "API Rate limit exceeded."}
	// NotFound is a 404: resource_missing, not retried.
	NotFound = Answer{Status: http.StatusNotFound, ErrorID: "not_found", Message: "The resource you were accessing could not be found."}
	// Unauthorized is a 401: auth_revoked, not retried.
	Unauthorized = Answer{Status: http.StatusUnauthorized, ErrorID: "unauthorized", Message: "Unable to authenticate you"}
)

// Answer is how DigitalOcean answered a request.
type Answer struct {
	Status           int
	ErrorID, Message string
}

// call is a request of the run's at at, answered by a, taking took.
func (l *Life) call(op snapkeep.Operation, attempt int, method, path string, at time.Time, took time.Duration, a Answer) snapkeep.APICall {
	l.budget--
	left := 4980 + l.budget%17
	if a.Status == http.StatusTooManyRequests {
		left = 0 // the token's budget is spent
	}
	return Call{Op: op, Attempt: attempt, Method: method, Path: path, At: at, Took: took, Status: a.Status,
		ErrorID: a.ErrorID, Message: a.Message, Remaining: left}.Row()
}

// Get is a GET of the run's, answered 200.
func (l *Life) Get(op snapkeep.Operation, path string, at time.Time, took time.Duration) snapkeep.APICall {
	return l.call(op, 1, http.MethodGet, path, at, took, Answer{Status: http.StatusOK})
}

// Delete is the DELETE of one of the resource's snapshots, answered 204.
func (l *Life) Delete(snapshotID string, at time.Time) snapkeep.APICall {
	return l.call(snapkeep.OpDeleteSnapshot, 1, http.MethodDelete, SnapshotPath(snapshotID), at, 212*time.Millisecond, Answer{Status: http.StatusNoContent})
}

// Post is the run's next snapshot request, sent at at and answered by a
// after took (a zero Answer is the request's success: 201).
func (l *Life) Post(at time.Time, took time.Duration, a Answer) snapkeep.APICall {
	if a.Status == 0 {
		a.Status = http.StatusCreated
	}
	l.Run.Attempts++
	if l.Run.Kind == snapkeep.ResourceVolume {
		return l.call(snapkeep.OpSnapshotVolume, l.Run.Attempts, http.MethodPost, VolumeSnapshotsPath(l.Run.ID, false), at, took, a)
	}
	return l.call(snapkeep.OpSnapshotDroplet, l.Run.Attempts, http.MethodPost, DropletActionsPath(l.Run.ID), at, took, a)
}

// list is the first page of the resource's snapshots, answered 200.
func (l *Life) list(at time.Time) snapkeep.APICall {
	path := DropletSnapshotsPath(l.Run.ID)
	if l.Run.Kind == snapkeep.ResourceVolume {
		path = VolumeSnapshotsPath(l.Run.ID, true)
	}
	return l.Get(snapkeep.OpListSnapshots, path, at, 318*time.Millisecond)
}

// windowEnd is the end of the run's slot window.
func (l *Life) windowEnd() time.Time {
	start := l.Run.ScheduledAt
	if l.Run.ClaimedAt.After(start) {
		start = l.Run.ClaimedAt
	}
	return start.Add(SlotWindow)
}

// FailRetrying makes the run's snapshot requests from first on, each
// answered by a (a retried failure), until the run fails because the next
// would be past its slot window. It returns when it failed.
func (l *Life) FailRetrying(first time.Time, a Answer) time.Time {
	at := first
	for {
		end, failed := l.Attempt(at, a)
		if failed {
			return end
		}
		at = l.Run.NextCheckAt.Add(212 * time.Millisecond)
	}
}

// Attempt makes the run's next snapshot request at at, answered by a (a
// retried failure), as shared/snapshot does: before a repeat, a request
// lease and a look for an earlier snapshot (and, after an uncertain
// request, the droplet's actions); after it, a wait of the backoff, or
// the run fails when that would be past its slot window. It returns the
// time of its last write and whether the run failed.
func (l *Life) Attempt(at time.Time, a Answer) (time.Time, bool) {
	var calls []snapkeep.APICall
	if l.Run.Attempts > 0 {
		l.Lease(snapkeep.LeaseRequest, at)
		l.Save(at)
		at = at.Add(41 * time.Millisecond)
		calls = append(calls, l.list(at))
		at = at.Add(330 * time.Millisecond)
		if l.Run.RequestUncertain && l.Run.Kind == snapkeep.ResourceDroplet {
			calls = append(calls, l.Get(snapkeep.OpListActions, "/v2/droplets/"+l.Run.ID+"/actions?page=1&per_page=200", at, 205*time.Millisecond))
			at = at.Add(214 * time.Millisecond)
		}
	}
	c := l.Post(at, 1180*time.Millisecond, a)
	calls = append(calls, c)
	at = at.Add(1195 * time.Millisecond)
	detail := requestDetail(l.Run.Kind, c)
	next := at.Add(snapshot.PostBackoff(l.Run.Attempts))
	failed := next.After(l.windowEnd())
	if failed {
		detail += " (still failing at the end of the retry window)"
	}
	l.Retrying(c, detail, next)
	if failed {
		l.Terminate(at, snapkeep.RunFailed, c.Class, l.Run.ErrorDetail)
	}
	l.Save(at, calls...)
	return at, failed
}

// FailNow makes the run's first snapshot request at at, answered by a
// (a failure that is not retried): the run fails at once.
func (l *Life) FailNow(at time.Time, a Answer) time.Time {
	c := l.Post(at, 143*time.Millisecond, a)
	at = at.Add(151 * time.Millisecond)
	l.Note(c, requestDetail(l.Run.Kind, c))
	l.Terminate(at, snapkeep.RunFailed, c.Class, l.Run.ErrorDetail)
	l.Save(at, c)
	return at
}

// requestDetail is the run's account of a failed snapshot request, as
// shared/snapshot words it: what it did, and DigitalOcean's answer.
func requestDetail(kind snapkeep.ResourceKind, c snapkeep.APICall) string {
	e := &snapkeep.ProviderError{Class: c.Class, StatusCode: c.StatusCode, ErrorID: c.ErrorID, Message: c.ErrorMessage, RequestID: c.ProviderRequestID}
	return "request the " + string(kind) + " snapshot: " + e.Error()
}

// StartDroplet makes the droplet's snapshot request at at, accepted
// (action), and stores the run in progress.
func (l *Life) StartDroplet(at time.Time, action int64) time.Time {
	c := l.Post(at, 412*time.Millisecond, Answer{})
	at = at.Add(430 * time.Millisecond)
	l.Requested(at, action, at.Add(snapshot.CheckDelay(0, time.Duration(l.Run.ExpectedActionSeconds)*time.Second)))
	l.Save(at, c)
	return at
}

// SnapshotVolume makes the volume's snapshot (synchronous at
// DigitalOcean) at at, lists the volume's snapshots and deletes what
// retention lets go: the run succeeds. It returns when.
func (l *Life) SnapshotVolume(at time.Time, snapshotID string, kept int, deleted ...string) time.Time {
	calls := []snapkeep.APICall{l.Post(at, 1840*time.Millisecond, Answer{})}
	at = at.Add(1870 * time.Millisecond)
	started := at.Truncate(time.Second)
	l.Run.StartedAt, l.Run.Status = &started, snapkeep.RunInProgress
	calls = append(calls, l.list(at))
	at = at.Add(340 * time.Millisecond)
	for _, id := range deleted {
		calls = append(calls, l.Delete(id, at))
		at = at.Add(220 * time.Millisecond)
	}
	l.Succeed(at, at, snapshotID, kept, deleted...)
	l.Save(at, calls...)
	return at
}

// Follow follows the run's action from its next check on, as the
// follow-ups do: a check lease, the action's GET, the next check after
// snapshot.CheckDelay. An action that completes (at completes; zero: never) is
// found by listing, retention deletes what it lets go and the run
// succeeds; one still running at the deadline ends timed_out. It returns
// the time of the run's last write.
func (l *Life) Follow(completes time.Time, snapshotID string, kept int, deleted ...string) time.Time {
	for {
		at := l.Run.NextCheckAt.Add(187 * time.Millisecond)
		l.Lease(snapkeep.LeaseCheck, at)
		l.Save(at)
		at = at.Add(44 * time.Millisecond)
		calls := []snapkeep.APICall{l.Get(snapkeep.OpGetAction, ActionPath(l.Run.ActionID), at, 163*time.Millisecond)}
		at = at.Add(171 * time.Millisecond)
		switch {
		case !completes.IsZero() && !at.Before(completes):
			calls = append(calls, l.list(at))
			at = at.Add(340 * time.Millisecond)
			for _, id := range deleted {
				calls = append(calls, l.Delete(id, at))
				at = at.Add(220 * time.Millisecond)
			}
			l.Succeed(at, completes, snapshotID, kept, deleted...)
		case !at.Before(l.Run.Deadline):
			l.Terminate(at, snapkeep.RunTimedOut, snapkeep.ClassTimedOut, fmt.Sprintf("snapshot action %d still in-progress at the deadline %s",
				l.Run.ActionID, l.Run.Deadline.UTC().Format(time.RFC3339)))
		default:
			started := l.Run.ClaimedAt
			if l.Run.StartedAt != nil {
				started = *l.Run.StartedAt
			}
			l.Wait(at.Add(snapshot.CheckDelay(at.Sub(started), time.Duration(l.Run.ExpectedActionSeconds)*time.Second)))
			l.Save(at, calls...)
			continue
		}
		l.Save(at, calls...)
		return at
	}
}

// Skip stores the claim of a paused policy's slot: skipped at once.
func (f *Fleet) Skip(p *snapkeep.Policy, slot, at time.Time) *Life {
	f.t.Helper()
	return f.claim(p, slot, at, func(l *Life) { l.Terminate(at, snapkeep.RunSkipped, "", "the policy is disabled") })
}

// SnapshotID is a droplet snapshot's id as DigitalOcean numbers them.
func SnapshotID(n int) string { return strconv.Itoa(171104000 + n) }
