package mailing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/notice"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// settleTimeout bounds the Ledger write that settles a send after the
// run's context has ended: a message SES took is recorded even when the
// broadcast is interrupted right after, so that a rerun never sends it
// again.
const settleTimeout = 30 * time.Second

// Summary is what Send did.
type Summary struct {
	MailingID string `json:"mailing_id"`
	// Recipients counts the affected customers.
	Recipients int `json:"recipients"`
	// Sent counts the messages sent by this run; Resent those of them
	// whose stale claim an earlier run left.
	Sent   int `json:"sent"`
	Resent int `json:"resent"`
	// SentBefore counts the customers an earlier run had sent.
	SentBefore int `json:"sent_before"`
	// Skipped counts the customers not sent, by reason.
	Skipped map[Reason]int `json:"skipped"`
	// Failed counts the sends that failed; Failures says why, by customer.
	Failed   int       `json:"failed"`
	Failures []Failure `json:"failures,omitempty"`
	// Unrecorded counts messages sent whose record could not be written:
	// their claims stay, and a rerun after StaleClaim sends them again.
	Unrecorded int `json:"unrecorded,omitempty"`
	// InFlight counts the sends cut off by the interruption while SES had
	// them: their claims stay (SES may have taken them), and a rerun after
	// StaleClaim sends them again.
	InFlight int `json:"in_flight,omitempty"`
	// Interrupted is true when the run stopped before every recipient was
	// settled (its context ended); Remaining counts those left.
	Interrupted bool `json:"interrupted"`
	Remaining   int  `json:"remaining,omitempty"`
}

// Failure is one customer's failed send.
type Failure struct {
	CustomerID string `json:"customer_id"`
	Error      string `json:"error"`
	// Recorded is true when the failure was written to the Ledger (a
	// permanent rejection: not retried); false means a rerun tries again.
	Recorded bool `json:"recorded"`
}

// SkippedTotal counts the skipped customers.
func (s *Summary) SkippedTotal() int {
	n := 0
	for _, v := range s.Skipped {
		n += v
	}
	return n
}

// SkipReasons returns the reasons skipped customers had, sorted.
func (s *Summary) SkipReasons() []Reason {
	out := make([]Reason, 0, len(s.Skipped))
	for r := range s.Skipped {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Progress is the state of a Send after one more recipient settled.
type Progress struct {
	// Done and Total count the recipients settled and all of them.
	Done, Total int
	// CustomerID is the recipient just settled and Status what happened.
	CustomerID string
	Status     Status
}

// errStop ends a Send early: the deployment cannot send, or too many
// sends in a row failed.
type errStop struct{ err error }

func (e *errStop) Error() string { return e.err.Error() }
func (e *errStop) Unwrap() error { return e.err }

// Send sends the plan's message to every recipient that is due one, one
// at a time, paced by s.Pace: it renders the message, claims the
// customer's entry in the Ledger, sends, and records the message id (or
// the permanent failure). Customers an earlier run sent, or a run in
// progress holds, are left alone. When ctx ends, Send stops between two
// recipients (a message SES took is still recorded) and returns the
// summary with Interrupted set and ctx's error. When the deployment
// cannot send (snapkeep.RejectSender) or DefaultMaxFailures sends in a
// row fail, it stops with an error; the summary says what was done.
func (s *Service) Send(ctx context.Context, p *Plan) (*Summary, error) {
	if s.Mailer == nil || s.Pace == nil || s.Notices == nil {
		return nil, fmt.Errorf("broadcast: Send needs a Mailer, a Pace and a Renderer")
	}
	cfg := s.Config.withDefaults()
	sum := &Summary{MailingID: p.MailingID, Recipients: len(p.Recipients), Skipped: map[Reason]int{}}
	inRow := 0
	for i := range p.Recipients {
		r := &p.Recipients[i]
		if ctx.Err() != nil {
			sum.Interrupted, sum.Remaining = true, len(p.Recipients)-i
			return sum, ctx.Err()
		}
		st, err := s.settle(ctx, p, r, cfg, sum)
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			sum.Interrupted, sum.Remaining = true, len(p.Recipients)-i
			return sum, err
		}
		var stop *errStop
		if errors.As(err, &stop) {
			sum.Remaining = len(p.Recipients) - i
			return sum, stop.err
		}
		if err != nil {
			sum.Failed++
			sum.Failures = append(sum.Failures, Failure{CustomerID: r.CustomerID, Error: err.Error()})
			if inRow++; inRow >= cfg.MaxFailures {
				sum.Remaining = len(p.Recipients) - i - 1
				return sum, fmt.Errorf("broadcast: %d sends in a row failed, the last: %w; rerun to go on (who was sent is recorded)", inRow, err)
			}
		} else if st == StatusSend || st == StatusResend {
			inRow = 0
		}
		if s.Progress != nil {
			s.Progress(Progress{Done: i + 1, Total: len(p.Recipients), CustomerID: r.CustomerID, Status: st})
		}
	}
	return sum, nil
}

// settle does what r is due and counts it in sum. An error not counted
// yet is returned: a failed send to count, an interruption, or an errStop.
func (s *Service) settle(ctx context.Context, p *Plan, r *Recipient, cfg Config, sum *Summary) (Status, error) {
	st, reason := p.Status(*r, s.now(), cfg.StaleClaim)
	switch st {
	case StatusSkip:
		sum.Skipped[reason]++
		return st, nil
	case StatusSentBefore:
		sum.SentBefore++
		return st, nil
	}
	msg, err := s.Render(ctx, p, r)
	if err != nil {
		return st, err
	}
	if err := s.Pace.Wait(ctx); err != nil {
		return st, err
	}
	claimedAt := s.now()
	existing, ok, err := s.Ledger.ClaimBroadcast(ctx, s.entry(p, r, cfg), snapkeep.Notice{Kind: snapkeep.NoticeBroadcast, At: claimedAt},
		func(n snapkeep.Notice) bool { return s.now().Sub(n.At) >= cfg.StaleClaim })
	if err != nil {
		return st, fmt.Errorf("claim: %w", err)
	}
	if !ok {
		// Another run got there between the plan and now.
		r.Before = &existing
		st, reason = p.Status(*r, s.now(), cfg.StaleClaim)
		if st == StatusSentBefore {
			sum.SentBefore++
		} else {
			sum.Skipped[reason]++
		}
		return st, nil
	}
	return st, s.deliver(ctx, p, r, msg, claimedAt, st, sum)
}

// deliver sends the claimed message and settles the claim: recorded
// when SES took or refused it for good, released when the send failed
// for now, kept when the run was interrupted during the send.
func (s *Service) deliver(ctx context.Context, p *Plan, r *Recipient, msg notice.Message, claimedAt time.Time, st Status, sum *Summary) error {
	log := s.log().With("mailing_id", p.MailingID, "customer_id", r.CustomerID)
	id, err := s.Mailer.Send(ctx, s.email(p, r, msg))
	var rej *snapkeep.RejectedError
	switch {
	case err == nil:
		sum.Sent++
		if st == StatusResend {
			sum.Resent++
		}
		if err := s.record(ctx, p, r, claimedAt, snapkeep.Notice{Kind: snapkeep.NoticeBroadcast, ID: id, At: s.now()}); err != nil {
			sum.Unrecorded++
			log.ErrorContext(ctx, "broadcast sent but not recorded: a rerun after the claim goes stale sends it again", "message_id", id, "error", err.Error())
		}
		return nil
	case errors.As(err, &rej) && rej.Scope == snapkeep.RejectSender:
		s.release(ctx, p, r, claimedAt, log)
		return &errStop{fmt.Errorf("broadcast stopped: SES refuses the sender (%s: %s): check the sender identity, the SES sandbox and the account's sending status", rej.Code, rej.Reason)}
	case errors.As(err, &rej):
		n := snapkeep.Notice{Kind: snapkeep.NoticeBroadcast, At: s.now(), Error: "not sent: " + rej.Error()}
		if err := s.record(ctx, p, r, claimedAt, n); err != nil {
			log.ErrorContext(ctx, "broadcast rejection not recorded", "error", err.Error())
		}
		if rej.Scope == snapkeep.RejectRecipient {
			sum.Skipped[SkipSuppressed]++
			if err := s.Customers.Block(context.WithoutCancel(ctx), r.CustomerID, snapkeep.ChannelEmail, rej.Code+": "+rej.Reason); err != nil {
				log.ErrorContext(ctx, "customer's email not blocked after SES refused the address", "error", err.Error())
			}
			return nil
		}
		sum.Failed++
		sum.Failures = append(sum.Failures, Failure{CustomerID: r.CustomerID, Error: rej.Error(), Recorded: true})
		return nil
	case ctx.Err() != nil:
		// SES may have taken it: keep the claim, a rerun re-sends it once
		// the claim is stale.
		sum.InFlight++
		return ctx.Err()
	default:
		s.release(ctx, p, r, claimedAt, log)
		return fmt.Errorf("send: %w", err)
	}
}

// record writes the outcome of a send, even when ctx has ended.
func (s *Service) record(ctx context.Context, p *Plan, r *Recipient, claimedAt time.Time, n snapkeep.Notice) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	return s.Ledger.RecordBroadcast(ctx, p.MailingID, r.CustomerID, claimedAt, n)
}

func (s *Service) release(ctx context.Context, p *Plan, r *Recipient, claimedAt time.Time, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	if err := s.Ledger.ReleaseBroadcast(ctx, p.MailingID, r.CustomerID, claimedAt); err != nil {
		log.WarnContext(ctx, "broadcast claim not released: a rerun sends it once the claim is stale", "error", err.Error())
	}
}

// entry is r's Ledger entry.
func (s *Service) entry(p *Plan, r *Recipient, cfg Config) Entry {
	e := Entry{MailingID: p.MailingID, CustomerID: r.CustomerID, ExpiresAt: s.now().Add(cfg.TTL)}
	if p.Target.Incident != nil {
		e.IncidentID = p.Target.Incident.IncidentID
	}
	for i := 0; i < len(r.Runs) && i < MaxEntryRuns; i++ {
		e.RunIDs = append(e.RunIDs, r.Runs[i].RunID)
	}
	return e
}

// email is the message to r as the Mailer sends it.
func (s *Service) email(p *Plan, r *Recipient, msg notice.Message) Email {
	c := r.Customer
	return Email{
		To: c.Email, ToName: c.Name, Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML,
		UnsubscribeURL: s.unsubscribe(c),
		Headers: map[string]string{
			"X-Snapkeep-Kind":    string(snapkeep.NoticeBroadcast),
			"X-Snapkeep-Mailing": p.MailingID,
		},
	}
}

// unsubscribe is c's one-click unsubscribe URL (RFC 8058): the
// preferences page of their token.
func (s *Service) unsubscribe(c *snapkeep.Customer) string {
	if c.PreferencesToken == "" {
		return ""
	}
	return s.Notices.Links().Preferences(c)
}

// Render renders the message to r (the dry run shows one): its failed
// runs with their policies (one GetItem per policy; a deleted policy is
// told without one).
func (s *Service) Render(ctx context.Context, p *Plan, r *Recipient) (notice.Message, error) {
	if r.Customer == nil {
		return notice.Message{}, fmt.Errorf("render: customer %s does not exist", r.CustomerID)
	}
	policies := map[string]*snapkeep.Policy{}
	failed := make([]notice.FailedRun, 0, len(r.Runs))
	for i := range r.Runs {
		run := &r.Runs[i]
		pol, seen := policies[run.PolicyID]
		if !seen && s.Policies != nil {
			got, err := s.Policies.Get(ctx, run.PolicyID)
			switch {
			case err == nil:
				pol = got
			case !errors.Is(err, snapkeep.ErrNotFound):
				return notice.Message{}, fmt.Errorf("render: policy %s: %w", run.PolicyID, err)
			}
			policies[run.PolicyID] = pol
		}
		failed = append(failed, notice.FailedRun{Run: run, Policy: pol})
	}
	msg, err := s.Notices.Broadcast(notice.BroadcastInput{Customer: r.Customer, Problem: p.Problem,
		Since: p.Window.From, Until: p.Window.To, Failed: failed, Now: s.now()})
	if err != nil {
		return notice.Message{}, fmt.Errorf("render: %w", err)
	}
	if len(msg.Warnings) > 0 {
		s.log().WarnContext(ctx, "broadcast told in fallback words", "customer_id", r.CustomerID, "warnings", strings.Join(msg.Warnings, "; "))
	}
	return msg, nil
}
