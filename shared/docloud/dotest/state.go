package dotest

import (
	"errors"
	"fmt"
	"maps"
	"sort"
	"strconv"
)

// AddDroplet adds a droplet, or replaces the one with the same ID (its
// snapshots and actions stay). Defaults fill the zero fields.
func (s *Server) AddDroplet(d Droplet) error {
	if d.ID <= 0 {
		return fmt.Errorf("add droplet %d: id must be > 0", d.ID)
	}
	switch d.ActionOutcome {
	case "", OutcomeCompleted, OutcomeErrored, OutcomeStuck:
	default:
		return fmt.Errorf("add droplet %d: action outcome %q unknown", d.ID, d.ActionOutcome)
	}
	if d.Name == "" {
		d.Name = "droplet-" + strconv.Itoa(d.ID)
	}
	if d.Region == "" {
		d.Region = "nyc3"
	}
	if d.SizeSlug == "" {
		d.SizeSlug = "s-1vcpu-1gb"
	}
	if d.Disk == 0 {
		d.Disk = 25
	}
	if d.Memory == 0 {
		d.Memory = 1024
	}
	if d.Vcpus == 0 {
		d.Vcpus = 1
	}
	if d.Status == "" {
		d.Status = "active"
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = s.now()
	}
	d.Tags = append([]string(nil), d.Tags...)
	d.VolumeIDs = append([]string(nil), d.VolumeIDs...)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.droplets[d.ID] = &d
	return nil
}

// AddVolume adds a volume, or replaces the one with the same ID.
func (s *Server) AddVolume(v Volume) error {
	if v.ID == "" {
		return errors.New("add volume: id is required")
	}
	if v.Name == "" {
		v.Name = "volume-" + v.ID[:min(8, len(v.ID))]
	}
	if v.Region == "" {
		v.Region = "nyc3"
	}
	if v.SizeGigaBytes == 0 {
		v.SizeGigaBytes = 10
	}
	if v.FilesystemType == "" {
		v.FilesystemType = "ext4"
	}
	if v.CreatedAt.IsZero() {
		v.CreatedAt = s.now()
	}
	v.Tags = append([]string(nil), v.Tags...)
	v.DropletIDs = append([]int(nil), v.DropletIDs...)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.volumes[v.ID] = &v
	return nil
}

// RemoveDroplet deletes a droplet (its API calls answer 404 from now on);
// its snapshots stay, as at DigitalOcean.
func (s *Server) RemoveDroplet(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.droplets, id)
}

// RemoveVolume deletes a volume; its snapshots stay.
func (s *Server) RemoveVolume(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.volumes, id)
}

// AddSnapshot adds a foreign snapshot — one the customer took themselves,
// or a DigitalOcean backup (Type TypeBackup) — and returns it with its id
// and defaults filled. The resource need not exist. Droplet snapshot ids
// must be decimal (they are image ids).
func (s *Server) AddSnapshot(sn Snapshot) (Snapshot, error) {
	if sn.ResourceType != "droplet" && sn.ResourceType != "volume" {
		return Snapshot{}, fmt.Errorf("add snapshot: resource type %q: want droplet or volume", sn.ResourceType)
	}
	if sn.ResourceID == "" {
		return Snapshot{}, errors.New("add snapshot: resource id is required")
	}
	if sn.Type == "" {
		sn.Type = TypeSnapshot
	}
	if sn.Type != TypeSnapshot && (sn.Type != TypeBackup || sn.ResourceType != "droplet") {
		return Snapshot{}, fmt.Errorf("add snapshot: type %q: want snapshot, or backup for a droplet", sn.Type)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case sn.ID == "" && sn.ResourceType == "droplet":
		s.nextImage++
		sn.ID = strconv.Itoa(s.nextImage)
	case sn.ID == "":
		sn.ID = newRequestID()
	case sn.ResourceType == "droplet":
		if _, err := strconv.Atoi(sn.ID); err != nil {
			return Snapshot{}, fmt.Errorf("add snapshot %q: a droplet snapshot id must be decimal", sn.ID)
		}
	}
	if _, dup := s.snapshots[sn.ID]; dup {
		return Snapshot{}, fmt.Errorf("add snapshot %q: id already exists", sn.ID)
	}
	if sn.CreatedAt.IsZero() {
		sn.CreatedAt = s.now()
	}
	if sn.Name == "" {
		sn.Name = sn.Type + "-" + sn.ID
	}
	if sn.ResourceType == "droplet" {
		if id, err := strconv.Atoi(sn.ResourceID); err == nil {
			if d := s.droplets[id]; d != nil {
				if len(sn.Regions) == 0 {
					sn.Regions = []string{d.Region}
				}
				if sn.MinDiskSize == 0 {
					sn.MinDiskSize = d.Disk
				}
			}
		}
	} else if v := s.volumes[sn.ResourceID]; v != nil {
		if len(sn.Regions) == 0 {
			sn.Regions = []string{v.Region}
		}
		if sn.MinDiskSize == 0 {
			sn.MinDiskSize = int(v.SizeGigaBytes)
		}
	}
	if len(sn.Regions) == 0 {
		sn.Regions = []string{"nyc3"}
	}
	sn.Tags = append([]string(nil), sn.Tags...)
	sn.Origin = OriginForeign
	sn.ActionID = 0
	stored := sn
	s.putSnapshotLocked(&stored)
	return sn, nil
}

// Droplet returns a copy of the droplet with that id.
func (s *Server) Droplet(id int) (Droplet, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.droplets[id]
	if !ok {
		return Droplet{}, false
	}
	return *d, true
}

// Snapshots returns every snapshot and backup the fake holds (listed or
// still lagging), oldest first, after settling due actions.
func (s *Server) Snapshots() []Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(s.now())
	var out []Snapshot
	for _, sn := range s.sortedSnapshots(func(*Snapshot) bool { return true }) {
		out = append(out, *sn)
	}
	return out
}

// SnapshotsOf returns the snapshots and backups of one resource ("droplet"
// or "volume"), oldest first.
func (s *Server) SnapshotsOf(resourceType, resourceID string) []Snapshot {
	var out []Snapshot
	for _, sn := range s.Snapshots() {
		if sn.ResourceType == resourceType && sn.ResourceID == resourceID {
			out = append(out, sn)
		}
	}
	return out
}

// Snapshot returns the snapshot with that id.
func (s *Server) Snapshot(id string) (Snapshot, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(s.now())
	sn, ok := s.snapshots[id]
	if !ok {
		return Snapshot{}, false
	}
	return *sn, true
}

// Deleted returns the snapshots deleted through the API, in order.
func (s *Server) Deleted() []Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Snapshot(nil), s.deleted...)
}

// Actions returns every action, by id, after settling due actions.
func (s *Server) Actions() []Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(s.now())
	out := make([]Action, 0, len(s.actions))
	for _, a := range s.actions {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// AddAction adds a droplet action nobody POSTed to this fake — the
// customer's own snapshot, say, from before a test's run — and returns it
// with its id and defaults filled: Type "snapshot", Status completed,
// StartedAt now, CompletedAt StartedAt for a finished action, the droplet's
// region. An in-progress action (DueAt set, or zero: stuck) locks the
// droplet like a POSTed one, and makes no snapshot when it completes unless
// SnapshotName is set. The droplet must exist.
func (s *Server) AddAction(a Action) (Action, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.droplets[a.ResourceID]
	if d == nil {
		return Action{}, fmt.Errorf("add action: no droplet %d", a.ResourceID)
	}
	if a.Type == "" {
		a.Type = "snapshot"
	}
	if a.Status == "" {
		a.Status = StatusCompleted
	}
	switch a.Status {
	case StatusCompleted, StatusErrored, StatusInProgress:
	default:
		return Action{}, fmt.Errorf("add action: status %q: want %s, %s or %s", a.Status, StatusInProgress, StatusCompleted, StatusErrored)
	}
	if a.StartedAt.IsZero() {
		a.StartedAt = s.now()
	}
	if a.Status != StatusInProgress && a.CompletedAt.IsZero() {
		a.CompletedAt = a.StartedAt
	}
	if a.Outcome == "" {
		a.Outcome = OutcomeCompleted
		if a.Status == StatusErrored {
			a.Outcome = OutcomeErrored
		}
		if a.Status == StatusInProgress && a.DueAt.IsZero() {
			a.Outcome = OutcomeStuck
		}
	}
	a.ResourceType = "droplet"
	if a.RegionSlug == "" {
		a.RegionSlug = d.Region
	}
	s.nextAction++
	a.ID = s.nextAction
	stored := a
	s.putActionLocked(&stored)
	return a, nil
}

// Action returns the action with that id, after settling due actions.
func (s *Server) Action(id int) (Action, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(s.now())
	a, ok := s.actions[id]
	if !ok {
		return Action{}, false
	}
	return *a, true
}

// Requests returns the API requests received so far, in order (admin
// requests under /_fake/ are not included). A request is logged before its
// answer or connection reset is sent, so a client that has its answer finds
// it here; a hung request (FaultHang) is logged when the client gives up.
// Tokens are never kept.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetRequests forgets the requests received so far.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// PostCounts returns, per resource ("droplet:<id>", "volume:<id>"), how
// many snapshot POSTs arrived — whatever their outcome, faults, 401s and
// 429s included.
func (s *Server) PostCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.posts)
}

// SnapshotPosts returns how many snapshot POSTs arrived for one resource;
// see PostCounts.
func (s *Server) SnapshotPosts(resourceType, resourceID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.posts[ResourceKey(resourceType, resourceID)]
}
