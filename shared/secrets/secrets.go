// Package secrets is the Secrets Manager adapter: it reads and writes the
// DigitalOcean API token of each account. A token is only ever returned to
// the caller; it never appears in an error message.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// EnvPrefix is the environment variable that carries the secret name
// prefix to the functions and snapctl, e.g. "snapkeep/prod/accounts/".
const EnvPrefix = "TOKEN_SECRET_PREFIX"

// Client is the part of *secretsmanager.Client the Store uses, with the
// SDK's own method signatures.
type Client interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
}

var _ Client = (*secretsmanager.Client)(nil)

// Store keeps one secret per DigitalOcean account, named Prefix + account id;
// the secret string is the account's API token.
type Store struct {
	// Client is the Secrets Manager client.
	Client Client
	// Prefix starts every secret name, e.g. "snapkeep/prod/accounts/".
	Prefix string
}

// accountIDPattern is what an account id may look like (the rule of
// snapkeep.Policy.Validate for account_id): it becomes part of a secret
// name, so only characters Secrets Manager allows and no "/".
var accountIDPattern = regexp.MustCompile(`^[0-9A-Za-z_.-]{1,64}$`)

// ValidateAccountID reports whether id can name an account's secret: 1 to
// 64 letters, digits, '.', '_' or '-', as snapkeep.Policy.Validate requires
// of account_id. The error wraps snapkeep.ErrInvalid. An id that looks like
// a DigitalOcean token is refused without repeating it.
func ValidateAccountID(id string) error {
	if looksLikeToken(id) {
		return fmt.Errorf("account id looks like a DigitalOcean token (it is not repeated here); pass the account id, and the token on stdin: %w", snapkeep.ErrInvalid)
	}
	if !accountIDPattern.MatchString(id) {
		return fmt.Errorf("account id %q: must be 1-64 letters, digits, '.', '_' or '-': %w", id, snapkeep.ErrInvalid)
	}
	return nil
}

// looksLikeToken reports whether s has a DigitalOcean token prefix
// (personal access, OAuth and refresh tokens).
func looksLikeToken(s string) bool {
	for _, p := range []string{"dop_v1_", "doo_v1_", "dor_v1_"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// SecretName returns the secret name of the account's token, or an error
// wrapping snapkeep.ErrInvalid when the account id is not acceptable.
func (s *Store) SecretName(accountID string) (string, error) {
	if err := ValidateAccountID(accountID); err != nil {
		return "", err
	}
	return s.Prefix + accountID, nil
}

// Token returns the account's API token. A missing secret is an error
// wrapping snapkeep.ErrNotFound that names the account and the secret.
func (s *Store) Token(ctx context.Context, accountID string) (string, error) {
	name, err := s.SecretName(accountID)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	out, err := s.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return "", fmt.Errorf("token of account %q: no secret %q: %w", accountID, name, snapkeep.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("token of account %q: read secret %q: %w", accountID, name, err)
	}
	if out.SecretString == nil || *out.SecretString == "" {
		return "", fmt.Errorf("token of account %q: secret %q has no string value", accountID, name)
	}
	return *out.SecretString, nil
}

// PutToken stores the account's API token, creating the secret when it does
// not exist yet and adding a new version when it does.
func (s *Store) PutToken(ctx context.Context, accountID, token string) error {
	name, err := s.SecretName(accountID)
	if err != nil {
		return fmt.Errorf("put token: %w", err)
	}
	if strings.TrimSpace(token) == "" {
		return fmt.Errorf("put token of account %q: token is empty: %w", accountID, snapkeep.ErrInvalid)
	}
	if strings.TrimSpace(token) != token {
		return fmt.Errorf("put token of account %q: token has leading or trailing white space: %w", accountID, snapkeep.ErrInvalid)
	}
	err = s.putValue(ctx, name, token)
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		_, err = s.Client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
			Name:         aws.String(name),
			SecretString: aws.String(token),
			Description:  aws.String("snapkeep: DigitalOcean API token of account " + accountID),
		})
		var exists *types.ResourceExistsException
		if errors.As(err, &exists) { // created concurrently; add our version
			err = s.putValue(ctx, name, token)
		}
	}
	if err != nil {
		return fmt.Errorf("put token of account %q: write secret %q: %w", accountID, name, redact(err, token))
	}
	return nil
}

func (s *Store) putValue(ctx context.Context, name, token string) error {
	_, err := s.Client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId:     aws.String(name),
		SecretString: aws.String(token),
	})
	return err
}

// redact returns err unchanged unless its message contains the token; then
// it returns a plain error with the token replaced and no wrapped cause, so
// nothing down the chain can print it.
func redact(err error, token string) error {
	if err == nil || token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), token, "REDACTED"))
}
