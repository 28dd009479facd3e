// Package dynamo is the DynamoDB adapter: it stores and reads snapkeep's
// domain types (shared/snapkeep) in the stack's tables and converts DynamoDB
// stream images.
package dynamo

// KeyAttr is a key attribute: its name and DynamoDB scalar type ("S" or "N").
type KeyAttr struct {
	// Name is the attribute name.
	Name string
	// Type is "S" (string) or "N" (number).
	Type string
}

// IndexSpec is a global secondary index as the code queries it.
type IndexSpec struct {
	// Name is the index name.
	Name string
	// PartitionKey is the index's hash key.
	PartitionKey KeyAttr
	// SortKey is the index's range key; zero when it has none.
	SortKey KeyAttr
}

// TableSpec describes a table as the code uses it. template.yaml must define
// every one of these with the same keys and indexes; a test checks it.
type TableSpec struct {
	// LogicalID is the table's logical id in template.yaml.
	LogicalID string
	// EnvVar is the environment variable that carries the table's name to
	// the functions and snapctl.
	EnvVar string
	// PartitionKey is the table's hash key.
	PartitionKey KeyAttr
	// SortKey is the table's range key; zero when it has none.
	SortKey KeyAttr
	// Indexes are the global secondary indexes the code queries.
	Indexes []IndexSpec
	// Stream is the view type of the table's stream a function consumes
	// (NEW_AND_OLD_IMAGES, NEW_IMAGE), empty when it has none.
	Stream string
	// TTLAttribute names the TTL attribute, if the table expires items.
	TTLAttribute string
}

// Stream view types.
const (
	// StreamNewAndOld streams both images (a change's before and after).
	StreamNewAndOld = "NEW_AND_OLD_IMAGES"
	// StreamNewImage streams the item as written (rows written once).
	StreamNewImage = "NEW_IMAGE"
)

func s(name string) KeyAttr { return KeyAttr{Name: name, Type: "S"} }
func n(name string) KeyAttr { return KeyAttr{Name: name, Type: "N"} }

// Index names.
const (
	IndexPoliciesByCustomer = "by-customer"
	IndexRunsByCustomer     = "by-customer"
	IndexRunsByResource     = "by-resource"
	IndexRunsFailures       = "failures-by-class"
	IndexRunsUnfinished     = "unfinished"
	IndexRunsRetrying       = "retrying"
	IndexCallsByRequestID   = "by-request-id"
	IndexCallsFailuresByHr  = "failures-by-hour"
	IndexIncidentsOpen      = "open"
	IndexIncidentsByMonth   = "by-month"
)

// The stack's tables.
var (
	// Policies holds customers' backup policies; its stream drives functions/schedules.
	Policies = TableSpec{
		LogicalID: "PoliciesTable", EnvVar: "POLICIES_TABLE",
		PartitionKey: s("policy_id"),
		Indexes: []IndexSpec{
			{Name: IndexPoliciesByCustomer, PartitionKey: s("customer_id"), SortKey: s("policy_id")},
		},
		Stream: StreamNewAndOld,
	}
	// Customers holds who to tell about failures.
	Customers = TableSpec{
		LogicalID: "CustomersTable", EnvVar: "CUSTOMERS_TABLE",
		PartitionKey: s("customer_id"),
	}
	// Runs holds one item per scheduled run; its stream drives errorrate and notify.
	Runs = TableSpec{
		LogicalID: "RunsTable", EnvVar: "RUNS_TABLE",
		PartitionKey: s("policy_id"), SortKey: s("scheduled_at"),
		Indexes: []IndexSpec{
			{Name: IndexRunsByCustomer, PartitionKey: s("customer_id"), SortKey: s("scheduled_at")},
			{Name: IndexRunsByResource, PartitionKey: s("resource_key"), SortKey: s("scheduled_at")},
			{Name: IndexRunsFailures, PartitionKey: s("error_class"), SortKey: s("finished_at")},
			{Name: IndexRunsUnfinished, PartitionKey: s("unfinished"), SortKey: s("next_check_at")},
			{Name: IndexRunsRetrying, PartitionKey: s("retry_class"), SortKey: s("next_check_at")},
		},
		Stream: StreamNewAndOld,
	}
	// APICalls holds every HTTP attempt to DigitalOcean, expiring by TTL;
	// its stream (the rows as written) drives errorrate's call counts.
	APICalls = TableSpec{
		LogicalID: "ApiCallsTable", EnvVar: "API_CALLS_TABLE",
		PartitionKey: s("run_id"), SortKey: n("seq"),
		Indexes: []IndexSpec{
			{Name: IndexCallsByRequestID, PartitionKey: s("provider_request_id")},
			{Name: IndexCallsFailuresByHr, PartitionKey: s("failure_hour"), SortKey: s("started_at")},
		},
		Stream:       StreamNewImage,
		TTLAttribute: "expires_at",
	}
	// Stats holds the per-window call and run counts per dimension (one
	// item per window part), daily roll-ups and the detector's state.
	Stats = TableSpec{
		LogicalID: "StatsTable", EnvVar: "STATS_TABLE",
		PartitionKey: s("dimension"), SortKey: s("window"),
		TTLAttribute: "expires_at",
	}
	// Incidents holds provider error-rate incidents.
	Incidents = TableSpec{
		LogicalID: "IncidentsTable", EnvVar: "INCIDENTS_TABLE",
		PartitionKey: s("incident_id"),
		Indexes: []IndexSpec{
			{Name: IndexIncidentsOpen, PartitionKey: s("open_state"), SortKey: s("opened_at")},
			{Name: IndexIncidentsByMonth, PartitionKey: s("opened_month"), SortKey: s("opened_at")},
		},
	}
)

// Leases holds short, expiring locks on DigitalOcean resources (a droplet
// while a run's snapshot request is in flight).
var Leases = TableSpec{
	LogicalID: "LeasesTable", EnvVar: "LEASES_TABLE",
	PartitionKey: s("lease_id"),
	TTLAttribute: "expires_at",
}

// AllTables lists every table the code uses.
func AllTables() []TableSpec {
	return []TableSpec{Policies, Customers, Runs, APICalls, Stats, Incidents, Leases, Mailings}
}

// IndexMailingsPending is the Mailings table's sparse index of the
// mailings a periodic trigger still has to send (pending, due_at).
const IndexMailingsPending = "pending"

// Mailings holds one item per message snapkeep sends to many customers
// and per customer (key mailing_id + customer_id): the incident notice and
// the resolved notice of a provider incident ("incident#<incident id>"),
// the daily digest ("digest#<date>"); who got it, on which channel, and
// the runs it tells of. Items a periodic trigger still has to send carry
// pending and due_at (the sparse pending index); items expire by TTL.
var Mailings = TableSpec{
	LogicalID: "MailingsTable", EnvVar: "MAILINGS_TABLE",
	PartitionKey: s("mailing_id"), SortKey: s("customer_id"),
	Indexes: []IndexSpec{
		{Name: IndexMailingsPending, PartitionKey: s("pending"), SortKey: s("due_at")},
	},
	TTLAttribute: "expires_at",
}
