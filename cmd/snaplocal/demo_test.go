package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/infra/lambdarun"
	"github.com/snapkeep/snapkeep/shared/secrets"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// TestDemo runs the whole demo (real function binaries, moto, the fake
// DigitalOcean) and checks what it left in the stack before teardown, and
// that teardown happened.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	logs := &lockedBuffer{}
	var d *Demo
	var endpoint, dir string
	inspected := false
	err := runDemo(context.Background(), DemoOptions{
		Out:         &out,
		FunctionLog: logs,
		Inspect: func(ctx context.Context, demo *Demo) error {
			inspected = true
			d, endpoint, dir = demo, demo.Moto.Endpoint, demo.Dir
			inspectDemo(ctx, t, demo)
			return nil
		},
	})
	t.Logf("demo output:\n%s", out.String())
	if err != nil {
		t.Fatalf("runDemo: %v\nfunction logs:\n%s", err, logs.String())
	}
	if !inspected {
		t.Fatal("Inspect was not called")
	}

	// The token is in no output; the tables were checked in inspectDemo.
	if d.Token == "" || !strings.HasPrefix(d.Token, "dop_v1_") {
		t.Fatalf("the demo's token is %d characters, not a generated dop_v1_ token", len(d.Token))
	}
	if strings.Contains(out.String(), d.Token) {
		t.Error("the token appears in the demo's output")
	}
	if strings.Contains(logs.String(), d.Token) {
		t.Error("the token appears in the functions' logs")
	}
	if logs.String() == "" {
		t.Error("the functions logged nothing")
	}
	for _, want := range []string{
		"FAILED: provider_error", "Server Error", "DigitalOcean request id", "SUCCEEDED", "DISABLED",
		"retention: kept 2, deleted 1", "retention: kept 3, deleted 1", "the snapshot the customer made by hand is untouched",
		"Tearing down", "Demo finished",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo's output does not say %q", want)
		}
	}

	// Everything is torn down.
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary directory %s still exists after the demo (stat: %v)", dir, err)
	}
	client := &http.Client{Timeout: 2 * time.Second}
	if resp, err := client.Get(endpoint + "/moto-api/"); err == nil {
		resp.Body.Close()
		t.Errorf("moto still answers at %s after the demo", endpoint)
	}
	for name, f := range d.Functions {
		if _, err := f.Invoke(context.Background(), []byte(`{}`)); err == nil {
			t.Errorf("function %s still answers after the demo", name)
		}
	}
}

// inspectDemo checks the stack's state at the end of the demo.
func inspectDemo(ctx context.Context, t *testing.T, d *Demo) {
	t.Helper()
	// Schedules: one per policy, the paused one disabled, all targeting
	// the snapshot function with the scheduled-time placeholder.
	scheds, err := readSchedules(ctx, d.Scheduler, ScheduleGroup)
	if err != nil {
		t.Fatalf("read schedules: %v", err)
	}
	enabled := map[string]bool{}
	for _, s := range scheds {
		enabled[s.Name] = s.Enabled
		if s.TargetARN != d.Functions["snapshot"].ARN() {
			t.Errorf("schedule %s targets %s, want the snapshot function %s", s.Name, s.TargetARN, d.Functions["snapshot"].ARN())
		}
		if !strings.Contains(s.Input, "<aws.scheduler.scheduled-time>") {
			t.Errorf("schedule %s input %s has no scheduled-time placeholder", s.Name, s.Input)
		}
	}
	wantEnabled := map[string]bool{webPolicy: true, dataPolicy: true, oldPolicy: false}
	if len(enabled) != len(wantEnabled) {
		t.Errorf("schedules %v, want %v", enabled, wantEnabled)
	}
	for name, want := range wantEnabled {
		if got, ok := enabled[name]; !ok || got != want {
			t.Errorf("schedule %s: present %v, enabled %v; want enabled %v", name, ok, got, want)
		}
	}

	// Runs: the statuses the story tells.
	runs := &dynamo.RunStore{Client: d.DynamoDB, Table: d.TableName(dynamo.Runs), CallsTable: d.TableName(dynamo.APICalls)}
	calls := &dynamo.APICallStore{Client: d.DynamoDB, Table: d.TableName(dynamo.APICalls)}
	s1, s2 := d.FirstSlot, d.FirstSlot.Add(time.Hour)
	tests := []struct {
		key        snapkeep.RunKey
		status     snapkeep.RunStatus
		class      snapkeep.ErrorClass
		deleted    int
		postStatus int
	}{
		{key: snapkeep.NewRunKey(dataPolicy, s1), status: snapkeep.RunSucceeded, deleted: 1, postStatus: 201},
		{key: snapkeep.NewRunKey(webPolicy, s1), status: snapkeep.RunFailed, class: snapkeep.ClassProviderError, postStatus: 500},
		{key: snapkeep.NewRunKey(webPolicy, s2), status: snapkeep.RunSucceeded, deleted: 1, postStatus: 201},
	}
	if len(d.Fired) != len(tests) {
		t.Errorf("the demo fired %v, want %d runs", d.Fired, len(tests))
	}
	totalCalls := 0
	for _, tt := range tests {
		run, err := runs.Get(ctx, tt.key)
		if err != nil {
			t.Errorf("run %s: %v", tt.key, err)
			continue
		}
		if run.Status != tt.status || run.ErrorClass != tt.class {
			t.Errorf("run %s: status %s class %q (%s), want %s %q", tt.key, run.Status, run.ErrorClass, run.ErrorDetail, tt.status, tt.class)
		}
		if tt.status == snapkeep.RunSucceeded {
			if run.SnapshotID == "" || run.Retention == nil || len(run.Retention.Deleted) != tt.deleted {
				t.Errorf("run %s: snapshot %q, retention %+v; want a snapshot and %d deleted", tt.key, run.SnapshotID, run.Retention, tt.deleted)
			}
		}
		if tt.status == snapkeep.RunFailed {
			if run.HTTPStatus != 500 || run.ProviderErrorID != "server_error" || run.ProviderRequestID == "" {
				t.Errorf("run %s: http %d, provider error %q, request id %q; want 500 server_error with a request id",
					tt.key, run.HTTPStatus, run.ProviderErrorID, run.ProviderRequestID)
			}
		}
		rows, err := calls.ListByRun(ctx, run.RunID)
		if err != nil {
			t.Errorf("api calls of %s: %v", run.RunID, err)
			continue
		}
		if len(rows) == 0 || len(rows) != run.APICalls {
			t.Errorf("run %s: %d ApiCalls rows, run counts %d; want the same, at least 1", tt.key, len(rows), run.APICalls)
			continue
		}
		totalCalls += len(rows)
		first := rows[0]
		if first.Method != http.MethodPost || first.StatusCode != tt.postStatus || first.ProviderRequestID == "" {
			t.Errorf("run %s: first call %s %s → %d (request %q), want POST → %d with a request id",
				tt.key, first.Method, first.Path, first.StatusCode, first.ProviderRequestID, tt.postStatus)
		}
		if tt.status == snapkeep.RunFailed && first.ProviderRequestID != run.ProviderRequestID {
			t.Errorf("run %s: request id %q on the run, %q on its call", tt.key, run.ProviderRequestID, first.ProviderRequestID)
		}
		for _, c := range rows {
			if auth, ok := c.RequestHeaders["authorization"]; !ok || auth != snapkeep.Redacted {
				t.Errorf("call %s#%d: authorization header %q, want %q", c.RunID, c.Seq, auth, snapkeep.Redacted)
			}
		}
	}
	if totalCalls < 5 {
		t.Errorf("%d ApiCalls rows in all, want at least 5", totalCalls)
	}
	// Every HTTP request DigitalOcean received is an ApiCalls row.
	if got := len(d.DO.Requests()); got != totalCalls {
		t.Errorf("fake DigitalOcean received %d requests, ApiCalls has %d rows: want every call logged", got, totalCalls)
	}
	// The token went where it belongs.
	if tok, err := (&secrets.Store{Client: d.Secrets, Prefix: TokenSecretPrefix}).Token(ctx, demoAccount); err != nil || tok != d.Token {
		t.Errorf("Secrets Manager does not hold the demo's token for %s (err %v)", demoAccount, err)
	}
	if old, err := runs.ListByPolicy(ctx, oldPolicy, time.Time{}); err != nil || len(old) != 0 {
		t.Errorf("the paused policy has runs %v (err %v), want none", old, err)
	}

	// Every Runs stream record went to errorrate and notify; the Policies
	// records to schedules.
	if d.Handed["errorrate"] == 0 || d.Handed["errorrate"] != d.Handed["notify"] || d.Handed["schedules"] < 3 {
		t.Errorf("stream records handed to the functions: %v; want errorrate = notify > 0 and schedules >= 3", d.Handed)
	}

	// The fake saw the snapshot requests the runs report.
	if got := d.DO.SnapshotPosts("droplet", "3164444"); got != 2 {
		t.Errorf("fake DigitalOcean: %d snapshot POSTs for the web droplet, want 2", got)
	}
	if got := d.DO.SnapshotPosts("volume", dataVolume); got != 1 {
		t.Errorf("fake DigitalOcean: %d snapshot POSTs for the volume, want 1", got)
	}
	if got := d.DO.SnapshotPosts("droplet", "3164555"); got != 0 {
		t.Errorf("fake DigitalOcean: %d snapshot POSTs for the paused policy's droplet, want 0", got)
	}

	// The token is in no table.
	for id, name := range d.Tables {
		n, found, err := scanFor(ctx, d.DynamoDB, name, d.Token)
		if err != nil {
			t.Errorf("scan %s: %v", id, err)
		}
		if found {
			t.Errorf("the token is in table %s", id)
		}
		if id == "RunsTable" && n != len(tests) {
			t.Errorf("Runs has %d items, want %d", n, len(tests))
		}
	}
}

// TestDemoWithoutMoto: without moto_server the demo stops at "start moto"
// and says to run make tools.
func TestDemoWithoutMoto(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not on PATH: %v", err)
	}
	t.Setenv("PATH", filepath.Dir(goTool))
	var out bytes.Buffer
	err = runDemo(context.Background(), DemoOptions{Out: &out})
	var se *stepError
	if !errors.As(err, &se) || se.step != "start moto" {
		t.Fatalf("runDemo without moto: error %v, want a failure at step \"start moto\"", err)
	}
	if !strings.Contains(err.Error(), "make tools") {
		t.Errorf("error %q does not say to run make tools", err)
	}
}

// TestDemoFunctionCannotStart: a function that fails at init stops the demo
// at that step, with the function's own message.
func TestDemoFunctionCannotStart(t *testing.T) {
	var out bytes.Buffer
	err := runDemo(context.Background(), DemoOptions{Out: &out, SnapshotEnv: map[string]string{"SLOT_WINDOW_MINUTES": "0"}})
	var se *stepError
	if !errors.As(err, &se) || se.step != "start the snapshot function" {
		t.Fatalf("runDemo with a broken snapshot configuration: error %v, want a failure at step \"start the snapshot function\"", err)
	}
	var fe *lambdarun.FunctionError
	if !errors.As(err, &fe) || !fe.Init || !strings.Contains(fe.Message, "SLOT_WINDOW_MINUTES") {
		t.Errorf("error %v: want the snapshot function's init failure naming SLOT_WINDOW_MINUTES", err)
	}
	if !strings.Contains(out.String(), "Tearing down") {
		t.Errorf("the demo did not tear down after the failure:\n%s", out.String())
	}
}

// TestUp starts `snaplocal up`, stores a policy as snapctl would, waits for
// the runner to hand it to the schedules function (its schedule appears in
// moto's Scheduler), and stops it.
func TestUp(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan *Stack, 1)
	done := make(chan error, 1)
	var out lockedBuffer
	go func() {
		done <- runUp(ctx, UpOptions{Out: &out, Tick: 200 * time.Millisecond, Ready: func(_ context.Context, st *Stack) error {
			ready <- st
			return nil
		}})
	}()
	var st *Stack
	select {
	case st = <-ready:
	case err := <-done:
		t.Fatalf("runUp ended before it was ready: %v\n%s", err, out.String())
	}
	policies := &dynamo.PolicyStore{Client: st.DynamoDB, Table: st.TableName(dynamo.Policies)}
	p := &snapkeep.Policy{PolicyID: "pol-up", CustomerID: "c1", AccountID: UpAccount,
		Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "3164444", Region: "nyc3"},
		Schedule: "cron(0 3 * * ? *)", Retention: snapkeep.Retention{KeepLast: 3}, Enabled: true}
	if err := policies.Put(ctx, p); err != nil {
		t.Fatalf("put policy: %v", err)
	}
	var scheds []Schedule
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var err error
		if scheds, err = readSchedules(ctx, st.Scheduler, ScheduleGroup); err != nil {
			t.Fatalf("read schedules: %v", err)
		}
		if len(scheds) > 0 {
			break
		}
	}
	if len(scheds) != 1 || scheds[0].Name != "pol-up" || scheds[0].Expression != p.Schedule || !scheds[0].Enabled {
		t.Errorf("schedules %+v, want pol-up's", scheds)
	}
	dir := st.Dir
	cancel()
	if err := <-done; err != nil {
		t.Errorf("runUp: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary directory %s still exists after up stopped (stat: %v)", dir, err)
	}
	for _, want := range []string{"export AWS_ENDPOINT_URL=" + st.Moto.Endpoint, "schedules function: ", "stopping the local stack"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output does not say %q:\n%s", want, out.String())
		}
	}
}

func TestFirings(t *testing.T) {
	base := time.Date(2026, 11, 24, 12, 17, 0, 0, time.UTC)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	const input = `{"policy_id":"p","scheduled_time":"<aws.scheduler.scheduled-time>"}`
	mk := func(name, expr, tz string, enabled bool) Schedule {
		t.Helper()
		s := Schedule{Name: name, Expression: expr, TimeZone: tz, Enabled: enabled, Input: input,
			TargetARN: "arn:aws:lambda:us-east-1:123456789012:function:snap"}
		schedules, err := parseSchedules([]Schedule{s})
		if err != nil {
			t.Fatalf("schedule %s: %v", expr, err)
		}
		return schedules[0]
	}
	tests := []struct {
		name      string
		schedules []Schedule
		from, to  time.Time
		want      []string // "name@15:04"
	}{
		{name: "hourly slot at the boundary is included", schedules: []Schedule{mk("web", "cron(17 * * * ? *)", "UTC", true)},
			from: base.Add(-time.Second), to: base, want: []string{"web@12:17"}},
		{name: "from is excluded", schedules: []Schedule{mk("web", "cron(17 * * * ? *)", "UTC", true)},
			from: base, to: base.Add(59 * time.Minute), want: nil},
		{name: "an hour on", schedules: []Schedule{mk("web", "cron(17 * * * ? *)", "UTC", true), mk("data", "cron(17 12 * * ? *)", "UTC", true)},
			from: base, to: base.Add(time.Hour), want: []string{"web@13:17"}},
		{name: "ordered by time then name", schedules: []Schedule{mk("web", "cron(17 * * * ? *)", "UTC", true), mk("data", "cron(17 12 * * ? *)", "UTC", true)},
			from: base.Add(-61 * time.Minute), to: base.Add(time.Hour), want: []string{"web@11:17", "data@12:17", "web@12:17", "web@13:17"}},
		{name: "disabled never fires", schedules: []Schedule{mk("old", "cron(17 * * * ? *)", "UTC", false)},
			from: base.Add(-time.Hour), to: base, want: nil},
		{name: "time zone", schedules: []Schedule{mk("tz", "cron(0 13 * * ? *)", "Europe/Berlin", true)},
			from: base.Add(-2 * time.Hour), to: base, want: []string{"tz@" + time.Date(2026, 11, 24, 13, 0, 0, 0, berlin).UTC().Format("15:04")}},
		{name: "rate anchored at the epoch", schedules: []Schedule{mk("r", "rate(1 hour)", "", true)},
			from: base, to: base.Add(2 * time.Hour), want: []string{"r@13:00", "r@14:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range firings(tt.schedules, "grp", tt.from, tt.to, 100) {
				got = append(got, f.Schedule+"@"+f.At.Format("15:04"))
				want := strings.Replace(input, "<aws.scheduler.scheduled-time>", f.At.Format(snapkeep.SlotTimeFormat), 1)
				if string(f.Input) != want {
					t.Errorf("input %s, want %s", f.Input, want)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("firings %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSubstitute(t *testing.T) {
	s := Schedule{Name: "pol-web", TargetARN: "arn:aws:lambda:eu-west-1:123456789012:function:snap",
		Input: `{"a":"<aws.scheduler.scheduled-time>","b":"<aws.scheduler.schedule-arn>","c":"<aws.scheduler.attempt-number>","d":"<aws.scheduler.other>"}`}
	got := substitute(s, "snapkeep-local", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	want := `{"a":"2026-01-02T03:04:05Z","b":"arn:aws:scheduler:eu-west-1:123456789012:schedule/snapkeep-local/pol-web","c":"1","d":"<aws.scheduler.other>"}`
	if got != want {
		t.Errorf("substitute:\n got %s\nwant %s", got, want)
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{args: nil, code: 2, want: "usage"},
		{args: []string{"help"}, code: 0, want: "usage"},
		{args: []string{"down"}, code: 2, want: `unknown command "down"`},
		{args: []string{"up", "-nope"}, code: 2, want: "flag provided but not defined"},
		{args: []string{"demo", "extra"}, code: 2, want: "unexpected arguments"},
		{args: []string{"demo", "-nope"}, code: 2, want: "flag provided but not defined"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		if code := run(tt.args, &stdout, &stderr); code != tt.code || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("run(%q) = %d, stderr %q; want %d and %q", tt.args, code, stderr.String(), tt.code, tt.want)
		}
	}
}
