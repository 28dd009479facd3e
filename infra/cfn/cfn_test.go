package cfn

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       any
	}{
		{"empty input", "", nil},
		{"comment only", "# nothing\n", nil},
		{"plain scalars", "s: x\ni: 3\nf: 1.5\nb: true\nn: null\nq: '3'",
			map[string]any{"s": "x", "i": 3, "f": 1.5, "b": true, "n": nil, "q": "3"}},
		{"YAML type tag", "s: !!str 3", map[string]any{"s": "3"}},
		{"JSON text", `{"a": [1, "b", {"c": null}]}`, map[string]any{"a": []any{1, "b", map[string]any{"c": nil}}}},
		{"empty mapping and sequence", "m: {}\nl: []", map[string]any{"m": map[string]any{}, "l": []any{}}},
		{"nested sequences and mappings", "a:\n  - b: [1, 2]\n  - [c, {d: e}]",
			map[string]any{"a": []any{map[string]any{"b": []any{1, 2}}, []any{"c", map[string]any{"d": "e"}}}}},
		{"alias", "base: &b {x: 1}\nuse: *b", map[string]any{"base": map[string]any{"x": 1}, "use": map[string]any{"x": 1}}},
		{"alias of a tagged node", "a: &r !Ref X\nb: *r", map[string]any{"a": map[string]any{"Ref": "X"}, "b": map[string]any{"Ref": "X"}}},

		{"!Ref", "v: !Ref Stage", map[string]any{"v": map[string]any{"Ref": "Stage"}}},
		{"!Ref of a number stays text", "v: !Ref 90", map[string]any{"v": map[string]any{"Ref": "90"}}},
		{"!Condition", "v: !Condition IsProd", map[string]any{"v": map[string]any{"Condition": "IsProd"}}},
		{"!GetAtt dotted", "v: !GetAtt T.StreamArn", map[string]any{"v": map[string]any{"Fn::GetAtt": []any{"T", "StreamArn"}}}},
		{"!GetAtt splits at the first dot", "v: !GetAtt DB.Endpoint.Address",
			map[string]any{"v": map[string]any{"Fn::GetAtt": []any{"DB", "Endpoint.Address"}}}},
		{"!GetAtt without a dot", "v: !GetAtt T", map[string]any{"v": map[string]any{"Fn::GetAtt": "T"}}},
		{"!GetAtt sequence", "v: !GetAtt [T, Arn]", map[string]any{"v": map[string]any{"Fn::GetAtt": []any{"T", "Arn"}}}},
		{"!Sub", "v: !Sub x-${Stage}", map[string]any{"v": map[string]any{"Fn::Sub": "x-${Stage}"}}},
		{"!Sub with variables", "v: !Sub ['${A}', {A: !Ref B}]",
			map[string]any{"v": map[string]any{"Fn::Sub": []any{"${A}", map[string]any{"A": map[string]any{"Ref": "B"}}}}}},
		{"!Base64", "v: !Base64 abc", map[string]any{"v": map[string]any{"Fn::Base64": "abc"}}},
		{"!Cidr", "v: !Cidr [10.0.0.0/16, 2, 8]", map[string]any{"v": map[string]any{"Fn::Cidr": []any{"10.0.0.0/16", 2, 8}}}},
		{"!FindInMap", "v: !FindInMap [M, k, v]", map[string]any{"v": map[string]any{"Fn::FindInMap": []any{"M", "k", "v"}}}},
		{"!GetAZs", "v: !GetAZs ''", map[string]any{"v": map[string]any{"Fn::GetAZs": ""}}},
		{"!ImportValue", "v: !ImportValue Exported", map[string]any{"v": map[string]any{"Fn::ImportValue": "Exported"}}},
		{"!Join", "v: !Join [',', [a, b]]", map[string]any{"v": map[string]any{"Fn::Join": []any{",", []any{"a", "b"}}}}},
		{"!Select", "v: !Select [0, !GetAZs '']",
			map[string]any{"v": map[string]any{"Fn::Select": []any{0, map[string]any{"Fn::GetAZs": ""}}}}},
		{"!Split", "v: !Split [',', 'a,b']", map[string]any{"v": map[string]any{"Fn::Split": []any{",", "a,b"}}}},
		{"!Transform", "v: !Transform {Name: T}", map[string]any{"v": map[string]any{"Fn::Transform": map[string]any{"Name": "T"}}}},
		{"!And", "v: !And [!Condition A, !Condition B]",
			map[string]any{"v": map[string]any{"Fn::And": []any{map[string]any{"Condition": "A"}, map[string]any{"Condition": "B"}}}}},
		{"!Or", "v: !Or [!Condition A, !Condition B]",
			map[string]any{"v": map[string]any{"Fn::Or": []any{map[string]any{"Condition": "A"}, map[string]any{"Condition": "B"}}}}},
		{"!Not", "v: !Not [!Condition A]", map[string]any{"v": map[string]any{"Fn::Not": []any{map[string]any{"Condition": "A"}}}}},
		{"!Equals", "v: !Equals [!Ref Stage, prod]",
			map[string]any{"v": map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Stage"}, "prod"}}}},
		{"!If", "v: !If [C, !Ref A, !Ref AWS::NoValue]",
			map[string]any{"v": map[string]any{"Fn::If": []any{"C", map[string]any{"Ref": "A"}, map[string]any{"Ref": "AWS::NoValue"}}}}},
		{"tag on a mapping", "v: !Foo {a: 1}", map[string]any{"v": map[string]any{"Fn::Foo": map[string]any{"a": 1}}}},
		{"long form passes through", "v: {Fn::GetAtt: [T, Arn]}", map[string]any{"v": map[string]any{"Fn::GetAtt": []any{"T", "Arn"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode([]byte(tc.yaml))
			if err != nil {
				t.Fatalf("Decode(%q): %v", tc.yaml, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Decode(%q) =\n%#v\nwant\n%#v", tc.yaml, got, tc.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"mapping in a plain scalar", "a: 1\nb: 2\nc: d: e\n", "invalid YAML template: yaml: line 3: mapping values are not allowed"},
		{"unterminated quote", "a: 1\nb: 2\nc: 'x\n", "invalid YAML template: yaml: line 3: found unexpected end of stream"},
		{"unknown alias", "a: *nope\n", "invalid YAML template: yaml: unknown anchor 'nope'"},
		{"tab indentation", "a:\n\tb: 1\n", "invalid YAML template: yaml: line 2: found character that cannot start any token"},
		{"scalar not of its YAML type", "a: 1\nb: !!int seven\n", "line 2: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode(%q) = %v, %v; want an error containing %q", tc.yaml, got, err, tc.want)
			}
		})
	}
}

func TestUnmarshal(t *testing.T) {
	var doc struct {
		Resources map[string]struct {
			Type       string
			Properties json.RawMessage
		}
	}
	const tpl = "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Stream: !GetAtt T.StreamArn\n"
	if err := Unmarshal([]byte(tpl), &doc); err != nil {
		t.Fatal(err)
	}
	f := doc.Resources["F"]
	if want := `{"Stream":{"Fn::GetAtt":["T","StreamArn"]}}`; f.Type != "AWS::Serverless::Function" || string(f.Properties) != want {
		t.Errorf("F = %s %s, want AWS::Serverless::Function %s", f.Type, f.Properties, want)
	}

	for _, tc := range []struct{ name, yaml, want string }{
		{"malformed YAML", "Resources: [", "invalid YAML template"},
		{"wrong shape", "Resources: [a, b]", "decode template: json: cannot unmarshal array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Unmarshal([]byte(tc.yaml), &doc); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Unmarshal(%q) error = %v, want one containing %q", tc.yaml, err, tc.want)
			}
		})
	}
}

func TestGetAtt(t *testing.T) {
	tests := []struct {
		name     string
		v        any
		id, attr string
		ok       bool
	}{
		{"pair", map[string]any{"Fn::GetAtt": []any{"T", "Arn"}}, "T", "Arn", true},
		{"dotted", map[string]any{"Fn::GetAtt": "T.StreamArn"}, "T", "StreamArn", true},
		{"dotted attribute with a dot", map[string]any{"Fn::GetAtt": "DB.Endpoint.Address"}, "DB", "Endpoint.Address", true},
		{"no dot", map[string]any{"Fn::GetAtt": "T"}, "", "", false},
		{"pair of three", map[string]any{"Fn::GetAtt": []any{"T", "Arn", "x"}}, "", "", false},
		{"attribute not a string", map[string]any{"Fn::GetAtt": []any{"T", map[string]any{"Ref": "A"}}}, "", "", false},
		{"a Ref", map[string]any{"Ref": "T"}, "", "", false},
		{"other keys beside it", map[string]any{"Fn::GetAtt": []any{"T", "Arn"}, "Ref": "X"}, "", "", false},
		{"a literal", "arn:aws:sqs:us-east-1:1:q", "", "", false},
		{"nil", nil, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, attr, ok := GetAtt(tc.v)
			if id != tc.id || attr != tc.attr || ok != tc.ok {
				t.Errorf("GetAtt(%v) = %q, %q, %v; want %q, %q, %v", tc.v, id, attr, ok, tc.id, tc.attr, tc.ok)
			}
		})
	}
}

// TestGetAttOfDecoded reads a short form through Decode and back through
// JSON, as the callers do.
func TestGetAttOfDecoded(t *testing.T) {
	var doc struct{ Q json.RawMessage }
	if err := Unmarshal([]byte("Q: !GetAtt Queue.Arn"), &doc); err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(doc.Q, &v); err != nil {
		t.Fatal(err)
	}
	if id, attr, ok := GetAtt(v); id != "Queue" || attr != "Arn" || !ok {
		t.Errorf("GetAtt(%s) = %q, %q, %v; want Queue, Arn, true", doc.Q, id, attr, ok)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(path, []byte("Resources: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	length := func(data []byte) (int, error) { return len(data), nil }
	if n, err := ReadFile(path, length); n != 14 || err != nil {
		t.Errorf("ReadFile(%s) = %d, %v; want 14, nil", path, n, err)
	}

	missing := filepath.Join(dir, "none.yaml")
	if n, err := ReadFile(missing, length); n != 0 || !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "read template: ") {
		t.Errorf("ReadFile(missing) = %d, %v; want 0 and a read template error wrapping fs.ErrNotExist", n, err)
	}

	bad := errors.New("no Resources")
	fail := func([]byte) (int, error) { return 7, bad }
	n, err := ReadFile(path, fail)
	if want := "template " + path + ": no Resources"; n != 0 || !errors.Is(err, bad) || err.Error() != want {
		t.Errorf("ReadFile(parse fails) = %d, %v; want 0 and %q", n, err, want)
	}
}
