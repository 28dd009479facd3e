package escalationtest

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// answer is one kind of DigitalOcean answer a fixture call gets.
type answer struct {
	status    int
	class     snapkeep.ErrorClass
	id, msg   string
	html      bool
	transport string
}

// Answers as DigitalOcean (and the Cloudflare edge in front of it) gives
// them; the wording is the fake DigitalOcean's (shared/docloud/dotest).
var (
	answerServerError = answer{status: 500, class: snapkeep.ClassProviderError, id: "server_error", msg: "Server Error"}
	answerUnavailable = answer{status: 503, class: snapkeep.ClassProviderError, id: "service_unavailable", msg: "Service is currently unavailable."}
	answerBadGateway  = answer{status: 502, class: snapkeep.ClassProviderError, html: true}
	answerTimeout     = answer{class: snapkeep.ClassNetwork,
		transport: "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"}
	answerRateLimited  = answer{status: 429, class: snapkeep.ClassRateLimited, id: "too_many_requests", msg: "API Rate limit exceeded."}
	answerBusy         = answer{status: 422, class: snapkeep.ClassResourceBusy, id: "unprocessable_entity", msg: "Droplet already has a pending event."}
	answerNotFound     = answer{status: 404, class: snapkeep.ClassResourceMissing, id: "not_found", msg: "The resource you were accessing could not be found."}
	answerUnauthorized = answer{status: 401, class: snapkeep.ClassAuthRevoked, id: "unauthorized", msg: "Unable to authenticate you"}
)

// providerAnswer draws the answer of a provider-side failure: mostly
// "Server Error", some 503s, a few Cloudflare 502s and client timeouts.
func providerAnswer(rng *rand.Rand) answer {
	switch x := rng.IntN(100); {
	case x < 85:
		return answerServerError
	case x < 92:
		return answerUnavailable
	case x < 96:
		return answerBadGateway
	}
	return answerTimeout
}

// callSpec is what a fixture call is about.
type callSpec struct {
	at        time.Time
	res       snapkeep.Resource
	policyID  string
	slot      time.Time
	accountID string
	op        snapkeep.Operation
	attempt   int
	seq       int
	ans       answer
}

// uuid draws a random version-4 UUID text, as DigitalOcean's request ids.
func uuid(rng *rand.Rand) string {
	a, b := rng.Uint64(), rng.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xfff, (b>>48)&0x3fff|0x8000, b&0xffffffffffff)
}

// methodPath is the request of op on res.
func methodPath(rng *rand.Rand, op snapkeep.Operation, res snapkeep.Resource) (string, string) {
	switch op {
	case snapkeep.OpSnapshotDroplet:
		return http.MethodPost, "/v2/droplets/" + res.ID + "/actions"
	case snapkeep.OpSnapshotVolume:
		return http.MethodPost, "/v2/volumes/" + res.ID + "/snapshots"
	case snapkeep.OpGetAction:
		return http.MethodGet, "/v2/actions/" + strconv.FormatInt(2_400_000_000+rng.Int64N(9_000_000), 10)
	case snapkeep.OpListActions:
		return http.MethodGet, "/v2/droplets/" + res.ID + "/actions?page=1&per_page=50"
	case snapkeep.OpDeleteSnapshot:
		return http.MethodDelete, "/v2/snapshots/" + strconv.FormatInt(180_000_000+rng.Int64N(9_000_000), 10)
	}
	if res.Kind == snapkeep.ResourceVolume {
		return http.MethodGet, "/v2/volumes/" + res.ID + "/snapshots?page=1&per_page=200"
	}
	return http.MethodGet, "/v2/droplets/" + res.ID + "/snapshots?page=1&per_page=200"
}

// failedCall builds the ApiCalls row of a failed call as the recorder
// writes it: Authorization REDACTED, every response header, the error
// body's id and message.
func failedCall(rng *rand.Rand, s callSpec) snapkeep.APICall {
	method, path := methodPath(rng, s.op, s.res)
	key := snapkeep.NewRunKey(s.policyID, s.slot)
	c := snapkeep.APICall{
		RunID: key.RunID(), Seq: s.seq, PolicyID: s.policyID, ResourceKey: s.res.Key(), Region: s.res.Region,
		AccountID: s.accountID, Host: "api.digitalocean.com", Operation: s.op, Attempt: s.attempt,
		Method: method, Path: path, StartedAt: s.at.UTC(), StatusCode: s.ans.status,
		ErrorID: s.ans.id, ErrorMessage: s.ans.msg, TransportError: s.ans.transport, Class: s.ans.class,
		DurationMS: 80 + rng.Int64N(900),
		RequestHeaders: map[string]string{
			"accept":        "application/json",
			"authorization": snapkeep.Redacted,
			"user-agent":    "snapkeep/1.0 godo/1.236.0",
		},
		ExpiresAt: s.at.Add(90 * 24 * time.Hour).Unix(),
	}
	if method == http.MethodPost {
		c.RequestHeaders["content-type"] = "application/json"
	}
	if s.ans.transport != "" {
		c.DurationMS = 30_000
		c.FailureHour = c.StartedAt.Format(snapkeep.FailureHourFormat)
		return c
	}
	c.ProviderRequestID = uuid(rng)
	c.ResponseHeaders = responseHeaders(rng, s, c.ProviderRequestID)
	c.FailureHour = c.StartedAt.Format(snapkeep.FailureHourFormat)
	return c
}

func responseHeaders(rng *rand.Rand, s callSpec, requestID string) map[string]string {
	h := map[string]string{
		"cf-cache-status":     "DYNAMIC",
		"cf-ray":              fmt.Sprintf("%016x-EWR", rng.Uint64()),
		"content-type":        "application/json; charset=utf-8",
		"date":                s.at.UTC().Format(http.TimeFormat),
		"ratelimit-limit":     "5000",
		"ratelimit-remaining": strconv.Itoa(3000 + rng.IntN(1999)),
		"ratelimit-reset":     strconv.FormatInt(s.at.Add(time.Duration(rng.IntN(3600))*time.Second).Unix(), 10),
		"server":              "cloudflare",
		"x-request-id":        requestID,
	}
	switch {
	case s.ans.html:
		h["content-type"] = "text/html"
	case s.ans.status == 429:
		h["retry-after"] = strconv.Itoa(5 + rng.IntN(50))
		h["ratelimit-remaining"] = "0"
	}
	return h
}
