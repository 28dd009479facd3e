package notice

import (
	"fmt"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Renderer renders every customer message of one deployment. It holds
// the parsed templates and the deployment's links; it is safe for
// concurrent use.
type Renderer struct {
	links Links
	eng   *engines
}

// New returns a Renderer linking to links, or an error saying what is
// wrong with them.
func New(links Links) (*Renderer, error) {
	if err := links.Validate(); err != nil {
		return nil, err
	}
	eng, err := loadEngines()
	if err != nil {
		return nil, err
	}
	return &Renderer{links: links, eng: eng}, nil
}

// Links returns the links the renderer was made with.
func (r *Renderer) Links() Links { return r.links }

// FailedRun is one failed or timed-out run with what is known of its
// policy and resource, as the list messages (incident, resolved, digest,
// broadcast) take them.
type FailedRun struct {
	// Run is the failed or timed-out run.
	Run *snapkeep.Run
	// Policy is the run's policy; nil when it was deleted.
	Policy *snapkeep.Policy
	// ResourceName is the droplet's or volume's name at DigitalOcean, or
	// "" when not known.
	ResourceName string
}

// customerView is the customer as messages address them.
type customerView struct {
	ID   string
	Name string
	Mode string
}

func viewCustomer(c *snapkeep.Customer) customerView {
	mode := c.NotificationMode
	if mode == "" {
		mode = snapkeep.DefaultNotificationMode
	}
	return customerView{ID: HeaderSafe(c.CustomerID, maxName), Name: HeaderSafe(c.Name, maxCustomerName), Mode: string(mode)}
}

// footer fills a document's footer and preferences link for c.
func (r *Renderer) footer(d *document, c *snapkeep.Customer) {
	d.Footer = ph("footer", viewCustomer(c))
	d.PreferencesURL = r.links.Preferences(c)
	d.SlackPreferencesURL = r.links.Preferences(nil)
	d.MoreURL = r.links.Policies()
}

// loadZone returns the policy's time zone (UTC for a nil policy or an
// empty zone) and a warning when its zone does not load.
func loadZone(p *snapkeep.Policy) (*time.Location, string) {
	if p == nil || p.TimeZone == "" {
		return time.UTC, ""
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil || p.TimeZone == "Local" {
		return time.UTC, fmt.Sprintf("policy %s: time zone %q does not load; times are told in UTC", HeaderSafe(p.PolicyID, maxName), HeaderSafe(p.TimeZone, maxName))
	}
	return loc, ""
}

func needCustomer(what string, c *snapkeep.Customer) error {
	if c == nil {
		return fmt.Errorf("notice %s: the customer is nil: every message needs its customer (greeting, preferences link)", what)
	}
	return nil
}
