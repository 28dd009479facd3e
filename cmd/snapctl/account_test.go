package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// newToken returns a fresh fake DigitalOcean token.
func newToken(t *testing.T) string { return "dop_v1_" + randomHex(t, 32) }

// storedSecret returns the secret's value, or "" and false when there is none.
func (c *cli) storedSecret(name string) (string, bool) {
	c.t.Helper()
	out, err := secretsmanager.NewFromConfig(c.env.Config).GetSecretValue(context.Background(),
		&secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return "", false
	}
	if err != nil {
		c.t.Fatalf("read secret %s: %v", name, err)
	}
	return aws.ToString(out.SecretString), true
}

func assertNoToken(t *testing.T, r result, token string) {
	t.Helper()
	if strings.Contains(r.stdout, token) || strings.Contains(r.stderr, token) {
		t.Errorf("the token appears in the output")
	}
}

func TestAccountSetToken(t *testing.T) {
	c := newCLI(t)
	first := newToken(t)
	r := c.run(first+"\n", "account", "set-token", "acme-main")
	if r.code != exitOK {
		t.Fatalf("set-token: exit %d\nstderr: %s", r.code, strings.ReplaceAll(r.stderr, first, "REDACTED"))
	}
	assertNoToken(t, r, first)
	name := c.prefix + "acme-main"
	if !strings.Contains(r.stdout, "secret "+name) {
		t.Errorf("set-token output %q does not name the secret %s", r.stdout, name)
	}
	if v, ok := c.storedSecret(name); !ok || v != first {
		t.Errorf("secret %s: exists %t, holds the token %t", name, ok, v == first)
	}

	// A second token becomes the current version.
	second := newToken(t)
	r = c.run(second, "account", "set-token", "acme-main", "-o", "json")
	if r.code != exitOK {
		t.Fatalf("second set-token: exit %d", r.code)
	}
	assertNoToken(t, r, second)
	if !strings.Contains(r.stdout, `"secret_name": "`+name+`"`) {
		t.Errorf("json output %q", r.stdout)
	}
	if v, _ := c.storedSecret(name); v != second {
		t.Errorf("secret %s does not hold the second token", name)
	}
}

func TestAccountSetTokenRefusals(t *testing.T) {
	c := newCLI(t)
	token := newToken(t)
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  []string
	}{
		{"token flag", "", []string{"set-token", "acme-main", "--token", token}, []string{"never taken from a flag", "pipe the token on stdin"}},
		{"token flag with equals", token, []string{"set-token", "acme-main", "--token=" + token}, []string{"never taken from a flag"}},
		{"token flag without account", "", []string{"set-token", "--token", token}, []string{"never taken from a flag"}},
		{"token as second argument", "", []string{"set-token", "acme-main", token}, []string{"exactly 1 argument", "got 2"}},
		{"token as account id", "", []string{"set-token", token}, []string{"looks like a DigitalOcean token"}},
		{"empty stdin", "", []string{"set-token", "acme-main"}, []string{"no token on stdin", "pipe the token on stdin"}},
		{"blank stdin", " \n\n", []string{"set-token", "acme-main"}, []string{"no token on stdin"}},
		{"two lines", token + "\n" + token + "\n", []string{"set-token", "acme-main"}, []string{"just the token"}},
		{"bad account id", token, []string{"set-token", "acme/main"}, []string{"account id", "letters, digits"}},
		{"unknown shorthand", token, []string{"set-token", "acme-main", "-t" + token}, []string{"unknown shorthand flag"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.run(tt.stdin, append([]string{"account"}, tt.args...)...)
			assertFails(t, r, exitUsage, tt.want...)
			assertNoToken(t, r, token)
		})
	}
	for _, id := range []string{"acme-main", "acme"} {
		if _, ok := c.storedSecret(c.prefix + id); ok {
			t.Errorf("a refused set-token wrote secret %s", c.prefix+id)
		}
	}
}

func TestAccountSetTokenRefusesTerminalStdin(t *testing.T) {
	c := newCLI(t)
	dev, err := os.Open(os.DevNull) // a character device, like a terminal
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	var stdout, stderr bytes.Buffer
	a := newApp(dev, &stdout, &stderr, func(k string) string { return c.vars[k] })
	code := a.run(context.Background(), []string{"account", "set-token", "acme-main"})
	assertFails(t, result{code: code, stdout: stdout.String(), stderr: stderr.String()}, exitUsage, "not a pipe or file", "pipe the token on stdin")
}
