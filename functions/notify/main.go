// Command notify is the Lambda function on the Runs table's stream that
// tells customers, in plain language, when a backup failed.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

func main() {
	h := &Handler{Log: lambdacontext.NewLogger()}
	lambda.Start(h.Handle)
}
