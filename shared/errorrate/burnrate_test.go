package errorrate_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// burnScenario steps the rule over minutes [0, to) and returns the
// decisions with an action.
func burnScenario(r errorrate.BurnRule, to int, gen func(i int) errorrate.Counts) (errorrate.BurnState, []errorrate.Decision) {
	s := errorrate.BurnState{Dimension: snapkeep.DimensionAll}
	var acts []errorrate.Decision
	for i := 0; i < to; i++ {
		var d errorrate.Decision
		s, d = r.Step(s, gen(i), at(i))
		if d.Action != errorrate.ActionNone {
			acts = append(acts, d)
		}
	}
	return s, acts
}

func TestBurnRule(t *testing.T) {
	r := errorrate.DefaultBurnRule()
	tests := []struct {
		name    string
		gen     func(i int) errorrate.Counts
		to      int
		fireAt  int // minute of the alarm, -1 for none
		resolve bool
	}{
		{
			// 2% from minute 360: the 1h window reaches 1.44% (9 of 600)
			// at the ninth failure, 40 minutes in.
			name: "fast burn pages on 1h and 5m", to: 480, fireAt: 360 + 40,
			gen: func(i int) errorrate.Counts {
				if i >= 360 && i%5 == 0 {
					return counts(10, source(i))
				}
				return counts(10)
			},
		},
		{
			// 0.83% from minute 360: under 14.4×, but the 6h window
			// reaches 0.6% (44 of 7,200) at the 44th failure.
			name: "slow burn pages on 6h and 30m", to: 700, fireAt: 360 + 6*43,
			gen: func(i int) errorrate.Counts {
				if i >= 360 && (i-360)%6 == 0 {
					return counts(20, source(i))
				}
				return counts(20)
			},
		},
		{
			name: "a one-minute burst does not page", to: 480, fireAt: -1,
			gen: func(i int) errorrate.Counts {
				if i == 400 {
					return counts(30, "a/1", "b/2", "c/3", "d/4", "e/5", "f/6", "g/7", "h/8", "i/9", "j/10")
				}
				return counts(100)
			},
		},
		{
			name: "quiet hours: too few calls", to: 480, fireAt: -1,
			gen: func(i int) errorrate.Counts {
				if i%30 == 0 {
					return counts(1, source(i))
				}
				return counts(0)
			},
		},
		{
			// 10% for two hours: pages once the long window has its 30
			// calls, resolves when the 30-minute window is clean again.
			name: "resolves when the short windows cool", to: 480, fireAt: 2, resolve: true,
			gen: func(i int) errorrate.Counts {
				if i < 120 {
					return counts(10, source(i))
				}
				return counts(10)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, acts := burnScenario(r, tt.to, tt.gen)
			if tt.fireAt < 0 {
				if len(acts) != 0 {
					t.Fatalf("actions %+v, want none", acts)
				}
				return
			}
			if len(acts) == 0 || acts[0].Action != errorrate.ActionFire {
				t.Fatalf("actions %+v, want a fire first", acts)
			}
			if got := int(acts[0].Minute.Sub(t0) / time.Minute); got != tt.fireAt {
				t.Errorf("fired at minute %d, want %d (rate %v, %d/%d)", got, tt.fireAt, acts[0].Rate, acts[0].Failures, acts[0].Calls)
			}
			if acts[0].Detector != errorrate.DetectorBurnRate || !acts[0].Firing || !near(acts[0].BaselineRate, 0.001) {
				t.Errorf("decision %+v", acts[0])
			}
			resolved := len(acts) == 2 && acts[1].Action == errorrate.ActionResolve
			if resolved != tt.resolve || len(acts) > 2 {
				t.Errorf("actions %+v, want resolved %v", acts, tt.resolve)
			}
			// At minute 148 the 30-minute window holds one failure in 300
			// calls, 0.33%: below 6×.
			if resolved && acts[1].Minute != at(148) {
				t.Errorf("resolved at %v, want minute 148 (the 30-minute window cooled)", acts[1].Minute)
			}
		})
	}
}

func TestBurnRuleIsPureAndSurvivesJSON(t *testing.T) {
	r := errorrate.DefaultBurnRule()
	s, _ := burnScenario(r, 400, func(i int) errorrate.Counts { return counts(10, source(i)) })
	before, _ := json.Marshal(s)
	var stored errorrate.BurnState
	if err := json.Unmarshal(before, &stored); err != nil {
		t.Fatal(err)
	}
	s1, d1 := r.Step(s, counts(10), at(400))
	s2, d2 := r.Step(stored, counts(10), at(400))
	if after, _ := json.Marshal(s); string(after) != string(before) {
		t.Fatal("Step changed its input state")
	}
	if !reflect.DeepEqual(s1, s2) || !reflect.DeepEqual(d1, d2) {
		t.Errorf("a JSON round trip changed the step: %+v vs %+v", d1, d2)
	}
	if _, d := r.Step(s1, counts(10), at(400)); d.Skipped == "" {
		t.Error("a repeated minute was stepped again")
	}
	// A gap longer than the ring forgets everything.
	_, d := r.Step(s1, counts(10), at(400+7*60))
	if d.Calls != 10 || d.Failures != 0 {
		t.Errorf("after a 7-hour gap the 1h window has %d calls, %d failures; want only the new minute", d.Calls, d.Failures)
	}
}

func TestValidate(t *testing.T) {
	if err := errorrate.DefaultParams().Validate(); err != nil {
		t.Errorf("default params: %v", err)
	}
	if err := errorrate.DefaultBurnRule().Validate(); err != nil {
		t.Errorf("default burn rule: %v", err)
	}
	p := errorrate.DefaultParams()
	p.K, p.MinResources, p.TrimDays = 1, 0, 1
	err := p.Validate()
	for _, want := range []string{"K 1", "MinResources 0", "TrimDays 1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to name %q", err, want)
		}
	}
	r := errorrate.DefaultBurnRule()
	r.Windows = append(r.Windows, errorrate.BurnWindow{Long: time.Minute, Short: time.Hour, Factor: 2})
	if err := r.Validate(); err == nil {
		t.Error("a short window longer than its long one was accepted")
	}
}

func TestBaseline(t *testing.T) {
	p := errorrate.DefaultParams()
	day := func(calls, failures int64) errorrate.Counts {
		return errorrate.Counts{Calls: calls, Failures: failures}
	}
	var clean, withIncident []errorrate.Counts
	for i := 0; i < 30; i++ {
		clean = append(clean, day(14400, 0))
		withIncident = append(withIncident, day(14400, 14))
	}
	withIncident[5] = day(14400, 1400) // a day with a 10% incident
	tests := []struct {
		name       string
		days       []errorrate.Counts
		wantRate   float64
		wantPerHr  float64
		wantMeasur float64
	}{
		{"clean history: the floor", clean, p.Floor, 600, 0},
		{"an incident day is trimmed", withIncident, 14.0 / 14400, 600, 14.0 / 14400},
		{"too few days: the floor", clean[:6], p.Floor, 600, 0},
		{"no days", nil, p.Floor, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := p.Baseline(tt.days)
			if !near(b.Rate, tt.wantRate) || !near(b.CallsPerHour, tt.wantPerHr) || !near(b.Measured, tt.wantMeasur) {
				t.Errorf("baseline %+v, want rate %v, measured %v, %v calls/h", b, tt.wantRate, tt.wantMeasur, tt.wantPerHr)
			}
		})
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
