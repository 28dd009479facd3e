package errorrate_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		class snapkeep.ErrorClass
		want  errorrate.Outcome
	}{
		{"", errorrate.OutcomeOK},
		{snapkeep.ClassProviderError, errorrate.OutcomeProviderFailure},
		{snapkeep.ClassNetwork, errorrate.OutcomeProviderFailure},
		{snapkeep.ClassActionErrored, errorrate.OutcomeProviderFailure},
		{snapkeep.ClassTimedOut, errorrate.OutcomeProviderFailure},
		{snapkeep.ClassRateLimited, errorrate.OutcomeRateLimited},
		{snapkeep.ClassResourceBusy, errorrate.OutcomeBusy},
		{snapkeep.ClassAuthRevoked, errorrate.OutcomeCustomerError},
		{snapkeep.ClassResourceMissing, errorrate.OutcomeCustomerError},
		{snapkeep.ClassQuotaExceeded, errorrate.OutcomeCustomerError},
		{snapkeep.ClassInvalidPolicy, errorrate.OutcomeCustomerError},
		{snapkeep.ClassInternal, errorrate.OutcomeOther},
		{"something_new", errorrate.OutcomeOther},
	}
	for _, tt := range tests {
		t.Run(string(tt.class)+"→"+tt.want.String(), func(t *testing.T) {
			got, _ := errorrate.Classify(&snapkeep.APICall{Class: tt.class})
			if got != tt.want {
				t.Errorf("Classify(class %q) = %v, want %v", tt.class, got, tt.want)
			}
		})
	}
	// Every class the domain knows has a deliberate outcome.
	for _, c := range snapkeep.ErrorClasses() {
		o, _ := errorrate.Classify(&snapkeep.APICall{Class: c})
		if want := c.Info().ProviderSide; (o == errorrate.OutcomeProviderFailure) != want {
			t.Errorf("class %s: outcome %v, but ProviderSide is %v", c, o, want)
		}
	}
}

func TestClassifyDimensions(t *testing.T) {
	tests := []struct {
		name   string
		region string
		op     snapkeep.Operation
		want   []snapkeep.Dimension
	}{
		{"region and operation", "nyc3", snapkeep.OpSnapshotDroplet,
			[]snapkeep.Dimension{"all", "region:nyc3", "operation:snapshot_droplet"}},
		{"no region", "", snapkeep.OpGetAccount, []snapkeep.Dimension{"all", "operation:get_account"}},
		{"nothing", "", "", []snapkeep.Dimension{"all"}},
		{"region too long", strings.Repeat("a", 33) + "1", snapkeep.OpGetAction,
			[]snapkeep.Dimension{"all", "operation:get_action"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := errorrate.Classify(&snapkeep.APICall{Region: tt.region, Operation: tt.op})
			if !slices.Equal(got, tt.want) {
				t.Errorf("dimensions %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRecordBoundsTheIDSets(t *testing.T) {
	var c errorrate.Counts
	for i := 99; i >= 0; i-- {
		c.Record(errorrate.OutcomeProviderFailure, fmt.Sprintf("acct-%02d", i%40), fmt.Sprintf("droplet:%03d", i))
	}
	c.Record(errorrate.OutcomeRateLimited, "acct-x", "droplet:x")
	if c.Calls != 101 || c.Failures != 100 || c.RateLimited != 1 {
		t.Errorf("counts %+v", c)
	}
	n := errorrate.MaxMinuteIDs
	if len(c.FailedAccounts) != n || len(c.FailedResources) != n {
		t.Fatalf("%d accounts and %d resources kept, want %d each", len(c.FailedAccounts), len(c.FailedResources), n)
	}
	if c.FailedResources[0] != "droplet:000" || c.FailedResources[n-1] != fmt.Sprintf("droplet:%03d", n-1) {
		t.Errorf("resources %v, want the %d smallest", c.FailedResources, n)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("recorded counts invalid: %v", err)
	}

	var odd errorrate.Counts
	odd.Record(errorrate.OutcomeProviderFailure, "", strings.Repeat("x", 500))
	if odd.FailedAccounts[0] != errorrate.UnknownSource || len(odd.FailedResources[0]) > errorrate.MaxIDLength {
		t.Errorf("accounts %q, resources %q: want %q for a missing id and long ids cut", odd.FailedAccounts, odd.FailedResources, errorrate.UnknownSource)
	}
}

// randomCalls makes n calls over a few minutes, regions and operations.
func randomCalls(rng *rand.Rand, n int) []snapkeep.APICall {
	classes := append(snapkeep.ErrorClasses(), "", "", "", "", "", "", "", "")
	regions := []string{"nyc3", "fra1", "sgp1", ""}
	var out []snapkeep.APICall
	for i := 0; i < n; i++ {
		r := rng.IntN(120)
		out = append(out, snapkeep.APICall{
			RunID: fmt.Sprintf("pol-%d#x", r), Seq: i + 1,
			AccountID: fmt.Sprintf("acct-%d", r%17), ResourceKey: fmt.Sprintf("droplet:%d", r),
			Region: regions[rng.IntN(len(regions))], Operation: snapkeep.Operations()[rng.IntN(len(snapkeep.Operations()))],
			Class:     classes[rng.IntN(len(classes))],
			StartedAt: t0.Add(time.Duration(rng.IntN(5*60*1000)) * time.Millisecond),
		})
	}
	return out
}

func aggregateOf(t *testing.T, calls []snapkeep.APICall) *errorrate.Aggregate {
	t.Helper()
	a := errorrate.NewAggregate()
	for i := range calls {
		if err := a.Add(&calls[i]); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func encode(t *testing.T, a *errorrate.Aggregate) string {
	t.Helper()
	data, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestAggregatePartsAddUp(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	calls := randomCalls(rng, 3000)
	whole := encode(t, aggregateOf(t, calls))
	for trial := 0; trial < 20; trial++ {
		// Split the calls into random parts (window parts, shards, retried
		// batches), aggregate each and merge them in a random order and
		// grouping.
		shuffled := slices.Clone(calls)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		var parts []*errorrate.Aggregate
		for len(shuffled) > 0 {
			n := min(len(shuffled), 1+rng.IntN(700))
			parts = append(parts, aggregateOf(t, shuffled[:n]))
			shuffled = shuffled[n:]
		}
		for len(parts) > 1 {
			i := rng.IntN(len(parts) - 1)
			parts[i].Merge(parts[i+1])
			parts = slices.Delete(parts, i+1, i+2)
		}
		if got := encode(t, parts[0]); got != whole {
			t.Fatalf("trial %d: merged parts differ from the whole", trial)
		}
	}
}

func TestAggregateCounts(t *testing.T) {
	calls := []snapkeep.APICall{
		{AccountID: "a1", ResourceKey: "droplet:1", Region: "nyc3", Operation: snapkeep.OpSnapshotDroplet, Class: snapkeep.ClassProviderError, StartedAt: t0.Add(10 * time.Second)},
		{AccountID: "a2", ResourceKey: "droplet:2", Region: "nyc3", Operation: snapkeep.OpGetAction, StartedAt: t0.Add(50 * time.Second)},
		{AccountID: "a2", ResourceKey: "droplet:2", Region: "fra1", Operation: snapkeep.OpSnapshotDroplet, Class: snapkeep.ClassRateLimited, StartedAt: t0.Add(70 * time.Second)},
	}
	a := aggregateOf(t, calls)
	tests := []struct {
		key  errorrate.Key
		want errorrate.Counts
	}{
		{errorrate.Key{Dimension: "all", Minute: t0}, errorrate.Counts{Calls: 2, Failures: 1, FailedAccounts: []string{"a1"}, FailedResources: []string{"droplet:1"}}},
		{errorrate.Key{Dimension: "all", Minute: t0.Add(time.Minute)}, errorrate.Counts{Calls: 1, RateLimited: 1}},
		{errorrate.Key{Dimension: "region:nyc3", Minute: t0}, errorrate.Counts{Calls: 2, Failures: 1, FailedAccounts: []string{"a1"}, FailedResources: []string{"droplet:1"}}},
		{errorrate.Key{Dimension: "operation:get_action", Minute: t0}, errorrate.Counts{Calls: 1}},
		{errorrate.Key{Dimension: "operation:snapshot_droplet", Minute: t0.Add(time.Minute)}, errorrate.Counts{Calls: 1, RateLimited: 1}},
	}
	for _, tt := range tests {
		got := a.Get(tt.key)
		if !reflect.DeepEqual(normalize(got), normalize(tt.want)) {
			t.Errorf("%s: %+v, want %+v", tt.key, got, tt.want)
		}
	}
	if a.Len() != 7 {
		t.Errorf("%d entries (%v), want 7", a.Len(), a.Keys())
	}
	if err := a.Add(&snapkeep.APICall{RunID: "r", Seq: 3}); err == nil || !strings.Contains(err.Error(), "started_at") {
		t.Errorf("a call without started_at: %v", err)
	}
}

func normalize(c errorrate.Counts) errorrate.Counts {
	if len(c.FailedAccounts) == 0 {
		c.FailedAccounts = nil
	}
	if len(c.FailedResources) == 0 {
		c.FailedResources = nil
	}
	return c
}

func TestAggregateJSONRoundTrip(t *testing.T) {
	a := aggregateOf(t, randomCalls(rand.New(rand.NewPCG(3, 4)), 500))
	data := encode(t, a)
	b := errorrate.NewAggregate()
	if err := json.Unmarshal([]byte(data), b); err != nil {
		t.Fatal(err)
	}
	if got := encode(t, b); got != data {
		t.Errorf("round trip changed the aggregate")
	}
	if !strings.HasPrefix(data, `{"v":1,"e":[{"d":"all","t":`) {
		t.Errorf("unexpected form: %.80s", data)
	}
}

func TestAggregateUnmarshalRefusesBadState(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"wrong type", `{"v":"1"}`, "decode aggregate"},
		{"version", `{"v":2,"e":[]}`, "version 2"},
		{"no dimension", `{"v":1,"e":[{"t":60,"c":1}]}`, "empty dimension"},
		{"not a minute", `{"v":1,"e":[{"d":"all","t":61,"c":1}]}`, "not a whole minute"},
		{"repeated", `{"v":1,"e":[{"d":"all","t":60,"c":1},{"d":"all","t":60,"c":1}]}`, "repeated"},
		{"negative", `{"v":1,"e":[{"d":"all","t":60,"c":-1}]}`, "negative"},
		{"outcomes over calls", `{"v":1,"e":[{"d":"all","t":60,"c":1,"f":1,"rl":1}]}`, "exceed"},
		{"ids over failures", `{"v":1,"e":[{"d":"all","t":60,"c":1,"f":1,"r":["a","b"]}]}`, "only 1 failures"},
		{"unsorted ids", `{"v":1,"e":[{"d":"all","t":60,"c":2,"f":2,"r":["b","a"]}]}`, "sorted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := json.Unmarshal([]byte(tt.json), errorrate.NewAggregate())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestWindowStateFitsLambdasLimit checks the worst case of a tumbling
// window's state: 15 minutes of 22 dimensions (all, 14 regions, 7
// operations), every entry with full sets of the longest ids.
func TestWindowStateFitsLambdasLimit(t *testing.T) {
	const lambdaStateLimit = 1 << 20
	a := errorrate.NewAggregate()
	dims := []snapkeep.Dimension{snapkeep.DimensionAll}
	for i := 0; i < 14; i++ {
		dims = append(dims, snapkeep.RegionDimension(fmt.Sprintf("abc%d", i)))
	}
	for _, op := range snapkeep.Operations() {
		dims = append(dims, snapkeep.OperationDimension(op))
	}
	long := func(kind string, i int) string {
		return fmt.Sprintf("%s:%0*d", kind, errorrate.MaxIDLength-len(kind)-1, i)
	}
	for m := 0; m < 15; m++ {
		for _, d := range dims {
			var c errorrate.Counts
			for i := 0; i < errorrate.MaxMinuteIDs; i++ {
				c.Record(errorrate.OutcomeProviderFailure, long("acct", i), long("volume", i))
			}
			c.Calls = 1_000_000
			if err := a.AddCounts(errorrate.Key{Dimension: d, Minute: at(m)}, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	size := len(encode(t, a))
	t.Logf("worst case: %d entries, %d bytes, %d bytes an entry", a.Len(), size, size/a.Len())
	if size > lambdaStateLimit {
		t.Errorf("worst-case window state is %d bytes, over Lambda's %d", size, lambdaStateLimit)
	}
	quiet := errorrate.NewAggregate()
	for m := 0; m < 15; m++ {
		for _, d := range dims {
			if err := quiet.AddCounts(errorrate.Key{Dimension: d, Minute: at(m)}, errorrate.Counts{Calls: 1234}); err != nil {
				t.Fatal(err)
			}
		}
	}
	qs := len(encode(t, quiet))
	t.Logf("without failures: %d entries, %d bytes, %d bytes an entry", quiet.Len(), qs, qs/quiet.Len())
}

func TestAddCountsRefusesBadInput(t *testing.T) {
	a := errorrate.NewAggregate()
	if err := a.AddCounts(errorrate.Key{Dimension: "all", Minute: t0.Add(time.Second)}, errorrate.Counts{Calls: 1}); err == nil {
		t.Error("a key that is not a minute was accepted")
	}
	if err := a.AddCounts(errorrate.Key{Minute: t0}, errorrate.Counts{Calls: 1}); err == nil {
		t.Error("a key without a dimension was accepted")
	}
	if err := a.AddCounts(errorrate.Key{Dimension: "all", Minute: t0}, errorrate.Counts{Calls: 1, Failures: 2}); err == nil {
		t.Error("more failures than calls were accepted")
	}
}
