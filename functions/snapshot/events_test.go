package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/snapshot"
)

// TestSampleEvents decodes every sample in events/snapshot into the
// handler's input type, unknown fields rejected.
func TestSampleEvents(t *testing.T) {
	want := map[string]snapshot.Kind{
		"scheduled.json": snapshot.KindScheduled,
		"on-demand.json": snapshot.KindOnDemand,
		"follow-up.json": snapshot.KindFollowUp,
		"sweep.json":     snapshot.KindSweep,
	}
	files, err := filepath.Glob("../../events/snapshot/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(want) {
		t.Errorf("events/snapshot has %d samples, want %d", len(files), len(want))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			req, err := snapshot.DecodeRequest(raw)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			kind, err := req.Kind()
			if err != nil || kind != want[filepath.Base(f)] {
				t.Errorf("kind = %q, %v; want %q", kind, err, want[filepath.Base(f)])
			}
		})
	}
	raw, err := os.ReadFile("../../shared/snapshot/testdata/bad-unknown-field.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snapshot.DecodeRequest(raw); !errors.Is(err, snapkeep.ErrInvalid) {
		t.Errorf("a sample with an unknown field decoded: err = %v", err)
	}
}
