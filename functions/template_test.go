package functions_test

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/snapkeep/snapkeep/infra/cfn"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/support"
)

// TestTemplateLints runs cfn-lint (which applies the SAM transform) on
// template.yaml; any finding fails the test.
func TestTemplateLints(t *testing.T) {
	path, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatalf("cfn-lint not found on PATH: run `make tools` (python3 -m pip install -r infra/requirements.txt)")
	}
	out, err := exec.Command(path, "--", "../template.yaml").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("cfn-lint template.yaml: %v\n%s", err, out)
	}
}

// The tests below read template.yaml as data with infra/cfn (short-form
// intrinsics become their long form: !Ref X -> {"Ref": "X"}, !GetAtt X.Y ->
// {"Fn::GetAtt": ["X", "Y"]}) and check what cfn-lint cannot know: that the
// template is the stack the code and the design expect.

// template is a decoded template.yaml.
type template struct {
	Globals    map[string]any
	Parameters map[string]any
	Resources  map[string]resource
	Outputs    map[string]any
}

type resource struct {
	Type       string
	Properties map[string]any
	Metadata   map[string]any
	Deletion   string
}

// functionDirs maps each function's logical id to its folder under functions/.
var functionDirs = map[string]string{
	"SnapshotFunction":  "snapshot",
	"SchedulesFunction": "schedules",
	"ErrorRateFunction": "errorrate",
	"NotifyFunction":    "notify",
}

func loadTemplate(t *testing.T) *template {
	t.Helper()
	b, err := os.ReadFile("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := parseTemplate(b)
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return tpl
}

func parseTemplate(b []byte) (*template, error) {
	tree, err := cfn.Decode(b)
	if err != nil {
		return nil, err
	}
	doc, ok := tree.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a mapping")
	}
	tpl := &template{
		Globals:    asMap(doc["Globals"]),
		Parameters: asMap(doc["Parameters"]),
		Outputs:    asMap(doc["Outputs"]),
		Resources:  map[string]resource{},
	}
	for id, raw := range asMap(doc["Resources"]) {
		m := asMap(raw)
		r := resource{Properties: asMap(m["Properties"]), Metadata: asMap(m["Metadata"])}
		r.Type, _ = m["Type"].(string)
		r.Deletion, _ = m["DeletionPolicy"].(string)
		tpl.Resources[id] = r
	}
	return tpl, nil
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	if m == nil {
		return map[string]any{}
	}
	return m
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// ref returns X for {"Ref": "X"} or {"Fn::GetAtt": ["X", "attr"]} (with
// attr), else "".
func ref(v any) (id, attr string) {
	if r, ok := asMap(v)["Ref"].(string); ok {
		return r, ""
	}
	id, attr, _ = cfn.GetAtt(v)
	return id, attr
}

// errorer is what the checks report to: a *testing.T, or a list.
type errorer interface {
	Errorf(format string, args ...any)
}

// problemList collects a check's findings.
type problemList []string

func (p *problemList) Errorf(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

func (tpl *template) functions(t errorer) map[string]resource {
	fns := map[string]resource{}
	for id, r := range tpl.Resources {
		if r.Type == "AWS::Serverless::Function" {
			fns[id] = r
		}
	}
	if got, want := slices.Sorted(maps.Keys(fns)), slices.Sorted(maps.Keys(functionDirs)); !slices.Equal(got, want) {
		t.Errorf("template.yaml functions %v, want %v", got, want)
	}
	return fns
}

// property returns a function's property, falling back to Globals.Function.
func (tpl *template) property(fn resource, name string) any {
	if v, ok := fn.Properties[name]; ok {
		return v
	}
	return asMap(tpl.Globals["Function"])[name]
}

// environment merges Globals' and the function's environment variables.
func (tpl *template) environment(fn resource) map[string]any {
	env := map[string]any{}
	maps.Copy(env, asMap(asMap(asMap(tpl.Globals["Function"])["Environment"])["Variables"]))
	maps.Copy(env, asMap(asMap(fn.Properties["Environment"])["Variables"]))
	return env
}

func TestTemplateTables(t *testing.T) { checkTables(t, loadTemplate(t)) }

// checkTables: every table the code uses is on-demand, with point-in-time
// recovery, encrypted, retained, and named to each function by its
// environment variable. (shared/dynamo's schema test checks keys, indexes,
// streams and TTL.)
func checkTables(t errorer, tpl *template) {
	for _, spec := range dynamo.AllTables() {
		r, ok := tpl.Resources[spec.LogicalID]
		if !ok || r.Type != "AWS::DynamoDB::Table" {
			t.Errorf("template.yaml has no AWS::DynamoDB::Table %s (the code's %s)", spec.LogicalID, spec.EnvVar)
			continue
		}
		p := r.Properties
		if p["BillingMode"] != "PAY_PER_REQUEST" {
			t.Errorf("%s: BillingMode = %v, want PAY_PER_REQUEST (on-demand)", spec.LogicalID, p["BillingMode"])
		}
		if asMap(p["PointInTimeRecoverySpecification"])["PointInTimeRecoveryEnabled"] != true {
			t.Errorf("%s: point-in-time recovery not enabled: %v", spec.LogicalID, p["PointInTimeRecoverySpecification"])
		}
		if asMap(p["SSESpecification"])["SSEEnabled"] != true {
			t.Errorf("%s: SSE not enabled: %v", spec.LogicalID, p["SSESpecification"])
		}
		if r.Deletion != "Retain" {
			t.Errorf("%s: DeletionPolicy = %q, want Retain (a stack delete must not drop customer data)", spec.LogicalID, r.Deletion)
		}
		if _, ok := p["TableName"]; ok {
			t.Errorf("%s: TableName is set: a fixed name keeps two stages from sharing an account", spec.LogicalID)
		}
		for id, fn := range tpl.functions(t) {
			if got, _ := ref(tpl.environment(fn)[spec.EnvVar]); got != spec.LogicalID {
				t.Errorf("%s: environment %s = %v, want !Ref %s", id, spec.EnvVar, tpl.environment(fn)[spec.EnvVar], spec.LogicalID)
			}
		}
	}
}

func TestTemplateFunctions(t *testing.T) { checkFunctions(t, loadTemplate(t)) }

// checkFunctions: the four functions run provided.al2023 on arm64 from a
// bootstrap the Makefile builds.
func checkFunctions(t errorer, tpl *template) {
	for id, fn := range tpl.functions(t) {
		if got := tpl.property(fn, "Runtime"); got != "provided.al2023" {
			t.Errorf("%s: Runtime = %v, want provided.al2023", id, got)
		}
		if got := asList(tpl.property(fn, "Architectures")); len(got) != 1 || got[0] != "arm64" {
			t.Errorf("%s: Architectures = %v, want [arm64]", id, got)
		}
		if got := tpl.property(fn, "Handler"); got != "bootstrap" {
			t.Errorf("%s: Handler = %v, want bootstrap", id, got)
		}
		if got := fn.Metadata["BuildMethod"]; got != "makefile" {
			t.Errorf("%s: Metadata.BuildMethod = %v, want makefile (build-%s in the Makefile)", id, got, id)
		}
		if got := fn.Properties["CodeUri"]; got != "." {
			t.Errorf("%s: CodeUri = %v, want . (the module root, where the Makefile is)", id, got)
		}
		if _, err := os.Stat(filepath.Join(functionDirs[id], "main.go")); err != nil {
			t.Errorf("%s: functions/%s/main.go: %v", id, functionDirs[id], err)
		}
	}
}

// streamWiring is which function follows which tables' streams (sorted).
var streamWiring = map[string][]string{
	"SchedulesFunction": {"PoliciesTable"},
	"ErrorRateFunction": {"ApiCallsTable", "RunsTable"},
	"NotifyFunction":    {"RunsTable"},
}

func TestTemplateStreamMappings(t *testing.T) { checkStreams(t, loadTemplate(t)) }

// checkStreams: the Policies stream drives schedules, the Runs stream
// errorrate and notify, each with partial batch responses, bisection,
// bounded retries and an SQS on-failure destination.
func checkStreams(t errorer, tpl *template) {
	for id, fn := range tpl.functions(t) {
		var streams []string
		for name, raw := range asMap(fn.Properties["Events"]) {
			ev := asMap(raw)
			if ev["Type"] != "DynamoDB" {
				continue
			}
			p := asMap(ev["Properties"])
			table, attr := ref(p["Stream"])
			streams = append(streams, table)
			where := id + " event " + name
			if attr != "StreamArn" {
				t.Errorf("%s: Stream = %v, want !GetAtt <table>.StreamArn", where, p["Stream"])
			}
			if !slices.Contains(asList(p["FunctionResponseTypes"]), any("ReportBatchItemFailures")) {
				t.Errorf("%s: FunctionResponseTypes = %v, want ReportBatchItemFailures", where, p["FunctionResponseTypes"])
			}
			if p["BisectBatchOnFunctionError"] != true {
				t.Errorf("%s: BisectBatchOnFunctionError = %v, want true", where, p["BisectBatchOnFunctionError"])
			}
			// Unset or -1 means retry until the record expires (a day of a
			// blocked shard); bound both.
			if n, ok := p["MaximumRetryAttempts"].(int); !ok || n < 0 || n > 100 {
				t.Errorf("%s: MaximumRetryAttempts = %v, want a bound from 0 to 100", where, p["MaximumRetryAttempts"])
			}
			if n, ok := p["MaximumRecordAgeInSeconds"].(int); !ok || n < 60 || n > 86400 {
				t.Errorf("%s: MaximumRecordAgeInSeconds = %v, want a bound up to a day", where, p["MaximumRecordAgeInSeconds"])
			}
			onFailure := asMap(asMap(p["DestinationConfig"])["OnFailure"])
			queue, qattr := ref(onFailure["Destination"])
			if onFailure["Type"] != "SQS" || qattr != "Arn" || tpl.Resources[queue].Type != "AWS::SQS::Queue" {
				t.Errorf("%s: DestinationConfig.OnFailure = %v, want Type SQS and !GetAtt <queue>.Arn of an AWS::SQS::Queue", where, onFailure)
			}
		}
		want := streamWiring[id]
		slices.Sort(streams)
		if !slices.Equal(streams, want) {
			t.Errorf("%s follows the streams of %v, want %v", id, streams, want)
		}
	}
	for _, spec := range dynamo.AllTables() {
		view := asMap(tpl.Resources[spec.LogicalID].Properties["StreamSpecification"])["StreamViewType"]
		if spec.Stream != "" && view != spec.Stream {
			t.Errorf("%s: StreamViewType = %v, want %s", spec.LogicalID, view, spec.Stream)
		}
	}
}

// grant is one allowed action on one resource: a logical id, optionally with
// "/index/<name>" or "/index/*", or an ARN pattern as written.
type grant struct{ action, resource string }

func (g grant) String() string { return g.action + " on " + g.resource }

// samTemplates are the actions of the SAM policy templates the template may
// use, as aws-sam-translator 1.110 (cfn-lint 1.51's) defines them.
var samTemplates = map[string][]string{
	"DynamoDBReadPolicy":  {"dynamodb:GetItem", "dynamodb:Scan", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:DescribeTable"},
	"DynamoDBWritePolicy": {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"},
	"DynamoDBCrudPolicy": {"dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Scan", "dynamodb:Query",
		"dynamodb:UpdateItem", "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:ConditionCheckItem"},
}

// grants lists what a function's Policies allow (SAM's own additions for
// stream reading, logs and destinations aside).
func grants(t errorer, id string, fn resource) []grant {
	var out []grant
	for _, raw := range asList(fn.Properties["Policies"]) {
		p, ok := raw.(map[string]any)
		if !ok {
			t.Errorf("%s: managed policy %v: only statements and DynamoDB policy templates are allowed", id, raw)
			continue
		}
		for name, arg := range p {
			if name == "Statement" {
				for _, st := range asList(arg) {
					out = append(out, statementGrants(t, id, asMap(st))...)
				}
				continue
			}
			actions, ok := samTemplates[name]
			table, _ := ref(asMap(arg)["TableName"])
			if !ok || table == "" {
				t.Errorf("%s: policy template %s %v: not one this test knows (add its actions to samTemplates)", id, name, arg)
				continue
			}
			for _, a := range actions {
				out = append(out, grant{a, table}, grant{a, table + "/index/*"})
			}
		}
	}
	return out
}

func statementGrants(t errorer, id string, st map[string]any) []grant {
	if cond := asList(st["Fn::If"]); len(cond) == 3 {
		// A conditional statement grants its first branch when the
		// condition holds (the second is AWS::NoValue).
		inner := statementGrants(t, id, asMap(cond[1]))
		for i := range inner {
			inner[i].resource = fmt.Sprintf("if %v: %s", cond[0], inner[i].resource)
		}
		return inner
	}
	if st["Effect"] != "Allow" || st["NotAction"] != nil || st["NotResource"] != nil {
		t.Errorf("%s: statement %v: want plain Allow statements", id, st)
		return nil
	}
	var out []grant
	for _, a := range asList(st["Action"]) {
		if a == "ses:SendEmail" {
			// Only the configured sender: a compromised function (or an
			// operator's leaked credentials) cannot mail as any other
			// verified identity of the account.
			from := asMap(asMap(st["Condition"])["StringEquals"])["ses:FromAddress"]
			if want, says := wantSender(id); !reflect.DeepEqual(from, want) {
				t.Errorf("%s may ses:SendEmail from %v, want the condition ses:FromAddress = %s", id, from, says)
			}
		}
		for _, r := range asList(st["Resource"]) {
			out = append(out, grant{fmt.Sprint(a), resourceName(r)})
		}
	}
	return out
}

// broadcastSender is snapctl broadcast's sender as template.yaml computes
// it: BroadcastSenderAddress, else SenderAddress.
var broadcastSender = map[string]any{"Fn::If": []any{"HasBroadcastSender",
	map[string]any{"Ref": "BroadcastSenderAddress"}, map[string]any{"Ref": "SenderAddress"}}}

// wantSender is the ses:FromAddress condition that id's ses:SendEmail
// must carry, and how to say it: the broadcast sender for the operator,
// SenderAddress for the functions.
func wantSender(id string) (any, string) {
	if id == operatorPolicy {
		return broadcastSender, "the broadcast sender (!If [HasBroadcastSender, !Ref BroadcastSenderAddress, !Ref SenderAddress])"
	}
	return map[string]any{"Ref": "SenderAddress"}, "!Ref SenderAddress"
}

// resourceName reduces a statement's resource: !GetAtt X.Arn -> X,
// !Sub "${X.Arn}/index/i" -> X/index/i, other !Sub -> its text.
func resourceName(r any) string {
	if id, attr := ref(r); id != "" && (attr == "Arn" || attr == "") {
		return id
	}
	m := asMap(r)
	if s, ok := m["Fn::Sub"].(string); ok {
		if rest, ok := strings.CutPrefix(s, "${"); ok {
			if x, tail, ok := strings.Cut(rest, ".Arn}"); ok {
				return x + tail
			}
		}
		return s
	}
	if cond := asList(m["Fn::If"]); len(cond) == 3 {
		return fmt.Sprintf("if %v: %s", cond[0], resourceName(cond[1]))
	}
	return fmt.Sprint(r)
}

// TestTemplateLeastPrivilege checks each function's permissions against the
// calls its code makes. When the code starts making a new call, add it here
// and to template.yaml together.
func TestTemplateLeastPrivilege(t *testing.T) { checkPrivileges(t, loadTemplate(t)) }

func checkPrivileges(t errorer, tpl *template) {
	fns := tpl.functions(t)
	const secrets = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:snapkeep/${Stage}/accounts/*"
	const schedules = "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/snapkeep-${Stage}/*"
	const sesIdentities = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"
	const sesConfigSet = "if HasConfigurationSet: arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${SESConfigurationSet}"
	exact := map[string][]grant{
		// shared/dynamo StatsStore (window parts by BatchWriteItem, the
		// registry's UpdateItem, roll-ups and watches by GetItem/PutItem,
		// ranges by Query), IncidentStore (GetItem, conditional PutItem,
		// the open index), EscalationSource and RunStore.FirstDue (index
		// Queries only), shared/email's send and suppression check, the ops
		// webhook's secret.
		"ErrorRateFunction": {
			{"dynamodb:GetItem", "StatsTable"}, {"dynamodb:PutItem", "StatsTable"}, {"dynamodb:UpdateItem", "StatsTable"},
			{"dynamodb:BatchWriteItem", "StatsTable"}, {"dynamodb:Query", "StatsTable"},
			{"dynamodb:GetItem", "IncidentsTable"}, {"dynamodb:PutItem", "IncidentsTable"},
			{"dynamodb:Query", "IncidentsTable/index/" + dynamo.IndexIncidentsOpen},
			{"dynamodb:Query", "RunsTable/index/" + dynamo.IndexRunsUnfinished},
			{"dynamodb:Query", "RunsTable/index/" + dynamo.IndexRunsByResource},
			{"dynamodb:Query", "RunsTable/index/" + dynamo.IndexRunsFailures},
			{"dynamodb:Query", "ApiCallsTable/index/" + dynamo.IndexCallsFailuresByHr},
			{"ses:SendEmail", sesIdentities},
			{"ses:SendEmail", sesConfigSet},
			{"ses:GetSuppressedDestination", "*"},
			{"secretsmanager:GetSecretValue", "if HasOpsWebhook: arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${OpsWebhookSecretName}-??????"},
		},
		// shared/dynamo PolicyStore.Get; RunStore.Claim/Get/Save/
		// AppendCalls/DueUnfinished (TransactWriteItems is authorised as
		// the Put and Update it contains), Previous (a Query of the
		// policy's runs), ClaimLocked/SaveLocked (a Put of the droplet lock,
		// GetItem of its holder); secrets.Store.Token.
		"SnapshotFunction": {
			{"dynamodb:GetItem", "PoliciesTable"},
			{"dynamodb:GetItem", "RunsTable"},
			{"dynamodb:PutItem", "RunsTable"},
			{"dynamodb:UpdateItem", "RunsTable"},
			{"dynamodb:Query", "RunsTable"},
			{"dynamodb:Query", "RunsTable/index/" + dynamo.IndexRunsUnfinished},
			{"dynamodb:PutItem", "ApiCallsTable"},
			{"dynamodb:BatchWriteItem", "ApiCallsTable"},
			{"dynamodb:GetItem", "LeasesTable"},
			{"dynamodb:PutItem", "LeasesTable"},
			{"secretsmanager:GetSecretValue", secrets},
			{"sqs:SendMessage", "FollowUpQueue"},
		},
		// PolicyStore.Get and MarkInvalid; shared/scheduler's four calls,
		// passing the invoke role to Scheduler ...
		// ... and the reconciler's Scan of policy ids and ListSchedules
		// (which has no resource-level permission: its calls always name
		// the stage's group).
		"SchedulesFunction": {
			{"dynamodb:GetItem", "PoliciesTable"},
			{"dynamodb:UpdateItem", "PoliciesTable"},
			{"dynamodb:Scan", "PoliciesTable"},
			{"scheduler:ListSchedules", "*"},
			{"scheduler:GetSchedule", schedules},
			{"scheduler:CreateSchedule", schedules},
			{"scheduler:UpdateSchedule", schedules},
			{"scheduler:DeleteSchedule", schedules},
			{"iam:PassRole", "SchedulerInvokeRole"},
		},
		// shared/dynamo RunStore/notices (read the run, claim and record
		// its notices, a policy's recent runs), CustomerStore (read, block a
		// channel), PolicyStore.Get, IncidentStore (open index),
		// MailingStore (incident notices and digests, the pending index);
		// shared/email's send and suppression check (which has no
		// resource-level permission).
		"NotifyFunction": {
			{"dynamodb:GetItem", "RunsTable"},
			{"dynamodb:UpdateItem", "RunsTable"},
			{"dynamodb:Query", "RunsTable"},
			{"dynamodb:GetItem", "CustomersTable"},
			{"dynamodb:UpdateItem", "CustomersTable"},
			{"dynamodb:GetItem", "PoliciesTable"},
			{"dynamodb:GetItem", "IncidentsTable"},
			{"dynamodb:Query", "IncidentsTable/index/" + dynamo.IndexIncidentsOpen},
			{"dynamodb:GetItem", "MailingsTable"},
			{"dynamodb:UpdateItem", "MailingsTable"},
			{"dynamodb:Query", "MailingsTable/index/pending"},
			{"ses:SendEmail", sesIdentities},
			{"ses:SendEmail", sesConfigSet},
			{"ses:GetSuppressedDestination", "*"},
		},
	}
	cmp := func(a, b grant) int { return strings.Compare(a.String(), b.String()) }
	for id, want := range exact {
		got := grants(t, id, fns[id])
		slices.SortFunc(got, cmp)
		slices.SortFunc(want, cmp)
		for _, g := range got {
			if !slices.Contains(want, g) {
				t.Errorf("%s may %s, which its code never calls", id, g)
			}
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("%s may not %s, which its code calls", id, w)
			}
		}
	}
}

// operatorPolicy is the logical id of snapctl's operator policy.
const operatorPolicy = "SupportOperatorPolicy"

// TestTemplateOperatorPolicy checks the operator's managed policy
// against the calls snapctl makes with the operator's credentials. When
// snapctl starts making a new call, add it here and to template.yaml
// together.
func TestTemplateOperatorPolicy(t *testing.T) { checkOperatorPolicy(t, loadTemplate(t)) }

func checkOperatorPolicy(t errorer, tpl *template) {
	r, ok := tpl.Resources[operatorPolicy]
	if !ok || r.Type != "AWS::IAM::ManagedPolicy" {
		t.Errorf("%s is %q, want an AWS::IAM::ManagedPolicy", operatorPolicy, r.Type)
		return
	}
	if _, named := r.Properties["ManagedPolicyName"]; named {
		t.Errorf("%s: ManagedPolicyName is set: a fixed name needs CAPABILITY_NAMED_IAM (samconfig.toml asks for CAPABILITY_IAM) and keeps two stages from sharing an account", operatorPolicy)
	}
	const secrets = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:snapkeep/${Stage}/accounts/*"
	const schedules = "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/snapkeep-${Stage}/*"
	const sesSets = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/"
	index := func(table, name string) string { return table + "/index/" + name }
	// What cmd/snapctl calls (recorded by running its tests against moto
	// with every AWS request logged, and read in the code):
	want := []grant{
		// target.go: --stack and --stage read the stack's outputs.
		{"cloudformation:DescribeStacks", "AWS::StackId"},
		// dynamo.PolicyStore: Get (policy get, run now, customer delete,
		// the broadcast's listed policies), Put, SetEnabled and
		// MarkInvalid (UpdateItem), Delete; List and completion: the
		// by-customer index, else a Scan of policy ids.
		{"dynamodb:GetItem", "PoliciesTable"}, {"dynamodb:UpdateItem", "PoliciesTable"},
		{"dynamodb:DeleteItem", "PoliciesTable"}, {"dynamodb:Scan", "PoliciesTable"},
		{"dynamodb:Query", index("PoliciesTable", dynamo.IndexPoliciesByCustomer)},
		// dynamo.CustomerStore: Get, Put (UpdateItem), Delete; the
		// broadcast's Block of a suppressed address (UpdateItem).
		{"dynamodb:GetItem", "CustomersTable"}, {"dynamodb:UpdateItem", "CustomersTable"}, {"dynamodb:DeleteItem", "CustomersTable"},
		// support.Queries: run show (GetItem), a policy's runs and its
		// last run (the table), runs by customer and resource, failures
		// (failures-by-class, retrying); the report's and the
		// broadcast's reads through dynamo.EscalationSource.
		{"dynamodb:GetItem", "RunsTable"}, {"dynamodb:Query", "RunsTable"},
		{"dynamodb:Query", index("RunsTable", dynamo.IndexRunsByCustomer)},
		{"dynamodb:Query", index("RunsTable", dynamo.IndexRunsByResource)},
		{"dynamodb:Query", index("RunsTable", dynamo.IndexRunsFailures)},
		{"dynamodb:Query", index("RunsTable", dynamo.IndexRunsRetrying)},
		// calls --run (the table), --request-id; the report's affected
		// calls (failures-by-hour).
		{"dynamodb:Query", "ApiCallsTable"},
		{"dynamodb:Query", index("ApiCallsTable", dynamo.IndexCallsByRequestID)},
		{"dynamodb:Query", index("ApiCallsTable", dynamo.IndexCallsFailuresByHr)},
		// incidents show (GetItem), list (open, by-month).
		{"dynamodb:GetItem", "IncidentsTable"},
		{"dynamodb:Query", index("IncidentsTable", dynamo.IndexIncidentsOpen)},
		{"dynamodb:Query", index("IncidentsTable", dynamo.IndexIncidentsByMonth)},
		// dynamo.StatsStore: the report's daily roll-ups, minute parts
		// and run counts, the broadcast's window counts (all Queries).
		{"dynamodb:Query", "StatsTable"},
		// dynamo.MailingStore, the broadcast's sent log: ClaimBroadcast
		// (PutItem; on an existing item the claim's UpdateItems and the
		// GetItem of a claim there), Record/ReleaseBroadcast
		// (UpdateItem), BroadcastNotices (Query).
		{"dynamodb:GetItem", "MailingsTable"}, {"dynamodb:PutItem", "MailingsTable"},
		{"dynamodb:UpdateItem", "MailingsTable"}, {"dynamodb:Query", "MailingsTable"},
		// secrets.Store: account set-token (PutSecretValue, else
		// CreateSecret), account check (GetSecretValue); account list
		// (ListSecrets, no resource-level permissions).
		{"secretsmanager:CreateSecret", secrets}, {"secretsmanager:PutSecretValue", secrets},
		{"secretsmanager:GetSecretValue", secrets}, {"secretsmanager:ListSecrets", "*"},
		// policy get: the schedule's state.
		{"scheduler:GetSchedule", schedules},
		// run now.
		{"lambda:InvokeFunction", "SnapshotFunction"},
		// broadcast: shared/email's SendEmail on the broadcast stream
		// (from the broadcast sender: wantSender), with its configuration
		// set; GetAccount (the send rate) and the suppression list.
		{"ses:SendEmail", "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"},
		{"ses:SendEmail", "if HasBroadcastConfigurationSet: " + sesSets + "${BroadcastConfigurationSet}"},
		{"ses:SendEmail", "if BroadcastUsesStackConfigurationSet: " + sesSets + "${SESConfigurationSet}"},
		{"ses:GetAccount", "*"}, {"ses:GetSuppressedDestination", "*"},
	}
	var got []grant
	for _, st := range asList(asMap(r.Properties["PolicyDocument"])["Statement"]) {
		got = append(got, statementGrants(t, operatorPolicy, asMap(st))...)
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("%s may %s, which snapctl never calls", operatorPolicy, g)
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s may not %s, which snapctl calls", operatorPolicy, w)
		}
	}
}

func TestTemplateScheduler(t *testing.T) { checkScheduler(t, loadTemplate(t)) }

// checkScheduler: the schedule group, the role Scheduler assumes to invoke
// the snapshot function, the sweep, and where failed invocations go.
func checkScheduler(t errorer, tpl *template) {
	group := tpl.Resources["ScheduleGroup"]
	if group.Type != "AWS::Scheduler::ScheduleGroup" || asMap(group.Properties["Name"])["Fn::Sub"] != "snapkeep-${Stage}" {
		t.Errorf("ScheduleGroup = %+v, want an AWS::Scheduler::ScheduleGroup named snapkeep-${Stage}", group)
	}
	role := tpl.Resources["SchedulerInvokeRole"]
	if role.Type != "AWS::IAM::Role" {
		t.Errorf("SchedulerInvokeRole is %q, want AWS::IAM::Role", role.Type)
	}
	trust := asList(asMap(role.Properties["AssumeRolePolicyDocument"])["Statement"])
	if len(trust) != 1 || asMap(asMap(trust[0])["Principal"])["Service"] != "scheduler.amazonaws.com" || asMap(trust[0])["Action"] != "sts:AssumeRole" {
		t.Errorf("SchedulerInvokeRole trust = %v, want only scheduler.amazonaws.com", trust)
	}
	if len(trust) == 1 {
		cond := asMap(asMap(trust[0])["Condition"])
		account, _ := ref(asMap(cond["StringEquals"])["aws:SourceAccount"])
		source := asMap(asMap(cond["ArnLike"])["aws:SourceArn"])["Fn::Sub"]
		if account != "AWS::AccountId" || source != "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/snapkeep-${Stage}/*" {
			t.Errorf("SchedulerInvokeRole trust condition = %v, want aws:SourceAccount and aws:SourceArn of the stage's schedule group", cond)
		}
	}
	var got []grant
	for _, p := range asList(role.Properties["Policies"]) {
		for _, st := range asList(asMap(asMap(p)["PolicyDocument"])["Statement"]) {
			got = append(got, statementGrants(t, "SchedulerInvokeRole", asMap(st))...)
		}
	}
	want := []grant{
		{"lambda:InvokeFunction", "SnapshotFunction"},
		{"lambda:InvokeFunction", "SnapshotFunction:*"},
		{"sqs:SendMessage", "ScheduleDeadLetterQueue"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("SchedulerInvokeRole may %v, want %v", got, want)
	}
	env := tpl.environment(tpl.functions(t)["SchedulesFunction"])
	for name, wantID := range map[string]string{
		"SCHEDULE_GROUP": "ScheduleGroup", "SNAPSHOT_FUNCTION_ARN": "SnapshotFunction",
		"SCHEDULER_ROLE_ARN": "SchedulerInvokeRole", "SCHEDULE_DLQ_ARN": "ScheduleDeadLetterQueue",
	} {
		if id, _ := ref(env[name]); id != wantID {
			t.Errorf("SchedulesFunction environment %s = %v, want a reference to %s", name, env[name], wantID)
		}
	}
	// The sweep: a named per-stage schedule (SAM would name every stage's
	// "SnapshotFunctionSweep" in the default group, and the second stack in
	// an account would fail to create it).
	sweep := asMap(asMap(tpl.functions(t)["SnapshotFunction"].Properties["Events"])["Sweep"])
	sp := asMap(sweep["Properties"])
	name, _ := asMap(sp["Name"])["Fn::Sub"].(string)
	if sweep["Type"] != "ScheduleV2" || !strings.Contains(name, "${Stage}") || sp["ScheduleExpression"] != "rate(5 minutes)" || sp["Input"] != `{"sweep": true}` {
		t.Errorf("SnapshotFunction Sweep event = %v, want a ScheduleV2 rate(1 minute) {\"sweep\": true} named per stage", sweep)
	}
	// Failed asynchronous invocations go to a queue after bounded retries.
	eic := asMap(tpl.functions(t)["SnapshotFunction"].Properties["EventInvokeConfig"])
	dest := asMap(asMap(asMap(eic["DestinationConfig"])["OnFailure"]))
	if q, attr := ref(dest["Destination"]); dest["Type"] != "SQS" || attr != "Arn" || tpl.Resources[q].Type != "AWS::SQS::Queue" {
		t.Errorf("SnapshotFunction EventInvokeConfig.DestinationConfig.OnFailure = %v, want an SQS queue", dest)
	}
	if n, ok := eic["MaximumRetryAttempts"].(int); !ok || n < 0 || n > 2 {
		t.Errorf("SnapshotFunction EventInvokeConfig.MaximumRetryAttempts = %v, want 0 to 2", eic["MaximumRetryAttempts"])
	}
}

func TestTemplateParametersAndOutputs(t *testing.T) { checkParametersAndOutputs(t, loadTemplate(t)) }

func checkParametersAndOutputs(t errorer, tpl *template) {
	for _, p := range []string{"Stage", "SenderAddress", "OpsAddress", "SESConfigurationSet", "AppURL", "BroadcastSenderAddress", "BroadcastConfigurationSet"} {
		if _, ok := tpl.Parameters[p]; !ok {
			t.Errorf("parameter %s missing", p)
		}
	}
	outputs := map[string]string{} // resource -> output
	for name, raw := range tpl.Outputs {
		if id, _ := ref(asMap(raw)["Value"]); id != "" {
			outputs[id] = name
		}
	}
	want := []string{"ScheduleGroup", "SnapshotFunction", "SchedulerInvokeRole", "StreamFailureQueue", "ScheduleDeadLetterQueue", "SnapshotFailureQueue", operatorPolicy}
	for _, spec := range dynamo.AllTables() {
		want = append(want, spec.LogicalID)
	}
	for _, id := range want {
		if _, ok := outputs[id]; !ok {
			t.Errorf("no output gives %s", id)
		}
	}
}

// TestTemplateOps checks what ops relies on after a deploy: each function
// logs to a group of its own with a retention period; every queue that
// holds lost events and every function's errors raise an alarm on the ops
// topic; resources are tagged; the outputs snapctl reads exist.
func TestTemplateOps(t *testing.T) { checkOps(t, loadTemplate(t)) }

func checkOps(t errorer, tpl *template) {
	for id, fn := range tpl.functions(t) {
		group, _ := ref(asMap(fn.Properties["LoggingConfig"])["LogGroup"])
		lg, ok := tpl.Resources[group]
		if !ok || lg.Type != "AWS::Logs::LogGroup" {
			t.Errorf("%s logs to %q, want a log group of its own", id, group)
			continue
		}
		if days, _ := ref(lg.Properties["RetentionInDays"]); days != "LogRetentionDays" {
			t.Errorf("%s: log group %s keeps logs %v, want !Ref LogRetentionDays", id, group, lg.Properties["RetentionInDays"])
		}
	}
	alarmed := map[string]bool{}
	for _, r := range tpl.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" {
			continue
		}
		actions := asList(r.Properties["AlarmActions"])
		if len(actions) != 1 {
			continue
		}
		if topic, _ := ref(actions[0]); topic != "OpsAlarmTopic" {
			continue
		}
		for _, d := range asList(r.Properties["Dimensions"]) {
			if id, _ := ref(asMap(d)["Value"]); id != "" {
				alarmed[id] = true
			}
		}
	}
	for id, r := range tpl.Resources {
		if (r.Type == "AWS::SQS::Queue" || r.Type == "AWS::Serverless::Function") && !alarmed[id] {
			t.Errorf("%s (%s) raises no alarm on OpsAlarmTopic", id, r.Type)
		}
	}
	tags := asMap(asMap(tpl.Globals["Function"])["Tags"])
	if tags["project"] != "snapkeep" {
		t.Errorf("Globals.Function.Tags = %v, want project: snapkeep and the stage", tags)
	}
	if _, ok := tpl.Outputs["OpsAlarmTopicArn"]; !ok {
		t.Errorf("output OpsAlarmTopicArn missing (ops subscribe to it)")
	}
	for _, name := range support.OutputKeys() {
		if _, ok := tpl.Outputs[name]; !ok {
			t.Errorf("output %s missing (snapctl --stack reads it)", name)
		}
	}
	// The broadcast's sender is the one the operator policy sends from;
	// its configuration set is there only when the stack has one (an
	// empty output value would fail the deploy).
	if v := asMap(tpl.Outputs[support.OutputBroadcastSender])["Value"]; !reflect.DeepEqual(v, broadcastSender) {
		t.Errorf("output %s = %v, want %v (the operator policy's ses:FromAddress)", support.OutputBroadcastSender, v, broadcastSender)
	}
	if c := asMap(tpl.Outputs[support.OutputBroadcastConfigurationSet])["Condition"]; c != "BroadcastHasConfigurationSet" {
		t.Errorf("output %s has Condition %v, want BroadcastHasConfigurationSet", support.OutputBroadcastConfigurationSet, c)
	}
	if id, _ := ref(asMap(tpl.Outputs[support.OutputAppURL])["Value"]); id != "AppURL" {
		t.Errorf("output %s = %v, want !Ref AppURL", support.OutputAppURL, tpl.Outputs[support.OutputAppURL])
	}
}

// TestTemplateFollowUps: the snapshot function consumes the follow-up
// queue with partial batch responses and bounded concurrency, may send to
// it, and the queue dead-letters what fails five deliveries; its
// visibility is at least six times the function's timeout.
func TestTemplateFollowUps(t *testing.T) { checkFollowUps(t, loadTemplate(t)) }

func checkFollowUps(t errorer, tpl *template) {
	fn := tpl.functions(t)["SnapshotFunction"]
	ev := asMap(asMap(fn.Properties["Events"])["FollowUps"])
	p := asMap(ev["Properties"])
	if q, _ := ref(p["Queue"]); ev["Type"] != "SQS" || q != "FollowUpQueue" {
		t.Errorf("SnapshotFunction FollowUps event = %v, want SQS from FollowUpQueue", ev)
	}
	if !slices.Equal(asList(p["FunctionResponseTypes"]), []any{"ReportBatchItemFailures"}) {
		t.Errorf("FollowUps FunctionResponseTypes = %v, want ReportBatchItemFailures", p["FunctionResponseTypes"])
	}
	if c, _ := asMap(p["ScalingConfig"])["MaximumConcurrency"].(int); c < 2 || c > 1000 {
		t.Errorf("FollowUps MaximumConcurrency = %v, want a bound (2-1000)", asMap(p["ScalingConfig"])["MaximumConcurrency"])
	}
	if id, _ := ref(tpl.environment(fn)["FOLLOW_UP_QUEUE_URL"]); id != "FollowUpQueue" {
		t.Errorf("FOLLOW_UP_QUEUE_URL = %v, want !Ref FollowUpQueue", tpl.environment(fn)["FOLLOW_UP_QUEUE_URL"])
	}
	q := tpl.Resources["FollowUpQueue"].Properties
	redrive := asMap(q["RedrivePolicy"])
	if dlq, _ := ref(redrive["deadLetterTargetArn"]); dlq != "FollowUpDeadLetterQueue" || redrive["maxReceiveCount"] == nil {
		t.Errorf("FollowUpQueue redrive = %v, want FollowUpDeadLetterQueue", redrive)
	}
	timeout, _ := fn.Properties["Timeout"].(int)
	if v, _ := q["VisibilityTimeout"].(int); v < 6*timeout {
		t.Errorf("FollowUpQueue VisibilityTimeout = %v, want at least 6 × %d s", q["VisibilityTimeout"], timeout)
	}
}

// TestTemplateChecksCanFail breaks copies of template.yaml and expects the
// checks above to name what broke.
func TestTemplateChecksCanFail(t *testing.T) {
	orig, err := os.ReadFile("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, old, new string
		check          func(errorer, *template)
		want           string
	}{
		{"partial batch responses", "MaximumRecordAgeInSeconds: 86400\n            FunctionResponseTypes: [ReportBatchItemFailures]",
			"MaximumRecordAgeInSeconds: 86400\n            FunctionResponseTypes: []", checkStreams,
			"FunctionResponseTypes = [], want ReportBatchItemFailures"},
		{"bisect", "BisectBatchOnFunctionError: true", "BisectBatchOnFunctionError: false", checkStreams,
			"BisectBatchOnFunctionError = false, want true"},
		{"unbounded retries", "MaximumRetryAttempts: 10", "MaximumRetryAttempts: -1", checkStreams,
			"MaximumRetryAttempts = -1"},
		{"no on-failure queue", "                Destination: !GetAtt StreamFailureQueue.Arn", "                Destination: !GetAtt ScheduleGroup.Arn", checkStreams,
			"DestinationConfig.OnFailure"},
		{"stream of another table", "Stream: !GetAtt PoliciesTable.StreamArn", "Stream: !GetAtt RunsTable.StreamArn", checkStreams,
			"SchedulesFunction follows the streams of [RunsTable], want [PoliciesTable]"},
		{"extra action", "                - dynamodb:UpdateItem\n              Resource: !GetAtt RunsTable.Arn",
			"                - dynamodb:UpdateItem\n                - dynamodb:DeleteItem\n              Resource: !GetAtt RunsTable.Arn", checkPrivileges,
			"SnapshotFunction may dynamodb:DeleteItem on RunsTable, which its code never calls"},
		{"missing action", "              Action: dynamodb:Query\n", "              Action: dynamodb:Scan\n", checkPrivileges,
			"SnapshotFunction may not dynamodb:Query on RunsTable/index/unfinished, which its code calls"},
		{"grant on another table", "              Resource: !GetAtt StatsTable.Arn\n", "              Resource: !GetAtt PoliciesTable.Arn\n", checkPrivileges,
			"ErrorRateFunction may dynamodb:BatchWriteItem on PoliciesTable, which its code never calls"},
		{"any sender", "                  ses:FromAddress: !Ref SenderAddress\n", "                  ses:FromAddress: \"*\"\n", checkPrivileges,
			"ErrorRateFunction may ses:SendEmail from *, want the condition ses:FromAddress = !Ref SenderAddress"},
		{"operator grant snapctl never uses", "              - dynamodb:DeleteItem\n            Resource:\n              - !GetAtt PoliciesTable.Arn\n              - !GetAtt CustomersTable.Arn\n",
			"              - dynamodb:DeleteItem\n              - dynamodb:PutItem\n            Resource:\n              - !GetAtt PoliciesTable.Arn\n              - !GetAtt CustomersTable.Arn\n", checkOperatorPolicy,
			"SupportOperatorPolicy may dynamodb:PutItem on CustomersTable, which snapctl never calls"},
		{"operator grant missing", "              - !Sub \"${RunsTable.Arn}/index/retrying\"\n", "", checkOperatorPolicy,
			"SupportOperatorPolicy may not dynamodb:Query on RunsTable/index/retrying, which snapctl calls"},
		{"operator tokens of every stage", "              - secretsmanager:GetSecretValue\n            Resource: !Sub arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:snapkeep/${Stage}/accounts/*",
			"              - secretsmanager:GetSecretValue\n            Resource: !Sub arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:snapkeep/*", checkOperatorPolicy,
			"SupportOperatorPolicy may secretsmanager:GetSecretValue on arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:snapkeep/*, which snapctl never calls"},
		{"operator sends as anyone", "ses:FromAddress: !If [HasBroadcastSender, !Ref BroadcastSenderAddress, !Ref SenderAddress]", "ses:FromAddress: !Ref SenderAddress", checkOperatorPolicy,
			"SupportOperatorPolicy may ses:SendEmail from map[Ref:SenderAddress], want the condition ses:FromAddress = the broadcast sender"},
		{"named operator policy", "    Type: AWS::IAM::ManagedPolicy\n    Properties:\n", "    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      ManagedPolicyName: snapctl\n", checkOperatorPolicy,
			"ManagedPolicyName is set"},
		{"output snapctl reads", "  AppURL:\n    Description: The customers' app", "  AppLink:\n    Description: The customers' app", checkOps,
			"output AppURL missing (snapctl --stack reads it)"},
		{"broadcast sender output", "    Value: !If [HasBroadcastSender, !Ref BroadcastSenderAddress, !Ref SenderAddress]", "    Value: !Ref BroadcastSenderAddress", checkOps,
			"output BroadcastSenderAddress = map[Ref:BroadcastSenderAddress]"},
		{"runtime", "Runtime: provided.al2023", "Runtime: go1.x", checkFunctions,
			"Runtime = go1.x, want provided.al2023"},
		{"architecture", "Architectures: [arm64]", "Architectures: [x86_64]", checkFunctions,
			"Architectures = [x86_64], want [arm64]"},
		{"pitr", "PointInTimeRecoveryEnabled: true", "PointInTimeRecoveryEnabled: false", checkTables,
			"PoliciesTable: point-in-time recovery not enabled"},
		{"billing", "BillingMode: PAY_PER_REQUEST", "BillingMode: PROVISIONED", checkTables,
			"PoliciesTable: BillingMode = PROVISIONED, want PAY_PER_REQUEST"},
		{"missing table", "\n  IncidentsTable:\n", "\n  IncidentsTableRenamed:\n", checkTables,
			"template.yaml has no AWS::DynamoDB::Table IncidentsTable (the code's INCIDENTS_TABLE)"},
		{"sweep name", "Name: !Sub snapkeep-${Stage}-sweep", "Name: !Sub snapkeep-sweep", checkScheduler,
			"SnapshotFunction Sweep event"},
		{"no log group", "        LogGroup: !Ref NotifyLogGroup\n", "", checkOps,
			"NotifyFunction logs to \"\", want a log group of its own"},
		{"queue without alarm", "          Value: !GetAtt SnapshotFailureQueue.QueueName", "          Value: !GetAtt StreamFailureQueue.QueueName", checkOps,
			"SnapshotFailureQueue (AWS::SQS::Queue) raises no alarm"},
		{"unbounded follow-up consumers", "              MaximumConcurrency: 50", "              MaximumConcurrency: 5000", checkFollowUps,
			"want a bound"},
		{"invoke role reach", "                  - !GetAtt SnapshotFunction.Arn\n", "                  - !GetAtt NotifyFunction.Arn\n", checkScheduler,
			"SchedulerInvokeRole may"},
		{"invoke role for any schedule", "aws:SourceArn: !Sub arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/snapkeep-${Stage}/*",
			"aws:SourceArn: !Sub arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/*", checkScheduler,
			"want aws:SourceAccount and aws:SourceArn of the stage's schedule group"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(orig), tc.old) {
				t.Fatalf("template.yaml no longer contains %q: update this test", tc.old)
			}
			tpl, err := parseTemplate([]byte(strings.Replace(string(orig), tc.old, tc.new, 1)))
			if err != nil {
				t.Fatal(err)
			}
			var problems problemList
			tc.check(&problems, tpl)
			if all := strings.Join(problems, "\n"); !strings.Contains(all, tc.want) {
				t.Errorf("problems %q do not contain %q", all, tc.want)
			}
		})
	}
}

// TestSAMConfig checks samconfig.toml: every stage's stack is named
// snapkeep-<stage> and passes Stage=<stage> (snapctl --stack relies on the
// two agreeing), asks for IAM capabilities and an S3 bucket of SAM's own,
// and builds in the source tree; validate lints.
func TestSAMConfig(t *testing.T) {
	var cfg map[string]map[string]map[string]any
	if _, err := toml.DecodeFile("../samconfig.toml", &cfg); err != nil {
		t.Fatalf("samconfig.toml: %v", err)
	}
	stages := 0
	for env, cmds := range cfg {
		dep, ok := cmds["deploy"]
		if !ok {
			continue
		}
		stages++
		p := asMap(dep["parameters"])
		if p["stack_name"] != "snapkeep-"+env {
			t.Errorf("[%s.deploy] stack_name = %v, want snapkeep-%s", env, p["stack_name"], env)
		}
		if over, _ := p["parameter_overrides"].(string); !strings.Contains(" "+over+" ", " Stage="+env+" ") {
			t.Errorf("[%s.deploy] parameter_overrides = %q, want Stage=%s", env, over, env)
		}
		if p["capabilities"] != "CAPABILITY_IAM" || p["resolve_s3"] != true {
			t.Errorf("[%s.deploy] capabilities %v resolve_s3 %v", env, p["capabilities"], p["resolve_s3"])
		}
		if b := asMap(cmds["build"]["parameters"]); b["build_in_source"] != true {
			t.Errorf("[%s.build] build_in_source = %v, want true", env, b["build_in_source"])
		}
	}
	if stages < 2 {
		t.Errorf("samconfig.toml has %d stages, want dev and prod at least", stages)
	}
	if v := asMap(cfg["default"]["validate"]["parameters"]); v["lint"] != true {
		t.Errorf("[default.validate] lint = %v, want true", v["lint"])
	}
}
