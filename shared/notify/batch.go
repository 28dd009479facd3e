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

// Change is one Runs stream record, decoded by the caller.
type Change struct {
	// ID is the record's event id, for log lines.
	ID string
	// Key is the run's key from the record's Keys; set also when the
	// images could not be decoded, if the keys could be read.
	Key snapkeep.RunKey
	// Status is the new image's status as text, set when the images could
	// not be decoded (so that the notice recorded says failure or
	// recovery).
	Status snapkeep.RunStatus
	// Old and New are the run before and after the write (Old is nil for
	// an INSERT).
	Old, New *snapkeep.Run
	// Err says why the record could not be decoded (a poison record).
	Err error
}

// Finished reports whether this write is the one that made the run
// terminal. Later writes of a finished run (AppendCalls of a late
// attempt, support's edits, the notices themselves) never make a message.
func (c Change) Finished() bool {
	if c.New == nil || !c.New.Status.Terminal() {
		return false
	}
	return c.Old == nil || !c.Old.Status.Terminal()
}

// batch is what one stream batch reads once.
type batch struct {
	open      []snapkeep.Incident
	openRead  bool
	customers map[string]*snapkeep.Customer // nil: no such customer
	policies  map[string]*snapkeep.Policy   // nil: deleted or unreadable
	holds     []*hold
}

// hold is one incident notice to make sure of after the batch's records:
// the customer's, for the incident, first needed by record first.
type hold struct {
	incident *snapkeep.Incident
	customer *snapkeep.Customer
	first    int
}

func newBatch() *batch {
	return &batch{customers: map[string]*snapkeep.Customer{}, policies: map[string]*snapkeep.Policy{}}
}

// Batch tells customers about the changes of one stream batch, in order,
// and returns the index of the first change it could not handle for now
// (a transient failure: the caller reports that record, and the batch is
// delivered again from it), or -1 when every change is handled. Bad input
// — an unreadable record, a run of an unknown customer or of a customer
// without an email address — is logged and recorded on the run, never
// failed: retrying cannot mend it. Incident notices (hold mode) are sent
// after the records, one per customer and incident, listing the failures
// held so far; one that fails marks its customer's first held record as
// failed.
func (s *Service) Batch(ctx context.Context, changes []Change) int {
	b := newBatch()
	failed := -1
	for i, ch := range changes {
		if err := s.change(ctx, b, i, ch); err != nil {
			s.log().ErrorContext(ctx, "could not tell the customer for now; the batch is retried from this record",
				"event_id", ch.ID, "run_id", ch.Key.RunID(), "unprocessed", len(changes)-i, "error", err.Error())
			failed = i
			break
		}
	}
	for _, h := range b.holds {
		if err := s.incidentNotice(ctx, b, h); err != nil {
			s.log().ErrorContext(ctx, "could not send the incident notice for now; the batch is retried from its first held record",
				"incident_id", h.incident.IncidentID, "customer_id", h.customer.CustomerID, "error", err.Error())
			if failed < 0 || h.first < failed {
				failed = h.first
			}
		}
	}
	return failed
}

// change handles one record.
func (s *Service) change(ctx context.Context, b *batch, i int, ch Change) error {
	if ch.Err != nil {
		s.poison(ctx, ch)
		return nil
	}
	if !ch.Finished() {
		return nil
	}
	run := ch.New
	subject := SubjectOf(run)
	if subject == SubjectNone {
		return nil
	}
	kind := snapkeep.NoticeFailure
	if subject == SubjectRecovery {
		kind = snapkeep.NoticeRecovery
	}
	cust, err := b.customer(ctx, s, run.CustomerID)
	if err != nil {
		return err
	}
	if cust == nil {
		return s.bad(ctx, run.Key(), kind, fmt.Sprintf("the run's customer %q does not exist", run.CustomerID))
	}
	sit := Situation{Run: run, Mode: cust.NotificationMode, Hold: s.Config.Hold}
	var past history
	if subject == SubjectFailure {
		open, err := b.openIncidents(ctx, s)
		if err != nil {
			return err
		}
		sit.Covering = Covering(open, run)
	} else {
		recent, err := s.Runs.Recent(ctx, run.PolicyID, run.ScheduledAt, recentRuns)
		if err != nil {
			return fmt.Errorf("read the runs before the recovery: %w", err)
		}
		past = historyOf(recent)
		sit.PrevHeld = past.prevHeld
	}
	d := Decide(sit)
	s.logDecision(ctx, run, d)
	switch d.Kind {
	case snapkeep.NoticeSkipped:
		return s.finals(ctx, runSlot{s.Runs, run.Key()}, cust, snapkeep.Notice{Kind: snapkeep.NoticeSkipped, At: s.now()})
	case snapkeep.NoticeDigest:
		return s.joinDigest(ctx, run, cust)
	case snapkeep.NoticeHeld:
		joined, err := s.holdRun(ctx, b, i, run, cust, d.Incident)
		if err != nil || joined {
			return err
		}
		d = Decision{Kind: snapkeep.NoticeFailure} // the incident's mailing is closed: tell the failure itself
	}
	return s.tellRun(ctx, b, run, cust, d, past)
}

func (s *Service) logDecision(ctx context.Context, run *snapkeep.Run, d Decision) {
	args := []any{"run_id", run.RunID, "customer_id", run.CustomerID, "status", string(run.Status),
		"error_class", string(run.ErrorClass), "decision", string(d.Kind)}
	if d.Why != "" {
		args = append(args, "why", d.Why)
	}
	if d.Incident != nil {
		args = append(args, "incident_id", d.Incident.IncidentID)
	}
	if d.Warning != "" {
		s.log().WarnContext(ctx, d.Warning, args...)
	}
	s.log().InfoContext(ctx, "run finished: customer notice decided", args...)
}

// tellRun renders the failure or recovery message of run and tells it.
func (s *Service) tellRun(ctx context.Context, b *batch, run *snapkeep.Run, cust *snapkeep.Customer, d Decision, past history) error {
	pol, err := b.policy(ctx, s, run.PolicyID)
	if err != nil {
		return err
	}
	now := s.now()
	var msg notice.Message
	if d.Kind == snapkeep.NoticeRecovery {
		msg, err = s.Notices.Recovery(notice.RecoveryInput{Run: run, Policy: pol, Customer: cust,
			Failures: past.failures, FirstFailure: past.firstFailure, Now: now})
	} else {
		msg, err = s.Notices.Failure(notice.FailureInput{Run: run, Policy: pol, Customer: cust, Incident: d.Incident, Now: now})
	}
	if err != nil {
		return s.bad(ctx, run.Key(), d.Kind, "the message cannot be written: "+err.Error())
	}
	return s.tellAll(ctx, delivery{slot: runSlot{s.Runs, run.Key()}, customer: cust, kind: d.Kind, msg: msg,
		headers: map[string]string{"X-Snapkeep-Run": run.RunID}})
}

// bad logs why run's customer cannot be told and records it on the run's
// email notice (never retried).
func (s *Service) bad(ctx context.Context, key snapkeep.RunKey, kind snapkeep.NoticeKind, why string) error {
	s.log().ErrorContext(ctx, "cannot tell the customer about the run: "+why+"; recorded on the run, not retried",
		"run_id", key.RunID(), "kind", string(kind))
	err := s.final(ctx, runSlot{s.Runs, key}, snapkeep.ChannelEmail, snapkeep.Notice{Kind: kind, At: s.now(), Error: "not sent: " + why})
	if errors.Is(err, snapkeep.ErrNotFound) {
		return nil
	}
	return err
}

// poison logs a record that cannot be decoded and, when its key could be
// read, records why on the run. It never fails the batch: the record can
// never be read, whatever the retries.
func (s *Service) poison(ctx context.Context, ch Change) {
	s.log().ErrorContext(ctx, "Runs stream record cannot be read; skipped", "event_id", ch.ID, "run_id", ch.Key.RunID(), "error", ch.Err.Error())
	if ch.Key.PolicyID == "" || ch.Key.ScheduledAt.IsZero() {
		return
	}
	kind := snapkeep.NoticeFailure
	if ch.Status == snapkeep.RunSucceeded {
		kind = snapkeep.NoticeRecovery
	}
	why := "the Runs stream record could not be read: " + ch.Err.Error()
	if err := s.final(ctx, runSlot{s.Runs, ch.Key}, snapkeep.ChannelEmail, snapkeep.Notice{Kind: kind, At: s.now(), Error: "not sent: " + why}); err != nil {
		s.log().ErrorContext(ctx, "could not record the unreadable record on the run", "run_id", ch.Key.RunID(), "error", err.Error())
	}
}

// history is what a recovery needs of the runs before it.
type history struct {
	failures     int
	firstFailure time.Time
	prevHeld     bool
}

// historyOf reads the policy's runs before a recovery, newest first: the
// failures since the last success, the first of them, and whether the
// latest was held for an incident.
func historyOf(recent []snapkeep.Run) history {
	var h history
	first := true
	for i := range recent {
		r := &recent[i]
		if r.Status == snapkeep.RunSkipped || !r.Status.Terminal() {
			continue
		}
		if !failedStatus(r.Status) {
			break
		}
		if first {
			for _, n := range r.Notices {
				h.prevHeld = h.prevHeld || n.Kind == snapkeep.NoticeHeld
			}
			first = false
		}
		h.failures++
		h.firstFailure = r.ScheduledAt
	}
	return h
}

func (b *batch) customer(ctx context.Context, s *Service, id string) (*snapkeep.Customer, error) {
	if c, ok := b.customers[id]; ok {
		return c, nil
	}
	if id == "" {
		return nil, nil
	}
	c, err := s.Customers.Get(ctx, id)
	switch {
	case errors.Is(err, snapkeep.ErrNotFound):
		c = nil
	case err != nil:
		return nil, fmt.Errorf("read customer %q: %w", id, err)
	}
	b.customers[id] = c
	return c, nil
}

func (b *batch) policy(ctx context.Context, s *Service, id string) (*snapkeep.Policy, error) {
	if p, ok := b.policies[id]; ok {
		return p, nil
	}
	p, err := s.Policies.Get(ctx, id)
	switch {
	case errors.Is(err, snapkeep.ErrNotFound):
		p = nil
	case errors.Is(err, snapkeep.ErrInvalid):
		s.log().WarnContext(ctx, "policy unreadable: the message tells the run without it", "policy_id", id, "error", err.Error())
		p = nil
	case err != nil:
		return nil, fmt.Errorf("read policy %q: %w", id, err)
	}
	b.policies[id] = p
	return p, nil
}

func (b *batch) openIncidents(ctx context.Context, s *Service) ([]snapkeep.Incident, error) {
	if b.openRead {
		return b.open, nil
	}
	open, err := s.Incidents.ListOpen(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the open incidents: %w", err)
	}
	b.open, b.openRead = open, true
	return open, nil
}

// failedRuns reads the runs with ids (at most limit, in id order), and
// returns the failed and timed-out ones with their policies.
func (s *Service) failedRuns(ctx context.Context, b *batch, ids []string, limit int) ([]notice.FailedRun, error) {
	ids = append([]string(nil), ids...)
	sort.Strings(ids)
	if len(ids) > limit {
		ids = ids[:limit]
	}
	var out []notice.FailedRun
	for _, id := range ids {
		key, err := snapkeep.ParseRunID(id)
		if err != nil {
			s.log().WarnContext(ctx, "mailing names a run id that is not one; left out", "run_id", id, "error", err.Error())
			continue
		}
		run, err := s.Runs.Get(ctx, key)
		if errors.Is(err, snapkeep.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read run %s: %w", id, err)
		}
		if !failedStatus(run.Status) {
			continue
		}
		pol, err := b.policy(ctx, s, run.PolicyID)
		if err != nil {
			return nil, err
		}
		out = append(out, notice.FailedRun{Run: run, Policy: pol})
	}
	return out, nil
}
