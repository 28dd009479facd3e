// Package cfn reads a CloudFormation or SAM template (YAML or JSON) as
// plain Go values, the way the local tooling and the template's tests look
// at template.yaml. Every short-form intrinsic tag is turned into its long
// form (!GetAtt A.B → {"Fn::GetAtt": ["A", "B"]}, !Ref X → {"Ref": "X"},
// !Sub s → {"Fn::Sub": s}, ...); nothing is resolved or evaluated.
//
// It decodes with yaml.v3 rather than goformation's intrinsics package:
// intrinsics.ProcessYAML registers its tag resolvers in a global map on
// every call, so two calls at once crash the program (awslocal.ParseTables,
// which needs goformation's resolution, serialises its calls for that).
//
// It is local and test tooling: no function binary imports it.
package cfn

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Decode reads a YAML or JSON template into map[string]any, []any, string,
// int, float64, bool and nil values, each short-form intrinsic tag as its
// long form: !Ref and !Condition become {"Ref": v} and {"Condition": v},
// any other !Name becomes {"Fn::Name": v}, and a !GetAtt "id.attr" string
// is split at its first dot into [id, attr]. A tagged scalar stays the
// string it is written as (!Ref 90 is {"Ref": "90"}). Aliases are
// expanded; merge keys (<<) are not. Empty input decodes to nil. Malformed
// YAML is an error that names its line.
func Decode(data []byte) (any, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("invalid YAML template: %w", err)
	}
	return nodeValue(&root)
}

// Unmarshal decodes a template with Decode and stores it in v as
// encoding/json would store the long-form template's JSON text, so v can
// use json.RawMessage fields for the parts it reads later.
func Unmarshal(data []byte, v any) error {
	tree, err := Decode(data)
	if err != nil {
		return err
	}
	text, err := json.Marshal(tree)
	if err != nil {
		return fmt.Errorf("decode template: %w", err)
	}
	if err := json.Unmarshal(text, v); err != nil {
		return fmt.Errorf("decode template: %w", err)
	}
	return nil
}

// ReadFile reads the template at path and hands its text to parse (a
// caller's ParseX), with the errors every reader of template.yaml gives:
// "read template: ..." when the file cannot be read, "template <path>: ..."
// around parse's error.
func ReadFile[T any](path string, parse func(data []byte) (T, error)) (T, error) {
	var zero T
	data, err := os.ReadFile(path)
	if err != nil {
		return zero, fmt.Errorf("read template: %w", err)
	}
	v, err := parse(data)
	if err != nil {
		return zero, fmt.Errorf("template %s: %w", path, err)
	}
	return v, nil
}

// GetAtt reads a long-form Fn::GetAtt, an object with that one key whose
// value is [id, attr] or "id.attr", as Decode or encoding/json produce it;
// ok is false for anything else (a Ref, a literal ARN, a pair whose parts
// are not strings).
func GetAtt(v any) (id, attr string, ok bool) {
	m, isMap := v.(map[string]any)
	if !isMap || len(m) != 1 {
		return "", "", false
	}
	switch g := m["Fn::GetAtt"].(type) {
	case string:
		if id, attr, found := strings.Cut(g, "."); found {
			return id, attr, true
		}
	case []any:
		if len(g) != 2 {
			return "", "", false
		}
		id, idOK := g[0].(string)
		attr, attrOK := g[1].(string)
		if idOK && attrOK {
			return id, attr, true
		}
	}
	return "", "", false
}

func nodeValue(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case 0:
		return nil, nil
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return nodeValue(n.Content[0])
	case yaml.AliasNode:
		return nodeValue(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			e, err := nodeValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = e
		}
		v = m
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			e, err := nodeValue(c)
			if err != nil {
				return nil, err
			}
			list = append(list, e)
		}
		v = list
	default: // scalar
		if intrinsic(n.Tag) {
			v = n.Value
		} else if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
	}
	if !intrinsic(n.Tag) {
		return v, nil
	}
	return longForm(strings.TrimPrefix(n.Tag, "!"), v), nil
}

// longForm wraps the value of a short-form tag !name.
func longForm(name string, v any) map[string]any {
	key := "Fn::" + name
	if name == "Ref" || name == "Condition" {
		key = name
	}
	if s, ok := v.(string); ok && name == "GetAtt" {
		if id, attr, found := strings.Cut(s, "."); found {
			v = []any{id, attr}
		}
	}
	return map[string]any{key: v}
}

// intrinsic says whether a YAML tag is a CloudFormation short form (!Ref,
// !GetAtt, ...) rather than a YAML type (!!str, !!int, ...).
func intrinsic(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}
