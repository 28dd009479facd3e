package support

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ExplainRead returns the AWS CLI command that makes the same read as r
// (`aws dynamodb query ...` or `aws dynamodb get-item ...`), one option a
// line, quoted for a POSIX shell, followed by a comment line saying what
// it read and how many items DynamoDB read and returned. region is added
// as --region when not empty.
func ExplainRead(r Read, region string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", r.What)
	switch {
	case r.Query != nil:
		b.WriteString(queryCommand(r.Query, r.MaxItems, region))
	case r.Get != nil:
		b.WriteString(getCommand(r.Get, region))
	}
	fmt.Fprintf(&b, "\n#   → %d items returned, %d read", r.Count, r.Scanned)
	if r.Pages > 1 {
		fmt.Fprintf(&b, ", %d pages", r.Pages)
	}
	b.WriteByte('\n')
	return b.String()
}

func queryCommand(in *dynamodb.QueryInput, maxItems int, region string) string {
	args := [][2]string{{"--table-name", aws.ToString(in.TableName)}}
	if in.IndexName != nil {
		args = append(args, [2]string{"--index-name", *in.IndexName})
	}
	args = append(args, [2]string{"--key-condition-expression", aws.ToString(in.KeyConditionExpression)})
	if in.FilterExpression != nil {
		args = append(args, [2]string{"--filter-expression", *in.FilterExpression})
	}
	if in.ProjectionExpression != nil {
		args = append(args, [2]string{"--projection-expression", *in.ProjectionExpression})
	}
	if len(in.ExpressionAttributeNames) > 0 {
		args = append(args, [2]string{"--expression-attribute-names", namesJSON(in.ExpressionAttributeNames)})
	}
	if len(in.ExpressionAttributeValues) > 0 {
		args = append(args, [2]string{"--expression-attribute-values", itemJSON(in.ExpressionAttributeValues)})
	}
	if in.ScanIndexForward != nil && !*in.ScanIndexForward {
		args = append(args, [2]string{"--no-scan-index-forward", ""})
	}
	if aws.ToBool(in.ConsistentRead) {
		args = append(args, [2]string{"--consistent-read", ""})
	}
	if maxItems > 0 {
		args = append(args, [2]string{"--max-items", strconv.Itoa(maxItems)})
	}
	return command("query", args, region)
}

func getCommand(in *dynamodb.GetItemInput, region string) string {
	args := [][2]string{
		{"--table-name", aws.ToString(in.TableName)},
		{"--key", itemJSON(in.Key)},
	}
	if aws.ToBool(in.ConsistentRead) {
		args = append(args, [2]string{"--consistent-read", ""})
	}
	return command("get-item", args, region)
}

func command(op string, args [][2]string, region string) string {
	if region != "" {
		args = append(args, [2]string{"--region", region})
	}
	var b strings.Builder
	b.WriteString("aws dynamodb " + op)
	for _, a := range args {
		b.WriteString(" \\\n    " + a[0])
		if a[1] != "" {
			b.WriteString(" " + ShellQuote(a[1]))
		}
	}
	return b.String()
}

// ShellQuote quotes s for a POSIX shell: as it is when it holds only
// characters no shell treats specially, else in single quotes.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func namesJSON(m map[string]string) string {
	b, _ := json.Marshal(m) // map keys are sorted
	return string(b)
}

// itemJSON renders attribute values as DynamoDB JSON, keys sorted.
func itemJSON(m map[string]types.AttributeValue) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.WriteString(valueJSON(m[k]))
	}
	b.WriteByte('}')
	return b.String()
}

func valueJSON(v types.AttributeValue) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return `{"S":` + q(v.Value) + `}`
	case *types.AttributeValueMemberN:
		return `{"N":` + q(v.Value) + `}`
	case *types.AttributeValueMemberBOOL:
		return `{"BOOL":` + strconv.FormatBool(v.Value) + `}`
	case *types.AttributeValueMemberNULL:
		return `{"NULL":true}`
	case *types.AttributeValueMemberB:
		return `{"B":` + q(base64.StdEncoding.EncodeToString(v.Value)) + `}`
	case *types.AttributeValueMemberM:
		return `{"M":` + itemJSON(v.Value) + `}`
	}
	return `{"NULL":true}`
}
