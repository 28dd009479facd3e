package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/escalation"
)

// errNoIncident: no provider incident alerted ops, so there is no report.
var errNoIncident = errors.New("no provider incident")

// renderReport writes the escalation report of the incident ops was
// alerted about to path (and the affected calls' CSV beside it), as
// `snapctl report --incident ID --format html --out path` does: the same
// shared/escalation report, read from the tables through shared/dynamo's
// EscalationSource.
func (d *Demo) renderReport(ctx context.Context, path string) ([]escalation.WrittenFile, error) {
	incs := d.Summary.Provider()
	if len(incs) == 0 {
		return nil, errNoIncident
	}
	inc := incs[0]
	src := dynamo.EscalationSource{
		Stats: &dynamo.StatsStore{Client: d.DynamoDB, Table: d.TableName(dynamo.Stats), Now: d.Clock.Now},
		Calls: &dynamo.APICallStore{Client: d.DynamoDB, Table: d.TableName(dynamo.APICalls)},
		Runs:  &dynamo.RunStore{Client: d.DynamoDB, Table: d.TableName(dynamo.Runs), Now: d.Clock.Now},
	}
	r, err := escalation.Build(ctx, src, escalation.BuildInput{Incident: &inc, Now: d.Clock.Now()})
	if err != nil {
		return nil, fmt.Errorf("build the report of %s: %w", inc.IncidentID, err)
	}
	return r.WriteFiles(path, escalation.FormatHTML)
}
