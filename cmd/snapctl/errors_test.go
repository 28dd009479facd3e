package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
)

// parserWords are what Go's parsers say; snapctl's errors must not.
var parserWords = []string{"strconv.", "ParseInt", "ParseBool", "ParseFloat", "parsing time", "time: invalid", "invalid syntax", "json: cannot", "invalid argument"}

// TestBadInputNamesTheFlag runs a table of bad inputs: each is exit code 2,
// names the flag (or argument) as typed, says what is wrong, and never
// speaks in the parser's words.
func TestBadInputNamesTheFlag(t *testing.T) {
	c := newCLI(t)
	pol := []string{"policy", "put", "--id", "p", "--customer", "c", "--account", "a", "--region", "nyc3", "--schedule", "rate(1 day)"}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"keep-last not a number", append(pol, "--droplet", "1", "--keep-last", "x"), []string{`--keep-last: "x" is not a number`}},
		{"droplet not a number", append(pol, "--droplet", "twelve"), []string{`--droplet: "twelve" is not a number`}},
		{"droplet out of range", append(pol, "--droplet", "99999999999999999999"), []string{`--droplet: "99999999999999999999" is out of range`}},
		{"bool flag", append(pol, "--droplet", "1", "--disabled=maybe"), []string{`--disabled: "maybe" is not true or false`}},
		{"count not a number", []string{"policy", "next", "pol-1", "-n", "abc"}, []string{`-n/--count: "abc" is not a number`}},
		{"flag without value", []string{"runs", "--policy"}, []string{"flag needs an argument: --policy"}},
		{"since not an age", []string{"runs", "--policy", "p", "--since", "yesterday"}, []string{`--since: "yesterday" is not an age such as 90m, 24h, 7d or 2w`}},
		{"since zero", []string{"failures", "--since", "0h"}, []string{`--since: "0h" must be more than zero`}},
		{"since too long", []string{"failures", "--since", "400d"}, []string{"--since:", "more than a year"}},
		{"from not a time", []string{"runs", "--policy", "p", "--from", "monday"}, []string{`--from: "monday" is not a time`}},
		{"to before from", []string{"runs", "--policy", "p", "--from", "2026-03-02", "--to", "2026-03-01"}, []string{"--from/--to:", "the start must be before the end"}},
		{"last night and since", []string{"runs", "--policy", "p", "--last-night", "--since", "1h"}, []string{"--last-night is a range of its own"}},
		{"bad zone", []string{"runs", "--policy", "p", "--tz", "Mars/Olympus"}, []string{`--tz: "Mars/Olympus" is not an IANA time zone`}},
		{"bad status", []string{"runs", "--policy", "p", "--status", "done"}, []string{`--status: "done" is not a run status`}},
		{"bad class", []string{"runs", "--policy", "p", "--class", "server_error"}, []string{`--class: "server_error" is not an error class`, "provider_error"}},
		{"no subject", []string{"runs", "--since", "1h"}, []string{"exactly one of --policy, --customer, --droplet or --volume (got 0)"}},
		{"two subjects", []string{"runs", "--policy", "p", "--customer", "c"}, []string{"(got 2: --policy, --customer)"}},
		{"bad droplet", []string{"runs", "--droplet", "0x1f"}, []string{`--droplet: "0x1f" is not a droplet id`}},
		{"bad volume", []string{"runs", "--volume", "vol-1"}, []string{`--volume: "vol-1" is not a volume id`}},
		{"limit zero", []string{"runs", "--policy", "p", "--limit", "0"}, []string{"--limit: 0 must be 1-10000"}},
		{"limit huge", []string{"failures", "--limit", "99999999999999999999"}, []string{`--limit: "99999999999999999999" is out of range`}},
		{"bad policy id", []string{"runs", "--policy", "p q"}, []string{`"p q" is not an id`}},
		{"bad slot", []string{"run", "show", "pol-1", "2026-03-27"}, []string{`slot "2026-03-27" is not a time in whole seconds with a zone`}},
		{"bad run id", []string{"calls", "--run", "pol-1"}, []string{`--run: "pol-1" is not a run id`}},
		{"calls without a key", []string{"calls"}, []string{"exactly one of --run RUN_ID or --request-id ID"}},
		{"run show without arguments", []string{"run", "show"}, []string{"takes POLICY_ID SLOT or RUN_ID"}},
		{"bad output", []string{"runs", "--policy", "p", "-o", "xml"}, []string{`-o/--output: unknown format "xml"`}},
		{"bad stage", []string{"--stage", "prod_1", "runs", "--policy", "p"}, []string{`--stage: stage "prod_1" must be`}},
		{"completion of an unknown shell", []string{"completion", "powershell"}, []string{`unknown shell "powershell"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.run("", tt.args...)
			assertFails(t, r, exitUsage, tt.want...)
			for _, w := range parserWords {
				if strings.Contains(r.stderr, w) {
					t.Errorf("stderr speaks the parser's words (%q):\n%s", w, r.stderr)
				}
			}
		})
	}
}

// TestAccessDeniedPointsAtTheOperatorPolicy: a refusal by IAM (each
// service's code for it) tells the operator which policy to attach.
func TestAccessDeniedPointsAtTheOperatorPolicy(t *testing.T) {
	for _, code := range []string{"AccessDeniedException", "AccessDenied"} {
		err := fmt.Errorf("query runs: %w", &smithy.GenericAPIError{Code: code, Message: "User: arn:aws:sts::1:assumed-role/support/x is not authorized"})
		if hint := hintFor(err); !strings.Contains(hint, "SupportOperatorPolicy") || !strings.Contains(hint, "SupportOperatorPolicyArn") {
			t.Errorf("%s: hint %q", code, hint)
		}
	}
	if hint := hintFor(&smithy.GenericAPIError{Code: "ThrottlingException"}); strings.Contains(hint, "SupportOperatorPolicy") {
		t.Errorf("throttling is not access denied: %q", hint)
	}
}
