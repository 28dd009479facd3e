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

	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/support"
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

// TestSetTokenRefusesWhatDigitalOceanNeverIssues checks the token's form:
// exactly one trailing "\n" is removed, anything else is refused saying
// where the fault is, and nothing is stored or echoed.
func TestSetTokenRefusesWhatDigitalOceanNeverIssues(t *testing.T) {
	c := newCLI(t)
	hex := randomHex(t, 32)
	tests := []struct {
		name  string
		stdin string
		want  []string
	}{
		{"two trailing newlines", "dop_v1_" + hex + "\n\n", []string{"more than one line break", "only one trailing newline is removed"}},
		{"windows line ending", "dop_v1_" + hex + "\r\n", []string{"carriage return", "Windows line endings"}},
		{"trailing space", "dop_v1_" + hex + " \n", []string{"white space at byte 71 of 72"}},
		{"leading space", " dop_v1_" + hex, []string{"white space at byte 0"}},
		{"tab inside", "dop_v1_" + hex[:10] + "\t" + hex[10:], []string{"white space at byte 17"}},
		{"upper-case hex", "dop_v1_" + strings.ToUpper(hex), []string{"not of DigitalOcean's form", "DigitalOcean never issues such a token"}},
		{"too short", "dop_v1_" + hex[:63], []string{"(70 characters) is not of DigitalOcean's form"}},
		{"non-ASCII", "dop_v1_" + hex[:63] + "é", []string{"non-ASCII character at byte 70"}},
		{"prefix alone", "dop_v1_\n", []string{"not of DigitalOcean's form"}},
		{"control character", "dop_v1_" + hex[:63] + "\x00", []string{"control character at byte 70"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.run(tt.stdin, "account", "set-token", "acme-main")
			assertFails(t, r, exitUsage, append(tt.want, "nothing was stored")...)
			assertNoToken(t, r, strings.TrimSpace(tt.stdin))
			assertNoToken(t, r, hex[:40])
		})
	}
	if _, ok := c.storedSecret(c.prefix + "acme-main"); ok {
		t.Errorf("a refused token was stored")
	}
	// Exactly one trailing newline (echo's) is removed; OAuth and legacy forms pass.
	for _, token := range []string{"doo_v1_" + hex, hex} {
		r := c.run(token+"\n", "account", "set-token", "acme-main")
		if r.code != exitOK {
			t.Fatalf("set-token of a valid %d-character token: exit %d: %s", len(token), r.code, strings.ReplaceAll(r.stderr, token, "REDACTED"))
		}
		if v, _ := c.storedSecret(c.prefix + "acme-main"); v != token {
			t.Errorf("stored token is not the one given without its newline")
		}
	}
}

func TestAccountListAndCheck(t *testing.T) {
	c := newCLI(t)
	srv := dotest.NewServer()
	defer srv.Close()
	good, revoked := dotest.NewToken(), dotest.NewToken()
	srv.AddToken(good)
	srv.AddToken(revoked)
	srv.RevokeToken(revoked)
	for account, token := range map[string]string{"acme-main": good, "acme-old": revoked} {
		if r := c.run(token, "account", "set-token", account); r.code != exitOK {
			t.Fatalf("set-token %s: %s", account, r.stderr)
		}
	}
	r := c.ok("account", "list")
	if !strings.Contains(r.stdout, "acme-main") || !strings.Contains(r.stdout, "acme-old") || !strings.Contains(r.stdout, c.prefix+"acme-main") {
		t.Errorf("account list:\n%s", r.stdout)
	}
	assertNoToken(t, r, good)
	var list support.AccountList
	c.jsonOut(&list, "account", "list")
	if len(list.Accounts) != 2 || list.Accounts[0].AccountID != "acme-main" {
		t.Errorf("account list -o json: %+v", list)
	}

	r = c.ok("account", "check", "acme-main", "--api-url", srv.URL)
	for _, s := range []string{"Account:", "acme-main", "Status:", "active", "Rate limit:", "of 5000 requests an hour left", "Scopes:"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("account check lacks %q:\n%s", s, r.stdout)
		}
	}
	assertNoToken(t, r, good)
	c.vars[envAPIURL] = srv.URL // the environment points at the fake too
	r = c.run("", "account", "check", "acme-old")
	assertFails(t, r, exitFailure, `account "acme-old"`, "auth_revoked: 401", "snapctl account set-token acme-old")
	assertNoToken(t, r, revoked)
	assertFails(t, c.run("", "account", "check", "acme-none"), exitUsage, `no secret "`+c.prefix+`acme-none"`, "snapctl account set-token acme-none")

	// --check refuses a token DigitalOcean refuses, storing nothing.
	r = c.run(revoked, "account", "set-token", "acme-new", "--check")
	assertFails(t, r, exitFailure, "DigitalOcean refused the token, so it was not stored")
	assertNoToken(t, r, revoked)
	if _, ok := c.storedSecret(c.prefix + "acme-new"); ok {
		t.Errorf("--check stored a refused token")
	}
	r = c.run(good, "account", "set-token", "acme-new", "--check")
	if r.code != exitOK || !strings.Contains(r.stderr, "DigitalOcean accepts the token") {
		t.Errorf("--check of a good token: exit %d, %s", r.code, r.stderr)
	}
}
