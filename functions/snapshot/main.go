// Command snapshot is the Lambda function EventBridge Scheduler invokes once
// per policy slot (and every minute with {"sweep": true}): it takes exactly
// one snapshot per slot, follows it to a terminal state, applies retention
// and records the run and every DigitalOcean call. The work is done by
// shared/snapshot; this command only wires it.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	_ "time/tzdata"

	"github.com/snapkeep/snapkeep/shared/clockfile"
)

func main() {
	log := lambdacontext.NewLogger()
	env, err := loadEnv(os.Getenv)
	if err != nil {
		log.Error("snapshot: configuration", "error", err.Error())
		os.Exit(1)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("snapshot: AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	// The local runner's virtual clock (shared/clockfile): nil, the real
	// clock, unless the local stack set SNAPKEEP_CLOCK_FILE.
	clock, err := clockfile.FromEnv(os.Getenv)
	if err != nil {
		log.Error("snapshot: clock", "error", err.Error())
		os.Exit(1)
	}
	h := newHandler(env, clients{
		DynamoDB: dynamodb.NewFromConfig(cfg),
		Secrets:  secretsmanager.NewFromConfig(cfg),
		SQS:      sqs.NewFromConfig(cfg),
		Now:      clock.NowFunc(),
		Sleep:    clock.SleepFunc(),
	}, log)
	lambda.Start(clock.Handler(h.Handle))
}
