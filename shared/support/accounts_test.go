package support_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/docloud"
	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/secrets"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
)

func TestListAccounts(t *testing.T) {
	env := awstest.New(t)
	prefix := "snapkeep/" + strings.TrimSuffix(env.Prefix, "-") + "/accounts/"
	const n = 105 // more than one page of 100
	for i := 0; i < n; i++ {
		env.PutSecret(t, fmt.Sprintf("%sacct-%03d", prefix, i), dotest.NewToken())
	}
	env.PutSecret(t, prefix+"team/acct-x", dotest.NewToken())           // not an account id
	env.PutSecret(t, prefix+"x/../acct-y", dotest.NewToken())           // nor this
	env.PutSecret(t, strings.TrimSuffix(prefix, "/")+"2/acct-z", "tok") // another prefix
	list, err := support.ListAccounts(context.Background(), env.SecretsManager(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Accounts) != n || list.Others != 2 {
		t.Fatalf("%d accounts and %d others, want %d and 2", len(list.Accounts), list.Others, n)
	}
	for i, a := range list.Accounts {
		if want := fmt.Sprintf("acct-%03d", i); a.AccountID != want || a.SecretName != prefix+want || a.Created == nil {
			t.Errorf("account %d = %+v, want %s", i, a, want)
		}
	}
	if _, err := support.ListAccounts(context.Background(), env.SecretsManager(), ""); !errors.Is(err, snapkeep.ErrInvalid) {
		t.Errorf("an empty prefix: %v", err)
	}
}

// tokens is a support.TokenReader of a map.
type tokens map[string]string

func (m tokens) Token(_ context.Context, id string) (string, error) {
	if v, ok := m[id]; ok {
		return v, nil
	}
	return "", fmt.Errorf("token of account %q: %w", id, snapkeep.ErrNotFound)
}

func TestCheckAccountAgainstTheFake(t *testing.T) {
	srv := dotest.NewServer()
	defer srv.Close()
	good, locked, revoked := dotest.NewToken(), dotest.NewToken(), dotest.NewToken()
	for _, tok := range []string{good, locked, revoked} {
		srv.AddToken(tok)
	}
	a, _ := srv.Account(locked)
	a.Status, a.StatusMessage, a.EmailVerified = "locked", "billing", true
	srv.SetAccount(locked, a)
	srv.RevokeToken(revoked)
	store := tokens{"good": good, "locked": locked, "revoked": revoked, "malformed": good + "\n"}
	var sent []string
	connect := func(token string) support.AccountChecker {
		sent = append(sent, token)
		return docloud.New(token, docloud.WithBaseURL(srv.URL), docloud.WithHTTPTimeout(10*time.Second))
	}
	tests := []struct {
		account  string
		problems []string
		err      string
		is       error
	}{
		{"good", nil, "", nil},
		{"locked", []string{"is locked: it cannot take snapshots (billing)"}, "", nil},
		{"revoked", nil, "auth_revoked: 401", nil},
		{"malformed", nil, "the stored token is malformed", nil},
		{"missing", nil, "not found", snapkeep.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.account, func(t *testing.T) {
			sent = nil
			res, err := support.CheckAccount(context.Background(), store, connect, tt.account)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || (tt.is != nil && !errors.Is(err, tt.is)) {
					t.Fatalf("err %v, want one saying %q", err, tt.err)
				}
				for _, tok := range store {
					if strings.Contains(err.Error(), strings.TrimSpace(tok)) {
						t.Errorf("the error holds the token")
					}
				}
				if tt.account == "malformed" && len(sent) != 0 {
					t.Errorf("a malformed token was sent")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Account.UUID == "" || res.Account.Rate.Limit != 5000 || res.Account.Rate.Remaining >= 5000 {
				t.Errorf("account %+v", res.Account)
			}
			if strings.Join(res.Problems, "|") != strings.Join(tt.problems, "|") && !(len(tt.problems) == 1 && len(res.Problems) == 1 && strings.Contains(res.Problems[0], tt.problems[0])) {
				t.Errorf("problems %q, want %q", res.Problems, tt.problems)
			}
		})
	}
}

var _ support.TokenReader = (*secrets.Store)(nil)
var _ support.AccountChecker = (*docloud.Client)(nil)
