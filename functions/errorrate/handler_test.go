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
	b, err := os.ReadFile("../../events/errorrate/run-finished.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	h := &Handler{Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	for i := 0; i < 2; i++ { // a replayed batch is handled the same way
		resp, err := h.Handle(context.Background(), ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("Handle = %+v, %v; want no failures", resp, err)
		}
	}
	if n := bytes.Count(logs.Bytes(), []byte(`"run_id":"pol-web-1#2026-11-24T12:00:00Z","status":"succeeded"`)); n != 2 {
		t.Errorf("want the finished run logged once per delivery (2), got %d:\n%s", n, logs.String())
	}
}
