package dynamo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func newCustomerStore(t *testing.T) (*dynamo.CustomerStore, *fakeClock, *awstest.Env) {
	t.Helper()
	env := awstest.New(t)
	clk := newClock()
	return &dynamo.CustomerStore{Client: env.DynamoDB, Table: env.TableName(dynamo.Customers), Now: clk.Now}, clk, env
}

func TestCustomerStore(t *testing.T) {
	ctx := context.Background()
	s, clk, env := newCustomerStore(t)

	if _, err := s.Get(ctx, "cust-1"); !errors.Is(err, snapkeep.ErrNotFound) {
		t.Fatalf("Get of a missing customer: err = %v, want ErrNotFound", err)
	}

	c := &snapkeep.Customer{
		CustomerID:       "cust-1",
		Name:             "Example Ltd",
		Email:            "ops@example.com",
		NotificationMode: snapkeep.NotifyEveryFailure,
		SlackWebhookURL:  "https://hooks.slack.com/services/T000/B000/XXXX",
	}
	if err := s.Put(ctx, c); err != nil {
		t.Fatalf("Put: %v", err)
	}
	created := clk.Now()
	got, err := s.Get(ctx, "cust-1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if *got != *c || !got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(created) {
		t.Errorf("Get = %+v\nwant %+v created and updated at %v", *got, *c, created)
	}

	clk.Advance(24 * time.Hour)
	d := &snapkeep.Customer{
		CustomerID:       "cust-1",
		Name:             "Example GmbH",
		Email:            "backup@example.com",
		NotificationMode: snapkeep.NotifyDailyDigest,
	}
	if err := s.Put(ctx, d); err != nil {
		t.Fatalf("second Put: %v", err)
	}
	got, err = s.Get(ctx, "cust-1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if *got != *d {
		t.Errorf("Get after replace = %+v\nwant %+v", *got, *d)
	}
	if !got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(clk.Now()) {
		t.Errorf("after replace: created %v updated %v, want created %v updated %v", got.CreatedAt, got.UpdatedAt, created, clk.Now())
	}
	if _, ok := rawItem(t, env, s.Table, "customer_id", "cust-1")["slack_webhook_url"]; ok {
		t.Errorf("slack_webhook_url still stored after a Put without it")
	}
}

func TestCustomerStorePutRequiresID(t *testing.T) {
	s, _, _ := newCustomerStore(t)
	if err := s.Put(context.Background(), &snapkeep.Customer{Name: "x"}); !errors.Is(err, snapkeep.ErrInvalid) {
		t.Errorf("Put without id: err = %v, want ErrInvalid", err)
	}
}
