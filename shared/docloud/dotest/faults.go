package dotest

import (
	"encoding/json"
	"fmt"
	"path"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// FaultKind says what a fault does to a request it hits.
type FaultKind string

// Fault kinds.
const (
	// FaultStatus answers Status (500 by default; 502, 503, 504, 429, 422 or
	// any other) without doing anything. See Fault.Body for the body.
	FaultStatus FaultKind = "status"
	// FaultLatency waits Delay (real time, not the injected clock) before
	// handling the request normally; if the client gives up first nothing
	// is done.
	FaultLatency FaultKind = "latency"
	// FaultReset closes the connection without answering; nothing is done.
	FaultReset FaultKind = "reset"
	// FaultHang never answers, until the client gives up (or the server is
	// closed); nothing is done.
	FaultHang FaultKind = "hang"
	// FaultMalformed handles the request (the effect happens) and answers
	// its real status (200, 201...) with a truncated, invalid JSON body.
	FaultMalformed FaultKind = "malformed"
	// FaultEffectThenStatus handles the request (the action or snapshot IS
	// created) and then answers Status (default 500 server_error) instead.
	FaultEffectThenStatus FaultKind = "effect_then_status"
	// FaultEffectThenReset handles the request (the action or snapshot IS
	// created) and then closes the connection without answering.
	FaultEffectThenReset FaultKind = "effect_then_reset"
	// FaultActionErrored lets the snapshot POST succeed but the action it
	// creates ends "errored". Only hits snapkeep.OpSnapshotDroplet requests.
	FaultActionErrored FaultKind = "action_errored"
	// FaultActionStuck lets the snapshot POST succeed but the action it
	// creates stays "in-progress" forever. Only hits snapkeep.OpSnapshotDroplet.
	FaultActionStuck FaultKind = "action_stuck"
	// FaultListingLag lets the snapshot POST succeed but the snapshot stays
	// out of listings for Delay after the action completes. Only hits
	// snapkeep.OpSnapshotDroplet.
	FaultListingLag FaultKind = "listing_lag"
)

// Fault body styles for FaultStatus and FaultEffectThenStatus.
const (
	// BodyJSON is DigitalOcean's JSON error body {"id","message","request_id"}.
	BodyJSON = "json"
	// BodyHTML is an HTML error page as an edge proxy (Cloudflare) sends it,
	// with content-type text/html.
	BodyHTML = "html"
)

// Operations, usable in Fault.Operation and reported in Request.Operation:
// the domain's names (snapkeep.Operation) for the endpoints snapkeep's runs
// use, e.g. Fault{Operation: snapkeep.OpSnapshotDroplet}, and the fake's
// own names for the others:
//
//	snapkeep.OpSnapshotDroplet  POST /v2/droplets/{id}/actions
//	snapkeep.OpSnapshotVolume   POST /v2/volumes/{id}/snapshots
//	snapkeep.OpGetAction        GET /v2/actions/{id}, GET /v2/droplets/{id}/actions/{action_id}
//	snapkeep.OpListActions      GET /v2/droplets/{id}/actions
//	snapkeep.OpListSnapshots    GET /v2/droplets/{id}/snapshots, /v2/volumes/{id}/snapshots, /v2/snapshots, /v2/droplets/{id}/backups
//	snapkeep.OpDeleteSnapshot   DELETE /v2/snapshots/{id}, DELETE /v2/volumes/snapshots/{id}
//	snapkeep.OpGetAccount       GET /v2/account
//	OpGetDroplet                GET /v2/droplets/{id}
//	OpGetVolume                 GET /v2/volumes/{id}
//	OpGetSnapshot               GET /v2/snapshots/{id}, GET /v2/volumes/snapshots/{id}
const (
	OpGetDroplet  snapkeep.Operation = "get_droplet"
	OpGetVolume   snapkeep.Operation = "get_volume"
	OpGetSnapshot snapkeep.Operation = "get_snapshot"
)

// The fake's former names of the endpoints the domain names too.
const (
	// Deprecated: use snapkeep.OpSnapshotDroplet.
	OpDropletSnapshot = snapkeep.OpSnapshotDroplet
	// Deprecated: use snapkeep.OpSnapshotVolume.
	OpVolumeSnapshot = snapkeep.OpSnapshotVolume
	// Deprecated: use snapkeep.OpGetAction.
	OpGetAction = snapkeep.OpGetAction
	// Deprecated: use snapkeep.OpListActions.
	OpListActions = snapkeep.OpListActions
	// Deprecated: use snapkeep.OpListSnapshots.
	OpListSnapshots = snapkeep.OpListSnapshots
	// Deprecated: use snapkeep.OpDeleteSnapshot.
	OpDeleteSnapshot = snapkeep.OpDeleteSnapshot
)

// legacyOps maps the fake's former wire names (in seed files and admin
// JSON) to the domain's.
var legacyOps = map[snapkeep.Operation]snapkeep.Operation{
	"droplet_snapshot": snapkeep.OpSnapshotDroplet,
	"volume_snapshot":  snapkeep.OpSnapshotVolume,
}

// knownOp reports whether some endpoint of the fake has operation op.
func knownOp(op snapkeep.Operation) bool {
	for i := range routes {
		if routes[i].op == op {
			return true
		}
	}
	return false
}

// Fault is an injected failure. It hits requests that match all of its
// filters: Method, Path, Operation and the [From, Until) window on the
// injected clock; of those, a Rate share (drawn from the server's seeded
// rand), and only Count of them when Count > 0 (then the fault is used up).
// Faults are tried in the order they were added; the first that hits wins
// (action faults — FaultActionErrored, FaultActionStuck, FaultListingLag —
// are tried separately and combine with one response fault).
type Fault struct {
	// Kind is what the fault does (required).
	Kind FaultKind `json:"kind"`
	// Status for FaultStatus and FaultEffectThenStatus; default 500.
	Status int `json:"status,omitempty"`
	// Body is BodyJSON or BodyHTML; default HTML for 502 and 504 (an edge
	// proxy's page), JSON for everything else (503 answers
	// {"id":"service_unavailable","message":"Service is currently unavailable."}
	// as DigitalOcean's edge gateway does).
	Body string `json:"body,omitempty"`
	// Method limits the fault to one HTTP method; "" for any.
	Method string `json:"method,omitempty"`
	// Path limits the fault to URL paths matching this path.Match pattern,
	// e.g. "/v2/droplets/*/actions"; "" for any.
	Path string `json:"path,omitempty"`
	// Operation limits the fault to one endpoint (snapkeep.OpSnapshotDroplet,
	// OpGetDroplet...); "" for any. An unknown operation is refused.
	Operation snapkeep.Operation `json:"operation,omitempty"`
	// From is the start of the window on the injected clock; zero for always.
	From time.Time `json:"from,omitzero"`
	// Until is the end of the window (excluded); zero for never.
	Until time.Time `json:"until,omitzero"`
	// Rate is the share of matching requests hit, 0..1; 0 means all (1).
	Rate float64 `json:"rate,omitempty"`
	// Count, when > 0, limits the fault to that many hits ("the next N
	// matching requests").
	Count int `json:"count,omitempty"`
	// Delay is the wait of FaultLatency and the lag of FaultListingLag.
	// In JSON: "2s" or a number of seconds.
	Delay time.Duration `json:"-"`
	// RetryAfter is the retry-after seconds of a 429; default 60. An
	// injected 429 is a burst 429 as DigitalOcean sends it:
	// ratelimit-remaining 0, retry-after, and the hourly ratelimit-reset.
	RetryAfter int `json:"retry_after,omitempty"`
}

func (k FaultKind) isAction() bool {
	return k == FaultActionErrored || k == FaultActionStuck || k == FaultListingLag
}

func (k FaultKind) valid() bool {
	switch k {
	case FaultStatus, FaultLatency, FaultReset, FaultHang, FaultMalformed, FaultEffectThenStatus,
		FaultEffectThenReset, FaultActionErrored, FaultActionStuck, FaultListingLag:
		return true
	}
	return false
}

// UnmarshalJSON reads a fault, Delay as "2s" or seconds.
func (f *Fault) UnmarshalJSON(b []byte) error {
	type plain Fault
	aux := struct {
		*plain
		Delay jsonDuration `json:"delay"`
	}{plain: (*plain)(f)}
	if err := strictUnmarshal(b, &aux); err != nil {
		return err
	}
	f.Delay = time.Duration(aux.Delay)
	return nil
}

// MarshalJSON writes a fault, Delay as "2s".
func (f Fault) MarshalJSON() ([]byte, error) {
	type plain Fault
	return json.Marshal(struct {
		plain
		Delay jsonDuration `json:"delay,omitempty"`
	}{plain(f), jsonDuration(f.Delay)})
}

func (f *Fault) validate() error {
	if !f.Kind.valid() {
		return fmt.Errorf("fault kind %q: unknown", f.Kind)
	}
	if f.Rate < 0 || f.Rate > 1 {
		return fmt.Errorf("fault rate %v: want 0..1", f.Rate)
	}
	if f.Path != "" {
		if _, err := path.Match(f.Path, "/"); err != nil {
			return fmt.Errorf("fault path %q: %w", f.Path, err)
		}
	}
	if f.Body != "" && f.Body != BodyJSON && f.Body != BodyHTML {
		return fmt.Errorf("fault body %q: want %q or %q", f.Body, BodyJSON, BodyHTML)
	}
	if f.Count < 0 {
		return fmt.Errorf("fault count %d: want >= 0", f.Count)
	}
	if op, ok := legacyOps[f.Operation]; ok {
		f.Operation = op
	}
	if f.Operation != "" && !knownOp(f.Operation) {
		return fmt.Errorf("fault operation %q: no endpoint of the fake has it", f.Operation)
	}
	return nil
}

// faultRec is an added fault with its remaining count.
type faultRec struct {
	id   int
	f    Fault
	left int // remaining hits when f.Count > 0
	hits int
}

// FaultState is an added fault as Faults reports it.
type FaultState struct {
	// ID identifies the fault for RemoveFault.
	ID int `json:"id"`
	// Fault is the fault as added.
	Fault Fault `json:"fault"`
	// Hits counts the requests it hit.
	Hits int `json:"hits"`
	// Left is the hits left when Fault.Count > 0.
	Left int `json:"left,omitempty"`
}

func (r *faultRec) matches(method, urlPath string, op snapkeep.Operation, now time.Time) bool {
	f := &r.f
	if f.Count > 0 && r.left <= 0 {
		return false
	}
	if f.Method != "" && f.Method != method {
		return false
	}
	if f.Operation != "" && f.Operation != op {
		return false
	}
	if f.Path != "" {
		if ok, _ := path.Match(f.Path, urlPath); !ok {
			return false
		}
	}
	if !f.From.IsZero() && now.Before(f.From) {
		return false
	}
	if !f.Until.IsZero() && !now.Before(f.Until) {
		return false
	}
	if f.Kind.isAction() && op != snapkeep.OpSnapshotDroplet {
		return false
	}
	return true
}

// AddFault adds a fault and returns its id.
func (s *Server) AddFault(f Fault) (int, error) {
	if err := f.validate(); err != nil {
		return 0, fmt.Errorf("add fault: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextFault++
	s.faults = append(s.faults, &faultRec{id: s.nextFault, f: f, left: f.Count})
	return s.nextFault, nil
}

// MustAddFault is AddFault for tests: it panics on an invalid fault.
func (s *Server) MustAddFault(f Fault) int {
	id, err := s.AddFault(f)
	if err != nil {
		panic(err)
	}
	return id
}

// RemoveFault removes the fault with that id; false when there is none.
func (s *Server) RemoveFault(id int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.faults {
		if r.id == id {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			return true
		}
	}
	return false
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Faults returns the added faults and their hits.
func (s *Server) Faults() []FaultState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]FaultState, 0, len(s.faults))
	for _, r := range s.faults {
		out = append(out, FaultState{ID: r.id, Fault: r.f, Hits: r.hits, Left: r.left})
	}
	return out
}

// pickFaultsLocked returns the response fault and the action fault that hit
// this request (either may be nil).
func (s *Server) pickFaultsLocked(method, urlPath string, op snapkeep.Operation, now time.Time) (resp, action *Fault) {
	for _, r := range s.faults {
		if r.f.Kind.isAction() && action != nil || !r.f.Kind.isAction() && resp != nil {
			continue
		}
		if !r.matches(method, urlPath, op, now) {
			continue
		}
		if r.f.Rate > 0 && r.f.Rate < 1 && s.rng.Float64() >= r.f.Rate {
			continue
		}
		r.hits++
		if r.f.Count > 0 {
			r.left--
		}
		f := r.f
		if f.Kind.isAction() {
			action = &f
		} else {
			resp = &f
		}
	}
	return resp, action
}
