package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/snapkeep/snapkeep/shared/backoff"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// fakeSES is the SES port as a struct of function fields.
type fakeSES struct {
	SendEmailFunc                func(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
	GetSuppressedDestinationFunc func(context.Context, *sesv2.GetSuppressedDestinationInput, ...func(*sesv2.Options)) (*sesv2.GetSuppressedDestinationOutput, error)
}

func (f *fakeSES) SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	return f.SendEmailFunc(ctx, in, opts...)
}

func (f *fakeSES) GetSuppressedDestination(ctx context.Context, in *sesv2.GetSuppressedDestinationInput, opts ...func(*sesv2.Options)) (*sesv2.GetSuppressedDestinationOutput, error) {
	return f.GetSuppressedDestinationFunc(ctx, in, opts...)
}

// sdkError wraps err the way the AWS SDK returns an error answer of HTTP
// status.
func sdkError(op string, status int, err error) error {
	return &smithy.OperationError{ServiceID: "SESv2", OperationName: op, Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err},
		RequestID:     "req-1",
	}}
}

func sendError(status int, err error) error { return sdkError("SendEmail", status, err) }

// notSuppressed answers as SES does for an address not on the list.
func notSuppressed(context.Context, *sesv2.GetSuppressedDestinationInput, ...func(*sesv2.Options)) (*sesv2.GetSuppressedDestinationOutput, error) {
	return nil, sdkError("GetSuppressedDestination", 404, &types.NotFoundException{Message: aws.String("Email address not on suppression list")})
}

// harness is a Sender over a fake whose SendEmail fails with errs in turn,
// then succeeds; it records the calls and the waits.
type harness struct {
	sender *Sender
	calls  []*sesv2.SendEmailInput
	opts   [][]func(*sesv2.Options)
	waits  []time.Duration
	log    bytes.Buffer
}

func newHarness(errs ...error) *harness {
	h := &harness{}
	fake := &fakeSES{GetSuppressedDestinationFunc: notSuppressed}
	fake.SendEmailFunc = func(_ context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
		h.calls = append(h.calls, in)
		h.opts = append(h.opts, opts)
		if n := len(h.calls); n <= len(errs) {
			return nil, errs[n-1]
		}
		return &sesv2.SendEmailOutput{MessageId: aws.String(fmt.Sprintf("ses-%d", len(h.calls)))}, nil
	}
	h.sender = &Sender{
		Client: fake,
		Streams: map[Stream]StreamConfig{
			Transactional: {
				From:             Address{Name: "Snapkeep Backups", Email: "backups@snapkeep.example"},
				ReplyTo:          []Address{{Name: "Snapkeep Support", Email: "support@snapkeep.example"}},
				ConfigurationSet: "snapkeep-transactional",
				ListID:           ListID{Name: "Snapkeep backup notices", ID: "notices.snapkeep.example"},
			},
			Broadcast: {
				From:               Address{Email: "news@snapkeep.example"},
				ListID:             ListID{ID: "broadcast.snapkeep.example"},
				RequireUnsubscribe: true,
			},
		},
		Builder: fixedBuilder,
		Sleep: func(_ context.Context, d time.Duration) error {
			h.waits = append(h.waits, d)
			return nil
		},
		Jitter: func() float64 { return 0 },
		Logger: slog.New(slog.NewJSONHandler(&h.log, nil)),
	}
	return h
}

func (h *harness) fake() *fakeSES { return h.sender.Client.(*fakeSES) }

func notice() Message {
	return Message{
		Stream:  Transactional,
		To:      []Address{{Name: "Acme Ops", Email: "ops@acme.example"}},
		Subject: "Backup failed: web-01",
		Text:    "Your server is fine.",
		HTML:    "<p>Your server is fine.</p>",
		Headers: map[string]string{"X-Snapkeep-Run": "pol-web#2026-11-24T02:00:00Z"},
	}
}

func TestSendRetries(t *testing.T) {
	throttled := sendError(429, &types.TooManyRequestsException{Message: aws.String("Too many requests")})
	tests := []struct {
		name      string
		errs      []error
		wantCalls int
		wantWaits []time.Duration
	}{
		{name: "first try", wantCalls: 1},
		{name: "throttled twice then sent", errs: []error{throttled, throttled}, wantCalls: 3,
			wantWaits: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}},
		{name: "Throttling code", errs: []error{sendError(400, &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"})}, wantCalls: 2,
			wantWaits: []time.Duration{100 * time.Millisecond}},
		{name: "daily quota", errs: []error{sendError(400, &types.LimitExceededException{Message: aws.String("Maximum sending rate exceeded")})}, wantCalls: 2,
			wantWaits: []time.Duration{100 * time.Millisecond}},
		{name: "server error", errs: []error{sendError(500, &types.InternalServiceErrorException{Message: aws.String("boom")})}, wantCalls: 2,
			wantWaits: []time.Duration{100 * time.Millisecond}},
		{name: "503 with no error body", errs: []error{sendError(503, errors.New("deserialization failed"))}, wantCalls: 2,
			wantWaits: []time.Duration{100 * time.Millisecond}},
		{name: "429 with no error body", errs: []error{sendError(429, errors.New("deserialization failed"))}, wantCalls: 2,
			wantWaits: []time.Duration{100 * time.Millisecond}},
		{name: "connection failed", errs: []error{&smithy.OperationError{Err: &smithyhttp.RequestSendError{Err: errors.New("connection refused")}}}, wantCalls: 2,
			wantWaits: []time.Duration{100 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(tt.errs...)
			sent, err := h.sender.Send(context.Background(), notice())
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if len(h.calls) != tt.wantCalls || sent.Attempts != tt.wantCalls {
				t.Errorf("%d calls, Attempts %d; want %d", len(h.calls), sent.Attempts, tt.wantCalls)
			}
			if want := fmt.Sprintf("ses-%d", tt.wantCalls); sent.MessageID != want {
				t.Errorf("MessageID %q, want %q", sent.MessageID, want)
			}
			if !slices.Equal(h.waits, tt.wantWaits) {
				t.Errorf("waits %v, want %v", h.waits, tt.wantWaits)
			}
			if sent.SuppressionUnchecked != "" {
				t.Errorf("SuppressionUnchecked %q after a NotFoundException", sent.SuppressionUnchecked)
			}
		})
	}
}

func TestSendGivesUpAfterAttempts(t *testing.T) {
	throttled := sendError(429, &types.TooManyRequestsException{Message: aws.String("Too many requests")})
	h := newHarness(slices.Repeat([]error{throttled}, 10)...)
	h.sender.Jitter = func() float64 { return 0.5 }
	_, err := h.sender.Send(context.Background(), notice())
	if err == nil || Permanent(err) {
		t.Fatalf("err = %v, want a transient error", err)
	}
	var tooMany *types.TooManyRequestsException
	if !errors.As(err, &tooMany) || !strings.Contains(err.Error(), "after 5 attempts") {
		t.Errorf("err %q should wrap the last SES error and count the attempts", err)
	}
	if len(h.calls) != DefaultBackoff.Attempts {
		t.Errorf("%d calls, want %d", len(h.calls), DefaultBackoff.Attempts)
	}
	// 200ms doubling, capped at 5s, each 3/4 of its step with jitter 0.5.
	want := []time.Duration{150 * time.Millisecond, 300 * time.Millisecond, 600 * time.Millisecond, 1200 * time.Millisecond}
	if !slices.Equal(h.waits, want) {
		t.Errorf("waits %v, want %v", h.waits, want)
	}
	if n := strings.Count(h.log.String(), "retrying"); n != 4 {
		t.Errorf("%d retry log lines, want 4:\n%s", n, h.log.String())
	}
}

func TestBackoffCap(t *testing.T) {
	b := Backoff{Attempts: 20, Base: time.Second, Max: 3 * time.Second}
	var got []time.Duration
	for n := 1; n <= 4; n++ {
		got = append(got, b.Wait(n, func() float64 { return 0.999999 }).Round(time.Millisecond))
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
}

func TestSendPermanentRejections(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		code  string
		scope Scope
	}{
		{name: "message rejected", err: sendError(400, &types.MessageRejected{Message: aws.String("Email address is not verified.\r\nBcc: x")}), code: "MessageRejected", scope: ScopeMessage},
		{name: "mail-from not verified", err: sendError(400, &types.MailFromDomainNotVerifiedException{Message: aws.String("not verified")}), code: "MailFromDomainNotVerifiedException", scope: ScopeSender},
		{name: "account suspended", err: sendError(400, &types.AccountSuspendedException{Message: aws.String("suspended")}), code: "AccountSuspendedException", scope: ScopeSender},
		{name: "sending paused", err: sendError(400, &types.SendingPausedException{Message: aws.String("paused")}), code: "SendingPausedException", scope: ScopeSender},
		{name: "bad request", err: sendError(400, &types.BadRequestException{Message: aws.String("identity missing")}), code: "BadRequestException", scope: ScopeSender},
		{name: "configuration set not found", err: sendError(404, &types.NotFoundException{Message: aws.String("no such set")}), code: "NotFoundException", scope: ScopeSender},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(tt.err)
			_, err := h.sender.Send(context.Background(), notice())
			var rej *Rejected
			if !errors.As(err, &rej) || !Permanent(err) {
				t.Fatalf("err = %v, want a *Rejected", err)
			}
			if rej.Code != tt.code || rej.Scope != tt.scope || rej.Reason == "" {
				t.Errorf("Rejected %+v, want code %s scope %s and a reason", rej, tt.code, tt.scope)
			}
			if strings.ContainsAny(rej.Reason, "\r\n") {
				t.Errorf("Reason keeps a line break: %q", rej.Reason)
			}
			if len(h.calls) != 1 || len(h.waits) != 0 {
				t.Errorf("%d calls and %d waits: a permanent rejection must not be retried", len(h.calls), len(h.waits))
			}
		})
	}
}

func TestSendTransientNotRetried(t *testing.T) {
	h := newHarness(sendError(403, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized"}))
	_, err := h.sender.Send(context.Background(), notice())
	if err == nil || Permanent(err) || len(h.calls) != 1 {
		t.Errorf("err %v after %d calls: want one call and a transient error", err, len(h.calls))
	}
}

func TestSendStopsWhenContextEnds(t *testing.T) {
	throttled := sendError(429, &types.TooManyRequestsException{})
	h := newHarness(throttled, throttled)
	ctx, cancel := context.WithCancel(context.Background())
	h.sender.Sleep = func(ctx context.Context, d time.Duration) error {
		cancel()
		return backoff.Sleep(ctx, d)
	}
	_, err := h.sender.Send(ctx, notice())
	if !errors.Is(err, context.Canceled) || Permanent(err) || len(h.calls) != 1 {
		t.Errorf("err %v after %d calls: want context.Canceled after one call", err, len(h.calls))
	}
}

func TestSendSuppression(t *testing.T) {
	since := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		answer        func() (*sesv2.GetSuppressedDestinationOutput, error)
		wantRejected  bool
		wantUnchecked string // in Sent.SuppressionUnchecked and the log
	}{
		{name: "suppressed", wantRejected: true, answer: func() (*sesv2.GetSuppressedDestinationOutput, error) {
			return &sesv2.GetSuppressedDestinationOutput{SuppressedDestination: &types.SuppressedDestination{
				EmailAddress: aws.String("ops@acme.example"), Reason: types.SuppressionListReasonBounce, LastUpdateTime: &since,
			}}, nil
		}},
		{name: "not on the list", answer: func() (*sesv2.GetSuppressedDestinationOutput, error) { return notSuppressed(context.Background(), nil) }},
		{name: "API missing, as in moto", wantUnchecked: "StatusCode: 404", answer: func() (*sesv2.GetSuppressedDestinationOutput, error) {
			return nil, errors.New("operation error SESv2: GetSuppressedDestination, https response error StatusCode: 404, deserialization failed")
		}},
		{name: "no IAM grant", wantUnchecked: "AccessDenied", answer: func() (*sesv2.GetSuppressedDestinationOutput, error) {
			return nil, sdkError("GetSuppressedDestination", 403, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "AccessDenied"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness()
			var asked []string
			h.fake().GetSuppressedDestinationFunc = func(_ context.Context, in *sesv2.GetSuppressedDestinationInput, _ ...func(*sesv2.Options)) (*sesv2.GetSuppressedDestinationOutput, error) {
				asked = append(asked, aws.ToString(in.EmailAddress))
				return tt.answer()
			}
			sent, err := h.sender.Send(context.Background(), notice())
			if !slices.Equal(asked, []string{"ops@acme.example"}) {
				t.Errorf("suppression list asked for %v", asked)
			}
			if tt.wantRejected {
				var rej *Rejected
				if !errors.As(err, &rej) || rej.Code != CodeSuppressed || rej.Scope != ScopeRecipient || rej.Recipient != "ops@acme.example" ||
					!strings.Contains(rej.Reason, "BOUNCE since 2026-10-01T09:00:00Z") {
					t.Fatalf("err = %v (%+v), want a suppressed-recipient rejection", err, rej)
				}
				if len(h.calls) != 0 {
					t.Errorf("SendEmail called %d times for a suppressed address", len(h.calls))
				}
				return
			}
			if err != nil || len(h.calls) != 1 {
				t.Fatalf("err %v, %d sends: want one send", err, len(h.calls))
			}
			if !strings.Contains(sent.SuppressionUnchecked, tt.wantUnchecked) || (tt.wantUnchecked == "") != (sent.SuppressionUnchecked == "") {
				t.Errorf("SuppressionUnchecked %q, want it to say %q", sent.SuppressionUnchecked, tt.wantUnchecked)
			}
			if logged := strings.Contains(h.log.String(), "suppression list not checked"); logged != (tt.wantUnchecked != "") {
				t.Errorf("log %q: want a line only when the check was skipped", h.log.String())
			}
		})
	}
}

func TestSendBadInput(t *testing.T) {
	tests := []struct {
		name         string
		edit         func(*Message)
		wantRejected bool
	}{
		{name: "unknown stream", edit: func(m *Message) { m.Stream = "marketing" }},
		{name: "broadcast without unsubscribe", edit: func(m *Message) { m.Stream = Broadcast }},
		{name: "empty subject", edit: func(m *Message) { m.Subject = "" }},
		{name: "invalid recipient", edit: func(m *Message) { m.To = []Address{{Email: "ops@acme"}, {Email: "not an address"}} }, wantRejected: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness()
			h.fake().GetSuppressedDestinationFunc = func(context.Context, *sesv2.GetSuppressedDestinationInput, ...func(*sesv2.Options)) (*sesv2.GetSuppressedDestinationOutput, error) {
				t.Error("suppression list read for a message that cannot be sent")
				return nil, errors.New("unexpected")
			}
			m := notice()
			tt.edit(&m)
			_, err := h.sender.Send(context.Background(), m)
			if !Permanent(err) || len(h.calls) != 0 {
				t.Fatalf("err %v after %d sends: want a permanent error and no send", err, len(h.calls))
			}
			var rej *Rejected
			if got := errors.As(err, &rej); got != tt.wantRejected {
				t.Errorf("err %v: *Rejected %v, want %v", err, got, tt.wantRejected)
			}
			if !tt.wantRejected && !errors.Is(err, snapkeep.ErrInvalid) {
				t.Errorf("err %v does not wrap snapkeep.ErrInvalid", err)
			}
			if tt.wantRejected && (rej.Code != CodeInvalidAddress || rej.Scope != ScopeRecipient || rej.Recipient != "not an address") {
				t.Errorf("Rejected %+v", rej)
			}
		})
	}
}

func TestSendFillsFromStream(t *testing.T) {
	tests := []struct {
		name                     string
		edit                     func(*Message)
		wantFrom, wantFromHeader string
		wantReplyTo, wantListID  string
		wantConfigSet            string
	}{
		{name: "stream defaults", edit: func(*Message) {},
			wantFrom: "backups@snapkeep.example", wantFromHeader: "Snapkeep Backups <backups@snapkeep.example>",
			wantReplyTo: "Snapkeep Support <support@snapkeep.example>", wantListID: "Snapkeep backup notices <notices.snapkeep.example>",
			wantConfigSet: "snapkeep-transactional"},
		{name: "message overrides", edit: func(m *Message) {
			m.From = Address{Name: "Snapkeep Ops", Email: "ops-alerts@snapkeep.example"}
			m.ReplyTo = []Address{{Email: "oncall@snapkeep.example"}}
			m.ListID = ListID{ID: "alerts.snapkeep.example"}
		}, wantFrom: "ops-alerts@snapkeep.example", wantFromHeader: "Snapkeep Ops <ops-alerts@snapkeep.example>",
			wantReplyTo: "oncall@snapkeep.example", wantListID: "<alerts.snapkeep.example>", wantConfigSet: "snapkeep-transactional"},
		{name: "broadcast", edit: func(m *Message) {
			m.Stream = Broadcast
			m.Unsubscribe = Unsubscribe{URL: "https://snapkeep.example/u/tok"}
		}, wantFrom: "news@snapkeep.example", wantFromHeader: "news@snapkeep.example", wantListID: "<broadcast.snapkeep.example>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness()
			m := notice()
			tt.edit(&m)
			if _, err := h.sender.Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			in := h.calls[0]
			if got := aws.ToString(in.FromEmailAddress); got != tt.wantFrom {
				t.Errorf("FromEmailAddress %q, want %q", got, tt.wantFrom)
			}
			if got := aws.ToString(in.ConfigurationSetName); got != tt.wantConfigSet {
				t.Errorf("ConfigurationSetName %q, want %q", got, tt.wantConfigSet)
			}
			if !slices.Equal(in.Destination.ToAddresses, []string{"ops@acme.example"}) {
				t.Errorf("ToAddresses %v", in.Destination.ToAddresses)
			}
			if in.Content.Simple != nil || in.Content.Raw == nil {
				t.Fatal("content is not Raw")
			}
			if len(in.EmailTags) != 1 || aws.ToString(in.EmailTags[0].Value) != string(m.Stream) {
				t.Errorf("EmailTags %+v, want stream=%s", in.EmailTags, m.Stream)
			}
			hdr := readBack(t, in.Content.Raw.Data).Header
			for name, want := range map[string]string{"From": tt.wantFromHeader, "Reply-To": tt.wantReplyTo, "List-Id": tt.wantListID} {
				if got := hdr.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			// The SDK's retryer is off: every retry is Send's own.
			var o sesv2.Options
			for _, f := range h.opts[0] {
				f(&o)
			}
			if _, ok := o.Retryer.(aws.NopRetryer); !ok {
				t.Errorf("Retryer %T, want aws.NopRetryer", o.Retryer)
			}
		})
	}
}
