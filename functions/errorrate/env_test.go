package main

import (
	"strings"
	"testing"
	"time"
)

// TestLoadSettings: the template's variables are read; a missing or
// malformed one is named.
func TestLoadSettings(t *testing.T) {
	full := map[string]string{
		"STATS_TABLE": "s", "INCIDENTS_TABLE": "i", "RUNS_TABLE": "r", "API_CALLS_TABLE": "c",
		"SENDER_ADDRESS": "Snapkeep <alerts@snapkeep.example>", "OPS_ADDRESS": "ops@snapkeep.example",
		"API_CALL_RETENTION_DAYS": "30", "OPS_WEBHOOK_SECRET": "snapkeep/dev/ops-webhook", "OPS_WEBHOOK_HOSTS": "hooks.slack.com, 127.0.0.1:9",
	}
	tests := []struct {
		name    string
		change  map[string]string
		wantErr string
	}{
		{"complete", nil, ""},
		{"no ops address", map[string]string{"OPS_ADDRESS": ""}, "OPS_ADDRESS is not set"},
		{"bad sender", map[string]string{"SENDER_ADDRESS": "not an address"}, "SENDER_ADDRESS"},
		{"bad retention", map[string]string{"API_CALL_RETENTION_DAYS": "forever"}, "API_CALL_RETENTION_DAYS"},
		{"no stats table", map[string]string{"STATS_TABLE": ""}, "STATS_TABLE is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range full {
				env[k] = v
			}
			for k, v := range tt.change {
				env[k] = v
			}
			st, err := loadSettings(func(k string) string { return env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || st.retention != 30*24*time.Hour || st.sender.Name != "Snapkeep" || st.ops.Email != "ops@snapkeep.example" ||
				st.webhookSecret != "snapkeep/dev/ops-webhook" || len(st.webhookHosts) != 2 || st.statsTable != "s" {
				t.Errorf("settings %+v, %v", st, err)
			}
		})
	}
}
