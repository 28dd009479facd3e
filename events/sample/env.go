package sample

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/snapkeep/snapkeep/infra/cfn"
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

// templateEnv is the part of template.yaml that declares variables.
type templateEnv struct {
	Environment struct {
		Variables map[string]json.RawMessage
	}
}

// TemplateEnv is the set of environment variables template.yaml declares
// for a function (Globals' and its own): SAM lets an env-vars file set
// these and no others.
func TemplateEnv(t testing.TB, functionID string) map[string]bool {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Globals struct {
			Function templateEnv
		}
		Resources map[string]struct {
			Type       string
			Properties templateEnv
		}
	}
	if err := cfn.Unmarshal(b, &tpl); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	fn, ok := tpl.Resources[functionID]
	if !ok || fn.Type != "AWS::Serverless::Function" {
		t.Fatalf("template.yaml has no function %s", functionID)
	}
	out := map[string]bool{}
	for _, vars := range []map[string]json.RawMessage{tpl.Globals.Function.Environment.Variables, fn.Properties.Environment.Variables} {
		for name := range vars {
			out[name] = true
		}
	}
	return out
}

// CheckEnv checks a function's variables in events/env.json against its
// settings loader: they load without error, and the file sets exactly
// the variables the loader reads that template.yaml declares for the
// function (SAM ignores the others), and AWS_ENDPOINT_URL.
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
	declared := TemplateEnv(t, functionID)
	want := []string{EndpointVar}
	for name := range read {
		if declared[name] {
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
