package support

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// FailureQuery asks who got which failures across every customer.
type FailureQuery struct {
	// Classes are the error classes asked for; none means every class.
	Classes []snapkeep.ErrorClass
	// Range bounds when the failed runs finished. Runs still retrying are
	// included when the range reaches up to now.
	Range Range
	// Limit is the most runs of each kind returned (0: DefaultLimit).
	Limit int
}

// FailuresResult is what a failures query found.
type FailuresResult struct {
	// Failed are the runs that ended failed or timed out with one of the
	// classes, newest finish first.
	Failed []snapkeep.Run
	// Retrying are the runs not yet at their end whose latest attempt
	// failed with one of the classes (retry_class), next check first.
	Retrying []snapkeep.Run
	// RetryingIncluded is false when the range ended before now, so runs
	// retrying now were not asked for.
	RetryingIncluded bool
	// More is true when a list stopped at the limit.
	More bool
	// Skipped are stored items that do not decode as runs.
	Skipped []Skipped
}

// Failures returns the runs that failed with the classes in the range
// (index failures-by-class, one exact query per class) and, when the range
// reaches now, the runs still retrying after one of them (index retrying,
// one exact query per class).
func (q *Queries) Failures(ctx context.Context, fq FailureQuery) (*FailuresResult, error) {
	if err := fq.Range.Validate(); err != nil {
		return nil, err
	}
	limit, err := checkLimit(fq.Limit)
	if err != nil {
		return nil, err
	}
	classes := fq.Classes
	if len(classes) == 0 {
		classes = snapkeep.ErrorClasses()
	}
	res := &FailuresResult{}
	for _, c := range classes {
		if !c.Valid() {
			return nil, fmt.Errorf("%q is not an error class: %w", c, snapkeep.ErrInvalid)
		}
		e := newExpr()
		if !e.keyRange("error_class", string(c), "finished_at", fq.Range) {
			continue
		}
		in := &dynamodb.QueryInput{TableName: aws.String(q.Tables.Runs), IndexName: aws.String(dynamo.IndexRunsFailures), ScanIndexForward: aws.Bool(false)}
		e.apply(in)
		p, err := queryItems[snapkeep.Run](ctx, q, fmt.Sprintf("runs that failed with %s, finished %s, newest first", c, fq.Range), in, limit, "policy_id", "scheduled_at")
		if err != nil {
			return nil, err
		}
		res.Failed = append(res.Failed, p.Items...)
		res.Skipped = append(res.Skipped, p.Skipped...)
		res.More = res.More || p.More
	}
	sort.SliceStable(res.Failed, func(i, j int) bool { return finished(res.Failed[i]).After(finished(res.Failed[j])) })
	if len(res.Failed) > limit {
		res.Failed, res.More = res.Failed[:limit], true
	}
	if !fq.Range.OpenEnded(q.now()) {
		return res, nil
	}
	res.RetryingIncluded = true
	return res, q.retrying(ctx, fq.Classes, limit, res)
}

// retrying adds the unfinished runs retrying after one of classes (any
// class when none) to res: one exact query of the sparse retrying index
// per class (retry_class is set only while a run retries), next check
// first.
func (q *Queries) retrying(ctx context.Context, classes []snapkeep.ErrorClass, limit int, res *FailuresResult) error {
	if len(classes) == 0 {
		classes = snapkeep.ErrorClasses()
	}
	for _, c := range classes {
		if !c.Info().Retried {
			continue // never a retry class
		}
		e := newExpr()
		e.keyRange("retry_class", string(c), "next_check_at", Range{})
		in := &dynamodb.QueryInput{TableName: aws.String(q.Tables.Runs), IndexName: aws.String(dynamo.IndexRunsRetrying)}
		e.apply(in)
		p, err := queryItems[snapkeep.Run](ctx, q, "runs in flight retrying after "+string(c), in, limit, "policy_id", "scheduled_at")
		if err != nil {
			return err
		}
		res.Retrying = append(res.Retrying, p.Items...)
		res.Skipped = append(res.Skipped, p.Skipped...)
		res.More = res.More || p.More
	}
	sort.SliceStable(res.Retrying, func(i, j int) bool { return checkAt(res.Retrying[i]).Before(checkAt(res.Retrying[j])) })
	if len(res.Retrying) > limit {
		res.Retrying, res.More = res.Retrying[:limit], true
	}
	return nil
}

func checkAt(r snapkeep.Run) time.Time {
	if r.NextCheckAt != nil {
		return *r.NextCheckAt
	}
	return r.UpdatedAt
}

func finished(r snapkeep.Run) time.Time {
	if r.FinishedAt != nil {
		return *r.FinishedAt
	}
	return r.UpdatedAt
}
