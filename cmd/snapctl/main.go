// Command snapctl is snapkeep's ops and support tool: it answers
// support's questions (runs, why one failed, its DigitalOcean calls, who
// got which failure, open incidents) through shared/support, manages
// backup policies and customers in the stack's DynamoDB tables, stores
// and checks DigitalOcean account tokens in Secrets Manager, and starts
// on-demand runs. It parses flags and prints; the queries and their
// wording live in shared/support.
//
// It finds a deployed stack's names from its CloudFormation outputs
// (--stack, SNAPKEEP_STACK, --stage) and talks to AWS or to the local stack
// through the standard AWS environment (AWS_ENDPOINT_URL, AWS_REGION,
// AWS_PROFILE, ...). Build with -ldflags "-X main.version=v1.2.3" to name
// the release in --version. Run "snapctl --help" for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
