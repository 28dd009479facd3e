package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// IncidentStore stores snapkeep.Incident items in the Incidents table (key
// incident_id; sparse index open on open_state, opened_at). Every write is
// conditional, so concurrent evaluators converge on one item and ops gets
// one alert and one resolution notice per incident.
type IncidentStore struct {
	// Client is the DynamoDB client.
	Client Client
	// Table is the Incidents table's name.
	Table string
}

// Get returns the incident (strongly consistent), or an error wrapping
// snapkeep.ErrNotFound.
func (s *IncidentStore) Get(ctx context.Context, id string) (*snapkeep.Incident, error) {
	return getItem[snapkeep.Incident](ctx, s.Client, s.Table, incidentKey(id), fmt.Sprintf("incident %q", id))
}

// Create stores inc if no incident has its id; otherwise it writes nothing
// and returns an error wrapping snapkeep.ErrConflict (another evaluator
// opened it first: read it back).
func (s *IncidentStore) Create(ctx context.Context, inc *snapkeep.Incident) error {
	item, err := s.item(inc)
	if err != nil {
		return err
	}
	_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(incident_id)"),
	})
	if isConditionFailed(err) {
		return fmt.Errorf("create incident %q: exists: %w", inc.IncidentID, snapkeep.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create incident %q: %w", inc.IncidentID, err)
	}
	return nil
}

// Update replaces the stored incident with next if it is still the
// version prev (same updated_at); otherwise it writes nothing and returns
// an error wrapping snapkeep.ErrConflict. next.UpdatedAt must be later.
func (s *IncidentStore) Update(ctx context.Context, prev, next *snapkeep.Incident) error {
	if !next.UpdatedAt.After(prev.UpdatedAt) {
		return fmt.Errorf("update incident %q: updated_at must increase: %w", next.IncidentID, snapkeep.ErrInvalid)
	}
	item, err := s.item(next)
	if err != nil {
		return err
	}
	version, err := attributevalue.Marshal(prev.UpdatedAt.UTC())
	if err != nil {
		return err
	}
	_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table), Item: item,
		ConditionExpression:       aws.String("updated_at = :u"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": version},
	})
	if isConditionFailed(err) {
		return fmt.Errorf("update incident %q: changed by another writer: %w", next.IncidentID, snapkeep.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update incident %q: %w", next.IncidentID, err)
	}
	return nil
}

// ListOpen returns the open incidents, oldest first, through the sparse
// open index (eventually consistent).
func (s *IncidentStore) ListOpen(ctx context.Context) ([]snapkeep.Incident, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.Table),
		IndexName:                 aws.String(IndexIncidentsOpen),
		KeyConditionExpression:    aws.String("open_state = :o"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": &types.AttributeValueMemberS{Value: snapkeep.OpenIncident}},
	}
	var out []snapkeep.Incident
	for {
		page, err := s.Client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("open incidents: %w", err)
		}
		for _, item := range page.Items {
			var inc snapkeep.Incident
			if err := decodeItem(item, &inc); err != nil {
				return nil, fmt.Errorf("open incidents: %w", err)
			}
			out = append(out, inc)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// item marshals inc, keeping open_state in step with its state and times
// in UTC.
func (s *IncidentStore) item(inc *snapkeep.Incident) (map[string]types.AttributeValue, error) {
	if inc.IncidentID == "" {
		return nil, fmt.Errorf("incident without an id: %w", snapkeep.ErrInvalid)
	}
	v := *inc
	v.OpenState = ""
	if v.Open() {
		v.OpenState = snapkeep.OpenIncident
	}
	v.StartedAt, v.OpenedAt, v.UpdatedAt = v.StartedAt.UTC(), v.OpenedAt.UTC(), v.UpdatedAt.UTC()
	item, err := attributevalue.MarshalMap(&v)
	if err != nil {
		return nil, fmt.Errorf("incident %q: %w", inc.IncidentID, err)
	}
	if n := ItemSize(item); n > MaxItemBytes {
		return nil, fmt.Errorf("incident %q: item is %d bytes, over DynamoDB's limit of %d: %w", inc.IncidentID, n, MaxItemBytes, snapkeep.ErrInvalid)
	}
	return item, nil
}

func incidentKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"incident_id": &types.AttributeValueMemberS{Value: id}}
}
