package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// motoProxy sits between everything and moto and counts the requests by
// operation, with the time moto took: the figures the demo reports
// ("moto requests"), and what shows where the time goes.
type motoProxy struct {
	URL string

	srv  *http.Server
	mu   sync.Mutex
	ops  map[string]*opStat
	sent map[string]int // SQS messages sent, by queue URL
}

// opStat is one operation's count and total time.
type opStat struct {
	Op    string
	N     int
	Total time.Duration
}

func startMotoProxy(target string) (*motoProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("moto proxy: %w", err)
	}
	p := &motoProxy{URL: "http://" + ln.Addr().String(), ops: map[string]*opStat{}, sent: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}
	p.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := operation(r)
		if op == "AmazonSQS.SendMessage" || op == "AmazonSQS.SendMessageBatch" {
			p.countSent(r)
		}
		t0 := time.Now()
		rp.ServeHTTP(w, r)
		p.add(op, time.Since(t0))
	})}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// operation names a request: the JSON protocols' X-Amz-Target
// ("DynamoDB_20120810.PutItem"), else the method and the path's first
// segments (SES v2, Scheduler, moto's own API).
func operation(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return t
	}
	parts := strings.SplitN(strings.Trim(r.URL.Path, "/"), "/", 4)
	if len(parts) > 3 {
		parts = parts[:3]
	}
	return r.Method + " /" + strings.Join(parts, "/")
}

func (p *motoProxy) add(op string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.ops[op]
	if s == nil {
		s = &opStat{Op: op}
		p.ops[op] = s
	}
	s.N++
	s.Total += d
}

// countSent notes an SQS send: one message, or a batch's entries. A send
// moto refuses is counted too, which only costs a receive.
func (p *motoProxy) countSent(r *http.Request) {
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return
	}
	var in struct {
		QueueUrl string
		Entries  []json.RawMessage
	}
	if json.Unmarshal(body, &in) != nil {
		return
	}
	n := max(len(in.Entries), 1)
	p.mu.Lock()
	p.sent[in.QueueUrl] += n
	p.mu.Unlock()
}

// Sent returns the messages sent to queueURL so far.
func (p *motoProxy) Sent(queueURL string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent[queueURL]
}

// Count returns the requests so far.
func (p *motoProxy) Count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, s := range p.ops {
		n += s.N
	}
	return n
}

// Stats returns the operations, the most time first.
func (p *motoProxy) Stats() []opStat {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]opStat, 0, len(p.ops))
	for _, s := range p.ops {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Total > out[j].Total })
	return out
}

func (p *motoProxy) Close() { _ = p.srv.Close() }
