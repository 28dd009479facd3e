package notice

import (
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func TestExplain(t *testing.T) {
	at := func(min int) *time.Time { return tp(slot.Add(time.Duration(min) * time.Minute)) }
	unfinished := func(edit func(r *snapkeep.Run)) *snapkeep.Run {
		r := failedRun(snapkeep.ClassProviderError)
		r.Status, r.ErrorClass, r.FinishedAt = snapkeep.RunInProgress, "", nil
		r.HTTPStatus, r.ProviderMessage, r.ProviderErrorID, r.ProviderRequestID = 0, "", "", ""
		r.Unfinished, r.NextCheckAt = snapkeep.UnfinishedShard, at(5)
		edit(r)
		return r
	}
	cases := []struct {
		name string
		run  *snapkeep.Run
		want []string
	}{
		{"nil", nil, []string{""}},
		{"failed with DigitalOcean's answer", failedRun(snapkeep.ClassProviderError), []string{
			"The backup failed because DigitalOcean’s API had an error on their side (DigitalOcean answered “Server Error”, HTTP 500, request id d3a5c4e2-7f1b-4c8e-9a2d-5b6e1f0c3a47), after 4 attempts.",
			"The droplet is not affected; snapkeep tries again at the next scheduled backup."}},
		{"needs the customer", failedRun(snapkeep.ClassAuthRevoked), []string{
			"because snapkeep could not use your DigitalOcean token", "The droplet is not affected; the customer must act (“reconnect your DigitalOcean account”)."}},
		{"resource gone", failedRun(snapkeep.ClassResourceMissing), []string{"The droplet is gone at DigitalOcean"}},
		{"timed out", failedRun(snapkeep.ClassTimedOut), []string{
			"The backup did not finish in time: DigitalOcean started the snapshot at 02:00 UTC on Tue 24 Nov and it was still running at the deadline, 08:00 UTC on Tue 24 Nov.", "the next scheduled backup runs as usual"}},
		{"unknown class", func() *snapkeep.Run { r := failedRun(snapkeep.ClassInternal); r.ErrorClass = "gremlins"; return r }(),
			[]string{"The backup failed because snapkeep itself had a fault."}},
		{"succeeded", func() *snapkeep.Run {
			r := recoveryInput().Run
			return r
		}(), []string{"The backup succeeded: snapshot snapkeep-web-1-20261125T020000Z (id 187652341) was taken by 02:04 UTC on Wed 25 Nov."}},
		{"skipped", func() *snapkeep.Run {
			r := failedRun("")
			r.Status, r.ErrorDetail, r.HTTPStatus, r.ProviderMessage = snapkeep.RunSkipped, "policy web-1 is paused", 0, ""
			return r
		}(), []string{"No backup was taken: the policy was paused (or gone) when its slot came (“policy web-1 is paused”)."}},
		{"retrying after a 5xx that may have started a snapshot", unfinished(func(r *snapkeep.Run) {
			r.RetryClass, r.RequestUncertain = snapkeep.ClassProviderError, true
		}), []string{"Still retrying: the last attempt failed because DigitalOcean’s API had an error on their side, and DigitalOcean may have started the snapshot anyway, so snapkeep looks for it before asking again.",
			"Next check at 02:05 UTC on Tue 24 Nov; the run ends by 08:00 UTC on Tue 24 Nov at the latest."}},
		{"rate limited", unfinished(func(r *snapkeep.Run) { r.RetryClass = snapkeep.ClassRateLimited }),
			[]string{"Still retrying: the last attempt failed because the DigitalOcean token’s request budget was spent."}},
		{"steps without an answer", unfinished(func(r *snapkeep.Run) {
			r.StepFailures, r.StepError = 3, "token of account \"acct-acme\": secrets manager: RequestError: send request failed"
		}), []string{"Still trying: the last 3 steps ended without an answer from DigitalOcean (“token of account"}},
		{"uncertain request only", unfinished(func(r *snapkeep.Run) { r.RequestUncertain = true }),
			[]string{"Waiting to learn whether an earlier snapshot request went through"}},
		{"action completed, snapshot not listed yet", unfinished(func(r *snapkeep.Run) {
			r.ActionID, r.ActionCompletedAt = 2364587129, at(3)
		}), []string{"DigitalOcean finished the snapshot at 02:03 UTC on Tue 24 Nov; snapkeep is waiting for it to appear in the droplet’s list of snapshots."}},
		{"action in progress", unfinished(func(r *snapkeep.Run) { r.ActionID, r.StartedAt = 2364587129, at(0) }),
			[]string{"The snapshot is being taken at DigitalOcean (action 2364587129, started at 02:00 UTC on Tue 24 Nov). Next check at 02:05 UTC"}},
		{"waiting for the token's budget", unfinished(func(r *snapkeep.Run) {
			r.BudgetDelays, r.BudgetDelayedUntil = 2, at(5)
		}), []string{"Waiting for the DigitalOcean token’s request budget, spent by this account’s own calls, until 02:05 UTC on Tue 24 Nov."}},
		{"claimed", unfinished(func(r *snapkeep.Run) { r.Status = snapkeep.RunClaimed }),
			[]string{"The slot was claimed at 02:00 UTC on Tue 24 Nov; the snapshot has not been requested yet."}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Explain(tc.run)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("Explain =\n%s\nwant it to hold\n%s", got, w)
				}
			}
			if n := strings.Count(got, ". ") + 1; got != "" && n > 3 {
				t.Errorf("Explain is %d sentences, want one or two: %s", n, got)
			}
		})
	}
}
