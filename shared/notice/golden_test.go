package notice

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ (go test ./shared/notice -update)")

// goldenCase renders one message for the golden files.
type goldenCase struct {
	name   string
	render func(r *Renderer) (Message, error)
}

// goldenCases are every message the golden files show: each error class
// with and without an open incident, and each other kind.
func goldenCases() []goldenCase {
	var cs []goldenCase
	for _, c := range snapkeep.ErrorClasses() {
		for _, inc := range []bool{false, true} {
			name := "failure-" + string(c)
			if inc {
				name += "-incident"
			}
			cs = append(cs, goldenCase{name, func(r *Renderer) (Message, error) {
				in := FailureInput{Run: failedRun(c), Policy: policyFor(c), Customer: customer(), ResourceName: "web-1", Now: now}
				if inc {
					in.Incident = openIncident()
				}
				return r.Failure(in)
			}})
		}
	}
	return append(cs,
		goldenCase{"incident", func(r *Renderer) (Message, error) { return r.IncidentNotice(incidentInput()) }},
		goldenCase{"resolved", func(r *Renderer) (Message, error) { return r.Resolved(resolvedInput()) }},
		goldenCase{"recovery", func(r *Renderer) (Message, error) { return r.Recovery(recoveryInput()) }},
		goldenCase{"digest", func(r *Renderer) (Message, error) { return r.Digest(digestInput()) }},
		goldenCase{"broadcast", func(r *Renderer) (Message, error) { return r.Broadcast(broadcastInput()) }},
	)
}

// slackGolden names the messages whose Slack payload is a golden file.
var slackGolden = map[string]bool{
	"failure-provider_error-incident": true, "failure-auth_revoked": true,
	"incident": true, "digest": true,
}

// textGolden is the text body with the headers a reviewer needs to read it.
func textGolden(m Message) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Kind: %s\nSubject: %s\nPreheader: %s\n", m.Kind, m.Subject, m.Preheader)
	for _, w := range m.Warnings {
		fmt.Fprintf(&b, "Warning: %s\n", w)
	}
	b.WriteString("\n" + m.Text)
	return []byte(b.String())
}

func TestGolden(t *testing.T) {
	r := newRenderer(t)
	want := map[string]bool{}
	for _, gc := range goldenCases() {
		t.Run(gc.name, func(t *testing.T) {
			m, err := gc.render(r)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, gc.name+".txt", textGolden(m))
			checkGolden(t, gc.name+".html", []byte(m.HTML))
			want[gc.name+".txt"], want[gc.name+".html"] = true, true
			if slackGolden[gc.name] {
				p, err := m.Slack.SlackPayload()
				if err != nil {
					t.Fatal(err)
				}
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, p, "", "  "); err != nil {
					t.Fatal(err)
				}
				pretty.WriteByte('\n')
				checkGolden(t, "slack-"+gc.name+".json", pretty.Bytes())
				want["slack-"+gc.name+".json"] = true
			}
		})
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var stale []string
	for _, f := range files {
		if !want[filepath.Base(f)] {
			stale = append(stale, f)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 && !*update {
		t.Errorf("golden files no test renders (delete them): %v", stale)
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run go test ./shared/notice -update to write it", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Errorf("%s differs from the golden file at line %d:\n got: %q\nwant: %q\n(go test ./shared/notice -update rewrites it; review the diff)", path, i+1, g, w)
			return
		}
	}
}

// The list fixtures: during DigitalOcean's incident (from 02:10 Berlin
// time), Acme's web-1 failed at 03:00, its hourly api-2 from 02:15 to
// 13:15, and its volume db-data at 02:30.

func apiPolicy() *snapkeep.Policy {
	p := policy()
	p.PolicyID, p.Resource.ID, p.Schedule = "api-2", "3164502", "cron(15 * * * ? *)"
	p.KeepLast = 48
	return p
}

func dbPolicy() *snapkeep.Policy {
	p := volumePolicy()
	p.Schedule = "cron(30 2 * * ? *)"
	return p
}

func runOf(p *snapkeep.Policy, at time.Time, c snapkeep.ErrorClass) *snapkeep.Run {
	r := failedRun(c)
	key := snapkeep.NewRunKey(p.PolicyID, at)
	r.PolicyID, r.ScheduledAt, r.RunID, r.Resource = p.PolicyID, at, key.RunID(), p.Resource
	r.ResourceKey = p.Resource.Key()
	return r
}

func incidentFailures() []FailedRun {
	api := apiPolicy()
	out := []FailedRun{
		{Run: failedRun(snapkeep.ClassProviderError), Policy: policy(), ResourceName: "web-1"},
		{Run: runOf(dbPolicy(), time.Date(2026, 11, 24, 1, 30, 0, 0, time.UTC), snapkeep.ClassProviderError), Policy: dbPolicy(), ResourceName: "db-data"},
	}
	for h := 1; h <= 12; h++ {
		out = append(out, FailedRun{Run: runOf(api, time.Date(2026, 11, 24, h, 15, 0, 0, time.UTC), snapkeep.ClassProviderError), Policy: api, ResourceName: "api-2"})
	}
	return out
}

func incidentInput() IncidentInput {
	f := incidentFailures()
	return IncidentInput{Customer: customer(), Incident: openIncident(), Failed: f[:3], Now: now}
}

func resolvedInput() ResolvedInput {
	ok := runOf(apiPolicy(), time.Date(2026, 11, 24, 13, 15, 0, 0, time.UTC), snapkeep.ClassProviderError)
	ok.Status, ok.ErrorClass, ok.HTTPStatus, ok.ProviderMessage, ok.ProviderErrorID, ok.ProviderRequestID = snapkeep.RunSucceeded, "", 0, "", "", ""
	return ResolvedInput{Customer: customer(), Incident: resolvedIncident(), Failed: incidentFailures(),
		After: map[string]*snapkeep.Run{"api-2": ok}, Now: time.Date(2026, 11, 24, 13, 30, 0, 0, time.UTC)}
}

func recoveryInput() RecoveryInput {
	next := slot.Add(24 * time.Hour)
	run := runOf(policy(), next, "")
	run.Status, run.HTTPStatus, run.ProviderMessage, run.ProviderErrorID, run.ProviderRequestID = snapkeep.RunSucceeded, 0, "", "", ""
	run.SnapshotID, run.SnapshotName = "187652341", "snapkeep-web-1-20261125T020000Z"
	run.FinishedAt = tp(next.Add(4*time.Minute + 31*time.Second))
	return RecoveryInput{Run: run, Policy: policy(), Customer: customer(), ResourceName: "web-1",
		Failures: 1, FirstFailure: slot, Now: next.Add(5 * time.Minute)}
}

func digestInput() DigestInput {
	f := incidentFailures()
	db := dbPolicy()
	f[1] = FailedRun{Run: runOf(db, time.Date(2026, 11, 24, 1, 30, 0, 0, time.UTC), snapkeep.ClassQuotaExceeded), Policy: db, ResourceName: "db-data"}
	old := policy()
	old.PolicyID, old.Resource.ID = "legacy-app", "2981337"
	f = append(f, FailedRun{Run: runOf(old, slot, snapkeep.ClassResourceMissing), Policy: old})
	return DigestInput{Customer: customer(), From: time.Date(2026, 11, 23, 23, 0, 0, 0, time.UTC),
		To: time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC), Failed: f, Now: time.Date(2026, 11, 24, 23, 5, 0, 0, time.UTC)}
}

func broadcastInput() BroadcastInput {
	return BroadcastInput{Customer: customer(), Problem: ProblemOf(resolvedIncident()),
		Since: time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 24, 13, 30, 0, 0, time.UTC),
		Failed: incidentFailures(), Now: time.Date(2026, 11, 24, 13, 40, 0, 0, time.UTC)}
}
