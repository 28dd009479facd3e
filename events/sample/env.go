package sample

import (
	"slices"
	"sort"
	"testing"

	"github.com/snapkeep/snapkeep/infra/triggers"
)

// EndpointVar is the AWS SDK's variable for one endpoint of every service:
// what points a function in SAM's container at moto.
const EndpointVar = "AWS_ENDPOINT_URL"

// EnvFile is events/env.json: the variables `sam local invoke --env-vars`
// sets, by the template's function logical id.
func EnvFile(t testing.TB) map[string]map[string]string {
	t.Helper()
	var env map[string]map[string]string
	Decode(t, "env.json", &env)
	return env
}

// TemplateFunction is how template.yaml runs a function on the local
// stage (triggers.ReadTemplate: Globals applied, parameters at their
// defaults): Env are the values the template alone decides, Provided the
// variables whose values name the stack's resources. SAM lets an env-vars
// file set these variables and no others.
func TemplateFunction(t testing.TB, functionID string) triggers.FunctionConfig {
	t.Helper()
	tpl, err := triggers.ReadTemplate(TemplatePath(t), Stage)
	if err != nil {
		t.Fatal(err)
	}
	fn, ok := tpl.Functions[functionID]
	if !ok {
		t.Fatalf("template.yaml has no function %s", functionID)
	}
	return fn
}

// CheckEnv checks a function's variables in events/env.json against its
// settings loader: they load without error, and the file sets exactly
// the variables the loader reads that template.yaml declares for the
// function (SAM ignores the others), and AWS_ENDPOINT_URL; so every
// variable the stack provides (a table, a queue, an ARN) that the function
// reads is set. (go test ./events checks the values against the
// template's.)
func CheckEnv(t testing.TB, functionID string, load func(getenv func(string) string) error) {
	t.Helper()
	vars, ok := EnvFile(t)[functionID]
	if !ok {
		t.Fatalf("events/env.json has no %s", functionID)
	}
	read := map[string]bool{}
	if err := load(func(name string) string { read[name] = true; return vars[name] }); err != nil {
		t.Fatalf("events/env.json's %s does not load: %v", functionID, err)
	}
	fn := TemplateFunction(t, functionID)
	want := []string{EndpointVar}
	for name := range read {
		if _, given := fn.Env[name]; (given || slices.Contains(fn.Provided, name)) && name != EndpointVar {
			want = append(want, name)
		}
	}
	got := make([]string, 0, len(vars))
	for name := range vars {
		got = append(got, name)
	}
	sort.Strings(want)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("events/env.json's %s sets %v, want %v (what the function reads and template.yaml declares, and %s)", functionID, got, want, EndpointVar)
	}
	if vars[EndpointVar] != Endpoint {
		t.Errorf("events/env.json's %s: %s = %q, want %q (moto on the host, from SAM's container)", functionID, EndpointVar, vars[EndpointVar], Endpoint)
	}
}
