package mailing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func plan(t *testing.T, svc *Service, target Target) *Plan {
	t.Helper()
	p, err := svc.Plan(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSendOncePerCustomer(t *testing.T) {
	w := newWorld(t, 20)
	svc := w.service(t)
	var progress []Progress
	svc.Progress = func(p Progress) { progress = append(progress, p) }
	p := plan(t, svc, Target{Incident: w.incident})
	sum, err := svc.Send(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Sent != 20 || sum.SentBefore != 0 || sum.Failed != 0 || sum.SkippedTotal() != 5 || sum.Interrupted {
		t.Errorf("summary %+v: want 20 sent, 5 skipped", sum)
	}
	for _, r := range []Reason{SkipOptedOut, SkipBlocked, SkipNoEmail, SkipNoUnsubscribe, SkipUnknown} {
		if sum.Skipped[r] != 1 {
			t.Errorf("skipped %s: %d, want 1", r, sum.Skipped[r])
		}
	}
	counts := w.mailer.countTo()
	if len(counts) != 20 {
		t.Errorf("%d addresses got mail, want 20", len(counts))
	}
	for to, n := range counts {
		if n != 1 || !strings.HasPrefix(to, "ops@cust-0") {
			t.Errorf("%s got %d messages, want one (and only ordinary customers)", to, n)
		}
	}
	e := w.mailer.sent[0]
	if e.UnsubscribeURL != "https://app.snapkeep.example/preferences/pt_000000000000000000000005" ||
		e.Headers["X-Snapkeep-Mailing"] != p.MailingID || e.Headers["X-Snapkeep-Kind"] != "broadcast" {
		t.Errorf("first email: unsubscribe %q headers %v", e.UnsubscribeURL, e.Headers)
	}
	for _, s := range []string{"DigitalOcean", "never affected", "status.digitalocean.com", "1.8%"} {
		if !strings.Contains(e.Text, s) {
			t.Errorf("message lacks %q:\n%s", s, e.Text)
		}
	}
	if !strings.Contains(e.Subject, "DigitalOcean problem, resolved") {
		t.Errorf("subject %q", e.Subject)
	}
	// Paced at 10/s: 19 waits of 100 ms between 20 sends.
	if w.clock.slept != 1900*time.Millisecond {
		t.Errorf("slept %s, want 1.9s (19 intervals of 100ms)", w.clock.slept)
	}
	if len(progress) != 25 || progress[24].Done != 25 || progress[24].Total != 25 {
		t.Errorf("progress: %d calls, last %+v", len(progress), progress[len(progress)-1])
	}
	// Two Ledger writes per message: the claim and the record.
	if w.ledger.writes != 40 {
		t.Errorf("%d ledger writes, want 40", w.ledger.writes)
	}

	// The same broadcast again sends nothing.
	again, err := svc.Send(context.Background(), plan(t, svc, Target{Incident: w.incident}))
	if err != nil || again.Sent != 0 || again.SentBefore != 20 || len(w.mailer.sent) != 20 {
		t.Errorf("second run: %+v, %v; %d sent in all, want 0 new and 20 sent before", again, err, len(w.mailer.sent))
	}
}

// TestSendResumesAfterInterruption interrupts the broadcast after n sends
// (the context is cancelled right after SES took the n-th message, the
// worst moment), runs it again, and checks that the union is exactly one
// message per customer.
func TestSendResumesAfterInterruption(t *testing.T) {
	for _, n := range []int{1, 7, 19} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			w := newWorld(t, 20)
			svc := w.service(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w.mailer.after = func(sent int) {
				if sent == n {
					cancel()
				}
			}
			sum, err := svc.Send(ctx, plan(t, svc, Target{Incident: w.incident}))
			if !errors.Is(err, context.Canceled) || !sum.Interrupted || sum.Sent != n || sum.Remaining == 0 {
				t.Fatalf("interrupted run: %+v, %v; want %d sent and interrupted", sum, err, n)
			}
			w.mailer.after = nil
			w.clock.advance(time.Minute) // resumed before any claim could go stale
			sum, err = svc.Send(context.Background(), plan(t, svc, Target{Incident: w.incident}))
			if err != nil || sum.Sent != 20-n || sum.SentBefore != n || sum.InFlight != 0 {
				t.Errorf("resumed run: %+v, %v; want %d sent, %d before", sum, err, 20-n, n)
			}
			counts := w.mailer.countTo()
			if len(counts) != 20 {
				t.Errorf("%d customers got mail, want 20", len(counts))
			}
			for to, c := range counts {
				if c != 1 {
					t.Errorf("%s got %d messages", to, c)
				}
			}
		})
	}
}

// TestSendInterruptedDuringSend: killed while SES had the message, the
// claim stays; a rerun within StaleClaim leaves it, a later one re-sends.
func TestSendInterruptedDuringSend(t *testing.T) {
	w := newWorld(t, 4)
	svc := w.service(t)
	ctx, cancel := context.WithCancel(context.Background())
	w.mailer.fail = func(e Email, n int) error {
		if n == 2 {
			cancel() // the run dies with SES's answer unknown
			return ctx.Err()
		}
		return nil
	}
	sum, err := svc.Send(ctx, plan(t, svc, Target{Incident: w.incident}))
	if !errors.Is(err, context.Canceled) || sum.Sent != 2 || sum.InFlight != 1 {
		t.Fatalf("%+v, %v: want 2 sent and 1 in flight", sum, err)
	}
	w.mailer.fail = nil
	w.clock.advance(time.Minute)
	sum, _ = svc.Send(context.Background(), plan(t, svc, Target{Incident: w.incident}))
	if sum.Sent != 1 || sum.Skipped[SkipInProgress] != 1 {
		t.Errorf("a minute later: %+v, want the fresh claim left alone and the last customer sent", sum)
	}
	w.clock.advance(DefaultStaleClaim)
	sum, _ = svc.Send(context.Background(), plan(t, svc, Target{Incident: w.incident}))
	if sum.Sent != 1 || sum.Resent != 1 || sum.SentBefore != 3 {
		t.Errorf("once stale: %+v, want the claimed customer re-sent", sum)
	}
	if len(w.mailer.sent) != 4 {
		t.Errorf("%d sent in all, want 4", len(w.mailer.sent))
	}
}

func TestSendRejections(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		check func(t *testing.T, w *world, sum *Summary, err error)
	}{
		{"suppressed address", &snapkeep.RejectedError{Scope: snapkeep.RejectRecipient, Code: "Suppressed", Reason: "on the suppression list"},
			func(t *testing.T, w *world, sum *Summary, err error) {
				if err != nil || sum.Skipped[SkipSuppressed] != 1 || sum.Sent != 2 {
					t.Errorf("%+v, %v: want 1 suppressed, 2 sent", sum, err)
				}
				if !strings.HasPrefix(w.customers.blocked["cust-001"], "Suppressed") {
					t.Errorf("cust-001 not blocked: %v", w.customers.blocked)
				}
			}},
		{"message rejected", &snapkeep.RejectedError{Scope: snapkeep.RejectMessage, Code: "MessageRejected", Reason: "content"},
			func(t *testing.T, w *world, sum *Summary, err error) {
				if err != nil || sum.Failed != 1 || len(sum.Failures) != 1 || !sum.Failures[0].Recorded {
					t.Errorf("%+v, %v: want one recorded failure", sum, err)
				}
			}},
		{"sender refused", &snapkeep.RejectedError{Scope: snapkeep.RejectSender, Code: "MessageRejected", Reason: "Email address is not verified"},
			func(t *testing.T, w *world, sum *Summary, err error) {
				if err == nil || !strings.Contains(err.Error(), "refuses the sender") || sum.Sent != 1 || sum.Remaining != 7 {
					t.Errorf("%+v, %v: want a stop after 1 sent", sum, err)
				}
				if n, ok := w.ledger.entries[[2]string{sum.MailingID, "cust-001"}]; !ok || n.n != nil {
					t.Errorf("the refused customer's claim is not released: %+v", n)
				}
			}},
		{"throttled past the retries", errors.New("TooManyRequestsException: Maximum sending rate exceeded"),
			func(t *testing.T, w *world, sum *Summary, err error) {
				if err != nil || sum.Failed != 1 || sum.Failures[0].Recorded || sum.Sent != 2 {
					t.Errorf("%+v, %v: want one failure to retry on the next run", sum, err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, 3)
			svc := w.service(t)
			w.mailer.fail = func(e Email, _ int) error {
				if e.To == "ops@cust-001.example" {
					return tt.err
				}
				return nil
			}
			sum, err := svc.Send(context.Background(), plan(t, svc, Target{Incident: w.incident}))
			tt.check(t, w, sum, err)
			// A rerun retries only what was neither sent nor recorded.
			w.mailer.fail = nil
			again, _ := svc.Send(context.Background(), plan(t, svc, Target{Incident: w.incident}))
			if c := w.mailer.countTo(); c["ops@cust-000.example"] != 1 || c["ops@cust-002.example"] > 1 {
				t.Errorf("after a rerun (%+v): %v", again, c)
			}
		})
	}
}

func TestSendStopsAfterFailuresInARow(t *testing.T) {
	w := newWorld(t, 12)
	svc := w.service(t)
	w.mailer.fail = func(Email, int) error { return errors.New("SES: 503 Service Unavailable") }
	sum, err := svc.Send(context.Background(), plan(t, svc, Target{Incident: w.incident}))
	if err == nil || !strings.Contains(err.Error(), "5 sends in a row failed") || sum.Failed != 5 || sum.Remaining == 0 {
		t.Errorf("%+v, %v: want a stop after 5 failures", sum, err)
	}
	for k, e := range w.ledger.entries {
		if e.n != nil {
			t.Errorf("claim of %s kept after a failed send", k[1])
		}
	}
}

func TestSendRaceWithAnotherRun(t *testing.T) {
	w := newWorld(t, 3)
	svc := w.service(t)
	p := plan(t, svc, Target{Incident: w.incident})
	// Another run claims cust-001 after this one planned.
	w.ledger.entries[[2]string{p.MailingID, "cust-001"}] = &ledgerEntry{n: &snapkeep.Notice{Kind: snapkeep.NoticeBroadcast, At: t0}}
	sum, err := svc.Send(context.Background(), p)
	if err != nil || sum.Sent != 2 || sum.Skipped[SkipInProgress] != 1 {
		t.Errorf("%+v, %v: want cust-001 left to the other run", sum, err)
	}
}

func TestPacer(t *testing.T) {
	c := &clock{now: t0}
	p, err := NewPacer(4, c.Now, c.Sleep)
	if err != nil {
		t.Fatal(err)
	}
	var at []time.Duration
	for i := 0; i < 5; i++ {
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		at = append(at, c.Now().Sub(t0))
		if i == 2 {
			c.advance(time.Second) // a slow send: no burst after it
		}
	}
	want := []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, 1500 * time.Millisecond, 1750 * time.Millisecond}
	if fmt.Sprint(at) != fmt.Sprint(want) {
		t.Errorf("sends at %v, want %v", at, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait on an ended context: %v", err)
	}
	for _, r := range []float64{0, -1, MinRate / 2, MaxRate * 2} {
		if _, err := NewPacer(r, nil, nil); !errors.Is(err, snapkeep.ErrInvalid) {
			t.Errorf("rate %g: %v, want ErrInvalid", r, err)
		}
	}
	if p, err := NewPacer(MinRate, nil, nil); err != nil || p.Interval() != time.Minute {
		t.Errorf("MinRate: %v, %v", p, err)
	}
}

func TestRenderNeedsACustomer(t *testing.T) {
	w := newWorld(t, 1)
	svc := w.service(t)
	p := plan(t, svc, Target{Incident: w.incident})
	for _, r := range p.Recipients {
		_, err := svc.Render(context.Background(), p, &r)
		if (r.Customer == nil) != (err != nil) {
			t.Errorf("%s: render error %v", r.CustomerID, err)
		}
	}
}

// BenchmarkSend plans and sends a broadcast to 1,000 customers (three
// failed runs each) over the in-memory ports, unpaced: the CPU and memory
// an email costs snapkeep itself (mostly rendering it).
func BenchmarkSend(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w := newWorld(b, 1000)
		svc := w.service(b)
		svc.Pace = noWait{}
		b.StartTimer()
		p, err := svc.Plan(context.Background(), Target{Incident: w.incident})
		if err != nil {
			b.Fatal(err)
		}
		sum, err := svc.Send(context.Background(), p)
		if err != nil || sum.Sent != 1000 {
			b.Fatalf("%+v, %v", sum, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(1000*b.N), "µs/email")
}

type noWait struct{}

func (noWait) Wait(context.Context) error { return nil }
