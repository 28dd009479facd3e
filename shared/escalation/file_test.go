package escalation_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapkeep/snapkeep/shared/escalation"
	"github.com/snapkeep/snapkeep/shared/escalation/escalationtest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// TestWriteFiles: HTML and Markdown get the affected calls' CSV beside
// them, under the name the report says is attached (CSVFilename), text
// and CSV do not; each file is what Render writes, replaces what was
// there and leaves no temporary file; a missing directory is an error
// that names the path.
func TestWriteFiles(t *testing.T) {
	sc := escalationtest.Incident12h()
	r, err := escalation.Build(context.Background(), sc.Source, escalation.BuildInput{Incident: sc.Incident, Now: sc.Now})
	if err != nil {
		t.Fatal(err)
	}
	attached := "snapkeep-affected-calls-20261124T0610Z.csv"
	if r.CSVFilename() != attached {
		t.Fatalf("CSVFilename %q, want %q", r.CSVFilename(), attached)
	}
	tests := []struct {
		format escalation.Format
		name   string
		files  []string
	}{
		{escalation.FormatHTML, "report.html", []string{"report.html", attached}},
		{escalation.FormatMarkdown, "report.md", []string{"report.md", attached}},
		{escalation.FormatText, "report.txt", []string{"report.txt"}},
		{escalation.FormatCSV, "calls.csv", []string{"calls.csv"}},
		{escalation.FormatCSV, attached, []string{attached}},
	}
	for _, tt := range tests {
		t.Run(string(tt.format)+" "+tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, []byte("an older report"), 0o600); err != nil {
				t.Fatal(err)
			}
			written, err := r.WriteFiles(path, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			if len(written) != len(tt.files) {
				t.Fatalf("wrote %+v, want %v", written, tt.files)
			}
			for i, w := range written {
				if w.Path != filepath.Join(dir, tt.files[i]) {
					t.Errorf("file %d is %s, want %s", i, w.Path, tt.files[i])
				}
				got, err := os.ReadFile(w.Path)
				if err != nil {
					t.Fatal(err)
				}
				var want bytes.Buffer
				if err := r.Render(&want, w.Format); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want.Bytes()) || w.Bytes != len(got) {
					t.Errorf("%s holds %d bytes (said %d), not the %s rendering (%d bytes)", w.Path, len(got), w.Bytes, w.Format, want.Len())
				}
				if fi, _ := os.Stat(w.Path); fi.Mode().Perm() != 0o644 {
					t.Errorf("%s has mode %v, want 0644", w.Path, fi.Mode().Perm())
				}
			}
			if entries, _ := os.ReadDir(dir); len(entries) != len(tt.files) {
				t.Errorf("the directory holds %d files, want %d (no temporary file left)", len(entries), len(tt.files))
			}
			if text := string(mustRead(t, path)); tt.format != escalation.FormatCSV && len(tt.files) == 2 &&
				!strings.Contains(text, "attached "+attached) {
				t.Errorf("%s does not refer to the CSV written beside it, %s", tt.name, attached)
			}
		})
	}
	// An HTML or Markdown report named as its CSV would be overwritten by
	// it: an error naming both, and nothing written.
	for _, f := range []escalation.Format{escalation.FormatHTML, escalation.FormatMarkdown} {
		dir := t.TempDir()
		path := filepath.Join(dir, attached)
		written, err := r.WriteFiles(path, f)
		if err == nil || !errors.Is(err, snapkeep.ErrInvalid) || strings.Count(err.Error(), path) != 2 || len(written) != 0 {
			t.Errorf("%s report at its CSV's path: wrote %+v, error %v; want an invalid error naming %s twice", f, written, err, path)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s report at its CSV's path left %d files", f, len(entries))
		}
	}
	_, err = r.WriteFiles(filepath.Join(t.TempDir(), "missing", "report.html"), escalation.FormatHTML)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("missing/report.html")) {
		t.Errorf("writing into a missing directory: %v, want an error naming the path", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
