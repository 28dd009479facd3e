package local

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Conditions of on-failure records: why Lambda gave up on a batch.
const (
	// RetryAttemptsExhausted: the batch failed MaximumRetryAttempts+1 times.
	RetryAttemptsExhausted = "RetryAttemptsExhausted"
	// RecordAgeExceeded: the records grew older than
	// MaximumRecordAgeInSeconds before they could be delivered.
	RecordAgeExceeded = "RecordAgeExceeded"
)

// OnFailureRecord is the invocation record Lambda sends to a DynamoDB
// stream mapping's on-failure destination for a batch it gave up on. It
// describes the batch; the records themselves are not in it.
type OnFailureRecord struct {
	// RequestContext says which function gave up, why and after how many
	// invocations.
	RequestContext RequestContext `json:"requestContext"`
	// ResponseContext is the last failed invocation's; absent when the
	// batch was never invoked (its records expired first).
	ResponseContext *ResponseContext `json:"responseContext,omitempty"`
	// Version is the record format's, "1.0".
	Version string `json:"version"`
	// Timestamp is when the batch was given up (the virtual clock), with
	// milliseconds: 2019-11-14T00:13:49.717Z.
	Timestamp string `json:"timestamp"`
	// DDBStreamBatchInfo locates the batch's records in the stream.
	DDBStreamBatchInfo DDBStreamBatchInfo `json:"DDBStreamBatchInfo"`
}

// RequestContext is the invocation part of an OnFailureRecord.
type RequestContext struct {
	// RequestID identifies the failed request (a UUID on AWS).
	RequestID string `json:"requestId"`
	// FunctionARN is the function's ARN.
	FunctionARN string `json:"functionArn"`
	// Condition is RetryAttemptsExhausted or RecordAgeExceeded.
	Condition string `json:"condition"`
	// ApproximateInvokeCount is the invocations of the batch, retries
	// included; 0 when its records expired before any.
	ApproximateInvokeCount int `json:"approximateInvokeCount"`
}

// ResponseContext is the response part of an OnFailureRecord.
type ResponseContext struct {
	// StatusCode is the Invoke API's status, 200 even for function errors.
	StatusCode int `json:"statusCode"`
	// ExecutedVersion is the function version that ran, "$LATEST".
	ExecutedVersion string `json:"executedVersion"`
	// FunctionError is "Unhandled" when the function returned an error;
	// absent when it answered with a response Lambda counted as a failure.
	FunctionError string `json:"functionError,omitempty"`
}

// DDBStreamBatchInfo locates a given-up batch in the stream.
type DDBStreamBatchInfo struct {
	// ShardID is the shard the records are in.
	ShardID string `json:"shardId"`
	// StartSequenceNumber and EndSequenceNumber are the batch's first and
	// last records'.
	StartSequenceNumber string `json:"startSequenceNumber"`
	EndSequenceNumber   string `json:"endSequenceNumber"`
	// ApproximateArrivalOfFirstRecord and ApproximateArrivalOfLastRecord
	// are those records' ApproximateCreationDateTime, RFC 3339 in seconds.
	ApproximateArrivalOfFirstRecord string `json:"approximateArrivalOfFirstRecord"`
	ApproximateArrivalOfLastRecord  string `json:"approximateArrivalOfLastRecord"`
	// BatchSize is the number of records given up.
	BatchSize int `json:"batchSize"`
	// StreamArn is the stream's ARN.
	StreamArn string `json:"streamArn"`
}

// giveUp discards b (sh.work[0]): its on-failure record goes to the queue,
// the checkpoint moves past it, and a final batch takes its window with it.
// When the queue refuses the record b stays, marked, and is discarded
// again on the next Tick.
func (d *Deliverer) giveUp(ctx context.Context, sh *shard, b *batch, condition string) error {
	if len(b.recs) > 0 && d.cfg.Source.OnFailure != "" {
		if err := d.sendFailure(ctx, sh, b, condition); err != nil {
			b.discard = condition
			return err
		}
		d.stats.OnFailureSent++
	}
	b.discard = ""
	sh.next += len(b.recs)
	d.stats.Discarded += len(b.recs)
	sh.work = sh.work[1:]
	if b.final {
		d.stats.DroppedWindows++
		if b.early {
			sh.win.state = freshState
		} else {
			sh.win = nil
		}
	}
	return nil
}

// expire discards, before anything is invoked, the records at the head of
// the shard older than MaximumRecordAgeInSeconds, a batch at a time.
func (d *Deliverer) expire(ctx context.Context, sh *shard) error {
	maxAge := d.cfg.Source.MaxRecordAge()
	if maxAge == 0 {
		return nil
	}
	old := func(recs []*record) int {
		n := 0
		for n < len(recs) && n < d.size && d.now.Sub(recs[n].at) > maxAge {
			n++
		}
		return n
	}
	for {
		var gone *batch
		if len(sh.work) > 0 {
			b := sh.work[0]
			n := old(b.recs)
			if n == 0 {
				return nil
			}
			gone = &batch{recs: b.recs[:n], attempts: b.attempts, failed: b.failed}
			b.recs = b.recs[n:]
			if len(b.recs) == 0 && !b.final {
				sh.work = sh.work[1:]
			}
		} else {
			pending := sh.pending()
			n := old(pending)
			if n == 0 {
				return nil
			}
			gone = &batch{recs: pending[:n]}
		}
		sh.work = append([]*batch{gone}, sh.work...)
		if err := d.giveUp(ctx, sh, gone, RecordAgeExceeded); err != nil {
			return err
		}
	}
}

// sendFailure sends b's on-failure record to the queue.
func (d *Deliverer) sendFailure(ctx context.Context, sh *shard, b *batch, condition string) error {
	rec := d.failureRecord(sh, b, condition)
	body, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("on-failure record: %w", err)
	}
	_, err = d.cfg.SQS.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:    aws.String(d.cfg.OnFailureQueueURL),
		MessageBody: aws.String(string(body)),
	})
	if err != nil {
		return fmt.Errorf("send the on-failure record of %s..%s to %s: %w", rec.DDBStreamBatchInfo.StartSequenceNumber, rec.DDBStreamBatchInfo.EndSequenceNumber, d.cfg.Source.OnFailure, err)
	}
	return nil
}

// failureRecord builds b's on-failure record, stamped with the clock.
func (d *Deliverer) failureRecord(sh *shard, b *batch, condition string) OnFailureRecord {
	first, last := b.recs[0], b.recs[len(b.recs)-1]
	info := DDBStreamBatchInfo{
		ShardID:                         sh.id,
		StartSequenceNumber:             first.seq,
		EndSequenceNumber:               last.seq,
		ApproximateArrivalOfFirstRecord: first.at.UTC().Format(time.RFC3339),
		ApproximateArrivalOfLastRecord:  last.at.UTC().Format(time.RFC3339),
		BatchSize:                       len(b.recs),
		StreamArn:                       first.arn,
	}
	return OnFailureRecord{
		RequestContext: RequestContext{
			RequestID:              d.requestID(info, condition),
			FunctionARN:            d.functionARN(first.arn),
			Condition:              condition,
			ApproximateInvokeCount: b.attempts,
		},
		ResponseContext:    b.failed,
		Version:            "1.0",
		Timestamp:          d.now.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		DDBStreamBatchInfo: info,
	}
}

// functionARN is Config.FunctionARN or one made of the stream ARN's region
// and account and the function's logical id.
func (d *Deliverer) functionARN(streamARN string) string {
	if d.cfg.FunctionARN != "" {
		return d.cfg.FunctionARN
	}
	parts := strings.SplitN(streamARN, ":", 6)
	region, account := "", ""
	if len(parts) == 6 {
		region, account = parts[3], parts[4]
	}
	return "arn:aws:lambda:" + region + ":" + account + ":function:" + d.cfg.Source.Function
}

// requestID is Config.NewID's, or a UUID-shaped id derived from the batch
// and a counter, so a run is reproducible.
func (d *Deliverer) requestID(info DDBStreamBatchInfo, condition string) string {
	if d.cfg.NewID != nil {
		return d.cfg.NewID()
	}
	d.ids++
	h := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%s|%s|%s|%d", d.cfg.Source, info.ShardID, info.StartSequenceNumber, info.EndSequenceNumber, condition, d.ids)))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
