// Package escalation builds the report snapkeep hands ops to forward to
// DigitalOcean when its API error rate rises, and the subjects of the ops
// alert and resolution notice. functions/errorrate attaches it to the
// alert; snapctl report renders the same report on demand.
//
// Build gathers a Report through the small reader interfaces of
// source.go, which name index reads only: the Stats roll-ups (one item a
// day for the 30-day table, per-minute rows for the window), one Query of
// the ApiCalls failures-by-hour index per hour of the window, a few Runs
// by-resource Queries for the deep dive and one failures-by-class Query
// per error class. Nothing scans a table, so its cost grows with the
// failed calls and runs of the window, not with the traffic.
//
// The report holds:
//   - the daily call error rate per class for the last 30 days, of the
//     incident's dimension (provider-side failures, rate limited, busy,
//     customer 4xx: only provider-side failures make the rate);
//   - the window's rate against the baseline of the other days, with counts;
//   - every affected call (provider-side failures of the dimension) with
//     time, operation, resource, region, account, status, DigitalOcean
//     error id and x-request-id, inline up to a bound and all in the CSV;
//   - the top provider error ids and messages, counted;
//   - up to ten failing calls' request and response headers;
//   - the timeline of one affected resource, preferring an hourly policy;
//   - the customer impact: terminal runs per class, customers affected.
//
// Renderings: Text, Markdown, HTML (self-contained, inline SVG chart, no
// script) and CSV. Every section has a stable id and title (Sections).
// Every provider- or customer-controlled string is bounded, stripped of
// control characters and scrubbed of anything token-like by Build, then
// escaped for its format by each renderer (html/template for HTML,
// backslash escapes for Markdown, a formula guard for CSV). Authorization
// must read REDACTED in the rows; a header that still looks like a bearer
// token is dropped, and the report says so without quoting it.
package escalation
