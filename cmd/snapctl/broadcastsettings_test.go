package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/mailing"
	"github.com/snapkeep/snapkeep/shared/support"
	"github.com/snapkeep/snapkeep/shared/support/supporttest"
)

// TestBroadcastSettings: each of the broadcast stream's settings comes
// from its flag, else the stack's outputs (the environment then ignored,
// with a note), else the environment (the broadcast's own variable
// first), else the local stack's defaults.
func TestBroadcastSettings(t *testing.T) {
	prod := func(outputs map[string]string) *target {
		return &target{stack: &support.Stack{Name: "snapkeep-prod", Stage: "prod", Outputs: outputs}, stage: "prod"}
	}
	full := prod(map[string]string{support.OutputBroadcastSender: "updates@snapkeep.example",
		support.OutputBroadcastConfigurationSet: "broadcast", support.OutputAppURL: "https://app.snapkeep.example"})
	noSet := prod(map[string]string{support.OutputBroadcastSender: "backups@snapkeep.example", support.OutputAppURL: "https://app.snapkeep.example"})
	older := prod(map[string]string{})
	local := &target{stage: localStage}
	env := map[string]string{envBroadcastSender: "env@snapkeep.example", envConfigSet: "env-set", envAppURL: "https://env.snapkeep.example"}
	tests := []struct {
		name                   string
		t                      *target
		flags                  broadcastFlags
		env                    map[string]string
		sender, configSet, app string // "value (source)"
		notes                  []string
	}{
		{name: "the stack's outputs", t: full, env: env,
			sender: "updates@snapkeep.example (stack snapkeep-prod)", configSet: "broadcast (stack snapkeep-prod)", app: "https://app.snapkeep.example (stack snapkeep-prod)",
			notes: []string{"note: BROADCAST_SENDER_ADDRESS=env@snapkeep.example from the environment is ignored: stack snapkeep-prod gives updates@snapkeep.example (pass --sender to choose)",
				"note: SES_CONFIGURATION_SET=env-set from the environment is ignored: stack snapkeep-prod gives broadcast (pass --configuration-set to choose)",
				"note: APP_URL=https://env.snapkeep.example from the environment is ignored"}},
		{name: "flags over the stack", t: full, env: env,
			flags:  broadcastFlags{sender: "Ops <ops@snapkeep.example>", configSet: "flagged", appURL: "https://flag.snapkeep.example"},
			sender: "Ops <ops@snapkeep.example> (--sender)", configSet: "flagged (--configuration-set)", app: "https://flag.snapkeep.example (--app-url)"},
		{name: "a stack without a configuration set", t: noSet, env: map[string]string{envConfigSet: "env-set"},
			sender: "backups@snapkeep.example (stack snapkeep-prod)", configSet: " (stack snapkeep-prod)", app: "https://app.snapkeep.example (stack snapkeep-prod)",
			notes: []string{"SES_CONFIGURATION_SET=env-set from the environment is ignored: stack snapkeep-prod gives none"}},
		{name: "an older stack: the environment", t: older, env: map[string]string{envSender: "backups@snapkeep.example", envBroadcastConfigSet: "b-set", envConfigSet: "env-set", envAppURL: "https://env.snapkeep.example"},
			sender: "backups@snapkeep.example ($SENDER_ADDRESS)", configSet: "b-set ($BROADCAST_CONFIGURATION_SET)", app: "https://env.snapkeep.example ($APP_URL)",
			notes: []string{"note: broadcasting from $SENDER_ADDRESS, the transactional sender"}},
		{name: "the local stack", t: local,
			sender: "backups@example.com (the local stack's default)", configSet: " ()", app: "http://localhost:8080 (the local stack's default)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			a := newApp(nil, nil, &stderr, func(k string) string { return tt.env[k] })
			bs, err := a.resolveBroadcast(&tt.flags, tt.t)
			if err != nil {
				t.Fatal(err)
			}
			show := func(s setting) string { return s.value + " (" + s.source + ")" }
			if show(bs.sender) != tt.sender || show(bs.configSet) != tt.configSet || show(bs.appURL) != tt.app {
				t.Errorf("sender %q, configuration set %q, app %q; want %q, %q, %q", show(bs.sender), show(bs.configSet), show(bs.appURL), tt.sender, tt.configSet, tt.app)
			}
			for _, n := range tt.notes {
				if !strings.Contains(stderr.String(), n) {
					t.Errorf("stderr lacks %q:\n%s", n, stderr.String())
				}
			}
			if len(tt.notes) == 0 && stderr.Len() != 0 {
				t.Errorf("unexpected notes:\n%s", stderr.String())
			}
		})
	}
	a := newApp(nil, nil, &bytes.Buffer{}, nil)
	if _, err := a.resolveBroadcast(&broadcastFlags{}, older); err == nil || !strings.Contains(err.Error(), "--app-url: the messages link to the customers' app") {
		t.Errorf("an older stack without an app: %v, want a usage error naming --app-url", err)
	}
}

// TestBroadcastSendable: the app must be https, or http to this machine;
// a sender is needed; a sender other than the stack's is noted (the
// operator policy would refuse it).
func TestBroadcastSendable(t *testing.T) {
	stack := &target{stack: &support.Stack{Name: "snapkeep-prod", Stage: "prod",
		Outputs: map[string]string{support.OutputBroadcastSender: "updates@snapkeep.example"}}, stage: "prod"}
	local := &target{stage: localStage}
	set := func(sender, app string) broadcastSettings {
		return broadcastSettings{sender: setting{value: sender, source: "--sender"}, appURL: setting{value: app, source: "--app-url"}}
	}
	tests := []struct {
		name     string
		t        *target
		settings broadcastSettings
		err      string
		note     string
	}{
		{"https", stack, set("Snapkeep <updates@snapkeep.example>", "https://app.snapkeep.example"), "", ""},
		{"the stack's sender in another case", stack, set("UPDATES@snapkeep.example", "https://app.snapkeep.example"), "", ""},
		{"localhost", local, set("backups@example.com", "http://localhost:8080"), "", ""},
		{"loopback address", local, set("backups@example.com", "http://127.0.0.1:8080"), "", ""},
		{"http elsewhere", stack, set("updates@snapkeep.example", "http://app.snapkeep.example"), "must be https (RFC 8058), or http to this machine", ""},
		{"no sender", stack, set("", "https://app.snapkeep.example"), "--sender: broadcast mail needs a verified SES sender", ""},
		{"bad sender", stack, set("not an address", "https://app.snapkeep.example"), "--sender:", ""},
		{"another sender", stack, set("ops@snapkeep.example", "https://app.snapkeep.example"), "",
			"note: sending from ops@snapkeep.example, not stack snapkeep-prod's broadcast sender updates@snapkeep.example: its SupportOperatorPolicy lets operators send from updates@snapkeep.example only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			a := newApp(nil, nil, &stderr, nil)
			_, err := a.checkSendable(tt.settings, tt.t)
			if (tt.err == "") != (err == nil) || (err != nil && (!strings.Contains(err.Error(), tt.err) || exitCode(err) != exitUsage)) {
				t.Errorf("err %v, want one saying %q", err, tt.err)
			}
			if !strings.Contains(stderr.String(), tt.note) || (tt.note == "" && stderr.Len() != 0) {
				t.Errorf("stderr %q, want %q", stderr.String(), tt.note)
			}
		})
	}
}

// TestBroadcastThroughTheStack: with --stack alone (no table names, no
// sender or app in flags or environment), a broadcast reads the stack's
// tables (Stats and Mailings too), sends from the stack's broadcast
// sender with its configuration set, links to its AppURL, and records
// the sent log in the stack's Mailings table.
func TestBroadcastThroughTheStack(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.now = stackNow
	tag := randomHex(t, 4)
	sender, appURL := "updates-"+tag+"@snapkeep.example", "https://app-"+tag+".snapkeep.example"
	st := supporttest.NewStack(t, c.env, supporttest.StackOptions{Parameters: map[string]string{
		"BroadcastSenderAddress": sender, "BroadcastConfigurationSet": "broadcast-" + tag, "AppURL": appURL}})
	vars := map[string]string{}
	for _, spec := range dynamo.AllTables() {
		vars[spec.EnvVar] = st.Table(spec)
	}
	s := &incidentStack{c: c, env: c.env, vars: vars, tag: tag}
	s.seed(t, 8)
	c.env.VerifySender(t, sender)
	c.vars = map[string]string{envAppURL: "https://elsewhere.example"}
	f := &fakeSES{}
	c.setup = func(a *app) { useFakeSES(a, f) }

	var sum mailing.Summary
	r := c.ok("--stack", st.Name, "broadcast", "--incident", s.incident.IncidentID, "--rate", "1000", "--quiet", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatalf("summary: %v\n%s", err, r.stdout)
	}
	want := s.sendable(s.affected(stackChange, stackResolved, "nyc3"))
	wantLine := fmt.Sprintf("Sender %s (stack %s), configuration set broadcast-%s (stack %s), app %s (stack %s).", sender, st.Name, tag, st.Name, appURL, st.Name)
	if sum.Sent != len(want) || !strings.Contains(r.stderr, wantLine) ||
		!strings.Contains(r.stderr, "note: APP_URL=https://elsewhere.example from the environment is ignored: stack "+st.Name+" gives "+appURL) {
		t.Errorf("sent %d of %d; stderr:\n%s\nwant %q", sum.Sent, len(want), r.stderr, wantLine)
	}
	sent, emails := s.sentTo(t)
	checkOnceEach(t, sent, want)
	for _, e := range emails {
		checkBroadcastHeaders(t, e, want[e.to], sender, appURL)
	}
	if f.sets["broadcast-"+tag] != len(want) || len(f.sets) != 1 {
		t.Errorf("sends by configuration set %v, want %d with broadcast-%s", f.sets, len(want), tag)
	}
	if n := s.mailingItems(t, "broadcast#incident#"+s.incident.IncidentID); n != len(want) {
		t.Errorf("%d items in the stack's Mailings table, want %d", n, len(want))
	}
}

// TestBroadcastFromTheLocalStack: on the local stack, with nothing but
// the table names, a broadcast really sends: from the local sender,
// with one-click unsubscribe links to the local app (http://localhost:8080).
func TestBroadcastFromTheLocalStack(t *testing.T) {
	t.Parallel()
	s := seedIncidentStack(t, 6)
	s.c.env.VerifySender(t, localSender)
	r := s.c.ok("broadcast", "--incident", s.incident.IncidentID, "--rate", "1000", "--quiet")
	if !strings.Contains(r.stderr, "Sender "+localSender+" (the local stack's default), configuration set none, app "+localAppURL+" (the local stack's default).") {
		t.Errorf("stderr does not say the local defaults:\n%s", r.stderr)
	}
	want := s.sendable(s.affected(stackChange, stackResolved, "nyc3"))
	sent, emails := s.sentTo(t)
	checkOnceEach(t, sent, want)
	if len(emails) == 0 {
		t.Fatal("nothing sent")
	}
	for _, e := range emails {
		checkBroadcastHeaders(t, e, want[e.to], localSender, localAppURL)
	}
}
