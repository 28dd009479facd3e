package support

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/snapkeep/snapkeep/shared/docloud"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// SecretLister is the part of *secretsmanager.Client ListAccounts uses,
// with the SDK's own method signature. Listing returns names and dates,
// never a secret's value.
type SecretLister interface {
	ListSecrets(ctx context.Context, in *secretsmanager.ListSecretsInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
}

var _ SecretLister = (*secretsmanager.Client)(nil)

// MaxAccounts bounds how many token secrets ListAccounts reads.
const MaxAccounts = 10000

// AccountToken is an account that has a token secret: never the token.
type AccountToken struct {
	// AccountID is the account id (the secret name without the prefix).
	AccountID string `json:"account_id"`
	// SecretName is the secret's name.
	SecretName string `json:"secret_name"`
	// Created and Changed are when the secret was created and last given
	// a new value (a new token), when Secrets Manager says.
	Created *time.Time `json:"created,omitempty"`
	Changed *time.Time `json:"changed,omitempty"`
}

// AccountList is what ListAccounts found.
type AccountList struct {
	// Accounts are by account id.
	Accounts []AccountToken `json:"accounts"`
	// Others counts secrets under the prefix whose rest is not an account id.
	Others int `json:"others,omitempty"`
}

// ListAccounts lists the accounts whose token is stored under prefix, by
// account id. Secrets scheduled for deletion are not listed.
func ListAccounts(ctx context.Context, c SecretLister, prefix string) (*AccountList, error) {
	if prefix == "" {
		return nil, fmt.Errorf("list accounts: the secret prefix is empty: %w", snapkeep.ErrInvalid)
	}
	in := &secretsmanager.ListSecretsInput{
		Filters:    []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{prefix}}},
		MaxResults: aws.Int32(100),
	}
	res := &AccountList{}
	for seen := 0; ; {
		out, err := c.ListSecrets(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list secrets under %q: %w", prefix, err)
		}
		for _, s := range out.SecretList {
			seen++
			name := aws.ToString(s.Name)
			id, ok := strings.CutPrefix(name, prefix) // the filter's match is looser
			switch {
			case !ok:
				continue
			case !snapkeep.ValidID(id):
				res.Others++
				continue
			}
			res.Accounts = append(res.Accounts, AccountToken{AccountID: id, SecretName: name,
				Created: utcPtr(s.CreatedDate), Changed: utcPtr(s.LastChangedDate)})
		}
		if aws.ToString(out.NextToken) == "" || seen >= MaxAccounts {
			break
		}
		in.NextToken = out.NextToken
	}
	sort.Slice(res.Accounts, func(i, j int) bool { return res.Accounts[i].AccountID < res.Accounts[j].AccountID })
	return res, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// TokenReader reads an account's token (secrets.Store).
type TokenReader interface {
	Token(ctx context.Context, accountID string) (string, error)
}

// AccountChecker makes the one cheap authenticated call (docloud.Client).
type AccountChecker interface {
	CheckAccount(ctx context.Context) (*docloud.Account, error)
}

// AccountCheck is what `snapctl account check` reports: the account the
// token belongs to and the token's hourly budget. DigitalOcean's API does
// not tell a token's scopes; a token lacking one fails the first run that
// needs it (auth_revoked, 403).
type AccountCheck struct {
	// AccountID is the snapkeep account checked.
	AccountID string `json:"account_id"`
	// Account is DigitalOcean's answer.
	Account *docloud.Account `json:"account"`
	// Problems say what would stop snapshots (a locked account, an
	// unverified email), in plain words; empty when none.
	Problems []string `json:"problems,omitempty"`
}

// CheckAccount reads the account's token and makes one cheap call with it
// (GET /v2/account). The token never leaves this function: connect gets
// it, errors never hold it. A missing secret wraps snapkeep.ErrNotFound; a
// token DigitalOcean would never issue fails without a request.
func CheckAccount(ctx context.Context, tokens TokenReader, connect func(token string) AccountChecker, accountID string) (*AccountCheck, error) {
	token, err := tokens.Token(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if err := snapkeep.CheckToken(token); err != nil {
		return nil, fmt.Errorf("account %q: the stored token is malformed (%w); store it again with snapctl account set-token %s", accountID, err, accountID)
	}
	acct, err := connect(token).CheckAccount(ctx)
	if err != nil {
		var pe *snapkeep.ProviderError
		if errors.As(err, &pe) {
			hint := ""
			if pe.Class == snapkeep.ClassAuthRevoked {
				hint = "; store a new token with snapctl account set-token " + accountID
			}
			return nil, fmt.Errorf("account %q: %w (%s)%s", accountID, err, pe.Class.Info().Cause, hint)
		}
		return nil, fmt.Errorf("account %q: %w", accountID, err)
	}
	check := &AccountCheck{AccountID: accountID, Account: acct}
	if acct.Status == "locked" {
		check.Problems = append(check.Problems, "the DigitalOcean account is locked: it cannot take snapshots ("+orNone(acct.StatusMessage)+")")
	}
	if !acct.EmailVerified {
		check.Problems = append(check.Problems, "the DigitalOcean account's email is not verified")
	}
	if acct.Rate.Limit > 0 && acct.Rate.Remaining*10 < acct.Rate.Limit {
		check.Problems = append(check.Problems, fmt.Sprintf("the token has %d of its %d requests an hour left", acct.Rate.Remaining, acct.Rate.Limit))
	}
	return check, nil
}

func orNone(s string) string {
	if s == "" {
		return "no reason given"
	}
	return s
}
