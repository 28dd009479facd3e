package escalation

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// WrittenFile is one file WriteFiles wrote.
type WrittenFile struct {
	// Path is where it was written.
	Path string
	// Format is what it holds: the report's format, or FormatCSV for the
	// affected calls beside it.
	Format Format
	// Bytes is its size.
	Bytes int
}

// WriteFiles renders the report in format f to path and, when f is HTML
// or Markdown and calls were affected, the CSV of the affected calls
// beside it, in path's directory under the name the report says is
// attached: filepath.Join(filepath.Dir(path), r.CSVFilename()), e.g.
// snapkeep-affected-calls-20261124T0610Z.csv. When that is path itself it
// returns an error naming both, having written nothing, rather than
// overwrite the report with its CSV. Each file is rendered in memory and
// written through a temporary file in its directory renamed into place,
// so a failure never leaves half a report; an existing file is replaced.
func (r *Report) WriteFiles(path string, f Format) ([]WrittenFile, error) {
	withCSV := (f == FormatHTML || f == FormatMarkdown) && len(r.Affected) > 0
	csvPath := filepath.Join(filepath.Dir(path), r.CSVFilename())
	if withCSV && filepath.Clean(path) == csvPath {
		return nil, fmt.Errorf("the %s report's path %s is the path of the affected calls' CSV it refers to (%s); give the report another name: %w",
			f, path, csvPath, snapkeep.ErrInvalid)
	}
	var buf bytes.Buffer
	if err := r.Render(&buf, f); err != nil {
		return nil, err
	}
	if err := writeAtomically(path, buf.Bytes()); err != nil {
		return nil, err
	}
	out := []WrittenFile{{Path: path, Format: f, Bytes: buf.Len()}}
	if !withCSV {
		return out, nil
	}
	buf.Reset()
	if err := r.CSV(&buf); err != nil {
		return out, err
	}
	if err := writeAtomically(csvPath, buf.Bytes()); err != nil {
		return out, err
	}
	return append(out, WrittenFile{Path: csvPath, Format: FormatCSV, Bytes: buf.Len()}), nil
}

// writeAtomically writes data to path through a temporary file in the same
// directory, renamed into place (mode 0644).
func writeAtomically(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, werr := tmp.Write(data)
	err = errors.Join(werr, tmp.Close())
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
