package awslocal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// sharedMoto serves the package's tests that need a running moto.
var sharedMoto *Moto

func TestMain(m *testing.M) {
	moto, err := StartMoto(context.Background(), Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "awslocal tests: FAIL: %v\n", err)
		os.Exit(1)
	}
	sharedMoto = moto
	code := m.Run()
	moto.Stop()
	os.Exit(code)
}

func TestStartMotoMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	m, err := StartMoto(context.Background(), Options{})
	if err == nil {
		m.Stop()
		t.Fatal("StartMoto succeeded without moto_server on PATH")
	}
	if !errors.Is(err, ErrMotoNotFound) {
		t.Errorf("error %v does not wrap ErrMotoNotFound", err)
	}
	for _, want := range []string{"moto_server not found on PATH", "make tools", "python3 -m pip install -r infra/requirements.txt"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// writeScript writes an executable shell script standing in for moto_server.
func writeScript(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake_moto_server")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestStartMotoExitsEarly(t *testing.T) {
	t.Parallel()
	script := writeScript(t, `echo "ImportError: No module named flask_cors" >&2; exit 3`)
	m, err := StartMoto(context.Background(), Options{Command: script})
	if err == nil {
		m.Stop()
		t.Fatal("StartMoto succeeded with a server that exits")
	}
	for _, want := range []string{"exited before answering", "exit status 3", "No module named flask_cors", "python3 -m pip install -r infra/requirements.txt"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestStartMotoNeverAnswers(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The script and its child (sleep) must both die: Stop kills the group.
	script := writeScript(t, `sleep 300 & echo $! > `+pidFile+`; echo "starting"; wait`)
	_, err := StartMoto(context.Background(), Options{Command: script, StartTimeout: 500 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "did not answer") || !strings.Contains(err.Error(), "starting") || !strings.Contains(err.Error(), "make tools") {
		t.Fatalf("StartMoto error = %v, want one saying it did not answer, with its output and how to install moto", err)
	}
	raw, rerr := os.ReadFile(pidFile)
	if rerr != nil {
		t.Fatal(rerr)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	assertGone(t, pid)
}

// assertGone checks that process pid dies soon (a zombie awaiting its
// reaper counts as gone). Signals are delivered asynchronously, so it waits
// for that, boundedly, rather than asserting at once.
func assertGone(t *testing.T, pid int) {
	t.Helper()
	if pid <= 0 {
		t.Fatalf("bad pid %d", pid)
	}
	for range 1000 {
		if gone(pid) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("process %d still runs 10s after Stop", pid)
}

func gone(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// Field 3 of /proc/<pid>/stat is the state; Z is a zombie.
	if f := strings.Fields(string(stat)); len(f) > 2 && f[2] == "Z" {
		return true
	}
	return syscall.Kill(pid, 0) != nil
}

func TestStartMotoAndStop(t *testing.T) {
	t.Parallel()
	m, err := StartMoto(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	if !strings.HasPrefix(m.Endpoint, "http://127.0.0.1:") || m.Endpoint == sharedMoto.Endpoint {
		t.Errorf("endpoint %q (shared moto %q)", m.Endpoint, sharedMoto.Endpoint)
	}
	cfg, err := Config(context.Background(), m.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dynamodb.NewFromConfig(cfg).ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("moto does not answer DynamoDB: %v", err)
	}
	if !strings.Contains(m.Output(), "Running on http://127.0.0.1") {
		t.Errorf("moto output not captured: %q", m.Output())
	}
	pid := m.cmd.Process.Pid
	m.Stop()
	m.Stop() // twice is fine
	assertGone(t, pid)
}

// TestStartMotoPortInUse: a fixed port held by another server is refused
// before moto starts (that server would answer the readiness check and
// pass for moto).
func TestStartMotoPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	m, err := StartMoto(context.Background(), Options{Command: "true", Port: port})
	if err == nil {
		m.Stop()
		t.Fatal("StartMoto on a port in use succeeded")
	}
	if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Errorf("error %q: want ErrPortInUse naming the port", err)
	}
}
