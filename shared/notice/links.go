package notice

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// DefaultStatusPage is DigitalOcean's public status page.
const DefaultStatusPage = "https://status.digitalocean.com"

// Links is the part of a deployment's configuration that messages link
// to. Only the base URL is configured; the paths below it are fixed, so
// the web app serving them and every message agree.
type Links struct {
	// AppURL is the base URL of the customer app, e.g.
	// "https://app.snapkeep.example": https, no query or fragment; a path
	// prefix is allowed. http is accepted only for localhost and loopback
	// addresses (the local stack).
	AppURL string
	// StatusPage is DigitalOcean's status page; empty means
	// DefaultStatusPage.
	StatusPage string
}

// Validate says what is wrong with l, or returns nil.
func (l Links) Validate() error {
	if err := checkBase("AppURL", l.AppURL); err != nil {
		return err
	}
	if l.StatusPage != "" {
		return checkBase("StatusPage", l.StatusPage)
	}
	return nil
}

func checkBase(field, raw string) error {
	if raw == "" {
		return fmt.Errorf("notice links: %s is empty: want a base URL such as https://app.snapkeep.example", field)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("notice links: %s %q: %w", field, raw, err)
	}
	local := u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1" || u.Hostname() == "::1"
	switch {
	case u.Scheme != "https" && !(u.Scheme == "http" && local):
		return fmt.Errorf("notice links: %s %q: want an https URL (http only for localhost)", field, raw)
	case u.Host == "":
		return fmt.Errorf("notice links: %s %q: has no host", field, raw)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("notice links: %s %q: want no query, fragment or user info", field, raw)
	case strings.ContainsAny(raw, " <>|\"'"):
		return fmt.Errorf("notice links: %s %q: holds a space, quote or one of <>|", field, raw)
	}
	return nil
}

func (l Links) base() string { return strings.TrimRight(l.AppURL, "/") }

// Policy returns the page of one backup policy:
// <AppURL>/policies/<policy id, path-escaped>.
func (l Links) Policy(policyID string) string {
	return l.base() + "/policies/" + url.PathEscape(policyID)
}

// Policies returns the page listing the customer's backup policies and
// their recent runs: <AppURL>/policies.
func (l Links) Policies() string { return l.base() + "/policies" }

// Preferences returns the customer's notification preferences page,
// <AppURL>/preferences/<PreferencesToken>. The token is opaque and
// hard to guess, so the link works without signing in; the same URL is
// the List-Unsubscribe target of RFC 8058 (a POST of
// "List-Unsubscribe=One-Click" to it unsubscribes, a GET shows the page).
// Without a token it is <AppURL>/preferences, which asks the customer to
// sign in; Slack messages use that form, since a channel is read by more
// people than the customer.
func (l Links) Preferences(c *snapkeep.Customer) string {
	if c == nil || c.PreferencesToken == "" {
		return l.base() + "/preferences"
	}
	return l.base() + "/preferences/" + url.PathEscape(c.PreferencesToken)
}

// Status returns DigitalOcean's status page.
func (l Links) Status() string {
	if l.StatusPage == "" {
		return DefaultStatusPage
	}
	return strings.TrimRight(l.StatusPage, "/")
}
