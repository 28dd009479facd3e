package main

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// OpsSlackPath is the ops channel's webhook path on the fake Slack.
const OpsSlackPath = "T0SNAPKEEP/B0OPS/ops-alerts"

// SlackHooks is a fake Slack incoming-webhook server, over TLS as Slack's
// are: it answers 200 "ok", and 404 channel_not_found on paths ending
// /gone (a deleted channel). Its certificate is written to CertFile for
// the functions' SSL_CERT_FILE. It keeps every post.
type SlackHooks struct {
	// CertFile is the PEM of the server's certificate.
	CertFile string

	srv   *httptest.Server
	mu    sync.Mutex
	posts []SlackPost
}

// SlackPost is one message the fake Slack received.
type SlackPost struct {
	// Path is the webhook's path after /services/.
	Path string
	// Text is the message's top-level text (what a phone's notification
	// shows); Body the whole JSON payload.
	Text, Body string
	// Status is what the fake answered.
	Status int
}

// startSlackHooks starts the fake and writes its certificate into dir.
func startSlackHooks(dir string) (*SlackHooks, error) {
	h := &SlackHooks{}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(h.serve))
	h.CertFile = filepath.Join(dir, "slack-cert.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.srv.Certificate().Raw})
	if err := os.WriteFile(h.CertFile, pemBytes, 0o600); err != nil {
		h.srv.Close()
		return nil, fmt.Errorf("fake Slack certificate: %w", err)
	}
	return h, nil
}

func (h *SlackHooks) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var msg struct {
		Text string `json:"text"`
	}
	_ = json.Unmarshal(body, &msg)
	p := SlackPost{Path: strings.TrimPrefix(r.URL.Path, "/services/"), Text: msg.Text, Body: string(body), Status: http.StatusOK}
	if r.Method != http.MethodPost || !json.Valid(body) {
		p.Status = http.StatusBadRequest
	} else if strings.HasSuffix(r.URL.Path, "/gone") {
		p.Status = http.StatusNotFound
	}
	h.mu.Lock()
	h.posts = append(h.posts, p)
	h.mu.Unlock()
	switch p.Status {
	case http.StatusOK:
		_, _ = io.WriteString(w, "ok")
	case http.StatusNotFound:
		http.Error(w, "channel_not_found", http.StatusNotFound)
	default:
		http.Error(w, "invalid_payload", http.StatusBadRequest)
	}
}

// URL is the webhook URL of path (after /services/).
func (h *SlackHooks) URL(path string) string { return h.srv.URL + "/services/" + path }

// Base is the server's base URL.
func (h *SlackHooks) Base() string { return h.srv.URL }

// Host is the server's host:port (SLACK_ALLOWED_HOSTS).
func (h *SlackHooks) Host() string {
	u, _ := url.Parse(h.srv.URL)
	return u.Host
}

// Posts returns every post received, in order.
func (h *SlackHooks) Posts() []SlackPost {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]SlackPost(nil), h.posts...)
}

// Close stops the server.
func (h *SlackHooks) Close() { h.srv.Close() }
