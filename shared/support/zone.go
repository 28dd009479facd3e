package support

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Zone is the time zone a subject's backups are scheduled in, and where
// snapctl found it.
type Zone struct {
	// Location is the zone.
	Location *time.Location
	// Source says where it came from, e.g. `policy "pol-web1"`, or why it
	// is UTC.
	Source string
}

// policyZone is the part of a policy a zone lookup reads.
type policyZone struct {
	PolicyID string `dynamodbav:"policy_id"`
	TimeZone string `dynamodbav:"time_zone"`
}

// Zone returns the time zone the subject's schedules are read in, so that
// "last night" is the customer's night: a policy's own time_zone; a
// customer's, when all their policies share one (else an error asking for
// --tz); a resource's, that of the policy of its newest run. Empty means
// UTC, and so does a subject with no policy or run to tell.
func (q *Queries) Zone(ctx context.Context, s Subject) (Zone, error) {
	if err := s.validate(); err != nil {
		return Zone{}, err
	}
	switch {
	case s.PolicyID != "":
		return q.policyZone(ctx, s.PolicyID)
	case s.CustomerID != "":
		return q.customerZone(ctx, s.CustomerID)
	}
	return q.resourceZone(ctx, s.ResourceKey)
}

func (q *Queries) policyZone(ctx context.Context, policyID string) (Zone, error) {
	p, found, err := getItem[policyZone](ctx, q, fmt.Sprintf("time zone of policy %q", policyID), q.Tables.Policies,
		map[string]types.AttributeValue{"policy_id": str(policyID)})
	if err != nil {
		return Zone{}, err
	}
	if !found {
		return Zone{Location: time.UTC, Source: fmt.Sprintf("UTC (policy %q no longer exists)", policyID)}, nil
	}
	return zoneOf(p.TimeZone, fmt.Sprintf("policy %q", policyID))
}

func zoneOf(name, source string) (Zone, error) {
	loc, err := LoadZone(name)
	if err != nil {
		return Zone{}, fmt.Errorf("the time zone of %s: %w", source, err)
	}
	return Zone{Location: loc, Source: source}, nil
}

func (q *Queries) customerZone(ctx context.Context, customerID string) (Zone, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(q.Tables.Policies),
		IndexName:                 aws.String(dynamo.IndexPoliciesByCustomer),
		KeyConditionExpression:    aws.String("#k = :k"),
		ProjectionExpression:      aws.String("#p, #z"),
		ExpressionAttributeNames:  map[string]string{"#k": "customer_id", "#p": "policy_id", "#z": "time_zone"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":k": str(customerID)},
	}
	p, err := queryItems[policyZone](ctx, q, fmt.Sprintf("time zones of customer %q's policies", customerID), in, 0, "policy_id")
	if err != nil {
		return Zone{}, err
	}
	byZone := map[string][]string{}
	for _, pz := range p.Items {
		z := pz.TimeZone
		if z == "" {
			z = "UTC"
		}
		byZone[z] = append(byZone[z], pz.PolicyID)
	}
	switch len(byZone) {
	case 0:
		return Zone{Location: time.UTC, Source: fmt.Sprintf("UTC (customer %q has no policies)", customerID)}, nil
	case 1:
		for z := range byZone {
			return zoneOf(z, fmt.Sprintf("customer %q's policies", customerID))
		}
	}
	zones := make([]string, 0, len(byZone))
	for z, ids := range byZone {
		sort.Strings(ids)
		zones = append(zones, fmt.Sprintf("%s (%s)", z, strings.Join(ids, ", ")))
	}
	sort.Strings(zones)
	return Zone{}, fmt.Errorf("customer %q's policies are in %d time zones: %s; say which with --tz: %w",
		customerID, len(zones), strings.Join(zones, "; "), snapkeep.ErrInvalid)
}

func (q *Queries) resourceZone(ctx context.Context, resourceKey string) (Zone, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(q.Tables.Runs),
		IndexName:                 aws.String(dynamo.IndexRunsByResource),
		KeyConditionExpression:    aws.String("#k = :k"),
		ProjectionExpression:      aws.String("#p"),
		ExpressionAttributeNames:  map[string]string{"#k": "resource_key", "#p": "policy_id"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":k": str(resourceKey)},
		ScanIndexForward:          aws.Bool(false),
	}
	p, err := queryItems[policyZone](ctx, q, fmt.Sprintf("policy of the newest run of %s", Subject{ResourceKey: resourceKey}), in, 1, "policy_id")
	if err != nil {
		return Zone{}, err
	}
	if len(p.Items) == 0 {
		return Zone{Location: time.UTC, Source: fmt.Sprintf("UTC (%s has no runs)", Subject{ResourceKey: resourceKey})}, nil
	}
	return q.policyZone(ctx, p.Items[0].PolicyID)
}
