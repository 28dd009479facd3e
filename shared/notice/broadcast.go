package notice

import (
	"fmt"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// recentSlack is how close to Now a broadcast window's end must be for
// the message to say "in the last N hours".
const recentSlack = time.Hour

// BroadcastInput is what the message to everyone affected by a
// DigitalOcean problem needs (snapctl broadcast, one per customer).
type BroadcastInput struct {
	// Customer is who the message is for (required).
	Customer *snapkeep.Customer
	// Problem is DigitalOcean's problem, across all customers: ProblemOf
	// an incident, or the figures of a --class/--since/--until query.
	Problem ProviderProblem
	// Since and Until bound the window the customer's failures are from.
	Since, Until time.Time
	// Failed are the customer's failed runs in the window (at least one).
	Failed []FailedRun
	// Now is the time of rendering.
	Now time.Time
}

// Broadcast renders the default "email everyone affected" message, in the
// spirit of the operator's after-incident email: in the window some of
// your backups failed; DigitalOcean's API had a problem (its error rate,
// how long, across all customers); snapkeep raised it and tracked it; it
// is over or still going on; your servers were never affected; which
// backups failed; DigitalOcean's status page.
func (r *Renderer) Broadcast(in BroadcastInput) (Message, error) {
	if err := needCustomer("broadcast", in.Customer); err != nil {
		return Message{}, err
	}
	if len(in.Failed) == 0 {
		return Message{}, fmt.Errorf("notice broadcast: no failed runs of customer %s to tell of", HeaderSafe(in.Customer.CustomerID, maxName))
	}
	if !in.Until.After(in.Since) {
		return Message{}, fmt.Errorf("notice broadcast: window %s to %s is empty", in.Since.Format(time.RFC3339), in.Until.Format(time.RFC3339))
	}
	if in.Problem.From.IsZero() {
		return Message{}, fmt.Errorf("notice broadcast: the problem has no start (Problem.From)")
	}
	v, warns := r.viewList(in.Customer, in.Failed, in.Now)
	if len(v.Groups) == 0 {
		return Message{}, fmt.Errorf("notice broadcast: none of the %d failed runs can be told", len(in.Failed))
	}
	if err := neverAffected("broadcast", v); err != nil {
		return Message{}, err
	}
	v.Problem = r.viewProblem(in.Problem, v.Zone, in.Now)
	v.From, v.To = at(in.Since, v.Zone), at(in.Until, v.Zone)
	v.Window = roughDuration(in.Until.Sub(in.Since))
	v.Recent = in.Now.Sub(in.Until) < recentSlack
	d := document{Kind: snapkeep.NoticeBroadcast, Tone: toneInfo,
		Status: ph("broadcast.status", v), Subject: ph("broadcast.subject", v),
		Preheader: ph("broadcast.preheader", v), Title: ph("broadcast.title", v)}
	d.Blocks = []block{
		{Paras: []phrase{ph("greeting", v.Customer), ph("broadcast.lead", v), ph("broadcast.cause", v)}},
		{Heading: ph("h.snapkeep.did", nil), Paras: []phrase{ph("broadcast.did", v)},
			Links: []link{{ph("link.status", nil), v.StatusPage}}},
		{Heading: ph("h.servers", nil), Paras: []phrase{ph("broadcast.servers", v)}},
		{Heading: ph("h.failed", v), Items: v.items("digest.item"),
			Links: []link{{ph("link.policies", nil), v.PoliciesURL}}},
		{Paras: []phrase{ph("broadcast.sorry", v)}},
	}
	return r.finish(d, in.Customer, warns, "broadcast")
}

// neverAffected returns an error when a listed policy's droplet or volume
// is gone (resource_missing): the message says servers were never
// affected, which would then be false. Such runs are told on their own.
func neverAffected(what string, v *listView) error {
	for _, g := range v.Groups {
		if g.Affected {
			return fmt.Errorf("notice %s: policy %s failed because its %s no longer exists: leave its runs out (they get a failure message of their own), since this message says servers were never affected", what, g.Backup.PolicyID, g.Backup.Noun)
		}
	}
	return nil
}
