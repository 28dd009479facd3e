package main

import (
	"fmt"
	"time"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/email"
	"github.com/snapkeep/snapkeep/shared/env"
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
	r := env.New(getenv)
	st := settings{
		statsTable:     r.Required(dynamo.Stats.EnvVar),
		incidentsTable: r.Required(dynamo.Incidents.EnvVar),
		runsTable:      r.Required(dynamo.Runs.EnvVar),
		callsTable:     r.Required(dynamo.APICalls.EnvVar),
		sender:         address(r, envSender),
		ops:            address(r, envOps),
		configSet:      r.Optional(envConfigSet),
		retention:      r.Whole(envRetentionDays, 24*time.Hour, 1, 3650, dynamo.DefaultStatsRetention),
		webhookSecret:  r.Optional(envWebhookSecret),
		webhookHosts:   r.List(envWebhookHosts),
	}
	if err := r.Err(); err != nil {
		return settings{}, fmt.Errorf("errorrate configuration (template.yaml's ErrorRateFunction sets it): %w", err)
	}
	return st, nil
}

// address reads a required email address.
func address(r *env.Reader, name string) email.Address {
	v := r.Required(name)
	if v == "" {
		return email.Address{}
	}
	a, err := email.ParseAddress(v)
	if err != nil {
		r.Fail(name, err)
	}
	return a
}
