package main

import (
	"fmt"
	"strings"

	"github.com/snapkeep/snapkeep/shared/email"
)

// broadcastSettings are the broadcast stream's sender, SES configuration
// set and customers' app, each with where it came from.
type broadcastSettings struct {
	sender, configSet, appURL setting
}

// stackValue is one setting the stack's outputs may give, and whether
// the stack tells it (a stack may tell that there is none: no
// configuration set).
type stackValue struct {
	value string
	tells bool
}

// resolveBroadcast resolves the broadcast stream's settings, each from
// its flag, else the stack's outputs (BroadcastSenderAddress,
// BroadcastConfigurationSet, AppURL), else the environment (the
// broadcast's own variable first), else, on the local stack, its
// defaults. A missing app URL is a usage error here; a missing sender
// only when sending (a dry run needs none).
func (a *app) resolveBroadcast(bf *broadcastFlags, t *target) (broadcastSettings, error) {
	var sender, set, appURL stackValue
	if t.stack != nil {
		sender.value, sender.tells = t.stack.BroadcastSender()
		set.value, set.tells = t.stack.BroadcastConfigurationSet()
		appURL.value, appURL.tells = t.stack.AppURL()
	}
	bs := broadcastSettings{
		sender:    a.resolveSetting("sender", bf.sender, t, sender, envBroadcastSender, envSender),
		configSet: a.resolveSetting("configuration-set", bf.configSet, t, set, envBroadcastConfigSet, envConfigSet),
		appURL:    a.resolveSetting("app-url", bf.appURL, t, appURL, envAppURL),
	}
	if t.stack == nil && t.stage == localStage {
		if bs.sender.value == "" {
			bs.sender = setting{value: localSender, source: "the local stack's default"}
		}
		if bs.appURL.value == "" {
			bs.appURL = setting{value: localAppURL, source: "the local stack's default"}
		}
	}
	if bs.appURL.value == "" {
		return bs, usagef("--app-url: the messages link to the customers' app (preferences, one-click unsubscribe): pass --app-url https://app.example, point snapctl at the stack (--stack: its AppURL output) or set $%s", envAppURL)
	}
	if bs.sender.source == "$"+envSender {
		fmt.Fprintf(a.stderr, "note: broadcasting from $%s, the transactional sender; mail providers ask that broadcast mail have its own (--sender or $%s)\n", envSender, envBroadcastSender)
	}
	return bs, nil
}

// resolveSetting resolves one setting: the flag's value when given, else
// the stack's when it tells (with a note when the environment names
// another), else the first of envs that is set, else none.
func (a *app) resolveSetting(flag, flagValue string, t *target, sv stackValue, envs ...string) setting {
	if v := strings.TrimSpace(flagValue); v != "" {
		return setting{value: v, source: "--" + flag}
	}
	if t.stack != nil && sv.tells {
		for _, env := range envs {
			if ev := strings.TrimSpace(a.getenv(env)); ev != "" {
				if ev != sv.value {
					fmt.Fprintf(a.stderr, "note: %s=%s from the environment is ignored: stack %s gives %s (pass --%s to choose)\n",
						env, ev, t.stack.Name, orNone(sv.value), flag)
				}
				break
			}
		}
		return setting{value: sv.value, source: "stack " + t.stack.Name}
	}
	for _, env := range envs {
		if v := strings.TrimSpace(a.getenv(env)); v != "" {
			return setting{value: v, source: "$" + env}
		}
	}
	return setting{}
}

// orNone is v, or "none" when it is empty.
func orNone(v string) string {
	if v == "" {
		return "none"
	}
	return v
}

// describe says on stderr what the broadcast sends as and links to, and
// where each came from.
func (bs broadcastSettings) describe() string {
	part := func(s setting) string {
		if s.value == "" {
			return "none"
		}
		return s.value + " (" + s.source + ")"
	}
	return fmt.Sprintf("Sender %s, configuration set %s, app %s.\n", part(bs.sender), part(bs.configSet), part(bs.appURL))
}

// checkSendable refuses to send what the recipients' mail software could
// not act on, or what the stack's operator policy would refuse: an app
// whose one-click unsubscribe link is neither https nor http to this
// machine (email.CheckUnsubscribeURL), no sender; and it notes a sender
// other than the stack's broadcast sender.
func (a *app) checkSendable(bs broadcastSettings, t *target) (email.Address, error) {
	if err := email.CheckUnsubscribeURL(bs.appURL.value); err != nil {
		return email.Address{}, usagef("app URL %s (%s): broadcast mail's one-click unsubscribe link must be https (RFC 8058), or http to this machine (localhost, 127.0.0.1, [::1]) for a local stack; pass --app-url https://...",
			bs.appURL.value, bs.appURL.source)
	}
	if bs.sender.value == "" {
		return email.Address{}, usagef("--sender: broadcast mail needs a verified SES sender: pass --sender 'Snapkeep <updates@example.com>', point snapctl at the stack (--stack: its BroadcastSenderAddress output) or set $%s", envBroadcastSender)
	}
	addr, err := email.ParseAddress(bs.sender.value)
	if err != nil {
		return email.Address{}, usagef("--sender: %v", err)
	}
	if t.stack != nil {
		if own, ok := t.stack.BroadcastSender(); ok && !strings.EqualFold(own, addr.Email) {
			fmt.Fprintf(a.stderr, "note: sending from %s, not stack %s's broadcast sender %s: its SupportOperatorPolicy lets operators send from %s only\n",
				addr.Email, t.stack.Name, own, own)
		}
	}
	return addr, nil
}
