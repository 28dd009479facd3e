package scenario

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/schedule"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/snapshot"
)

// Customer is one customer of the fleet.
type Customer struct {
	snapkeep.Customer
	// TimeZone is where the customer is: its policies' schedules are in it.
	TimeZone string
	// Region is where its resources are.
	Region string
	// SlackPath is the path of its Slack webhook under the fake Slack
	// server's /services/ ("" when it has none); one ending in "/gone"
	// answers 404 channel_not_found, as a deleted channel's does.
	SlackPath string
	// Accounts are its DigitalOcean accounts.
	Accounts []string
}

// Account is one DigitalOcean account (one token, with its own rate
// budget at the fake).
type Account struct {
	// ID is the account id (the token's secret is named after it).
	ID string
	// CustomerID owns it.
	CustomerID string
}

// EventKind is something that happens to the fleet during the play.
type EventKind string

// Events.
const (
	// TokenRevoked: the customer revokes the account's token at
	// DigitalOcean (its requests answer 401 from then on).
	TokenRevoked EventKind = "token_revoked"
	// TokenRenewed: the customer gives snapkeep a new token for the
	// account (snapctl account set-token).
	TokenRenewed EventKind = "token_renewed"
	// DropletDeleted: the customer deletes a droplet a policy still backs up.
	DropletDeleted EventKind = "droplet_deleted"
)

// Event is one thing that happens at a time.
type Event struct {
	// At is when it happens; Kind what happens.
	At   time.Time
	Kind EventKind
	// Account is the account of a token event.
	Account string
	// DropletID is the droplet of a DropletDeleted event.
	DropletID int
	// Says is the event in a few words, for the narrative.
	Says string
}

// Fleet is everything Build made.
type Fleet struct {
	// Config is what it was built from.
	Config Config
	// Incident is the provider incident.
	Incident Incident
	// Customers are the customers, largest first; Accounts their
	// DigitalOcean accounts (two for the two largest, one for the others),
	// in the same order.
	Customers []Customer
	Accounts  []Account
	// Policies are the backup policies, valid, sorted by id.
	Policies []snapkeep.Policy
	// Droplets, Volumes and Snapshots are the fake DigitalOcean's
	// resources and the snapshots they have before the play (the
	// policies' earlier ones, as retention left them, and the customers'
	// own).
	Droplets  []dotest.Droplet
	Volumes   []dotest.Volume
	Snapshots []dotest.Snapshot
	// Events happen during the play, in time order.
	Events []Event
	// NearLimitVolume is the volume that starts one snapshot short of
	// DigitalOcean's limit of 25.
	NearLimitVolume string
}

// The customers the fleet draws from: name, time zone, region.
var companies = []struct{ slug, name, tz, region string }{
	{"acme", "Acme Corp", "Europe/Berlin", "fra1"},
	{"bluefin", "Bluefin Analytics", "Europe/London", "fra1"},
	{"kettle", "Kettle & Co", "Europe/Berlin", "fra1"},
	{"northwind", "Northwind Traders", "America/New_York", "nyc3"},
	{"orbital", "Orbital Maps", "Europe/London", "fra1"},
	{"pinecone", "Pinecone Labs", "America/New_York", "nyc3"},
	{"quartz", "Quartz Ledger", "Asia/Singapore", "sgp1"},
	{"riverbank", "Riverbank School", "Europe/Berlin", "fra1"},
	{"saltmarsh", "Saltmarsh Studio", "Europe/London", "nyc3"},
	{"tidewater", "Tidewater Health", "America/New_York", "nyc3"},
	{"umbra", "Umbra Games", "Asia/Singapore", "sgp1"},
	{"vellum", "Vellum Press", "Europe/Berlin", "fra1"},
}

// Roles of customers (by position): who is on Slack, who hears how, who
// loses a token or a droplet.
const (
	revokingCustomer = 4  // orbital: revokes its token on day one, renews it on day two
	deletingCustomer = 5  // pinecone: deletes two droplets on day one (daily digest)
	goneSlack        = 8  // saltmarsh: its Slack channel was deleted
	limitCustomer    = 2  // kettle: its data volume is at the snapshot limit
	firstFailureOnly = 10 // umbra: first failure and recovery only
)

// Build makes the fleet c describes.
func Build(c Config) (*Fleet, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	b := &builder{c: c, rng: rand.New(rand.NewPCG(c.Seed, c.Seed^0x51a9)),
		f: &Fleet{Config: c, Incident: c.Incident()}}
	b.customers()
	if err := b.policies(); err != nil {
		return nil, err
	}
	if err := b.history(); err != nil {
		return nil, err
	}
	b.events()
	sort.Slice(b.f.Policies, func(i, j int) bool { return b.f.Policies[i].PolicyID < b.f.Policies[j].PolicyID })
	for i := range b.f.Policies {
		if err := b.f.Policies[i].Validate(); err != nil {
			return nil, fmt.Errorf("scenario: policy %s: %w", b.f.Policies[i].PolicyID, err)
		}
	}
	return b.f, nil
}

type builder struct {
	c   Config
	rng *rand.Rand
	f   *Fleet
	// weights are the customers' shares of the policies.
	weights []float64
	// nextDroplet numbers droplets; volumeSeq numbers volumes.
	nextDroplet, volumeSeq int
	// perCustomer counts each customer's policies (for ids).
	perCustomer map[string]int
}

func (b *builder) customers() {
	n := min(max(b.c.Policies/25, 3), len(companies))
	for i := 0; i < n; i++ {
		co := companies[i]
		cu := Customer{TimeZone: co.tz, Region: co.region, Customer: snapkeep.Customer{
			CustomerID: "cust-" + co.slug, Name: co.name, Email: "ops@" + co.slug + ".example",
			NotificationMode: snapkeep.NotifyEveryFailure,
		}}
		switch i {
		case deletingCustomer:
			cu.NotificationMode = snapkeep.NotifyDailyDigest
		case firstFailureOnly:
			cu.NotificationMode = snapkeep.NotifyFirstFailure
		}
		if i%3 == 1 || i == goneSlack {
			cu.SlackPath = fmt.Sprintf("T0SNAPKEEP/B0%s/%016x", strings.ToUpper(co.slug[:4]), b.rng.Uint64())
			if i == goneSlack {
				cu.SlackPath = fmt.Sprintf("T0SNAPKEEP/B0%s/gone", strings.ToUpper(co.slug[:4]))
			}
		}
		accounts := 1
		if i < 2 {
			accounts = 2 // the two largest customers have two accounts
		}
		for a := 1; a <= accounts; a++ {
			id := "acct-" + co.slug
			if a > 1 {
				id = fmt.Sprintf("%s-%d", id, a)
			}
			cu.Accounts = append(cu.Accounts, id)
			b.f.Accounts = append(b.f.Accounts, Account{ID: id, CustomerID: cu.CustomerID})
		}
		b.f.Customers = append(b.f.Customers, cu)
		// Larger customers first: shares fall off as 1/(i+1)^0.8.
		b.weights = append(b.weights, 1/math.Pow(float64(i+1), 0.8))
	}
	b.perCustomer = map[string]int{}
	b.nextDroplet = 3164400
}

// pick draws a customer by weight among those allowed.
func (b *builder) pick(allowed func(i int) bool) int {
	total := 0.0
	for i, w := range b.weights {
		if allowed(i) {
			total += w
		}
	}
	x := b.rng.Float64() * total
	for i, w := range b.weights {
		if !allowed(i) {
			continue
		}
		if x -= w; x < 0 {
			return i
		}
	}
	for i := len(b.weights) - 1; i >= 0; i-- {
		if allowed(i) {
			return i
		}
	}
	return 0
}

// inEurope says whether customer i's working day is 06:00-21:59 UTC give
// or take an hour (the hourly policies' customers).
func (b *builder) inEurope(i int) bool {
	return strings.HasPrefix(b.f.Customers[i].TimeZone, "Europe/")
}

// policies makes the hourly and the daily policies and their resources.
func (b *builder) policies() error {
	hourly := b.c.hourly()
	for k := 0; k < hourly; k++ {
		i := b.pick(func(i int) bool { return b.inEurope(i) && i != revokingCustomer && i != deletingCustomer })
		if err := b.addPolicy(i, policyShape{Hourly: true, Kind: b.kind(0.8)}); err != nil {
			return err
		}
	}
	for k := hourly; k < b.c.Policies; k++ {
		i := b.pick(func(int) bool { return true })
		if err := b.addPolicy(i, policyShape{Kind: b.kind(0.75)}); err != nil {
			return err
		}
	}
	// A few paused policies (their schedules are DISABLED).
	paused := 0
	for i := range b.f.Policies {
		if p := &b.f.Policies[i]; i%97 == 13 && paused < 3 {
			p.Enabled, paused = false, paused+1
		}
	}
	return b.nearLimitVolume()
}

// policyShape is what kind of policy addPolicy adds.
type policyShape struct {
	// Hourly policies run every hour of the working day; the others daily.
	Hourly bool
	// Kind is what it backs up.
	Kind snapkeep.ResourceKind
}

// kind draws a droplet with probability droplets, else a volume.
func (b *builder) kind(droplets float64) snapkeep.ResourceKind {
	if b.rng.Float64() < droplets {
		return snapkeep.ResourceDroplet
	}
	return snapkeep.ResourceVolume
}

// addPolicy adds one policy of customer i on a new droplet or volume.
func (b *builder) addPolicy(i int, shape policyShape) error {
	hourly := shape.Hourly
	cu := &b.f.Customers[i]
	b.perCustomer[cu.CustomerID]++
	id := fmt.Sprintf("%s-%s-%03d", strings.TrimPrefix(cu.CustomerID, "cust-"), map[bool]string{true: "hourly", false: "daily"}[hourly], b.perCustomer[cu.CustomerID])
	account := cu.Accounts[b.rng.IntN(len(cu.Accounts))]
	loc, err := time.LoadLocation(cu.TimeZone)
	if err != nil {
		return fmt.Errorf("scenario: %w", err)
	}
	p := snapkeep.Policy{PolicyID: id, CustomerID: cu.CustomerID, AccountID: account, TimeZone: cu.TimeZone, Enabled: true,
		CreatedAt: b.c.Start.AddDate(0, -2, 0), UpdatedAt: b.c.Start.AddDate(0, -2, 0)}
	minute := []int{0, 15, 30, 45}[b.rng.IntN(4)] + b.rng.IntN(3)*5
	if hourly {
		// 06:00-21:59 UTC in the customer's zone (Europe: +0 or +1 in November).
		off := utcOffsetHours(loc, b.c.Start)
		p.Schedule = fmt.Sprintf("cron(%d %d-%d * * ? *)", minute, 6+off, 21+off)
		p.Retention = snapkeep.Retention{KeepLast: 24}
	} else {
		hour := dailyHour(b.rng)
		local := (hour + utcOffsetHours(loc, b.c.Start) + 24) % 24
		p.Schedule = fmt.Sprintf("cron(%d %d * * ? *)", minute, local)
		p.Retention = snapkeep.Retention{KeepLast: 7}
		if b.rng.IntN(6) == 0 {
			p.FlexibleWindowMinutes = 15
		}
	}
	if shape.Kind == snapkeep.ResourceDroplet {
		b.nextDroplet++
		d := dotest.Droplet{ID: b.nextDroplet, Name: fmt.Sprintf("%s-%s-%d", strings.TrimPrefix(cu.CustomerID, "cust-"), dropletRole(b.rng), b.nextDroplet%1000),
			Region: cu.Region, Disk: []int{25, 50, 80, 160}[b.rng.IntN(4)], CreatedAt: b.c.Start.AddDate(-1, 0, 0)}
		// Most snapshots are done by the first check a minute later; one in
		// eight takes a few minutes (a bigger disk).
		d.ActionDuration = time.Duration(30+b.rng.IntN(25)) * time.Second
		if b.rng.IntN(8) == 0 {
			d.ActionDuration = time.Duration(3+b.rng.IntN(5)) * time.Minute
		}
		b.f.Droplets = append(b.f.Droplets, d)
		p.Resource = snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: fmt.Sprint(d.ID), Region: d.Region}
	} else {
		v := b.volume(cu, fmt.Sprintf("%s-data-%d", strings.TrimPrefix(cu.CustomerID, "cust-"), b.volumeSeq+1), 100)
		p.Resource = snapkeep.Resource{Kind: snapkeep.ResourceVolume, ID: v.ID, Region: v.Region}
	}
	b.f.Policies = append(b.f.Policies, p)
	return nil
}

// volume adds a volume of cu with a UUID drawn from the seed.
func (b *builder) volume(cu *Customer, name string, size int64) dotest.Volume {
	b.volumeSeq++
	r := b.rng.Uint64()
	v := dotest.Volume{ID: fmt.Sprintf("%08x-%04x-11e5-%04x-%012x", uint32(r>>32), uint16(r>>16), uint16(r)|0x8000, b.volumeSeq),
		Name: name, Region: cu.Region, SizeGigaBytes: size, CreatedAt: b.c.Start.AddDate(-1, 0, 0)}
	b.f.Volumes = append(b.f.Volumes, v)
	return v
}

// nearLimitVolume gives the limit customer a daily volume policy whose
// volume holds 24 snapshots: 15 of the customer's own and 9 of the
// policy's (it keeps 10). Its first run fills the volume; its second meets
// the limit and makes room by deleting the policy's own oldest.
func (b *builder) nearLimitVolume() error {
	cu := &b.f.Customers[limitCustomer]
	v := b.volume(cu, "kettle-archive", 500)
	b.f.NearLimitVolume = v.ID
	loc, err := time.LoadLocation(cu.TimeZone)
	if err != nil {
		return fmt.Errorf("scenario: %w", err)
	}
	p := snapkeep.Policy{PolicyID: "kettle-archive-daily", CustomerID: cu.CustomerID, AccountID: cu.Accounts[0], TimeZone: cu.TimeZone,
		Resource: snapkeep.Resource{Kind: snapkeep.ResourceVolume, ID: v.ID, Region: v.Region}, Enabled: true,
		Schedule:  fmt.Sprintf("cron(20 %d * * ? *)", (1+utcOffsetHours(loc, b.c.Start)+24)%24),
		Retention: snapkeep.Retention{KeepLast: 10}, CreatedAt: b.c.Start.AddDate(-1, 0, 0), UpdatedAt: b.c.Start.AddDate(-1, 0, 0)}
	for k := 0; k < 15; k++ {
		b.f.Snapshots = append(b.f.Snapshots, dotest.Snapshot{Name: fmt.Sprintf("archive-before-release-%02d", k+1),
			ResourceType: "volume", ResourceID: v.ID, CreatedAt: b.c.Start.AddDate(0, 0, -60+k)})
	}
	b.f.Policies = append(b.f.Policies, p)
	return nil
}

// history adds each enabled policy's earlier snapshots, as many as it
// keeps (so every success deletes one), at its earlier fire times, and a
// snapshot one customer in four took by hand.
func (b *builder) history() error {
	for _, p := range b.f.Policies {
		expr, err := schedule.Parse(p.Schedule)
		if err != nil {
			return fmt.Errorf("scenario: policy %s: %w", p.PolicyID, err)
		}
		loc, err := time.LoadLocation(p.TimeZone)
		if err != nil {
			return fmt.Errorf("scenario: policy %s: %w", p.PolicyID, err)
		}
		keep := p.KeepLast
		if p.PolicyID == "kettle-archive-daily" {
			keep = 9
		}
		from := b.c.Start.Add(-time.Duration(keep+2) * 24 * time.Hour)
		var slots []time.Time
		for t, ok := expr.Next(from, loc, time.Time{}); ok && t.Before(b.c.Start); t, ok = expr.Next(t, loc, time.Time{}) {
			slots = append(slots, t)
		}
		if len(slots) > keep {
			slots = slots[len(slots)-keep:]
		}
		kind := string(p.Kind)
		for _, t := range slots {
			b.f.Snapshots = append(b.f.Snapshots, dotest.Snapshot{Name: snapshot.SnapshotName(snapkeep.NewRunKey(p.PolicyID, t)),
				ResourceType: kind, ResourceID: p.Resource.ID, CreatedAt: t.Add(time.Minute)})
		}
		if b.rng.IntN(4) == 0 {
			b.f.Snapshots = append(b.f.Snapshots, dotest.Snapshot{Name: "before-upgrade-" + p.Resource.ID,
				ResourceType: kind, ResourceID: p.Resource.ID, CreatedAt: b.c.Start.AddDate(0, 0, -40)})
		}
	}
	return nil
}

// events plans what happens during the play: one customer revokes a token
// on day one and renews it the next morning; another deletes two of its
// droplets on day one.
func (b *builder) events() {
	day := 24 * time.Hour
	if revokingCustomer < len(b.f.Customers) {
		cu := b.f.Customers[revokingCustomer]
		b.f.Events = append(b.f.Events, Event{At: b.c.Start.Add(15 * time.Hour), Kind: TokenRevoked, Account: cu.Accounts[0],
			Says: cu.Name + " revokes the DigitalOcean token of " + cu.Accounts[0]})
		if b.c.Days > 1 {
			b.f.Events = append(b.f.Events, Event{At: b.c.Start.Add(day + 9*time.Hour), Kind: TokenRenewed, Account: cu.Accounts[0],
				Says: cu.Name + " gives snapkeep a new token for " + cu.Accounts[0]})
		}
	}
	if deletingCustomer < len(b.f.Customers) {
		cu := b.f.Customers[deletingCustomer]
		deleted := 0
		for _, p := range b.f.Policies {
			if p.CustomerID == cu.CustomerID && p.Kind == snapkeep.ResourceDroplet && p.Enabled && deleted < 2 {
				var id int
				fmt.Sscan(p.Resource.ID, &id)
				b.f.Events = append(b.f.Events, Event{At: b.c.Start.Add(20*time.Hour + time.Duration(deleted)*time.Minute), Kind: DropletDeleted,
					DropletID: id, Says: fmt.Sprintf("%s deletes droplet %d (policy %s still backs it up)", cu.Name, id, p.PolicyID)})
				deleted++
			}
		}
	}
	sort.SliceStable(b.f.Events, func(i, j int) bool { return b.f.Events[i].At.Before(b.f.Events[j].At) })
}

// dailyHour draws a daily policy's UTC hour: night, midday or evening.
func dailyHour(rng *rand.Rand) int {
	switch x := rng.Float64(); {
	case x < 0.5:
		return rng.IntN(3) // 00-02
	case x < 0.75:
		return 11 + rng.IntN(3)
	default:
		return 17 + rng.IntN(3)
	}
}

// utcOffsetHours is loc's offset from UTC at t, in whole hours.
func utcOffsetHours(loc *time.Location, t time.Time) int {
	_, off := t.In(loc).Zone()
	return off / 3600
}

func dropletRole(rng *rand.Rand) string {
	return []string{"web", "db", "api", "worker", "cache", "files"}[rng.IntN(6)]
}

// Customer returns the customer with id.
func (f *Fleet) Customer(id string) (Customer, bool) {
	for _, c := range f.Customers {
		if c.CustomerID == id {
			return c, true
		}
	}
	return Customer{}, false
}

// Policy returns the policy with id.
func (f *Fleet) Policy(id string) (snapkeep.Policy, bool) {
	i := sort.Search(len(f.Policies), func(i int) bool { return f.Policies[i].PolicyID >= id })
	if i < len(f.Policies) && f.Policies[i].PolicyID == id {
		return f.Policies[i], true
	}
	return snapkeep.Policy{}, false
}
