package errorrate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// In-memory stand-ins for the evaluation's ports, with the stores'
// semantics: conditional writes fail with snapkeep.ErrConflict, reads
// return copies, the Watch goes through its JSON as it does in DynamoDB.

type memStats struct {
	mu      sync.Mutex
	minutes map[snapkeep.Dimension]map[int64]errorrate.Counts
	daily   map[snapkeep.Dimension]map[int64]errorrate.Counts
	runs    map[int64]errorrate.RunCounts
	watches map[snapkeep.Dimension]storedWatch
	// puts counts PutDaily calls per dimension and day.
	puts map[string]int
	// conflict, when set, makes SaveWatch lose for the dimension.
	conflict func(snapkeep.Dimension) bool
}

type storedWatch struct {
	raw []byte
	rev int64
}

func newMemStats() *memStats {
	return &memStats{
		minutes: map[snapkeep.Dimension]map[int64]errorrate.Counts{},
		daily:   map[snapkeep.Dimension]map[int64]errorrate.Counts{},
		runs:    map[int64]errorrate.RunCounts{},
		watches: map[snapkeep.Dimension]storedWatch{},
		puts:    map[string]int{},
	}
}

// addMinute adds c to dim's minute (as another window part would).
func (s *memStats) addMinute(dim snapkeep.Dimension, m time.Time, c errorrate.Counts) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.minutes[dim] == nil {
		s.minutes[dim] = map[int64]errorrate.Counts{}
	}
	have := s.minutes[dim][m.Unix()]
	have.Add(c)
	s.minutes[dim][m.Unix()] = have
}

func (s *memStats) setDaily(dim snapkeep.Dimension, day time.Time, c errorrate.Counts) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.daily[dim] == nil {
		s.daily[dim] = map[int64]errorrate.Counts{}
	}
	s.daily[dim][day.Unix()] = c
}

func (s *memStats) Dimensions(_ context.Context, from, to time.Time) ([]snapkeep.Dimension, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []snapkeep.Dimension
	lo, hi := from.Truncate(24*time.Hour).Unix(), to.Truncate(24*time.Hour).Add(24*time.Hour).Unix()
	for dim, ms := range s.minutes {
		for m := range ms {
			if m >= lo && m < hi {
				out = append(out, dim)
				break
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

func (s *memStats) LoadWatch(_ context.Context, dim snapkeep.Dimension) (*errorrate.Watch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.watches[dim]
	if !ok {
		return nil, fmt.Errorf("watch %s: %w", dim, snapkeep.ErrNotFound)
	}
	var w errorrate.Watch
	if err := json.Unmarshal(st.raw, &w); err != nil {
		return nil, err
	}
	w.Rev = st.rev
	return &w, nil
}

func (s *memStats) SaveWatch(_ context.Context, w *errorrate.Watch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watches[w.Dimension].rev != w.Rev || (s.conflict != nil && s.conflict(w.Dimension)) {
		return fmt.Errorf("watch %s: %w", w.Dimension, snapkeep.ErrConflict)
	}
	raw, err := json.Marshal(w)
	if err != nil {
		return err
	}
	s.watches[w.Dimension] = storedWatch{raw: raw, rev: w.Rev + 1}
	w.Rev++
	return nil
}

func (s *memStats) MinuteCounts(_ context.Context, dim snapkeep.Dimension, from, to time.Time) (*errorrate.Aggregate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	agg := errorrate.NewAggregate()
	for m, c := range s.minutes[dim] {
		if t := time.Unix(m, 0).UTC(); !t.Before(from) && t.Before(to) {
			if err := agg.AddCounts(errorrate.Key{Dimension: dim, Minute: t}, c); err != nil {
				return nil, err
			}
		}
	}
	return agg, nil
}

func (s *memStats) DailyCounts(_ context.Context, dim snapkeep.Dimension, from, to time.Time) ([]errorrate.DayCounts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []errorrate.DayCounts
	for d, c := range s.daily[dim] {
		if t := time.Unix(d, 0).UTC(); !t.Before(from) && t.Before(to) {
			out = append(out, errorrate.DayCounts{Day: t, Counts: c})
		}
	}
	return out, nil
}

func (s *memStats) PutDaily(_ context.Context, dim snapkeep.Dimension, d errorrate.DayCounts) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.daily[dim] == nil {
		s.daily[dim] = map[int64]errorrate.Counts{}
	}
	s.daily[dim][d.Day.Unix()] = d.Counts
	s.puts[string(dim)+"@"+d.Day.Format(time.DateOnly)]++
	return nil
}

func (s *memStats) RunCounts(_ context.Context, from, to time.Time) (errorrate.RunCounts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum errorrate.RunCounts
	for m, c := range s.runs {
		if t := time.Unix(m, 0).UTC(); !t.Before(from) && t.Before(to) {
			sum.Add(c)
		}
	}
	return sum, nil
}

// memIncidents is the Incidents table: Create only if absent, Update only
// if the stored updated_at is prev's.
type memIncidents struct {
	mu     sync.Mutex
	items  map[string]snapkeep.Incident
	writes int
	// hideOpen makes ListOpen return nothing (an index lagging behind).
	hideOpen bool
}

func newMemIncidents() *memIncidents { return &memIncidents{items: map[string]snapkeep.Incident{}} }

func (s *memIncidents) Get(_ context.Context, id string) (*snapkeep.Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inc, ok := s.items[id]
	if !ok {
		return nil, fmt.Errorf("incident %s: %w", id, snapkeep.ErrNotFound)
	}
	return &inc, nil
}

func (s *memIncidents) Create(_ context.Context, inc *snapkeep.Incident) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.items[inc.IncidentID]; ok {
		return fmt.Errorf("incident %s exists: %w", inc.IncidentID, snapkeep.ErrConflict)
	}
	s.items[inc.IncidentID] = *inc
	s.writes++
	return nil
}

func (s *memIncidents) Update(_ context.Context, prev, next *snapkeep.Incident) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !next.UpdatedAt.After(prev.UpdatedAt) {
		return fmt.Errorf("updated_at must increase: %w", snapkeep.ErrInvalid)
	}
	cur, ok := s.items[prev.IncidentID]
	if !ok || !cur.UpdatedAt.Equal(prev.UpdatedAt) {
		return fmt.Errorf("incident %s changed: %w", prev.IncidentID, snapkeep.ErrConflict)
	}
	s.items[next.IncidentID] = *next
	s.writes++
	return nil
}

func (s *memIncidents) ListOpen(context.Context) ([]snapkeep.Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []snapkeep.Incident
	for _, inc := range s.items {
		if inc.Open() && !s.hideOpen {
			out = append(out, inc)
		}
	}
	slices.SortFunc(out, func(a, b snapkeep.Incident) int { return a.OpenedAt.Compare(b.OpenedAt) })
	return out, nil
}

func (s *memIncidents) all() []snapkeep.Incident {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []snapkeep.Incident
	for _, inc := range s.items {
		out = append(out, inc)
	}
	slices.SortFunc(out, func(a, b snapkeep.Incident) int { return a.OpenedAt.Compare(b.OpenedAt) })
	return out
}

// dueRuns answers FirstDue with a function field.
type dueRuns struct {
	first func(from, to time.Time) time.Time
}

func (d dueRuns) FirstDue(_ context.Context, from, to time.Time) (time.Time, error) {
	if d.first == nil {
		return time.Time{}, nil
	}
	return d.first(from, to), nil
}

// sent is one notice an alerter sent.
type sent struct {
	id     string
	notice errorrate.Notice
}

// alerter records the notices and answers with send's result (nil: a
// message id).
type alerter struct {
	mu   sync.Mutex
	sent []sent
	send func(inc *snapkeep.Incident, n errorrate.Notice, attempt int) error
	n    int
}

func (a *alerter) Send(_ context.Context, inc *snapkeep.Incident, n errorrate.Notice) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n++
	if a.send != nil {
		if err := a.send(inc, n, a.n); err != nil {
			return "", err
		}
	}
	a.sent = append(a.sent, sent{id: inc.IncidentID, notice: n})
	return fmt.Sprintf("msg-%d", a.n), nil
}

func (a *alerter) notices() []sent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.sent)
}

// discard is a logger that writes nothing.
var discard = slog.New(slog.DiscardHandler)
