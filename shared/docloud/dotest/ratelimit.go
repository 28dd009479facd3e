package dotest

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// tokenState is a registered token's scope, account and request history.
// The token itself is only the map key; it is never logged or reported.
type tokenState struct {
	write   bool
	revoked bool
	account Account
	hits    []time.Time // accepted requests within the last hour, oldest first
}

func newTokenState(write bool) *tokenState {
	a := defaultAccount
	var b [20]byte
	_, _ = rand.Read(b[:])
	a.UUID = hex.EncodeToString(b[:])
	return &tokenState{write: write, account: a}
}

type rateHeaders struct {
	limit, remaining int
	reset            int64
}

// refusal is why take refused a request: the hourly budget is spent
// (retryAfter 0: DigitalOcean sends no retry-after then, only the reset)
// or the minute's (a burst: retryAfter is the seconds to wait).
type refusal struct {
	refused    bool
	retryAfter int
}

// take counts a request at now against the hourly and per-minute budgets
// (sliding windows on the injected clock). It returns the rate-limit
// headers and whether (and how) the request is refused; a refused request
// is not counted, and its headers say ratelimit-remaining 0, as
// DigitalOcean's do on either 429.
func (t *tokenState) take(now time.Time, perHour, perMinute int) (rateHeaders, refusal) {
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
	var ref refusal
	switch {
	case perHour > 0 && len(t.hits) >= perHour:
		ref.refused = true
	case perMinute > 0 && inMinute >= perMinute:
		wait := t.hits[firstInMinute+inMinute-perMinute].Add(time.Minute).Sub(now)
		ref = refusal{refused: true, retryAfter: max(int((wait+time.Second-1)/time.Second), 1)}
	default:
		t.hits = append(t.hits, now)
	}
	h := rateHeaders{limit: perHour, remaining: max(perHour-len(t.hits), 0)}
	if perHour <= 0 {
		h.limit, h.remaining = 0, 0
	}
	if ref.refused {
		h.remaining = 0
	}
	if len(t.hits) > 0 {
		h.reset = t.hits[0].Add(time.Hour).Unix()
	} else {
		h.reset = now.Unix()
	}
	return h, ref
}

// AddToken registers a token with read and write scope.
func (s *Server) AddToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = newTokenState(true)
}

// AddReadOnlyToken registers a token without write scope: its writes
// (POST, PUT, PATCH, DELETE) answer 403 forbidden.
func (s *Server) AddReadOnlyToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = newTokenState(false)
}

// RevokeToken makes a registered token unknown (401) from now on.
func (s *Server) RevokeToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[token]; t != nil {
		t.revoked = true
	}
}

// Account returns what GET /v2/account answers for a registered token;
// false when the token is not registered.
func (s *Server) Account(token string) (Account, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[token]
	if t == nil {
		return Account{}, false
	}
	return t.account, true
}

// SetAccount sets what GET /v2/account answers for a registered token, all
// of it (start from Account to change one field; an empty UUID keeps the
// token's); false when the token is not registered.
func (s *Server) SetAccount(token string, a Account) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[token]
	if t == nil {
		return false
	}
	if a.UUID == "" {
		a.UUID = t.account.UUID
	}
	t.account = a
	return true
}

// NewToken returns a random token shaped like a DigitalOcean personal
// access token ("dop_v1_" and 64 hex digits), for tests.
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "dop_v1_" + hex.EncodeToString(b[:])
}
