package errorrate_test

import (
	"flag"
	"testing"
	"time"
)

var simTrials = flag.Int("sim.trials", 0, "incident runs per row (0: the full simulation's)")

func TestSimulationTable(t *testing.T) {
	sim := targetSimulation
	if *simTrials > 0 {
		sim.trials = *simTrials
		sim.faMonths = max(2, *simTrials/10)
	}
	start := time.Now()
	res := sim.run()
	t.Logf("\n%s", res.markdown(sim))
	t.Logf("took %v", time.Since(start))
}
