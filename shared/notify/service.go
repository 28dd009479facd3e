package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/snapkeep/snapkeep/shared/backoff"
	"github.com/snapkeep/snapkeep/shared/notice"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Defaults of Config's zero fields.
const (
	// DefaultDigestHour is the hour (UTC) after which the daily digest
	// goes out.
	DefaultDigestHour = 8
	// DefaultClaimTimeout is how old a claim without a message id must be
	// before another delivery takes it over. It must exceed the
	// function's timeout (template.yaml: 120 s), so that a claim this old
	// cannot belong to an invocation still sending.
	DefaultClaimTimeout = 150 * time.Second
	// DefaultResolvedWait is the longest a resolved notice waits for the
	// affected policies' next runs.
	DefaultResolvedWait = 24 * time.Hour
	// DefaultMaxMailingRuns bounds the runs one mailing lists.
	DefaultMaxMailingRuns = 500
	// DefaultMailingTTL is how long a mailing item is kept.
	DefaultMailingTTL = 60 * 24 * time.Hour
	// DefaultTickLimit bounds the mailings of each kind one tick reads.
	DefaultTickLimit = 200
	// recentRuns is how many of a policy's earlier runs a recovery reads
	// to count its failures.
	recentRuns = 50
	// tickReserve is the time a tick keeps in hand: it starts no mailing
	// with less left.
	tickReserve = 20 * time.Second
	// claimReserve is the time kept for the send after waiting for a
	// stale claim.
	claimReserve = 30 * time.Second
)

// Config is the deployment's choices.
type Config struct {
	// Hold holds individual failure messages while a DigitalOcean
	// incident covers them (template: HoldNoticesDuringIncidents): each
	// affected customer gets one incident notice and one resolved notice.
	Hold bool
	// DigestHour is the UTC hour of the daily digest (0-23; zero is
	// midnight: set DefaultDigestHour for the default); the digest of day
	// D goes out at the first tick after D DigestHour:00 and tells of the
	// failures of the 24 hours before.
	DigestHour int
	// ClaimTimeout is DefaultClaimTimeout when zero.
	ClaimTimeout time.Duration
	// ResolvedWait is DefaultResolvedWait when zero.
	ResolvedWait time.Duration
	// MaxMailingRuns is DefaultMaxMailingRuns when zero.
	MaxMailingRuns int
	// MailingTTL is DefaultMailingTTL when zero.
	MailingTTL time.Duration
	// TickLimit is DefaultTickLimit when zero.
	TickLimit int
}

func (c Config) withDefaults() Config {
	if c.ClaimTimeout <= 0 {
		c.ClaimTimeout = DefaultClaimTimeout
	}
	if c.ResolvedWait <= 0 {
		c.ResolvedWait = DefaultResolvedWait
	}
	if c.MaxMailingRuns <= 0 {
		c.MaxMailingRuns = DefaultMaxMailingRuns
	}
	if c.MailingTTL <= 0 {
		c.MailingTTL = DefaultMailingTTL
	}
	if c.TickLimit <= 0 {
		c.TickLimit = DefaultTickLimit
	}
	return c
}

// Service tells customers about their finished runs. It is safe for
// concurrent use when its fields are not changed.
type Service struct {
	// Runs, Customers, Policies, Incidents and Mailings are the stores.
	Runs      RunStore
	Customers CustomerStore
	Policies  PolicySource
	Incidents IncidentSource
	Mailings  MailingStore
	// Email sends email; Slack posts to webhooks (nil: a customer's
	// webhook is recorded as not configured for this deployment).
	Email Mailer
	Slack Poster
	// Notices renders every message.
	Notices *notice.Renderer
	// Config is the deployment's choices.
	Config Config
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewID makes the id recorded for a Slack message (webhooks return
	// none); nil means 64 random bits in hex.
	NewID func() string
	// Sleep waits for a claim to go stale; nil means a timer that stops
	// when ctx is done.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger gets one line per decision and per message (never a webhook
	// URL); nil means slog.Default().
	Logger *slog.Logger
}

// Check says what is missing from s, or returns nil.
func (s *Service) Check() error {
	var errs []error
	for name, missing := range map[string]bool{
		"Runs": s.Runs == nil, "Customers": s.Customers == nil, "Policies": s.Policies == nil,
		"Incidents": s.Incidents == nil, "Mailings": s.Mailings == nil, "Email": s.Email == nil, "Notices": s.Notices == nil,
	} {
		if missing {
			errs = append(errs, fmt.Errorf("notify: Service.%s is nil", name))
		}
	}
	if h := s.Config.DigestHour; h < 0 || h > 23 {
		errs = append(errs, fmt.Errorf("notify: Config.DigestHour %d: want 0-23", h))
	}
	return errors.Join(errs...)
}

func (s *Service) cfg() Config { return s.Config.withDefaults() }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) newID() string {
	if s.NewID != nil {
		return s.NewID()
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Service) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	return backoff.Sleep(ctx, d)
}

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// channels returns the channels the customer is reached on: email
// always (a customer without an address is recorded as such), Slack when
// a webhook is set.
func channels(c *snapkeep.Customer) []string {
	if c != nil && c.SlackWebhookURL != "" {
		return []string{snapkeep.ChannelEmail, snapkeep.ChannelSlack}
	}
	return []string{snapkeep.ChannelEmail}
}

// sendingKind reports whether a notice of kind k is a message being sent
// (its claim may be taken over if abandoned), rather than a decision that
// no message of its own is sent (held, digest, skipped).
func sendingKind(k snapkeep.NoticeKind) bool {
	switch k {
	case snapkeep.NoticeFailure, snapkeep.NoticeRecovery, snapkeep.NoticeIncident, snapkeep.NoticeResolved, snapkeep.NoticeDigest:
		return true
	}
	return false
}
