package support

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/notice"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Limits of a runs query.
const (
	// DefaultLimit is how many runs or failures a query returns unless told.
	DefaultLimit = 100
	// MaxLimit is the most a query returns.
	MaxLimit = 10000
)

// StatusUnfinished is the --status alias of the statuses of a run not yet
// at its end: claimed and in_progress.
const StatusUnfinished = "unfinished"

// Subject is whose runs a query reads: exactly one of a policy, a customer
// or a resource.
type Subject struct {
	// PolicyID reads the Runs table's key.
	PolicyID string
	// CustomerID reads index by-customer.
	CustomerID string
	// ResourceKey ("droplet:3164444", "volume:<uuid>") reads index by-resource.
	ResourceKey string
}

// String names the subject, e.g. `policy "pol-web1"`.
func (s Subject) String() string {
	switch {
	case s.PolicyID != "":
		return fmt.Sprintf("policy %q", s.PolicyID)
	case s.CustomerID != "":
		return fmt.Sprintf("customer %q", s.CustomerID)
	case s.ResourceKey != "":
		return strings.Replace(s.ResourceKey, ":", " ", 1)
	}
	return "nothing"
}

func (s Subject) validate() error {
	n := 0
	for _, v := range []string{s.PolicyID, s.CustomerID, s.ResourceKey} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("say whose runs: exactly one of a policy, a customer or a droplet/volume (got %d): %w", n, snapkeep.ErrInvalid)
	}
	for _, id := range []string{s.PolicyID, s.CustomerID} {
		if id != "" && !snapkeep.ValidID(id) {
			return fmt.Errorf("%q is not an id: 1-%d characters of 0-9 A-Z a-z _ . -: %w", id, snapkeep.MaxIDLength, snapkeep.ErrInvalid)
		}
	}
	return nil
}

var uuidRule = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// DropletKey returns the by-resource key of a droplet given by its id.
func DropletKey(id string) (string, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 1 || strconv.FormatInt(n, 10) != id {
		return "", fmt.Errorf("%q is not a droplet id, a positive whole number such as 3164444: %w", id, snapkeep.ErrInvalid)
	}
	return snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: id}.Key(), nil
}

// VolumeKey returns the by-resource key of a volume given by its UUID.
func VolumeKey(id string) (string, error) {
	if !uuidRule.MatchString(id) {
		return "", fmt.Errorf("%q is not a volume id, a UUID such as 506f78a4-e098-11e5-ad9f-000f53306ae1: %w", id, snapkeep.ErrInvalid)
	}
	return snapkeep.Resource{Kind: snapkeep.ResourceVolume, ID: id}.Key(), nil
}

// RunQuery asks for a subject's runs scheduled in a range.
type RunQuery struct {
	Subject
	// Range bounds the runs' scheduled time.
	Range Range
	// Statuses keeps only runs with one of these statuses (none: all).
	Statuses []snapkeep.RunStatus
	// Class keeps only runs that failed with it or are retrying after it.
	Class snapkeep.ErrorClass
	// Limit is the most runs returned (0: DefaultLimit).
	Limit int
}

// RunsResult is what a runs query found, newest first.
type RunsResult struct {
	// Runs are the matching runs, newest slot first.
	Runs []snapkeep.Run
	// More is true when the query stopped at its limit and there may be more.
	More bool
	// Skipped are stored items that do not decode as runs.
	Skipped []Skipped
}

// ParseStatuses reads a comma-separated list of run statuses
// ("failed,timed_out"); "unfinished" stands for claimed and in_progress.
func ParseStatuses(s string) ([]snapkeep.RunStatus, error) {
	var out []snapkeep.RunStatus
	for _, part := range strings.Split(s, ",") {
		p := snapkeep.RunStatus(strings.TrimSpace(part))
		switch p {
		case StatusUnfinished:
			out = append(out, snapkeep.RunClaimed, snapkeep.RunInProgress)
		case snapkeep.RunClaimed, snapkeep.RunInProgress, snapkeep.RunSucceeded, snapkeep.RunFailed, snapkeep.RunTimedOut, snapkeep.RunSkipped:
			out = append(out, p)
		default:
			return nil, fmt.Errorf("%q is not a run status: use succeeded, failed, timed_out, skipped, claimed, in_progress or unfinished, comma-separated: %w", part, snapkeep.ErrInvalid)
		}
	}
	return out, nil
}

// ParseClass reads an error class by its name, e.g. provider_error.
func ParseClass(s string) (snapkeep.ErrorClass, error) {
	c := snapkeep.ErrorClass(strings.TrimSpace(s))
	if !c.Valid() {
		names := make([]string, 0, len(snapkeep.ErrorClasses()))
		for _, k := range snapkeep.ErrorClasses() {
			names = append(names, string(k))
		}
		return "", fmt.Errorf("%q is not an error class: use one of %s: %w", s, strings.Join(names, ", "), snapkeep.ErrInvalid)
	}
	return c, nil
}

func checkLimit(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultLimit, nil
	case n < 0 || n > MaxLimit:
		return 0, fmt.Errorf("limit %d must be 1-%d: %w", n, MaxLimit, snapkeep.ErrInvalid)
	}
	return n, nil
}

// Runs returns the subject's runs scheduled in the range, newest first,
// through the Runs key or index that the subject names; statuses and class
// are a filter on that key range.
func (q *Queries) Runs(ctx context.Context, rq RunQuery) (*RunsResult, error) {
	if err := rq.Subject.validate(); err != nil {
		return nil, err
	}
	if err := rq.Range.Validate(); err != nil {
		return nil, err
	}
	limit, err := checkLimit(rq.Limit)
	if err != nil {
		return nil, err
	}
	in := &dynamodb.QueryInput{TableName: aws.String(q.Tables.Runs), ScanIndexForward: aws.Bool(false)}
	e := newExpr()
	var ok bool
	switch {
	case rq.PolicyID != "":
		ok = e.keyRange("policy_id", rq.PolicyID, "scheduled_at", rq.Range)
	case rq.CustomerID != "":
		in.IndexName = aws.String(dynamo.IndexRunsByCustomer)
		ok = e.keyRange("customer_id", rq.CustomerID, "scheduled_at", rq.Range)
	default:
		in.IndexName = aws.String(dynamo.IndexRunsByResource)
		ok = e.keyRange("resource_key", rq.ResourceKey, "scheduled_at", rq.Range)
	}
	if !ok {
		return &RunsResult{}, nil
	}
	statuses := make([]string, len(rq.Statuses))
	for i, s := range rq.Statuses {
		statuses[i] = string(s)
	}
	e.oneOf("status", statuses)
	if rq.Class != "" {
		e.eitherIs("error_class", "retry_class", string(rq.Class))
	}
	e.apply(in)
	what := fmt.Sprintf("runs of %s, newest first", rq.Subject)
	if rq.Range != (Range{}) {
		what = fmt.Sprintf("runs of %s scheduled %s, newest first", rq.Subject, rq.Range)
	}
	p, err := queryItems[snapkeep.Run](ctx, q, what, in, limit, "policy_id", "scheduled_at")
	if err != nil {
		return nil, err
	}
	return &RunsResult{Runs: p.Items, More: p.More, Skipped: p.Skipped}, nil
}

// RunDetail is one run as `snapctl run show` prints it.
type RunDetail struct {
	// Run is the run.
	Run *snapkeep.Run `json:"run"`
	// Explanation says in plain words why it failed, or what it waits for.
	Explanation string `json:"explanation"`
	// Calls are its DigitalOcean calls in order.
	Calls []snapkeep.APICall `json:"calls"`
	// Skipped are call rows that do not decode.
	Skipped []Skipped `json:"skipped,omitempty"`
}

// Run returns the run with its explanation and its calls; a missing run
// is an error wrapping snapkeep.ErrNotFound.
func (q *Queries) Run(ctx context.Context, key snapkeep.RunKey) (*RunDetail, error) {
	run, found, err := getItem[snapkeep.Run](ctx, q, "run "+key.RunID(), q.Tables.Runs, map[string]types.AttributeValue{
		"policy_id": str(key.PolicyID), "scheduled_at": str(key.Slot()),
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("no run of policy %q at %s: %w", key.PolicyID, key.Slot(), snapkeep.ErrNotFound)
	}
	calls, err := q.CallsOfRun(ctx, run.RunID)
	if err != nil {
		return nil, err
	}
	return &RunDetail{Run: run, Explanation: notice.Explain(run), Calls: calls.Calls, Skipped: calls.Skipped}, nil
}

// ParseRunKey reads a run's key from a policy id and a slot in RFC 3339
// with a zone, whole seconds ("2026-03-27T02:00:00Z",
// "2026-03-27T03:00:00+01:00"), or from a run id alone
// ("pol-web1#2026-03-27T02:00:00Z", slot ""), as `snapctl calls --run` and
// the ApiCalls table name runs.
func ParseRunKey(policyID, slot string) (snapkeep.RunKey, error) {
	if slot == "" {
		i := strings.LastIndexByte(policyID, '#')
		if i < 0 {
			return snapkeep.RunKey{}, fmt.Errorf("%q is not a run id: want <policy_id>#<slot>, e.g. pol-web1#2026-03-27T02:00:00Z, or give the policy and the slot apart: %w", policyID, snapkeep.ErrInvalid)
		}
		policyID, slot = policyID[:i], policyID[i+1:]
	}
	if !snapkeep.ValidID(policyID) {
		return snapkeep.RunKey{}, fmt.Errorf("%q is not a policy id: 1-%d characters of 0-9 A-Z a-z _ . -: %w", policyID, snapkeep.MaxIDLength, snapkeep.ErrInvalid)
	}
	t, err := time.Parse(time.RFC3339, slot)
	if err != nil || t.Nanosecond() != 0 {
		return snapkeep.RunKey{}, fmt.Errorf("slot %q is not a time in whole seconds with a zone, such as 2026-03-27T02:00:00Z (the SLOT column of snapctl runs): %w", slot, snapkeep.ErrInvalid)
	}
	return snapkeep.NewRunKey(policyID, t), nil
}
