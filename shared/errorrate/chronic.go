package errorrate

import (
	"slices"
	"strings"
	"time"
)

// forgetSources drops the sources whose last failure is more than forget
// before m.
func (s *State) forgetSources(m time.Time, forget time.Duration) {
	s.Sources = slices.DeleteFunc(s.Sources, func(src Source) bool { return m.Sub(src.Last) > forget })
}

// chronic returns the chronic resources, sorted: of the sources that
// failed in at least ChronicMinutes minutes, the MaxChronic that failed in
// the most (then the most recent, then by id).
func (s *State) chronic(p Params) []string {
	var cands []Source
	for _, src := range s.Sources {
		if src.Minutes >= p.ChronicMinutes {
			cands = append(cands, src)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	slices.SortFunc(cands, func(a, b Source) int {
		switch {
		case a.Minutes != b.Minutes:
			return b.Minutes - a.Minutes
		case !a.Last.Equal(b.Last):
			return b.Last.Compare(a.Last)
		}
		return strings.Compare(a.Resource, b.Resource)
	})
	out := make([]string, 0, p.MaxChronic)
	for _, src := range cands[:min(len(cands), p.MaxChronic)] {
		out = append(out, src.Resource)
	}
	slices.Sort(out)
	return out
}

// noteSources records the minute's failing resources: each tracked one's
// Minutes grows (and Counted, when counted is true and it was counted,
// i.e. is not in chronic); new ones are tracked, evicting the one that
// failed in the fewest minutes (then the least recently) when MaxSources
// are tracked already.
func (s *State) noteSources(p Params, c Counts, m time.Time, chronic []string, counted bool) {
	if p.MaxSources == 0 {
		return
	}
	for _, r := range c.FailedResources {
		add := 0
		if counted && !slices.Contains(chronic, r) {
			add = 1
		}
		i := slices.IndexFunc(s.Sources, func(src Source) bool { return src.Resource == r })
		if i >= 0 {
			if !s.Sources[i].Last.Equal(m) {
				s.Sources[i].Minutes++
				s.Sources[i].Counted += add
				s.Sources[i].Last = m
			}
			continue
		}
		if len(s.Sources) >= p.MaxSources {
			s.Sources = slices.Delete(s.Sources, s.weakest(), s.weakest()+1)
		}
		s.Sources = append(s.Sources, Source{Resource: r, Minutes: 1, Counted: add, Last: m})
	}
}

// weakest is the index of the source to evict: fewest minutes, then least
// recent, then the largest id.
func (s *State) weakest() int {
	w := 0
	for i, src := range s.Sources[1:] {
		b := s.Sources[w]
		if src.Minutes < b.Minutes ||
			(src.Minutes == b.Minutes && (src.Last.Before(b.Last) || (src.Last.Equal(b.Last) && src.Resource > b.Resource))) {
			w = i + 1
		}
	}
	return w
}
