package dotest

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// tokenState is a registered token's scope and request history. The token
// itself is only the map key; it is never logged or reported.
type tokenState struct {
	write   bool
	revoked bool
	hits    []time.Time // accepted requests within the last hour, oldest first
}

type rateHeaders struct {
	limit, remaining int
	reset            int64
}

// take counts a request at now against the hourly and per-minute budgets
// (sliding windows on the injected clock). It returns the rate-limit
// headers and, when a budget is spent, the retry-after seconds (> 0); a
// refused request is not counted.
func (t *tokenState) take(now time.Time, perHour, perMinute int) (rateHeaders, int) {
	hourAgo := now.Add(-time.Hour)
	i := 0
	for i < len(t.hits) && !t.hits[i].After(hourAgo) {
		i++
	}
	t.hits = t.hits[i:]
	inMinute := 0
	minuteAgo := now.Add(-time.Minute)
	firstInMinute := -1
	for j := len(t.hits) - 1; j >= 0 && t.hits[j].After(minuteAgo); j-- {
		inMinute++
		firstInMinute = j
	}
	retry := time.Duration(0)
	if perHour > 0 && len(t.hits) >= perHour {
		retry = t.hits[len(t.hits)-perHour].Add(time.Hour).Sub(now)
	}
	if perMinute > 0 && inMinute >= perMinute {
		if d := t.hits[firstInMinute+inMinute-perMinute].Add(time.Minute).Sub(now); d > retry {
			retry = d
		}
	}
	if retry <= 0 {
		t.hits = append(t.hits, now)
	}
	h := rateHeaders{limit: perHour, remaining: perHour - len(t.hits)}
	if perHour <= 0 {
		h.limit, h.remaining = 0, 0
	}
	if h.remaining < 0 {
		h.remaining = 0
	}
	if len(t.hits) > 0 {
		h.reset = t.hits[0].Add(time.Hour).Unix()
	} else {
		h.reset = now.Unix()
	}
	if retry <= 0 {
		return h, 0
	}
	secs := int((retry + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return h, secs
}

// AddToken registers a token with read and write scope.
func (s *Server) AddToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = &tokenState{write: true}
}

// AddReadOnlyToken registers a token without write scope: its writes
// (POST, PUT, PATCH, DELETE) answer 403 forbidden.
func (s *Server) AddReadOnlyToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = &tokenState{}
}

// RevokeToken makes a registered token unknown (401) from now on.
func (s *Server) RevokeToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[token]; t != nil {
		t.revoked = true
	}
}

// NewToken returns a random token shaped like a DigitalOcean personal
// access token ("dop_v1_" and 64 hex digits), for tests.
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "dop_v1_" + hex.EncodeToString(b[:])
}
