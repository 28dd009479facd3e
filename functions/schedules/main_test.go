package main

import (
	"context"
	"strings"
	"testing"
)

func fullEnv() map[string]string {
	return map[string]string{
		"POLICIES_TABLE":        "snapkeep-dev-PoliciesTable",
		"SCHEDULE_GROUP":        "snapkeep-dev",
		"SNAPSHOT_FUNCTION_ARN": "arn:aws:lambda:us-east-1:123456789012:function:snapshot",
		"SCHEDULER_ROLE_ARN":    "arn:aws:iam::123456789012:role/scheduler",
		"SCHEDULE_DLQ_ARN":      "arn:aws:sqs:us-east-1:123456789012:schedule-dlq",
	}
}

func TestLoadSettingsNamesMissingVariables(t *testing.T) {
	tests := []struct {
		name    string
		unset   []string
		wantErr []string
	}{
		{name: "complete"},
		{name: "no group", unset: []string{"SCHEDULE_GROUP"}, wantErr: []string{"SCHEDULE_GROUP"}},
		{name: "no table", unset: []string{"POLICIES_TABLE"}, wantErr: []string{"POLICIES_TABLE"}},
		{
			name:    "several",
			unset:   []string{"SNAPSHOT_FUNCTION_ARN", "SCHEDULER_ROLE_ARN", "SCHEDULE_DLQ_ARN"},
			wantErr: []string{"SNAPSHOT_FUNCTION_ARN", "SCHEDULER_ROLE_ARN", "SCHEDULE_DLQ_ARN"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := fullEnv()
			for _, k := range tt.unset {
				env[k] = "  " // blank counts as missing
			}
			st, err := loadSettings(func(k string) string { return env[k] })
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("loadSettings: %v", err)
				}
				want := settings{
					policiesTable: env["POLICIES_TABLE"], group: env["SCHEDULE_GROUP"],
					targetARN: env["SNAPSHOT_FUNCTION_ARN"], roleARN: env["SCHEDULER_ROLE_ARN"],
					deadLetterARN: env["SCHEDULE_DLQ_ARN"],
				}
				if st != want {
					t.Errorf("settings = %+v, want %+v", st, want)
				}
				return
			}
			if err == nil {
				t.Fatalf("loadSettings succeeded, want an error naming %q", tt.wantErr)
			}
			for _, name := range tt.wantErr {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error %q does not name %s", err, name)
				}
			}
		})
	}
}

func TestNewHandlerFailsFast(t *testing.T) {
	_, err := newHandler(context.Background(), func(string) string { return "" }, nil)
	if err == nil || !strings.Contains(err.Error(), "SCHEDULE_GROUP") {
		t.Fatalf("newHandler with an empty environment: %v", err)
	}
}
