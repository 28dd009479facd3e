package main

import (
	"strings"
	"testing"
	"time"
)

func TestLoadEnv(t *testing.T) {
	full := map[string]string{
		"POLICIES_TABLE": "pol", "RUNS_TABLE": "runs", "API_CALLS_TABLE": "calls", "LEASES_TABLE": "leases",
		"TOKEN_SECRET_PREFIX": "snapkeep/dev/accounts/", "RUN_DEADLINE_HOURS": "6",
		"SLOT_WINDOW_MINUTES": "30", "API_CALL_RETENTION_DAYS": "90",
	}
	getenv := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	e, err := loadEnv(getenv(full))
	if err != nil {
		t.Fatal(err)
	}
	if e.RunsTable != "runs" || e.Config.Deadline != 6*time.Hour || e.Config.SlotWindow != 30*time.Minute || e.Config.APICallTTL != 90*24*time.Hour {
		t.Errorf("env = %+v", e)
	}
	for _, tc := range []struct{ name, value, want string }{
		{"RUNS_TABLE", "", "RUNS_TABLE is not set"},
		{"API_CALLS_TABLE", "", "API_CALLS_TABLE is not set"},
		{"LEASES_TABLE", "", "LEASES_TABLE is not set"},
		{"TOKEN_SECRET_PREFIX", "", "TOKEN_SECRET_PREFIX is not set"},
		{"POLICIES_TABLE", "", "POLICIES_TABLE is not set"},
		{"RUN_DEADLINE_HOURS", "six", "RUN_DEADLINE_HOURS"},
		{"SLOT_WINDOW_MINUTES", "0", "SLOT_WINDOW_MINUTES"},
		{"API_CALL_RETENTION_DAYS", "99999", "API_CALL_RETENTION_DAYS"},
		{"FOLLOW_UP_NO_DELAY", "true", "FOLLOW_UP_NO_DELAY: is only for the local runner's virtual clock (SNAPKEEP_CLOCK_FILE unset)"},
	} {
		m := map[string]string{}
		for k, v := range full {
			m[k] = v
		}
		m[tc.name] = tc.value
		if _, err := loadEnv(getenv(m)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%q: err = %v, want it to name %s", tc.name, tc.value, err, tc.want)
		}
	}
	delete(full, "RUN_DEADLINE_HOURS")
	if e, err := loadEnv(getenv(full)); err != nil || e.Config.Deadline != 0 {
		t.Errorf("optional variable missing: %+v, %v (zero takes the service default)", e.Config, err)
	}
}
