package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/escalation"
)

// errNoIncident: no provider incident alerted ops, so there is no report.
var errNoIncident = errors.New("no provider incident")

// renderReport renders the escalation report of the incident ops was
// alerted about to path, as `snapctl report --incident ID --out path`
// does: the same shared/escalation report, read from the tables through
// shared/dynamo's EscalationSource. It returns the bytes written.
func (d *Demo) renderReport(ctx context.Context, path string) (int, error) {
	incs := d.Summary.Provider()
	if len(incs) == 0 {
		return 0, errNoIncident
	}
	inc := incs[0]
	src := dynamo.EscalationSource{
		Stats: &dynamo.StatsStore{Client: d.DynamoDB, Table: d.TableName(dynamo.Stats), Now: d.Clock.Now},
		Calls: &dynamo.APICallStore{Client: d.DynamoDB, Table: d.TableName(dynamo.APICalls)},
		Runs:  &dynamo.RunStore{Client: d.DynamoDB, Table: d.TableName(dynamo.Runs), Now: d.Clock.Now},
	}
	r, err := escalation.Build(ctx, src, escalation.BuildInput{Incident: &inc, Now: d.Clock.Now()})
	if err != nil {
		return 0, fmt.Errorf("build the report of %s: %w", inc.IncidentID, err)
	}
	var buf bytes.Buffer
	if err := r.Render(&buf, escalation.FormatHTML); err != nil {
		return 0, err
	}
	if err := writeFileAtomically(path, buf.Bytes()); err != nil {
		return 0, err
	}
	return buf.Len(), nil
}

// writeFileAtomically writes data to path through a temporary file in the
// same directory, renamed into place.
func writeFileAtomically(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), 0o644)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
