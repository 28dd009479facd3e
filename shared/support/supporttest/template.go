package supporttest

import (
	"fmt"
	"sync"

	"github.com/snapkeep/snapkeep/infra/awslocal"
	"github.com/snapkeep/snapkeep/infra/cfn"
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
		parts, partsErr = cfn.ReadFile(path, parseTemplateParts)
	})
	return parts, partsErr
}

func parseTemplateParts(data []byte) (*templateParts, error) {
	tree, err := cfn.Decode(data)
	if err != nil {
		return nil, err
	}
	doc, ok := tree.(map[string]any)
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
