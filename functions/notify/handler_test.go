package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/notify"
	"github.com/snapkeep/snapkeep/shared/slack"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

func fullEnv() map[string]string {
	env := map[string]string{
		envSender: "Snapkeep Backups <backups@snapkeep.example>", envAppURL: "https://app.snapkeep.example",
		envReplyTo: "support@snapkeep.example", envHold: "true", envDigestHour: "7", envSlackHosts: "hooks.slack.com, 127.0.0.1:8443",
	}
	for _, spec := range dynamo.AllTables() {
		env[spec.EnvVar] = "t-" + spec.LogicalID
	}
	return env
}

func TestLoadSettings(t *testing.T) {
	st, err := loadSettings(func(k string) string { return fullEnv()[k] })
	if err != nil {
		t.Fatal(err)
	}
	if st.sender.Email != "backups@snapkeep.example" || st.sender.Name != "Snapkeep Backups" || len(st.replyTo) != 1 || !st.hold ||
		st.digestHour != 7 || st.mailingsTable != "t-MailingsTable" || len(st.slackHosts) != 2 || st.listDomain() != "snapkeep.example" {
		t.Errorf("settings %+v", st)
	}
	for _, tc := range []struct {
		name  string
		set   map[string]string
		wants []string
	}{
		{"missing", map[string]string{envSender: "", envAppURL: "", dynamo.Mailings.EnvVar: "", dynamo.Runs.EnvVar: ""},
			[]string{"SENDER_ADDRESS is not set", "APP_URL is not set", "MAILINGS_TABLE is not set", "RUNS_TABLE is not set"}},
		{"malformed", map[string]string{envSender: "not an address", envHold: "yes", envDigestHour: "24", envAppURL: "http://app.example.com"},
			[]string{"SENDER_ADDRESS", "HOLD_NOTICES_DURING_INCIDENTS=\"yes\"", "DIGEST_HOUR_UTC=\"24\"", "APP_URL"}},
		{"defaults", map[string]string{envReplyTo: "", envHold: "", envDigestHour: "", envSlackHosts: ""}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := fullEnv()
			for k, v := range tc.set {
				env[k] = v
			}
			st, err := loadSettings(func(k string) string { return env[k] })
			if tc.wants == nil {
				if err != nil || st.hold || st.digestHour != notify.DefaultDigestHour || st.replyTo != nil || st.slackHosts != nil {
					t.Errorf("defaults: %+v, %v", st, err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

// Only a stream batch or the tick is accepted.
func TestHandleRefusesOtherInput(t *testing.T) {
	var logs bytes.Buffer
	h := &Handler{Service: &notify.Service{}, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	for _, in := range []string{`{"tick": false}`, `{"sweep": true}`, `{"tick": true, "extra": 1}`, `[1]`, `"tick"`, `{"Records": "x"}`} {
		if _, err := h.Handle(context.Background(), []byte(in)); err == nil || !strings.Contains(err.Error(), "notify: ") {
			t.Errorf("Handle(%s) = %v, want an error saying what is expected", in, err)
		}
	}
	if !strings.Contains(logs.String(), "input refused") {
		t.Errorf("refused input not logged:\n%s", logs.String())
	}
}

func TestMailingMapsAgree(t *testing.T) {
	if notify.MapNotices != dynamo.MailingNotices || notify.MapResolved != dynamo.MailingResolved {
		t.Errorf("notice map names differ: notify %q/%q, dynamo %q/%q", notify.MapNotices, notify.MapResolved, dynamo.MailingNotices, dynamo.MailingResolved)
	}
}

// The Slack adapter: which answers block the customer's webhook, which
// only refuse the message, which are retried.
func TestSlackPoster(t *testing.T) {
	answers := map[string]struct {
		status int
		body   string
	}{
		"/services/T/B/payload": {400, "invalid_payload"}, "/services/T/B/forbidden": {403, "action_prohibited"},
		"/services/T/B/gone": {404, "channel_not_found"}, "/services/T/B/archived": {410, "channel_is_archived"},
		"/services/T/B/down": {503, "service unavailable"}, "/services/T/B/ok": {200, "ok"},
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := answers[r.URL.Path]
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(a.body))
	}))
	defer srv.Close()
	p := slackPoster{&slack.Client{HTTP: srv.Client(), AllowedHosts: []string{strings.TrimPrefix(srv.URL, "https://")}, MinInterval: -1,
		Sleep: func(context.Context, time.Duration) error { return nil }, Logger: slog.New(slog.DiscardHandler)}}
	for path, want := range map[string]snapkeep.RejectScope{
		"/services/T/B/payload": snapkeep.RejectMessage, "/services/T/B/forbidden": snapkeep.RejectRecipient,
		"/services/T/B/gone": snapkeep.RejectRecipient, "/services/T/B/archived": snapkeep.RejectRecipient, "/services/T/B/down": "", "/services/T/B/ok": "",
	} {
		err := p.Post(context.Background(), srv.URL+path, []byte(`{"text":"x"}`))
		var rej *snapkeep.RejectedError
		switch {
		case want == "" && path == "/services/T/B/ok" && err != nil:
			t.Errorf("%s: %v", path, err)
		case want == "" && path == "/services/T/B/down" && (err == nil || errors.As(err, &rej)):
			t.Errorf("%s: %v, want a transient error", path, err)
		case want != "" && (!errors.As(err, &rej) || rej.Scope != want || strings.Contains(rej.Reason, srv.URL)):
			t.Errorf("%s: %v, want a %s rejection without the URL", path, err, want)
		}
	}
	for _, bad := range []string{"http://" + strings.TrimPrefix(srv.URL, "https://") + "/services/T/B/ok", "https://evil.example/services/T/B/x"} {
		err := p.Post(context.Background(), bad, []byte(`{"text":"x"}`))
		var rej *snapkeep.RejectedError
		if !errors.As(err, &rej) || rej.Scope != snapkeep.RejectRecipient || rej.Code != "invalid_webhook_url" || strings.Contains(err.Error(), "evil.example/services") {
			t.Errorf("bad webhook URL: %v, want the recipient's invalid_webhook_url, URL not repeated", err)
		}
	}
	big := append([]byte(`{"text":"`), bytes.Repeat([]byte("x"), slack.MaxPayloadBytes)...)
	if err := p.Post(context.Background(), srv.URL+"/services/T/B/ok", append(big, `"}`...)); err == nil || !strings.Contains(err.Error(), "payload_too_large") {
		t.Errorf("oversized payload: %v", err)
	}
}
