// Command schedules is the Lambda function on the Policies table's stream
// that keeps one EventBridge Scheduler schedule per policy in step with the
// table (see shared/policysync).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awsscheduler "github.com/aws/aws-sdk-go-v2/service/scheduler"

	// Policy validation loads IANA time zones; provided.al2023 has no
	// zoneinfo, so embed it.
	_ "time/tzdata"

	"github.com/snapkeep/snapkeep/shared/dynamo"
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
	lambda.Start(h.Handle)
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
	var missing []string
	get := func(name string) string {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			missing = append(missing, name)
		}
		return v
	}
	st := settings{
		policiesTable: get(dynamo.Policies.EnvVar),
		group:         get(envScheduleGroup),
		targetARN:     get(envSnapshotFunctionARN),
		roleARN:       get(envSchedulerRoleARN),
		deadLetterARN: get(envScheduleDLQARN),
	}
	if len(missing) > 0 {
		return settings{}, fmt.Errorf("missing environment variable(s) %s (set by template.yaml's SchedulesFunction)", strings.Join(missing, ", "))
	}
	return st, nil
}

// newHandler wires the handler from the environment: AWS clients from the
// standard AWS configuration (AWS_REGION, AWS_ENDPOINT_URL, ...), the
// Policies store, the Scheduler adapter and the syncer.
func newHandler(ctx context.Context, getenv func(string) string, logger *slog.Logger) (*Handler, error) {
	st, err := loadSettings(getenv)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	syncer := &policysync.Syncer{
		Policies: &dynamo.PolicyStore{Client: dynamodb.NewFromConfig(cfg), Table: st.policiesTable},
		Schedules: &scheduler.Schedules{
			Client:        awsscheduler.NewFromConfig(cfg),
			Group:         st.group,
			TargetARN:     st.targetARN,
			RoleARN:       st.roleARN,
			DeadLetterARN: st.deadLetterARN,
		},
		Logger: logger,
	}
	return &Handler{Syncer: syncer, Logger: logger}, nil
}
