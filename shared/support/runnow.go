package support

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Invoker is the part of *lambda.Client RunNow uses, with the SDK's own
// method signature.
type Invoker interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

var _ Invoker = (*lambda.Client)(nil)

// OnDemandRequest is the snapshot function's input for an on-demand run
// (the slot is the time of the invocation, trigger on_demand).
type OnDemandRequest struct {
	// PolicyID is the policy to run now; a request with nothing else is
	// on-demand (shared/snapshot.DecodeRequest).
	PolicyID string `json:"policy_id"`
}

// RunNowResult is what the snapshot function answered to an on-demand run.
type RunNowResult struct {
	// Function is the function invoked.
	Function string `json:"function"`
	// RunID is the run started ("<policy_id>#<slot>"); empty when none was.
	RunID string `json:"run_id,omitempty"`
	// Status is the run's status after the invocation.
	Status snapkeep.RunStatus `json:"status,omitempty"`
	// Action says what the invocation did: claimed, duplicate, not_found,
	// rejected, ...
	Action string `json:"action,omitempty"`
}

// maxFunctionError bounds how much of a function error is quoted.
const maxFunctionError = 512

// RunNow starts an on-demand run of the policy: it invokes the snapshot
// function synchronously with {"policy_id": ...} and returns its outcome.
// The function claims a slot at the current second, takes the snapshot
// and leaves the run to the sweep; it does not wait for the snapshot to
// finish. A function error (the function crashed or returned one) is an
// error quoting its message, bounded.
func RunNow(ctx context.Context, c Invoker, function, policyID string) (*RunNowResult, error) {
	if !snapkeep.ValidID(policyID) {
		return nil, fmt.Errorf("%q is not a policy id: %w", policyID, snapkeep.ErrInvalid)
	}
	if function == "" {
		return nil, fmt.Errorf("no snapshot function to invoke: %w", snapkeep.ErrInvalid)
	}
	payload, err := json.Marshal(OnDemandRequest{PolicyID: policyID})
	if err != nil {
		return nil, err
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(function),
		InvocationType: lambdatypes.InvocationTypeRequestResponse,
		Payload:        payload,
	})
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", function, err)
	}
	if fe := aws.ToString(out.FunctionError); fe != "" {
		var body struct {
			Message string `json:"errorMessage"`
			Type    string `json:"errorType"`
		}
		_ = json.Unmarshal(out.Payload, &body)
		return nil, fmt.Errorf("invoke %s: the function failed (%s): %s", function, fe, snapkeep.Bound(orNone(body.Message), maxFunctionError))
	}
	res := &RunNowResult{Function: function}
	if err := json.Unmarshal(out.Payload, res); err != nil {
		return nil, fmt.Errorf("invoke %s: its answer (%d bytes) is not the snapshot function's outcome; is --function the snapshot function?", function, len(out.Payload))
	}
	res.Function = function
	return res, nil
}
