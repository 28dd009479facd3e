package dotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Outcome is how a droplet's snapshot action ends.
type Outcome string

// Action outcomes.
const (
	// OutcomeCompleted: the action completes and the snapshot appears (default).
	OutcomeCompleted Outcome = "completed"
	// OutcomeErrored: the action ends "errored" and no snapshot is made.
	OutcomeErrored Outcome = "errored"
	// OutcomeStuck: the action stays "in-progress" forever and keeps the
	// droplet locked (every further snapshot POST answers 422 pending event).
	OutcomeStuck Outcome = "stuck"
)

// Action statuses as DigitalOcean spells them.
const (
	// StatusInProgress is a running action.
	StatusInProgress = "in-progress"
	// StatusCompleted is an action that finished well.
	StatusCompleted = "completed"
	// StatusErrored is an action that failed.
	StatusErrored = "errored"
)

// Snapshot image types.
const (
	// TypeSnapshot is a user snapshot (the default).
	TypeSnapshot = "snapshot"
	// TypeBackup is one of DigitalOcean's automatic droplet backups. Backups
	// are listed only by GET /v2/droplets/{id}/backups and cannot be deleted
	// through /v2/snapshots (404), as at DigitalOcean.
	TypeBackup = "backup"
)

// Origins of a snapshot in the fake.
const (
	// OriginAPI is a snapshot created through the API (an action or a volume
	// snapshot POST).
	OriginAPI = "api"
	// OriginForeign is a snapshot a test added with AddSnapshot: the
	// customer's own snapshots and DigitalOcean backups.
	OriginForeign = "foreign"
)

// Droplet is a droplet of the fake. The zero values of the optional fields
// get DigitalOcean-like defaults when the droplet is added.
type Droplet struct {
	// ID is the droplet id (required, > 0).
	ID int `json:"id"`
	// Name defaults to "droplet-<id>".
	Name string `json:"name,omitempty"`
	// Region is the region slug, default "nyc3".
	Region string `json:"region,omitempty"`
	// SizeSlug defaults to "s-1vcpu-1gb".
	SizeSlug string `json:"size_slug,omitempty"`
	// Disk is the disk size in GB, default 25.
	Disk int `json:"disk,omitempty"`
	// Memory in MB, default 1024.
	Memory int `json:"memory,omitempty"`
	// Vcpus defaults to 1.
	Vcpus int `json:"vcpus,omitempty"`
	// Status defaults to "active".
	Status string `json:"status,omitempty"`
	// Tags are the droplet's tags.
	Tags []string `json:"tags,omitempty"`
	// VolumeIDs are the attached volumes.
	VolumeIDs []string `json:"volume_ids,omitempty"`
	// CreatedAt defaults to the clock's time when added.
	CreatedAt time.Time `json:"created_at,omitzero"`
	// ActionDuration is how long this droplet's snapshot actions stay
	// in progress; 0 means the server's setting (WithActionDuration), else
	// one minute per GB of Disk (WithActionPerGB). In JSON: "90s" or seconds.
	ActionDuration time.Duration `json:"-"`
	// ActionOutcome is how this droplet's snapshot actions end, default
	// OutcomeCompleted.
	ActionOutcome Outcome `json:"action_outcome,omitempty"`
	// ListingLag is how long after its action completes a snapshot of this
	// droplet stays out of listings; 0 means the server's WithListingLag.
	ListingLag time.Duration `json:"-"`
}

// Volume is a block storage volume of the fake.
type Volume struct {
	// ID is the volume id (required), a UUID at DigitalOcean.
	ID string `json:"id"`
	// Name defaults to "volume-<first 8 chars of id>".
	Name string `json:"name,omitempty"`
	// Region is the region slug, default "nyc3".
	Region string `json:"region,omitempty"`
	// SizeGigaBytes defaults to 10.
	SizeGigaBytes int64 `json:"size_gigabytes,omitempty"`
	// Description is free text.
	Description string `json:"description,omitempty"`
	// DropletIDs are the droplets it is attached to.
	DropletIDs []int `json:"droplet_ids,omitempty"`
	// FilesystemType defaults to "ext4".
	FilesystemType string `json:"filesystem_type,omitempty"`
	// Tags are the volume's tags.
	Tags []string `json:"tags,omitempty"`
	// CreatedAt defaults to the clock's time when added.
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// Snapshot is a snapshot (or backup) held by the fake.
type Snapshot struct {
	// ID is a decimal image id for droplet snapshots and backups, a UUID for
	// volume snapshots; AddSnapshot assigns one when empty.
	ID string `json:"id"`
	// Name is the snapshot's name.
	Name string `json:"name"`
	// ResourceType is "droplet" or "volume".
	ResourceType string `json:"resource_type"`
	// ResourceID is the droplet id (decimal) or volume id.
	ResourceID string `json:"resource_id"`
	// Regions default to the resource's region.
	Regions []string `json:"regions,omitempty"`
	// MinDiskSize defaults to the droplet's disk or the volume's size.
	MinDiskSize int `json:"min_disk_size,omitempty"`
	// SizeGigaBytes is the billable size.
	SizeGigaBytes float64 `json:"size_gigabytes,omitempty"`
	// CreatedAt defaults to the clock's time when added.
	CreatedAt time.Time `json:"created_at,omitzero"`
	// Tags are the snapshot's tags.
	Tags []string `json:"tags,omitempty"`
	// Type is TypeSnapshot (default) or TypeBackup (droplets only).
	Type string `json:"type,omitempty"`
	// Origin is OriginAPI or OriginForeign (set by the fake).
	Origin string `json:"origin,omitempty"`
	// ActionID is the droplet action that made it, 0 otherwise.
	ActionID int `json:"action_id,omitempty"`
	// ListedAt is when it starts to appear in listings (listing lag); zero
	// means at once.
	ListedAt time.Time `json:"listed_at,omitzero"`
}

// Action is a droplet snapshot action as the fake sees it (more than the API
// shows: its planned outcome, due time and resulting snapshot).
type Action struct {
	// ID is the action id.
	ID int `json:"id"`
	// Status is StatusInProgress, StatusCompleted or StatusErrored.
	Status string `json:"status"`
	// Type is "snapshot".
	Type string `json:"type"`
	// StartedAt is when it was created.
	StartedAt time.Time `json:"started_at"`
	// CompletedAt is when it completed or errored; zero while in progress.
	CompletedAt time.Time `json:"completed_at,omitzero"`
	// ResourceID is the droplet id.
	ResourceID int `json:"resource_id"`
	// ResourceType is "droplet".
	ResourceType string `json:"resource_type"`
	// RegionSlug is the droplet's region.
	RegionSlug string `json:"region_slug"`
	// SnapshotName is the name asked for.
	SnapshotName string `json:"snapshot_name"`
	// SnapshotID is the snapshot made, once completed.
	SnapshotID string `json:"snapshot_id,omitempty"`
	// Outcome is how it will end.
	Outcome Outcome `json:"outcome"`
	// DueAt is when it leaves "in-progress"; zero when stuck.
	DueAt time.Time `json:"due_at,omitzero"`
	// ListingLag delays the snapshot's appearance in listings after DueAt.
	ListingLag time.Duration `json:"-"`
}

// Account is what GET /v2/account answers for a token, as DigitalOcean's
// account object has it. A registered token starts with an active,
// verified account (droplet limit 25, floating IP limit 5, volume limit
// 100, no team) and a random UUID of its own; Server.Account reads it and
// SetAccount changes it.
type Account struct {
	// UUID is the user's id (40 hex digits at DigitalOcean).
	UUID string `json:"uuid"`
	// Email and Name are the user's.
	Email string `json:"email"`
	Name  string `json:"name"`
	// EmailVerified is false until the user verified the email.
	EmailVerified bool `json:"email_verified"`
	// Status is "active", "warning" or "locked".
	Status string `json:"status"`
	// StatusMessage explains Status.
	StatusMessage string `json:"status_message"`
	// DropletLimit, FloatingIPLimit and VolumeLimit are the account's limits.
	DropletLimit    int `json:"droplet_limit"`
	FloatingIPLimit int `json:"floating_ip_limit"`
	VolumeLimit     int `json:"volume_limit"`
	// TeamUUID and TeamName are the team of a token issued in a team
	// context; no team object is sent when TeamName is empty.
	TeamUUID string `json:"team_uuid,omitempty"`
	TeamName string `json:"team_name,omitempty"`
}

// defaultAccount is the account of a newly registered token, its UUID
// aside.
var defaultAccount = Account{
	Email: "sammy@example.com", Name: "Sammy the Shark", EmailVerified: true, Status: "active",
	StatusMessage: " ", DropletLimit: 25, FloatingIPLimit: 5, VolumeLimit: 100,
}

// Request is one request the fake received (never the token).
type Request struct {
	// Seq numbers requests from 1.
	Seq int `json:"seq"`
	// Time is the clock's time when it arrived.
	Time time.Time `json:"time"`
	// Method is the HTTP method.
	Method string `json:"method"`
	// Path is the URL path.
	Path string `json:"path"`
	// Query is the raw query.
	Query string `json:"query,omitempty"`
	// Operation names the endpoint (snapkeep.OpSnapshotDroplet,
	// OpGetDroplet...), "" when no endpoint matched.
	Operation snapkeep.Operation `json:"operation,omitempty"`
	// Authorized is true when it carried a known, unrevoked token.
	Authorized bool `json:"authorized"`
	// Status is the status answered, 0 when the connection was reset or the
	// request hung until the client gave up.
	Status int `json:"status"`
	// RequestID is the x-request-id answered.
	RequestID string `json:"request_id"`
	// Fault is the kind of the fault that hit it, if any.
	Fault FaultKind `json:"fault,omitempty"`
}

// ResourceKey returns "droplet:<id>" or "volume:<id>", the key PostCounts
// uses (the same form as snapkeep's ResourceKey).
func ResourceKey(resourceType, resourceID string) string { return resourceType + ":" + resourceID }

// DropletKey returns ResourceKey("droplet", id).
func DropletKey(id int) string { return ResourceKey("droplet", strconv.Itoa(id)) }

// jsonDuration reads "90s"-style strings or numbers of seconds.
type jsonDuration time.Duration

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = jsonDuration(v)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("duration %s: want a string like \"90s\" or a number of seconds", b)
	}
	*d = jsonDuration(f * float64(time.Second))
	return nil
}

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a droplet, durations as "90s" or seconds.
func (d *Droplet) UnmarshalJSON(b []byte) error {
	type plain Droplet
	aux := struct {
		*plain
		ActionDuration jsonDuration `json:"action_duration"`
		ListingLag     jsonDuration `json:"listing_lag"`
	}{plain: (*plain)(d)}
	if err := strictUnmarshal(b, &aux); err != nil {
		return err
	}
	d.ActionDuration = time.Duration(aux.ActionDuration)
	d.ListingLag = time.Duration(aux.ListingLag)
	return nil
}

// MarshalJSON writes a droplet, durations as "90s".
func (d Droplet) MarshalJSON() ([]byte, error) {
	type plain Droplet
	return json.Marshal(struct {
		plain
		ActionDuration jsonDuration `json:"action_duration,omitempty"`
		ListingLag     jsonDuration `json:"listing_lag,omitempty"`
	}{plain(d), jsonDuration(d.ActionDuration), jsonDuration(d.ListingLag)})
}

// strictUnmarshal is json.Unmarshal refusing unknown fields, so a typo in a
// seed file or an admin request is an error, not a silent default.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
