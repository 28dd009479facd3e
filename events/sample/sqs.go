package sample

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/snapkeep/snapkeep/infra/local"
)

// WindowEvent is a DynamoDB stream batch of a mapping with a tumbling
// window as the local runner delivers it (events.DynamoDBTimeWindowEvent's
// JSON), its state the function's own JSON object.
type WindowEvent = local.WindowEvent[events.DynamoDBEventRecord]

// SQSEvent is a batch of an SQS event source mapping as Lambda delivers
// it: events.SQSEvent's JSON as AWS writes it (no md5OfMessageAttributes
// for a message without attributes).
type SQSEvent struct {
	Records []SQSMessage `json:"Records"`
}

// SQSMessage is one message of an SQSEvent.
type SQSMessage struct {
	MessageID         string                                `json:"messageId"`
	ReceiptHandle     string                                `json:"receiptHandle"`
	Body              string                                `json:"body"`
	Attributes        map[string]string                     `json:"attributes"`
	MessageAttributes map[string]events.SQSMessageAttribute `json:"messageAttributes"`
	Md5OfBody         string                                `json:"md5OfBody"`
	EventSource       string                                `json:"eventSource"`
	EventSourceARN    string                                `json:"eventSourceARN"`
	AWSRegion         string                                `json:"awsRegion"`
}

// Message is body as queue (logical id) delivers it: sent at sent by
// sender (an IAM role session id), first received at received,
// receiveCount times so far.
func Message(queue, body, sender string, sent, received time.Time, receiveCount int) SQSMessage {
	id := UUID(queue, body, sent.Format(time.RFC3339Nano))
	sum := md5.Sum([]byte(body))
	handle := md5.Sum([]byte(id))
	return SQSMessage{
		MessageID: id,
		// Receipt handles are opaque and long; this one is shaped like them.
		ReceiptHandle: "AQEB" + base64.StdEncoding.EncodeToString([]byte(hash(id)+hex.EncodeToString(handle[:])+hash(body))),
		Body:          body,
		Attributes: map[string]string{
			"ApproximateReceiveCount":          strconv.Itoa(receiveCount),
			"SentTimestamp":                    strconv.FormatInt(sent.UnixMilli(), 10),
			"SenderId":                         sender,
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(received.UnixMilli(), 10),
		},
		MessageAttributes: map[string]events.SQSMessageAttribute{},
		Md5OfBody:         hex.EncodeToString(sum[:]),
		EventSource:       "aws:sqs",
		EventSourceARN:    QueueARN(queue),
		AWSRegion:         Region,
	}
}
