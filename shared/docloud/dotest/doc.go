// Package dotest is a fake of the DigitalOcean API v2, in the spirit of
// net/http/httptest: NewServer starts it on a loopback port for a test, and
// cmd/dofake serves the same fake standalone for the local demo.
//
// Use from a test:
//
//	clock := dotest.NewClock(start)
//	srv := dotest.NewServer(dotest.WithVirtualClock(clock))
//	defer srv.Close()
//	token := dotest.NewToken()
//	srv.AddToken(token)
//	srv.AddDroplet(dotest.Droplet{ID: 3164444, Disk: 25})
//	srv.MustAddFault(dotest.Fault{Kind: dotest.FaultEffectThenStatus, Operation: snapkeep.OpSnapshotDroplet, Count: 1})
//	client := docloud.New(token, docloud.WithBaseURL(srv.URL)) // or godo with godo.SetBaseURL
//	... // the first snapshot POST creates the action but answers 500
//	clock.Advance(25 * time.Minute) // the action completes, the snapshot is listed
//	srv.SnapshotPosts("droplet", "3164444") // how many POSTs the code under test made
//
// It speaks DigitalOcean's own JSON shapes and headers, as DigitalOcean's
// OpenAPI description (github.com/digitalocean/openapi) gives them and godo
// parses them into its structs, for the endpoints snapkeep uses:
//
//	POST   /v2/droplets/{id}/actions              {"type":"snapshot","name":...} -> 201 {"action":{...}}
//	GET    /v2/actions/{id}                       {"action":{...}}
//	GET    /v2/droplets/{id}/actions/{action_id}  {"action":{...}}
//	GET    /v2/droplets/{id}/actions              paged {"actions":[...]}, newest first
//	GET    /v2/droplets/{id}                      {"droplet":{...}}
//	GET    /v2/volumes/{id}                       {"volume":{...}}
//	GET    /v2/droplets/{id}/snapshots            paged {"snapshots":[images]} (integer ids)
//	GET    /v2/droplets/{id}/backups              paged {"backups":[images]}
//	GET    /v2/volumes/{id}/snapshots             paged {"snapshots":[...]}
//	POST   /v2/volumes/{id}/snapshots             {"name","tags"} -> 201 {"snapshot":{...}}
//	GET    /v2/snapshots?resource_type=droplet|volume  paged {"snapshots":[...]}
//	GET    /v2/snapshots/{id}, /v2/volumes/snapshots/{id}     {"snapshot":{...}}
//	DELETE /v2/snapshots/{id}, /v2/volumes/snapshots/{id}     204; 404 when absent
//	GET    /v2/account                            {"account":{...}} (SetAccount)
//
// A droplet's size object carries description ("Basic", "General
// Purpose"... by slug). A backup image asked for or deleted through
// /v2/snapshots/{id} answers 400 bad_request "the resource is not a
// snapshot" (MsgNotASnapshot) and stays, as DigitalOcean's description
// says; through /v2/volumes/snapshots/{id} it is 404.
//
// Each endpoint has an operation (Request.Operation, Fault.Operation):
// the domain's snapkeep.Operation where snapkeep names it
// (snapkeep.OpSnapshotDroplet, OpSnapshotVolume, OpGetAction,
// OpListActions, OpListSnapshots, OpDeleteSnapshot, OpGetAccount), else
// the fake's OpGetDroplet, OpGetVolume, OpGetSnapshot. A fault naming no
// endpoint's operation is refused; the former names "droplet_snapshot"
// and "volume_snapshot" still read as the domain's in JSON.
//
// Lists are paged with page and per_page (default 20, at most 200); links.pages
// carries absolute first/prev/next/last URLs on the fake's host and
// meta.total the count.
//
// Every answer carries content-type "application/json; charset=utf-8",
// date (on the injected clock), x-request-id (a random UUID) and
// ratelimit-limit, ratelimit-remaining and ratelimit-reset (Unix seconds,
// when the oldest request of the hour leaves the window). Every JSON error
// body is {"id","message","request_id"} with request_id equal to the
// x-request-id header:
//
//	401 unauthorized          Unable to authenticate you (unknown or revoked token)
//	403 forbidden             You are not authorized to perform this operation (write with a read-only token)
//	404 not_found             The resource you were accessing could not be found.
//	422 unprocessable_entity  Droplet already has a pending event. (another action in progress)
//	422 unprocessable_entity  MsgVolumeSnapshotLimit (a volume holds at most 25 snapshots; our wording)
//	400 bad_request           the resource is not a snapshot (a backup through /v2/snapshots/{id})
//	429 too_many_requests     API Rate limit exceeded. (see below)
//	500 server_error          Server Error
//	503 service_unavailable   Service is currently unavailable.
//
// Injected 502 and 504 answer, by default, an HTML page as the edge proxy
// (Cloudflare) in front of the API sends it, with content-type text/html
// and no request id in the body (the header still has one); Fault.Body
// chooses JSON or HTML for any status.
//
// Tokens: AddToken registers a read-write token, AddReadOnlyToken one
// without write scope; budgets are 5,000 requests an hour and 250 a minute
// per token (sliding windows; a refused request does not count). As at
// DigitalOcean, a request over the minute's budget (a burst) answers 429
// with ratelimit-remaining 0, the hourly ratelimit-reset (up to an hour
// ahead) and retry-after, the seconds until the minute has room; a request
// over the hour's answers 429 with ratelimit-remaining 0 and the reset, and
// no retry-after. An injected 429 (FaultStatus) is a burst 429.
//
// Actions: a droplet snapshot action is "in-progress" for
// Droplet.ActionDuration, else WithActionDuration, else one minute per GB of
// disk, then "completed" (the snapshot appears, after an optional listing
// lag) or "errored" (Droplet.ActionOutcome, or FaultActionErrored); a
// "stuck" one never finishes. While a droplet has an action in progress,
// a new snapshot POST answers 422 pending event. AddAction adds an action
// nobody POSTed (the customer's own, from before a test's run).
//
// Every duration is measured on the injected clock (WithClock,
// WithVirtualClock), so a test advances a Clock instead of sleeping. Only
// FaultLatency and FaultHang wait in real time, because the client's timeout
// does.
//
// New returns the fake as a plain http.Handler (no listener); FaultReset,
// FaultEffectThenReset and a hang cut short by Close need a real connection
// (they hijack it), so use NewServer or an http.Server for those.
//
// Faults (AddFault) hit requests by method, path pattern, operation, time
// window, rate (seeded rand) and count. Inspection: Requests (never the
// token), PostCounts, Snapshots, Deleted, Actions, State. The same over HTTP,
// without a token, for the standalone server and the demo runner:
//
//	GET    /_fake/state                   State
//	GET    /_fake/requests                []Request; DELETE forgets them
//	GET    /_fake/snapshots               []Snapshot; POST adds a foreign one (Snapshot JSON)
//	GET    /_fake/actions                 []Action
//	GET    /_fake/posts                   snapshot POSTs per resource {"droplet:1": 2}
//	GET    /_fake/faults                  []FaultState; POST adds one (Fault JSON) -> {"id":n}; DELETE clears all
//	DELETE /_fake/faults/{id}             removes one
//	POST   /_fake/droplets                adds or replaces a droplet (Droplet JSON)
//	DELETE /_fake/droplets/{id}           removes a droplet
//	POST   /_fake/volumes                 adds or replaces a volume (Volume JSON)
//	DELETE /_fake/volumes/{id}            removes a volume
//	GET    /_fake/clock                   {"now": ...}
//	POST   /_fake/clock                   {"advance":"10m"} or {"set":"2026-01-02T03:04:05Z"} (WithVirtualClock only)
//
// Admin JSON refuses unknown fields; durations are "90s" strings or numbers
// of seconds.
package dotest
