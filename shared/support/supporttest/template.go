package supporttest

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/snapkeep/snapkeep/infra/awslocal"
)

// templateParts are the sections of template.yaml a test stack copies:
// its Parameters and Conditions whole, and its Outputs by key, in the
// long form of CloudFormation's intrinsics (!Ref X becomes {"Ref": "X"},
// !If [...] {"Fn::If": [...]}), as a JSON template body wants them.
type templateParts struct {
	Parameters map[string]any
	Conditions map[string]any
	Outputs    map[string]any
}

var (
	partsOnce sync.Once
	parts     *templateParts
	partsErr  error
)

// readTemplateParts reads template.yaml once per test binary.
func readTemplateParts() (*templateParts, error) {
	partsOnce.Do(func() {
		path, err := awslocal.FindTemplate()
		if err != nil {
			partsErr = err
			return
		}
		data, err := os.ReadFile(path)
		if err != nil {
			partsErr = fmt.Errorf("read template: %w", err)
			return
		}
		parts, partsErr = parseTemplateParts(data)
		if partsErr != nil {
			partsErr = fmt.Errorf("template %s: %w", path, partsErr)
		}
	})
	return parts, partsErr
}

func parseTemplateParts(data []byte) (*templateParts, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	doc, ok := longForm(&root).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a mapping")
	}
	section := func(name string) map[string]any {
		m, _ := doc[name].(map[string]any)
		return m
	}
	p := &templateParts{Parameters: section("Parameters"), Conditions: section("Conditions"), Outputs: section("Outputs")}
	if p.Parameters == nil || p.Outputs == nil {
		return nil, fmt.Errorf("no Parameters or Outputs")
	}
	return p, nil
}

// longForm decodes a YAML node, turning CloudFormation's short-form tags
// into their long form.
func longForm(n *yaml.Node) any {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		return longForm(n.Content[0])
	case yaml.AliasNode:
		return longForm(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = longForm(n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		s := []any{}
		for _, c := range n.Content {
			s = append(s, longForm(c))
		}
		v = s
	default:
		var scalar any
		if err := n.Decode(&scalar); err != nil || isIntrinsic(n.Tag) {
			scalar = n.Value
		}
		v = scalar
	}
	switch {
	case n.Tag == "!Ref":
		return map[string]any{"Ref": v}
	case n.Tag == "!Condition":
		return map[string]any{"Condition": v}
	case n.Tag == "!GetAtt":
		if s, ok := v.(string); ok {
			id, attr, _ := strings.Cut(s, ".")
			return map[string]any{"Fn::GetAtt": []any{id, attr}}
		}
		return map[string]any{"Fn::GetAtt": v}
	case isIntrinsic(n.Tag):
		return map[string]any{"Fn::" + n.Tag[1:]: v}
	}
	return v
}

// isIntrinsic reports whether a YAML tag is a CloudFormation short form
// (!Sub, !If, ...) rather than a standard YAML tag (!!str, !!map, ...).
func isIntrinsic(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}
