package notice

import (
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// The fixtures are the messages' realistic case: customer Acme's policy
// "web-1" backs up droplet 3164444 in nyc3 every night at 03:00 Berlin
// time; the slot of Tuesday 24 November 2026 failed.

var (
	slot     = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC) // 03:00 CET
	finished = slot.Add(30*time.Minute + 12*time.Second)
	now      = finished.Add(3 * time.Second)
)

func testLinks() Links { return Links{AppURL: "https://app.snapkeep.example"} }

func newRenderer(t testing.TB) *Renderer {
	t.Helper()
	r, err := New(testLinks())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func customer() *snapkeep.Customer {
	return &snapkeep.Customer{
		CustomerID: "cust-acme", Name: "Acme Analytics GmbH", Email: "ops@acme.example",
		NotificationMode: snapkeep.NotifyEveryFailure, PreferencesToken: "pt_7Kq2mZx9Vb4LwRn8cT3yHs",
	}
}

func policy() *snapkeep.Policy {
	return &snapkeep.Policy{
		PolicyID: "web-1", CustomerID: "cust-acme", AccountID: "acct-acme",
		Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "3164444", Region: "nyc3"},
		Schedule: "cron(0 3 * * ? *)", TimeZone: "Europe/Berlin",
		Retention: snapkeep.Retention{KeepLast: 7}, Enabled: true,
		CreatedAt: time.Date(2026, 3, 2, 9, 14, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC),
	}
}

func volumePolicy() *snapkeep.Policy {
	p := policy()
	p.PolicyID = "db-data"
	p.Resource = snapkeep.Resource{Kind: snapkeep.ResourceVolume, ID: "506f78a4-e098-11e5-ad9f-000f53306ae1", Region: "nyc3"}
	p.Schedule, p.KeepLast = "cron(30 1 * * ? *)", 24
	return p
}

func tp(t time.Time) *time.Time { return &t }

// failedRun returns web-1's failed run of slot for class c, with what
// DigitalOcean really answers for it.
func failedRun(c snapkeep.ErrorClass) *snapkeep.Run {
	key := snapkeep.NewRunKey("web-1", slot)
	r := &snapkeep.Run{
		PolicyID: "web-1", ScheduledAt: slot, RunID: key.RunID(), CustomerID: "cust-acme",
		AccountID: "acct-acme", ResourceKey: "droplet:3164444",
		Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "3164444", Region: "nyc3"},
		Trigger:  snapkeep.TriggerScheduled, Status: snapkeep.RunFailed, ErrorClass: c,
		Attempts: 1, APICalls: 2, ClaimedAt: slot.Add(4 * time.Second), FinishedAt: tp(finished),
		Deadline: slot.Add(6 * time.Hour), UpdatedAt: finished,
	}
	set := func(status int, id, msg, req string) {
		r.HTTPStatus, r.ProviderErrorID, r.ProviderMessage, r.ProviderRequestID = status, id, msg, req
	}
	switch c {
	case snapkeep.ClassProviderError:
		set(500, "server_error", "Server Error", "d3a5c4e2-7f1b-4c8e-9a2d-5b6e1f0c3a47")
		r.Attempts, r.APICalls, r.ErrorDetail = 4, 9, "POST /v2/droplets/3164444/actions: 500 server_error"
	case snapkeep.ClassRateLimited:
		set(429, "too_many_requests", "API Rate limit exceeded.", "8f0e2b7c-1d4a-4e59-b3c6-2a9d7e5f1b08")
		r.Attempts = 3
	case snapkeep.ClassResourceBusy:
		set(422, "unprocessable_entity", "Droplet already has a pending event.", "4b1c9e3a-6d2f-4a87-9c5e-0f7b3d2a1e64")
		r.Attempts = 5
	case snapkeep.ClassAuthRevoked:
		set(401, "unauthorized", "Unable to authenticate you", "a7d2e9f1-3b6c-4d08-8e5a-1c4f7b2d9e30")
	case snapkeep.ClassResourceMissing:
		set(404, "not_found", "The resource you were accessing could not be found.", "c9e4a1b7-5f2d-4c63-a8b0-3e6d1f9a2c75")
	case snapkeep.ClassQuotaExceeded:
		set(422, "unprocessable_entity", "You have reached the maximum number of snapshots.", "e2f7b3c8-9a1d-4e56-b7c4-8d0a3f6e1b29")
	case snapkeep.ClassActionErrored:
		r.ActionID, r.StartedAt, r.Attempts = 2364587129, tp(slot.Add(6*time.Second)), 3
		r.ProviderRequestID = "f1a8c3d6-2e7b-4f94-a05c-7b3e9d1f4a82"
	case snapkeep.ClassTimedOut:
		r.Status, r.ActionID, r.StartedAt = snapkeep.RunTimedOut, 2364587131, tp(slot.Add(5*time.Second))
		r.FinishedAt = tp(slot.Add(6*time.Hour + 40*time.Second))
	case snapkeep.ClassNetwork:
		r.Attempts, r.ErrorDetail = 4, "Post \"https://api.digitalocean.com/v2/droplets/3164444/actions\": dial tcp 104.16.182.15:443: i/o timeout"
	case snapkeep.ClassInvalidPolicy:
		r.ErrorDetail = `policy "web-1": schedule: cron "0 3 * * 8 *": field day-of-week: 8 is out of range 1-7 (1 = SUN ... 7 = SAT)`
	case snapkeep.ClassInternal:
		r.ErrorDetail = "save run web-1#2026-11-24T02:00:00Z: ProvisionedThroughputExceededException"
	}
	return r
}

// policyFor returns web-1's policy as it stands after a failure of class c.
func policyFor(c snapkeep.ErrorClass) *snapkeep.Policy {
	p := policy()
	if c == snapkeep.ClassInvalidPolicy {
		p.Schedule = "cron(0 3 * * 8 *)"
		p.InvalidReason = `schedule: cron "0 3 * * 8 *": field day-of-week: 8 is out of range 1-7 (1 = SUN ... 7 = SAT)`
	}
	return p
}

// openIncident is DigitalOcean's incident on droplet snapshots that began
// at 02:10 Berlin time.
func openIncident() *snapkeep.Incident {
	return &snapkeep.Incident{
		IncidentID: "provider_error#operation:snapshot_droplet#2026-11-24T01:10Z",
		Kind:       snapkeep.IncidentProvider, Dimension: snapkeep.OperationDimension(snapkeep.OpSnapshotDroplet),
		Class: snapkeep.ClassProviderError, State: snapkeep.IncidentFiring, OpenState: snapkeep.OpenIncident,
		StartedAt: time.Date(2026, 11, 24, 1, 10, 0, 0, time.UTC), OpenedAt: time.Date(2026, 11, 24, 1, 41, 0, 0, time.UTC),
		Detector: "cusum", BaselineRate: 0.0004, Rate: 0.0153, PeakRate: 0.027, Calls: 48213, Failures: 738,
		AffectedAccounts: 187, AffectedResources: 611, FailedRuns: 402, AffectedCustomers: 164,
		UpdatedAt: now,
	}
}

func resolvedIncident() *snapkeep.Incident {
	inc := openIncident()
	inc.State, inc.OpenState = snapkeep.IncidentResolved, ""
	inc.ResolvedAt = tp(time.Date(2026, 11, 24, 13, 25, 0, 0, time.UTC))
	inc.Rate, inc.Calls, inc.Failures, inc.FailedRuns, inc.AffectedCustomers = 0.0141, 231904, 3270, 1288, 342
	return inc
}
