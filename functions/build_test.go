// Package functions_test checks that every Lambda function builds the way
// SAM builds it: `make build-<LogicalId> ARTIFACTS_DIR=...` writes a
// linux/arm64 bootstrap built with -tags lambda.norpc, stripped.
package functions_test

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestMakeBuildTargets(t *testing.T) {
	tests := []struct{ logicalID, dir string }{
		{"SnapshotFunction", "snapshot"},
		{"SchedulesFunction", "schedules"},
		{"ErrorRateFunction", "errorrate"},
		{"NotifyFunction", "notify"},
	}
	template, err := os.ReadFile("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.logicalID, func(t *testing.T) {
			if !strings.Contains(string(template), "\n  "+tt.logicalID+":\n") {
				t.Fatalf("template.yaml has no resource %s", tt.logicalID)
			}
			out := t.TempDir()
			cmd := exec.Command("make", "--no-print-directory", "-C", "..", "build-"+tt.logicalID, "ARTIFACTS_DIR="+out)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("make build-%s: %v\n%s", tt.logicalID, err, b)
			}
			bootstrap := filepath.Join(out, "bootstrap")
			b, err := exec.Command("go", "version", "-m", bootstrap).CombinedOutput()
			if err != nil {
				t.Fatalf("go version -m %s: %v\n%s", bootstrap, err, b)
			}
			info := string(b)
			for _, want := range []string{
				"path\tgithub.com/snapkeep/snapkeep/functions/" + tt.dir,
				"build\t-tags=lambda.norpc",
				"build\t-trimpath=true",
				"build\tGOOS=linux",
				"build\tGOARCH=arm64",
				"build\tCGO_ENABLED=0",
			} {
				if !strings.Contains(info, want) {
					t.Errorf("bootstrap build info lacks %q:\n%s", want, info)
				}
			}
			// -trimpath keeps -ldflags out of the build info; check its
			// effect instead: -s drops the symbol table, -w the DWARF.
			f, err := elf.Open(bootstrap)
			if err != nil {
				t.Fatalf("bootstrap is not an ELF executable: %v", err)
			}
			defer f.Close()
			if f.Machine != elf.EM_AARCH64 || f.Type != elf.ET_EXEC {
				t.Errorf("bootstrap is %v %v, want an arm64 executable", f.Machine, f.Type)
			}
			for _, section := range []string{".symtab", ".debug_info"} {
				if f.Section(section) != nil {
					t.Errorf("bootstrap has %s: not built with -ldflags='-s -w'", section)
				}
			}
		})
	}
}
