package mailing

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func TestTargetWindowAndMailingID(t *testing.T) {
	now := time.Date(2026, 3, 27, 12, 34, 56, 0, time.UTC)
	resolved := now.Add(-2 * time.Hour)
	inc := func(state snapkeep.IncidentState, kind snapkeep.IncidentKind) *snapkeep.Incident {
		i := &snapkeep.Incident{IncidentID: "provider_error#all#2026-03-27T01:00Z", Kind: kind, State: state,
			Dimension: snapkeep.DimensionAll, Class: snapkeep.ClassProviderError, StartedAt: now.Add(-11 * time.Hour)}
		if state == snapkeep.IncidentResolved {
			i.ResolvedAt = &resolved
		}
		return i
	}
	tests := []struct {
		name     string
		target   Target
		from, to time.Time
		id       string
		err      string
	}{
		{name: "resolved incident", target: Target{Incident: inc(snapkeep.IncidentResolved, snapkeep.IncidentProvider)},
			from: now.Add(-11 * time.Hour), to: resolved, id: "broadcast#incident#provider_error#all#2026-03-27T01:00Z"},
		{name: "open incident runs to now", target: Target{Incident: inc(snapkeep.IncidentFiring, snapkeep.IncidentProvider)},
			from: now.Add(-11 * time.Hour), to: now, id: "broadcast#incident#provider_error#all#2026-03-27T01:00Z"},
		{name: "class range widened to whole hours", target: Target{Class: snapkeep.ClassProviderError, From: now.Add(-24 * time.Hour)},
			from: time.Date(2026, 3, 26, 12, 0, 0, 0, time.UTC), to: time.Date(2026, 3, 27, 13, 0, 0, 0, time.UTC),
			id: "broadcast#provider_error#2026-03-26T12Z#2026-03-27T13Z"},
		{name: "class range with an end", target: Target{Class: snapkeep.ClassNetwork, From: now.Add(-3 * time.Hour), To: now.Add(-time.Hour)},
			from: time.Date(2026, 3, 27, 9, 0, 0, 0, time.UTC), to: time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC),
			id: "broadcast#network#2026-03-27T09Z#2026-03-27T12Z"},
		{name: "both", target: Target{Incident: inc(snapkeep.IncidentFiring, snapkeep.IncidentProvider), Class: snapkeep.ClassProviderError}, err: "not both"},
		{name: "neither", target: Target{}, err: "needs an incident or an error class"},
		{name: "unknown class", target: Target{Class: "server_error", From: now.Add(-time.Hour)}, err: `"server_error" is not an error class`},
		{name: "customer-side class", target: Target{Class: snapkeep.ClassAuthRevoked, From: now.Add(-time.Hour)}, err: "auth_revoked is not a DigitalOcean-side failure"},
		{name: "no start", target: Target{Class: snapkeep.ClassProviderError}, err: "needs the start of its range"},
		{name: "reversed", target: Target{Class: snapkeep.ClassProviderError, From: now.Add(-time.Hour), To: now.Add(-5 * time.Hour)}, err: "is empty"},
		{name: "too long", target: Target{Class: snapkeep.ClassProviderError, From: now.Add(-40 * 24 * time.Hour)}, err: "longer than 31 days"},
		{name: "pipeline incident", target: Target{Incident: inc(snapkeep.IncidentFiring, snapkeep.IncidentPipeline)}, err: "not DigitalOcean's"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := tt.target.Window(now)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, snapkeep.ErrInvalid) {
					t.Fatalf("error %v, want one saying %q wrapping ErrInvalid", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !w.From.Equal(tt.from) || !w.To.Equal(tt.to) {
				t.Errorf("window %s, want %s", w, Window{tt.from, tt.to})
			}
			if id := tt.target.MailingID(w); id != tt.id {
				t.Errorf("mailing id %q, want %q", id, tt.id)
			}
		})
	}
	// The same class command an hour later is another broadcast.
	a := Target{Class: snapkeep.ClassProviderError, From: now.Add(-24 * time.Hour)}
	later := now.Add(50 * time.Minute)
	b := Target{Class: snapkeep.ClassProviderError, From: later.Add(-24 * time.Hour)}
	wa, _ := a.Window(now)
	wb, _ := b.Window(later)
	if a.MailingID(wa) == b.MailingID(wb) {
		t.Errorf("a range an hour on has the same id %s", a.MailingID(wa))
	}
	wc, _ := a.Window(now.Add(20 * time.Minute))
	if a.MailingID(wa) != a.MailingID(wc) {
		t.Errorf("the same command 20 minutes on is another broadcast: %s, %s", a.MailingID(wa), a.MailingID(wc))
	}
}

func TestPlanGroupsDedupsAndSkips(t *testing.T) {
	w := newWorld(t, 7)
	// The same run read twice (a retried page) is one run.
	pe := w.runs.byClass[snapkeep.ClassProviderError]
	w.runs.byClass[snapkeep.ClassProviderError] = append(pe, pe[0])
	svc := w.service(t)
	p, err := svc.Plan(context.Background(), Target{Incident: w.incident})
	if err != nil {
		t.Fatal(err)
	}
	if p.MailingID != "broadcast#incident#"+w.incident.IncidentID {
		t.Errorf("mailing id %q", p.MailingID)
	}
	// Every policy of every customer failed three times; the fra1 ones
	// are outside the nyc3 incident.
	if p.Runs != 12*6 || p.Outside != 12*3 || len(p.Recipients) != 12 {
		t.Errorf("runs %d outside %d recipients %d, want 72, 36, 12", p.Runs, p.Outside, len(p.Recipients))
	}
	if classes := (Target{Incident: w.incident}).Classes(); w.runs.queries != len(classes) || len(classes) < 2 {
		t.Errorf("%d failures-by-class queries, want one per provider-side class (%v)", w.runs.queries, classes)
	}
	want := map[string]Reason{custOptedOut: SkipOptedOut, custBlocked: SkipBlocked, custNoEmail: SkipNoEmail,
		custNoToken: SkipNoUnsubscribe, custUnknown: SkipUnknown}
	for i, r := range p.Recipients {
		if i > 0 && p.Recipients[i-1].CustomerID >= r.CustomerID {
			t.Errorf("recipients not in customer order at %s", r.CustomerID)
		}
		if r.Skip != want[r.CustomerID] {
			t.Errorf("%s: skip %q, want %q", r.CustomerID, r.Skip, want[r.CustomerID])
		}
		if len(r.Runs) != 3 {
			t.Errorf("%s: %d runs, want its 3 nyc3 runs once each", r.CustomerID, len(r.Runs))
		}
		for _, run := range r.Runs {
			if run.Region != "nyc3" || run.CustomerID != r.CustomerID {
				t.Errorf("%s: run %s of %s in %s", r.CustomerID, run.RunID, run.CustomerID, run.Region)
			}
		}
	}
	if p.Problem.Rate != w.incident.Rate || p.Problem.To.IsZero() || p.Problem.Customers != w.incident.AffectedCustomers {
		t.Errorf("problem %+v, want the incident's", p.Problem)
	}
	if w.ledger.writes != 0 || len(w.mailer.sent) != 0 {
		t.Errorf("Plan wrote %d ledger items and sent %d emails, want none", w.ledger.writes, len(w.mailer.sent))
	}
}

func TestPlanClassProblem(t *testing.T) {
	w := newWorld(t, 3)
	svc := w.service(t)
	target := Target{Class: snapkeep.ClassProviderError, From: t0.Add(-24 * time.Hour)}
	p, err := svc.Plan(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	if p.Outside != 0 || len(p.Recipients) != 8 || len(p.Recipients[0].Runs) != 6 {
		t.Errorf("outside %d, %d recipients with %d runs, want 0, 8, 6 (a class range has no dimension)", p.Outside, len(p.Recipients), len(p.Recipients[0].Runs))
	}
	if !p.Window.To.Equal(t0) || p.MailingID != "broadcast#provider_error#2026-11-23T19Z#2026-11-24T20Z" {
		t.Errorf("window %s id %s: want it to end now, named by its whole hours", p.Window, p.MailingID)
	}
	if p.Problem.Rate != 0.015 || p.Problem.Calls != 100_000 || p.Problem.To.IsZero() || p.Problem.Customers != 8 {
		t.Errorf("problem %+v: want 1.5%% of 100,000 calls, over, 8 customers", p.Problem)
	}

	svc.Incidents = memIncidents{{Kind: snapkeep.IncidentProvider, Class: snapkeep.ClassProviderError, State: snapkeep.IncidentFiring}}
	if p, err = svc.Plan(context.Background(), target); err != nil || !p.Problem.To.IsZero() {
		t.Errorf("with an open provider_error incident: problem to %v (%v), want still going on", p.Problem.To, err)
	}
	svc.Counts = memCounts{escalation.CallCounts{}}
	if _, err := svc.Plan(context.Background(), target); err == nil || !strings.Contains(err.Error(), "counts no DigitalOcean calls") {
		t.Errorf("without call counts: %v, want an error saying the rate cannot be told", err)
	}
}

func TestPlanBoundsRuns(t *testing.T) {
	w := newWorld(t, 10)
	svc := w.service(t)
	svc.Config.MaxRuns = 20
	_, err := svc.Plan(context.Background(), Target{Class: snapkeep.ClassProviderError, From: t0.Add(-24 * time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "more than 20 failed runs") {
		t.Errorf("error %v, want the bound", err)
	}
}

func TestStatus(t *testing.T) {
	stale := DefaultStaleClaim
	tests := []struct {
		name   string
		r      Recipient
		st     Status
		reason Reason
	}{
		{"fresh", Recipient{}, StatusSend, ""},
		{"opted out", Recipient{Skip: SkipOptedOut}, StatusSkip, SkipOptedOut},
		{"sent", Recipient{Before: &snapkeep.Notice{ID: "ses-1", At: t0.Add(-time.Hour)}}, StatusSentBefore, ""},
		{"rejected", Recipient{Before: &snapkeep.Notice{Error: "not sent: rejected", At: t0.Add(-time.Hour)}}, StatusSkip, SkipRejectedBefore},
		{"fresh claim", Recipient{Before: &snapkeep.Notice{At: t0.Add(-stale + time.Second)}}, StatusSkip, SkipInProgress},
		{"stale claim", Recipient{Before: &snapkeep.Notice{At: t0.Add(-stale)}}, StatusResend, ""},
	}
	for _, tt := range tests {
		st, reason := (&Plan{}).Status(tt.r, t0, stale)
		if st != tt.st || reason != tt.reason {
			t.Errorf("%s: %s %s, want %s %s", tt.name, st, reason, tt.st, tt.reason)
		}
	}
}
