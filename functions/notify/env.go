package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/email"
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
	var st settings
	var errs []error
	required := func(name string) string {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			errs = append(errs, fmt.Errorf("environment variable %s is not set", name))
		}
		return v
	}
	st.runsTable = required(dynamo.Runs.EnvVar)
	st.customersTable = required(dynamo.Customers.EnvVar)
	st.policiesTable = required(dynamo.Policies.EnvVar)
	st.incidentsTable = required(dynamo.Incidents.EnvVar)
	st.mailingsTable = required(dynamo.Mailings.EnvVar)
	if v := required(envSender); v != "" {
		a, err := email.ParseAddress(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("environment variable %s: %w", envSender, err))
		}
		st.sender = a
	}
	if v := strings.TrimSpace(getenv(envReplyTo)); v != "" {
		a, err := email.ParseAddress(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("environment variable %s: %w", envReplyTo, err))
		}
		st.replyTo = []email.Address{a}
	}
	st.configSet = strings.TrimSpace(getenv(envConfigSet))
	st.links = notice.Links{AppURL: required(envAppURL), StatusPage: strings.TrimSpace(getenv(envStatusPage))}
	if st.links.AppURL != "" {
		if err := st.links.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("environment variables %s/%s: %w", envAppURL, envStatusPage, err))
		}
	}
	switch v := strings.TrimSpace(getenv(envHold)); v {
	case "", "false":
	case "true":
		st.hold = true
	default:
		errs = append(errs, fmt.Errorf("environment variable %s=%q: want true or false", envHold, v))
	}
	st.digestHour = notify.DefaultDigestHour
	if v := strings.TrimSpace(getenv(envDigestHour)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 23 {
			errs = append(errs, fmt.Errorf("environment variable %s=%q: want an hour from 0 to 23", envDigestHour, v))
		}
		st.digestHour = n
	}
	for _, h := range strings.Split(getenv(envSlackHosts), ",") {
		if h = strings.TrimSpace(h); h != "" {
			st.slackHosts = append(st.slackHosts, h)
		}
	}
	if len(errs) > 0 {
		return settings{}, fmt.Errorf("notify configuration (template.yaml's NotifyFunction sets it): %w", errors.Join(errs...))
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
