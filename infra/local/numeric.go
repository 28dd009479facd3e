package local

import (
	"encoding/json"
	"errors"
	"fmt"
)

// numeric matches a JSON number leaf within a range: {"numeric": ["=", 5]},
// {"numeric": [">", 0]}, {"numeric": [">=", 0, "<", 10]}. Strings never
// match, even numeric-looking ones, so DynamoDB "N" values (strings in
// the stream record) never match a numeric filter, as on AWS.
type numeric struct {
	conds []numCond
}

type numCond struct {
	op string
	n  float64
}

func (m numeric) match(values []any) bool {
	for _, v := range values {
		num, ok := v.(json.Number)
		if !ok {
			continue
		}
		f, err := num.Float64()
		if err != nil {
			continue
		}
		if m.holds(f) {
			return true
		}
	}
	return false
}

func (m numeric) holds(f float64) bool {
	for _, c := range m.conds {
		var ok bool
		switch c.op {
		case "=":
			ok = f == c.n
		case "<":
			ok = f < c.n
		case "<=":
			ok = f <= c.n
		case ">":
			ok = f > c.n
		case ">=":
			ok = f >= c.n
		}
		if !ok {
			return false
		}
	}
	return true
}

// compileNumeric parses ["op", n] or a range ["> or >=", lo, "< or <=", hi].
func compileNumeric(arg any) (matcher, error) {
	list, ok := arg.([]any)
	if !ok || (len(list) != 2 && len(list) != 4) {
		return nil, fmt.Errorf("numeric: want [op, number] or [op, number, op, number], got %s", jsonText(arg))
	}
	var m numeric
	for i := 0; i < len(list); i += 2 {
		c, err := numericCond(list[i], list[i+1])
		if err != nil {
			return nil, fmt.Errorf("numeric %s: %w", jsonText(arg), err)
		}
		m.conds = append(m.conds, c)
	}
	if len(m.conds) == 2 {
		lo, hi := m.conds[0], m.conds[1]
		if (lo.op != ">" && lo.op != ">=") || (hi.op != "<" && hi.op != "<=") {
			return nil, fmt.Errorf("numeric %s: a range is a lower bound (> or >=) then an upper bound (< or <=)", jsonText(arg))
		}
		if lo.n >= hi.n {
			return nil, fmt.Errorf("numeric %s: the range is empty", jsonText(arg))
		}
	}
	return m, nil
}

func numericCond(op, n any) (numCond, error) {
	o, ok := op.(string)
	if !ok {
		return numCond{}, fmt.Errorf("operator %s is not a string", jsonText(op))
	}
	switch o {
	case "=", "<", "<=", ">", ">=":
	default:
		return numCond{}, fmt.Errorf("unknown operator %q (=, <, <=, >, >=)", o)
	}
	num, ok := n.(json.Number)
	if !ok {
		return numCond{}, errors.New("operand " + jsonText(n) + " is not a number")
	}
	f, err := num.Float64()
	if err != nil {
		return numCond{}, fmt.Errorf("operand %s: %w", num, err)
	}
	return numCond{op: o, n: f}, nil
}
