package lambdarun_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/infra/lambdarun"
)

var testBinary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "lambdarun-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	testBinary = filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", testBinary, "./testdata/testfn")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the test function: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

type reply struct {
	Text       string `json:"text"`
	RequestID  string `json:"request_id"`
	ARN        string `json:"arn"`
	DeadlineMS int64  `json:"deadline_ms"`
	Name       string `json:"function_name"`
	LogFormat  string `json:"log_format"`
	Extra      string `json:"extra"`
	Home       string `json:"home"`
	PID        int    `json:"pid"`
}

// syncBuffer is a bytes.Buffer safe for the process's writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t *testing.T, opts lambdarun.Options) *lambdarun.Function {
	t.Helper()
	if opts.Name == "" {
		opts.Name = "testfn"
	}
	opts.Binary = testBinary
	f, err := lambdarun.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func invoke(t *testing.T, f *lambdarun.Function, event string) reply {
	t.Helper()
	out, err := f.Invoke(context.Background(), []byte(event))
	if err != nil {
		t.Fatalf("Invoke(%s): %v", event, err)
	}
	var r reply
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("Invoke(%s): response %q: %v", event, out, err)
	}
	return r
}

func TestInvokeResponse(t *testing.T) {
	t.Setenv("HOME", "/home/should-not-leak")
	f := start(t, lambdarun.Options{
		Name:    "snapkeep-test",
		Env:     map[string]string{"TESTFN_EXTRA": "from-options", "AWS_REGION": "eu-west-1"},
		Timeout: 30 * time.Second,
	})
	if want := "arn:aws:lambda:eu-west-1:123456789012:function:snapkeep-test"; f.ARN() != want {
		t.Errorf("ARN() = %q, want %q", f.ARN(), want)
	}
	before := time.Now()
	r := invoke(t, f, `{"do":"echo","text":"hello"}`)
	if r.Text != "hello" {
		t.Errorf("text = %q, want hello", r.Text)
	}
	if len(r.RequestID) != 36 {
		t.Errorf("request id = %q, want a UUID", r.RequestID)
	}
	if r.ARN != f.ARN() {
		t.Errorf("invoked function ARN = %q, want %q", r.ARN, f.ARN())
	}
	dl := time.UnixMilli(r.DeadlineMS)
	if dl.Before(before) || dl.After(before.Add(31*time.Second)) {
		t.Errorf("deadline %v not within the 30s timeout after %v", dl, before)
	}
	if r.Name != "snapkeep-test" || r.LogFormat != "JSON" || r.Extra != "from-options" {
		t.Errorf("environment: name %q, log format %q, extra %q", r.Name, r.LogFormat, r.Extra)
	}
	if r.Home != "" {
		t.Errorf("HOME = %q: the caller's environment leaked into the function", r.Home)
	}
	r2 := invoke(t, f, `{"do":"echo","text":"again"}`)
	if r2.PID != r.PID {
		t.Errorf("second invocation ran in process %d, first in %d: want one warm process", r2.PID, r.PID)
	}
	if r2.RequestID == r.RequestID {
		t.Errorf("two invocations share request id %s", r.RequestID)
	}
}

func TestInvokeFailures(t *testing.T) {
	tests := []struct {
		name        string
		event       string
		timeout     time.Duration
		wantType    string
		wantMessage string
		wantStack   bool
		// restarted: the next invocation runs in a new process.
		restarted bool
	}{
		{name: "returned error", event: `{"do":"error"}`, wantType: "errorString", wantMessage: "the snapshot could not be taken"},
		{name: "panic", event: `{"do":"panic"}`, wantType: "string", wantMessage: "something broke", wantStack: true, restarted: true},
		{name: "exit", event: `{"do":"exit"}`, wantType: lambdarun.ErrorTypeExit, wantMessage: "exit status 4", restarted: true},
		{name: "timeout", event: `{"do":"sleep","ms":60000}`, timeout: 2 * time.Second, wantType: lambdarun.ErrorTypeTimeout, wantMessage: "Task timed out after 2.00 seconds", restarted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t, lambdarun.Options{Timeout: tt.timeout})
			first := invoke(t, f, `{"do":"echo"}`)
			_, err := f.Invoke(context.Background(), []byte(tt.event))
			var fe *lambdarun.FunctionError
			if !errors.As(err, &fe) {
				t.Fatalf("Invoke: error %v (%T), want a *FunctionError", err, err)
			}
			if fe.Type != tt.wantType || !strings.Contains(fe.Message, tt.wantMessage) {
				t.Errorf("error type %q message %q, want %q containing %q", fe.Type, fe.Message, tt.wantType, tt.wantMessage)
			}
			if fe.Init {
				t.Errorf("Init = true for an invocation failure")
			}
			if fe.RequestID == "" || fe.Function != "testfn" {
				t.Errorf("request id %q, function %q", fe.RequestID, fe.Function)
			}
			if got := len(fe.StackTrace) > 0; got != tt.wantStack {
				t.Errorf("stack trace present = %v, want %v", got, tt.wantStack)
			}
			next := invoke(t, f, `{"do":"echo","text":"after"}`)
			if next.Text != "after" {
				t.Errorf("invocation after the failure answered %q", next.Text)
			}
			if got := next.PID != first.PID; got != tt.restarted {
				t.Errorf("new process after the failure = %v, want %v", got, tt.restarted)
			}
		})
	}
}

func TestInitFailure(t *testing.T) {
	tests := []struct {
		name, init, wantType string
		wantMessage          []string
	}{
		{name: "exits", init: "exit", wantType: lambdarun.ErrorTypeExit, wantMessage: []string{"exit status 3", "missing configuration FOO"}},
		{name: "reports init error", init: "report", wantType: "Config.Missing", wantMessage: []string{"cannot load configuration"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := &syncBuffer{}
			f, err := lambdarun.Start(context.Background(), lambdarun.Options{
				Name: "broken", Binary: testBinary, Env: map[string]string{"TESTFN_INIT": tt.init}, Stdout: out,
			})
			if f != nil {
				f.Close()
			}
			var fe *lambdarun.FunctionError
			if !errors.As(err, &fe) {
				t.Fatalf("Start: error %v (%T), want a *FunctionError", err, err)
			}
			if !fe.Init || fe.Type != tt.wantType || fe.Function != "broken" {
				t.Errorf("error %+v, want an init error of type %q", fe, tt.wantType)
			}
			for _, w := range tt.wantMessage {
				if !strings.Contains(fe.Message, w) {
					t.Errorf("message %q does not contain %q", fe.Message, w)
				}
			}
			if tt.init == "exit" && !strings.Contains(out.String(), "missing configuration FOO") {
				t.Errorf("Stdout did not receive the process's output: %q", out.String())
			}
		})
	}
}

func TestCloseStopsProcess(t *testing.T) {
	f := start(t, lambdarun.Options{})
	r := invoke(t, f, `{"do":"echo"}`)
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := syscall.Kill(r.PID, 0); err == nil {
		t.Errorf("process %d still exists after Close", r.PID)
	}
	if _, err := f.Invoke(context.Background(), []byte(`{}`)); err == nil {
		t.Errorf("Invoke after Close: no error")
	}
	f.Close() // a second Close is harmless
}

func TestStartErrors(t *testing.T) {
	tests := []struct {
		name string
		opts lambdarun.Options
	}{
		{name: "no name", opts: lambdarun.Options{Binary: "/bin/true"}},
		{name: "no binary", opts: lambdarun.Options{Name: "x"}},
		{name: "missing binary", opts: lambdarun.Options{Name: "x", Binary: filepath.Join(t.TempDir(), "bootstrap")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := lambdarun.Start(context.Background(), tt.opts)
			if err == nil {
				f.Close()
				t.Fatalf("Start(%+v): no error", tt.opts)
			}
		})
	}
}
