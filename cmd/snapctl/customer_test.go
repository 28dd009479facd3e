package main

import (
	"context"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/support"
)

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

func TestCustomerPutGet(t *testing.T) {
	c := newCLI(t)
	r := c.ok("customer", "put", "--id", "acme", "--name", "Acme Ltd", "--email", "ops@acme.example",
		"--slack-webhook", "https://hooks.slack.com/services/T0/B0/abc")
	if !strings.Contains(r.stdout, "Stored customer acme") {
		t.Errorf("put output %q", r.stdout)
	}
	var got support.CustomerView
	c.jsonOut(&got, "customer", "get", "acme")
	want := support.CustomerView{CustomerID: "acme", Name: "Acme Ltd", Email: "ops@acme.example",
		NotificationMode: snapkeep.NotifyEveryFailure, SlackWebhook: support.SecretSet, PreferencesToken: support.SecretSet,
		CreatedAt: c.now, UpdatedAt: c.now}
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("customer times: created %v updated %v, want %v", got.CreatedAt, got.UpdatedAt, c.now)
	}
	got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if got != want {
		t.Errorf("customer get -o json = %+v\nwant %+v", got, want)
	}
	r = c.ok("customer", "get", "acme")
	for _, s := range []string{"Acme Ltd", "ops@acme.example", "every_failure", "Slack webhook:"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("customer get lacks %q:\n%s", s, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "hooks.slack.com") {
		t.Errorf("customer get table shows the webhook URL")
	}

	created := c.now
	c.now = c.now.Add(time.Hour)
	c.ok("customer", "put", "--id", "acme", "--name", "Acme GmbH", "--email", "backup@acme.example", "--notify", "none")
	c.jsonOut(&got, "customer", "get", "acme")
	if got.Name != "Acme GmbH" || got.NotificationMode != snapkeep.NotifyNone || got.SlackWebhook != support.SecretNone ||
		!got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(c.now) {
		t.Errorf("after replace: %+v", got)
	}

	c.ok("customer", "put", "-f", "testdata/customer.yaml")
	c.jsonOut(&got, "customer", "get", "globex")
	if got.Name != "Globex Corporation" || got.NotificationMode != snapkeep.NotifyDailyDigest {
		t.Errorf("from file: %+v", got)
	}
}

func TestCustomerBadInput(t *testing.T) {
	c := newCLI(t)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown customer", []string{"get", "nobody"}, []string{`no customer "nobody"`, "snapctl customer put"}},
		{"bad email", []string{"put", "--id", "x", "--name", "X", "--email", "not-an-address"}, []string{"invalid customer", "email:"}},
		{"bad mode", []string{"put", "--id", "x", "--name", "X", "--email", "a@b.example", "--notify", "sometimes"}, []string{"notification_mode:"}},
		{"http webhook", []string{"put", "--id", "x", "--name", "X", "--email", "a@b.example", "--slack-webhook", "http://hooks.example/1"}, []string{"slack_webhook_url:"}},
		{"no id", []string{"put", "--name", "X"}, []string{"--id is required"}},
		{"unknown field", []string{"put", "-f", "testdata/customer-unknown-field.json"}, []string{`unknown field "phone"`}},
		{"file and flags", []string{"put", "-f", "testdata/customer.yaml", "--name", "X"}, []string{"not both"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertFails(t, c.run("", append([]string{"customer"}, tt.args...)...), exitUsage, tt.want...)
		})
	}
	assertFails(t, c.run("", "customer", "get", "x"), exitUsage, "no customer")
}

// customer put gives a new customer a preferences token (the one-click
// unsubscribe link needs one) and keeps it when the customer is put again,
// so links already sent keep working; it is never printed.
func TestCustomerPutKeepsPreferencesToken(t *testing.T) {
	c := newCLI(t)
	c.ok("customer", "put", "--id", "tok", "--name", "Tok", "--email", "tok@example.com")
	store := &dynamo.CustomerStore{Client: c.env.DynamoDB, Table: c.env.TableName(dynamo.Customers)}
	stored := func() string {
		got, err := store.Get(context.Background(), "tok")
		if err != nil {
			t.Fatal(err)
		}
		return got.PreferencesToken
	}
	first := stored()
	if !strings.HasPrefix(first, snapkeep.PreferencesTokenPrefix) || len(first) < 20 {
		t.Fatalf("preferences token %q", first)
	}
	r := c.ok("customer", "put", "--id", "tok", "--name", "Tok Ltd", "--email", "tok@example.com")
	if again := stored(); again != first {
		t.Errorf("token changed on a second put: %q → %q", first, again)
	}
	if out := c.ok("customer", "get", "tok", "-o", "json").stdout + r.stdout; strings.Contains(out, first) {
		t.Error("the preferences token was printed")
	}
}
