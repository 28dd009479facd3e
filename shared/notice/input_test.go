package notice

import (
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// TestBadInput: what cannot make a message is an error saying what is
// wrong; nothing panics.
func TestBadInput(t *testing.T) {
	r := newRenderer(t)
	succeeded := failedRun(snapkeep.ClassProviderError)
	succeeded.Status = snapkeep.RunSucceeded
	missing := FailedRun{Run: runOf(policy(), slot, snapkeep.ClassResourceMissing), Policy: policy()}
	pipeline := openIncident()
	pipeline.Kind = snapkeep.IncidentPipeline
	bc := broadcastInput()
	bc.Problem.From = time.Time{}
	cases := []struct {
		name   string
		render func() (Message, error)
		want   string
	}{
		{"failure: nil run", func() (Message, error) { return r.Failure(FailureInput{Customer: customer()}) }, "the run is nil"},
		{"failure: nil customer", func() (Message, error) { return r.Failure(FailureInput{Run: failedRun(snapkeep.ClassNetwork)}) }, "the customer is nil"},
		{"failure: a succeeded run", func() (Message, error) {
			return r.Failure(FailureInput{Run: succeeded, Customer: customer()})
		}, "is succeeded: only failed and timed-out runs"},
		{"recovery: a failed run", func() (Message, error) {
			return r.Recovery(RecoveryInput{Run: failedRun(snapkeep.ClassNetwork), Customer: customer()})
		}, "a recovery is told of a succeeded run"},
		{"recovery: nil run", func() (Message, error) { return r.Recovery(RecoveryInput{Customer: customer()}) }, "the run is nil"},
		{"incident: nil incident", func() (Message, error) {
			return r.IncidentNotice(IncidentInput{Customer: customer(), Failed: incidentFailures()})
		}, "the incident is nil"},
		{"incident: pipeline incident", func() (Message, error) {
			return r.IncidentNotice(IncidentInput{Customer: customer(), Incident: pipeline, Failed: incidentFailures()})
		}, "only DigitalOcean's (provider) incidents"},
		{"incident: no failures", func() (Message, error) {
			return r.IncidentNotice(IncidentInput{Customer: customer(), Incident: openIncident()})
		}, "no failed runs"},
		{"incident: only nil runs", func() (Message, error) {
			return r.IncidentNotice(IncidentInput{Customer: customer(), Incident: openIncident(), Failed: []FailedRun{{}}})
		}, "none of the 1 failed runs can be told: failed run 0 is nil"},
		{"incident: a gone droplet", func() (Message, error) {
			return r.IncidentNotice(IncidentInput{Customer: customer(), Incident: openIncident(), Failed: []FailedRun{missing}})
		}, "no longer exists: leave its runs out"},
		{"resolved: still open", func() (Message, error) {
			return r.Resolved(ResolvedInput{Customer: customer(), Incident: openIncident(), Failed: incidentFailures()})
		}, "is still firing"},
		{"digest: empty period", func() (Message, error) {
			return r.Digest(DigestInput{Customer: customer(), From: slot, To: slot, Failed: incidentFailures()})
		}, "period"},
		{"digest: no failures", func() (Message, error) {
			return r.Digest(DigestInput{Customer: customer(), From: slot, To: slot.Add(time.Hour)})
		}, "no failed runs"},
		{"broadcast: no start", func() (Message, error) { return r.Broadcast(bc) }, "the problem has no start"},
		{"broadcast: a gone droplet", func() (Message, error) {
			in := broadcastInput()
			in.Failed = append(in.Failed, missing)
			return r.Broadcast(in)
		}, "since this message says servers were never affected"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := tc.render()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one with %q", err, tc.want)
			}
			if m.Subject != "" || m.Text != "" {
				t.Error("a message came with the error")
			}
		})
	}
}

// TestFallbackWarnings: input that can be told in other words gives a
// message and a warning to log.
func TestFallbackWarnings(t *testing.T) {
	r := newRenderer(t)
	badZone := policy()
	badZone.TimeZone = "Europe/Berlim"
	badSchedule := policy()
	badSchedule.Schedule = "cron(0 3 * *)"
	pipeline := openIncident()
	pipeline.Kind = snapkeep.IncidentPipeline
	cases := []struct {
		name string
		in   FailureInput
		warn string
		text string
	}{
		{"time zone does not load", FailureInput{Policy: badZone}, `time zone "Europe/Berlim" does not load`, "planned for 02:00 UTC on Tuesday 24 November 2026"},
		{"schedule does not parse", FailureInput{Policy: badSchedule}, "schedule does not parse", "snapkeep could not work out the next backup time"},
		{"pipeline incident", FailureInput{Policy: policy(), Incident: pipeline}, "not DigitalOcean's: not told", "Your server is fine"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Run, in.Customer, in.Now = failedRun(snapkeep.ClassProviderError), customer(), now
			m, err := r.Failure(in)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Warnings) != 1 || !strings.Contains(m.Warnings[0], tc.warn) {
				t.Errorf("warnings %q, want one with %q", m.Warnings, tc.warn)
			}
			if !strings.Contains(flat(m.Text), tc.text) {
				t.Errorf("text lacks %q:\n%s", tc.text, m.Text)
			}
			if strings.Contains(m.Text, "DigitalOcean is having a problem") {
				t.Error("a fallback told an incident")
			}
		})
	}
}

// TestResolvedOutcomes: for each affected backup the resolved notice says
// how its next run went.
func TestResolvedOutcomes(t *testing.T) {
	r := newRenderer(t)
	next := func(status snapkeep.RunStatus, class snapkeep.ErrorClass) *snapkeep.Run {
		run := runOf(policy(), slot.Add(24*time.Hour), class)
		run.Status = status
		return run
	}
	cases := []struct {
		name    string
		after   *snapkeep.Run
		text    string
		subject string
	}{
		{"succeeded", next(snapkeep.RunSucceeded, ""), "The next backup, at 03:00 on Wed 25 Nov (02:00 UTC), succeeded.", "your backup is working again"},
		{"failed again", next(snapkeep.RunFailed, snapkeep.ClassAuthRevoked), "The next backup, at 03:00 on Wed 25 Nov (02:00 UTC), failed again: snapkeep could not use your DigitalOcean token.", "1 of 1 backups failed again"},
		{"running", next(snapkeep.RunInProgress, ""), "The next backup, planned for 03:00 on Wed 25 Nov (02:00 UTC), is running now.", "your servers were never affected"},
		{"skipped", next(snapkeep.RunSkipped, ""), "was skipped: the policy is paused.", "your servers were never affected"},
		{"not run yet", nil, "It has not run since. Next backup: 03:00 on Wednesday 25 November 2026", "your servers were never affected"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := ResolvedInput{Customer: customer(), Incident: resolvedIncident(), Now: slot.Add(12 * time.Hour),
				Failed: []FailedRun{{Run: failedRun(snapkeep.ClassProviderError), Policy: policy(), ResourceName: "web-1"}}}
			if tc.after != nil {
				in.After = map[string]*snapkeep.Run{"web-1": tc.after}
			}
			m, err := r.Resolved(in)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(flat(m.Text), tc.text) {
				t.Errorf("text lacks %q:\n%s", tc.text, m.Text)
			}
			if !strings.HasSuffix(m.Subject, tc.subject) {
				t.Errorf("subject %q, want it to end %q", m.Subject, tc.subject)
			}
		})
	}
}
