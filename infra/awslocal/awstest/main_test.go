package awstest_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
)

// childEnv is os.Environ with the given variables replaced.
func childEnv(set map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			env = append(env, kv)
		}
	}
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	return env
}

// TestMainFailsWithoutMoto runs this test binary again with an empty PATH:
// Main must fail it (not skip) and say how to install moto.
func TestMainFailsWithoutMoto(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSQS$")
	cmd.Env = childEnv(map[string]string{"PATH": t.TempDir(), awstest.EndpointEnv: ""})
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("test binary without moto: err %v, want exit status 1; output:\n%s", err, out)
	}
	for _, want := range []string{"awstest: FAIL", "moto_server not found on PATH", "make tools", "python3 -m pip install -r infra/requirements.txt"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "SKIP") || strings.Contains(string(out), "PASS") {
		t.Errorf("tests ran or skipped without moto:\n%s", out)
	}
}

// fatalTB records Fatalf instead of stopping the test.
type fatalTB struct {
	testing.TB
	fatal string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) { f.fatal = fmt.Sprintf(format, args...) }

func TestStreamRecordsOfTableWithoutStream(t *testing.T) {
	t.Parallel()
	env := awstest.New(t)
	ftb := &fatalTB{TB: t}
	if got := env.StreamRecords(ftb, dynamo.Customers); got != nil {
		t.Errorf("records %v", got)
	}
	if !strings.Contains(ftb.fatal, "CustomersTable") || !strings.Contains(ftb.fatal, "no stream") {
		t.Errorf("Fatalf message %q, want one naming CustomersTable and saying it has no stream", ftb.fatal)
	}
}
