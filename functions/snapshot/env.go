package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/snapkeep/snapkeep/shared/dynamo"
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

// loadEnv reads the configuration with getenv; an error names the missing
// or malformed variable.
func loadEnv(getenv func(string) string) (env, error) {
	var e env
	required := func(name string, dst *string) error {
		*dst = getenv(name)
		if *dst == "" {
			return fmt.Errorf("environment variable %s is not set", name)
		}
		return nil
	}
	for _, r := range []struct {
		name string
		dst  *string
	}{
		{dynamo.Policies.EnvVar, &e.PoliciesTable},
		{dynamo.Runs.EnvVar, &e.RunsTable},
		{dynamo.APICalls.EnvVar, &e.CallsTable},
		{dynamo.Leases.EnvVar, &e.LeasesTable},
		{secrets.EnvPrefix, &e.SecretPrefix},
	} {
		if err := required(r.name, r.dst); err != nil {
			return env{}, err
		}
	}
	e.BaseURL = getenv(envDigitalOceanURL)
	e.FollowUpQueueURL = getenv(envFollowUpQueue)
	switch v := getenv(envFollowUpNoDelay); v {
	case "", "false":
	case "true":
		e.FollowUpNoDelay = true
	default:
		return env{}, fmt.Errorf("environment variable %s=%q: want true or false", envFollowUpNoDelay, v)
	}
	optional := func(name string, unit time.Duration, max int, dst *time.Duration) error {
		v := getenv(name)
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > max {
			return fmt.Errorf("environment variable %s=%q: want a whole number from 1 to %d", name, v, max)
		}
		*dst = time.Duration(n) * unit
		return nil
	}
	if err := optional(envDeadlineHours, time.Hour, 48, &e.Config.Deadline); err != nil {
		return env{}, err
	}
	if err := optional(envSlotWindowMin, time.Minute, 720, &e.Config.SlotWindow); err != nil {
		return env{}, err
	}
	if err := optional(envCallRetentionDay, 24*time.Hour, 3650, &e.Config.APICallTTL); err != nil {
		return env{}, err
	}
	return e, nil
}
