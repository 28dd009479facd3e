package awslocal

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/shared/backoff"
)

// SentEmail is an email moto accepted through SES (v1 or v2) SendEmail.
type SentEmail struct {
	// MessageID is the id SendEmail returned.
	MessageID string
	// From is the sender (FromEmailAddress).
	From string
	// To, Cc and Bcc are the recipients of a Simple message. For a Raw
	// message moto keeps only the merged list, which is in To.
	To, Cc, Bcc []string
	// Subject is the subject (of a Raw message: its Subject header).
	Subject string
	// Body is a Simple message's body. moto keeps only one body: the Html
	// part when the message has one, else the Text part. Of a Raw message:
	// the MIME body as sent (not decoded).
	Body string
	// Raw is the full MIME text of a Raw message; "" for a Simple one.
	Raw string
}

// Recipients returns To, Cc and Bcc together.
func (m SentEmail) Recipients() []string {
	return append(append(append([]string(nil), m.To...), m.Cc...), m.Bcc...)
}

// SentEmails returns every email the moto server at endpoint has accepted
// through SES (v1 or v2): Simple messages, then Raw ones, each in the order
// they were sent. It reads moto's GET /moto-api/data.json (models
// "ses.Message" and "ses.RawMessage"). moto keeps sent mail for the whole
// server, so callers filter by recipient.
//
// moto builds data.json by reading every model of every service without a
// lock, so a write in flight on another connection (tests in parallel, a
// demo's functions) can make it answer 500; SentEmails asks again, up to
// dataAttempts times, before it gives up.
func SentEmails(ctx context.Context, endpoint string) ([]SentEmail, error) {
	var err error
	for attempt := 1; attempt <= dataAttempts; attempt++ {
		var body []byte
		var retry bool
		body, retry, err = modelData(ctx, endpoint)
		if err == nil {
			return parseSentEmails(body)
		}
		if !retry || attempt == dataAttempts {
			break
		}
		if serr := backoff.Sleep(ctx, time.Duration(attempt)*dataRetryDelay); serr != nil {
			return nil, fmt.Errorf("%w (then %w)", err, serr)
		}
	}
	return nil, err
}

// dataAttempts and dataRetryDelay bound SentEmails' retries of a 5xx from
// data.json: the n-th retry waits n × dataRetryDelay.
const (
	dataAttempts   = 5
	dataRetryDelay = 100 * time.Millisecond
)

// modelData GETs moto's /moto-api/data.json; retry says whether the failure
// was moto's (5xx) and may pass.
func modelData(ctx context.Context, endpoint string) (body []byte, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/moto-api/data.json", nil)
	if err != nil {
		return nil, false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, false, fmt.Errorf("get moto-api data: %w", err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		return nil, false, fmt.Errorf("read moto-api data: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode >= 500, fmt.Errorf("get moto-api data: %s: %.200s", resp.Status, body)
	}
	return body, false, nil
}

// parseSentEmails reads the ses models of moto's /moto-api/data.json.
func parseSentEmails(data []byte) ([]SentEmail, error) {
	var doc struct {
		SES struct {
			Message []struct {
				ID           string              `json:"id"`
				Source       string              `json:"source"`
				Subject      string              `json:"subject"`
				Body         string              `json:"body"`
				Destinations map[string][]string `json:"destinations"`
			} `json:"Message"`
			RawMessage []struct {
				ID           string   `json:"id"`
				Source       string   `json:"source"`
				Destinations []string `json:"destinations"`
				RawData      string   `json:"raw_data"`
			} `json:"RawMessage"`
		} `json:"ses"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decode moto-api data: %w", err)
	}
	var out []SentEmail
	for _, m := range doc.SES.Message {
		out = append(out, SentEmail{
			MessageID: m.ID, From: m.Source, Subject: m.Subject, Body: m.Body,
			To: m.Destinations["ToAddresses"], Cc: m.Destinations["CcAddresses"], Bcc: m.Destinations["BccAddresses"],
		})
	}
	for _, m := range doc.SES.RawMessage {
		se := SentEmail{MessageID: m.ID, From: m.Source, To: m.Destinations, Raw: m.RawData}
		if msg, err := mail.ReadMessage(strings.NewReader(m.RawData)); err == nil {
			se.Subject = msg.Header.Get("Subject")
			if b, err := io.ReadAll(msg.Body); err == nil {
				se.Body = string(b)
			}
		}
		out = append(out, se)
	}
	return out, nil
}
