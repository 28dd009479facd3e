package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/snapkeep/snapkeep/shared/support"
)

// flagError rewrites pflag's "invalid argument" errors so that they name
// the flag and say what is wrong in words, without the parser's wording
// (`--keep-last: "x" is not a number`, not `strconv.ParseInt: ...`).
func flagError(err error) error {
	var ive *pflag.InvalidValueError
	if !errors.As(err, &ive) {
		return err
	}
	f := ive.GetFlag()
	name := "--" + f.Name
	if f.Shorthand != "" {
		name = "-" + f.Shorthand + "/--" + f.Name
	}
	value := ive.GetValue()
	var what string
	var ne *strconv.NumError
	switch typ := f.Value.Type(); {
	case errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange):
		what = fmt.Sprintf("%q is out of range", value)
	case strings.HasPrefix(typ, "int") || strings.HasPrefix(typ, "uint") || strings.HasPrefix(typ, "float"):
		what = fmt.Sprintf("%q is not a number", value)
	case typ == "bool":
		what = fmt.Sprintf("%q is not true or false", value)
	case typ == "duration":
		what = fmt.Sprintf("%q is not a duration such as 30s, 15m or 24h", value)
	default:
		what = errors.Unwrap(ive).Error() // our own Value types say it well
	}
	return &usageError{err: fmt.Errorf("%s: %s", name, what)}
}

// ageValue is a --since flag: an age such as 24h or 7d (support.ParseAge).
type ageValue struct{ d *time.Duration }

// String returns the age.
func (v ageValue) String() string {
	if v.d == nil || *v.d == 0 {
		return ""
	}
	return v.d.String()
}

// Set parses an age.
func (v ageValue) Set(s string) error {
	d, err := support.ParseAge(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

// Type names the value in --help.
func (ageValue) Type() string { return "age" }

// confirm asks a person at a terminal to confirm what; without one it
// fails, saying to pass --yes. Only "y" or "yes" confirms.
func (a *app) confirm(what string) error {
	if !a.interactive(a.stdin) {
		return usagef("%s: stdin is not a terminal, so nobody can confirm; pass --yes to do it without asking", what)
	}
	fmt.Fprintf(a.stderr, "%s? Type yes to confirm: ", what)
	line, err := bufio.NewReader(io.LimitReader(a.stdin, 256)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return usagef("not confirmed: nothing was changed")
}

// structured reports whether the output format is JSON or YAML.
func (a *app) structured() bool {
	return a.flags.output == support.FormatJSON || a.flags.output == support.FormatYAML
}

// printValue writes v as JSON or YAML, as -o says.
func (a *app) printValue(v any) error {
	if a.flags.output == support.FormatYAML {
		return support.WriteYAML(a.stdout, v)
	}
	return support.WriteJSON(a.stdout, v)
}

// emit prints a list: v as JSON or YAML, or t as a table or CSV.
func (a *app) emit(v any, t *support.Table) error {
	switch a.flags.output {
	case support.FormatCSV:
		return t.WriteCSV(a.stdout)
	case support.FormatTable:
		return t.WriteText(a.stdout, maxCell)
	}
	return a.printValue(v)
}

// emitFields prints one object: v as JSON or YAML, or f as lines or CSV.
func (a *app) emitFields(v any, f *support.Fields) error {
	switch a.flags.output {
	case support.FormatCSV:
		return f.Table().WriteCSV(a.stdout)
	case support.FormatTable:
		return f.WriteText(a.stdout, 0)
	}
	return a.printValue(v)
}

// done reports a change: v as JSON or YAML, its fields as one CSV row, or
// text as a sentence.
func (a *app) done(v map[string]any, text string) error {
	switch a.flags.output {
	case support.FormatTable:
		_, err := fmt.Fprintln(a.stdout, text)
		return err
	case support.FormatCSV:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t := &support.Table{Columns: keys}
		row := make([]string, len(keys))
		for i, k := range keys {
			b, _ := json.Marshal(v[k])
			row[i] = strings.Trim(string(b), `"`)
		}
		t.Add(row...)
		return t.WriteCSV(a.stdout)
	}
	return a.printValue(v)
}
