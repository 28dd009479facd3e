package errorrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Sending a notice is claim-before-send on the incident item: set its
// sent time (AlertedAt or ResolutionSentAt) with a conditional write, send,
// then record SES's message id (AlertID or ResolutionID). Whoever wins the
// claim sends; a claim without an outcome older than ClaimTimeout was
// left by an evaluation that stopped, and is taken over. So ops gets one
// alert and one resolution per incident whatever the concurrency, except
// in one case: an evaluation that stops after SES accepted the message
// and before it recorded the id makes the next one send it again (at
// least once, never lost).
//
// The states of a notice on the item:
//
//	sent time | id | SendError          | meaning
//	nil       | "" | ""                 | owed: claim and send (an alert: by the evaluation that
//	          |    |                    | opened it, or by any once Lag + ClaimTimeout have passed)
//	nil       | "" | "<notice>: ..."    | failed for now: claim and send again
//	set       | "" | ""                 | claimed: in flight (take over after ClaimTimeout)
//	set       | "" | "<notice>: ..."    | undeliverable: given up
//	set       | id | ""                 | sent

// noticeState is where one notice of an incident stands.
type noticeState int

const (
	noticeOwed noticeState = iota
	noticeInFlight
	noticeDone // sent, folded or given up
)

// deliverPending sends the notices owed for w's pending incidents and
// keeps pending those still owed.
func (r *evalRun) deliverPending(ctx context.Context, w *Watch) {
	keep := w.Pending[:0:0]
	for _, id := range w.Pending {
		done, err := r.deliver(ctx, id)
		if err != nil {
			r.e.logger().WarnContext(ctx, "errorrate: ops notice not sent yet; trying again next evaluation",
				"incident", id, "error", err.Error())
		}
		if !done {
			keep = append(keep, id)
		}
	}
	w.Pending = keep
}

// deliver sends what is owed of one incident's notices; done says nothing
// more is owed until the incident changes.
func (r *evalRun) deliver(ctx context.Context, id string) (bool, error) {
	inc, err := r.e.Incidents.Get(ctx, id)
	if errors.Is(err, snapkeep.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("read incident: %w", err)
	}
	if inc.Open() {
		r.open[id], r.fresh[id] = inc, true
	}
	switch r.state(inc, NoticeAlert) {
	case noticeInFlight:
		return false, nil
	case noticeOwed:
		if inc, err = r.send(ctx, inc, NoticeAlert); err != nil || inc == nil {
			return false, err
		}
		if r.state(inc, NoticeAlert) != noticeDone {
			return false, nil
		}
	}
	if inc.Open() {
		return true, nil
	}
	if r.holdsFolded(inc) {
		return false, nil
	}
	switch r.state(inc, NoticeResolution) {
	case noticeInFlight:
		return false, nil
	case noticeOwed:
		if inc, err = r.send(ctx, inc, NoticeResolution); err != nil || inc == nil {
			return false, err
		}
		return r.state(inc, NoticeResolution) == noticeDone, nil
	}
	return true, nil
}

// state reads a notice's state off the incident (see the table above); a
// claim older than ClaimTimeout counts as owed again.
func (r *evalRun) state(inc *snapkeep.Incident, n Notice) noticeState {
	at, id := inc.AlertedAt, inc.AlertID
	if n == NoticeResolution {
		at, id = inc.ResolutionSentAt, inc.ResolutionID
	}
	failed := strings.HasPrefix(inc.SendError, string(n)+":")
	switch {
	case id != "":
		return noticeDone
	case at == nil && n == NoticeAlert && !failed && !r.created[inc.IncidentID] &&
		r.now.Sub(inc.OpenedAt) < r.e.lag()+r.e.claimTimeout():
		// Opened by another evaluation, which groups and alerts it: it is
		// sent from here only if that one stopped before trying.
		return noticeInFlight
	case at == nil:
		return noticeOwed
	case failed:
		return noticeDone
	case inc.SendError == "" && r.now.Sub(*at) >= r.e.claimTimeout():
		return noticeOwed
	}
	return noticeInFlight
}

// holdsFolded says whether a resolved incident still has open incidents
// folded into it: its resolution notice waits for them, so ops hears
// "resolved" once, when the whole provider event is over.
func (r *evalRun) holdsFolded(inc *snapkeep.Incident) bool {
	for _, o := range r.open {
		if o.Open() && o.AlertID == FoldedPrefix+inc.IncidentID {
			return true
		}
	}
	return false
}

// send claims notice n of inc, sends it and records the outcome; it
// returns the incident as written, or nil when another evaluation holds
// the claim.
func (r *evalRun) send(ctx context.Context, inc *snapkeep.Incident, n Notice) (*snapkeep.Incident, error) {
	claimed := *inc
	setNotice(&claimed, n, r.stamp(), "")
	claimed.SendError = ""
	claimed.UpdatedAt = later(inc.UpdatedAt, r.now)
	if err := r.e.Incidents.Update(ctx, inc, &claimed); errors.Is(err, snapkeep.ErrConflict) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("claim the %s: %w", n, err)
	}
	msgID, sendErr := r.e.Alerts.Send(ctx, &claimed, n)
	if sendErr == nil {
		if n == NoticeAlert {
			r.sum.Alerts++
		} else {
			r.sum.Resolutions++
		}
	}
	out, err := r.record(ctx, &claimed, n, msgID, sendErr)
	if err != nil {
		return nil, err
	}
	if sendErr != nil && !errors.Is(sendErr, ErrUndeliverable) {
		return out, fmt.Errorf("send the %s: %w", n, sendErr)
	}
	return out, nil
}

// record writes a send's outcome on the incident, reading it again when a
// figures update came in between.
func (r *evalRun) record(ctx context.Context, cur *snapkeep.Incident, n Notice, msgID string, sendErr error) (*snapkeep.Incident, error) {
	for attempt := 1; ; attempt++ {
		next := *cur
		switch {
		case sendErr == nil:
			setNotice(&next, n, noticeTime(cur, n), msgID)
			next.SendError = ""
		case errors.Is(sendErr, ErrUndeliverable):
			next.SendError = snapkeep.Bound(string(n)+": "+sendErr.Error(), 500)
		default:
			setNotice(&next, n, nil, "")
			next.SendError = snapkeep.Bound(string(n)+": "+sendErr.Error(), 500)
		}
		next.UpdatedAt = later(cur.UpdatedAt, r.now)
		err := r.e.Incidents.Update(ctx, cur, &next)
		if err == nil {
			if next.Open() {
				r.open[next.IncidentID] = &next
			}
			return &next, nil
		}
		if !errors.Is(err, snapkeep.ErrConflict) || attempt == maxWriteAttempts {
			return nil, fmt.Errorf("record the %s's outcome (message %q): %w", n, msgID, err)
		}
		if cur, err = r.e.Incidents.Get(ctx, cur.IncidentID); err != nil {
			return nil, fmt.Errorf("record the %s's outcome (message %q): %w", n, msgID, err)
		}
	}
}

// noticeTime is the notice's claim time on inc (kept when the outcome is
// recorded after a concurrent figures update).
func noticeTime(inc *snapkeep.Incident, n Notice) *time.Time {
	if n == NoticeResolution {
		return inc.ResolutionSentAt
	}
	return inc.AlertedAt
}

func setNotice(inc *snapkeep.Incident, n Notice, at *time.Time, id string) {
	if n == NoticeResolution {
		inc.ResolutionSentAt, inc.ResolutionID = at, id
		return
	}
	inc.AlertedAt, inc.AlertID = at, id
}
