package support

import (
	"fmt"
	"strconv"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// utcText formats t as RFC 3339 UTC, "-" for zero.
func utcText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func utcPtrText(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return utcText(*t)
}

// localText formats t in loc as "Mon 02 Jan 15:04 MST".
func localText(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 02 Jan 15:04 MST")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// RunNote says in a few words what a run's row needs beside its status:
// DigitalOcean's message of a failure, what a retrying run waits for, or
// the snapshot a successful run took.
func RunNote(r *snapkeep.Run) string {
	switch {
	case r.Status == snapkeep.RunSucceeded:
		return r.SnapshotName
	case r.Status.Terminal():
		if r.ProviderMessage != "" {
			return r.ProviderMessage
		}
		return r.ErrorDetail
	case r.RetryClass != "":
		return fmt.Sprintf("retrying after %s; next check %s", r.RetryClass, utcPtrText(r.NextCheckAt))
	case r.StepError != "":
		return fmt.Sprintf("step failed (%s); next check %s", r.StepError, utcPtrText(r.NextCheckAt))
	}
	return "next check " + utcPtrText(r.NextCheckAt)
}

// RunsTable lays out runs one a row; when loc is not UTC a column gives
// each slot in loc's wall time too.
func RunsTable(runs []snapkeep.Run, loc *time.Location) *Table {
	t := &Table{Columns: []string{"SLOT (UTC)"}}
	local := loc != nil && loc != time.UTC
	if local {
		t.Columns = append(t.Columns, "LOCAL ("+loc.String()+")")
	}
	t.Columns = append(t.Columns, "POLICY", "CUSTOMER", "RESOURCE", "STATUS", "CLASS", "TRIES", "CALLS", "FINISHED (UTC)", "NOTE")
	for i := range runs {
		r := &runs[i]
		row := []string{utcText(r.ScheduledAt)}
		if local {
			row = append(row, localText(r.ScheduledAt, loc))
		}
		class := string(r.ErrorClass)
		if class == "" && r.RetryClass != "" {
			class = string(r.RetryClass) + " (retrying)"
		}
		row = append(row, r.PolicyID, dash(r.CustomerID), dash(r.ResourceKey), string(r.Status), dash(class),
			strconv.Itoa(r.Attempts), strconv.Itoa(r.APICalls), utcPtrText(r.FinishedAt), RunNote(r))
		t.Add(row...)
	}
	return t
}

// FailuresTable lays out failed runs, then runs still retrying, with who
// they belong to and DigitalOcean's request id (what ops forward).
func FailuresTable(res *FailuresResult) *Table {
	t := &Table{Columns: []string{"STATE", "WHEN (UTC)", "CUSTOMER", "POLICY", "RESOURCE", "REGION", "CLASS", "HTTP", "REQUEST ID", "MESSAGE"}}
	add := func(state string, when *time.Time, class snapkeep.ErrorClass, r *snapkeep.Run) {
		http := "-"
		if r.HTTPStatus != 0 {
			http = strconv.Itoa(r.HTTPStatus)
		}
		t.Add(state, utcPtrText(when), dash(r.CustomerID), r.PolicyID, dash(r.ResourceKey), dash(r.Region),
			string(class), http, dash(r.ProviderRequestID), dash(RunNote(r)))
	}
	for i := range res.Failed {
		r := &res.Failed[i]
		add(string(r.Status), r.FinishedAt, r.ErrorClass, r)
	}
	for i := range res.Retrying {
		r := &res.Retrying[i]
		add("retrying", r.NextCheckAt, r.RetryClass, r)
	}
	return t
}

// CallsTable lays out DigitalOcean calls one a row.
func CallsTable(calls []snapkeep.APICall) *Table {
	t := &Table{Columns: []string{"RUN", "SEQ", "STARTED (UTC)", "OPERATION", "TRY", "REQUEST", "STATUS", "CLASS", "MS", "REQUEST ID", "ERROR"}}
	for i := range calls {
		c := &calls[i]
		status := "-"
		if c.StatusCode != 0 {
			status = strconv.Itoa(c.StatusCode)
		}
		errText := c.ErrorMessage
		if c.ErrorID != "" {
			errText = c.ErrorID + ": " + errText
		}
		if c.TransportError != "" {
			errText = c.TransportError
		}
		t.Add(c.RunID, strconv.Itoa(c.Seq), c.StartedAt.UTC().Format("2006-01-02T15:04:05.000Z"), dash(string(c.Operation)),
			strconv.Itoa(c.Attempt), c.Method+" "+c.Path, status, dash(string(c.Class)), strconv.FormatInt(c.DurationMS, 10),
			dash(c.ProviderRequestID), dash(errText))
	}
	return t
}

// IncidentsTable lays out incidents one a row.
func IncidentsTable(incidents []snapkeep.Incident) *Table {
	t := &Table{Columns: []string{"INCIDENT", "STATE", "DIMENSION", "CLASS", "OPENED (UTC)", "RESOLVED (UTC)", "RATE", "PEAK", "FAILURES/CALLS", "CUSTOMERS"}}
	for i := range incidents {
		inc := &incidents[i]
		t.Add(inc.IncidentID, string(inc.State), string(inc.Dimension), string(inc.Class), utcText(inc.OpenedAt),
			utcPtrText(inc.ResolvedAt), percent(inc.Rate), percent(inc.PeakRate),
			fmt.Sprintf("%d/%d", inc.Failures, inc.Calls), strconv.Itoa(inc.AffectedCustomers))
	}
	return t
}

func percent(f float64) string { return strconv.FormatFloat(f*100, 'f', 2, 64) + "%" }

// IncidentFields lays out one incident.
func IncidentFields(inc *snapkeep.Incident) *Fields {
	f := &Fields{}
	f.Add("Incident", inc.IncidentID)
	f.Add("Kind", string(inc.Kind))
	f.Add("State", string(inc.State))
	f.Add("Dimension", string(inc.Dimension))
	f.Add("Class", string(inc.Class))
	f.Add("Started (change point)", utcText(inc.StartedAt))
	f.Add("Opened (alarm)", utcText(inc.OpenedAt))
	f.Add("Resolved", utcPtrText(inc.ResolvedAt))
	f.Add("Detector", inc.Detector)
	f.Add("Failure rate", fmt.Sprintf("%s since the start (baseline %s, peak %s)", percent(inc.Rate), percent(inc.BaselineRate), percent(inc.PeakRate)))
	f.Add("Calls", fmt.Sprintf("%d failed of %d", inc.Failures, inc.Calls))
	f.Add("Affected", fmt.Sprintf("%d accounts, %d resources, %d failed runs of %d customers",
		inc.AffectedAccounts, inc.AffectedResources, inc.FailedRuns, inc.AffectedCustomers))
	f.Add("Ops alerted", utcPtrText(inc.AlertedAt))
	f.Add("Resolution sent", utcPtrText(inc.ResolutionSentAt))
	if inc.SendError != "" {
		f.Add("Send error", inc.SendError)
	}
	return f
}

// RunFields lays out one run with its explanation.
func RunFields(d *RunDetail, loc *time.Location) *Fields {
	r := d.Run
	f := &Fields{}
	f.Add("Run", r.RunID)
	slot := utcText(r.ScheduledAt)
	if loc != nil && loc != time.UTC {
		slot += " (" + localText(r.ScheduledAt, loc) + ")"
	}
	f.Add("Slot", slot)
	f.Add("Policy", r.PolicyID)
	f.Add("Customer", r.CustomerID)
	f.Add("Account", r.AccountID)
	f.Add("Resource", r.Resource.String())
	f.Add("Trigger", string(r.Trigger))
	f.Add("Status", string(r.Status))
	f.Add("Why", d.Explanation)
	f.Add("Error class", string(r.ErrorClass))
	f.Add("Retry class", string(r.RetryClass))
	if r.HTTPStatus != 0 {
		f.Add("DigitalOcean said", fmt.Sprintf("%d %s: %s", r.HTTPStatus, r.ProviderErrorID, r.ProviderMessage))
	}
	f.Add("Request id", r.ProviderRequestID)
	f.Add("Detail", r.ErrorDetail)
	f.Add("Snapshot", joinNonEmpty(r.SnapshotName, r.SnapshotID))
	if r.ActionID != 0 {
		f.Add("Action", strconv.FormatInt(r.ActionID, 10))
	}
	f.Add("Attempts", strconv.Itoa(r.Attempts))
	f.Add("Claimed", utcText(r.ClaimedAt))
	f.Add("Started", utcPtrText(r.StartedAt))
	f.Add("Finished", utcPtrText(r.FinishedAt))
	if !r.Status.Terminal() {
		f.Add("Next check", utcPtrText(r.NextCheckAt))
		f.Add("Deadline", utcText(r.Deadline))
	}
	if r.Retention != nil {
		f.Add("Retention", retentionText(r.Retention))
	}
	f.Add("API calls", strconv.Itoa(r.APICalls))
	return f
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " (" + b + ")"
}

func retentionText(r *snapkeep.RetentionResult) string {
	s := fmt.Sprintf("kept %d, deleted %d", r.Kept, len(r.Deleted))
	if len(r.MadeRoom) > 0 {
		s += fmt.Sprintf(", %d deleted first to make room", len(r.MadeRoom))
	}
	if len(r.Failed) > 0 {
		s += fmt.Sprintf(", %d deletes failed", len(r.Failed))
	}
	if r.Error != "" {
		s += "; " + r.Error
	}
	return s
}

// AccountsTable lays out accounts that have a token, never the token.
func AccountsTable(l *AccountList) *Table {
	t := &Table{Columns: []string{"ACCOUNT", "SECRET", "CREATED (UTC)", "TOKEN CHANGED (UTC)"}}
	for _, a := range l.Accounts {
		t.Add(a.AccountID, a.SecretName, utcPtrText(a.Created), utcPtrText(a.Changed))
	}
	return t
}

// AccountFields lays out an account check.
func AccountFields(c *AccountCheck) *Fields {
	a := c.Account
	f := &Fields{}
	f.Add("Account", c.AccountID)
	f.Add("DigitalOcean user", a.UUID)
	f.Add("Status", joinNonEmpty(a.Status, a.StatusMessage))
	f.Add("Email verified", strconv.FormatBool(a.EmailVerified))
	if a.TeamName != "" || a.TeamUUID != "" {
		f.Add("Team", joinNonEmpty(a.TeamName, a.TeamUUID))
	}
	f.Add("Droplet limit", strconv.Itoa(a.DropletLimit))
	f.Add("Volume limit", strconv.Itoa(a.VolumeLimit))
	if a.Rate.Limit > 0 {
		f.Add("Rate limit", fmt.Sprintf("%d of %d requests an hour left (resets %s)", a.Rate.Remaining, a.Rate.Limit, utcText(a.Rate.Reset)))
	}
	f.Add("Scopes", "not reported by DigitalOcean's API; snapkeep needs read and write on droplets (snapshot actions), volumes and snapshots")
	for _, p := range c.Problems {
		f.Add("PROBLEM", p)
	}
	return f
}
