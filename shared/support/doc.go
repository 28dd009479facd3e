// Package support answers support's and ops' everyday questions about a
// snapkeep stack — "did last night's backup of droplet X run?", "why did it
// fail?", "which DigitalOcean calls did it make?", "who got Server Error
// yesterday?" — and does the everyday ops reads around them (which stack,
// which accounts have a token, is a token still good, is a policy's
// schedule in step). cmd/snapctl only parses flags and prints what this
// package returns; the demo and tests use the same code.
//
// Every table read goes through a key or an index: Queries' client
// interface, DynamoDB, has only GetItem and Query, so a Scan cannot be
// written here by mistake (the one exception, completing policy ids in a
// shell, is a separate, bounded function with its own interface). Each read
// is reported to Queries.Trace with its input and how many items DynamoDB
// read and returned, and ExplainRead turns it into the equivalent `aws
// dynamodb query` command line, which `snapctl --explain` prints.
//
// What the queries read, and what they cost:
//
//   - runs of a policy: the Runs table's key (policy_id, scheduled_at);
//     of a customer: index by-customer (customer_id, scheduled_at); of a
//     droplet or volume: index by-resource (resource_key, scheduled_at).
//     The time range is a key condition, so without a filter DynamoDB reads
//     exactly the runs returned (ScannedCount = Count).
//   - a status or class filter is a FilterExpression on that key range:
//     DynamoDB reads the runs of the key and range and returns the
//     matching ones (ScannedCount = the key range's runs, never the table).
//   - failures of a class: index failures-by-class (error_class,
//     finished_at), exact; runs still retrying with that class: index
//     unfinished (every run in flight) filtered on retry_class.
//   - a run: GetItem on its key; its calls: the ApiCalls key (run_id); a
//     DigitalOcean request id: index by-request-id.
//   - incidents: open ones through the sparse index open; any one by its
//     id. A resolved incident leaves the index, so listing past incidents
//     needs an index the Incidents table does not have yet.
//
// Times in key conditions are whole seconds in UTC, as the stores write
// the index sort keys, so text order is time order.
package support
