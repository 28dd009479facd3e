package snapkeep

import (
	"errors"
	"fmt"
	"testing"
)

// TestRejectedError: the text names scope, code and reason, and errors.As
// finds the rejection through a service's wrapping.
func TestRejectedError(t *testing.T) {
	for _, tc := range []struct {
		rej  RejectedError
		want string
	}{
		{RejectedError{Scope: RejectRecipient, Code: "Suppressed", Reason: "on the suppression list"}, "rejected (recipient, Suppressed): on the suppression list"},
		{RejectedError{Scope: RejectMessage, Code: "HTTP 400 invalid_payload", Reason: "bad blocks"}, "rejected (message, HTTP 400 invalid_payload): bad blocks"},
		{RejectedError{Scope: RejectSender, Code: "SendingPausedException", Reason: "paused"}, "rejected (sender, SendingPausedException): paused"},
	} {
		if got := tc.rej.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		wrapped := fmt.Errorf("send notice: %w", &tc.rej)
		var rej *RejectedError
		if !errors.As(wrapped, &rej) || rej.Scope != tc.rej.Scope || rej.Code != tc.rej.Code {
			t.Errorf("errors.As(%v) = %+v, want the %s rejection", wrapped, rej, tc.rej.Scope)
		}
	}
}
