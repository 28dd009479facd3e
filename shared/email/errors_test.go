package email

import (
	"testing"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// TestRejectedDomain: SES's verdicts as the services read them; an
// unverified identity is the deployment's problem, whatever SES's code.
func TestRejectedDomain(t *testing.T) {
	for _, tc := range []struct {
		r    Rejected
		want snapkeep.RejectScope
	}{
		{Rejected{Code: CodeSuppressed, Scope: ScopeRecipient}, snapkeep.RejectRecipient},
		{Rejected{Code: "MessageRejected", Scope: ScopeMessage, Reason: "Message contains a virus"}, snapkeep.RejectMessage},
		{Rejected{Code: "MessageRejected", Scope: ScopeMessage, Reason: "Email address is not verified. The following identities failed the check"}, snapkeep.RejectSender},
		{Rejected{Code: "AccountSuspendedException", Scope: ScopeSender}, snapkeep.RejectSender},
	} {
		got := tc.r.Domain()
		if got.Scope != tc.want || got.Code != tc.r.Code || got.Reason != tc.r.Reason {
			t.Errorf("Domain(%+v) = %+v, want scope %s with the same code and reason", tc.r, got, tc.want)
		}
	}
}
