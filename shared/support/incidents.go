package support

import (
	"context"
	"fmt"
	"strings"

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
