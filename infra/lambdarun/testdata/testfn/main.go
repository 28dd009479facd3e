// Command testfn is a tiny Lambda function for lambdarun's tests. Its event
// says what to do: {"do":"echo","text":"hi"}, {"do":"error"}, {"do":"panic"},
// {"do":"sleep","ms":500} or {"do":"exit"}. TESTFN_INIT=exit makes it fail
// at init by exiting; TESTFN_INIT=report makes it post an init error first.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Do   string `json:"do"`
	Text string `json:"text"`
	MS   int    `json:"ms"`
}

type reply struct {
	Text       string `json:"text"`
	RequestID  string `json:"request_id"`
	ARN        string `json:"arn"`
	DeadlineMS int64  `json:"deadline_ms"`
	Name       string `json:"function_name"`
	LogFormat  string `json:"log_format"`
	Extra      string `json:"extra"`
	Home       string `json:"home"`
	PID        int    `json:"pid"`
}

func main() {
	switch os.Getenv("TESTFN_INIT") {
	case "exit":
		fmt.Fprintln(os.Stderr, "testfn: missing configuration FOO")
		os.Exit(3)
	case "report":
		body := strings.NewReader(`{"errorMessage":"cannot load configuration","errorType":"Config.Missing"}`)
		resp, err := http.Post("http://"+os.Getenv("AWS_LAMBDA_RUNTIME_API")+"/2018-06-01/runtime/init/error", "application/json", body)
		if err == nil {
			resp.Body.Close()
		}
		os.Exit(1)
	}
	lambda.Start(handle)
}

func handle(ctx context.Context, ev event) (*reply, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	dl, _ := ctx.Deadline()
	r := &reply{
		Text: ev.Text, RequestID: lc.AwsRequestID, ARN: lc.InvokedFunctionArn, DeadlineMS: dl.UnixMilli(),
		Name: os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), LogFormat: os.Getenv("AWS_LAMBDA_LOG_FORMAT"),
		Extra: os.Getenv("TESTFN_EXTRA"), Home: os.Getenv("HOME"), PID: os.Getpid(),
	}
	switch ev.Do {
	case "error":
		return nil, errors.New("the snapshot could not be taken")
	case "panic":
		panic("something broke")
	case "sleep":
		select {
		case <-time.After(time.Duration(ev.MS) * time.Millisecond):
		case <-ctx.Done():
			// Lambda does not stop a function at its deadline; neither do we.
			time.Sleep(time.Duration(ev.MS) * time.Millisecond)
		}
	case "exit":
		os.Exit(4)
	}
	return r, nil
}
