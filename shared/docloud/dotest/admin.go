package dotest

import (
	"cmp"
	"encoding/json"
	"slices"

	"net/http"
	"strconv"
	"strings"
	"time"
)

// State is everything the fake holds, as GET /_fake/state reports it.
type State struct {
	// Now is the fake's clock.
	Now time.Time `json:"now"`
	// Droplets are the droplets, by id.
	Droplets []Droplet `json:"droplets"`
	// Volumes are the volumes.
	Volumes []Volume `json:"volumes"`
	// Snapshots are all snapshots and backups, oldest first.
	Snapshots []Snapshot `json:"snapshots"`
	// Deleted are the snapshots deleted through the API.
	Deleted []Snapshot `json:"deleted"`
	// Actions are all actions.
	Actions []Action `json:"actions"`
	// PostCounts are the snapshot POSTs per resource.
	PostCounts map[string]int `json:"post_counts"`
	// Faults are the added faults.
	Faults []FaultState `json:"faults"`
}

// State returns a snapshot of the fake's state.
func (s *Server) State() State {
	st := State{
		Now: s.now(), Snapshots: s.Snapshots(), Deleted: s.Deleted(), Actions: s.Actions(),
		PostCounts: s.PostCounts(), Faults: s.Faults(),
	}
	s.mu.Lock()
	for _, d := range s.droplets {
		st.Droplets = append(st.Droplets, *d)
	}
	for _, v := range s.volumes {
		st.Volumes = append(st.Volumes, *v)
	}
	s.mu.Unlock()
	slices.SortFunc(st.Droplets, func(a, b Droplet) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(st.Volumes, func(a, b Volume) int { return cmp.Compare(a.ID, b.ID) })
	return st
}

// serveAdmin serves the admin endpoints listed in the package doc.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/_fake/"), "/"), "/")
	res, id := parts[0], ""
	if len(parts) == 2 {
		id = parts[1]
	} else if len(parts) > 2 {
		adminError(w, http.StatusNotFound, "no such admin endpoint")
		return
	}
	key := r.Method + " " + res
	if id != "" {
		key += "/{id}"
	}
	switch {
	case s.serveAdminReads(w, key):
	case s.serveAdminState(w, r, key, id):
	case s.serveAdminFaults(w, r, key, id):
	case key == "GET clock" || key == "POST clock":
		s.serveAdminClock(w, r)
	default:
		adminError(w, http.StatusNotFound, "no such admin endpoint: "+r.Method+" "+r.URL.Path)
	}
}

// serveAdminReads serves the read-only endpoints; false when key is none
// of them.
func (s *Server) serveAdminReads(w http.ResponseWriter, key string) bool {
	switch key {
	case "GET state":
		adminJSON(w, http.StatusOK, s.State())
	case "GET requests":
		adminJSON(w, http.StatusOK, nonNil(s.Requests()))
	case "DELETE requests":
		s.ResetRequests()
		w.WriteHeader(http.StatusNoContent)
	case "GET snapshots":
		adminJSON(w, http.StatusOK, nonNil(s.Snapshots()))
	case "GET actions":
		adminJSON(w, http.StatusOK, nonNil(s.Actions()))
	case "GET posts":
		adminJSON(w, http.StatusOK, s.PostCounts())
	default:
		return false
	}
	return true
}

// serveAdminState serves the endpoints that add and remove droplets,
// volumes and snapshots; false when key is none of them.
func (s *Server) serveAdminState(w http.ResponseWriter, r *http.Request, key, id string) bool {
	switch key {
	case "POST snapshots":
		var sn Snapshot
		if !decode(w, r, &sn) {
			return true
		}
		out, err := s.AddSnapshot(sn)
		if err != nil {
			adminError(w, http.StatusUnprocessableEntity, err.Error())
			return true
		}
		adminJSON(w, http.StatusCreated, out)
	case "POST droplets":
		var d Droplet
		if !decode(w, r, &d) {
			return true
		}
		if err := s.AddDroplet(d); err != nil {
			adminError(w, http.StatusUnprocessableEntity, err.Error())
			return true
		}
		out, _ := s.Droplet(d.ID)
		adminJSON(w, http.StatusCreated, out)
	case "DELETE droplets/{id}":
		n, err := strconv.Atoi(id)
		if err != nil {
			adminError(w, http.StatusBadRequest, "droplet id must be an integer")
			return true
		}
		s.RemoveDroplet(n)
		w.WriteHeader(http.StatusNoContent)
	case "POST volumes":
		var v Volume
		if !decode(w, r, &v) {
			return true
		}
		if err := s.AddVolume(v); err != nil {
			adminError(w, http.StatusUnprocessableEntity, err.Error())
			return true
		}
		adminJSON(w, http.StatusCreated, v)
	case "DELETE volumes/{id}":
		s.RemoveVolume(id)
		w.WriteHeader(http.StatusNoContent)
	default:
		return false
	}
	return true
}

// serveAdminFaults serves the fault endpoints; false when key is none of
// them.
func (s *Server) serveAdminFaults(w http.ResponseWriter, r *http.Request, key, id string) bool {
	switch key {
	case "GET faults":
		adminJSON(w, http.StatusOK, nonNil(s.Faults()))
	case "POST faults":
		var f Fault
		if !decode(w, r, &f) {
			return true
		}
		fid, err := s.AddFault(f)
		if err != nil {
			adminError(w, http.StatusUnprocessableEntity, err.Error())
			return true
		}
		adminJSON(w, http.StatusCreated, map[string]int{"id": fid})
	case "DELETE faults":
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case "DELETE faults/{id}":
		n, _ := strconv.Atoi(id)
		if !s.RemoveFault(n) {
			adminError(w, http.StatusNotFound, "no fault "+id)
			return true
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		return false
	}
	return true
}

// serveAdminClock reads (GET) or moves (POST) a virtual clock.
func (s *Server) serveAdminClock(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		adminJSON(w, http.StatusOK, map[string]time.Time{"now": s.now()})
		return
	}
	if s.clock == nil {
		adminError(w, http.StatusConflict, "this fake's clock cannot be moved (use WithVirtualClock)")
		return
	}
	var req struct {
		Advance jsonDuration `json:"advance"`
		Set     time.Time    `json:"set"`
	}
	if !decode(w, r, &req) {
		return
	}
	if !req.Set.IsZero() {
		s.clock.Set(req.Set)
	}
	s.clock.Advance(time.Duration(req.Advance))
	adminJSON(w, http.StatusOK, map[string]time.Time{"now": s.now()})
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		adminError(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		return false
	}
	return true
}

func adminJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func adminError(w http.ResponseWriter, status int, msg string) {
	adminJSON(w, status, map[string]string{"error": msg})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
