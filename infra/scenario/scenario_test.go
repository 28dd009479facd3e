package scenario

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/infra/triggers"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// plan is every delivery of f's enabled policies over the play.
func plan(t *testing.T, f *Fleet) []triggers.Delivery {
	t.Helper()
	var scheds []triggers.Schedule
	for _, p := range f.Policies {
		s := triggers.Schedule{Name: p.PolicyID, Group: "g", Expression: p.Schedule, TimeZone: p.TimeZone, Enabled: p.Enabled,
			Input:          `{"policy_id":"` + p.PolicyID + `","scheduled_time":"<aws.scheduler.scheduled-time>"}`,
			FlexibleWindow: time.Duration(p.FlexibleWindowMinutes) * time.Minute}
		scheds = append(scheds, s)
	}
	parsed, err := triggers.Parse(scheds)
	if err != nil {
		t.Fatal(err)
	}
	return triggers.Plan(parsed, f.Config.Start.Add(-time.Second), f.Config.End().Add(-time.Second), triggers.PlanOptions{Seed: f.Config.Seed})
}

func TestBuildIsDeterministic(t *testing.T) {
	a, err := Build(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("two builds of the default config differ")
	}
	c := DefaultConfig()
	c.Seed = 2
	other, err := Build(c)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a.Policies, other.Policies) {
		t.Error("another seed built the same policies")
	}
	if fa, fb := a.Faults(plan(t, a)), a.Faults(plan(t, b)); !reflect.DeepEqual(fa, fb) {
		t.Error("the same fleet drew different faults")
	}
}

// The default fleet has what the story needs.
func TestDefaultFleet(t *testing.T) {
	f, err := Build(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Policies) != 301 { // 300 and the volume at the limit
		t.Errorf("%d policies, want 301", len(f.Policies))
	}
	kinds := map[string]int{}
	for _, p := range f.Policies {
		switch {
		case strings.Contains(p.PolicyID, "-hourly-"):
			kinds["hourly"]++
		case !p.Enabled:
			kinds["paused"]++
		}
		kinds[string(p.Kind)]++
		if err := p.Validate(); err != nil {
			t.Errorf("policy %s: %v", p.PolicyID, err)
		}
	}
	if kinds["hourly"] != 30 || kinds["paused"] < 2 || kinds["droplet"] < 150 || kinds["volume"] < 30 {
		t.Errorf("policies by kind %v: want 30 hourly, paused ones, droplets and volumes", kinds)
	}
	if len(f.Customers) != 12 || len(f.Accounts) != 14 {
		t.Errorf("%d customers, %d accounts; want 12 and 14", len(f.Customers), len(f.Accounts))
	}
	modes := map[snapkeep.NotificationMode]int{}
	slack, gone := 0, 0
	for _, c := range f.Customers {
		modes[c.NotificationMode]++
		if c.SlackPath != "" {
			slack++
		}
		if strings.HasSuffix(c.SlackPath, "/gone") {
			gone++
		}
	}
	if slack < 3 || gone != 1 || modes[snapkeep.NotifyDailyDigest] != 1 || modes[snapkeep.NotifyFirstFailure] != 1 {
		t.Errorf("%d on Slack (%d gone), modes %v: want several on Slack, one gone, one digest, one first-failure", slack, gone, modes)
	}
	near := 0
	for _, s := range f.Snapshots {
		if s.ResourceID == f.NearLimitVolume {
			near++
		}
	}
	if near != 24 {
		t.Errorf("the volume near the limit has %d snapshots, want 24", near)
	}
	var kindsOfEvents []string
	for _, e := range f.Events {
		kindsOfEvents = append(kindsOfEvents, string(e.Kind))
	}
	if got := strings.Join(kindsOfEvents, ","); got != "token_revoked,droplet_deleted,droplet_deleted,token_renewed" {
		t.Errorf("events %s", got)
	}
}

// The shape of the day: hourly runs 06:00-21:59 UTC, nothing between
// 22:00 and midnight, and no hour of the default incident without a
// droplet snapshot request.
func TestShapeOfTheDay(t *testing.T) {
	f, err := Build(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	deliveries := plan(t, f)
	perDay := map[string]int{}
	lastDroplet := f.Incident.From
	for _, d := range deliveries {
		h := d.Deliver.Hour()
		if h >= 22 {
			t.Errorf("%s is delivered at %s: the evening must be quiet", d.Schedule, d.Deliver.Format(time.RFC3339))
		}
		if strings.Contains(d.Schedule, "-hourly-") && (h < 6 || h > 21) {
			t.Errorf("hourly %s at %s: outside 06:00-21:59 UTC", d.Schedule, d.Deliver.Format(time.RFC3339))
		}
		perDay[d.Deliver.Format(time.DateOnly)]++
		if p, _ := f.Policy(d.Schedule); p.Kind == snapkeep.ResourceDroplet && f.Incident.Contains(d.Deliver) {
			if gap := d.Deliver.Sub(lastDroplet); gap >= 45*time.Minute {
				t.Errorf("no droplet snapshot request from %s to %s during the incident", lastDroplet.Format(time.RFC3339), d.Deliver.Format(time.RFC3339))
			}
			lastDroplet = d.Deliver
		}
	}
	if f.Incident.Until.Sub(lastDroplet) > 30*time.Minute {
		t.Errorf("the last droplet request of the incident is at %s, long before its end %s", lastDroplet, f.Incident.Until)
	}
	if len(perDay) != 2 || perDay["2026-11-23"] < 500 || perDay["2026-11-23"] > 900 {
		t.Errorf("deliveries per day %v: want two days of 500-900 runs", perDay)
	}
}

func TestFaults(t *testing.T) {
	f, err := Build(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	deliveries := plan(t, f)
	faults := f.Faults(deliveries)
	inWindow := 0
	for _, d := range deliveries {
		if p, _ := f.Policy(d.Schedule); p.Kind == snapkeep.ResourceDroplet && f.Incident.Contains(d.Deliver) {
			inWindow++
		}
	}
	stuck, single := 0, 0
	for _, flt := range faults {
		if !f.Incident.Contains(flt.From) || flt.Status != 500 || flt.Operation != snapkeep.OpSnapshotDroplet {
			t.Errorf("fault %+v: want a 500 on a droplet snapshot request inside the incident", flt)
		}
		if flt.Stuck {
			stuck++
			if flt.Until.Sub(flt.From) != StuckFor || flt.Count != 0 {
				t.Errorf("stuck fault %+v: want every request for %s", flt.Fault, StuckFor)
			}
		} else {
			single++
			if flt.Count != 1 {
				t.Errorf("single fault %+v: want one request", flt.Fault)
			}
		}
	}
	if stuck != DefaultConfig().StuckRuns {
		t.Errorf("%d stuck runs, want %d", stuck, DefaultConfig().StuckRuns)
	}
	// About 2% of the window's droplet runs: a binomial draw.
	want := float64(inWindow) * DefaultConfig().IncidentRate
	if float64(single) < want/3 || float64(single) > want*3 {
		t.Errorf("%d single faults for %d droplet runs in the window: want about %.0f", single, inWindow, want)
	}
	none := DefaultConfig()
	none.IncidentDuration = 0
	nf, err := Build(none)
	if err != nil {
		t.Fatal(err)
	}
	if got := nf.Faults(plan(t, nf)); len(got) != 0 {
		t.Errorf("a scenario without an incident drew %d faults", len(got))
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{name: "too few policies", edit: func(c *Config) { c.Policies = 5 }, want: "policies 5"},
		{name: "too many hourly", edit: func(c *Config) { c.Hourly = 200 }, want: "hourly policies 200"},
		{name: "no days", edit: func(c *Config) { c.Days = 0 }, want: "days 0"},
		{name: "rate over 1", edit: func(c *Config) { c.IncidentRate = 2 }, want: "incident rate 2"},
		{name: "incident after the end", edit: func(c *Config) { c.IncidentStart = 40 * time.Hour }, want: "inside the 2 simulated days"},
		{name: "start mid-minute", edit: func(c *Config) { c.Start = c.Start.Add(time.Second) }, want: "whole minute"},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.edit(&c)
		if _, err := Build(c); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Build: %v, want %q", tt.name, err, tt.want)
		}
	}
}
