package snapkeep

import (
	"fmt"
	"regexp"
)

// tokenPattern is the form of the tokens DigitalOcean issues: a personal
// access token "dop_v1_" + 64 lower-case hex digits, an OAuth token
// "doo_v1_" + 64, or a legacy token of 64 hex digits alone.
var tokenPattern = regexp.MustCompile(`^(dop_v1_|doo_v1_)?[0-9a-f]{64}$`)

// CheckToken returns nil if token has the form of a DigitalOcean API token,
// else an error wrapping ErrInvalid that says what is wrong with it without
// ever quoting it (its length and the kind of character at fault only).
func CheckToken(token string) error {
	if tokenPattern.MatchString(token) {
		return nil
	}
	for i, r := range token {
		switch {
		case r == '\n' || r == '\r':
			return fmt.Errorf("the token holds a line break at byte %d of %d (a trailing newline from a file?): %w", i, len(token), ErrInvalid)
		case r == ' ' || r == '\t':
			return fmt.Errorf("the token holds white space at byte %d of %d: %w", i, len(token), ErrInvalid)
		case r < 0x20 || r == 0x7f:
			return fmt.Errorf("the token holds a control character at byte %d of %d: %w", i, len(token), ErrInvalid)
		case r > 0x7e:
			return fmt.Errorf("the token holds a non-ASCII character at byte %d of %d: %w", i, len(token), ErrInvalid)
		}
	}
	if token == "" {
		return fmt.Errorf("the token is empty: %w", ErrInvalid)
	}
	return fmt.Errorf("the token (%d characters) is not of DigitalOcean's form: dop_v1_ followed by 64 lower-case hex digits: %w", len(token), ErrInvalid)
}
