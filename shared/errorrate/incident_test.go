package errorrate_test

import (
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

const dim = snapkeep.Dimension("operation:snapshot_droplet")

func fireDecision() errorrate.Decision {
	return errorrate.Decision{
		Dimension: dim, Detector: errorrate.DetectorCUSUM, Minute: at(69), At: at(70),
		Action: errorrate.ActionFire, Firing: true,
		StartedAt: at(52), OpenedAt: at(70), BaselineRate: 0.0005, Rate: 0.02, PeakRate: 0.03,
		Calls: 180, Failures: 4, AffectedAccounts: 3, AffectedResources: 4,
	}
}

func TestIncidentLifecycle(t *testing.T) {
	now := at(71)
	inc, tr := errorrate.NextIncident(nil, fireDecision(), now)
	if tr != errorrate.TransitionOpened {
		t.Fatalf("transition %q, want opened", tr)
	}
	want := snapkeep.Incident{
		IncidentID: "provider_error#operation:snapshot_droplet#2026-11-24T00:52Z",
		Kind:       snapkeep.IncidentProvider, Dimension: dim, Class: snapkeep.ClassProviderError,
		State: snapkeep.IncidentFiring, OpenState: snapkeep.OpenIncident,
		StartedAt: at(52), OpenedAt: at(70), Detector: "cusum", BaselineRate: 0.0005,
		Rate: 0.02, PeakRate: 0.03, Calls: 180, Failures: 4, AffectedAccounts: 3, AffectedResources: 4,
		UpdatedAt: now,
	}
	if inc != want {
		t.Fatalf("opened\n %+v\nwant\n %+v", inc, want)
	}

	// A replayed fire decision (a retried evaluation) changes nothing.
	if again, tr := errorrate.NextIncident(&inc, fireDecision(), at(72)); tr != errorrate.TransitionNone || again != inc {
		t.Errorf("replayed fire: %q %+v", tr, again)
	}

	// While firing, the figures move on; peaks and affected counts never
	// go down.
	d := fireDecision()
	d.Action, d.Minute, d.At = errorrate.ActionNone, at(80), at(81)
	d.Rate, d.PeakRate, d.Calls, d.Failures, d.AffectedAccounts, d.AffectedResources = 0.015, 0.02, 300, 5, 2, 5
	upd, tr := errorrate.NextIncident(&inc, d, at(82))
	if tr != errorrate.TransitionUpdated || upd.Rate != 0.015 || upd.PeakRate != 0.03 || upd.Calls != 300 ||
		upd.AffectedAccounts != 3 || upd.AffectedResources != 5 || upd.UpdatedAt != at(82) {
		t.Errorf("update: %q %+v", tr, upd)
	}
	if same, tr := errorrate.NextIncident(&upd, d, at(83)); tr != errorrate.TransitionNone || same != upd {
		t.Errorf("an unchanged update: %q", tr)
	}

	// Resolution, once.
	r := d
	r.Action, r.Firing, r.Reason, r.Minute, r.At = errorrate.ActionResolve, false, errorrate.ReasonRecovered, at(200), at(201)
	res, tr := errorrate.NextIncident(&upd, r, at(202))
	if tr != errorrate.TransitionResolved || res.State != snapkeep.IncidentResolved || res.OpenState != "" ||
		res.ResolvedAt == nil || !res.ResolvedAt.Equal(at(201)) || res.IncidentID != inc.IncidentID {
		t.Errorf("resolve: %q %+v", tr, res)
	}
	if again, tr := errorrate.NextIncident(&res, r, at(203)); tr != errorrate.TransitionNone || again.State != snapkeep.IncidentResolved {
		t.Errorf("replayed resolve: %q", tr)
	}
}

func TestNextIncidentIgnores(t *testing.T) {
	inc, _ := errorrate.NextIncident(nil, fireDecision(), at(71))
	other := inc
	other.Dimension = "region:nyc3"
	skipped := fireDecision()
	skipped.Skipped = "already evaluated"
	quiet := errorrate.Decision{Dimension: dim, Detector: errorrate.DetectorCUSUM, Minute: at(90)}
	resolve := errorrate.Decision{Dimension: dim, Action: errorrate.ActionResolve}
	tests := []struct {
		name string
		open *snapkeep.Incident
		d    errorrate.Decision
	}{
		{"a skipped minute", &inc, skipped},
		{"a quiet minute without an incident", nil, quiet},
		{"a resolve without an incident", nil, resolve},
		{"another dimension's incident", &other, resolve},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, tr := errorrate.NextIncident(tt.open, tt.d, at(99)); tr != errorrate.TransitionNone {
				t.Errorf("transition %q, want none", tr)
			}
		})
	}
}

func TestIncidentID(t *testing.T) {
	start := time.Date(2026, 11, 24, 6, 10, 42, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		detector, want string
	}{
		{errorrate.DetectorCUSUM, "provider_error#all#2026-11-24T05:10Z"},
		{errorrate.DetectorBurnRate, "provider_error#all#2026-11-24T05:10Z#burn_rate"},
	}
	for _, tt := range tests {
		if got := errorrate.IncidentID(snapkeep.ClassProviderError, snapkeep.DimensionAll, start, tt.detector); got != tt.want {
			t.Errorf("IncidentID(%s) = %q, want %q", tt.detector, got, tt.want)
		}
	}
}

func TestIncidentFromDetector(t *testing.T) {
	// The detector's decisions, fed through NextIncident, give one
	// incident: opened once, resolved once, the start from the change
	// point.
	p := errorrate.DefaultParams()
	s := errorrate.State{Dimension: dim}
	var open *snapkeep.Incident
	var opened, resolved int
	for i := 0; i < 600; i++ {
		c := counts(10)
		if i >= 100 && i < 220 && i%4 == 0 {
			c = counts(10, source(i))
		}
		var d errorrate.Decision
		s, d = p.Step(s, c, base600, at(i))
		inc, tr := errorrate.NextIncident(open, d, at(i+1))
		switch tr {
		case errorrate.TransitionOpened:
			opened++
			if !inc.StartedAt.Equal(at(100)) {
				t.Errorf("started at %v, want the first failure's minute %v", inc.StartedAt, at(100))
			}
		case errorrate.TransitionResolved:
			resolved++
		}
		if tr != errorrate.TransitionNone {
			open = &inc
		}
	}
	if opened != 1 || resolved != 1 || open.Failures != 30 || open.Calls < 1200 {
		t.Errorf("opened %d, resolved %d, last %+v; want one each, 30 failures since the start", opened, resolved, open)
	}
}

func TestSilenceRule(t *testing.T) {
	r := errorrate.DefaultSilenceRule()
	now := at(300)
	firing := snapkeep.Incident{IncidentID: "pipeline#all#2026-11-24T04:00Z", Kind: snapkeep.IncidentPipeline,
		State: snapkeep.IncidentFiring, OpenState: snapkeep.OpenIncident, StartedAt: at(240)}
	tests := []struct {
		name   string
		open   *snapkeep.Incident
		a      errorrate.Activity
		want   errorrate.Transition
		wantID string
	}{
		{"nothing due", nil, errorrate.Activity{LastCall: at(100)}, errorrate.TransitionNone, ""},
		{"due, not long enough", nil, errorrate.Activity{LastCall: at(100), FirstDue: at(280)}, errorrate.TransitionNone, ""},
		{"due 60 minutes ago, silent", nil, errorrate.Activity{LastCall: at(100), FirstDue: at(240)},
			errorrate.TransitionOpened, "pipeline#all#2026-11-24T04:00Z"},
		{"never any calls", nil, errorrate.Activity{FirstDue: at(240)}, errorrate.TransitionOpened, "pipeline#all#2026-11-24T04:00Z"},
		{"calls came after the slot", nil, errorrate.Activity{LastCall: at(250), FirstDue: at(240)}, errorrate.TransitionNone, ""},
		{"still silent", &firing, errorrate.Activity{LastCall: at(100), FirstDue: at(240)}, errorrate.TransitionNone, ""},
		{"outcomes again", &firing, errorrate.Activity{LastCall: at(295)}, errorrate.TransitionResolved, "pipeline#all#2026-11-24T04:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inc, tr := r.Evaluate(tt.open, tt.a, now)
			if tr != tt.want {
				t.Fatalf("transition %q, want %q", tr, tt.want)
			}
			if tt.wantID != "" && inc.IncidentID != tt.wantID {
				t.Errorf("id %q, want %q", inc.IncidentID, tt.wantID)
			}
			switch tr {
			case errorrate.TransitionOpened:
				if inc.Kind != snapkeep.IncidentPipeline || inc.Detector != errorrate.DetectorSilence || !inc.Open() ||
					!inc.StartedAt.Equal(at(240)) || !inc.OpenedAt.Equal(now) || inc.OpenState != snapkeep.OpenIncident {
					t.Errorf("opened %+v", inc)
				}
			case errorrate.TransitionResolved:
				if inc.Open() || inc.ResolvedAt == nil || inc.OpenState != "" {
					t.Errorf("resolved %+v", inc)
				}
			}
		})
	}
}
