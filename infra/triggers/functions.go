package triggers

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// FunctionConfig is how template.yaml runs a function, with the Globals
// applied and the parameters at their defaults: what the local stack
// starts each binary with, so that its timeouts and settings cannot drift
// from the template's.
type FunctionConfig struct {
	// Timeout is the function's Timeout, else the Globals', else Lambda's
	// 3 seconds.
	Timeout time.Duration
	// Env is the environment the template gives, resolved where the
	// template alone decides: plain values, !Ref of a parameter (its
	// Default; Stage is the stage read for), !Sub of ${Stage}.
	Env map[string]string
	// Provided are the variables whose values name the stack's own
	// resources (a table, a queue, a role: !Ref or !GetAtt of a resource,
	// or a parameter without a default), sorted: the local stack must
	// give each its own value.
	Provided []string
}

// lambdaDefaultTimeout is Lambda's timeout when the template sets none.
const lambdaDefaultTimeout = 3 * time.Second

// templateParams are the template's parameters' defaults, as JSON.
type templateParams map[string]struct{ Default json.RawMessage }

// globalsFunction is the part of Globals.Function the reader uses.
type globalsFunction struct {
	Timeout     *int
	Environment struct {
		Variables map[string]json.RawMessage
	}
}

// functionConfig resolves one function's Timeout and Environment.
func functionConfig(p functionProps, g globalsFunction, params templateParams, stage string) (FunctionConfig, error) {
	c := FunctionConfig{Timeout: lambdaDefaultTimeout, Env: map[string]string{}}
	for _, t := range []*int{g.Timeout, p.Timeout} {
		if t != nil {
			if *t < 1 || *t > 900 {
				return c, fmt.Errorf("Timeout %d: want 1 to 900 seconds", *t)
			}
			c.Timeout = time.Duration(*t) * time.Second
		}
	}
	vars := map[string]json.RawMessage{}
	for k, v := range g.Environment.Variables {
		vars[k] = v
	}
	for k, v := range p.Environment.Variables {
		vars[k] = v
	}
	for name, raw := range vars {
		v, ok, err := resolveValue(raw, params, stage)
		if err != nil {
			return c, fmt.Errorf("Environment variable %s: %w", name, err)
		}
		if ok {
			c.Env[name] = v
		} else {
			c.Provided = append(c.Provided, name)
		}
	}
	sort.Strings(c.Provided)
	return c, nil
}

// resolveValue is an environment value as the template alone decides it,
// or false when it names one of the stack's resources.
func resolveValue(raw json.RawMessage, params templateParams, stage string) (string, bool, error) {
	var plain any
	if err := json.Unmarshal(raw, &plain); err != nil {
		return "", false, err
	}
	switch v := plain.(type) {
	case string:
		return v, true, nil
	case float64, bool:
		return strings.TrimSpace(string(raw)), true, nil
	case map[string]any:
		if ref, ok := v["Ref"].(string); ok {
			if ref == "Stage" {
				return stage, true, nil
			}
			p, isParam := params[ref]
			if !isParam || len(p.Default) == 0 {
				return "", false, nil // a resource, or a parameter the deployer must give
			}
			return resolveValue(p.Default, params, stage)
		}
		if _, ok := v["Fn::Sub"]; ok {
			s, err := subStage(raw, stage)
			return s, err == nil, nil
		}
		if _, ok := v["Fn::GetAtt"]; ok {
			return "", false, nil
		}
	}
	return "", false, fmt.Errorf("unsupported value %s", raw)
}
