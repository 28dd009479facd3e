package support

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// expr collects a query's key condition, filter and their placeholders.
type expr struct {
	key    string
	filter []string
	names  map[string]string
	values map[string]types.AttributeValue
}

func newExpr() *expr {
	return &expr{names: map[string]string{}, values: map[string]types.AttributeValue{}}
}

// keyRange sets the key condition pk = value and, when r has bounds, the
// sort key sk within them. ok is false when r holds no whole second (no
// stored time can be in it): then there is nothing to query.
func (e *expr) keyRange(pk, value, sk string, r Range) (ok bool) {
	e.names["#k"] = pk
	e.values[":k"] = str(value)
	e.key = "#k = :k"
	lo, hi := r.keyBounds()
	if lo == "" && hi == "" {
		return true
	}
	e.names["#t"] = sk
	switch {
	case lo != "" && hi != "":
		if lo > hi {
			return false
		}
		e.key += " AND #t BETWEEN :from AND :to"
		e.values[":from"], e.values[":to"] = str(lo), str(hi)
	case lo != "":
		e.key += " AND #t >= :from"
		e.values[":from"] = str(lo)
	default:
		e.key += " AND #t <= :to"
		e.values[":to"] = str(hi)
	}
	return true
}

// oneOf adds the filter "attr IN (values)"; nothing when values is empty.
func (e *expr) oneOf(attr string, values []string) {
	if len(values) == 0 {
		return
	}
	name := e.name(attr)
	ph := make([]string, len(values))
	for i, v := range values {
		ph[i] = fmt.Sprintf(":%s%d", strings.TrimPrefix(name, "#"), i)
		e.values[ph[i]] = str(v)
	}
	if len(values) == 1 {
		e.filter = append(e.filter, name+" = "+ph[0])
		return
	}
	e.filter = append(e.filter, name+" IN ("+strings.Join(ph, ", ")+")")
}

// eitherIs adds the filter "(a = v OR b = v)".
func (e *expr) eitherIs(a, b, v string) {
	na, nb := e.name(a), e.name(b)
	e.values[":either"] = str(v)
	e.filter = append(e.filter, "("+na+" = :either OR "+nb+" = :either)")
}

// name returns the placeholder of attr, adding it.
func (e *expr) name(attr string) string {
	n := "#" + strings.ReplaceAll(attr, "_", "")
	e.names[n] = attr
	return n
}

// apply writes the expressions into in.
func (e *expr) apply(in *dynamodb.QueryInput) {
	in.KeyConditionExpression = aws.String(e.key)
	if len(e.filter) > 0 {
		in.FilterExpression = aws.String(strings.Join(e.filter, " AND "))
	}
	in.ExpressionAttributeNames = e.names
	in.ExpressionAttributeValues = e.values
}

// exists adds the filter "attribute_exists(attr)".
func (e *expr) exists(attr string) {
	e.filter = append(e.filter, "attribute_exists("+e.name(attr)+")")
}
