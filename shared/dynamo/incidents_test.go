package dynamo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Incidents against moto: one create wins, updates are conditional on the
// version read, and the open index holds firing incidents only.
func TestIncidentStore(t *testing.T) {
	ctx := context.Background()
	env := awstest.New(t)
	s := &dynamo.IncidentStore{Client: env.DynamoDB, Table: env.TableName(dynamo.Incidents)}
	at := time.Date(2026, 11, 24, 6, 10, 0, 0, time.UTC)
	inc := &snapkeep.Incident{IncidentID: "provider_error#all#2026-11-24T06:10Z", Kind: snapkeep.IncidentProvider,
		Dimension: snapkeep.DimensionAll, Class: snapkeep.ClassProviderError, State: snapkeep.IncidentFiring,
		StartedAt: at.Add(-20 * time.Minute), OpenedAt: at, Detector: "cusum", BaselineRate: 0.0005, Rate: 0.015, UpdatedAt: at}
	if err := s.Create(ctx, inc); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, inc); !errors.Is(err, snapkeep.ErrConflict) {
		t.Fatalf("second create: %v, want ErrConflict", err)
	}
	open, err := s.ListOpen(ctx)
	if err != nil || len(open) != 1 || open[0].IncidentID != inc.IncidentID || open[0].OpenState != snapkeep.OpenIncident {
		t.Fatalf("ListOpen = %+v, %v", open, err)
	}
	stored, err := s.Get(ctx, inc.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	next := *stored
	done := at.Add(3 * time.Hour)
	next.State, next.ResolvedAt, next.UpdatedAt = snapkeep.IncidentResolved, &done, done
	if err := s.Update(ctx, stored, &next); err != nil {
		t.Fatal(err)
	}
	stale := next
	stale.UpdatedAt = done.Add(time.Second)
	if err := s.Update(ctx, stored, &stale); !errors.Is(err, snapkeep.ErrConflict) {
		t.Errorf("update from a stale version: %v, want ErrConflict", err)
	}
	if open, err := s.ListOpen(ctx); err != nil || len(open) != 0 {
		t.Errorf("ListOpen after resolving = %+v, %v; want none", open, err)
	}
	got, _ := s.Get(ctx, inc.IncidentID)
	if got.State != snapkeep.IncidentResolved || got.OpenState != "" || got.ResolvedAt == nil {
		t.Errorf("resolved incident = %+v", got)
	}
}
