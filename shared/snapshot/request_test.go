package snapshot_test

import (
	"errors"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/snapshot"
)

func TestDecodeRequest(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind snapshot.Kind
		slot string
		bad  bool
	}{
		{in: `{"policy_id":"p","scheduled_time":"2026-11-24T03:00:00Z"}`, kind: snapshot.KindScheduled, slot: "2026-11-24T03:00:00Z"},
		{in: `{"policy_id":"p","scheduled_time":"2026-11-24T04:00:00+01:00"}`, kind: snapshot.KindScheduled, slot: "2026-11-24T03:00:00Z"},
		{in: `{"policy_id":"p"}`, kind: snapshot.KindOnDemand},
		{in: `{"policy_id":"p","scheduled_time":"2026-11-24T03:00:00Z","follow_up":true}`, kind: snapshot.KindFollowUp, slot: "2026-11-24T03:00:00Z"},
		{in: `{"sweep":true}`, kind: snapshot.KindSweep},
		{in: `{"policy_id":"p","scheduled_time":"2026-11-24T03:00:00Z","x":1}`, bad: true},
		{in: `{"policy_id":"p","follow_up":true}`, bad: true},
		{in: `{"policy_id":" p"}`, bad: true},
		{in: `{"scheduled_time":"2026-11-24T03:00:00Z"}`, bad: true},
		{in: `{"policy_id":"p","scheduled_time":"03:00"}`, bad: true},
		{in: `{"sweep":true,"policy_id":"p"}`, bad: true},
		{in: `{"sweep":false}`, bad: true},
		{in: `{"policy_id":"p"} {}`, bad: true},
		{in: `null`, bad: true},
		{in: ``, bad: true},
	} {
		req, err := snapshot.DecodeRequest([]byte(tc.in))
		if tc.bad {
			if !errors.Is(err, snapkeep.ErrInvalid) {
				t.Errorf("%s: err = %v, want ErrInvalid", tc.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if k, _ := req.Kind(); k != tc.kind {
			t.Errorf("%s: kind %s, want %s", tc.in, k, tc.kind)
		}
		if tc.slot != "" {
			slot, err := req.Slot()
			if err != nil || slot.Format(snapkeep.SlotTimeFormat) != tc.slot || slot.Location() != time.UTC {
				t.Errorf("%s: slot %v, %v", tc.in, slot, err)
			}
		}
	}
}

func TestSnapshotName(t *testing.T) {
	k := snapkeep.NewRunKey("pol-1", time.Date(2026, 11, 24, 3, 4, 5, 0, time.FixedZone("x", 3600)))
	if got := snapshot.SnapshotName(k); got != "snapkeep-pol-1-20261124T020405Z" {
		t.Errorf("SnapshotName = %q", got)
	}
}
