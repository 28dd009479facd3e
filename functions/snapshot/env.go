package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/clockfile"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	envvar "github.com/snapkeep/snapkeep/shared/env"
	"github.com/snapkeep/snapkeep/shared/secrets"
	"github.com/snapkeep/snapkeep/shared/snapshot"
)

// Environment variables the function reads besides the tables'
// (dynamo.TableSpec.EnvVar) and secrets.EnvPrefix.
const (
	envDeadlineHours    = "RUN_DEADLINE_HOURS"
	envSlotWindowMin    = "SLOT_WINDOW_MINUTES"
	envCallRetentionDay = "API_CALL_RETENTION_DAYS"
	// envDigitalOceanURL overrides DigitalOcean's API base URL (a local
	// fake: cmd/dofake); optional.
	envDigitalOceanURL = "DIGITALOCEAN_API_URL"
	// envFollowUpQueue is the follow-up queue's URL; without it the sweep
	// alone follows unfinished runs.
	envFollowUpQueue = "FOLLOW_UP_QUEUE_URL"
	// envFollowUpNoDelay=true sends follow-ups undelayed, for a local
	// stack whose runner holds them until its virtual clock is due.
	envFollowUpNoDelay = "FOLLOW_UP_NO_DELAY"
)

// env is the function's configuration.
type env struct {
	PoliciesTable string
	RunsTable     string
	CallsTable    string
	LeasesTable   string
	SecretPrefix  string
	BaseURL       string
	// FollowUpQueueURL is the follow-up queue (optional).
	FollowUpQueueURL string
	// FollowUpNoDelay sends follow-ups undelayed (local stack only).
	FollowUpNoDelay bool
	Config          snapshot.Config
}

// loadEnv reads the configuration with getenv; the error names every
// missing or malformed variable.
func loadEnv(getenv func(string) string) (env, error) {
	r := envvar.New(getenv)
	e := env{
		PoliciesTable:    r.Required(dynamo.Policies.EnvVar),
		RunsTable:        r.Required(dynamo.Runs.EnvVar),
		CallsTable:       r.Required(dynamo.APICalls.EnvVar),
		LeasesTable:      r.Required(dynamo.Leases.EnvVar),
		SecretPrefix:     r.Required(secrets.EnvPrefix),
		BaseURL:          r.Optional(envDigitalOceanURL),
		FollowUpQueueURL: r.Optional(envFollowUpQueue),
		FollowUpNoDelay:  r.Bool(envFollowUpNoDelay, false),
	}
	if e.FollowUpNoDelay && strings.TrimSpace(getenv(clockfile.EnvVar)) == "" {
		// Undelayed follow-ups are for the local runner, which holds them
		// until its virtual clock is due; anywhere else an early follow-up
		// would be re-sent at once, in a loop.
		r.Fail(envFollowUpNoDelay, fmt.Errorf("is only for the local runner's virtual clock (%s unset)", clockfile.EnvVar))
	}
	e.Config.Deadline = r.Whole(envDeadlineHours, time.Hour, 1, 48, 0)
	e.Config.SlotWindow = r.Whole(envSlotWindowMin, time.Minute, 1, 720, 0)
	e.Config.APICallTTL = r.Whole(envCallRetentionDay, 24*time.Hour, 1, 3650, 0)
	if err := r.Err(); err != nil {
		return env{}, fmt.Errorf("snapshot configuration (template.yaml's SnapshotFunction sets it): %w", err)
	}
	return e, nil
}
