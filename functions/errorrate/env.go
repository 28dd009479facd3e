package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/email"
)

// Environment variables the function reads besides the tables'
// (dynamo.TableSpec.EnvVar), set by template.yaml's ErrorRateFunction.
const (
	envSender        = "SENDER_ADDRESS"
	envOps           = "OPS_ADDRESS"
	envConfigSet     = "SES_CONFIGURATION_SET"
	envRetentionDays = "API_CALL_RETENTION_DAYS"
	// envWebhookSecret names the Secrets Manager secret holding the ops
	// webhook URL (Slack incoming webhook); empty means no webhook.
	envWebhookSecret = "OPS_WEBHOOK_SECRET"
	// envWebhookHosts lists the hosts the webhook may be on, comma
	// separated (default hooks.slack.com; a local server in tests).
	envWebhookHosts = "OPS_WEBHOOK_HOSTS"
)

// settings is the function's configuration.
type settings struct {
	statsTable, incidentsTable, runsTable, callsTable string
	// sender and ops are the SES sender and the ops recipient.
	sender, ops email.Address
	// configSet is the optional SES configuration set.
	configSet string
	// retention is how long minute parts are kept (the calls' TTL).
	retention time.Duration
	// webhookSecret names the secret with the ops webhook URL ("" none);
	// webhookHosts are the hosts it may point at.
	webhookSecret string
	webhookHosts  []string
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
	st.statsTable = required(dynamo.Stats.EnvVar)
	st.incidentsTable = required(dynamo.Incidents.EnvVar)
	st.runsTable = required(dynamo.Runs.EnvVar)
	st.callsTable = required(dynamo.APICalls.EnvVar)
	address := func(name string) email.Address {
		v := required(name)
		if v == "" {
			return email.Address{}
		}
		a, err := email.ParseAddress(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("environment variable %s: %w", name, err))
		}
		return a
	}
	st.sender, st.ops = address(envSender), address(envOps)
	st.configSet = strings.TrimSpace(getenv(envConfigSet))
	st.retention = dynamo.DefaultStatsRetention
	if v := strings.TrimSpace(getenv(envRetentionDays)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3650 {
			errs = append(errs, fmt.Errorf("environment variable %s=%q: want a whole number of days from 1 to 3650", envRetentionDays, v))
		}
		st.retention = time.Duration(n) * 24 * time.Hour
	}
	st.webhookSecret = strings.TrimSpace(getenv(envWebhookSecret))
	for _, h := range strings.Split(getenv(envWebhookHosts), ",") {
		if h = strings.TrimSpace(h); h != "" {
			st.webhookHosts = append(st.webhookHosts, h)
		}
	}
	if len(errs) > 0 {
		return settings{}, fmt.Errorf("errorrate configuration (template.yaml's ErrorRateFunction sets it): %w", errors.Join(errs...))
	}
	return st, nil
}
