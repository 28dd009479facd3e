package local_test

import (
	"strings"
	"testing"

	"github.com/snapkeep/snapkeep/infra/local"
)

// Records from the Lambda developer guide (with-ddb-filtering and
// invocation-eventfiltering), as Lambda hands them to a function.
const (
	docCustomerRecord = `{"eventID":"1","eventVersion":"1.0","eventName":"INSERT","dynamodb":{"ApproximateCreationDateTime":1678831218,` +
		`"Keys":{"CustomerName":{"S":"AnyCompany Industries"}},` +
		`"NewImage":{"AccountManager":{"S":"Pat Candella"},"PaymentTerms":{"S":"60 days"},"CustomerName":{"S":"AnyCompany Industries"}},` +
		`"SequenceNumber":"111","SizeBytes":26,"StreamViewType":"NEW_IMAGE"}}`
	docMessageRecord = `{"eventID":"1","eventName":"INSERT","dynamodb":{"Keys":{"Id":{"N":"101"}},` +
		`"NewImage":{"Message":{"S":"New item!"},"Id":{"N":"101"}},"SequenceNumber":"111","SizeBytes":26,"StreamViewType":"NEW_AND_OLD_IMAGES"}}`
	// A snapkeep Runs record: a run that failed with a provider error.
	failedRunRecord = `{"eventName":"MODIFY","dynamodb":{"Keys":{"policy_id":{"S":"pol-web"}},` +
		`"NewImage":{"policy_id":{"S":"pol-web"},"status":{"S":"failed"},"error_class":{"S":"provider_error"},"attempts":{"N":"3"},"RBAC":{"BOOL":true}},` +
		`"OldImage":{"policy_id":{"S":"pol-web"},"status":{"S":"running"}},"SequenceNumber":"222","SizeBytes":120}}`
)

func TestFilterMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		patterns []string
		event    string
		want     bool
	}{
		{"no filters pass everything", nil, docMessageRecord, true},
		// with-ddb-filtering: "Filtering with table keys".
		{"doc: table key", []string{`{"dynamodb":{"Keys":{"CustomerName":{"S":["AnyCompany Industries"]}}}}`}, docCustomerRecord, true},
		{"doc: table key, other customer", []string{`{"dynamodb":{"Keys":{"CustomerName":{"S":["Example Corp"]}}}}`}, docCustomerRecord, false},
		// "Filtering with table attributes": OR within a value list.
		{"doc: attribute in a list", []string{`{"dynamodb":{"NewImage":{"AccountManager":{"S":["Pat Candella","Shirley Rodriguez"]}}}}`}, docCustomerRecord, true},
		{"doc: Boolean-ish AND of two attributes", []string{`{"dynamodb":{"NewImage":{"AccountManager":{"S":["Pat Candella"]},"PaymentTerms":{"S":["30 days"]}}}}`}, docCustomerRecord, false},
		// invocation-eventfiltering: multi-level filtering.
		{"doc: multi-level key N", []string{`{"dynamodb":{"Keys":{"Id":{"N":["101"]}}}}`}, docMessageRecord, true},
		{"doc: multi-level key N other", []string{`{"dynamodb":{"Keys":{"Id":{"N":["102"]}}}}`}, docMessageRecord, false},
		{"metadata and data", []string{`{"eventName":["INSERT"],"dynamodb":{"Keys":{"Id":{"N":["101"]}}}}`}, docMessageRecord, true},
		{"metadata mismatch", []string{`{"eventName":["REMOVE"],"dynamodb":{"Keys":{"Id":{"N":["101"]}}}}`}, docMessageRecord, false},
		// The operator table of invocation-eventfiltering.
		{"null matches null", []string{`{"UserID":[null]}`}, `{"UserID":null}`, true},
		{"null does not match a missing field", []string{`{"UserID":[null]}`}, `{"Other":1}`, false},
		{"empty string", []string{`{"LastName":[""]}`}, `{"LastName":""}`, true},
		{"empty string, non-empty value", []string{`{"LastName":[""]}`}, `{"LastName":"Doe"}`, false},
		{"equals", []string{`{"Name":["Alice"]}`}, `{"Name":"Alice"}`, true},
		{"equals is case-sensitive", []string{`{"Name":["Alice"]}`}, `{"Name":"alice"}`, false},
		{"and", []string{`{"Location":["New York"],"Day":["Monday"]}`}, `{"Location":"New York","Day":"Tuesday"}`, false},
		{"or", []string{`{"PaymentType":["Credit","Debit"]}`}, `{"PaymentType":"Debit"}`, true},
		{"anything-but", []string{`{"Weather":[{"anything-but":["Raining"]}]}`}, `{"Weather":"Sunny"}`, true},
		{"anything-but the value", []string{`{"Weather":[{"anything-but":["Raining"]}]}`}, `{"Weather":"Raining"}`, false},
		{"anything-but needs the field", []string{`{"Weather":[{"anything-but":["Raining"]}]}`}, `{"Other":"x"}`, false},
		{"anything-but a single string", []string{`{"state":[{"anything-but":"initializing"}]}`}, `{"state":"running"}`, true},
		{"anything-but prefix", []string{`{"Region":[{"anything-but":{"prefix":"us-"}}]}`}, `{"Region":"us-east-1"}`, false},
		{"anything-but ignore case", []string{`{"state":[{"anything-but":{"equals-ignore-case":["Initializing"]}}]}`}, `{"state":"INITIALIZING"}`, false},
		{"numeric equals", []string{`{"Price":[{"numeric":["=",100]}]}`}, `{"Price":100}`, true},
		{"numeric equals by value", []string{`{"Price":[{"numeric":["=",100]}]}`}, `{"Price":100.0}`, true},
		{"numeric range upper edge", []string{`{"Price":[{"numeric":[">",10,"<=",20]}]}`}, `{"Price":20}`, true},
		{"numeric range lower edge", []string{`{"Price":[{"numeric":[">",10,"<=",20]}]}`}, `{"Price":10}`, false},
		{"doc: temperature range", []string{`{"data":{"Temperature":[{"numeric":[">",50,"<=",60]}]}}`}, `{"data":{"Temperature":55}}`, true},
		{"numeric never matches a string", []string{`{"data":{"Temperature":[{"numeric":[">",50]}]}}`}, `{"data":{"Temperature":"55"}}`, false},
		{"numeric never matches a DynamoDB N (a string)", []string{`{"dynamodb":{"NewImage":{"attempts":{"N":[{"numeric":[">",0]}]}}}}`}, failedRunRecord, false},
		{"exact number compares text", []string{`{"Price":[300]}`}, `{"Price":300.0}`, false},
		{"exact number", []string{`{"Price":[300]}`}, `{"Price":300}`, true},
		{"a number is not its string", []string{`{"Price":["300"]}`}, `{"Price":300}`, false},
		{"exists", []string{`{"ProductName":[{"exists":true}]}`}, `{"ProductName":"x"}`, true},
		{"exists, missing", []string{`{"ProductName":[{"exists":true}]}`}, `{"Other":"x"}`, false},
		{"does not exist", []string{`{"ProductName":[{"exists":false}]}`}, `{"Other":"x"}`, true},
		{"does not exist, present", []string{`{"ProductName":[{"exists":false}]}`}, `{"ProductName":"x"}`, false},
		{"exists needs a leaf, not an attribute object", []string{`{"dynamodb":{"NewImage":{"error_class":[{"exists":true}]}}}`}, failedRunRecord, false},
		{"exists on the attribute's type", []string{`{"dynamodb":{"NewImage":{"error_class":{"S":[{"exists":true}]}}}}`}, failedRunRecord, true},
		{"prefix", []string{`{"Region":[{"prefix":"us-"}]}`}, `{"Region":"us-east-1"}`, true},
		{"prefix, no", []string{`{"Region":[{"prefix":"us-"}]}`}, `{"Region":"eu-west-1"}`, false},
		{"prefix ignore case", []string{`{"Region":[{"prefix":{"equals-ignore-case":"US-"}}]}`}, `{"Region":"us-east-1"}`, true},
		{"suffix", []string{`{"File":[{"suffix":".png"}]}`}, `{"File":"a.png"}`, true},
		{"equals-ignore-case", []string{`{"Name":[{"equals-ignore-case":"alice"}]}`}, `{"Name":"ALICE"}`, true},
		{"boolean", []string{`{"dynamodb":{"NewImage":{"RBAC":{"BOOL":[true]}}}}`}, failedRunRecord, true},
		{"value inside an array", []string{`{"tags":["b"]}`}, `{"tags":["a","b"]}`, true},
		{"snapkeep: failed or timed-out runs", []string{`{"dynamodb":{"NewImage":{"status":{"S":["failed","timed_out"]}}}}`}, failedRunRecord, true},
		{"snapkeep: recovery (was failed, now succeeded)", []string{`{"dynamodb":{"NewImage":{"status":{"S":["succeeded"]}},"OldImage":{"status":{"S":["failed"]}}}}`}, failedRunRecord, false},
		{"several filters are ORed", []string{`{"eventName":["REMOVE"]}`, `{"dynamodb":{"NewImage":{"status":{"S":["failed"]}}}}`}, failedRunRecord, true},
		{"several filters, none matches", []string{`{"eventName":["REMOVE"]}`, `{"dynamodb":{"NewImage":{"status":{"S":["succeeded"]}}}}`}, failedRunRecord, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := local.CompileFilter(tt.patterns)
			if err != nil {
				t.Fatalf("compile %v: %v", tt.patterns, err)
			}
			got, err := f.Match([]byte(tt.event))
			if err != nil {
				t.Fatalf("match: %v", err)
			}
			if got != tt.want {
				t.Errorf("%v on %s = %v, want %v", tt.patterns, tt.event, got, tt.want)
			}
		})
	}
}

func TestCompileFilterRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		pattern string
		want    string
	}{
		{"not JSON", `{"a":`, "not a JSON object"},
		{"not an object", `["a"]`, "not a JSON object"},
		{"empty", `{}`, "empty pattern"},
		{"scalar instead of a list", `{"a":"x"}`, "want an array of values or an object"},
		{"empty list", `{"a":[]}`, "empty value list"},
		{"unknown operator", `{"a":[{"wildcard":"x*"}]}`, `operator "wildcard" is not supported`},
		{"two operators in one object", `{"a":[{"prefix":"x","suffix":"y"}]}`, "exactly one operator"},
		{"exists not a boolean", `{"a":[{"exists":"yes"}]}`, "exists: want true or false"},
		{"numeric odd arguments", `{"a":[{"numeric":[">"]}]}`, "numeric: want [op, number]"},
		{"numeric unknown operator", `{"a":[{"numeric":["!=",1]}]}`, `unknown operator "!="`},
		{"numeric string operand", `{"a":[{"numeric":[">","1"]}]}`, "is not a number"},
		{"numeric empty range", `{"a":[{"numeric":[">",5,"<",1]}]}`, "the range is empty"},
		{"numeric range the wrong way", `{"a":[{"numeric":["<",5,">",1]}]}`, "a range is a lower bound"},
		{"prefix not a string", `{"a":[{"prefix":1}]}`, "prefix: want a string"},
		{"nested empty object", `{"a":{}}`, "a: empty object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := local.CompileFilter([]string{tt.pattern})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CompileFilter(%s) = %v, want an error saying %q", tt.pattern, err, tt.want)
			}
		})
	}
	many := make([]string, local.MaxFilters+1)
	for i := range many {
		many[i] = `{"a":["x"]}`
	}
	if _, err := local.CompileFilter(many); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("%d filters: err %v, want one saying at most %d", len(many), err, local.MaxFilters)
	}
}
