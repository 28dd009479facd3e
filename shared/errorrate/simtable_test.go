package errorrate_test

import (
	"flag"
	"testing"
)

var simFull = flag.Bool("sim.full", false, "run the full simulation (every rate and volume, flat and cyclic traffic: about half a minute) instead of the target rows")

// TestSimulationTable runs the simulation's target rows (or, with
// -sim.full, all of it), prints the Markdown table and checks the issue's
// targets on the virtual clock:
//
//	go test ./shared/errorrate -run TestSimulationTable -v [-sim.full]
func TestSimulationTable(t *testing.T) {
	sim := targetSimulation
	if *simFull {
		sim = fullSimulation
	}
	res := sim.run()
	t.Logf("\n%s", res.markdown(sim))

	for _, v := range sim.faVolumes {
		if fa := res.falseAlarms[v][0]; fa > 1 {
			t.Errorf("%.0f calls/h: %.2f false alarms per 30 days, want at most 1", v, fa)
		}
	}
	targets := []struct {
		volume, maxMedian float64
	}{
		{volume: 600, maxMedian: 20},
		{volume: 6000, maxMedian: 5},
	}
	for _, tt := range targets {
		c := res.cell(0, tt.volume, 0.015)
		if c.cusum.median > tt.maxMedian {
			t.Errorf("%.0f calls/h at 1.5%%: median delay %v min, want at most %v", tt.volume, c.cusum.median, tt.maxMedian)
		}
		if c.burn.median < 3*c.cusum.median {
			t.Errorf("%.0f calls/h at 1.5%%: median %v min against the burn rate's %v, want at least 3× faster", tt.volume, c.cusum.median, c.burn.median)
		}
	}
	for _, c := range res.cells {
		if c.rate == 0.015 && c.volume >= 600 && c.cusum.missRate > 0 {
			t.Errorf("%.0f calls/h at 1.5%% (cycle %v): %.1f%% of 12-hour incidents missed, want none", c.volume, c.cycle, 100*c.cusum.missRate)
		}
	}
}
