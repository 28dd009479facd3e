package notice

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Bounds on the lists of the incident, resolved, digest and broadcast
// messages, so that a customer with 500 policies gets a readable email
// (Gmail clips bodies over 102 KB) and a Slack message within its limits.
const (
	// MaxListedPolicies is the most policies a message lists; the rest
	// are counted ("and 400 more policies") and linked to.
	MaxListedPolicies = 100
	// maxListedSlots is the most failed slots listed for one policy.
	maxListedSlots = 6
)

// policyGroup is one policy's failed runs in a list message.
type policyGroup struct {
	// Backup names the policy's latest failed run.
	Backup backupView
	// Slots are the failed runs' slots, oldest first (at most
	// maxListedSlots), and More the count of those not listed.
	Slots []moment
	More  int
	Count int
	// Classes are the wording classes of the failures, distinct, in
	// order of first failure.
	Classes []string
	// Class is the class told first: the first that needs the customer
	// to act, else the latest.
	Class    string
	Action   bool
	Affected bool
	// After is the policy's run after the incident (Resolved only).
	After *afterView
}

// listView is the data of a list message.
type listView struct {
	Customer customerView
	Groups   []*policyGroup
	// Unlisted counts the policies beyond MaxListedPolicies.
	Unlisted int
	// Runs counts all failed runs; Policies all policies with one.
	Runs, Policies int
	// ActionGroups are the listed groups that need the customer to act.
	ActionGroups []*policyGroup
	Affected     int
	Zone         *time.Location
	Problem      *problemView
	From, To     moment
	Window       string
	Recent       bool
	PoliciesURL  string
	StatusPage   string
}

// groupFailures groups failed runs by policy, sorted by policy id, each
// told in its policy's time zone. The zone of the list (for times not of
// one policy) is the policies' common zone, or UTC when they differ.
func (r *Renderer) groupFailures(failed []FailedRun, now time.Time) ([]*policyGroup, *time.Location, []string) {
	type acc struct {
		runs   []*snapkeep.Run
		policy *snapkeep.Policy
		name   string
	}
	byPolicy := map[string]*acc{}
	var warns []string
	for i, f := range failed {
		if f.Run == nil {
			warns = append(warns, fmt.Sprintf("failed run %d is nil: left out", i))
			continue
		}
		a := byPolicy[f.Run.PolicyID]
		if a == nil {
			a = &acc{}
			byPolicy[f.Run.PolicyID] = a
		}
		a.runs = append(a.runs, f.Run)
		if a.policy == nil {
			a.policy = f.Policy
		}
		if a.name == "" {
			a.name = f.ResourceName
		}
	}
	ids := make([]string, 0, len(byPolicy))
	for id := range byPolicy {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	groups := make([]*policyGroup, 0, len(ids))
	var zone *time.Location
	for i, id := range ids {
		a := byPolicy[id]
		loc, w := loadZone(a.policy)
		if w != "" {
			warns = append(warns, w)
		}
		switch {
		case i == 0:
			zone = loc
		case zone.String() != loc.String():
			zone = time.UTC
		}
		g, ws := r.group(a.runs, a.policy, a.name, loc, now)
		warns = append(warns, ws...)
		groups = append(groups, g)
	}
	if zone == nil {
		zone = time.UTC
	}
	return groups, zone, warns
}

// group describes one policy's failed runs.
func (r *Renderer) group(runs []*snapkeep.Run, p *snapkeep.Policy, name string, loc *time.Location, now time.Time) (*policyGroup, []string) {
	sort.Slice(runs, func(i, j int) bool { return runs[i].ScheduledAt.Before(runs[j].ScheduledAt) })
	last := runs[len(runs)-1]
	b, warns := r.viewBackup(last, p, name, loc, now)
	g := &policyGroup{Backup: b, Count: len(runs)}
	seen := map[string]bool{}
	for i, run := range runs {
		if i < maxListedSlots {
			g.Slots = append(g.Slots, at(run.ScheduledAt, loc))
		}
		c := run.ErrorClass
		if !c.Valid() {
			warns = append(warns, fmt.Sprintf("run %s: unknown error class %q, told as internal", HeaderSafe(run.Key().RunID(), 2*maxName), HeaderSafe(string(c), maxName)))
			c = snapkeep.ClassInternal
		}
		info := c.Info()
		if !seen[string(c)] {
			seen[string(c)] = true
			g.Classes = append(g.Classes, string(c))
		}
		if info.CustomerAction != "" && !g.Action {
			g.Action, g.Class = true, string(c)
		}
		g.Affected = g.Affected || info.ServerAffected
	}
	g.More = len(runs) - len(g.Slots)
	if g.Class == "" {
		g.Class = g.Classes[len(g.Classes)-1]
	}
	return g, warns
}

// viewList fills the list data common to every list message.
func (r *Renderer) viewList(c *snapkeep.Customer, failed []FailedRun, now time.Time) (*listView, []string) {
	groups, zone, warns := r.groupFailures(failed, now)
	v := &listView{Customer: viewCustomer(c), Zone: zone, Policies: len(groups),
		PoliciesURL: r.links.Policies(), StatusPage: r.links.Status()}
	for _, g := range groups {
		v.Runs += g.Count
		if g.Affected {
			v.Affected++
		}
	}
	if len(groups) > MaxListedPolicies {
		v.Unlisted = len(groups) - MaxListedPolicies
		groups = groups[:MaxListedPolicies]
	}
	v.Groups = groups
	for _, g := range groups {
		if g.Action {
			v.ActionGroups = append(v.ActionGroups, g)
		}
	}
	return v, warns
}

// items returns one list item per group, told by the phrase name, and
// one more counting the policies not listed.
func (v *listView) items(name string) []phrase {
	out := make([]phrase, 0, len(v.Groups)+1)
	for _, g := range v.Groups {
		out = append(out, ph(name, g))
	}
	if v.Unlisted > 0 {
		out = append(out, ph("list.unlisted", v))
	}
	return out
}

// SlotList tells the group's failed slots, by local date: "03:00, 04:00
// and 05:00 on Tue 24 Nov", "23:00 on Mon 23 Nov and 00:00 on Tue 24 Nov",
// then ", and 6 more" for those not listed.
func (g *policyGroup) SlotList() string {
	var parts []string
	for i := 0; i < len(g.Slots); {
		j := i
		var clocks []string
		for ; j < len(g.Slots) && g.Slots[j].ShortDate() == g.Slots[i].ShortDate(); j++ {
			clocks = append(clocks, g.Slots[j].Clock())
		}
		parts = append(parts, andList(clocks)+" on "+g.Slots[i].ShortDate())
		i = j
	}
	s := andList(parts)
	if len(parts) > 1 {
		s = strings.Join(parts, "; ")
	}
	if g.More > 0 {
		s += fmt.Sprintf(", and %s", plural(g.More, "more", "more"))
	}
	return s
}

// andList joins "a", "b" and "c" as "a, b and c".
func andList(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
