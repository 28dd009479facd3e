package dotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Defaults of the fake.
const (
	// DefaultPerHour is DigitalOcean's per-token request budget per hour.
	DefaultPerHour = 5000
	// DefaultPerMinute is DigitalOcean's per-token request budget per minute.
	DefaultPerMinute = 250
	// DefaultActionPerGB is how long a snapshot action takes per GB of disk.
	DefaultActionPerGB = time.Minute
	// VolumeSnapshotLimit is how many snapshots a volume holds at most.
	VolumeSnapshotLimit = 25
)

// Option configures a Server.
type Option func(*Server)

// WithClock sets the clock every duration is measured on (action
// completion, rate-limit windows, fault windows, created_at, the Date
// header); default time.Now.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithVirtualClock is WithClock(c.Now) and lets the admin endpoint
// /_fake/clock advance or set c.
func WithVirtualClock(c *Clock) Option {
	return func(s *Server) { s.now = c.Now; s.clock = c }
}

// WithSeed seeds the rand that Fault.Rate draws from (default 1).
func WithSeed(seed uint64) Option {
	return func(s *Server) { s.rng = mrand.New(mrand.NewPCG(seed, seed^0x5eed)) }
}

// WithRateLimits sets the per-token budgets (default 5,000 an hour and 250 a
// minute); 0 leaves a budget unlimited.
func WithRateLimits(perHour, perMinute int) Option {
	return func(s *Server) { s.perHour, s.perMinute = perHour, perMinute }
}

// WithActionDuration makes every snapshot action take d, unless the droplet
// sets its own ActionDuration (default: DefaultActionPerGB per GB of disk).
func WithActionDuration(d time.Duration) Option { return func(s *Server) { s.actionDuration = d } }

// WithActionPerGB sets how long an action takes per GB of disk when neither
// the droplet nor WithActionDuration says (default one minute).
func WithActionPerGB(d time.Duration) Option { return func(s *Server) { s.actionPerGB = d } }

// WithListingLag sets how long a droplet snapshot stays out of listings
// after its action completed (default 0).
func WithListingLag(d time.Duration) Option { return func(s *Server) { s.listingLag = d } }

// WithVolumeSnapshotInterval enforces DigitalOcean's "one snapshot every 10
// minutes per volume" (pass 10*time.Minute): a faster POST answers 429
// "this operation is rate-limited - one request per 10m0s". Default off.
func WithVolumeSnapshotInterval(d time.Duration) Option {
	return func(s *Server) { s.volumeInterval = d }
}

// WithToken registers a token with read and write scope (like AddToken).
func WithToken(token string) Option {
	return func(s *Server) { s.tokens[token] = newTokenState(true) }
}

// Server is a fake DigitalOcean API v2. Create one with NewServer (started
// on a loopback port, like httptest.NewServer) or New (an http.Handler
// without a listener). Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL of a started server ("http://127.0.0.1:port", no
	// trailing slash); "" for a Server from New.
	URL string

	ts        *httptest.Server
	done      chan struct{}
	closeOnce sync.Once

	now            func() time.Time
	clock          *Clock
	perHour        int
	perMinute      int
	actionDuration time.Duration
	actionPerGB    time.Duration
	listingLag     time.Duration
	volumeInterval time.Duration

	mu        sync.Mutex
	rng       *mrand.Rand
	tokens    map[string]*tokenState
	droplets  map[int]*Droplet
	volumes   map[string]*Volume
	snapshots map[string]*Snapshot
	// snapsOf indexes snapshots by ResourceKey, and byDroplet and
	// inProgress the actions, so that a fake with many thousands of
	// resources (the load simulation) answers in time independent of them.
	snapsOf     map[string]map[string]*Snapshot
	byDroplet   map[int][]*Action
	inProgress  actionHeap
	deleted     []Snapshot
	actions     map[int]*Action
	faults      []*faultRec
	requests    []Request
	posts       map[string]int
	lastVolSnap map[string]time.Time
	nextAction  int
	nextImage   int
	nextFault   int
}

// New returns a fake that is not listening: serve it with your own
// http.Server (cmd/dofake does) or call it as an http.Handler.
func New(opts ...Option) *Server {
	s := &Server{
		done:        make(chan struct{}),
		now:         time.Now,
		perHour:     DefaultPerHour,
		perMinute:   DefaultPerMinute,
		actionPerGB: DefaultActionPerGB,
		rng:         mrand.New(mrand.NewPCG(1, 1^0x5eed)),
		tokens:      map[string]*tokenState{},
		droplets:    map[int]*Droplet{},
		volumes:     map[string]*Volume{},
		snapshots:   map[string]*Snapshot{},
		snapsOf:     map[string]map[string]*Snapshot{},
		actions:     map[int]*Action{},
		byDroplet:   map[int][]*Action{},
		posts:       map[string]int{},
		lastVolSnap: map[string]time.Time{},
		nextAction:  1_900_000_000,
		nextImage:   180_000_000,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// NewServer returns a started fake listening on a loopback port. Close it
// when done.
func NewServer(opts ...Option) *Server {
	s := New(opts...)
	s.ts = httptest.NewServer(s)
	s.URL = s.ts.URL
	return s
}

// Close wakes every hanging request and, for a started server, shuts it
// down and waits for the outstanding requests.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
	if s.ts != nil {
		s.ts.Close()
	}
}

// Client returns an *http.Client for a started server (httptest's).
func (s *Server) Client() *http.Client {
	if s.ts == nil {
		return http.DefaultClient
	}
	return s.ts.Client()
}

// Now returns the fake's clock time.
func (s *Server) Now() time.Time { return s.now() }

// reply is a handler's answer before it is written.
type reply struct {
	status      int
	body        []byte
	contentType string
	retryAfter  int
	// burst marks a per-minute 429: ratelimit-remaining is sent as 0.
	burst bool
}

// errorBody is DigitalOcean's error body.
type errorBody struct {
	ID        string `json:"id"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// Error ids and messages as DigitalOcean sends them.
const (
	MsgUnauthorized = "Unable to authenticate you"
	MsgForbidden    = "You are not authorized to perform this operation"
	MsgRateLimited  = "API Rate limit exceeded."
	MsgNotFound     = "The resource you were accessing could not be found."
	MsgServerError  = "Server Error"
	MsgPendingEvent = "Droplet already has a pending event."
	MsgUnavailable  = "Service is currently unavailable."
	// MsgVolumeSnapshotLimit is the 422 message when a volume already holds
	// VolumeSnapshotLimit snapshots. DigitalOcean documents the limit ("You
	// can store up to 25 snapshots of a given volume. Delete old snapshots to
	// make room for new ones.") but its exact error text is not published;
	// this wording is ours. Clients should classify on 422 + a message that
	// mentions the snapshot limit, never on the whole string.
	MsgVolumeSnapshotLimit = "Volume snapshot limit reached: a volume can hold at most 25 snapshots. Delete old snapshots to make room for new ones."
	// MsgVolumeSnapshotInterval is the 429 message of WithVolumeSnapshotInterval
	// (DigitalOcean's own text for 10 minutes).
	MsgVolumeSnapshotInterval = "failed to create snapshot: this operation is rate-limited - one request per %s"
)

func errReply(status int, id, msg string) *reply {
	return &reply{status: status, body: mustJSON(errorBody{ID: id, Message: msg})}
}

func jsonReply(status int, v any) *reply { return &reply{status: status, body: mustJSON(v)} }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("dotest: marshal %T: %v", v, err))
	}
	return b
}

// statusReply is the body of an injected status: DigitalOcean's JSON error
// or an edge proxy's HTML page.
func statusReply(f *Fault) *reply {
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	body := f.Body
	if body == "" {
		body = BodyJSON
		if status == http.StatusBadGateway || status == http.StatusGatewayTimeout {
			body = BodyHTML
		}
	}
	if body == BodyHTML {
		text := fmt.Sprintf("%d %s", status, http.StatusText(status))
		page := "<html>\r\n<head><title>" + text + "</title></head>\r\n<body>\r\n<center><h1>" + text +
			"</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
		return &reply{status: status, body: []byte(page), contentType: "text/html"}
	}
	switch status {
	case http.StatusInternalServerError:
		return errReply(status, "server_error", MsgServerError)
	case http.StatusServiceUnavailable:
		return errReply(status, "service_unavailable", MsgUnavailable)
	case http.StatusTooManyRequests:
		r := errReply(status, "too_many_requests", MsgRateLimited)
		r.retryAfter, r.burst = f.RetryAfter, true
		if r.retryAfter <= 0 {
			r.retryAfter = 60
		}
		return r
	case http.StatusUnprocessableEntity:
		return errReply(status, "unprocessable_entity", MsgPendingEvent)
	case http.StatusNotFound:
		return errReply(status, "not_found", MsgNotFound)
	case http.StatusUnauthorized:
		return errReply(status, "unauthorized", MsgUnauthorized)
	case http.StatusForbidden:
		return errReply(status, "forbidden", MsgForbidden)
	}
	text := http.StatusText(status)
	return errReply(status, strings.ReplaceAll(strings.ToLower(text), " ", "_"), text)
}

// ServeHTTP serves the API under /v2/ and the admin endpoints under /_fake/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_fake/") {
		s.serveAdmin(w, r)
		return
	}
	now := s.now()
	reqID := newRequestID()
	rt, params := matchRoute(r.Method, r.URL.Path)
	var op snapkeep.Operation
	if rt != nil {
		op = rt.op
	}
	rec := Request{Time: now, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Operation: op, RequestID: reqID}

	var body []byte
	if r.Body != nil {
		body, _ = readBody(r)
	}

	s.mu.Lock()
	tok, rate, early := s.admitLocked(r, now)
	rec.Authorized = tok != nil
	var respFault, actionFault *Fault
	if early == nil {
		respFault, actionFault = s.pickFaultsLocked(r.Method, r.URL.Path, op, now)
	}
	if rt != nil && (rt.op == snapkeep.OpSnapshotDroplet || rt.op == snapkeep.OpSnapshotVolume) {
		s.posts[postKey(rt.op, params)]++
	}
	s.mu.Unlock()

	if respFault != nil {
		rec.Fault = respFault.Kind
	} else if actionFault != nil {
		rec.Fault = actionFault.Kind
	}
	setCommon(w, now, reqID, rate)

	// Each request is logged before its answer (or reset) leaves, so that a
	// client holding its answer finds the request in Requests.
	if early != nil {
		rec.Status = early.status
		s.log(rec)
		s.write(w, early, reqID)
		return
	}
	if respFault != nil && s.faultFirst(w, r, rec, respFault) {
		return
	}

	var rep *reply
	if rt == nil {
		rep = errReply(http.StatusNotFound, "not_found", MsgNotFound)
	} else {
		s.mu.Lock()
		s.settleLocked(s.now())
		rep = rt.handle(s, &call{r: r, params: params, body: body, now: s.now(), fault: actionFault, tok: tok})
		s.mu.Unlock()
	}

	if respFault != nil {
		switch respFault.Kind {
		case FaultEffectThenStatus:
			rep = statusReply(respFault)
		case FaultEffectThenReset:
			s.log(rec)
			resetConn(w)
			return
		case FaultMalformed:
			rep.body = rep.body[:len(rep.body)/2]
			if len(rep.body) == 0 {
				rep.body = []byte("{")
			}
		}
	}
	rec.Status = rep.status
	s.log(rec)
	s.write(w, rep, reqID)
}

// admitLocked checks the request's token and budgets: it returns the
// token (nil when unknown or revoked), the rate-limit headers, and the
// early answer (401, 429 or 403) when the request goes no further.
func (s *Server) admitLocked(r *http.Request, now time.Time) (*tokenState, rateHeaders, *reply) {
	tok := s.tokens[bearer(r)]
	if tok == nil || tok.revoked {
		return nil, rateHeaders{limit: s.perHour, remaining: s.perHour, reset: now.Unix()},
			errReply(http.StatusUnauthorized, "unauthorized", MsgUnauthorized)
	}
	rate, ref := tok.take(now, s.perHour, s.perMinute)
	switch {
	case ref.refused:
		early := errReply(http.StatusTooManyRequests, "too_many_requests", MsgRateLimited)
		early.retryAfter, early.burst = ref.retryAfter, ref.retryAfter > 0
		return tok, rate, early
	case isWrite(r.Method) && !tok.write:
		return tok, rate, errReply(http.StatusForbidden, "forbidden", MsgForbidden)
	}
	return tok, rate, nil
}

// faultFirst applies a response fault that acts before the request is
// handled (status, reset, hang, latency) and reports whether the request
// is done with (answered, cut or abandoned).
func (s *Server) faultFirst(w http.ResponseWriter, r *http.Request, rec Request, f *Fault) bool {
	switch f.Kind {
	case FaultStatus:
		rep := statusReply(f)
		rec.Status = rep.status
		s.log(rec)
		s.write(w, rep, rec.RequestID)
		return true
	case FaultReset:
		s.log(rec)
		resetConn(w)
		return true
	case FaultHang:
		// Logged once the client gave up (or the server closes).
		select {
		case <-r.Context().Done():
			s.log(rec)
		case <-s.done:
			s.log(rec)
			resetConn(w)
		}
		return true
	case FaultLatency:
		if !s.sleep(r.Context(), f.Delay) {
			s.log(rec)
			return true
		}
	}
	return false
}

// write sends rep; error bodies get the request id.
func (s *Server) write(w http.ResponseWriter, rep *reply, reqID string) {
	body := rep.body
	if rep.status >= 400 && rep.contentType == "" && len(body) > 0 {
		var e errorBody
		if json.Unmarshal(body, &e) == nil && e.ID != "" {
			e.RequestID = reqID
			body = mustJSON(e)
		}
	}
	if rep.contentType != "" {
		w.Header().Set("Content-Type", rep.contentType)
	}
	if rep.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(rep.retryAfter))
	}
	if rep.burst {
		w.Header().Set("Ratelimit-Remaining", "0")
	}
	if rep.status == http.StatusNoContent {
		body = nil
	} else {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(rep.status)
	_, _ = w.Write(body)
}

func (s *Server) log(rec Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec.Seq = len(s.requests) + 1
	s.requests = append(s.requests, rec)
}

// sleep waits d of real time; false when the request context or the
// server ended first.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

func setCommon(w http.ResponseWriter, now time.Time, reqID string, rate rateHeaders) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Date", now.UTC().Format(http.TimeFormat))
	h.Set("X-Request-Id", reqID)
	h.Set("Ratelimit-Limit", strconv.Itoa(rate.limit))
	h.Set("Ratelimit-Remaining", strconv.Itoa(rate.remaining))
	h.Set("Ratelimit-Reset", strconv.FormatInt(rate.reset, 10))
}

// resetConn closes the client's connection without an answer (a TCP RST
// where possible).
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func readBody(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, 1<<20))
	return buf.Bytes(), err
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func isWrite(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// newRequestID returns a random UUID (version 4).
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func postKey(op snapkeep.Operation, params map[string]string) string {
	if op == snapkeep.OpSnapshotDroplet {
		return ResourceKey("droplet", params["id"])
	}
	return ResourceKey("volume", params["id"])
}
