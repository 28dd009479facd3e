// Package escalation builds the report snapkeep hands ops to forward to
// DigitalOcean when its API error rate rises, and the subjects of the ops
// alert and resolution notice. functions/errorrate attaches it to the
// alert; snapctl report renders the same report on demand.
//
// Build gathers a Report through the small reader interfaces of
// source.go, which name index reads only: the Stats roll-ups (one item a
// day for the 30-day table, per-minute rows for the window, one read per
// day it overlaps), one Query of
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
//
// Decisions:
//   - The baseline is the dimension's own daily roll-ups of the 30 days
//     minus the days the window overlaps; the detector's baseline is shown
//     beside it. Calls are counted per attempt (retries included), the
//     detector's main signal; runs are counted separately for impact.
//   - The detector writes a day's roll-up only once the day is over, so
//     the day in progress (and a day it has not rolled up yet) has none. A
//     window day without one is counted from its per-minute rows instead,
//     through the same WindowCounts as the window: the window's part of
//     the day, already read, plus the rest of the day up to Now, read in
//     whole minutes beside it so that no minute is read twice. The row
//     says "so far" while the day is in progress. A finished day whose
//     minutes hold no call is just a day without calls: the detector
//     writes no roll-up for it, so none is said to be pending.
//   - The comparison with the baseline is worded for each kind of
//     baseline: a rate ("33× the usual rate"), calls without a single
//     provider-side failure (then the incident's baseline is stated as
//     the detector's floor), or no calls at all; with fewer than
//     ThinBaselineDays days with calls it names those days rather than
//     "the other 29 of the last 30". A window without a call outcome (a
//     stalled pipeline, no traffic) has no rate: every sentence says so
//     instead of "0%" or "0×", and a pipeline incident's detector
//     sentence says snapkeep's pipeline stalled rather than quote rates.
//     Counted nouns agree with their count (counted).
//   - Readers take half-open [from, to) ranges rather than "since", so a
//     report on last week's incident reads last week only. An adapter over
//     the existing since-queries stays index-only by adding the upper
//     bound to the key condition (BETWEEN) or by stopping at to.
//   - A failed call counts by APICall.Class when the recorder set it, else
//     by its status (the rule of shared/docloud); only ProviderSide classes
//     are "affected".
//   - The deep dive reads at most MaxDeepDiveCandidates resources: those
//     with the most affected runs (a resource hit in several runs is likely
//     on a frequent schedule), then picks the one with an hourly policy and
//     the most runs in the window. BuildInput.ResourceKey overrides.
//   - Header samples: the first call of each error kind, then calls spread
//     evenly over the window's hours; only a few calls per hour keep their
//     headers while gathering, so memory follows the affected calls.
//
// The HTML is checked in a browser with Debian's chromium, on the golden
// file the tests keep up to date:
//
//	chromium --headless --no-sandbox --dump-dom file://$PWD/shared/escalation/testdata/incident.html \
//	  | grep -o '<section id="[a-z-]*"'     # the seven section ids
//	chromium --headless --no-sandbox --screenshot=/tmp/report.png --window-size=1300,1400 \
//	  file://$PWD/shared/escalation/testdata/incident.html
package escalation
