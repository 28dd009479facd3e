// Package local is the part of the local runner that delivers DynamoDB
// stream records to stream functions the way the Lambda event source
// mappings of template.yaml would: batch sizes, batching windows, filter
// criteria, tumbling windows with their state, partial batch responses,
// bisection, retries, record age and the on-failure queue, on a virtual
// clock. It never runs in a Lambda; tests of the stream functions and the
// demo use it.
//
// # Use
//
//	srcs, err := local.Sources(templatePath)        // every Type: DynamoDB event
//	src, err := local.FindSource(srcs, "ErrorRateFunction", "RunsStream")
//	d, err := local.New(ctx, local.Config{
//		Source:            src,
//		Stream:            local.NewTableStream(awsCfg, runsTableName), // one per Deliverer
//		Invoke:            fn.Invoke, // lambdarun.Function, or lambda.NewHandler(h).Invoke
//		SQS:               sqs.NewFromConfig(awsCfg),
//		OnFailureQueueURL: queueURL[src.OnFailure],
//	})
//	for now := start; now.Before(end); now = now.Add(time.Second) {
//		err = d.Tick(ctx, now) // reads new records, delivers what is due by now
//	}
//
// Nothing happens between Ticks: the Deliverer runs no goroutine and reads
// no wall clock. Flush delivers pending records without waiting for the
// batching window; windows still end only when the clock passes their end.
// Advance moves the clock without reading the stream (an idle Tick costs
// two calls to moto, about 4.5 ms): a runner can Tick after the steps that
// wrote to tables and Advance between them.
// Replay rewinds the mapping (every record again, or from a sequence
// number) and SetBatchSize (or Config.BatchSize) draws other batch
// boundaries, for "a replayed and a re-batched delivery change nothing"
// tests. Stats counts invocations, deliveries, discards and windows; Idle
// says when nothing is left.
//
// # What AWS documents, and this package does
//
// From the Lambda developer guide ("Using AWS Lambda with Amazon DynamoDB",
// its sections on error handling, tumbling windows and partial batch
// responses, "Lambda event filtering", "Using event filtering with a
// DynamoDB event source", "Lambda parameters for DynamoDB event source
// mappings"):
//
//   - Batches hold at most BatchSize records of one shard, in order, and
//     stay under the 6 MB payload limit. With MaximumBatchingWindowInSeconds
//     the mapping waits, from the first record, until the batch is full or
//     the window has passed.
//   - Filters are applied to each record as the function would see it
//     (aws-lambda-go's JSON of events.DynamoDBEventRecord); several are
//     ORed; a record that matches none is dropped and the checkpoint moves
//     past it.
//   - A function error fails the batch. With BisectBatchOnFunctionError the
//     failed batch is split in two and the halves are retried; splitting
//     counts towards no retry quota. After MaximumRetryAttempts retries, or
//     once its records are older than MaximumRecordAgeInSeconds, the batch
//     is given up: an on-failure record (requestContext with condition
//     RetryAttemptsExhausted or RecordAgeExceeded, responseContext,
//     version 1.0, timestamp, DDBStreamBatchInfo: shard, first and last
//     sequence numbers and arrivals, batch size, stream ARN) goes to the
//     SQS queue, and the shard moves on. Defaults are unlimited (-1).
//   - With ReportBatchItemFailures, an empty or null batchItemFailures (or
//     response) is a success; an empty, null or misnamed itemIdentifier
//     fails the whole batch; otherwise the checkpoint moves to the lowest
//     failed sequence number and the records from there are retried (with
//     bisection on, "the batch is bisected at the returned sequence
//     number", which is the same).
//   - Tumbling windows: a record belongs to the window its
//     ApproximateCreationDateTime (whole seconds) falls in, windows being
//     multiples of TumblingWindowInSeconds since the epoch. Every
//     invocation carries window{start,end}, state, shardId, eventSourceARN,
//     isFinalInvokeForWindow and isWindowTerminatedEarly
//     (events.DynamoDBTimeWindowEvent's fields); a window's records may come
//     in several batches, each getting the state the previous successful
//     invocation of the window returned (a new window starts with {}). The
//     response must hold a "state" object, else the invocation failed. Once
//     the clock passes the window's end, the final invocation carries the
//     window's remaining records (possibly none) with
//     isFinalInvokeForWindow; then the state is dropped. A failed
//     invocation is retried with the same state: state is checkpointed only
//     with records that succeeded. Retries and record age apply as without
//     windows. A state over 1 MB ends the window early.
//
// # What AWS leaves open, and this package chose
//
// The tests pin each choice, so a function written against this package
// is written against these:
//
//   - Early termination: when an invocation returns a state over
//     MaxStateBytes (1 MiB of compact JSON), the next invocation hands that
//     state back with no records, isFinalInvokeForWindow and
//     isWindowTerminatedEarly both true; after it succeeds the same window
//     goes on with a fresh {} state. A function should therefore write its
//     aggregate on every final invocation, keyed so the parts of one window
//     add up (for example by the part's first sequence number, kept in the
//     state).
//   - A response with "state": null, or a state that is not an object, is a
//     failed invocation, like a missing one. The state is passed back
//     verbatim, any JSON object (aws-lambda-go's type wants strings).
//   - batchItemFailures beside a state: the records before the lowest
//     failure are checkpointed with the state returned, and the rest is
//     retried with it. The function must return the state of exactly the
//     records before its first failure.
//   - An itemIdentifier that is not a sequence number of the batch fails
//     the whole batch. Without ReportBatchItemFailures the response is not
//     read; with it, a response that is not a JSON object is a success
//     (outside windows).
//   - Bisection applies with windows too: the halves go with the current
//     state, only the second half of a final batch is final. The halves of
//     a split batch start with no retries used; a retried remainder after a
//     partial failure keeps the count and is not topped up with newer
//     records.
//   - A final invocation follows the retry policy like any other; when it
//     is given up, its records go to the on-failure queue and the window's
//     state is lost (Stats.DroppedWindows).
//   - An on-failure record for records that expired before any invocation
//     has approximateInvokeCount 0 and no responseContext; functionError is
//     "Unhandled" after an error and absent after a response that failed
//     the batch. Request ids are derived from the batch (reproducible)
//     unless Config.NewID is given.
//   - Retries happen at once, with no backoff: the clock does not move
//     within a Tick. With unlimited retries a failing batch gets one
//     attempt per Tick, so the shard stays blocked until the clock moves
//     its records past their maximum age.
//   - ParallelizationFactor is read but batches go one at a time per shard,
//     one of the orders Lambda may choose.
//
// # Filters
//
// Patterns use EventBridge's syntax as Lambda documents it: value lists
// (OR), nested objects (AND), null, "" , {"exists": bool}, {"prefix": s},
// {"suffix": s}, {"equals-ignore-case": s}, {"anything-but": v | [v...] |
// {"prefix"|"suffix"|"equals-ignore-case": ...}}, {"numeric": [op, n(, op,
// n)]}. Other operators (wildcard, cidr, $or) are refused when the filter
// is compiled. Traps, as on AWS:
//
//   - Numbers are equal only when their text is ("300" ≠ 300 ≠ 300.0), and
//     numeric matches only JSON numbers. DynamoDB "N" values are strings in
//     a stream record, so {"N": [{"numeric": [">", 0]}]} never matches
//     (AWS's own DynamoDB filter samples say so).
//   - exists looks at leaves: {"error_class": [{"exists": true}]} never
//     matches, because error_class is the object {"S": ...}, and
//     {"error_class": [{"exists": false}]} always does. Write
//     {"error_class": {"S": [{"exists": true}]}}.
//   - A value inside a JSON array matches at the array's path; patterns on
//     objects inside arrays are not tied to one element (EventBridge is
//     stricter there).
//
// # The local stack
//
// moto stamps records with its own wall clock, with milliseconds. A
// Deliverer therefore gives each record, by default (ArrivalClock), the
// virtual time of the Tick that first read it, to the second, and the
// function sees that time as ApproximateCreationDateTime; windows and
// record age follow the runner's clock. ArrivalRecord keeps the record's
// own time, cut to the second. moto's streams have one shard for ever;
// TableStream reads with awslocal.StreamReader, which does not say which
// shard a record came from, and refuses a stream with more than one.
// moto also streams what AWS would not (a creating UpdateItem as two
// INSERTs, the first with only the key; a MODIFY for a write that changes
// nothing) and marks records eventVersion 1.0; the Deliverer delivers what
// the stream holds.
//
// Sources reads template.yaml with yaml.v3, its short intrinsic tags as
// their long forms; unknown event properties and values outside Lambda's
// limits are errors that name the function and event.
package local
