package functions_test

import (
	"os/exec"
	"strings"
	"testing"
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
