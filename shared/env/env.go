// Package env is the one way a function reads its settings from its
// environment (template.yaml sets them): every missing or malformed
// variable is collected, each named with what it should be, and reported
// together when the function starts, so a misconfigured deployment fails
// at once and says everything that is wrong.
//
//	r := env.New(os.Getenv)
//	table := r.Required(dynamo.Runs.EnvVar)
//	window := r.Whole("SLOT_WINDOW_MINUTES", time.Minute, 1, 720, 30*time.Minute)
//	if err := r.Err(); err != nil { ... }
package env

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Reader reads variables and collects what is wrong with them.
type Reader struct {
	getenv func(string) string
	errs   []error
}

// New reads with getenv (os.Getenv, or a map's lookup in tests).
func New(getenv func(string) string) *Reader { return &Reader{getenv: getenv} }

// Optional is the variable's value, spaces trimmed ("" when unset).
func (r *Reader) Optional(name string) string { return strings.TrimSpace(r.getenv(name)) }

// Required is the variable's value; an unset or blank one is an error.
func (r *Reader) Required(name string) string {
	v := r.Optional(name)
	if v == "" {
		r.errs = append(r.errs, fmt.Errorf("environment variable %s is not set", name))
	}
	return v
}

// Bool is "true" or "false"; def when unset.
func (r *Reader) Bool(name string, def bool) bool {
	switch v := r.Optional(name); v {
	case "":
		return def
	case "true":
		return true
	case "false":
		return false
	default:
		r.errs = append(r.errs, fmt.Errorf("environment variable %s=%q: want true or false", name, v))
		return def
	}
}

// Int is a whole number from lo to hi; def when unset.
func (r *Reader) Int(name string, lo, hi, def int) int {
	v := r.Optional(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.errs = append(r.errs, fmt.Errorf("environment variable %s=%q: want a whole number from %d to %d", name, v, lo, hi))
		return def
	}
	return n
}

// Whole is a whole number from lo to hi of unit (hours, minutes, days);
// def when unset.
func (r *Reader) Whole(name string, unit time.Duration, lo, hi int, def time.Duration) time.Duration {
	if r.Optional(name) == "" {
		return def
	}
	n := r.Int(name, lo, hi, -1)
	if n < 0 {
		return def
	}
	return time.Duration(n) * unit
}

// List is a comma-separated list, blanks dropped.
func (r *Reader) List(name string) []string {
	var out []string
	for _, v := range strings.Split(r.getenv(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Fail records that the variable's value is wrong, for checks the reader
// does not know (an email address, a URL).
func (r *Reader) Fail(name string, err error) {
	r.errs = append(r.errs, fmt.Errorf("environment variable %s: %w", name, err))
}

// Err is every problem found, joined, or nil.
func (r *Reader) Err() error { return errors.Join(r.errs...) }
