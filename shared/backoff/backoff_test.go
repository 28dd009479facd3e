package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestWait(t *testing.T) {
	p := Policy{Attempts: 5, Base: 200 * time.Millisecond, Max: time.Second}
	tests := []struct {
		n      int
		jitter float64
		want   time.Duration
	}{
		{n: 1, jitter: 0, want: 100 * time.Millisecond},
		{n: 1, jitter: 1, want: 200 * time.Millisecond},
		{n: 2, jitter: 0.5, want: 300 * time.Millisecond},
		{n: 3, jitter: 1, want: 800 * time.Millisecond},
		{n: 4, jitter: 1, want: time.Second}, // capped
		{n: 9, jitter: 0, want: 500 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := p.Wait(tt.n, func() float64 { return tt.jitter }); got != tt.want {
			t.Errorf("Wait(%d, jitter %g) = %s, want %s", tt.n, tt.jitter, got, tt.want)
		}
	}
}

func TestOr(t *testing.T) {
	def := Policy{Attempts: 4, Base: time.Second, Max: 8 * time.Second}
	tests := []struct {
		name string
		p    Policy
		want Policy
	}{
		{name: "zero is the default", p: Policy{}, want: def},
		{name: "a missing base", p: Policy{Attempts: 2}, want: Policy{Attempts: 2, Base: time.Second, Max: time.Second}},
		{name: "max below base", p: Policy{Attempts: 3, Base: 2 * time.Second, Max: time.Second}, want: Policy{Attempts: 3, Base: 2 * time.Second, Max: 2 * time.Second}},
		{name: "complete", p: Policy{Attempts: 3, Base: time.Millisecond, Max: time.Minute}, want: Policy{Attempts: 3, Base: time.Millisecond, Max: time.Minute}},
	}
	for _, tt := range tests {
		if got := tt.p.Or(def); got != tt.want {
			t.Errorf("%s: %+v.Or = %+v, want %+v", tt.name, tt.p, got, tt.want)
		}
	}
}

func TestSleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep on a cancelled context = %v, want context.Canceled", err)
	}
	if err := Sleep(context.Background(), time.Microsecond); err != nil {
		t.Errorf("Sleep = %v", err)
	}
}
