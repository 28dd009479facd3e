package secrets_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/secrets"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// TestMain starts one moto server for the package's tests.
func TestMain(m *testing.M) { awstest.Main(m) }

// newToken returns a fresh fake DigitalOcean token.
func newToken(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "dop_v1_" + hex.EncodeToString(b)
}

// newStore returns a Store on moto with a prefix no other test uses.
func newStore(t *testing.T) (*secrets.Store, *secretsmanager.Client) {
	t.Helper()
	env := awstest.New(t)
	c := secretsmanager.NewFromConfig(env.Config)
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return &secrets.Store{Client: c, Prefix: "snapkeep/test-" + hex.EncodeToString(b) + "/accounts/"}, c
}

func TestPutTokenCreatesThenUpdates(t *testing.T) {
	ctx := context.Background()
	s, c := newStore(t)

	first := newToken(t)
	if err := s.PutToken(ctx, "acct-1", first); err != nil {
		t.Fatalf("PutToken (create): %v", err)
	}
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.Prefix + "acct-1")})
	if err != nil {
		t.Fatalf("secret %sacct-1 not created: %v", s.Prefix, err)
	}
	if aws.ToString(out.SecretString) != first {
		t.Errorf("stored secret differs from the token put")
	}
	got, err := s.Token(ctx, "acct-1")
	if err != nil || got != first {
		t.Fatalf("Token after create: got the put token = %t, err = %v", got == first, err)
	}

	second := newToken(t)
	if err := s.PutToken(ctx, "acct-1", second); err != nil {
		t.Fatalf("PutToken (update): %v", err)
	}
	got, err = s.Token(ctx, "acct-1")
	if err != nil || got != second {
		t.Fatalf("Token after update: got the new token = %t, err = %v", got == second, err)
	}

	// Another account is a different secret.
	if _, err := s.Token(ctx, "acct-2"); !errors.Is(err, snapkeep.ErrNotFound) {
		t.Errorf("Token of acct-2: err = %v, want ErrNotFound", err)
	}
}

func TestTokenMissing(t *testing.T) {
	s, _ := newStore(t)
	_, err := s.Token(context.Background(), "acct-missing")
	if !errors.Is(err, snapkeep.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	for _, want := range []string{`"acct-missing"`, s.Prefix + "acct-missing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to name %s", err, want)
		}
	}
}

func TestInvalidAccountIDs(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	token := newToken(t)
	tests := []struct {
		name, id string
	}{
		{"empty", ""},
		{"slash", "a/b"},
		{"parent", "../other"},
		{"space", "acct 1"},
		{"star", "acct*"},
		{"too long", strings.Repeat("a", 65)},
		{"token as id", token},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := secrets.ValidateAccountID(tt.id); !errors.Is(err, snapkeep.ErrInvalid) {
				t.Errorf("ValidateAccountID(%q) = %v, want ErrInvalid", tt.id, err)
			}
			err := s.PutToken(ctx, tt.id, token)
			if !errors.Is(err, snapkeep.ErrInvalid) {
				t.Errorf("PutToken: err = %v, want ErrInvalid", err)
			}
			if err != nil && strings.Contains(err.Error(), token) {
				t.Errorf("PutToken error contains the token")
			}
			_, err = s.Token(ctx, tt.id)
			if !errors.Is(err, snapkeep.ErrInvalid) {
				t.Errorf("Token: err = %v, want ErrInvalid", err)
			}
			if err != nil && strings.Contains(err.Error(), token) {
				t.Errorf("Token error contains the token")
			}
		})
	}
	for _, id := range []string{"a", "acct-1", "ACME_prod.2", "-x", "..", strings.Repeat("a", 64)} {
		if err := secrets.ValidateAccountID(id); err != nil {
			t.Errorf("ValidateAccountID(%q) = %v, want nil", id, err)
		}
	}
}

func TestPutTokenRejectsBadTokens(t *testing.T) {
	s, _ := newStore(t)
	token := newToken(t)
	for _, bad := range []string{"", "  ", token + "\n", " " + token} {
		err := s.PutToken(context.Background(), "acct-1", bad)
		if !errors.Is(err, snapkeep.ErrInvalid) {
			t.Errorf("PutToken of a bad token: err = %v, want ErrInvalid", err)
		}
		if err != nil && strings.Contains(err.Error(), token) {
			t.Errorf("error contains the token: %q", err)
		}
	}
}

// echoingClient is a Secrets Manager whose errors quote the request, as a
// careless proxy might: moto never does, so this is the one fake here.
type echoingClient struct{ secrets.Client }

func (echoingClient) PutSecretValue(_ context.Context, in *secretsmanager.PutSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	return nil, errors.New("bad request: SecretString=" + aws.ToString(in.SecretString))
}

func TestPutTokenErrorNeverContainsToken(t *testing.T) {
	s := &secrets.Store{Client: echoingClient{}, Prefix: "p/"}
	token := newToken(t)
	err := s.PutToken(context.Background(), "acct-1", token)
	if err == nil {
		t.Fatal("PutToken succeeded against a failing client")
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error contains the token")
	}
	for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), token) {
			t.Errorf("a wrapped error contains the token")
		}
	}
	if !strings.Contains(err.Error(), "REDACTED") || !strings.Contains(err.Error(), `"acct-1"`) {
		t.Errorf("err = %q, want the account named and the token REDACTED", err)
	}
}
