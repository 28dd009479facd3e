// Command schedules is the Lambda function on the Policies table's stream
// that keeps one EventBridge Scheduler schedule per policy in step with the
// table, and every 15 minutes (its Reconcile schedule) compares the whole
// table with Scheduler and repairs what the stream missed (see
// shared/policysync).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awsscheduler "github.com/aws/aws-sdk-go-v2/service/scheduler"

	// Policy validation loads IANA time zones; provided.al2023 has no
	// zoneinfo, so embed it.
	_ "time/tzdata"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/env"
	"github.com/snapkeep/snapkeep/shared/policysync"
	"github.com/snapkeep/snapkeep/shared/scheduler"
)

func main() {
	logger := lambdacontext.NewLogger()
	h, err := newHandler(context.Background(), os.Getenv, logger)
	if err != nil {
		logger.Error("schedules function cannot start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Invoke)
}

// Environment variables the function reads.
const (
	envScheduleGroup       = "SCHEDULE_GROUP"
	envSnapshotFunctionARN = "SNAPSHOT_FUNCTION_ARN"
	envSchedulerRoleARN    = "SCHEDULER_ROLE_ARN"
	envScheduleDLQARN      = "SCHEDULE_DLQ_ARN"
)

// settings is the function's configuration from its environment.
type settings struct {
	policiesTable, group, targetARN, roleARN, deadLetterARN string
}

// loadSettings reads the environment, naming every missing variable.
func loadSettings(getenv func(string) string) (settings, error) {
	r := env.New(getenv)
	st := settings{
		policiesTable: r.Required(dynamo.Policies.EnvVar),
		group:         r.Required(envScheduleGroup),
		targetARN:     r.Required(envSnapshotFunctionARN),
		roleARN:       r.Required(envSchedulerRoleARN),
		deadLetterARN: r.Required(envScheduleDLQARN),
	}
	if err := r.Err(); err != nil {
		return settings{}, fmt.Errorf("schedules configuration (template.yaml's SchedulesFunction sets it): %w", err)
	}
	return st, nil
}

// newHandler wires the handler from the environment: AWS clients from the
// standard AWS configuration (AWS_REGION, AWS_ENDPOINT_URL, ...), the
// Policies store, the Scheduler adapter, the syncer and the reconciler.
//
// The stream path uses the SDK's client as it is (its own retries). The
// reconciler's client is paced to ReconcileRates of the Region's Scheduler
// quotas and retries throttled requests itself, through its token buckets,
// so the SDK's retries are off there.
func newHandler(ctx context.Context, getenv func(string) string, logger *slog.Logger) (*Handler, error) {
	st, err := loadSettings(getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	store := &dynamo.PolicyStore{Client: dynamodb.NewFromConfig(cfg), Table: st.policiesTable}
	schedules := func(c scheduler.Client) *scheduler.Schedules {
		return &scheduler.Schedules{
			Client:        c,
			Group:         st.group,
			TargetARN:     st.targetARN,
			RoleARN:       st.roleARN,
			DeadLetterARN: st.deadLetterARN,
		}
	}
	syncer := &policysync.Syncer{Policies: store, Schedules: schedules(awsscheduler.NewFromConfig(cfg)), Logger: logger}
	unretried := awsscheduler.NewFromConfig(cfg, func(o *awsscheduler.Options) { o.Retryer = aws.NopRetryer{} })
	paced := schedules(scheduler.NewPaced(unretried, scheduler.ReconcileRates(cfg.Region), policysync.Clock{}))
	reconciler := &policysync.Reconciler{
		Syncer:    &policysync.Syncer{Policies: store, Schedules: paced, Logger: logger},
		Policies:  store,
		Schedules: paced,
		Logger:    logger,
	}
	return &Handler{Syncer: syncer, Reconciler: reconciler, Logger: logger}, nil
}
