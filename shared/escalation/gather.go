package escalation

import (
	"fmt"
	"sort"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// maxErrorKinds bounds the distinct (status, id, message) kinds counted;
// past it, new kinds count as "other" (messages are provider-controlled
// and could differ on every call).
const maxErrorKinds = 1000

// inlineMessage bounds a message shown in an inline table cell.
const inlineMessage = 160

// errorKind is what TopErrors counts by.
type errorKind struct {
	status  int
	id, msg string
}

// resourceTally is what the gatherer keeps per affected resource; runs
// lists its affected runs' ids (few: a policy fires at most hourly).
type resourceTally struct {
	AffectedResource
	runs []string
}

// callGatherer folds the failed calls of the window, one hour at a time,
// into the report's affected rows, resources, top errors and header
// samples. It keeps compact rows only: a call's headers are kept for at
// most a few samples per hour, so memory follows the affected calls.
type callGatherer struct {
	p         *plan
	perHour   int
	rows      []AffectedCall
	total     int
	resources map[string]*resourceTally
	accounts  map[string]struct{}
	kinds     map[errorKind]*ErrorCount
	other     int
	// runRequests holds the request ids of every failed call (any class)
	// per run, for the deep-dive timeline.
	runRequests map[string][]string
	runFailures map[string]int
	spread      []sampleCandidate
	firstOfKind map[errorKind]sampleCandidate
	hourTaken   map[string]int
	notes       noteSet
}

// sampleCandidate is a call that may become a header sample.
type sampleCandidate struct {
	order int
	call  snapkeep.APICall
}

func newCallGatherer(p *plan) *callGatherer {
	per := (MaxHeaderSamples + len(p.hours) - 1) / max(len(p.hours), 1)
	return &callGatherer{
		p: p, perHour: max(per, 1),
		resources:   map[string]*resourceTally{},
		accounts:    map[string]struct{}{},
		kinds:       map[errorKind]*ErrorCount{},
		runRequests: map[string][]string{},
		runFailures: map[string]int{},
		firstOfKind: map[errorKind]sampleCandidate{},
		hourTaken:   map[string]int{},
		notes:       noteSet{},
	}
}

// add folds one hour's failed calls.
func (g *callGatherer) add(calls []snapkeep.APICall) {
	for i := range calls {
		c := &calls[i]
		if !g.p.window.Contains(c.StartedAt) {
			continue
		}
		class := callClass(c)
		if class == "" {
			continue
		}
		g.noteRunRequest(c)
		if !class.Info().ProviderSide || !g.p.match(c) {
			continue
		}
		row := affectedRow(c, class)
		g.total++
		if len(g.rows) < g.p.maxRows {
			g.rows = append(g.rows, row)
		}
		g.tallyResource(&row)
		g.accounts[row.AccountID] = struct{}{}
		kind := g.tallyKind(&row)
		g.considerSample(c, kind)
	}
}

// noteRunRequest remembers c's request id for its run's timeline row.
func (g *callGatherer) noteRunRequest(c *snapkeep.APICall) {
	if c.RunID == "" {
		return
	}
	g.runFailures[c.RunID]++
	id := scrub(snapkeep.Bound(c.ProviderRequestID, 128))
	ids := g.runRequests[c.RunID]
	if id == "" || len(ids) >= MaxRunRequestIDs || contains(ids, id) {
		return
	}
	g.runRequests[c.RunID] = append(ids, id)
}

func (g *callGatherer) tallyResource(row *AffectedCall) {
	t := g.resources[row.ResourceKey]
	if t == nil {
		t = &resourceTally{AffectedResource: AffectedResource{ResourceKey: row.ResourceKey, Region: row.Region,
			AccountID: row.AccountID, First: row.At, Last: row.At}}
		g.resources[row.ResourceKey] = t
	}
	t.Failures++
	if row.At.Before(t.First) {
		t.First = row.At
	}
	if row.At.After(t.Last) {
		t.Last = row.At
	}
	if row.RunID != "" && !contains(t.runs, row.RunID) {
		t.runs = append(t.runs, row.RunID)
	}
}

// tallyKind counts row's kind and returns it (the zero kind when it was
// counted as other).
func (g *callGatherer) tallyKind(row *AffectedCall) errorKind {
	msg := row.ErrorMessage
	if msg == "" {
		msg = row.TransportError
	}
	k := errorKind{status: row.HTTPStatus, id: row.ErrorID, msg: msg}
	e := g.kinds[k]
	if e == nil {
		if len(g.kinds) >= maxErrorKinds {
			g.other++
			return errorKind{}
		}
		e = &ErrorCount{HTTPStatus: k.status, ErrorID: k.id, Message: k.msg, First: row.At, SampleRequestID: row.RequestID}
		g.kinds[k] = e
	}
	e.Count++
	e.Last = row.At
	return k
}

// considerSample keeps c as a header-sample candidate: the first call of
// each error kind, and the first perHour calls of each hour.
func (g *callGatherer) considerSample(c *snapkeep.APICall, kind errorKind) {
	order := g.total
	if _, seen := g.firstOfKind[kind]; !seen && kind != (errorKind{}) && len(g.firstOfKind) < MaxHeaderSamples {
		g.firstOfKind[kind] = sampleCandidate{order: order, call: *c}
	}
	hour := c.StartedAt.UTC().Format(snapkeep.FailureHourFormat)
	if g.hourTaken[hour] < g.perHour {
		g.hourTaken[hour]++
		g.spread = append(g.spread, sampleCandidate{order: order, call: *c})
	}
}

// finish writes what was gathered into r.
func (g *callGatherer) finish(r *Report) {
	sort.SliceStable(g.rows, func(i, j int) bool { return g.rows[i].At.Before(g.rows[j].At) })
	r.Affected, r.AffectedTotal, r.AffectedAccounts = g.rows, g.total, len(g.accounts)
	if g.total > len(g.rows) {
		g.notes.add(fmt.Sprintf("%s counted but not listed: a report keeps at most %d.",
			counted(g.total-len(g.rows), "affected call is", "affected calls are"), g.p.maxRows))
	}
	r.Resources = make([]AffectedResource, 0, len(g.resources))
	for _, t := range g.resources {
		t.Runs = len(t.runs)
		r.Resources = append(r.Resources, t.AffectedResource)
	}
	sort.Slice(r.Resources, func(i, j int) bool {
		a, b := r.Resources[i], r.Resources[j]
		if a.Failures != b.Failures {
			return a.Failures > b.Failures
		}
		return a.ResourceKey < b.ResourceKey
	})
	r.TopErrors, r.OtherErrors = g.topErrors()
	r.Headers = g.samples()
	r.Notes = append(r.Notes, g.notes.list()...)
}

// topErrors returns the MaxTopErrors most frequent kinds and the count of
// the calls of the rest.
func (g *callGatherer) topErrors() ([]ErrorCount, int) {
	all := make([]ErrorCount, 0, len(g.kinds))
	for _, e := range g.kinds {
		all = append(all, *e)
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		switch {
		case a.Count != b.Count:
			return a.Count > b.Count
		case a.HTTPStatus != b.HTTPStatus:
			return a.HTTPStatus < b.HTTPStatus
		case a.ErrorID != b.ErrorID:
			return a.ErrorID < b.ErrorID
		}
		return a.Message < b.Message
	})
	other := g.other
	if len(all) > MaxTopErrors {
		for _, e := range all[MaxTopErrors:] {
			other += e.Count
		}
		all = all[:MaxTopErrors]
	}
	return all, other
}

// samples picks at most MaxHeaderSamples candidates — one of each error
// kind first, then calls spread evenly over the window — and returns them
// in time order with their headers cleaned.
func (g *callGatherer) samples() []HeaderSample {
	picked := map[int]sampleCandidate{}
	kinds := make([]sampleCandidate, 0, len(g.firstOfKind))
	for _, c := range g.firstOfKind {
		kinds = append(kinds, c)
	}
	sort.Slice(kinds, func(i, j int) bool { return kinds[i].order < kinds[j].order })
	for _, c := range kinds {
		picked[c.order] = c
	}
	if room := MaxHeaderSamples - len(picked); room > 0 && len(g.spread) > 0 {
		step := float64(len(g.spread)) / float64(room)
		for i := 0; i < room; i++ {
			c := g.spread[int(float64(i)*step)]
			picked[c.order] = c
		}
		// Evenly spaced picks may repeat a kind's first call: fill up in order.
		for i := 0; i < len(g.spread) && len(picked) < MaxHeaderSamples; i++ {
			picked[g.spread[i].order] = g.spread[i]
		}
	}
	orders := make([]int, 0, len(picked))
	for o := range picked {
		orders = append(orders, o)
	}
	sort.Ints(orders)
	out := make([]HeaderSample, 0, len(orders))
	for _, o := range orders {
		c := picked[o].call
		out = append(out, g.sample(&c))
	}
	return out
}

// sample turns c into a HeaderSample, cleaning its headers and noting
// what was dropped (names and reasons only, never values).
func (g *callGatherer) sample(c *snapkeep.APICall) HeaderSample {
	s := HeaderSample{At: c.StartedAt.UTC(), Operation: snapkeep.Operation(clean(string(c.Operation), 64)),
		ResourceKey: clean(c.ResourceKey, 128), Method: clean(c.Method, 16), Path: clean(c.Path, 512),
		HTTPStatus: c.StatusCode, RequestID: clean(c.ProviderRequestID, 128)}
	var dropped []DroppedHeader
	s.Request, dropped = CleanHeaders(c.RequestHeaders)
	for _, d := range dropped {
		g.notes.add(fmt.Sprintf("A request header %q of a sampled call was dropped: %s.", d.Name, d.Reason))
	}
	s.Response, dropped = CleanHeaders(c.ResponseHeaders)
	for _, d := range dropped {
		g.notes.add(fmt.Sprintf("A response header %q of a sampled call was dropped: %s.", d.Name, d.Reason))
	}
	return s
}

// affectedRow is c as a bounded, scrubbed report row.
func affectedRow(c *snapkeep.APICall, class snapkeep.ErrorClass) AffectedCall {
	return AffectedCall{
		At:             c.StartedAt.UTC(),
		Operation:      snapkeep.Operation(clean(string(c.Operation), 64)),
		ResourceKey:    clean(c.ResourceKey, 128),
		Region:         clean(c.Region, 32),
		AccountID:      clean(c.AccountID, 128),
		HTTPStatus:     c.StatusCode,
		ErrorID:        clean(c.ErrorID, 128),
		ErrorMessage:   clean(c.ErrorMessage, snapkeep.MaxProviderText),
		RequestID:      clean(c.ProviderRequestID, 128),
		RunID:          clean(c.RunID, 160),
		Seq:            c.Seq,
		Attempt:        c.Attempt,
		Method:         clean(c.Method, 16),
		Path:           clean(c.Path, 512),
		Class:          class,
		DurationMS:     c.DurationMS,
		TransportError: clean(c.TransportError, snapkeep.MaxProviderText),
	}
}

// callClass is the call's error class: APICall.Class when the recorder set
// it, else the one status-to-class rule (snapkeep.ClassOfStatus) applied to what
// the row holds; "" for a success.
func callClass(c *snapkeep.APICall) snapkeep.ErrorClass {
	switch {
	case c.Class != "":
		return c.Class
	case c.StatusCode == 0 && c.TransportError != "":
		return snapkeep.ClassNetwork
	}
	// Rows written before they carried their class: the one status rule.
	return snapkeep.ClassOfStatus(c.StatusCode, c.ErrorMessage)
}

// noteSet collects notes once each, in the order first added.
type noteSet map[string]int

func (n noteSet) add(s string) {
	if _, ok := n[s]; !ok {
		n[s] = len(n)
	}
}

func (n noteSet) list() []string {
	out := make([]string, len(n))
	for s, i := range n {
		out[i] = s
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// stamp formats t for error messages and notes.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
