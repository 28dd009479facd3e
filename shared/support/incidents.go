package support

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// MaxIncidentIDLength bounds an incident id asked for (DynamoDB's
// partition key limit is 2,048 bytes; snapkeep's ids are far shorter).
const MaxIncidentIDLength = 512

// IncidentsResult is a list of incidents.
type IncidentsResult struct {
	// Incidents are newest opened first.
	Incidents []snapkeep.Incident
	// More is true when the list stopped at the limit.
	More bool
	// Skipped are items that do not decode as incidents.
	Skipped []Skipped
}

// OpenIncidents returns the incidents still firing, newest first, through
// the sparse index open (an incident leaves it when resolved). limit 0 is
// DefaultLimit.
func (q *Queries) OpenIncidents(ctx context.Context, limit int) (*IncidentsResult, error) {
	limit, err := checkLimit(limit)
	if err != nil {
		return nil, err
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(q.Tables.Incidents),
		IndexName:                 aws.String(dynamo.IndexIncidentsOpen),
		KeyConditionExpression:    aws.String("open_state = :o"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": str(snapkeep.OpenIncident)},
		ScanIndexForward:          aws.Bool(false),
	}
	p, err := queryItems[snapkeep.Incident](ctx, q, "open incidents, newest first", in, limit, "incident_id")
	if err != nil {
		return nil, err
	}
	return &IncidentsResult{Incidents: p.Items, More: p.More, Skipped: p.Skipped}, nil
}

// IncidentsOpened returns the incidents, open or resolved, opened in r,
// newest first, through the by-month index (one exact query per month in
// the range; r needs a start). limit 0 is DefaultLimit.
func (q *Queries) IncidentsOpened(ctx context.Context, r Range, limit int) (*IncidentsResult, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if r.From.IsZero() {
		return nil, fmt.Errorf("incidents opened when? give a range with a start (--since): %w", snapkeep.ErrInvalid)
	}
	limit, err := checkLimit(limit)
	if err != nil {
		return nil, err
	}
	to := r.To
	if to.IsZero() {
		to = q.now()
	}
	res := &IncidentsResult{}
	from := r.From.UTC()
	for m := time.Date(to.Year(), to.Month(), 1, 0, 0, 0, 0, time.UTC); !m.Before(time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)); m = m.AddDate(0, -1, 0) {
		e := newExpr()
		e.keyRange("opened_month", m.Format("2006-01"), "opened_at", Range{From: from, To: to})
		in := &dynamodb.QueryInput{TableName: aws.String(q.Tables.Incidents), IndexName: aws.String(dynamo.IndexIncidentsByMonth), ScanIndexForward: aws.Bool(false)}
		e.apply(in)
		p, err := queryItems[snapkeep.Incident](ctx, q, "incidents opened in "+m.Format("2006-01")+", newest first", in, limit-len(res.Incidents), "incident_id")
		if err != nil {
			return nil, err
		}
		res.Incidents = append(res.Incidents, p.Items...)
		res.Skipped = append(res.Skipped, p.Skipped...)
		if p.More || len(res.Incidents) >= limit {
			res.More = true
			break
		}
	}
	return res, nil
}

// Incident returns one incident, open or resolved, by its id; a missing
// one is an error wrapping snapkeep.ErrNotFound.
func (q *Queries) Incident(ctx context.Context, id string) (*snapkeep.Incident, error) {
	id = strings.TrimSpace(id)
	if id == "" || len(id) > MaxIncidentIDLength {
		return nil, fmt.Errorf("an incident id is 1-%d bytes, e.g. provider_error#operation:snapshot_droplet#2026-11-24T06:10Z: %w", MaxIncidentIDLength, snapkeep.ErrInvalid)
	}
	inc, found, err := getItem[snapkeep.Incident](ctx, q, fmt.Sprintf("incident %q", id), q.Tables.Incidents,
		map[string]types.AttributeValue{"incident_id": str(id)})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("no incident %q: %w", id, snapkeep.ErrNotFound)
	}
	return inc, nil
}
