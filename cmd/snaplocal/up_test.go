package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/snapkeep/snapkeep/infra/proc"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// TestUp starts the stack on the real clock, puts a customer and a policy
// the way snapctl would, and waits for the schedules function, fed by the
// Policies stream the runner delivers, to make the policy's schedule; then
// stops it as Ctrl-C would.
func TestUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, found := proc.NewTail(1<<20), make(chan error, 1)
	err := runUp(ctx, UpOptions{Out: out, Tick: 200 * time.Millisecond, Ready: func(ctx context.Context, st *Stack) error {
		now := time.Now().UTC()
		if err := (&dynamo.CustomerStore{Client: st.DynamoDB, Table: st.TableName(dynamo.Customers)}).Put(ctx, &snapkeep.Customer{
			CustomerID: "cust-up", Name: "Up Test", Email: "ops@up.example",
		}); err != nil {
			return err
		}
		p := &snapkeep.Policy{PolicyID: "up-hourly", CustomerID: "cust-up", AccountID: UpAccount,
			Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: "3164444", Region: upRegion},
			Schedule: "cron(0 * * * ? *)", Retention: snapkeep.Retention{KeepLast: 3}, Enabled: true, CreatedAt: now, UpdatedAt: now}
		if err := (&dynamo.PolicyStore{Client: st.DynamoDB, Table: st.TableName(dynamo.Policies)}).Put(ctx, p); err != nil {
			return err
		}
		go func() {
			defer cancel()
			for ctx.Err() == nil {
				_, err := st.Scheduler.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("up-hourly"), GroupName: aws.String(ScheduleGroup)})
				if err == nil {
					found <- nil
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
			found <- errors.New("no schedule for up-hourly before the deadline")
		}()
		return nil
	}})
	if err != nil {
		t.Fatalf("runUp: %v\n%s", err, out.String())
	}
	select {
	case err := <-found:
		if err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
	default:
		t.Fatalf("runUp returned before the schedule was looked for\n%s", out.String())
	}
	for _, want := range []string{"export AWS_ENDPOINT_URL=http://127.0.0.1:", "Press Ctrl-C to stop.", "stopping the local stack"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, out.String())
		}
	}
}
