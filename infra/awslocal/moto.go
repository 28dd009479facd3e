// Package awslocal is snapkeep's local AWS stack: it starts moto in server
// mode (moto_server), builds an aws.Config for it through the same code path
// production uses, and creates the stack's DynamoDB tables by reading them
// from template.yaml, so that local tables cannot drift from deployed ones.
//
// Test helpers built on it live in infra/awslocal/awstest.
package awslocal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/snapkeep/snapkeep/infra/proc"
)

// MotoCommand is the name of moto's server executable.
const MotoCommand = "moto_server"

// InstallHint says how to install the local stack's Python tools.
const InstallHint = "install the pinned tools with `make tools` or `python3 -m pip install -r infra/requirements.txt` (moto[server])"

// ErrMotoNotFound is returned (wrapped) by StartMoto when moto_server is not
// on PATH.
var ErrMotoNotFound = errors.New(MotoCommand + " not found on PATH")

// Options configures StartMoto. The zero value is ready to use.
type Options struct {
	// Command is the moto server executable; "" looks up moto_server on PATH.
	Command string
	// Port is the loopback port to listen on; 0 picks a free one.
	Port int
	// StartTimeout bounds the wait until moto answers; 0 means 60s.
	StartTimeout time.Duration
	// Output, if set, also receives moto's stdout and stderr.
	Output io.Writer
}

// Moto is a running moto_server process.
type Moto struct {
	// Endpoint is the server's base URL, e.g. http://127.0.0.1:41234.
	Endpoint string

	cmd      *exec.Cmd
	out      *proc.Tail
	done     chan struct{}
	waitErr  error
	stopOnce sync.Once
}

// StartMoto starts moto_server on a free loopback port and waits (bounded by
// Options.StartTimeout and ctx) until it answers HTTP. The error explains how
// to install moto when moto_server is not on PATH or fails to start, and
// then carries moto's output. Stop the server with Stop.
func StartMoto(ctx context.Context, opts Options) (*Moto, error) {
	command := opts.Command
	if command == "" {
		command = MotoCommand
	}
	path, err := exec.LookPath(command)
	if err != nil {
		return nil, fmt.Errorf("start moto: %w (%v); %s", ErrMotoNotFound, err, InstallHint)
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	if opts.Port != 0 {
		// Something else answering HTTP there would pass for moto.
		if err := portFree(opts.Port); err != nil {
			return nil, fmt.Errorf("start moto: %w", err)
		}
	}
	// A free port can be taken between picking and binding; retry a few times.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := opts.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return nil, fmt.Errorf("start moto: %w", err)
			}
		}
		m, err := startMoto(ctx, path, port, opts.Output)
		if err == nil {
			return m, nil
		}
		lastErr = err
		if opts.Port != 0 || ctx.Err() != nil || !strings.Contains(err.Error(), "Address already in use") {
			break
		}
	}
	return nil, lastErr
}

func startMoto(ctx context.Context, path string, port int, extra io.Writer) (*Moto, error) {
	out := proc.NewTail(64 << 10)
	w := out.Tee(extra)
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout = w
	cmd.Stderr = w
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
	cmd.SysProcAttr = sysProcAttr()
	// A child that outlives moto keeps the output pipe open; do not let
	// that hold Wait (and Stop) after moto itself has exited.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto: %s: %w", path, err)
	}
	m := &Moto{
		Endpoint: "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		cmd:      cmd,
		out:      out,
		done:     make(chan struct{}),
	}
	go func() {
		m.waitErr = cmd.Wait()
		close(m.done)
	}()
	if err := m.waitReady(ctx); err != nil {
		m.Stop()
		return nil, fmt.Errorf("start moto on port %d: %w (if moto is broken or half installed, %s); moto output:\n%s", port, err, InstallHint, out.String())
	}
	return m, nil
}

// Ping checks that a moto server answers at endpoint: it asks moto's own
// API (GET /moto-api/data.json) and expects 200 OK.
func Ping(ctx context.Context, endpoint string) error {
	client := &http.Client{Timeout: 5 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(endpoint, "/")+"/moto-api/data.json", nil)
	if err != nil {
		return fmt.Errorf("ping moto at %q: %w", endpoint, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("ping moto at %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping moto at %s: GET /moto-api/data.json: %s (is it moto?)", endpoint, resp.Status)
	}
	return nil
}

// waitReady polls the server until it answers HTTP, the process exits or ctx
// ends.
func (m *Moto) waitReady(ctx context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.Endpoint+"/moto-api/reset-auth", nil)
		if err != nil {
			return err
		}
		// Any HTTP answer means the server is up; reset-auth only acts on
		// POST, so a GET is harmless and cheap (data.json can be large).
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-m.done:
			return fmt.Errorf("moto_server exited before answering: %v", m.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("moto_server did not answer: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// Output returns the last 64 KiB of moto's stdout and stderr.
func (m *Moto) Output() string { return m.out.String() }

// Stop terminates moto's process group: SIGTERM, then SIGKILL after 5s if
// moto has not exited, then SIGKILL to whatever else of the group outlives
// it (children of moto or of a wrapper script). It waits for moto itself to
// exit and is safe to call more than once.
func (m *Moto) Stop() {
	m.stopOnce.Do(func() {
		terminate(m.cmd)
		select {
		case <-m.done:
		case <-time.After(5 * time.Second):
			kill(m.cmd)
			<-m.done
		}
		kill(m.cmd)
	})
}

// ErrPortInUse is returned (wrapped) by StartMoto when Options.Port is
// taken by another program.
var ErrPortInUse = errors.New("port in use")

// portFree says whether port can be listened on at 127.0.0.1.
func portFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("127.0.0.1:%d: %w by another program (%v)", port, ErrPortInUse, err)
	}
	return l.Close()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
