package dynamo

import (
	"context"
	"fmt"
	"time"

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
	out, err := s.query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.Table),
		IndexName:                 aws.String(IndexIncidentsOpen),
		KeyConditionExpression:    aws.String("open_state = :o"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": &types.AttributeValueMemberS{Value: snapkeep.OpenIncident}},
	})
	if err != nil {
		return nil, fmt.Errorf("open incidents: %w", err)
	}
	return out, nil
}

// monthFormat is the layout of Incident.OpenedMonth.
const monthFormat = "2006-01"

// ListOpened returns the incidents opened in [from, to), newest first,
// open or resolved, through the by-month index (one query per month).
func (s *IncidentStore) ListOpened(ctx context.Context, from, to time.Time) ([]snapkeep.Incident, error) {
	if !from.Before(to) {
		return nil, fmt.Errorf("incidents opened from %s to %s: an empty range: %w", from, to, snapkeep.ErrInvalid)
	}
	from, to = from.UTC(), to.UTC()
	var out []snapkeep.Incident
	for m := time.Date(to.Year(), to.Month(), 1, 0, 0, 0, 0, time.UTC); !m.Before(time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)); m = m.AddDate(0, -1, 0) {
		in := &dynamodb.QueryInput{
			TableName:              aws.String(s.Table),
			IndexName:              aws.String(IndexIncidentsByMonth),
			KeyConditionExpression: aws.String("opened_month = :m AND opened_at BETWEEN :f AND :t"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":m": &types.AttributeValueMemberS{Value: m.Format(monthFormat)},
				":f": &types.AttributeValueMemberS{Value: from.Format(time.RFC3339Nano)},
				":t": &types.AttributeValueMemberS{Value: to.Add(-time.Nanosecond).Format(time.RFC3339Nano)},
			},
			ScanIndexForward: aws.Bool(false),
		}
		got, err := s.query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("incidents opened in %s: %w", m.Format(monthFormat), err)
		}
		out = append(out, got...)
	}
	return out, nil
}

// query pages through in and decodes the incidents.
func (s *IncidentStore) query(ctx context.Context, in *dynamodb.QueryInput) ([]snapkeep.Incident, error) {
	var out []snapkeep.Incident
	for {
		page, err := s.Client.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, item := range page.Items {
			var inc snapkeep.Incident
			if err := decodeItem(item, &inc); err != nil {
				return nil, err
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
	v.OpenedMonth = v.OpenedAt.Format(monthFormat)
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
