package dotest

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// call is one request as a handler sees it.
type call struct {
	r      *http.Request
	params map[string]string
	body   []byte
	now    time.Time
	fault  *Fault      // action fault, snapkeep.OpSnapshotDroplet only
	tok    *tokenState // the request's (known, unrevoked) token
}

type route struct {
	method  string
	pattern []string
	op      snapkeep.Operation
	handle  func(*Server, *call) *reply
}

var routes = []route{
	{http.MethodPost, split("/v2/droplets/{id}/actions"), snapkeep.OpSnapshotDroplet, (*Server).postDropletAction},
	{http.MethodGet, split("/v2/droplets/{id}/actions"), snapkeep.OpListActions, (*Server).listDropletActions},
	{http.MethodGet, split("/v2/droplets/{id}/actions/{action_id}"), snapkeep.OpGetAction, (*Server).getDropletAction},
	{http.MethodGet, split("/v2/actions/{action_id}"), snapkeep.OpGetAction, (*Server).getAction},
	{http.MethodGet, split("/v2/droplets/{id}/snapshots"), snapkeep.OpListSnapshots, (*Server).listDropletSnapshots},
	{http.MethodGet, split("/v2/droplets/{id}/backups"), snapkeep.OpListSnapshots, (*Server).listDropletBackups},
	{http.MethodGet, split("/v2/droplets/{id}"), OpGetDroplet, (*Server).getDroplet},
	{http.MethodGet, split("/v2/volumes/snapshots/{snapshot_id}"), OpGetSnapshot, (*Server).getVolumeSnapshot},
	{http.MethodDelete, split("/v2/volumes/snapshots/{snapshot_id}"), snapkeep.OpDeleteSnapshot, (*Server).deleteVolumeSnapshot},
	{http.MethodGet, split("/v2/volumes/{id}/snapshots"), snapkeep.OpListSnapshots, (*Server).listVolumeSnapshots},
	{http.MethodPost, split("/v2/volumes/{id}/snapshots"), snapkeep.OpSnapshotVolume, (*Server).postVolumeSnapshot},
	{http.MethodGet, split("/v2/volumes/{id}"), OpGetVolume, (*Server).getVolume},
	{http.MethodGet, split("/v2/snapshots"), snapkeep.OpListSnapshots, (*Server).listSnapshots},
	{http.MethodGet, split("/v2/snapshots/{snapshot_id}"), OpGetSnapshot, (*Server).getSnapshot},
	{http.MethodDelete, split("/v2/snapshots/{snapshot_id}"), snapkeep.OpDeleteSnapshot, (*Server).deleteSnapshot},
	{http.MethodGet, split("/v2/account"), snapkeep.OpGetAccount, (*Server).getAccount},
}

func split(p string) []string { return strings.Split(strings.Trim(p, "/"), "/") }

// matchRoute finds the endpoint of a request; nil when none (404).
func matchRoute(method, urlPath string) (*route, map[string]string) {
	parts := split(urlPath)
	for i := range routes {
		rt := &routes[i]
		if rt.method != method || len(rt.pattern) != len(parts) {
			continue
		}
		params := map[string]string{}
		ok := true
		for j, seg := range rt.pattern {
			if strings.HasPrefix(seg, "{") {
				if parts[j] == "" {
					ok = false
					break
				}
				params[strings.Trim(seg, "{}")] = parts[j]
			} else if seg != parts[j] {
				ok = false
				break
			}
		}
		if ok {
			return rt, params
		}
	}
	return nil, nil
}

func notFound() *reply { return errReply(http.StatusNotFound, "not_found", MsgNotFound) }

func unprocessable(msg string) *reply {
	return errReply(http.StatusUnprocessableEntity, "unprocessable_entity", msg)
}

func badRequest(msg string) *reply { return errReply(http.StatusBadRequest, "bad_request", msg) }

// ts formats a time as DigitalOcean does (RFC 3339, UTC, seconds).
func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (s *Server) droplet(c *call) *Droplet {
	id, err := strconv.Atoi(c.params["id"])
	if err != nil {
		return nil
	}
	return s.droplets[id]
}

// --- droplet actions ---

func (s *Server) postDropletAction(c *call) *reply {
	d := s.droplet(c)
	if d == nil {
		return notFound()
	}
	var req struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil {
		return badRequest("Unable to parse request body: " + err.Error())
	}
	if req.Type != "snapshot" {
		return unprocessable(fmt.Sprintf("%q is not an action type this fake supports; only \"snapshot\"", req.Type))
	}
	if s.dropletBusyLocked(d.ID) {
		return unprocessable(MsgPendingEvent)
	}
	name := req.Name
	if name == "" {
		name = fmt.Sprintf("%s-%d", d.Name, c.now.Unix())
	}
	s.nextAction++
	a := &Action{
		ID: s.nextAction, Status: StatusInProgress, Type: "snapshot", StartedAt: c.now,
		ResourceID: d.ID, ResourceType: "droplet", RegionSlug: d.Region, SnapshotName: name,
		Outcome: d.ActionOutcome, ListingLag: d.ListingLag,
	}
	if a.Outcome == "" {
		a.Outcome = OutcomeCompleted
	}
	if a.ListingLag == 0 {
		a.ListingLag = s.listingLag
	}
	if f := c.fault; f != nil {
		switch f.Kind {
		case FaultActionErrored:
			a.Outcome = OutcomeErrored
		case FaultActionStuck:
			a.Outcome = OutcomeStuck
		case FaultListingLag:
			a.ListingLag = f.Delay
		}
	}
	if a.Outcome != OutcomeStuck {
		a.DueAt = c.now.Add(s.durationFor(d))
	}
	s.putActionLocked(a)
	return jsonReply(http.StatusCreated, map[string]any{"action": actionJSON(a)})
}

func (s *Server) durationFor(d *Droplet) time.Duration {
	switch {
	case d.ActionDuration > 0:
		return d.ActionDuration
	case s.actionDuration > 0:
		return s.actionDuration
	}
	return time.Duration(d.Disk) * s.actionPerGB
}

// settleLocked moves due actions out of "in-progress" and makes their
// snapshots.
func (s *Server) settleLocked(now time.Time) {
	for len(s.inProgress) > 0 && !now.Before(s.inProgress[0].DueAt) {
		a := heap.Pop(&s.inProgress).(*Action)
		if a.Status != StatusInProgress {
			continue
		}
		a.CompletedAt = a.DueAt
		if a.Outcome == OutcomeErrored {
			a.Status = StatusErrored
			continue
		}
		a.Status = StatusCompleted
		if a.SnapshotName == "" {
			continue // an added action that makes no snapshot
		}
		s.nextImage++
		snap := &Snapshot{
			ID: strconv.Itoa(s.nextImage), Name: a.SnapshotName, ResourceType: "droplet",
			ResourceID: strconv.Itoa(a.ResourceID), Regions: []string{a.RegionSlug},
			CreatedAt: a.StartedAt, Type: TypeSnapshot, Origin: OriginAPI, ActionID: a.ID,
			Tags: []string{},
		}
		if d := s.droplets[a.ResourceID]; d != nil {
			snap.MinDiskSize = d.Disk
			snap.SizeGigaBytes = math.Round(float64(d.Disk)*0.42*100) / 100
		}
		if a.ListingLag > 0 {
			snap.ListedAt = a.DueAt.Add(a.ListingLag)
		}
		a.SnapshotID = snap.ID
		s.putSnapshotLocked(snap)
	}
}

// putActionLocked stores a and indexes it by droplet (and as in progress).
func (s *Server) putActionLocked(a *Action) {
	s.actions[a.ID] = a
	s.byDroplet[a.ResourceID] = append(s.byDroplet[a.ResourceID], a)
	if a.Status == StatusInProgress && !a.DueAt.IsZero() {
		heap.Push(&s.inProgress, a) // a stuck action (no DueAt) never settles
	}
}

// actionHeap holds the actions in progress, soonest due first.
type actionHeap []*Action

func (h actionHeap) Len() int { return len(h) }
func (h actionHeap) Less(i, j int) bool {
	if !h[i].DueAt.Equal(h[j].DueAt) {
		return h[i].DueAt.Before(h[j].DueAt)
	}
	return h[i].ID < h[j].ID
}
func (h actionHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *actionHeap) Push(x any)   { *h = append(*h, x.(*Action)) }
func (h *actionHeap) Pop() any {
	old := *h
	a := old[len(old)-1]
	*h = old[:len(old)-1]
	return a
}

// dropletBusyLocked reports whether the droplet has an action in progress.
func (s *Server) dropletBusyLocked(id int) bool {
	for _, a := range s.byDroplet[id] {
		if a.Status == StatusInProgress {
			return true
		}
	}
	return false
}

// putSnapshotLocked stores sn and indexes it by resource.
func (s *Server) putSnapshotLocked(sn *Snapshot) {
	s.snapshots[sn.ID] = sn
	k := ResourceKey(sn.ResourceType, sn.ResourceID)
	if s.snapsOf[k] == nil {
		s.snapsOf[k] = map[string]*Snapshot{}
	}
	s.snapsOf[k][sn.ID] = sn
}

func (s *Server) getAction(c *call) *reply {
	id, _ := strconv.Atoi(c.params["action_id"])
	a := s.actions[id]
	if a == nil {
		return notFound()
	}
	return jsonReply(http.StatusOK, map[string]any{"action": actionJSON(a)})
}

func (s *Server) getDropletAction(c *call) *reply {
	id, _ := strconv.Atoi(c.params["action_id"])
	a := s.actions[id]
	if a == nil || strconv.Itoa(a.ResourceID) != c.params["id"] {
		return notFound()
	}
	return jsonReply(http.StatusOK, map[string]any{"action": actionJSON(a)})
}

// listDropletActions answers a droplet's actions, newest first (by
// started_at, then id) as DigitalOcean lists them, paged.
func (s *Server) listDropletActions(c *call) *reply {
	d := s.droplet(c)
	if d == nil {
		return notFound()
	}
	var items []*Action
	for _, a := range s.byDroplet[d.ID] {
		if a.ResourceType == "droplet" {
			items = append(items, a)
		}
	}
	sort.Slice(items, func(i, j int) bool {
		if !items[i].StartedAt.Equal(items[j].StartedAt) {
			return items[i].StartedAt.After(items[j].StartedAt)
		}
		return items[i].ID > items[j].ID
	})
	return page(c, "actions", items, actionJSON)
}

func actionJSON(a *Action) map[string]any {
	var completed any
	if !a.CompletedAt.IsZero() {
		completed = ts(a.CompletedAt)
	}
	return map[string]any{
		"id": a.ID, "status": a.Status, "type": a.Type, "started_at": ts(a.StartedAt),
		"completed_at": completed, "resource_id": a.ResourceID, "resource_type": a.ResourceType,
		"region": regionJSON(a.RegionSlug), "region_slug": a.RegionSlug,
	}
}

func regionJSON(slug string) map[string]any {
	return map[string]any{
		"name": regionName(slug), "slug": slug, "available": true,
		"features": []string{"backups", "ipv6", "metadata", "install_agent", "storage", "image_transfer"},
		"sizes":    []string{"s-1vcpu-1gb", "s-1vcpu-2gb", "s-2vcpu-2gb", "s-2vcpu-4gb", "s-4vcpu-8gb"},
	}
}

func regionName(slug string) string {
	names := map[string]string{
		"nyc1": "New York 1", "nyc2": "New York 2", "nyc3": "New York 3", "sfo2": "San Francisco 2",
		"sfo3": "San Francisco 3", "ams3": "Amsterdam 3", "sgp1": "Singapore 1", "lon1": "London 1",
		"fra1": "Frankfurt 1", "tor1": "Toronto 1", "blr1": "Bangalore 1", "syd1": "Sydney 1",
	}
	if n, ok := names[slug]; ok {
		return n
	}
	return strings.ToUpper(slug)
}

// --- droplets and volumes ---

func (s *Server) getDroplet(c *call) *reply {
	d := s.droplet(c)
	if d == nil {
		return notFound()
	}
	return jsonReply(http.StatusOK, map[string]any{"droplet": s.dropletJSON(d, c.now)})
}

func (s *Server) dropletJSON(d *Droplet, now time.Time) map[string]any {
	snapIDs, backupIDs := []int{}, []int{}
	for _, sn := range s.sortedSnapshots(func(sn *Snapshot) bool {
		return sn.ResourceType == "droplet" && sn.ResourceID == strconv.Itoa(d.ID) && listed(sn, now)
	}) {
		id, _ := strconv.Atoi(sn.ID)
		if sn.Type == TypeBackup {
			backupIDs = append(backupIDs, id)
		} else {
			snapIDs = append(snapIDs, id)
		}
	}
	locked := s.dropletBusyLocked(d.ID)
	volumeIDs := d.VolumeIDs
	if volumeIDs == nil {
		volumeIDs = []string{}
	}
	tags := d.Tags
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{
		"id": d.ID, "name": d.Name, "memory": d.Memory, "vcpus": d.Vcpus, "disk": d.Disk,
		"locked": locked, "status": d.Status, "kernel": nil, "created_at": ts(d.CreatedAt),
		"features": []string{"monitoring"}, "backup_ids": backupIDs, "next_backup_window": nil,
		"snapshot_ids": snapIDs,
		"image": map[string]any{
			"id": 6918990, "name": "24.04 (LTS) x64", "distribution": "Ubuntu", "slug": "ubuntu-24-04-x64",
			"public": true, "regions": []string{d.Region}, "created_at": "2024-04-24T15:07:51Z",
			"min_disk_size": 15, "type": "base", "size_gigabytes": 2.34, "status": "available",
		},
		"volume_ids": volumeIDs,
		"size": map[string]any{
			"slug": d.SizeSlug, "memory": d.Memory, "vcpus": d.Vcpus, "disk": d.Disk, "transfer": 1.0,
			"price_monthly": 6.0, "price_hourly": 0.00893, "regions": []string{d.Region}, "available": true,
			"description": sizeDescription(d.SizeSlug),
		},
		"size_slug": d.SizeSlug,
		"networks":  map[string]any{"v4": []any{}, "v6": []any{}},
		"region":    regionJSON(d.Region),
		"tags":      tags,
		"vpc_uuid":  "5a4981aa-9653-4bd1-bef5-d6bff52042e4",
	}
}

// sizeDescription is the class of droplets a size slug belongs to, as
// DigitalOcean's size object describes it ("Basic", "General Purpose"...).
func sizeDescription(slug string) string {
	for prefix, desc := range map[string]string{
		"g-": "General Purpose", "gd-": "General Purpose", "c-": "CPU-Optimized", "c2-": "CPU-Optimized",
		"m-": "Memory-Optimized", "m3-": "Memory-Optimized", "so-": "Storage-Optimized", "gpu-": "GPU",
	} {
		if strings.HasPrefix(slug, prefix) {
			return desc
		}
	}
	return "Basic"
}

// --- account ---

// getAccount answers GET /v2/account for the request's token.
func (s *Server) getAccount(c *call) *reply {
	a := c.tok.account
	acct := map[string]any{
		"droplet_limit": a.DropletLimit, "floating_ip_limit": a.FloatingIPLimit, "volume_limit": a.VolumeLimit,
		"email": a.Email, "name": a.Name, "uuid": a.UUID, "email_verified": a.EmailVerified,
		"status": a.Status, "status_message": a.StatusMessage,
	}
	if a.TeamName != "" {
		acct["team"] = map[string]any{"uuid": a.TeamUUID, "name": a.TeamName}
	}
	return jsonReply(http.StatusOK, map[string]any{"account": acct})
}

func (s *Server) getVolume(c *call) *reply {
	v := s.volumes[c.params["id"]]
	if v == nil {
		return notFound()
	}
	return jsonReply(http.StatusOK, map[string]any{"volume": volumeJSON(v)})
}

func volumeJSON(v *Volume) map[string]any {
	dropletIDs := v.DropletIDs
	if dropletIDs == nil {
		dropletIDs = []int{}
	}
	tags := v.Tags
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{
		"id": v.ID, "region": regionJSON(v.Region), "droplet_ids": dropletIDs, "name": v.Name,
		"description": v.Description, "size_gigabytes": v.SizeGigaBytes, "created_at": ts(v.CreatedAt),
		"filesystem_type": v.FilesystemType, "filesystem_label": "", "tags": tags,
	}
}

// --- snapshots ---

func listed(sn *Snapshot, now time.Time) bool {
	return sn.ListedAt.IsZero() || !now.Before(sn.ListedAt)
}

// sortedSnapshots returns the snapshots keep accepts, oldest first.
func (s *Server) sortedSnapshots(keep func(*Snapshot) bool) []*Snapshot {
	return sortSnapshots(s.snapshots, keep)
}

// sortedSnapshotsOf is sortedSnapshots over one resource's snapshots.
func (s *Server) sortedSnapshotsOf(resourceType, resourceID string, keep func(*Snapshot) bool) []*Snapshot {
	return sortSnapshots(s.snapsOf[ResourceKey(resourceType, resourceID)], keep)
}

func sortSnapshots(from map[string]*Snapshot, keep func(*Snapshot) bool) []*Snapshot {
	var out []*Snapshot
	for _, sn := range from {
		if keep(sn) {
			out = append(out, sn)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func snapshotJSON(sn *Snapshot) map[string]any {
	tags := sn.Tags
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{
		"id": sn.ID, "name": sn.Name, "regions": sn.Regions, "created_at": ts(sn.CreatedAt),
		"resource_id": sn.ResourceID, "resource_type": sn.ResourceType, "min_disk_size": sn.MinDiskSize,
		"size_gigabytes": sn.SizeGigaBytes, "tags": tags,
	}
}

// imageJSON is a droplet snapshot or backup as /v2/droplets/{id}/snapshots
// and /backups show it (an image, with an integer id).
func imageJSON(sn *Snapshot) map[string]any {
	id, _ := strconv.Atoi(sn.ID)
	tags := sn.Tags
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{
		"id": id, "name": sn.Name, "distribution": "Ubuntu", "slug": nil, "public": false,
		"regions": sn.Regions, "created_at": ts(sn.CreatedAt), "type": sn.Type,
		"min_disk_size": sn.MinDiskSize, "size_gigabytes": sn.SizeGigaBytes, "description": "",
		"tags": tags, "status": "available", "error_message": "",
	}
}

// page answers a paged list: page and per_page (default 20, at most 200),
// links.pages with absolute first/prev/next/last URLs, meta.total.
func page[T any](c *call, key string, items []T, render func(T) map[string]any) *reply {
	q := c.r.URL.Query()
	pg, _ := strconv.Atoi(q.Get("page"))
	if pg < 1 {
		pg = 1
	}
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per < 1 {
		per = 20
	}
	if per > 200 {
		per = 200
	}
	total := len(items)
	last := (total + per - 1) / per
	if last < 1 {
		last = 1
	}
	out := []map[string]any{}
	for i := (pg - 1) * per; i < total && i < pg*per; i++ {
		out = append(out, render(items[i]))
	}
	link := func(p int) string {
		u := url.URL{Scheme: "http", Host: c.r.Host, Path: c.r.URL.Path}
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("page", strconv.Itoa(p))
		v.Set("per_page", strconv.Itoa(per))
		u.RawQuery = v.Encode()
		return u.String()
	}
	pages := map[string]string{}
	if pg > 1 {
		pages["first"] = link(1)
		pages["prev"] = link(min(pg-1, last))
	}
	if pg < last {
		pages["next"] = link(pg + 1)
		pages["last"] = link(last)
	}
	links := map[string]any{}
	if len(pages) > 0 {
		links["pages"] = pages
	}
	return jsonReply(http.StatusOK, map[string]any{key: out, "links": links, "meta": map[string]any{"total": total}})
}

func (s *Server) listDropletSnapshots(c *call) *reply {
	return s.listDropletImages(c, TypeSnapshot, "snapshots")
}

func (s *Server) listDropletBackups(c *call) *reply {
	return s.listDropletImages(c, TypeBackup, "backups")
}

func (s *Server) listDropletImages(c *call, typ, key string) *reply {
	d := s.droplet(c)
	if d == nil {
		return notFound()
	}
	id := strconv.Itoa(d.ID)
	items := s.sortedSnapshotsOf("droplet", id, func(sn *Snapshot) bool {
		return sn.Type == typ && listed(sn, c.now)
	})
	return page(c, key, items, imageJSON)
}

func (s *Server) listVolumeSnapshots(c *call) *reply {
	id := c.params["id"]
	if s.volumes[id] == nil {
		return notFound()
	}
	items := s.sortedSnapshotsOf("volume", id, func(sn *Snapshot) bool {
		return listed(sn, c.now)
	})
	return page(c, "snapshots", items, snapshotJSON)
}

func (s *Server) listSnapshots(c *call) *reply {
	rt := c.r.URL.Query().Get("resource_type")
	items := s.sortedSnapshots(func(sn *Snapshot) bool {
		return sn.Type == TypeSnapshot && (rt == "" || sn.ResourceType == rt) && listed(sn, c.now)
	})
	return page(c, "snapshots", items, snapshotJSON)
}

// MsgNotASnapshot is DigitalOcean's 400 bad_request message for a backup
// image asked for through /v2/snapshots/{id} (its API description's words).
const MsgNotASnapshot = "the resource is not a snapshot"

// getSnapshot answers GET /v2/snapshots/{id}: a droplet or volume snapshot;
// a backup is 400 bad_request (it is an image, not a snapshot).
func (s *Server) getSnapshot(c *call) *reply {
	sn := s.snapshots[c.params["snapshot_id"]]
	switch {
	case sn == nil || !listed(sn, c.now):
		return notFound()
	case sn.Type == TypeBackup:
		return badRequest(MsgNotASnapshot)
	}
	return jsonReply(http.StatusOK, map[string]any{"snapshot": snapshotJSON(sn)})
}

// deleteSnapshot answers DELETE /v2/snapshots/{id}; a backup is 400
// bad_request and stays.
func (s *Server) deleteSnapshot(c *call) *reply {
	sn := s.snapshots[c.params["snapshot_id"]]
	switch {
	case sn == nil:
		return notFound()
	case sn.Type == TypeBackup:
		return badRequest(MsgNotASnapshot)
	}
	return s.deleteLocked(sn)
}

// getVolumeSnapshot answers GET /v2/volumes/snapshots/{id}: 404 for
// anything but a snapshot (a backup included).
func (s *Server) getVolumeSnapshot(c *call) *reply {
	sn := s.snapshots[c.params["snapshot_id"]]
	if sn == nil || sn.Type != TypeSnapshot || !listed(sn, c.now) {
		return notFound()
	}
	return jsonReply(http.StatusOK, map[string]any{"snapshot": snapshotJSON(sn)})
}

// deleteVolumeSnapshot answers DELETE /v2/volumes/snapshots/{id}.
func (s *Server) deleteVolumeSnapshot(c *call) *reply {
	sn := s.snapshots[c.params["snapshot_id"]]
	if sn == nil || sn.Type != TypeSnapshot {
		return notFound()
	}
	return s.deleteLocked(sn)
}

func (s *Server) deleteLocked(sn *Snapshot) *reply {
	delete(s.snapshots, sn.ID)
	delete(s.snapsOf[ResourceKey(sn.ResourceType, sn.ResourceID)], sn.ID)
	s.deleted = append(s.deleted, *sn)
	return &reply{status: http.StatusNoContent}
}

func (s *Server) postVolumeSnapshot(c *call) *reply {
	v := s.volumes[c.params["id"]]
	if v == nil {
		return notFound()
	}
	var req struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil {
		return badRequest("Unable to parse request body: " + err.Error())
	}
	if strings.TrimSpace(req.Name) == "" {
		return unprocessable("name is required")
	}
	if n := len(s.snapsOf[ResourceKey("volume", v.ID)]); n >= VolumeSnapshotLimit {
		return unprocessable(MsgVolumeSnapshotLimit)
	}
	if s.volumeInterval > 0 {
		if last, ok := s.lastVolSnap[v.ID]; ok && c.now.Before(last.Add(s.volumeInterval)) {
			r := errReply(http.StatusTooManyRequests, "too_many_requests", fmt.Sprintf(MsgVolumeSnapshotInterval, s.volumeInterval))
			r.retryAfter = int((last.Add(s.volumeInterval).Sub(c.now) + time.Second - 1) / time.Second)
			return r
		}
	}
	s.lastVolSnap[v.ID] = c.now
	tags := req.Tags
	if tags == nil {
		tags = []string{}
	}
	sn := &Snapshot{
		ID: newRequestID(), Name: req.Name, ResourceType: "volume", ResourceID: v.ID,
		Regions: []string{v.Region}, MinDiskSize: int(v.SizeGigaBytes), CreatedAt: c.now,
		Tags: tags, Type: TypeSnapshot, Origin: OriginAPI,
	}
	s.putSnapshotLocked(sn)
	return jsonReply(http.StatusCreated, map[string]any{"snapshot": snapshotJSON(sn)})
}
