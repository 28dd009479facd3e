package errorrate

import (
	"errors"
	"fmt"
	"time"
)

// Params are the CUSUM detector's parameters. DefaultParams holds the
// values tuned by the simulation (sim_test.go); the package doc says why
// each has its value.
type Params struct {
	// K sets the rate the detector tests for: p1 = K·p0.
	K float64
	// Floor is the least baseline rate p0 (0.05%), so that a perfectly
	// clean history does not make every failure an alarm.
	Floor float64
	// MaxP1 bounds p1 (for a dimension whose baseline is already high).
	MaxP1 float64
	// H is the alarm threshold on the statistic at RefCallsPerHour and
	// below; HPerDecade is added for every tenfold traffic above it
	// (Params.Threshold). TrafficMinutes is the time constant of the
	// traffic average the threshold follows (State.Traffic).
	H, HPerDecade   float64
	RefCallsPerHour float64
	TrafficMinutes  int
	// MaxStep is the most one minute can add to the statistic, as a
	// fraction of the threshold: below 1, no single minute (a one-minute
	// burst) can raise an alarm alone.
	MaxStep float64
	// MaxStatistic caps the statistic, as a multiple of the threshold,
	// so that evidence held back by the guard fades in bounded time.
	MaxStatistic float64
	// MinResources and MinAccounts are the minimum-evidence guard: an
	// alarm needs failures from at least this many distinct resources
	// (chronic ones left out) and accounts since the change point.
	MinResources, MinAccounts int
	// MinCalls is the quiet-hours floor: no alarm with fewer calls since
	// the change point; also the least calls for a PeakWindow's rate to
	// count as a peak.
	MinCalls int64
	// ResolveH is the recovery statistic's threshold, as a fraction of the
	// alarm threshold; ResolveMinutes the least minutes the recovery must
	// last. StopMinutes without any call resolves too (traffic stopped).
	ResolveH                    float64
	ResolveMinutes, StopMinutes int
	// ChronicMinutes: a resource that failed in this many distinct minutes
	// is chronic (one customer's broken droplet); at most MaxChronic of
	// them (the most failing) are left out of the statistic and the guard,
	// and their earlier contribution to the current statistic is taken
	// back. MaxSources bounds the resources tracked for this;
	// ChronicForget is how long a resource stays tracked after its last
	// failure.
	ChronicMinutes, MaxChronic, MaxSources int
	ChronicForget                          time.Duration
	// PeakWindow is the aligned window PeakRate is measured over.
	PeakWindow time.Duration
	// MinBaselineDays is the least days of roll-ups for a measured
	// baseline; TrimDays the fraction of the worst days left out.
	MinBaselineDays int
	TrimDays        float64
}

// DefaultParams returns the parameters tuned by the simulation for a
// 0.05% baseline at 60-6,000 calls an hour (see the package doc).
func DefaultParams() Params {
	return Params{
		K:               20,
		Floor:           0.0005,
		MaxP1:           0.5,
		H:               7.5,
		HPerDecade:      2.3,
		RefCallsPerHour: 600,
		TrafficMinutes:  60,
		MaxStep:         0.5,
		MaxStatistic:    2,
		MinResources:    3,
		MinAccounts:     2,
		MinCalls:        30,
		ResolveH:        1,
		ResolveMinutes:  15,
		StopMinutes:     60,
		ChronicMinutes:  3,
		MaxChronic:      2,
		MaxSources:      8,
		ChronicForget:   24 * time.Hour,
		PeakWindow:      15 * time.Minute,
		MinBaselineDays: 7,
		TrimDays:        0.1,
	}
}

// Validate says which parameter is out of range; Step and Baseline assume
// valid parameters.
func (p Params) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(p.K > 1, "K %v: must be above 1", p.K)
	check(p.Floor > 0 && p.Floor < p.MaxP1 && p.MaxP1 < 1, "Floor %v and MaxP1 %v: need 0 < Floor < MaxP1 < 1", p.Floor, p.MaxP1)
	check(p.H > 0 && p.HPerDecade >= 0, "H %v and HPerDecade %v: need H > 0, HPerDecade >= 0", p.H, p.HPerDecade)
	check(p.TrafficMinutes >= 1, "TrafficMinutes %d: must be at least 1", p.TrafficMinutes)
	check(p.RefCallsPerHour > 0, "RefCallsPerHour %v: must be positive", p.RefCallsPerHour)
	check(p.MaxStep > 0 && p.MaxStep <= p.MaxStatistic, "MaxStep %v: must be in (0, MaxStatistic]", p.MaxStep)
	check(p.MaxStatistic >= 1, "MaxStatistic %v: must be at least 1", p.MaxStatistic)
	check(p.MinResources >= 1 && p.MinAccounts >= 1, "MinResources %d and MinAccounts %d: must be at least 1", p.MinResources, p.MinAccounts)
	check(p.MinResources <= MaxEpisodeIDs && p.MinAccounts <= MaxEpisodeIDs, "MinResources and MinAccounts: at most %d", MaxEpisodeIDs)
	check(p.MinCalls >= 0, "MinCalls %d: must not be negative", p.MinCalls)
	check(p.ResolveH > 0 && p.ResolveMinutes >= 1 && p.StopMinutes >= 1,
		"ResolveH %v, ResolveMinutes %d, StopMinutes %d: must be positive", p.ResolveH, p.ResolveMinutes, p.StopMinutes)
	check(p.ChronicMinutes >= 2, "ChronicMinutes %d: must be at least 2", p.ChronicMinutes)
	check(p.MaxChronic >= 0 && p.MaxSources >= p.MaxChronic, "MaxChronic %d and MaxSources %d: need 0 <= MaxChronic <= MaxSources", p.MaxChronic, p.MaxSources)
	check(p.ChronicForget > 0, "ChronicForget %v: must be positive", p.ChronicForget)
	check(p.PeakWindow >= time.Minute && p.PeakWindow%time.Minute == 0, "PeakWindow %v: must be whole minutes", p.PeakWindow)
	check(p.MinBaselineDays >= 1, "MinBaselineDays %d: must be at least 1", p.MinBaselineDays)
	check(p.TrimDays >= 0 && p.TrimDays < 1, "TrimDays %v: must be in [0, 1)", p.TrimDays)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("errorrate params: %w", err)
	}
	return nil
}
