package mailing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/snapkeep/snapkeep/shared/notice"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Defaults and bounds of a broadcast.
const (
	// DefaultStaleClaim is how old a claim without a sent record must be
	// before a run takes it over and sends the message: the run that made
	// it died between claiming and recording (a few hundred milliseconds
	// around the SES call). Younger claims belong to a run still going.
	DefaultStaleClaim = 5 * time.Minute
	// DefaultTTL is how long a broadcast's entries are kept: as long as
	// the notify function keeps its mailings. Rerunning a broadcast after
	// that sends it again.
	DefaultTTL = 60 * 24 * time.Hour
	// DefaultMaxRuns bounds the failed runs a broadcast reads.
	DefaultMaxRuns = 200_000
	// DefaultMaxFailures is how many sends in a row may fail (transient
	// errors that outlasted the sender's retries) before the broadcast
	// stops: SES is down or throttling hard, and every further send would
	// fail too.
	DefaultMaxFailures = 5
	// MaxEntryRuns bounds the run ids an entry records.
	MaxEntryRuns = 100
)

// Reason says why a customer is not sent the message.
type Reason string

// Reasons a customer is skipped.
const (
	// SkipUnknown: the runs name a customer that does not exist.
	SkipUnknown Reason = "unknown_customer"
	// SkipOptedOut: the customer's notification mode is none.
	SkipOptedOut Reason = "opted_out"
	// SkipBlocked: email to the customer stopped (EmailBlocked: a
	// suppressed address, a rejected message).
	SkipBlocked Reason = "email_blocked"
	// SkipNoEmail: the customer has no email address.
	SkipNoEmail Reason = "no_email"
	// SkipNoUnsubscribe: the customer has no preferences token, so the
	// message could not carry the one-click unsubscribe link broadcast
	// mail must have (RFC 8058).
	SkipNoUnsubscribe Reason = "no_unsubscribe_link"
	// SkipSuppressed: SES refused the address at send time (its
	// suppression list, or an invalid address); the customer's email is
	// blocked from then on.
	SkipSuppressed Reason = "suppressed"
	// SkipRejectedBefore: an earlier run recorded a permanent failure for
	// this customer; it is not retried.
	SkipRejectedBefore Reason = "rejected_before"
	// SkipInProgress: another run holds a fresh claim on this customer's
	// message (two broadcasts at once, or one killed less than StaleClaim
	// ago): left to it, or to a rerun once the claim is stale.
	SkipInProgress Reason = "claimed_by_another_run"
)

// Config tunes a Service; zero fields take the defaults.
type Config struct {
	StaleClaim  time.Duration
	TTL         time.Duration
	MaxRuns     int
	MaxFailures int
}

func (c Config) withDefaults() Config {
	if c.StaleClaim <= 0 {
		c.StaleClaim = DefaultStaleClaim
	}
	if c.TTL <= 0 {
		c.TTL = DefaultTTL
	}
	if c.MaxRuns <= 0 {
		c.MaxRuns = DefaultMaxRuns
	}
	if c.MaxFailures <= 0 {
		c.MaxFailures = DefaultMaxFailures
	}
	return c
}

// Service plans and sends broadcasts. Plan reads only (dry runs use it
// alone); Send writes the Ledger and sends.
type Service struct {
	Runs      RunReader
	Customers CustomerStore
	Policies  PolicyReader
	Ledger    Ledger
	// Counts and Incidents give a class broadcast its problem (the error
	// rate across all customers, and whether it is still going on).
	Counts    CallCounter
	Incidents IncidentLister
	Notices   Renderer
	// Mailer and Pace are needed by Send only.
	Mailer Mailer
	Pace   Waiter
	Config Config
	// Progress, when set, is called after each recipient Send settles.
	Progress func(Progress)
	Now      func() time.Time
	Logger   *slog.Logger
}

// Plan is a broadcast worked out: who gets it and who does not, and why.
type Plan struct {
	// MailingID names the broadcast (Target.MailingID).
	MailingID string
	Target    Target
	Window    Window
	// Problem is DigitalOcean's problem as the message tells it.
	Problem notice.ProviderProblem
	// Recipients are the affected customers, by customer id.
	Recipients []Recipient
	// Runs counts the failed runs read; Outside those left out as outside
	// the incident's dimension; NoCustomer those without a customer id.
	Runs, Outside, NoCustomer int
	// PlannedAt is the time of the plan.
	PlannedAt time.Time
}

// Recipient is one affected customer.
type Recipient struct {
	CustomerID string
	// Customer is nil when the customer does not exist.
	Customer *snapkeep.Customer
	// Runs are the customer's failed runs in the window, each once,
	// oldest finish first.
	Runs []snapkeep.Run
	// Skip, when set, says why the customer is not sent the message.
	Skip Reason
	// Before is what an earlier run of the broadcast left in the Ledger,
	// nil when nothing.
	Before *snapkeep.Notice
}

// Status is what Send does (or did) for a recipient.
type Status string

// Statuses of a recipient.
const (
	StatusSend       Status = "send"
	StatusSkip       Status = "skip"
	StatusSentBefore Status = "sent_before"
	// StatusResend: an earlier run claimed the message and died before
	// recording it; the claim is stale, so it is sent (it may arrive
	// twice if that run died after SES took it).
	StatusResend Status = "resend"
)

// Status says what Send does for r at now: skip it (with the reason),
// leave it as sent before, or send (or re-send) it.
func (p *Plan) Status(r Recipient, now time.Time, staleClaim time.Duration) (Status, Reason) {
	if staleClaim <= 0 {
		staleClaim = DefaultStaleClaim
	}
	switch b := r.Before; {
	case r.Skip != "":
		return StatusSkip, r.Skip
	case b == nil:
		return StatusSend, ""
	case b.ID != "":
		return StatusSentBefore, ""
	case b.Error != "":
		return StatusSkip, SkipRejectedBefore
	case now.Sub(b.At) >= staleClaim:
		return StatusResend, ""
	}
	return StatusSkip, SkipInProgress
}

// Plan reads who the target's broadcast is for: the failed runs of each
// class (one failures-by-class Query each), grouped by customer; each
// customer (one GetItem each) with the reason to skip them; what earlier
// runs of the broadcast recorded (one Query of its Ledger partition); and
// the problem the message tells of. It writes nothing. Bad input is an
// error wrapping snapkeep.ErrInvalid.
func (s *Service) Plan(ctx context.Context, t Target) (*Plan, error) {
	now := s.now()
	w, err := t.Window(now)
	if err != nil {
		return nil, fmt.Errorf("broadcast: %w", err)
	}
	p := &Plan{Target: t, MailingID: t.MailingID(w), PlannedAt: now}
	// A class range ends on a whole hour (it names the broadcast); the
	// runs and the message stop at now.
	if w.To.After(now) {
		w.To = now
	}
	if p.Window, err = checkWindow(w); err != nil {
		return nil, fmt.Errorf("broadcast: %w", err)
	}
	byCustomer, err := s.affected(ctx, p)
	if err != nil {
		return nil, err
	}
	before, err := s.Ledger.BroadcastNotices(ctx, p.MailingID)
	if err != nil {
		return nil, fmt.Errorf("broadcast %s: read its sent log: %w", p.MailingID, err)
	}
	ids := make([]string, 0, len(byCustomer))
	for id := range byCustomer {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := Recipient{CustomerID: id, Runs: byCustomer[id]}
		if n, ok := before[id]; ok {
			r.Before = &n
		}
		if err := s.classify(ctx, &r); err != nil {
			return nil, err
		}
		p.Recipients = append(p.Recipients, r)
	}
	if p.Problem, err = s.problem(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// affected reads the target's failed runs, grouped by customer, each run
// once, oldest finish first.
func (s *Service) affected(ctx context.Context, p *Plan) (map[string][]snapkeep.Run, error) {
	maxRuns := s.Config.withDefaults().MaxRuns
	byCustomer := map[string][]snapkeep.Run{}
	seen := map[string]bool{}
	for _, class := range p.Target.Classes() {
		runs, err := s.Runs.FailedRuns(ctx, class, p.Window.From, p.Window.To)
		if err != nil {
			return nil, fmt.Errorf("broadcast: runs that failed with %s in %s: %w", class, p.Window, err)
		}
		for i := range runs {
			r := &runs[i]
			if seen[r.RunID] {
				continue
			}
			seen[r.RunID] = true
			p.Runs++
			switch {
			case !p.Target.covers(r):
				p.Outside++
			case r.CustomerID == "":
				p.NoCustomer++
			default:
				byCustomer[r.CustomerID] = append(byCustomer[r.CustomerID], *r)
			}
		}
		if p.Runs > maxRuns {
			return nil, fmt.Errorf("broadcast: more than %d failed runs in %s: narrow the range: %w", maxRuns, p.Window, snapkeep.ErrInvalid)
		}
	}
	for _, runs := range byCustomer {
		sort.SliceStable(runs, func(i, j int) bool { return finishedAt(runs[i]).Before(finishedAt(runs[j])) })
	}
	return byCustomer, nil
}

func finishedAt(r snapkeep.Run) time.Time {
	if r.FinishedAt != nil {
		return *r.FinishedAt
	}
	return r.ScheduledAt
}

// classify reads r's customer and sets the reason to skip them, if any.
func (s *Service) classify(ctx context.Context, r *Recipient) error {
	c, err := s.Customers.Get(ctx, r.CustomerID)
	if errors.Is(err, snapkeep.ErrNotFound) {
		r.Skip = SkipUnknown
		return nil
	}
	if err != nil {
		return fmt.Errorf("broadcast: customer %s: %w", r.CustomerID, err)
	}
	r.Customer = c
	switch {
	case c.NotificationMode == snapkeep.NotifyNone:
		r.Skip = SkipOptedOut
	case c.EmailBlocked != "":
		r.Skip = SkipBlocked
	case c.Email == "":
		r.Skip = SkipNoEmail
	case c.PreferencesToken == "":
		r.Skip = SkipNoUnsubscribe
	}
	return nil
}

// problem describes DigitalOcean's problem: the incident's, or for a
// class broadcast the error rate of all calls in the window (Stats) and
// whether an incident of the class is still open.
func (s *Service) problem(ctx context.Context, p *Plan) (notice.ProviderProblem, error) {
	if inc := p.Target.Incident; inc != nil {
		pr := notice.ProblemOf(inc)
		if pr.Customers == 0 {
			pr.Customers = len(p.Recipients)
		}
		return pr, nil
	}
	if s.Counts == nil {
		return notice.ProviderProblem{}, fmt.Errorf("broadcast: no call counts to tell DigitalOcean's error rate by")
	}
	c, err := s.Counts.WindowCounts(ctx, snapkeep.DimensionAll, p.Window.From, p.Window.To)
	if err != nil {
		return notice.ProviderProblem{}, fmt.Errorf("broadcast: call counts of %s: %w", p.Window, err)
	}
	if c.Calls == 0 {
		return notice.ProviderProblem{}, fmt.Errorf("broadcast: the Stats table counts no DigitalOcean calls in %s, so the message cannot tell DigitalOcean's error rate: check the stats table, or broadcast about an incident: %w", p.Window, snapkeep.ErrInvalid)
	}
	pr := notice.ProviderProblem{Dimension: snapkeep.DimensionAll, Rate: c.Rate(), Calls: c.Calls,
		Failures: c.ProviderFailures, From: p.Window.From, To: p.Window.To, Customers: len(p.Recipients)}
	if s.Incidents != nil {
		open, err := s.Incidents.ListOpen(ctx)
		if err != nil {
			return notice.ProviderProblem{}, fmt.Errorf("broadcast: open incidents: %w", err)
		}
		for _, inc := range open {
			if inc.Kind == snapkeep.IncidentProvider && inc.Class == p.Target.Class {
				pr.To = time.Time{} // still going on
			}
		}
	}
	return pr, nil
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}
