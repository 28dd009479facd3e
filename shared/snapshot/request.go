package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Request is the snapshot function's input, in one of four forms:
//
//	scheduled  {"policy_id": "p1", "scheduled_time": "2026-11-24T12:00:00Z"}
//	on-demand  {"policy_id": "p1"}                       (slot = now)
//	follow-up  {"policy_id": "p1", "scheduled_time": "...", "follow_up": true}
//	queued     {"policy_id": "p1", "scheduled_time": "...", "follow_up": true, "due": "..."}
//	sweep      {"sweep": true}
//
// The scheduled form is what every policy's EventBridge Scheduler schedule
// sends (<aws.scheduler.scheduled-time>); the queued form is what the run
// path itself sends to the follow-up queue when a run must be checked
// later; the sweep form is what the function's own backstop schedule
// sends.
type Request struct {
	// PolicyID is the policy to run; empty only in the sweep form.
	PolicyID string `json:"policy_id,omitempty"`
	// ScheduledTime is the slot, RFC 3339 (normally UTC whole seconds).
	ScheduledTime string `json:"scheduled_time,omitempty"`
	// FollowUp asks to check the unfinished run of the slot now.
	FollowUp bool `json:"follow_up,omitempty"`
	// Due, on a queued follow-up (RFC 3339), is when the check it asks for
	// is due: a message delivered before it (a wait longer than the
	// queue's 15-minute delay) is sent on again; one for a check the run no
	// longer waits for is dropped.
	Due string `json:"due,omitempty"`
	// Sweep asks to check every unfinished run that is due.
	Sweep bool `json:"sweep,omitempty"`
}

// Kind is the form of a Request.
type Kind string

// Request kinds.
const (
	KindScheduled Kind = "scheduled"
	KindOnDemand  Kind = "on_demand"
	KindFollowUp  Kind = "follow_up"
	KindSweep     Kind = "sweep"
	// KindQueued is a follow-up the run path queued itself (SQS, with
	// its due time): it checks the run only if the run still waits for it.
	KindQueued Kind = "queued"
)

// DecodeRequest reads a Request from raw, rejecting unknown fields, trailing
// data and inconsistent forms. Errors wrap snapkeep.ErrInvalid and say what
// was wrong.
func DecodeRequest(raw json.RawMessage) (Request, error) {
	var r Request
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Request{}, fmt.Errorf("decode input: %v: %w", err, snapkeep.ErrInvalid)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Request{}, fmt.Errorf("decode input: data after the JSON object: %w", snapkeep.ErrInvalid)
	}
	if _, err := r.Kind(); err != nil {
		return Request{}, err
	}
	if r.ScheduledTime != "" {
		if _, err := r.Slot(); err != nil {
			return Request{}, err
		}
	}
	return r, nil
}

// Kind returns the request's form, or an error wrapping snapkeep.ErrInvalid
// when the fields do not make one.
func (r Request) Kind() (Kind, error) {
	switch {
	case r.Sweep:
		if r.PolicyID != "" || r.ScheduledTime != "" || r.FollowUp {
			return "", fmt.Errorf("input: a sweep takes no policy_id, scheduled_time or follow_up: %w", snapkeep.ErrInvalid)
		}
		return KindSweep, nil
	case strings.TrimSpace(r.PolicyID) == "":
		return "", fmt.Errorf("input: policy_id is missing (or sweep must be true): %w", snapkeep.ErrInvalid)
	case r.PolicyID != strings.TrimSpace(r.PolicyID):
		return "", fmt.Errorf("input: policy_id %q has leading or trailing white space: %w", snapkeep.Bound(r.PolicyID, 80), snapkeep.ErrInvalid)
	case !snapkeep.ValidID(r.PolicyID):
		return "", fmt.Errorf("input: policy_id %q (%d bytes) must be 1-%d characters of 0-9 A-Z a-z _ . -: %w",
			snapkeep.Bound(r.PolicyID, 80), len(r.PolicyID), snapkeep.MaxIDLength, snapkeep.ErrInvalid)
	case r.FollowUp:
		if r.ScheduledTime == "" {
			return "", fmt.Errorf("input: follow_up needs scheduled_time: %w", snapkeep.ErrInvalid)
		}
		if r.Due != "" {
			if _, err := time.Parse(time.RFC3339, r.Due); err != nil {
				return "", fmt.Errorf("input: due %q: want RFC 3339: %w", snapkeep.Bound(r.Due, 80), snapkeep.ErrInvalid)
			}
			return KindQueued, nil
		}
		return KindFollowUp, nil
	case r.Due != "":
		return "", fmt.Errorf("input: due goes with follow_up: %w", snapkeep.ErrInvalid)
	case r.ScheduledTime == "":
		return KindOnDemand, nil
	}
	return KindScheduled, nil
}

// Slot parses ScheduledTime (RFC 3339, any offset), returning it in UTC,
// whole seconds.
func (r Request) Slot() (time.Time, error) {
	t, err := time.Parse(time.RFC3339, r.ScheduledTime)
	if err != nil {
		return time.Time{}, fmt.Errorf("input: scheduled_time %q: want RFC 3339 like %q: %w", r.ScheduledTime, snapkeep.SlotTimeFormat, snapkeep.ErrInvalid)
	}
	return t.UTC().Truncate(time.Second), nil
}

// lenientKey recovers a run key from input DecodeRequest rejected (for
// example an unknown field next to a good policy_id and scheduled_time), so
// that the rejection can be recorded on the run. ok is false when no key can
// be formed: the policy id breaks the id rule (it could exceed DynamoDB's
// key size) or the slot is not a valid time.
func lenientKey(raw json.RawMessage) (key snapkeep.RunKey, ok bool) {
	var loose struct {
		PolicyID      string `json:"policy_id"`
		ScheduledTime string `json:"scheduled_time"`
	}
	if json.Unmarshal(raw, &loose) != nil {
		return snapkeep.RunKey{}, false
	}
	r := Request{PolicyID: loose.PolicyID, ScheduledTime: loose.ScheduledTime}
	if k, err := r.Kind(); err != nil || k != KindScheduled {
		return snapkeep.RunKey{}, false
	}
	t, err := r.Slot()
	if err != nil {
		return snapkeep.RunKey{}, false
	}
	return snapkeep.NewRunKey(r.PolicyID, t), true
}
