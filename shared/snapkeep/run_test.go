package snapkeep

import (
	"testing"
	"time"
)

// TestRunAwaitHold checks the two unfinished states a run is written in:
// waiting with no owner, and held by an attempt; both due at a whole
// second, in UTC, and in the run's shard of the unfinished index.
func TestRunAwaitHold(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	lease := time.Date(2026, 11, 24, 3, 6, 0, 0, time.UTC)
	tests := []struct {
		name      string
		act       func(*Run)
		wantNext  time.Time
		wantLease *time.Time
		wantFor   LeasePurpose
	}{
		{name: "await rounds up", act: func(r *Run) { r.Await(time.Date(2026, 11, 24, 3, 4, 5, 1, time.UTC)) },
			wantNext: time.Date(2026, 11, 24, 3, 4, 6, 0, time.UTC)},
		{name: "await keeps a whole second", act: func(r *Run) { r.Await(time.Date(2026, 11, 24, 4, 4, 5, 0, berlin)) },
			wantNext: time.Date(2026, 11, 24, 3, 4, 5, 0, time.UTC)},
		{name: "hold", act: func(r *Run) { r.Hold(LeaseCheck, lease.Add(-time.Millisecond).In(berlin)) },
			wantNext: lease, wantLease: ptr(lease.Add(-time.Millisecond)), wantFor: LeaseCheck},
		{name: "await releases a hold", act: func(r *Run) { r.Hold(LeaseRequest, lease); r.Await(lease) },
			wantNext: lease},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Run{RunID: "pol-1#2026-11-24T03:00:00Z"}
			tt.act(r)
			if r.NextCheckAt == nil || !r.NextCheckAt.Equal(tt.wantNext) || r.NextCheckAt.Location() != time.UTC {
				t.Errorf("NextCheckAt = %v, want %v UTC", r.NextCheckAt, tt.wantNext)
			}
			switch {
			case tt.wantLease == nil && r.LeaseUntil != nil:
				t.Errorf("LeaseUntil = %v, want none", r.LeaseUntil)
			case tt.wantLease != nil && (r.LeaseUntil == nil || !r.LeaseUntil.Equal(*tt.wantLease) || r.LeaseUntil.Location() != time.UTC):
				t.Errorf("LeaseUntil = %v, want %v UTC", r.LeaseUntil, tt.wantLease)
			}
			if r.LeaseFor != tt.wantFor {
				t.Errorf("LeaseFor = %q, want %q", r.LeaseFor, tt.wantFor)
			}
			if r.Unfinished != UnfinishedKey(r.RunID) {
				t.Errorf("Unfinished = %q, want %q", r.Unfinished, UnfinishedKey(r.RunID))
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
