package notify

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/snapkeep/snapkeep/shared/notice"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// TickResult is what one tick of the periodic trigger did.
type TickResult struct {
	// Digests and Resolved count the mailings settled (sent, or recorded
	// as not sendable).
	Digests  int `json:"digests"`
	Resolved int `json:"resolved"`
	// Waiting counts the resolved notices still waiting: their incident
	// is open, or an affected policy's next run is not finished.
	Waiting int `json:"waiting"`
	// Failed counts the mailings that failed for now (retried next tick).
	Failed int `json:"failed"`
}

// Tick is the periodic trigger's work (every 10 minutes): it sends the
// daily digests that are due, and the resolved notices of the resolved
// incidents whose customers are waiting for one, once each affected
// policy's next run after its last held failure has finished (or
// Config.ResolvedWait has passed since the resolution). Both are found
// through the Mailings table's sparse pending index, never a scan. It
// returns an error when a mailing failed for now; the others are done
// regardless, and the next tick tries the failed ones again.
func (s *Service) Tick(ctx context.Context) (TickResult, error) {
	var res TickResult
	b := newBatch()
	errDigests := s.tickDigests(ctx, b, &res)
	errResolved := s.tickResolved(ctx, b, &res)
	return res, errors.Join(errDigests, errResolved)
}

// outOfTime reports whether the tick should start no more mailings.
func outOfTime(ctx context.Context) bool {
	deadline, ok := ctx.Deadline()
	return ctx.Err() != nil || (ok && time.Until(deadline) < tickReserve)
}

func (s *Service) tickDigests(ctx context.Context, b *batch, res *TickResult) error {
	due, err := s.Mailings.Pending(ctx, PendingDigest, s.now(), s.cfg().TickLimit)
	if err != nil {
		return fmt.Errorf("due digests: %w", err)
	}
	var errs []error
	for _, m := range due {
		if outOfTime(ctx) {
			break
		}
		if err := s.digest(ctx, b, m); err != nil {
			res.Failed++
			errs = append(errs, err)
			s.log().ErrorContext(ctx, "digest not sent for now; the next tick tries again", "mailing_id", m.MailingID, "customer_id", m.CustomerID, "error", err.Error())
			continue
		}
		res.Digests++
	}
	return errors.Join(errs...)
}

// digest sends one customer's due digest.
func (s *Service) digest(ctx context.Context, b *batch, pending Mailing) error {
	m, cust, err := s.fresh(ctx, b, pending)
	if err != nil || m == nil {
		return err
	}
	sl := mailingSlot{s.Mailings, m.MailingID, m.CustomerID, MapNotices}
	if cust.NotificationMode == snapkeep.NotifyNone {
		if err := s.finals(ctx, sl, cust, snapkeep.Notice{Kind: snapkeep.NoticeSkipped, At: s.now()}); err != nil {
			return err
		}
		return s.done(ctx, m)
	}
	failed, err := s.failedRuns(ctx, b, m.RunIDs, s.cfg().MaxMailingRuns)
	if err != nil {
		return err
	}
	if len(failed) == 0 {
		return s.done(ctx, m)
	}
	msg, err := s.Notices.Digest(notice.DigestInput{Customer: cust, From: m.DueAt.Add(-24 * time.Hour), To: m.DueAt, Failed: failed, Now: s.now()})
	if err != nil {
		s.log().ErrorContext(ctx, "digest cannot be written; recorded, not retried", "mailing_id", m.MailingID, "customer_id", m.CustomerID, "error", err.Error())
		if err := s.finals(ctx, sl, cust, snapkeep.Notice{Kind: snapkeep.NoticeDigest, At: s.now(), Error: "not sent: the message cannot be written: " + err.Error()}); err != nil {
			return err
		}
		return s.done(ctx, m)
	}
	if err := s.tellAll(ctx, delivery{slot: sl, customer: cust, kind: snapkeep.NoticeDigest, msg: msg,
		headers: map[string]string{"X-Snapkeep-Mailing": m.MailingID}}); err != nil {
		return err
	}
	return s.done(ctx, m)
}

func (s *Service) tickResolved(ctx context.Context, b *batch, res *TickResult) error {
	pending, err := s.Mailings.Pending(ctx, PendingResolved, s.now(), s.cfg().TickLimit)
	if err != nil {
		return fmt.Errorf("pending resolved notices: %w", err)
	}
	incidents := map[string]*snapkeep.Incident{}
	var errs []error
	for _, m := range pending {
		if outOfTime(ctx) {
			break
		}
		inc, ok := incidents[m.IncidentID]
		if !ok {
			inc, err = s.Incidents.Get(ctx, m.IncidentID)
			switch {
			case errors.Is(err, snapkeep.ErrNotFound):
				inc = nil
			case err != nil:
				res.Failed++
				errs = append(errs, fmt.Errorf("read incident %q: %w", m.IncidentID, err))
				continue
			}
			incidents[m.IncidentID] = inc
		}
		sent, err := s.resolved(ctx, b, m, inc)
		switch {
		case err != nil:
			res.Failed++
			errs = append(errs, err)
			s.log().ErrorContext(ctx, "resolved notice not sent for now; the next tick tries again", "mailing_id", m.MailingID, "customer_id", m.CustomerID, "error", err.Error())
		case sent:
			res.Resolved++
		default:
			res.Waiting++
		}
	}
	return errors.Join(errs...)
}

// resolved sends one customer's resolved notice of inc when it is time,
// and reports whether the mailing is settled.
func (s *Service) resolved(ctx context.Context, b *batch, pending Mailing, inc *snapkeep.Incident) (bool, error) {
	if inc == nil {
		s.log().ErrorContext(ctx, "mailing names an incident that does not exist; no resolved notice", "mailing_id", pending.MailingID, "incident_id", pending.IncidentID)
		return true, s.done(ctx, &pending)
	}
	if inc.Open() {
		return false, nil
	}
	m, cust, err := s.fresh(ctx, b, pending)
	if err != nil || m == nil {
		return m == nil && err == nil, err
	}
	sl := mailingSlot{s.Mailings, m.MailingID, m.CustomerID, MapResolved}
	if cust.NotificationMode == snapkeep.NotifyNone {
		if err := s.finals(ctx, sl, cust, snapkeep.Notice{Kind: snapkeep.NoticeSkipped, At: s.now()}); err != nil {
			return false, err
		}
		return true, s.done(ctx, m)
	}
	failed, err := s.failedRuns(ctx, b, m.RunIDs, s.cfg().MaxMailingRuns)
	if err != nil {
		return false, err
	}
	if len(failed) == 0 {
		return true, s.done(ctx, m)
	}
	after, ready, err := s.nextRuns(ctx, failed, resolvedAt(inc))
	if err != nil || !ready {
		return false, err
	}
	msg, err := s.Notices.Resolved(notice.ResolvedInput{Customer: cust, Incident: inc, Failed: failed, After: after, Now: s.now()})
	if err != nil {
		s.log().ErrorContext(ctx, "resolved notice cannot be written; recorded, not retried", "mailing_id", m.MailingID, "customer_id", m.CustomerID, "error", err.Error())
		if err := s.finals(ctx, sl, cust, snapkeep.Notice{Kind: snapkeep.NoticeResolved, At: s.now(), Error: "not sent: the message cannot be written: " + err.Error()}); err != nil {
			return false, err
		}
		return true, s.done(ctx, m)
	}
	if err := s.tellAll(ctx, delivery{slot: sl, customer: cust, kind: snapkeep.NoticeResolved, msg: msg,
		headers: map[string]string{"X-Snapkeep-Mailing": m.MailingID, "X-Snapkeep-Incident": inc.IncidentID}}); err != nil {
		return false, err
	}
	return true, s.done(ctx, m)
}

func resolvedAt(inc *snapkeep.Incident) time.Time {
	if inc.ResolvedAt != nil {
		return *inc.ResolvedAt
	}
	return inc.UpdatedAt
}

// nextRuns returns, by policy, the first run after the policy's last
// failure in failed, and whether the resolved notice may go: every one of
// them has finished, or ResolvedWait has passed since resolved. While it
// may not, it stops at the first policy still waiting.
func (s *Service) nextRuns(ctx context.Context, failed []notice.FailedRun, resolved time.Time) (map[string]*snapkeep.Run, bool, error) {
	last := map[string]time.Time{}
	for _, f := range failed {
		if t := f.Run.ScheduledAt; t.After(last[f.Run.PolicyID]) {
			last[f.Run.PolicyID] = t
		}
	}
	ids := make([]string, 0, len(last))
	for id := range last {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	waited := !s.now().Before(resolved.Add(s.cfg().ResolvedWait))
	after := map[string]*snapkeep.Run{}
	for _, id := range ids {
		next, err := s.Runs.NextAfter(ctx, id, last[id])
		if err != nil {
			return nil, false, fmt.Errorf("next run of policy %s: %w", id, err)
		}
		if next != nil {
			after[id] = next
		}
		if !waited && (next == nil || !next.Status.Terminal()) {
			return nil, false, nil
		}
	}
	return after, true, nil
}

// fresh reads the pending mailing again (the index is eventually
// consistent) and its customer. It returns a nil mailing when there is
// nothing to do: the mailing is no longer pending, or its customer is
// gone (then it is taken out of the index).
func (s *Service) fresh(ctx context.Context, b *batch, pending Mailing) (*Mailing, *snapkeep.Customer, error) {
	m, err := s.Mailings.Get(ctx, pending.MailingID, pending.CustomerID)
	if errors.Is(err, snapkeep.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", pending.MailingID, err)
	}
	if m.Pending == "" {
		return nil, nil, nil
	}
	cust, err := b.customer(ctx, s, m.CustomerID)
	if err != nil {
		return nil, nil, err
	}
	if cust == nil {
		s.log().ErrorContext(ctx, "mailing of a customer that does not exist; not sent", "mailing_id", m.MailingID, "customer_id", m.CustomerID)
		return nil, nil, s.done(ctx, m)
	}
	return m, cust, nil
}

func (s *Service) done(ctx context.Context, m *Mailing) error {
	if err := s.Mailings.Done(ctx, m.MailingID, m.CustomerID); err != nil && !errors.Is(err, snapkeep.ErrNotFound) {
		return fmt.Errorf("mark %s done: %w", m.MailingID, err)
	}
	return nil
}
