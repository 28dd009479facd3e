package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
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

// Past incidents are listed by the month they opened, newest first, across
// month boundaries.
func TestIncidentStoreListOpened(t *testing.T) {
	ctx := context.Background()
	env := awstest.New(t)
	s := &dynamo.IncidentStore{Client: env.DynamoDB, Table: env.TableName(dynamo.Incidents)}
	for i, at := range []time.Time{
		time.Date(2026, 10, 30, 6, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC),
	} {
		inc := &snapkeep.Incident{IncidentID: fmt.Sprintf("i%d", i), Kind: snapkeep.IncidentProvider, Dimension: snapkeep.DimensionAll,
			Class: snapkeep.ClassProviderError, State: snapkeep.IncidentResolved, StartedAt: at, OpenedAt: at, UpdatedAt: at}
		if err := s.Create(ctx, inc); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ListOpened(ctx, time.Date(2026, 10, 15, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, inc := range got {
		ids = append(ids, inc.IncidentID)
	}
	if strings.Join(ids, ",") != "i2,i1,i0" {
		t.Errorf("ListOpened = %v, want i2,i1,i0 (newest first; i3 opens at the range's end)", ids)
	}
}
