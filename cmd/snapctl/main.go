// Command snapctl is snapkeep's ops and support tool: it manages backup
// policies and customers in the stack's DynamoDB tables and stores
// DigitalOcean account tokens in Secrets Manager.
//
// It talks to AWS or to the local stack through the standard AWS
// environment (AWS_ENDPOINT_URL, AWS_REGION, AWS_PROFILE, ...). Run
// "snapctl --help" for the commands.
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
