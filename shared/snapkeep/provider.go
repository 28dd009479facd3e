package snapkeep

import "time"

// Operation names what a DigitalOcean call was for. It is recorded on every
// ApiCalls row, counted per operation by the error-rate detector and shown
// in the escalation report.
type Operation string

// Operations snapkeep performs at DigitalOcean.
const (
	// OpSnapshotDroplet starts a droplet snapshot (POST /v2/droplets/{id}/actions).
	OpSnapshotDroplet Operation = "snapshot_droplet"
	// OpSnapshotVolume snapshots a volume (POST /v2/volumes/{id}/snapshots).
	OpSnapshotVolume Operation = "snapshot_volume"
	// OpGetAction follows an action (GET /v2/actions/{id}).
	OpGetAction Operation = "get_action"
	// OpListActions lists a droplet's actions (GET /v2/droplets/{id}/actions).
	OpListActions Operation = "list_actions"
	// OpListSnapshots lists a resource's snapshots.
	OpListSnapshots Operation = "list_snapshots"
	// OpDeleteSnapshot deletes a snapshot (DELETE /v2/snapshots/{id}).
	OpDeleteSnapshot Operation = "delete_snapshot"
	// OpGetAccount reads the token's account (GET /v2/account), for snapctl.
	OpGetAccount Operation = "get_account"
)

// Operations returns every operation, in the order reports list them.
func Operations() []Operation {
	return []Operation{OpSnapshotDroplet, OpSnapshotVolume, OpGetAction, OpListActions,
		OpListSnapshots, OpDeleteSnapshot, OpGetAccount}
}

// ActionStatus is the state of a DigitalOcean action.
type ActionStatus string

// Action states. DigitalOcean's client library names only the first two; a
// snapshot action that fails ends errored.
const (
	ActionInProgress ActionStatus = "in-progress"
	ActionCompleted  ActionStatus = "completed"
	ActionErrored    ActionStatus = "errored"
)

// Action is a DigitalOcean action (a droplet snapshot is one), in the
// provider-neutral shape the run service works with; shared/docloud
// converts DigitalOcean's.
type Action struct {
	// ID is the action's id (at least 1).
	ID int64
	// Type is the action's type, "snapshot" for a droplet snapshot.
	Type string
	// Status is in-progress, completed or errored.
	Status ActionStatus
	// ResourceID is the droplet's id (0 when DigitalOcean did not say).
	ResourceID int64
	// StartedAt is when DigitalOcean started it, by DigitalOcean's clock
	// (zero when not given).
	StartedAt time.Time
	// CompletedAt is when it completed or errored (zero while in progress).
	CompletedAt time.Time
}

// Snapshot is a droplet or volume snapshot as DigitalOcean lists it, in
// the provider-neutral shape the run service works with.
type Snapshot struct {
	// ID is the snapshot's id (a droplet snapshot's image id in decimal).
	ID string
	// Name is the snapshot's name; snapkeep's own are named by the policy
	// and slot.
	Name string
	// ResourceID is the droplet's or volume's id.
	ResourceID string
	// Created is when it was created (zero when DigitalOcean's text did not
	// parse).
	Created time.Time
	// SizeGB is the snapshot's size in gigabytes.
	SizeGB float64
	// Tags are the snapshot's tags.
	Tags []string
}
