package snapkeep

import "time"

// Dimension names a slice of DigitalOcean traffic the error-rate detector
// watches: "all" (provider-wide), "region:<slug>" or "operation:<op>".
type Dimension string

// DimensionAll is provider-wide traffic.
const DimensionAll Dimension = "all"

// RegionDimension is the traffic of one DigitalOcean region.
func RegionDimension(region string) Dimension { return Dimension("region:" + region) }

// OperationDimension is the traffic of one operation.
func OperationDimension(op Operation) Dimension { return Dimension("operation:" + string(op)) }

// IncidentState is where a provider incident is in its lifecycle:
// firing (open, ops alerted once) → resolved (ops told once).
type IncidentState string

// Incident states.
const (
	IncidentFiring   IncidentState = "firing"
	IncidentResolved IncidentState = "resolved"
)

// IncidentKind says what an incident is about.
type IncidentKind string

// Incident kinds.
const (
	// IncidentProvider: DigitalOcean's error rate rose in a dimension.
	IncidentProvider IncidentKind = "provider"
	// IncidentPipeline: no call outcomes arrived while snapshots were
	// scheduled (snapkeep itself is stuck).
	IncidentPipeline IncidentKind = "pipeline"
)

// OpenIncident is the value of Incident.OpenState while an incident is
// open (the sparse open-incidents index's partition key).
const OpenIncident = "open"

// Incident is one provider (or pipeline) incident: one item in the
// Incidents table, moved firing → resolved with conditional writes, so that
// ops gets exactly one alert and one resolution notice.
type Incident struct {
	// IncidentID identifies the incident, e.g.
	// "provider_error#operation:snapshot_droplet#2026-11-24T06:10Z".
	IncidentID string `json:"incident_id" dynamodbav:"incident_id"`
	// Kind is provider or pipeline.
	Kind IncidentKind `json:"kind" dynamodbav:"kind"`
	// Dimension is the traffic the rate rose in.
	Dimension Dimension `json:"dimension" dynamodbav:"dimension"`
	// Class is the failure class watched (provider_error).
	Class ErrorClass `json:"class" dynamodbav:"class"`
	// State is firing or resolved.
	State IncidentState `json:"state" dynamodbav:"state"`
	// OpenState is OpenIncident while firing, absent once resolved.
	OpenState string `json:"open_state,omitempty" dynamodbav:"open_state,omitempty"`
	// StartedAt is the detector's estimate of when the rate changed (the
	// change point), before the alarm.
	StartedAt time.Time `json:"started_at" dynamodbav:"started_at"`
	// OpenedAt is when the detector raised the alarm.
	OpenedAt time.Time `json:"opened_at" dynamodbav:"opened_at"`
	// OpenedMonth is OpenedAt's month, "2006-01" UTC: the partition of the
	// incidents-by-month index, so past incidents are listed without a
	// scan.
	OpenedMonth string `json:"opened_month,omitempty" dynamodbav:"opened_month,omitempty"`
	// ResolvedAt is when the rate was back to its baseline for long enough
	// (or traffic stopped).
	ResolvedAt *time.Time `json:"resolved_at,omitempty" dynamodbav:"resolved_at,omitempty"`
	// Detector names the rule that fired (e.g. "cusum", "burn_rate", "silence").
	Detector string `json:"detector" dynamodbav:"detector"`
	// BaselineRate is the failure rate before the incident (0..1).
	BaselineRate float64 `json:"baseline_rate" dynamodbav:"baseline_rate"`
	// Rate is the failure rate since StartedAt (0..1).
	Rate float64 `json:"rate" dynamodbav:"rate"`
	// PeakRate is the highest per-window failure rate seen (0..1).
	PeakRate float64 `json:"peak_rate" dynamodbav:"peak_rate"`
	// Calls and Failures count the dimension's calls and provider-side
	// failures since StartedAt.
	Calls    int64 `json:"calls" dynamodbav:"calls"`
	Failures int64 `json:"failures" dynamodbav:"failures"`
	// AffectedAccounts and AffectedResources count the distinct accounts
	// and droplets/volumes with failed calls since StartedAt.
	AffectedAccounts  int `json:"affected_accounts" dynamodbav:"affected_accounts"`
	AffectedResources int `json:"affected_resources" dynamodbav:"affected_resources"`
	// FailedRuns counts the runs that ended failed or timed out since
	// StartedAt (customer impact), and AffectedCustomers their customers.
	FailedRuns        int `json:"failed_runs" dynamodbav:"failed_runs"`
	AffectedCustomers int `json:"affected_customers" dynamodbav:"affected_customers"`
	// AlertedAt and AlertID record the ops alert (one per incident).
	AlertedAt *time.Time `json:"alerted_at,omitempty" dynamodbav:"alerted_at,omitempty"`
	AlertID   string     `json:"alert_id,omitempty" dynamodbav:"alert_id,omitempty"`
	// ResolutionSentAt and ResolutionID record the resolution notice.
	ResolutionSentAt *time.Time `json:"resolution_sent_at,omitempty" dynamodbav:"resolution_sent_at,omitempty"`
	ResolutionID     string     `json:"resolution_id,omitempty" dynamodbav:"resolution_id,omitempty"`
	// SendError says why the latest alert or notice could not be sent.
	SendError string `json:"send_error,omitempty" dynamodbav:"send_error,omitempty"`
	// UpdatedAt is when the item was last written (the version for
	// conditional writes).
	UpdatedAt time.Time `json:"updated_at" dynamodbav:"updated_at"`
}

// Open reports whether the incident is still firing.
func (i *Incident) Open() bool { return i.State == IncidentFiring }

// Covers reports whether the open provider incident explains run's failure
// (Explains): a run failing now is covered only while the incident is
// firing.
func (i *Incident) Covers(run *Run) bool {
	return i != nil && i.Open() && i.Explains(run)
}

// Explains reports whether the provider incident, open or resolved,
// explains run's failure: the run failed (or is retrying) with a
// provider-side class, and the incident's dimension is all traffic, the
// run's region, or the operation that takes the run's kind of snapshot.
// It says nothing of when the run failed: a caller asking about a
// resolved incident (the broadcast after it) picks the runs of its
// window first.
func (i *Incident) Explains(run *Run) bool {
	if i == nil || run == nil || i.Kind != IncidentProvider {
		return false
	}
	class := run.ErrorClass
	if class == "" {
		class = run.RetryClass
	}
	if class == "" || !class.Info().ProviderSide {
		return false
	}
	switch i.Dimension {
	case DimensionAll, RegionDimension(run.Region):
		return true
	case OperationDimension(OpSnapshotDroplet):
		return run.Kind == ResourceDroplet
	case OperationDimension(OpSnapshotVolume):
		return run.Kind == ResourceVolume
	case OperationDimension(OpGetAction), OperationDimension(OpListActions):
		return run.Kind == ResourceDroplet
	case OperationDimension(OpListSnapshots):
		return true
	}
	return false
}
