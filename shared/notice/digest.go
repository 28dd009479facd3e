package notice

import (
	"fmt"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// DigestInput is what the daily summary needs.
type DigestInput struct {
	// Customer is who the message is for (required).
	Customer *snapkeep.Customer
	// From and To bound the period summarised, normally one day in the
	// customer's policies' time zone.
	From, To time.Time
	// Failed are the customer's failed runs in the period (at least one).
	Failed []FailedRun
	// Now is the time of rendering.
	Now time.Time
}

// Digest renders the daily summary of a customer's failed backups,
// grouped by policy (sorted by policy id, at most MaxListedPolicies, the
// rest counted): the policies that need the customer to act first, then
// every policy with failures, each with its failed slots, why, and its
// next backup.
func (r *Renderer) Digest(in DigestInput) (Message, error) {
	if err := needCustomer("digest", in.Customer); err != nil {
		return Message{}, err
	}
	if len(in.Failed) == 0 {
		return Message{}, fmt.Errorf("notice digest: no failed runs of customer %s to summarise", HeaderSafe(in.Customer.CustomerID, maxName))
	}
	if !in.To.After(in.From) {
		return Message{}, fmt.Errorf("notice digest: period %s to %s is empty", in.From.Format(time.RFC3339), in.To.Format(time.RFC3339))
	}
	v, warns := r.viewList(in.Customer, in.Failed, in.Now)
	if len(v.Groups) == 0 {
		return Message{}, fmt.Errorf("notice digest: none of the %d failed runs can be told", len(in.Failed))
	}
	v.From, v.To = at(in.From, v.Zone), at(in.To.Add(-time.Nanosecond), v.Zone)
	d := document{Kind: snapkeep.NoticeDigest, Tone: toneInfo,
		Status: ph("digest.status", v), Subject: ph("digest.subject", v),
		Preheader: ph("digest.preheader", v), Title: ph("digest.title", v)}
	d.Blocks = []block{{Paras: []phrase{ph("greeting", v.Customer), ph("digest.lead", v)}}}
	if len(v.ActionGroups) > 0 {
		items := make([]phrase, len(v.ActionGroups))
		for i, g := range v.ActionGroups {
			items[i] = ph("digest.action", g)
		}
		d.Blocks = append(d.Blocks, block{Heading: ph("h.action", nil), Items: items})
	}
	d.Blocks = append(d.Blocks, block{Heading: ph("h.failed", v), Items: v.items("digest.item"),
		Links: []link{{ph("link.policies", nil), v.PoliciesURL}}})
	return r.finish(d, in.Customer, warns, "digest")
}
