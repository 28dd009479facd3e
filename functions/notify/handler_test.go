package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestHandleSampleEvent(t *testing.T) {
	b, err := os.ReadFile("../../events/notify/run-failed.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h := &Handler{Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	resp, err := h.Handle(context.Background(), ev)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle = %+v, %v; want no failures", resp, err)
	}
	for _, want := range []string{`"customer_id":"cust-acme"`, `"error_class":"provider_error"`, `"server_affected":false`, `DigitalOcean's API answered with a server error`} {
		if !bytes.Contains(logs.Bytes(), []byte(want)) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
}
