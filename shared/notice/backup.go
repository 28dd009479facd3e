package notice

import (
	"fmt"
	"time"

	"github.com/snapkeep/snapkeep/shared/schedule"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// backupView is one backup (a run of a policy) as messages name it. Every
// string in it is made safe and cut (HeaderSafe).
type backupView struct {
	PolicyID  string
	Noun      string // "droplet" or "volume"
	Server    string // what the customer calls it: "server" or "volume"
	ID        string
	Name      string // the resource's name, "" when unknown
	Region    string
	Account   string
	Schedule  string
	KeepLast  int
	Slot      moment
	Next      nextView
	PolicyURL string
	RunID     string
	OnDemand  bool
}

// Why values of a nextView without a time.
const (
	nextDeleted = "deleted"
	nextPaused  = "paused"
	nextInvalid = "invalid"
	nextEnded   = "ended"
	nextUnknown = "unknown"
)

// nextView is the policy's next scheduled backup, or why there is none.
type nextView struct {
	At  moment
	Why string // "" when At is set
}

// Known reports whether the next backup's time is known.
func (n nextView) Known() bool { return n.Why == "" }

// viewBackup describes run (of policy p, which may be nil, on the
// resource named name) in loc, with its next backup after now.
func (r *Renderer) viewBackup(run *snapkeep.Run, p *snapkeep.Policy, name string, loc *time.Location, now time.Time) (backupView, []string) {
	res := run.Resource
	account := run.AccountID
	if p != nil {
		if res.ID == "" {
			res = p.Resource
		}
		if account == "" {
			account = p.AccountID
		}
	}
	b := backupView{
		PolicyID:  HeaderSafe(run.PolicyID, maxName),
		Noun:      string(snapkeep.ResourceDroplet),
		Server:    "server",
		ID:        HeaderSafe(res.ID, maxName),
		Name:      HeaderSafe(name, maxName),
		Region:    HeaderSafe(res.Region, maxName),
		Account:   HeaderSafe(account, maxName),
		Slot:      at(run.ScheduledAt, loc),
		PolicyURL: r.links.Policy(run.PolicyID),
		RunID:     HeaderSafe(run.Key().RunID(), 2*maxName),
		OnDemand:  run.Trigger == snapkeep.TriggerOnDemand,
	}
	if res.Kind == snapkeep.ResourceVolume {
		b.Noun, b.Server = string(snapkeep.ResourceVolume), string(snapkeep.ResourceVolume)
	}
	var warns []string
	if p != nil {
		b.Schedule = HeaderSafe(p.Schedule, maxName)
		b.KeepLast = p.KeepLast
	}
	after := now
	if run.ScheduledAt.After(after) {
		after = run.ScheduledAt
	}
	var w string
	b.Next, w = nextBackup(p, loc, after)
	if w != "" {
		warns = append(warns, w)
	}
	return b, warns
}

// nextBackup returns the policy's first scheduled backup after `after`, as
// EventBridge Scheduler fires it (shared/schedule: daylight-saving gaps
// skipped, repeated hours fired once; a rate counts from the policy's
// last update, when its schedule was written), or why there is none.
func nextBackup(p *snapkeep.Policy, loc *time.Location, after time.Time) (nextView, string) {
	switch {
	case p == nil:
		return nextView{Why: nextDeleted}, ""
	case !p.Enabled:
		return nextView{Why: nextPaused}, ""
	case p.InvalidReason != "":
		return nextView{Why: nextInvalid}, ""
	}
	expr, err := schedule.Parse(p.Schedule)
	if err != nil {
		return nextView{Why: nextUnknown}, fmt.Sprintf("policy %s: schedule does not parse, the message cannot tell the next backup: %v", HeaderSafe(p.PolicyID, maxName), HeaderSafe(err.Error(), maxReason))
	}
	var start time.Time
	if expr.Kind() == schedule.KindRate {
		start = p.UpdatedAt
	}
	t, ok := expr.Next(after, loc, start)
	if !ok {
		return nextView{Why: nextEnded}, ""
	}
	return nextView{At: at(t, loc)}, ""
}
