package snapkeep

import (
	"encoding/base32"
	"fmt"
	"io"
	"strings"
	"time"
)

// ResourceKind is the kind of DigitalOcean resource a policy backs up.
type ResourceKind string

// Resource kinds snapkeep can snapshot.
const (
	ResourceDroplet ResourceKind = "droplet"
	ResourceVolume  ResourceKind = "volume"
)

// Resource identifies the DigitalOcean resource a policy backs up.
type Resource struct {
	// Kind is droplet or volume.
	Kind ResourceKind `json:"resource_kind" dynamodbav:"resource_kind"`
	// ID is the droplet's numeric id (as a decimal string) or the volume's UUID.
	ID string `json:"resource_id" dynamodbav:"resource_id"`
	// Region is the DigitalOcean region slug, e.g. "nyc3".
	Region string `json:"region" dynamodbav:"region"`
}

// Key is the resource's key in the Runs table's by-resource index,
// e.g. "droplet:3164444".
func (r Resource) Key() string { return string(r.Kind) + ":" + r.ID }

// String implements fmt.Stringer.
func (r Resource) String() string { return fmt.Sprintf("%s %s (%s)", r.Kind, r.ID, r.Region) }

// Retention says which of a policy's own snapshots to keep after a
// successful run. A zero field is not applied; a snapshot is deleted only
// when every non-zero rule allows it (it is not among the newest KeepLast and
// it is older than MaxAgeDays).
type Retention struct {
	// KeepLast keeps the newest N snapshots of the policy (1..500; 0 = no count rule).
	KeepLast int `json:"keep_last" dynamodbav:"keep_last"`
	// MaxAgeDays keeps snapshots younger than this many days (0 = no age rule).
	MaxAgeDays int `json:"max_age_days,omitempty" dynamodbav:"max_age_days,omitempty"`
}

// Policy is a customer's backup policy: one resource, one schedule.
// The Policies table is the source of truth; functions/schedules keeps one
// EventBridge Scheduler schedule per policy in step with it.
type Policy struct {
	// PolicyID is the policy's unique id (table key and schedule name).
	PolicyID string `json:"policy_id" dynamodbav:"policy_id"`
	// CustomerID is the customer who owns the policy.
	CustomerID string `json:"customer_id" dynamodbav:"customer_id"`
	// AccountID names the DigitalOcean account whose token is used; the token
	// itself lives in Secrets Manager, never in a table.
	AccountID string `json:"account_id" dynamodbav:"account_id"`
	// Resource is the droplet or volume to snapshot.
	Resource
	// Schedule is an EventBridge Scheduler expression: rate(...) or cron(...).
	Schedule string `json:"schedule" dynamodbav:"schedule"`
	// TimeZone is the IANA time zone the cron expression is read in; empty means UTC.
	TimeZone string `json:"time_zone,omitempty" dynamodbav:"time_zone,omitempty"`
	// Retention says which snapshots to keep.
	Retention
	// Enabled is false for a paused policy: its schedule is DISABLED and a
	// run that fires anyway is recorded as skipped.
	Enabled bool `json:"enabled" dynamodbav:"enabled"`
	// FlexibleWindowMinutes lets Scheduler spread the start (0 = off, up to 1440).
	FlexibleWindowMinutes int `json:"flexible_window_minutes,omitempty" dynamodbav:"flexible_window_minutes,omitempty"`
	// InvalidReason is set by functions/schedules when the stored policy
	// cannot be scheduled; empty when the policy is valid.
	InvalidReason string `json:"invalid_reason,omitempty" dynamodbav:"invalid_reason,omitempty"`
	// CreatedAt is when the policy was first stored.
	CreatedAt time.Time `json:"created_at" dynamodbav:"created_at"`
	// UpdatedAt is when the policy was last changed.
	UpdatedAt time.Time `json:"updated_at" dynamodbav:"updated_at"`
}

// NotificationMode says how a customer wants to hear about failed runs.
type NotificationMode string

// Notification modes.
const (
	// NotifyEveryFailure writes about every failed run (the default) and
	// when a policy recovers.
	NotifyEveryFailure NotificationMode = "every_failure"
	// NotifyFirstFailure writes about a policy's first failure after a
	// success, then once when it recovers.
	NotifyFirstFailure NotificationMode = "first_failure"
	// NotifyDailyDigest writes one summary a day of the day's failures.
	NotifyDailyDigest NotificationMode = "daily_digest"
	// NotifyNone never writes.
	NotifyNone NotificationMode = "none"
)

// Customer is a snapkeep customer: who to tell when a backup fails.
type Customer struct {
	// CustomerID is the customer's unique id.
	CustomerID string `json:"customer_id" dynamodbav:"customer_id"`
	// Name is how emails address the customer.
	Name string `json:"name" dynamodbav:"name"`
	// Email is where failure emails go.
	Email string `json:"email" dynamodbav:"email"`
	// NotificationMode says when to write.
	NotificationMode NotificationMode `json:"notification_mode" dynamodbav:"notification_mode"`
	// SlackWebhookURL is an optional Slack incoming webhook. It is a
	// secret (anyone holding it can post to the channel): never logged or
	// printed; snapctl shows only whether one is set.
	SlackWebhookURL string `json:"slack_webhook_url,omitempty" dynamodbav:"slack_webhook_url,omitempty"`
	// PreferencesToken is the opaque, random token of the customer's
	// preferences and one-click unsubscribe link (RFC 8058).
	PreferencesToken string `json:"preferences_token,omitempty" dynamodbav:"preferences_token,omitempty"`
	// EmailBlocked says why email to the customer stopped (a suppressed
	// address, a rejected message); empty while email works.
	EmailBlocked string `json:"email_blocked,omitempty" dynamodbav:"email_blocked,omitempty"`
	// SlackBlocked says why Slack messages stopped (the webhook answered
	// 404 or 410, ...); empty while Slack works.
	SlackBlocked string `json:"slack_blocked,omitempty" dynamodbav:"slack_blocked,omitempty"`
	// CreatedAt is when the customer was first stored.
	CreatedAt time.Time `json:"created_at" dynamodbav:"created_at"`
	// UpdatedAt is when the customer was last changed.
	UpdatedAt time.Time `json:"updated_at" dynamodbav:"updated_at"`
}

// PreferencesTokenPrefix starts every Customer.PreferencesToken.
const PreferencesTokenPrefix = "pt_"

// NewPreferencesToken returns a new opaque preferences token, 128 random
// bits from random (crypto/rand.Reader in production) in URL-safe base32:
// hard to guess, and fit for a one-click unsubscribe link.
func NewPreferencesToken(random io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", fmt.Errorf("preferences token: %w", err)
	}
	return PreferencesTokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])), nil
}
