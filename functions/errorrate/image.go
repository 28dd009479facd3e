package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/shared/runstream"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Decoding stream records for counting. A batch is decoded in two steps:
// the envelope with each record as raw JSON, then each record on its own,
// so a record that does not decode fails alone (it is reported and goes
// to the on-failure queue) and never fails its batch.
//
// ApiCalls records take the fast path: only the attributes counting reads
// (started_at, error_class, region, operation, account_id, resource_key,
// run_id, seq) are decoded, with the store's rules (snapkeep.APICall's
// dynamodbav names; a time as RFC 3339 text or Unix seconds, as
// attributevalue decodes it), and the headers and texts of the row are
// skipped unread. That is most of a record's bytes and most of the cost of
// decoding it: about 6 times faster than the full image. A row whose
// counted attributes do not decode is poison; one whose other attributes
// are malformed still counts (it was one HTTP attempt). TestFastDecodeAgrees
// checks the fast path against shared/dynamo's decoding of the whole image.
// Runs records are few and are decoded in full (runstream.Decode).

// streamRecord is one record decoded for counting.
type streamRecord struct {
	seq, eventID string
	// err says why the record cannot be counted (poison).
	err error
	// call is the row an ApiCalls INSERT wrote; nil for any other event.
	call *snapkeep.APICall
	// run is the run a Runs write just made terminal; nil for any other.
	run *snapkeep.Run
}

// recordKey is what every record yields even when the rest does not
// decode: its ids, to report it by.
type recordKey struct {
	EventID string `json:"eventID"`
	Change  struct {
		SequenceNumber string `json:"SequenceNumber"`
	} `json:"dynamodb"`
}

// attr is a DynamoDB JSON value of which only scalars are read.
type attr struct {
	S *string `json:"S"`
	N *string `json:"N"`
}

// leanCall is an ApiCalls stream record with only what counting reads.
type leanCall struct {
	EventID        string `json:"eventID"`
	EventName      string `json:"eventName"`
	EventSourceARN string `json:"eventSourceARN"`
	Change         struct {
		SequenceNumber string `json:"SequenceNumber"`
		NewImage       struct {
			RunID       attr `json:"run_id"`
			Seq         attr `json:"seq"`
			ResourceKey attr `json:"resource_key"`
			Region      attr `json:"region"`
			AccountID   attr `json:"account_id"`
			Operation   attr `json:"operation"`
			StartedAt   attr `json:"started_at"`
			Class       attr `json:"error_class"`
		} `json:"NewImage"`
	} `json:"dynamodb"`
}

// decodeRecord decodes one record of kind's stream.
func decodeRecord(raw json.RawMessage, kind streamKind) streamRecord {
	if kind == callsStream {
		return decodeCall(raw)
	}
	var rec events.DynamoDBEventRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return undecodable(raw, fmt.Errorf("runs record: %w", err))
	}
	out := streamRecord{seq: rec.Change.SequenceNumber, eventID: rec.EventID}
	ch, err := runstream.Decode(rec)
	if err != nil {
		out.err = err
	} else if ch.Finished() {
		out.run = ch.New
	}
	return out
}

// undecodable is a record that does not decode as its stream's: what can
// be read of its ids, and why.
func undecodable(raw json.RawMessage, err error) streamRecord {
	var key recordKey
	if kerr := json.Unmarshal(raw, &key); kerr != nil {
		return streamRecord{err: fmt.Errorf("record is not a DynamoDB stream record: %w", kerr)}
	}
	return streamRecord{seq: key.Change.SequenceNumber, eventID: key.EventID, err: err}
}

// decodeCall reads an ApiCalls record in one pass: its ids and, for an
// INSERT, the counted attributes of the row (any other event is not
// counted).
func decodeCall(raw json.RawMessage) streamRecord {
	var rec leanCall
	if err := json.Unmarshal(raw, &rec); err != nil {
		return undecodable(raw, fmt.Errorf("api call record: %w", err))
	}
	return rec.record()
}

// record is the decoded record.
func (rec *leanCall) record() streamRecord {
	out := streamRecord{seq: rec.Change.SequenceNumber, eventID: rec.EventID}
	if rec.EventName == "INSERT" {
		out.call, out.err = callOf(rec)
	}
	return out
}

// callOf is the row of an ApiCalls INSERT, its counted attributes only.
func callOf(rec *leanCall) (*snapkeep.APICall, error) {
	img := &rec.Change.NewImage
	c := &snapkeep.APICall{}
	var errs []error
	text := func(name string, a attr, dst *string) {
		switch {
		case a.S != nil:
			*dst = *a.S
		case a.N != nil:
			errs = append(errs, fmt.Errorf("attribute %s: a number, want a string", name))
		}
	}
	text("run_id", img.RunID, &c.RunID)
	text("resource_key", img.ResourceKey, &c.ResourceKey)
	text("region", img.Region, &c.Region)
	text("account_id", img.AccountID, &c.AccountID)
	text("operation", img.Operation, (*string)(&c.Operation))
	text("error_class", img.Class, (*string)(&c.Class))
	if img.Seq.N != nil {
		n, err := strconv.Atoi(*img.Seq.N)
		if err != nil {
			errs = append(errs, fmt.Errorf("attribute seq: %w", err))
		}
		c.Seq = n
	}
	var err error
	if c.StartedAt, err = attrTime(img.StartedAt); err != nil {
		errs = append(errs, fmt.Errorf("attribute started_at: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("api call image: %w", err)
	}
	return c, nil
}

// attrTime decodes a time as attributevalue does: RFC 3339 text, or Unix
// seconds. A missing time is zero (Aggregate.Add refuses it).
func attrTime(a attr) (time.Time, error) {
	switch {
	case a.S != nil:
		return time.Parse(time.RFC3339, *a.S)
	case a.N != nil:
		s, err := strconv.ParseInt(*a.N, 10, 64)
		return time.Unix(s, 0).UTC(), err
	}
	return time.Time{}, nil
}
