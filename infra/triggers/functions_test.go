package triggers_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/infra/awslocal"
	"github.com/snapkeep/snapkeep/infra/triggers"
)

// TestFunctionsOfProjectTemplate: the project's four functions, as the
// local stack will start them.
func TestFunctionsOfProjectTemplate(t *testing.T) {
	path, err := awslocal.FindTemplate()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := triggers.ReadTemplate(path, "local")
	if err != nil {
		t.Fatal(err)
	}
	snap := tpl.Functions["SnapshotFunction"]
	if snap.Timeout != 300*time.Second || tpl.Functions["SchedulesFunction"].Timeout != 900*time.Second {
		t.Errorf("timeouts: snapshot %s, schedules %s", snap.Timeout, tpl.Functions["SchedulesFunction"].Timeout)
	}
	for k, want := range map[string]string{
		"STAGE": "local", "RUN_DEADLINE_HOURS": "6", "SLOT_WINDOW_MINUTES": "30", "API_CALL_RETENTION_DAYS": "90",
		"TOKEN_SECRET_PREFIX": "snapkeep/local/accounts/", "AWS_ENDPOINT_URL": "",
	} {
		if got, ok := snap.Env[k]; !ok || got != want {
			t.Errorf("SnapshotFunction %s = %q (set %v), want %q", k, got, ok, want)
		}
	}
	for _, k := range []string{"RUNS_TABLE", "API_CALLS_TABLE", "FOLLOW_UP_QUEUE_URL"} {
		if !contains(snap.Provided, k) {
			t.Errorf("SnapshotFunction's %s should be the stack's to provide: %v", k, snap.Provided)
		}
	}
	if got := tpl.Functions["NotifyFunction"]; !contains(got.Provided, "APP_URL") || got.Env["HOLD_NOTICES_DURING_INCIDENTS"] != "false" {
		t.Errorf("NotifyFunction: APP_URL (no default) must be provided, the hold mode off by default: %+v", got)
	}
}

// TestFunctionConfig: Globals and the function's own settings, parameter
// defaults of every type, ${Stage}, and what is left to the stack.
func TestFunctionConfig(t *testing.T) {
	const tpl = `
Parameters:
  Stage: {Type: String, Default: prod}
  Days: {Type: Number, Default: 90}
  Flag: {Type: String, Default: "false"}
  URL: {Type: String}
Globals:
  Function:
    Timeout: 60
    Environment:
      Variables:
        STAGE: !Ref Stage
        TABLE: !Ref Table
        SHARED: global
Resources:
  Table: {Type: AWS::DynamoDB::Table}
  Plain:
    Type: AWS::Serverless::Function
  Own:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 120
      Environment:
        Variables:
          SHARED: own
          DAYS: !Ref Days
          FLAG: !Ref Flag
          URL: !Ref URL
          PREFIX: !Sub "snapkeep/${Stage}/accounts/"
          ROLE: !GetAtt Role.Arn
`
	got, err := triggers.ParseTemplate([]byte(tpl), "local")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]triggers.FunctionConfig{
		"Plain": {Timeout: 60 * time.Second, Env: map[string]string{"STAGE": "local", "SHARED": "global"}, Provided: []string{"TABLE"}},
		"Own": {Timeout: 120 * time.Second,
			Env:      map[string]string{"STAGE": "local", "SHARED": "own", "DAYS": "90", "FLAG": "false", "PREFIX": "snapkeep/local/accounts/"},
			Provided: []string{"ROLE", "TABLE", "URL"}},
	}
	if !reflect.DeepEqual(got.Functions, want) {
		t.Errorf("Functions = %+v\nwant        %+v", got.Functions, want)
	}

	for _, bad := range []struct{ props, want string }{
		{"Timeout: 901", "Timeout 901: want 1 to 900"},
		{"Environment: {Variables: {X: !Sub '${AWS::Region}'}}", ""},
		{"Environment: {Variables: {X: [1, 2]}}", "Environment variable X: unsupported value"},
	} {
		_, err := triggers.ParseTemplate([]byte("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {"+strings.ReplaceAll(bad.props, "\n", " ")+"}\n"), "local")
		if bad.want == "" {
			if err != nil {
				t.Errorf("%s: %v, want the variable left to the stack", bad.props, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: err %v, want %q", bad.props, err, bad.want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
