// Command errorrate is the Lambda function on the Runs table's stream that
// counts error rates and alerts ops when DigitalOcean's error rate rises.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

func main() {
	h := &Handler{Log: lambdacontext.NewLogger()}
	lambda.Start(h.Handle)
}
