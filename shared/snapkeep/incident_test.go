package snapkeep

import (
	"slices"
	"testing"
	"time"
)

// TestIncidentCoversAndExplains: Explains is the dimension and class rule
// alone; Covers adds that the incident is still open.
func TestIncidentCoversAndExplains(t *testing.T) {
	open := func(dim Dimension) *Incident {
		return &Incident{Kind: IncidentProvider, Dimension: dim, Class: ClassProviderError, State: IncidentFiring}
	}
	resolvedIn := func(dim Dimension) *Incident {
		i := open(dim)
		i.State = IncidentResolved
		return i
	}
	droplet := &Run{Status: RunFailed, ErrorClass: ClassProviderError, Resource: Resource{Kind: ResourceDroplet, ID: "1", Region: "nyc3"}}
	retrying := &Run{Status: RunInProgress, RetryClass: ClassNetwork, Resource: Resource{Kind: ResourceDroplet, ID: "1", Region: "nyc3"}}
	volume := &Run{Status: RunFailed, ErrorClass: ClassTimedOut, Resource: Resource{Kind: ResourceVolume, ID: "v", Region: "ams3"}}
	revoked := &Run{Status: RunFailed, ErrorClass: ClassAuthRevoked, Resource: Resource{Kind: ResourceDroplet, ID: "1", Region: "nyc3"}}
	succeeded := &Run{Status: RunSucceeded, Resource: Resource{Kind: ResourceDroplet, ID: "1", Region: "nyc3"}}
	pipeline := open(DimensionAll)
	pipeline.Kind = IncidentPipeline
	resolvedPipeline := resolvedIn(DimensionAll)
	resolvedPipeline.Kind = IncidentPipeline
	for _, tc := range []struct {
		name            string
		inc             *Incident
		run             *Run
		covers, explain bool
	}{
		{"all traffic", open(DimensionAll), droplet, true, true},
		{"the run's region", open(RegionDimension("nyc3")), droplet, true, true},
		{"another region", open(RegionDimension("sfo3")), droplet, false, false},
		{"droplet snapshots for a droplet", open(OperationDimension(OpSnapshotDroplet)), droplet, true, true},
		{"droplet snapshots for a volume", open(OperationDimension(OpSnapshotDroplet)), volume, false, false},
		{"volume snapshots for a volume", open(OperationDimension(OpSnapshotVolume)), volume, true, true},
		{"a run still retrying", open(DimensionAll), retrying, true, true},
		{"the customer's own failure", open(DimensionAll), revoked, false, false},
		{"a run that succeeded", open(DimensionAll), succeeded, false, false},
		{"resolved, all traffic", resolvedIn(DimensionAll), droplet, false, true},
		{"resolved, the run's region", resolvedIn(RegionDimension("nyc3")), droplet, false, true},
		{"resolved, another region", resolvedIn(RegionDimension("sfo3")), droplet, false, false},
		{"resolved, the customer's own failure", resolvedIn(DimensionAll), revoked, false, false},
		{"a pipeline incident", pipeline, droplet, false, false},
		{"a resolved pipeline incident", resolvedPipeline, droplet, false, false},
		{"no incident", nil, droplet, false, false},
		{"no run", open(DimensionAll), nil, false, false},
	} {
		if got := tc.inc.Covers(tc.run); got != tc.covers {
			t.Errorf("%s: Covers = %v, want %v", tc.name, got, tc.covers)
		}
		if got := tc.inc.Explains(tc.run); got != tc.explain {
			t.Errorf("%s: Explains = %v, want %v", tc.name, got, tc.explain)
		}
	}
}

// The unfinished index's keys spread runs over every shard, and a run's key
// is one of UnfinishedKeys.
func TestUnfinishedKeys(t *testing.T) {
	keys := UnfinishedKeys()
	if len(keys) != UnfinishedShards+1 || keys[len(keys)-1] != UnfinishedShard {
		t.Fatalf("UnfinishedKeys = %v", keys)
	}
	seen := map[string]int{}
	for i := 0; i < 1600; i++ {
		seen[UnfinishedKey(NewRunKey("p-"+string(rune('a'+i%26))+string(rune('a'+i/26%26)), time.Date(2026, 11, 24, i%24, 0, 0, 0, time.UTC)).RunID())]++
	}
	if len(seen) != UnfinishedShards {
		t.Fatalf("1,600 runs fell in %d shards, want %d: %v", len(seen), UnfinishedShards, seen)
	}
	for k, n := range seen {
		if !slices.Contains(keys, k) || n < 50 || n > 150 {
			t.Errorf("shard %s got %d of 1,600 runs", k, n)
		}
	}
}
