// Package lambdarun runs a real Lambda function binary (a Go "bootstrap"
// built for the host with -tags lambda.norpc) on the local machine, the way
// the provided.al2023 runtime runs it: the binary is started with
// AWS_LAMBDA_RUNTIME_API pointing at a loopback emulator of the Lambda
// Runtime API, long-polls it for invocations and posts back responses and
// errors. The binary runs unchanged; only the environment differs.
//
// Implemented endpoints (AWS Lambda Runtime API, version 2018-06-01):
//
//	GET  /2018-06-01/runtime/invocation/next             the next event, with
//	     Lambda-Runtime-Aws-Request-Id, Lambda-Runtime-Deadline-Ms,
//	     Lambda-Runtime-Invoked-Function-Arn and Lambda-Runtime-Trace-Id
//	POST /2018-06-01/runtime/invocation/{id}/response    202
//	POST /2018-06-01/runtime/invocation/{id}/error       202 (function error)
//	POST /2018-06-01/runtime/init/error                  202 (init failure)
//
// A Function is one Lambda execution environment: it handles one
// invocation at a time. Like Lambda, it starts the process on first use (and
// again after the process exited or was killed at a timeout); a process that
// exits or reports an init error before asking for its first event is an
// init failure.
package lambdarun

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/snapkeep/snapkeep/infra/proc"
)

// AccountID is the AWS account id in the functions' ARNs (moto's default
// account).
const AccountID = "123456789012"

// DefaultTimeout is the invocation timeout when Options.Timeout is zero
// (Lambda's default is 3 seconds; template.yaml's functions use 60).
const DefaultTimeout = 60 * time.Second

// DefaultInitTimeout is the init timeout when Options.InitTimeout is zero
// (Lambda's init phase limit).
const DefaultInitTimeout = 10 * time.Second

// Error types the emulator itself reports (the function reports its own).
const (
	// ErrorTypeTimeout is reported when an invocation exceeds the timeout;
	// the process is killed, as Lambda does.
	ErrorTypeTimeout = "Sandbox.Timedout"
	// ErrorTypeExit is reported when the process exits during an
	// invocation or before asking for its first event.
	ErrorTypeExit = "Runtime.ExitError"
)

// Options configures Start.
type Options struct {
	// Name is the function name (AWS_LAMBDA_FUNCTION_NAME, the ARN's last
	// part); required.
	Name string
	// Binary is the path of the function's bootstrap executable; required.
	Binary string
	// Env is the function's environment on top of what Lambda sets
	// (AWS_LAMBDA_*, AWS_REGION, TZ, ...); its values win. The caller's own
	// environment is NOT inherited, as in Lambda.
	Env map[string]string
	// Timeout bounds each invocation; 0 means DefaultTimeout.
	Timeout time.Duration
	// InitTimeout bounds the init (start until the first GET .../next); 0
	// means DefaultInitTimeout.
	InitTimeout time.Duration
	// MemoryMB is AWS_LAMBDA_FUNCTION_MEMORY_SIZE; 0 means 256.
	MemoryMB int
	// Stdout receives the process's stdout and stderr (the function's log
	// lines); nil discards them.
	Stdout io.Writer
}

// FunctionError is a failed invocation: an error the function reported
// (errorType/errorMessage as the runtime sent them, e.g. a returned error
// or a panic), an init failure, a process exit or a timeout.
type FunctionError struct {
	// Function is the function's name.
	Function string
	// RequestID is the invocation's request id ("" for an init failure).
	RequestID string
	// Type is the errorType, e.g. "errorString", "Runtime.ExitError",
	// "Sandbox.Timedout".
	Type string
	// Message is the errorMessage.
	Message string
	// StackTrace is the stackTrace the runtime reported, if any.
	StackTrace json.RawMessage
	// Init is true when the function failed before it could take the
	// invocation (init error or exit during init).
	Init bool
}

// Error implements error.
func (e *FunctionError) Error() string {
	phase := "invocation"
	if e.Init {
		phase = "init"
	}
	return fmt.Sprintf("lambda %s: %s failed: %s: %s", e.Function, phase, e.Type, e.Message)
}

// Function is a running function (one execution environment).
type Function struct {
	opts Options
	arn  string
	api  string // host:port of the Runtime API

	ln  net.Listener
	srv *http.Server

	// next hands invocations to the long-polling GET .../next.
	next chan *invocation

	// mu serialises Invoke and Close.
	mu sync.Mutex
	// pmu guards proc, which is written under mu too.
	pmu    sync.Mutex
	proc   *process
	closed bool
	done   chan struct{} // closed by Close

	// cur is the invocation handed to the process (guarded by curMu).
	curMu sync.Mutex
	cur   *invocation
}

// process is one run of the binary.
type process struct {
	cmd       *exec.Cmd
	exited    chan struct{}
	waitErr   error
	ready     chan struct{} // closed at its first GET .../next
	readyOnce sync.Once
	initErr   chan *FunctionError // an init/error post
	out       *proc.Tail
}

// invocation is one event on its way through the process.
type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	result   chan result
}

type result struct {
	body []byte
	err  *FunctionError
}

// Start starts the Runtime API emulator for the function and its process,
// and waits until the process asks for its first event (its init is done),
// bounded by the timeout and ctx. An init failure is returned as a
// *FunctionError with Init set; the function is then closed.
func Start(ctx context.Context, opts Options) (*Function, error) {
	if opts.Name == "" {
		return nil, errors.New("lambdarun: Options.Name is empty")
	}
	if opts.Binary == "" {
		return nil, fmt.Errorf("lambdarun: %s: Options.Binary is empty", opts.Name)
	}
	if _, err := os.Stat(opts.Binary); err != nil {
		return nil, fmt.Errorf("lambdarun: %s: %w", opts.Name, err)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.InitTimeout <= 0 {
		opts.InitTimeout = DefaultInitTimeout
	}
	if opts.MemoryMB <= 0 {
		opts.MemoryMB = 256
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lambdarun: %s: runtime API listener: %w", opts.Name, err)
	}
	f := &Function{
		opts: opts,
		arn:  "arn:aws:lambda:" + region(opts.Env) + ":" + AccountID + ":function:" + opts.Name,
		api:  ln.Addr().String(),
		ln:   ln,
		next: make(chan *invocation),
		done: make(chan struct{}),
	}
	f.srv = &http.Server{Handler: f.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()

	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ensureProcess(ctx); err != nil {
		f.closeLocked()
		return nil, err
	}
	return f, nil
}

// Name returns the function's name.
func (f *Function) Name() string { return f.opts.Name }

// ARN returns the function's ARN (arn:aws:lambda:<region>:123456789012:function:<name>).
func (f *Function) ARN() string { return f.arn }

// RuntimeAPI returns the host:port of the function's Runtime API emulator.
func (f *Function) RuntimeAPI() string { return f.api }

// Invoke runs one synchronous invocation (RequestResponse) with payload as
// the event and returns the function's response. A function error, a
// panic, an exit or a timeout is returned as a *FunctionError. Calls are
// serialised: one invocation at a time, like one Lambda execution
// environment. If ctx ends first the process is killed (its state is
// unknown) and ctx's error is returned.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, fmt.Errorf("lambdarun: %s: invoke after Close", f.opts.Name)
	}
	inv := &invocation{
		id:      newID(),
		payload: append([]byte(nil), payload...),
		result:  make(chan result, 1),
	}
	var p *process
	var timer *time.Timer
	// A process that exits before it takes the event (it was exiting after
	// a panic, say) never saw it: start a new one and hand it over again.
	for tries := 0; ; tries++ {
		if tries == 3 {
			return nil, f.exitError(p, inv.id, false)
		}
		if err := f.ensureProcess(ctx); err != nil {
			return nil, err
		}
		p = f.proc
		inv.deadline = time.Now().Add(f.opts.Timeout)
		if timer != nil {
			timer.Stop()
		}
		timer = time.NewTimer(f.opts.Timeout)
		handed := false
		select {
		case f.next <- inv:
			handed = true
		case <-p.exited:
		case <-timer.C:
			f.killLocked()
			return nil, f.timeoutError(inv.id)
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("lambdarun: %s: invoke: %w", f.opts.Name, ctx.Err())
		}
		if handed {
			break
		}
	}
	defer timer.Stop()
	select {
	case r := <-inv.result:
		f.setCurrent(nil)
		if r.err != nil {
			return nil, r.err
		}
		return r.body, nil
	case <-p.exited:
		f.setCurrent(nil)
		// The result may have been posted just before the exit.
		select {
		case r := <-inv.result:
			if r.err != nil {
				return nil, r.err
			}
			return r.body, nil
		default:
		}
		return nil, f.exitError(p, inv.id, false)
	case <-timer.C:
		f.setCurrent(nil)
		f.killLocked()
		return nil, f.timeoutError(inv.id)
	case <-ctx.Done():
		f.setCurrent(nil)
		f.killLocked()
		return nil, fmt.Errorf("lambdarun: %s: invoke %s: %w", f.opts.Name, inv.id, ctx.Err())
	}
}

// Close stops the process and the Runtime API emulator. It is safe to call
// more than once.
func (f *Function) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closeLocked()
	return nil
}

func (f *Function) closeLocked() {
	if f.closed {
		return
	}
	f.closed = true
	close(f.done)
	f.killLocked()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = f.srv.Shutdown(ctx)
	_ = f.srv.Close()
}

// ensureProcess starts the process unless a live one has finished its
// init, and waits for its first GET .../next.
func (f *Function) ensureProcess(ctx context.Context) error {
	if p := f.proc; p != nil {
		select {
		case <-p.exited:
		default:
			return nil
		}
	}
	p, err := f.startProcess()
	if err != nil {
		return err
	}
	timer := time.NewTimer(f.opts.InitTimeout)
	defer timer.Stop()
	select {
	case <-p.ready:
		return nil
	case e := <-p.initErr:
		f.killLocked()
		return e
	case <-p.exited:
		select {
		case e := <-p.initErr:
			return e
		default:
		}
		return f.exitError(p, "", true)
	case <-timer.C:
		f.killLocked()
		return &FunctionError{Function: f.opts.Name, Type: ErrorTypeTimeout, Init: true,
			Message: fmt.Sprintf("init did not finish within %s", f.opts.InitTimeout)}
	case <-ctx.Done():
		f.killLocked()
		return fmt.Errorf("lambdarun: %s: init: %w", f.opts.Name, ctx.Err())
	}
}

func (f *Function) startProcess() (*process, error) {
	out := proc.NewTail(16 << 10)
	w := out.Tee(f.opts.Stdout)
	cmd := exec.Command(f.opts.Binary)
	cmd.Dir = filepath.Dir(f.opts.Binary)
	cmd.Env = f.environ()
	cmd.Stdout = w
	cmd.Stderr = w
	cmd.SysProcAttr = sysProcAttr()
	p := &process{
		cmd:     cmd,
		exited:  make(chan struct{}),
		ready:   make(chan struct{}),
		initErr: make(chan *FunctionError, 1),
		out:     out,
	}
	// The process may call the API as soon as it starts: make it the
	// current one first.
	f.pmu.Lock()
	prev := f.proc
	f.proc = p
	f.pmu.Unlock()
	if err := cmd.Start(); err != nil {
		f.pmu.Lock()
		f.proc = prev
		f.pmu.Unlock()
		return nil, fmt.Errorf("lambdarun: %s: start %s: %w", f.opts.Name, f.opts.Binary, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// killLocked kills the current process, if any, and waits for it.
func (f *Function) killLocked() {
	p := f.proc
	if p == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// environ is the process's environment: what Lambda sets, then Options.Env.
func (f *Function) environ() []string {
	reg := region(f.opts.Env)
	env := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          f.api,
		"AWS_LAMBDA_FUNCTION_NAME":        f.opts.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(f.opts.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + f.opts.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + newID()[:32],
		"AWS_LAMBDA_LOG_FORMAT":           "JSON",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_EXECUTION_ENV":               "AWS_Lambda_provided.al2023",
		"AWS_REGION":                      reg,
		"AWS_DEFAULT_REGION":              reg,
		"LAMBDA_TASK_ROOT":                filepath.Dir(f.opts.Binary),
		"LAMBDA_RUNTIME_DIR":              filepath.Dir(f.opts.Binary),
		"_HANDLER":                        "bootstrap",
		"TZ":                              ":UTC",
		"LANG":                            "en_US.UTF-8",
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
	}
	for k, v := range f.opts.Env {
		env[k] = v
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+env[k])
	}
	return out
}

func region(env map[string]string) string {
	if r := env["AWS_REGION"]; r != "" {
		return r
	}
	if r := os.Getenv("AWS_REGION"); r != "" {
		return r
	}
	return "us-east-1"
}

func (f *Function) timeoutError(id string) *FunctionError {
	return &FunctionError{Function: f.opts.Name, RequestID: id, Type: ErrorTypeTimeout,
		Message: fmt.Sprintf("Task timed out after %.2f seconds", f.opts.Timeout.Seconds())}
}

func (f *Function) exitError(p *process, id string, init bool) *FunctionError {
	msg := "the process exited"
	if p.waitErr != nil {
		msg = "the process exited: " + p.waitErr.Error()
	} else {
		msg = "the process exited: exit status 0"
	}
	if last := lastLines(p.out.String(), 5); last != "" {
		msg += "; last output:\n" + last
	}
	return &FunctionError{Function: f.opts.Name, RequestID: id, Type: ErrorTypeExit, Message: msg, Init: init}
}

func (f *Function) setCurrent(inv *invocation) {
	f.curMu.Lock()
	f.cur = inv
	f.curMu.Unlock()
}

// take returns the current invocation if its id is id, and clears it.
func (f *Function) take(id string) *invocation {
	f.curMu.Lock()
	defer f.curMu.Unlock()
	if f.cur == nil || f.cur.id != id {
		return nil
	}
	inv := f.cur
	f.cur = nil
	return inv
}

// ---------------------------------------------------------------- the API

const apiPrefix = "/2018-06-01/runtime/"

// maxResponse is Lambda's limit of a synchronous response payload.
const maxResponse = 6 << 20

func (f *Function) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPrefix+"invocation/next", f.serveNext)
	mux.HandleFunc("POST "+apiPrefix+"invocation/{id}/response", f.serveResponse)
	mux.HandleFunc("POST "+apiPrefix+"invocation/{id}/error", f.serveError)
	mux.HandleFunc("POST "+apiPrefix+"init/error", f.serveInitError)
	return mux
}

func (f *Function) serveNext(w http.ResponseWriter, r *http.Request) {
	if p := f.currentProc(); p != nil {
		p.readyOnce.Do(func() { close(p.ready) })
	}
	select {
	case inv := <-f.next:
		f.setCurrent(inv)
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", f.arn)
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-"+strconv.FormatInt(time.Now().Unix(), 16)+"-"+newID()[:24]+";Parent="+newID()[:16]+";Sampled=0")
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.payload)
	case <-r.Context().Done():
	case <-f.done:
		http.Error(w, `{"errorMessage":"the function is shutting down","errorType":"Runtime.Shutdown"}`, http.StatusGone)
	}
}

// currentProc returns the process Invoke or Start is working with (the
// API handlers cannot take f.mu: Invoke holds it while it waits).
func (f *Function) currentProc() *process {
	f.pmu.Lock()
	defer f.pmu.Unlock()
	return f.proc
}

func (f *Function) serveResponse(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponse+1))
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequest", "read the response: "+err.Error())
		return
	}
	inv := f.take(r.PathValue("id"))
	if inv == nil {
		apiError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation in flight has request id "+r.PathValue("id"))
		return
	}
	if len(body) > maxResponse {
		inv.result <- result{err: &FunctionError{Function: f.opts.Name, RequestID: inv.id, Type: "Function.ResponseSizeTooLarge",
			Message: fmt.Sprintf("response payload size exceeded maximum allowed payload size (%d bytes)", maxResponse)}}
		apiError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "response too large")
		return
	}
	inv.result <- result{body: body}
	accepted(w)
}

func (f *Function) serveError(w http.ResponseWriter, r *http.Request) {
	fe := readError(r)
	inv := f.take(r.PathValue("id"))
	if inv == nil {
		apiError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation in flight has request id "+r.PathValue("id"))
		return
	}
	fe.Function, fe.RequestID = f.opts.Name, inv.id
	inv.result <- result{err: fe}
	accepted(w)
}

func (f *Function) serveInitError(w http.ResponseWriter, r *http.Request) {
	fe := readError(r)
	fe.Function, fe.Init = f.opts.Name, true
	if p := f.currentProc(); p != nil {
		select {
		case p.initErr <- fe:
		default:
		}
	}
	accepted(w)
}

// readError reads an error post: a JSON {errorMessage, errorType,
// stackTrace} body; the Lambda-Runtime-Function-Error-Type header names
// the type when the body does not.
func readError(r *http.Request) *FunctionError {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxResponse))
	var doc struct {
		Message    string          `json:"errorMessage"`
		Type       string          `json:"errorType"`
		StackTrace json.RawMessage `json:"stackTrace"`
	}
	fe := &FunctionError{}
	if err := json.Unmarshal(body, &doc); err == nil {
		fe.Type, fe.Message, fe.StackTrace = doc.Type, doc.Message, doc.StackTrace
	} else {
		fe.Message = strings.TrimSpace(string(body))
	}
	if fe.Type == "" {
		fe.Type = r.Header.Get("Lambda-Runtime-Function-Error-Type")
	}
	if fe.Type == "" {
		fe.Type = "Unhandled"
	}
	return fe
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorType": typ, "errorMessage": msg})
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
