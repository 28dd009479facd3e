package clockfile

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)

func writeClock(t *testing.T, at time.Time) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "clock")
	if err := Write(path, at); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFromEnv(t *testing.T) {
	path := writeClock(t, t0)
	bad := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(bad, []byte("half past three\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      map[string]string
		wantNil  bool
		wantErr  string
		wantTime time.Time
	}{
		{name: "unset: the real clock", env: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, wantNil: true},
		{name: "blank: the real clock", env: map[string]string{EnvVar: "  "}, wantNil: true},
		{name: "no endpoint: refused", env: map[string]string{EnvVar: path}, wantErr: "AWS_ENDPOINT_URL is not set"},
		{name: "AWS itself: refused", env: map[string]string{EnvVar: path, "AWS_ENDPOINT_URL": "https://dynamodb.us-east-1.amazonaws.com"}, wantErr: "not a loopback address"},
		{name: "a LAN host: refused", env: map[string]string{EnvVar: path, "AWS_ENDPOINT_URL": "http://10.0.0.7:5000"}, wantErr: "not a loopback address"},
		{name: "not a URL: refused", env: map[string]string{EnvVar: path, "AWS_ENDPOINT_URL": "127.0.0.1:5000"}, wantErr: "not an http(s) URL"},
		{name: "moto on loopback", env: map[string]string{EnvVar: path, "AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, wantTime: t0},
		{name: "moto on localhost", env: map[string]string{EnvVar: path, "AWS_ENDPOINT_URL": "http://localhost:5000"}, wantTime: t0},
		{name: "moto on ::1", env: map[string]string{EnvVar: path, "AWS_ENDPOINT_URL": "http://[::1]:5000"}, wantTime: t0},
		{name: "missing file", env: map[string]string{EnvVar: path + ".gone", "AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, wantErr: "no such file"},
		{name: "not a time", env: map[string]string{EnvVar: bad, "AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, wantErr: "is not an RFC 3339 time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromEnv(func(k string) string { return tt.env[k] })
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("FromEnv: %v, want an error saying %q", err, tt.wantErr)
				}
				if strings.Contains(tt.wantErr, "loopback") || strings.Contains(tt.wantErr, "AWS_ENDPOINT_URL") {
					if !strings.Contains(err.Error(), "unset "+EnvVar) {
						t.Errorf("error %q does not say to unset %s", err, EnvVar)
					}
				}
			case tt.wantNil:
				if err != nil || c != nil {
					t.Fatalf("FromEnv = %v, %v; want nil, nil", c, err)
				}
				if c.NowFunc() != nil || c.SleepFunc() != nil {
					t.Error("a nil Clock's NowFunc and SleepFunc are not nil")
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if got := c.Now(); got.Before(tt.wantTime) || got.Sub(tt.wantTime) > time.Minute {
					t.Errorf("Now = %s, want about %s", got, tt.wantTime)
				}
			}
		})
	}
}

// fakeWall is a wall clock the test moves.
type fakeWall struct{ t time.Time }

func (w *fakeWall) now() time.Time { return w.t }

func TestNowRunsOnFromTheFileAndSleepWaitsNothing(t *testing.T) {
	path := writeClock(t, t0)
	wall := &fakeWall{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := &Clock{path: path, wall: wall.now}
	if err := c.Refresh(); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name  string
		do    func()
		want  time.Time
		write time.Time // the runner moves the clock (zero: not)
	}{
		{name: "as read", do: func() {}, want: t0},
		{name: "80 ms of wall time pass", do: func() { wall.t = wall.t.Add(80 * time.Millisecond) }, want: t0.Add(80 * time.Millisecond)},
		{name: "a 2 s backoff is slept", do: func() { _ = c.Sleep(context.Background(), 2*time.Second) }, want: t0.Add(2080 * time.Millisecond)},
		{name: "a negative sleep changes nothing", do: func() { _ = c.Sleep(context.Background(), -time.Second) }, want: t0.Add(2080 * time.Millisecond)},
		{name: "the next invocation starts from the file", write: t0.Add(time.Hour), do: func() { _ = c.Refresh() }, want: t0.Add(time.Hour)},
	}
	for _, s := range steps {
		if !s.write.IsZero() {
			if err := Write(path, s.write); err != nil {
				t.Fatal(err)
			}
		}
		s.do()
		if got := c.Now(); !got.Equal(s.want) {
			t.Errorf("%s: Now = %s, want %s", s.name, got.Format(time.RFC3339Nano), s.want.Format(time.RFC3339Nano))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Second); err == nil {
		t.Error("Sleep on a done context returned nil")
	}
}

func TestHandlerRefreshesAtEachInvocation(t *testing.T) {
	path := writeClock(t, t0)
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var seen []time.Time
	h := c.Handler(func(ctx context.Context, in json.RawMessage) (string, error) {
		seen = append(seen, c.Now().Truncate(time.Second))
		return "ok", nil
	})
	invoke := h.(interface {
		Invoke(context.Context, []byte) ([]byte, error)
	}).Invoke
	for _, at := range []time.Time{t0.Add(time.Minute), t0.Add(2 * time.Hour)} {
		if err := Write(path, at); err != nil {
			t.Fatal(err)
		}
		out, err := invoke(context.Background(), []byte(`{}`))
		if err != nil || string(out) != `"ok"` {
			t.Fatalf("Invoke = %s, %v", out, err)
		}
	}
	want := []time.Time{t0.Add(time.Minute), t0.Add(2 * time.Hour)}
	if len(seen) != 2 || !seen[0].Equal(want[0]) || !seen[1].Equal(want[1]) {
		t.Errorf("the handler saw %v, want %v", seen, want)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := invoke(context.Background(), []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "virtual clock") {
		t.Errorf("Invoke without a clock file: %v, want a virtual clock error", err)
	}
}

func TestNilClockLeavesTheHandlerAlone(t *testing.T) {
	var c *Clock
	h := func(context.Context) error { return nil }
	if got, ok := c.Handler(h).(func(context.Context) error); !ok || got == nil {
		t.Errorf("a nil Clock's Handler wrapped the handler: %T", c.Handler(h))
	}
}

func TestReadRefusesWhatIsNotOneTime(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, want string
	}{
		{name: "empty", content: "", want: "EOF"},
		{name: "too long", content: strings.Repeat("9", maxFileBytes+1), want: "more than"},
		{name: "two lines", content: "2026-11-24T03:00:00Z\n2026-11-24T04:00:00Z\n", want: "not an RFC 3339 time"},
	}
	for _, tt := range tests {
		path := filepath.Join(dir, tt.name)
		if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(path); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Read: %v, want %q", tt.name, err, tt.want)
		}
	}
	if got, err := Read(writeClock(t, t0.Add(time.Nanosecond))); err != nil || !got.Equal(t0.Add(time.Nanosecond)) {
		t.Errorf("Read after Write = %s, %v; want %s to the nanosecond", got, err, t0.Add(time.Nanosecond))
	}
}
