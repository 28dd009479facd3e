package snapkeep

import "testing"

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
