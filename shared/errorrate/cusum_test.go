package errorrate_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

var t0 = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

// at is minute i after t0.
func at(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }

// counts is a minute with calls calls, of which one failed for each
// "account/resource" given.
func counts(calls int, failed ...string) errorrate.Counts {
	var c errorrate.Counts
	for _, f := range failed {
		acct, res, _ := strings.Cut(f, "/")
		c.Record(errorrate.OutcomeProviderFailure, acct, res)
	}
	c.Calls += int64(calls - len(failed))
	return c
}

// source is the i-th distinct customer: its account and resource.
func source(i int) string { return fmt.Sprintf("acct-%d/droplet:%d", i%50, 1000+i) }

// scenario steps a detector over minutes [from, to) with gen's counts,
// returning the last state and every decision with an action.
func scenario(p errorrate.Params, s errorrate.State, b errorrate.Baseline, from, to int, gen func(i int) errorrate.Counts) (errorrate.State, []errorrate.Decision) {
	var acts []errorrate.Decision
	for i := from; i < to; i++ {
		var d errorrate.Decision
		s, d = p.Step(s, gen(i), b, at(i))
		if d.Action != errorrate.ActionNone {
			acts = append(acts, d)
		}
	}
	return s, acts
}

var base600 = errorrate.Baseline{Rate: 0.0005, CallsPerHour: 600, Days: 30}

func newState() errorrate.State { return errorrate.State{Dimension: snapkeep.DimensionAll} }

func TestStepFiresOnIncidentAndEstimatesItsStart(t *testing.T) {
	tests := []struct {
		name          string
		perMinute     int // calls a minute
		failEvery     int // minutes between failures during the incident
		wantFireAfter int // the alarm comes at most this many minutes after the start
	}{
		{name: "600/h at 2%", perMinute: 10, failEvery: 5, wantFireAfter: 12},
		{name: "6000/h at 1%", perMinute: 100, failEvery: 1, wantFireAfter: 5},
		{name: "600/h at 10%", perMinute: 10, failEvery: 1, wantFireAfter: 4},
	}
	p := errorrate.DefaultParams()
	const start = 180
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := base600
			b.CallsPerHour = float64(60 * tt.perMinute)
			n := 0
			_, acts := scenario(p, newState(), b, 0, start+120, func(i int) errorrate.Counts {
				if i >= start && (i-start)%tt.failEvery == 0 {
					n++
					return counts(tt.perMinute, source(n))
				}
				return counts(tt.perMinute)
			})
			if len(acts) != 1 || acts[0].Action != errorrate.ActionFire {
				t.Fatalf("actions %+v, want one fire", acts)
			}
			d := acts[0]
			if late := d.At.Sub(at(start)); late > time.Duration(tt.wantFireAfter)*time.Minute {
				t.Errorf("fired %v after the start, want at most %d min", late, tt.wantFireAfter)
			}
			if !d.StartedAt.Equal(at(start)) {
				t.Errorf("change point %v, want the incident's first minute %v", d.StartedAt, at(start))
			}
			if !d.OpenedAt.Equal(d.At) || !d.Firing || d.Detector != errorrate.DetectorCUSUM {
				t.Errorf("opened %v at %v firing %v detector %q", d.OpenedAt, d.At, d.Firing, d.Detector)
			}
			if d.Failures < int64(p.MinResources) || d.AffectedResources < p.MinResources || d.Rate <= d.BaselineRate {
				t.Errorf("figures %+v: want at least %d failures and resources, rate above baseline", d, p.MinResources)
			}
		})
	}
}

// brokenCustomer fails four calls an hour, as a broken droplet's hourly
// run and its retries do.
func brokenCustomer(i int) bool {
	switch i % 60 {
	case 0, 2, 6, 14:
		return true
	}
	return false
}

func TestStepIgnoresOneBrokenCustomer(t *testing.T) {
	p := errorrate.DefaultParams()
	for _, perMinute := range []int{1, 10, 100} {
		t.Run(fmt.Sprintf("%d calls/min", perMinute), func(t *testing.T) {
			b := base600
			b.CallsPerHour = float64(60 * perMinute)
			const days = 3
			gen := func(i int) errorrate.Counts {
				if brokenCustomer(i) {
					return counts(perMinute, "acct-broken/droplet:666")
				}
				return counts(perMinute)
			}
			s, acts := scenario(p, newState(), b, 0, days*1440, gen)
			if len(acts) != 0 {
				t.Fatalf("one broken droplet raised %+v", acts)
			}
			if s.S != 0 {
				t.Errorf("statistic %v after three days, want 0 (the chronic resource taken back)", s.S)
			}
			// The broken customer does not blind the detector either: an
			// incident across many resources still fires.
			n := 0
			_, acts = scenario(p, s, b, days*1440, days*1440+180, func(i int) errorrate.Counts {
				c := gen(i)
				if i%2 == 0 {
					n++
					c.Add(counts(1, source(n)))
				}
				return c
			})
			if len(acts) != 1 || acts[0].Action != errorrate.ActionFire {
				t.Fatalf("incident beside the broken customer: actions %+v, want one fire", acts)
			}
		})
	}
}

func TestStepHoldsOnTooLittleEvidence(t *testing.T) {
	p := errorrate.DefaultParams()
	tests := []struct {
		name     string
		gen      func(i int) errorrate.Counts
		wantHeld string
	}{
		{
			name: "two resources",
			gen: func(i int) errorrate.Counts {
				switch i {
				case 60, 61:
					return counts(10, "acct-1/droplet:1")
				case 62:
					return counts(10, "acct-2/droplet:2")
				}
				return counts(10)
			},
			wantHeld: "evidence: failures from 2 resources",
		},
		{
			name: "one account's resources",
			gen: func(i int) errorrate.Counts {
				if i >= 60 && i < 64 {
					return counts(10, fmt.Sprintf("acct-1/droplet:%d", i))
				}
				return counts(10)
			},
			wantHeld: "evidence: failures from 1 accounts",
		},
		{
			name: "quiet hours",
			gen: func(i int) errorrate.Counts {
				if i >= 60 && i < 63 {
					return counts(1, source(i))
				}
				if i%10 == 0 {
					return counts(1)
				}
				return counts(0)
			},
			wantHeld: "quiet:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newState()
			held := ""
			for i := 0; i < 180; i++ {
				var d errorrate.Decision
				s, d = p.Step(s, tt.gen(i), base600, at(i))
				if d.Action != errorrate.ActionNone {
					t.Fatalf("minute %d: %s, want no alarm", i, d.Action)
				}
				if d.Held != "" && held == "" {
					held = d.Held
				}
			}
			if !strings.HasPrefix(held, tt.wantHeld) {
				t.Errorf("held %q, want it to start %q", held, tt.wantHeld)
			}
		})
	}
}

func TestStepOneMinuteBurstIsNoIncident(t *testing.T) {
	p := errorrate.DefaultParams()
	var burst []string
	for i := 0; i < 20; i++ {
		burst = append(burst, source(i))
	}
	s, acts := scenario(p, newState(), base600, 0, 240, func(i int) errorrate.Counts {
		if i == 60 {
			return counts(30, burst...)
		}
		return counts(10)
	})
	if len(acts) != 0 {
		t.Fatalf("a one-minute burst raised %+v", acts)
	}
	if s.S != 0 {
		t.Errorf("statistic %v three hours after the burst, want 0", s.S)
	}
}

func TestStepResolves(t *testing.T) {
	p := errorrate.DefaultParams()
	const start, end = 60, 180
	tests := []struct {
		name       string
		after      func(i int) errorrate.Counts
		wantReason string
		within     int // minutes after the end
	}{
		{name: "rate back at baseline", after: func(int) errorrate.Counts { return counts(10) },
			wantReason: errorrate.ReasonRecovered, within: 120},
		{name: "traffic stopped", after: func(int) errorrate.Counts { return counts(0) },
			wantReason: errorrate.ReasonTrafficStopped, within: p.StopMinutes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			_, acts := scenario(p, newState(), base600, 0, end+600, func(i int) errorrate.Counts {
				switch {
				case i >= end:
					return tt.after(i)
				case i >= start && i%4 == 0:
					n++
					return counts(10, source(n))
				}
				return counts(10)
			})
			if len(acts) != 2 || acts[0].Action != errorrate.ActionFire || acts[1].Action != errorrate.ActionResolve {
				t.Fatalf("actions %+v, want fire then resolve", acts)
			}
			r := acts[1]
			if r.Reason != tt.wantReason {
				t.Errorf("reason %q, want %q", r.Reason, tt.wantReason)
			}
			if r.At.Before(at(end)) || r.At.After(at(end+tt.within)) {
				t.Errorf("resolved at %v, want within %d min after the end %v", r.At, tt.within, at(end))
			}
			if r.Firing || !r.StartedAt.Equal(at(start)) || !r.OpenedAt.Equal(acts[0].At) {
				t.Errorf("resolution %+v: want not firing, the start and the alarm time kept", r)
			}
			if r.Failures != int64(n) {
				t.Errorf("failures %d since the start, want %d", r.Failures, n)
			}
		})
	}
}

func TestStepStaysFiringWhileTheRateStaysUp(t *testing.T) {
	p := errorrate.DefaultParams()
	n := 0
	// 0.5%, ten times the baseline, for twelve hours: one alarm, no
	// resolution in between.
	_, acts := scenario(p, newState(), base600, 0, 13*60, func(i int) errorrate.Counts {
		if i >= 60 && i%20 == 0 {
			n++
			return counts(10, source(n))
		}
		return counts(10)
	})
	if len(acts) != 1 || acts[0].Action != errorrate.ActionFire {
		t.Fatalf("actions %+v, want exactly one fire", acts)
	}
}

func TestStepIsPureAndIdempotent(t *testing.T) {
	p := errorrate.DefaultParams()
	n := 0
	s, _ := scenario(p, newState(), base600, 0, 75, func(i int) errorrate.Counts {
		if i >= 60 {
			n++
			return counts(10, source(n))
		}
		return counts(10)
	})
	before, _ := json.Marshal(s)
	c := counts(10, source(100), "acct-9/droplet:9")
	s1, d1 := p.Step(s, c, base600, at(75))
	s2, d2 := p.Step(s, c, base600, at(75))
	if after, _ := json.Marshal(s); string(after) != string(before) {
		t.Fatalf("Step changed its input state:\nbefore %s\nafter  %s", before, after)
	}
	if !reflect.DeepEqual(s1, s2) || !reflect.DeepEqual(d1, d2) {
		t.Fatalf("the same step gave different results:\n%+v\n%+v", d1, d2)
	}
	s3, d3 := p.Step(s1, c, base600, at(75))
	if d3.Skipped == "" || d3.Action != errorrate.ActionNone || !reflect.DeepEqual(s3, s1) {
		t.Errorf("a repeated minute was stepped again: %+v", d3)
	}
}

func TestStateSurvivesJSON(t *testing.T) {
	p := errorrate.DefaultParams()
	gen := func(i int) errorrate.Counts {
		if brokenCustomer(i) {
			return counts(10, "acct-broken/droplet:666")
		}
		if i >= 1500 && i < 1700 && i%3 == 0 {
			return counts(10, source(i))
		}
		return counts(10)
	}
	s, _ := scenario(p, newState(), base600, 0, 1510, gen)
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var stored errorrate.State
	if err := json.Unmarshal(data, &stored); err != nil {
		t.Fatal(err)
	}
	_, want := scenario(p, s, base600, 1510, 2000, gen)
	_, got := scenario(p, stored, base600, 1510, 2000, gen)
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("after a JSON round trip (%d bytes) the decisions differ:\n got %+v\nwant %+v", len(data), got, want)
	}
}

func TestLearnedBaselineLeavesTheBrokenCustomerOut(t *testing.T) {
	p := errorrate.DefaultParams()
	s, _ := scenario(p, newState(), base600, 0, 9*1440, func(i int) errorrate.Counts {
		if brokenCustomer(i) {
			return counts(10, "acct-broken/droplet:666")
		}
		if i%1440 == 700 { // one ordinary failure a day
			return counts(10, source(i/1440))
		}
		return counts(10)
	})
	l := s.Learned
	if !l.FromHistory || l.Days != 8 {
		t.Fatalf("learned %+v, want it from 8 days of history", l)
	}
	// Raw, the broken droplet's 96 failures a day in 14,400 calls would
	// make the baseline 0.67%; counted, it is one failure a day.
	if l.Measured > 0.0001 || l.Rate != p.Floor {
		t.Errorf("learned rate %v (measured %v), want the floor %v", l.Rate, l.Measured, p.Floor)
	}
	if l.CallsPerHour < 590 || l.CallsPerHour > 600 {
		t.Errorf("learned traffic %v calls/h, want about 600", l.CallsPerHour)
	}
}
