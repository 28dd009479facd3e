package main

import (
	"fmt"
	"strings"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/email"
	"github.com/snapkeep/snapkeep/shared/env"
	"github.com/snapkeep/snapkeep/shared/notice"
	"github.com/snapkeep/snapkeep/shared/notify"
)

// Environment variables the function reads besides the tables'
// (dynamo.TableSpec.EnvVar), all set by template.yaml's NotifyFunction.
const (
	envSender     = "SENDER_ADDRESS"
	envReplyTo    = "REPLY_TO_ADDRESS"
	envConfigSet  = "SES_CONFIGURATION_SET"
	envAppURL     = "APP_URL"
	envStatusPage = "STATUS_PAGE_URL"
	envHold       = "HOLD_NOTICES_DURING_INCIDENTS"
	envDigestHour = "DIGEST_HOUR_UTC"
	envSlackHosts = "SLACK_ALLOWED_HOSTS"
)

// settings is the function's configuration.
type settings struct {
	runsTable, customersTable, policiesTable, incidentsTable, mailingsTable string
	// sender and replyTo are the SES sender and the optional Reply-To.
	sender  email.Address
	replyTo []email.Address
	// configSet is the optional SES configuration set.
	configSet string
	// links are what messages link to.
	links notice.Links
	// hold is the hold mode; digestHour the digest's UTC hour.
	hold       bool
	digestHour int
	// slackHosts are the hosts Slack webhooks may be on (default
	// hooks.slack.com; a local webhook server in tests and the demo).
	slackHosts []string
}

// loadSettings reads the configuration with getenv; the error names every
// missing or malformed variable.
func loadSettings(getenv func(string) string) (settings, error) {
	r := env.New(getenv)
	st := settings{
		runsTable:      r.Required(dynamo.Runs.EnvVar),
		customersTable: r.Required(dynamo.Customers.EnvVar),
		policiesTable:  r.Required(dynamo.Policies.EnvVar),
		incidentsTable: r.Required(dynamo.Incidents.EnvVar),
		mailingsTable:  r.Required(dynamo.Mailings.EnvVar),
		configSet:      r.Optional(envConfigSet),
		links:          notice.Links{AppURL: r.Required(envAppURL), StatusPage: r.Optional(envStatusPage)},
		hold:           r.Bool(envHold, false),
		digestHour:     r.Int(envDigestHour, 0, 23, notify.DefaultDigestHour),
		slackHosts:     r.List(envSlackHosts),
	}
	if v := r.Required(envSender); v != "" {
		a, err := email.ParseAddress(v)
		if err != nil {
			r.Fail(envSender, err)
		}
		st.sender = a
	}
	if v := r.Optional(envReplyTo); v != "" {
		a, err := email.ParseAddress(v)
		if err != nil {
			r.Fail(envReplyTo, err)
		}
		st.replyTo = []email.Address{a}
	}
	if st.links.AppURL != "" {
		if err := st.links.Validate(); err != nil {
			r.Fail(envAppURL+"/"+envStatusPage, err)
		}
	}
	if err := r.Err(); err != nil {
		return settings{}, fmt.Errorf("notify configuration (template.yaml's NotifyFunction sets it): %w", err)
	}
	return st, nil
}

// listDomain is the domain the List-Ids are named under: the sender's.
func (st settings) listDomain() string {
	if _, domain, ok := strings.Cut(st.sender.Email, "@"); ok {
		return domain
	}
	return "snapkeep.invalid"
}
