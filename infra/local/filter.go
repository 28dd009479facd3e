package local

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// MaxFilters is the most filters one event source mapping may have (AWS's
// hard limit; the default quota is 5).
const MaxFilters = 10

// Filter is a compiled FilterCriteria: the records a Lambda event source
// mapping hands to its function. A record passes when it matches any of the
// patterns; a Filter without patterns passes every record. Patterns follow
// Lambda event filtering (EventBridge pattern syntax); see the package doc
// for the semantics and where they surprise.
type Filter struct {
	patterns []pattern
}

// pattern is one compiled filter pattern: every rule must hold.
type pattern struct {
	rules []rule
}

// rule is one leaf of a pattern: the event's values at path must satisfy
// at least one matcher.
type rule struct {
	path     string // keys joined by pathSep
	matchers []matcher
}

// pathSep joins the keys of a path; it cannot appear in a JSON key that
// came through encoding/json from a Go string without escaping.
const pathSep = "\x00"

// matcher is one element of a rule's value list.
type matcher interface {
	// match says whether the rule holds for the values found at the rule's
	// path (none when the path is absent or leads only to objects).
	match(values []any) bool
}

// CompileFilter compiles the Pattern strings of a FilterCriteria. It
// rejects what Lambda rejects when the mapping is created: a pattern that
// is not a JSON object, an empty value list, an unknown operator, a
// malformed numeric range, more than MaxFilters patterns.
func CompileFilter(patterns []string) (*Filter, error) {
	if len(patterns) > MaxFilters {
		return nil, fmt.Errorf("%d filters: an event source mapping takes at most %d", len(patterns), MaxFilters)
	}
	f := &Filter{}
	for i, src := range patterns {
		p, err := compilePattern(src)
		if err != nil {
			return nil, fmt.Errorf("filter %d %s: %w", i+1, src, err)
		}
		f.patterns = append(f.patterns, p)
	}
	return f, nil
}

// Empty says whether the filter has no patterns (and so passes everything).
func (f *Filter) Empty() bool { return f == nil || len(f.patterns) == 0 }

// Match says whether the event JSON passes the filter: whether it matches
// at least one pattern.
func (f *Filter) Match(event []byte) (bool, error) {
	if f.Empty() {
		return true, nil
	}
	leaves, err := flatten(event)
	if err != nil {
		return false, err
	}
	for _, p := range f.patterns {
		if p.matches(leaves) {
			return true, nil
		}
	}
	return false, nil
}

// MatchRecord says whether a stream record, as Lambda hands it to the
// function (aws-lambda-go's JSON of the record), passes the filter.
func (f *Filter) MatchRecord(rec events.DynamoDBEventRecord) (bool, error) {
	if f.Empty() {
		return true, nil
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return false, fmt.Errorf("marshal record %s: %w", rec.EventID, err)
	}
	return f.Match(raw)
}

func (p pattern) matches(leaves map[string][]any) bool {
	for _, r := range p.rules {
		if !r.holds(leaves[r.path]) {
			return false
		}
	}
	return true
}

func (r rule) holds(values []any) bool {
	for _, m := range r.matchers {
		if m.match(values) {
			return true
		}
	}
	return false
}

// compilePattern parses one Pattern string.
func compilePattern(src string) (pattern, error) {
	obj, err := decodeObject([]byte(src))
	if err != nil {
		return pattern{}, fmt.Errorf("not a JSON object: %w", err)
	}
	if len(obj) == 0 {
		return pattern{}, errors.New("empty pattern")
	}
	var p pattern
	if err := p.compile(nil, obj); err != nil {
		return pattern{}, err
	}
	sort.Slice(p.rules, func(i, j int) bool { return p.rules[i].path < p.rules[j].path })
	return p, nil
}

func (p *pattern) compile(path []string, obj map[string]any) error {
	for key, v := range obj {
		at := append(append([]string(nil), path...), key)
		switch v := v.(type) {
		case map[string]any:
			if len(v) == 0 {
				return fmt.Errorf("%s: empty object", strings.Join(at, "."))
			}
			if err := p.compile(at, v); err != nil {
				return err
			}
		case []any:
			ms, err := compileMatchers(v)
			if err != nil {
				return fmt.Errorf("%s: %w", strings.Join(at, "."), err)
			}
			p.rules = append(p.rules, rule{path: strings.Join(at, pathSep), matchers: ms})
		default:
			return fmt.Errorf("%s: want an array of values or an object, got %s", strings.Join(at, "."), jsonText(v))
		}
	}
	return nil
}

func compileMatchers(list []any) ([]matcher, error) {
	if len(list) == 0 {
		return nil, errors.New("empty value list matches nothing (Lambda rejects it)")
	}
	var ms []matcher
	for _, v := range list {
		m, err := compileMatcher(v)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func compileMatcher(v any) (matcher, error) {
	switch v := v.(type) {
	case string, json.Number, bool, nil:
		return equals{want: v}, nil
	case map[string]any:
		if len(v) != 1 {
			return nil, fmt.Errorf("operator object %s: want exactly one operator", jsonText(v))
		}
		for op, arg := range v {
			return compileOperator(op, arg)
		}
	}
	return nil, fmt.Errorf("value %s: want a string, number, boolean, null or an operator object", jsonText(v))
}

func compileOperator(op string, arg any) (matcher, error) {
	switch op {
	case "exists":
		b, ok := arg.(bool)
		if !ok {
			return nil, fmt.Errorf("exists: want true or false, got %s", jsonText(arg))
		}
		return exists{want: b}, nil
	case "prefix", "suffix":
		return compileAffix(op, arg)
	case "equals-ignore-case":
		s, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("equals-ignore-case: want a string, got %s", jsonText(arg))
		}
		return stringTest{test: func(v string) bool { return strings.EqualFold(v, s) }}, nil
	case "anything-but":
		return compileAnythingBut(arg)
	case "numeric":
		return compileNumeric(arg)
	}
	return nil, fmt.Errorf("operator %q is not supported (Lambda event filtering knows exists, prefix, suffix, equals-ignore-case, anything-but, numeric)", op)
}

// compileAffix compiles {"prefix": "x"}, {"suffix": "x"} and their
// {"equals-ignore-case": "x"} forms.
func compileAffix(op string, arg any) (matcher, error) {
	s, fold, err := affixArg(op, arg)
	if err != nil {
		return nil, err
	}
	return stringTest{test: affixTest(op, s, fold)}, nil
}

func affixArg(op string, arg any) (s string, fold bool, err error) {
	switch a := arg.(type) {
	case string:
		return a, false, nil
	case map[string]any:
		if v, ok := a["equals-ignore-case"].(string); ok && len(a) == 1 {
			return v, true, nil
		}
	}
	return "", false, fmt.Errorf("%s: want a string or {\"equals-ignore-case\": string}, got %s", op, jsonText(arg))
}

func affixTest(op, s string, fold bool) func(string) bool {
	if fold {
		s = strings.ToLower(s)
	}
	return func(v string) bool {
		if fold {
			v = strings.ToLower(v)
		}
		if op == "prefix" {
			return strings.HasPrefix(v, s)
		}
		return strings.HasSuffix(v, s)
	}
}

// compileAnythingBut compiles {"anything-but": v} for v a string, a number,
// a list of them, or a {"prefix"|"suffix"|"equals-ignore-case": ...}
// object.
func compileAnythingBut(arg any) (matcher, error) {
	switch a := arg.(type) {
	case string, json.Number:
		return anythingBut{not: []any{a}}, nil
	case []any:
		if len(a) == 0 {
			return nil, errors.New("anything-but: empty list")
		}
		for _, v := range a {
			switch v.(type) {
			case string, json.Number:
			default:
				return nil, fmt.Errorf("anything-but: list element %s: want a string or a number", jsonText(v))
			}
		}
		return anythingBut{not: a}, nil
	case map[string]any:
		return compileAnythingButObject(a)
	}
	return nil, fmt.Errorf("anything-but: want a string, number, list or operator object, got %s", jsonText(arg))
}

func compileAnythingButObject(a map[string]any) (matcher, error) {
	if len(a) != 1 {
		return nil, fmt.Errorf("anything-but: operator object %s: want exactly one operator", jsonText(a))
	}
	for op, v := range a {
		switch op {
		case "prefix", "suffix":
			m, err := compileAffix(op, v)
			if err != nil {
				return nil, fmt.Errorf("anything-but: %w", err)
			}
			inner := m.(stringTest).test
			return stringTest{test: func(s string) bool { return !inner(s) }}, nil
		case "equals-ignore-case":
			words, err := stringList(v)
			if err != nil {
				return nil, fmt.Errorf("anything-but: equals-ignore-case: %w", err)
			}
			return stringTest{test: func(s string) bool {
				for _, w := range words {
					if strings.EqualFold(s, w) {
						return false
					}
				}
				return true
			}}, nil
		}
		return nil, fmt.Errorf("anything-but: operator %q is not supported (prefix, suffix, equals-ignore-case)", op)
	}
	return nil, nil // unreachable: len(a) == 1
}

func stringList(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		var out []string
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("element %s: want a string", jsonText(e))
			}
			out = append(out, s)
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	return nil, fmt.Errorf("want a string or a non-empty list of strings, got %s", jsonText(v))
}

// equals matches a leaf equal to want: strings character by character,
// numbers by their text (Lambda: 300, 300.0 and 3.0e2 differ), booleans
// and null by value. A string never equals a number.
type equals struct{ want any }

func (m equals) match(values []any) bool {
	return contains(values, m.want)
}

// exists matches when the path leads to at least one leaf (want true) or
// to none (want false).
type exists struct{ want bool }

func (m exists) match(values []any) bool { return (len(values) > 0) == m.want }

// stringTest matches a string leaf that passes test; other leaves never
// match.
type stringTest struct{ test func(string) bool }

func (m stringTest) match(values []any) bool {
	for _, v := range values {
		if s, ok := v.(string); ok && m.test(s) {
			return true
		}
	}
	return false
}

// anythingBut matches a leaf that equals none of not. An absent field
// does not match.
type anythingBut struct{ not []any }

func (m anythingBut) match(values []any) bool {
	for _, v := range values {
		if !contains(m.not, v) {
			return true
		}
	}
	return false
}

func contains(list []any, v any) bool {
	for _, w := range list {
		if v == w {
			return true
		}
	}
	return false
}

// decodeObject decodes a JSON object keeping numbers as json.Number (their
// text is what Lambda compares).
func decodeObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the object")
	}
	if obj == nil {
		return nil, errors.New("null")
	}
	return obj, nil
}

// flatten maps every leaf path of an event to its values. An array
// contributes each element at the array's own path; objects contribute
// their keys; empty objects and arrays contribute nothing.
func flatten(event []byte) (map[string][]any, error) {
	obj, err := decodeObject(event)
	if err != nil {
		return nil, fmt.Errorf("event is not a JSON object: %w", err)
	}
	leaves := map[string][]any{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				walk(join(path, k), e)
			}
		case []any:
			for _, e := range v {
				walk(path, e)
			}
		default:
			leaves[path] = append(leaves[path], v)
		}
	}
	for k, v := range obj {
		walk(k, v)
	}
	return leaves, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + pathSep + key
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}
