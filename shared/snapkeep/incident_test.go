package snapkeep

import (
	"slices"
	"testing"
	"time"
)

func TestIncidentCovers(t *testing.T) {
	open := func(dim Dimension) *Incident {
		return &Incident{Kind: IncidentProvider, Dimension: dim, Class: ClassProviderError, State: IncidentFiring}
	}
	droplet := &Run{Status: RunFailed, ErrorClass: ClassProviderError, Resource: Resource{Kind: ResourceDroplet, ID: "1", Region: "nyc3"}}
	retrying := &Run{Status: RunInProgress, RetryClass: ClassNetwork, Resource: Resource{Kind: ResourceDroplet, ID: "1", Region: "nyc3"}}
	volume := &Run{Status: RunFailed, ErrorClass: ClassTimedOut, Resource: Resource{Kind: ResourceVolume, ID: "v", Region: "ams3"}}
	revoked := &Run{Status: RunFailed, ErrorClass: ClassAuthRevoked, Resource: Resource{Kind: ResourceDroplet, ID: "1", Region: "nyc3"}}
	resolved := open(DimensionAll)
	resolved.State = IncidentResolved
	pipeline := open(DimensionAll)
	pipeline.Kind = IncidentPipeline
	for _, tc := range []struct {
		name string
		inc  *Incident
		run  *Run
		want bool
	}{
		{"all traffic", open(DimensionAll), droplet, true},
		{"the run's region", open(RegionDimension("nyc3")), droplet, true},
		{"another region", open(RegionDimension("sfo3")), droplet, false},
		{"droplet snapshots for a droplet", open(OperationDimension(OpSnapshotDroplet)), droplet, true},
		{"droplet snapshots for a volume", open(OperationDimension(OpSnapshotDroplet)), volume, false},
		{"volume snapshots for a volume", open(OperationDimension(OpSnapshotVolume)), volume, true},
		{"a run still retrying", open(DimensionAll), retrying, true},
		{"the customer's own failure", open(DimensionAll), revoked, false},
		{"resolved", resolved, droplet, false},
		{"a pipeline incident", pipeline, droplet, false},
		{"no incident", nil, droplet, false},
	} {
		if got := tc.inc.Covers(tc.run); got != tc.want {
			t.Errorf("%s: Covers = %v, want %v", tc.name, got, tc.want)
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
