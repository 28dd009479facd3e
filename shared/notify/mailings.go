package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/snapkeep/snapkeep/shared/notice"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Mailing ids.
const (
	incidentMailingPrefix = "incident#"
	digestMailingPrefix   = "digest#"
	// digestDays is how many consecutive digests a late run tries to
	// join before giving up.
	digestDays = 3
)

// IncidentMailingID is the id of the mailing that tells customers of a
// provider incident (its incident notice and its resolved notice).
func IncidentMailingID(incidentID string) string { return incidentMailingPrefix + incidentID }

// DigestMailingID is the id of the digest sent at due (its UTC date).
func DigestMailingID(due time.Time) string {
	return digestMailingPrefix + due.UTC().Format("2006-01-02")
}

// NextDigest returns the first digest time (hour:00 UTC) strictly after t.
func NextDigest(t time.Time, hour int) time.Time {
	t = t.UTC()
	due := time.Date(t.Year(), t.Month(), t.Day(), hour, 0, 0, 0, time.UTC)
	if !due.After(t) {
		due = due.AddDate(0, 0, 1)
	}
	return due
}

// join adds run to a mailing, and reports whether the run is in it
// (added now, or before: a replay). false means the mailing is closed to
// it (its last message was claimed before the run got there).
func (s *Service) join(ctx context.Context, r MailingRun) (bool, error) {
	cfg := s.cfg()
	r.MaxRuns, r.ExpiresAt = cfg.MaxMailingRuns, s.now().Add(cfg.MailingTTL)
	added, err := s.Mailings.AddRun(ctx, r)
	switch {
	case err == nil && !added:
		s.log().WarnContext(ctx, "mailing is full: the run is not listed in it", "mailing_id", r.MailingID, "customer_id", r.CustomerID, "run_id", r.RunID, "max_runs", r.MaxRuns)
		return true, nil
	case err == nil:
		return true, nil
	case !errors.Is(err, snapkeep.ErrConflict):
		return false, fmt.Errorf("add the run to %s: %w", r.MailingID, err)
	}
	m, err := s.Mailings.Get(ctx, r.MailingID, r.CustomerID)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", r.MailingID, err)
	}
	return slices.Contains(m.RunIDs, r.RunID), nil
}

// holdRun holds a failure for the customer's notice of incident inc: the
// run joins the incident's mailing, its notices say held, and the
// incident notice is made sure of after the batch. false means the
// incident's resolved notice is claimed already (the incident is over):
// the failure is told on its own.
func (s *Service) holdRun(ctx context.Context, b *batch, i int, run *snapkeep.Run, cust *snapkeep.Customer, inc *snapkeep.Incident) (bool, error) {
	id := IncidentMailingID(inc.IncidentID)
	joined, err := s.join(ctx, MailingRun{MailingID: id, CustomerID: cust.CustomerID, Kind: snapkeep.NoticeIncident,
		IncidentID: inc.IncidentID, RunID: run.RunID, Pending: PendingResolved, DueAt: inc.OpenedAt, ClosedBy: MapResolved})
	if err != nil || !joined {
		return false, err
	}
	if err := s.finals(ctx, runSlot{s.Runs, run.Key()}, cust, snapkeep.Notice{Kind: snapkeep.NoticeHeld, ID: id, At: s.now()}); err != nil {
		return false, err
	}
	for _, h := range b.holds {
		if h.incident.IncidentID == inc.IncidentID && h.customer.CustomerID == cust.CustomerID {
			return true, nil
		}
	}
	b.holds = append(b.holds, &hold{incident: inc, customer: cust, first: i})
	return true, nil
}

// incidentNotice makes sure the customer got incident h's one notice on
// each channel, listing the failures held so far.
func (s *Service) incidentNotice(ctx context.Context, b *batch, h *hold) error {
	id := IncidentMailingID(h.incident.IncidentID)
	m, err := s.Mailings.Get(ctx, id, h.customer.CustomerID)
	if err != nil {
		return fmt.Errorf("read %s: %w", id, err)
	}
	if settled(m.Notices, h.customer) {
		return nil
	}
	failed, err := s.failedRuns(ctx, b, m.RunIDs, s.cfg().MaxMailingRuns)
	if err != nil {
		return err
	}
	sl := mailingSlot{s.Mailings, id, h.customer.CustomerID, MapNotices}
	if len(failed) == 0 {
		s.log().WarnContext(ctx, "incident notice: none of the held runs reads as failed; not sent", "mailing_id", id, "customer_id", h.customer.CustomerID)
		return nil
	}
	msg, err := s.Notices.IncidentNotice(notice.IncidentInput{Customer: h.customer, Incident: h.incident, Failed: failed, Now: s.now()})
	if err != nil {
		s.log().ErrorContext(ctx, "incident notice cannot be written; recorded, not retried", "mailing_id", id, "customer_id", h.customer.CustomerID, "error", err.Error())
		return s.finals(ctx, sl, h.customer, snapkeep.Notice{Kind: snapkeep.NoticeIncident, At: s.now(), Error: "not sent: the message cannot be written: " + err.Error()})
	}
	return s.tellAll(ctx, delivery{slot: sl, customer: h.customer, kind: snapkeep.NoticeIncident, msg: msg,
		headers: map[string]string{"X-Snapkeep-Mailing": id, "X-Snapkeep-Incident": h.incident.IncidentID}})
}

// settled reports whether every channel of the customer has a notice
// with a message id or an error in notices.
func settled(notices map[string]snapkeep.Notice, c *snapkeep.Customer) bool {
	for _, ch := range channels(c) {
		n, ok := notices[ch]
		if !ok || (n.ID == "" && n.Error == "" && sendingKind(n.Kind)) {
			return false
		}
	}
	return true
}

// joinDigest puts a failure in the customer's next daily digest: the
// digest due after the run finished, or the one after it when that one is
// claimed already (the run came late). The run's notices say digest, with
// the mailing's id.
func (s *Service) joinDigest(ctx context.Context, run *snapkeep.Run, cust *snapkeep.Customer) error {
	at := s.now()
	if run.FinishedAt != nil {
		at = *run.FinishedAt
	}
	due := NextDigest(at, s.Config.DigestHour)
	for range digestDays {
		id := DigestMailingID(due)
		joined, err := s.join(ctx, MailingRun{MailingID: id, CustomerID: cust.CustomerID, Kind: snapkeep.NoticeDigest,
			RunID: run.RunID, Pending: PendingDigest, DueAt: due, ClosedBy: MapNotices})
		if err != nil {
			return err
		}
		if joined {
			return s.finals(ctx, runSlot{s.Runs, run.Key()}, cust, snapkeep.Notice{Kind: snapkeep.NoticeDigest, ID: id, At: s.now()})
		}
		due = due.AddDate(0, 0, 1)
	}
	return s.bad(ctx, run.Key(), snapkeep.NoticeDigest, fmt.Sprintf("the run came too late for %d consecutive digests", digestDays))
}
