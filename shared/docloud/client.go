package docloud

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/digitalocean/godo"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Defaults.
const (
	// DefaultBaseURL is DigitalOcean's API.
	DefaultBaseURL = "https://api.digitalocean.com/"
	// DefaultHTTPTimeout bounds one HTTP attempt, body included.
	DefaultHTTPTimeout = 30 * time.Second
	// UserAgent is what snapkeep sends ahead of godo's own user agent.
	UserAgent = "snapkeep/1.0"
	// PerPage is the page size ListSnapshots asks for (DigitalOcean's maximum).
	PerPage = 200
)

// Client calls DigitalOcean's API for one account token. Each method makes
// exactly one HTTP request and never retries; failures are *Error values
// (wrapped with context) that say their class. A Client is safe for
// concurrent use.
type Client struct {
	godo    *godo.Client
	tr      *transport
	initErr error
}

type config struct {
	baseURL  string
	recorder Recorder
	timeout  time.Duration
	now      func() time.Time
	base     http.RoundTripper
}

// Option configures a Client.
type Option func(*config)

// WithBaseURL sends requests to baseURL instead of DefaultBaseURL, e.g. a
// dotest fake's URL.
func WithBaseURL(baseURL string) Option { return func(c *config) { c.baseURL = baseURL } }

// WithRecorder has every HTTP attempt recorded by r.
func WithRecorder(r Recorder) Option { return func(c *config) { c.recorder = r } }

// WithHTTPTimeout bounds each HTTP attempt (connection, headers and body);
// zero or less keeps DefaultHTTPTimeout.
func WithHTTPTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithClock sets the clock used for StartedAt, DurationMS and rate pacing.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithHTTPTransport sets the round tripper our logging transport wraps
// (default: a clone of http.DefaultTransport). Tests use it to inject
// network faults.
func WithHTTPTransport(rt http.RoundTripper) Option { return func(c *config) { c.base = rt } }

// New returns a Client that authenticates with token. The token is only ever
// placed in the Authorization header; it never appears in a recorded call or
// an error. An invalid base URL makes every method fail with ClassInternal.
func New(token string, opts ...Option) *Client {
	cfg := config{baseURL: DefaultBaseURL, timeout: DefaultHTTPTimeout, now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.timeout <= 0 {
		cfg.timeout = DefaultHTTPTimeout
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.base == nil {
		cfg.base = http.DefaultTransport.(*http.Transport).Clone()
	}
	tr := &transport{base: cfg.base, token: token, recorder: cfg.recorder, now: cfg.now}
	baseURL := cfg.baseURL
	if !strings.HasSuffix(baseURL, "/") {
		baseURL += "/"
	}
	// No godo retry option, on purpose: see the package documentation.
	g, err := godo.New(&http.Client{Transport: tr, Timeout: cfg.timeout},
		godo.SetBaseURL(baseURL),
		godo.SetUserAgent(UserAgent),
	)
	c := &Client{godo: g, tr: tr}
	if err != nil {
		c.initErr = &Error{Class: snapkeep.ClassInternal, Message: "invalid DigitalOcean base URL", Err: tr.scrubErr(err)}
	}
	return c
}

// fail wraps err, classified, with what was being done. It is the only way
// the methods return errors: it takes back the transport's parsed error
// body (DigitalOcean's error id) and scrubs the token from the text, even
// from an id a caller passed by mistake.
func (c *Client) fail(err error, format string, args ...any) error {
	var e *Error
	var er *godo.ErrorResponse
	switch {
	case errors.As(err, &e):
	case errors.As(err, &er) && er.Response != nil:
		if ae, ok := c.tr.takeAPIError(er.Response); ok {
			e = fromResponse(er, err, &ae)
		} else {
			e = fromResponse(er, err, nil)
		}
	default:
		e = Classify(err)
	}
	if e.Err != nil {
		e.Err = c.tr.scrubErr(e.Err)
	}
	e.Message = c.tr.scrub(e.Message)
	return fmt.Errorf("%s: %w", c.tr.scrub(fmt.Sprintf(format, args...)), e)
}

// checkID rejects an id that is empty or would change the request's path
// (godo puts ids into paths unescaped), without a request.
func checkID(what, id string) error {
	if id == "" || strings.ContainsAny(id, "/?#%\\ ") {
		return &Error{Class: snapkeep.ClassInvalidPolicy, Message: fmt.Sprintf("invalid %s id %q", what, id)}
	}
	return nil
}

// checkIntID rejects a droplet or action id below 1, without a request.
func checkIntID(what string, id int) error {
	if id < 1 {
		return &Error{Class: snapkeep.ClassInvalidPolicy, Message: fmt.Sprintf("invalid %s id %d", what, id)}
	}
	return nil
}

// missing is the error for a 2xx response whose body lacks the object.
func missing(what string) error {
	return &Error{Class: snapkeep.ClassProviderError, Message: "response has no " + what}
}

// malformed is the error for a 2xx response whose object does not hold
// what DigitalOcean's API description promises (an id below 1, ...).
func malformed(format string, args ...any) error {
	return &Error{Class: snapkeep.ClassProviderError, Message: "malformed response: " + fmt.Sprintf(format, args...)}
}

// actionOf converts godo's action; nil or an id below 1 is a malformed
// answer (provider_error).
func actionOf(a *godo.Action) (*snapkeep.Action, error) {
	if a == nil {
		return nil, missing("action")
	}
	if a.ID < 1 {
		return nil, malformed("action id %d", a.ID)
	}
	out := &snapkeep.Action{
		ID:         int64(a.ID),
		Type:       a.Type,
		Status:     snapkeep.ActionStatus(a.Status),
		ResourceID: int64(a.ResourceID),
	}
	if a.StartedAt != nil {
		out.StartedAt = a.StartedAt.Time.UTC()
	}
	if a.CompletedAt != nil {
		out.CompletedAt = a.CompletedAt.Time.UTC()
	}
	return out, nil
}

// snapshotOf converts godo's volume snapshot; nil or an empty id is a
// malformed answer (provider_error).
func snapshotOf(s *godo.Snapshot) (*snapkeep.Snapshot, error) {
	if s == nil {
		return nil, missing("snapshot")
	}
	if s.ID == "" {
		return nil, malformed("snapshot without an id")
	}
	return &snapkeep.Snapshot{
		ID:         s.ID,
		Name:       s.Name,
		ResourceID: s.ResourceID,
		Created:    parseCreated(s.Created),
		SizeGB:     s.SizeGigaBytes,
		Tags:       s.Tags,
	}, nil
}

// parseCreated reads DigitalOcean's created_at text (RFC 3339); zero when
// it does not parse.
func parseCreated(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// SnapshotDroplet starts a snapshot of a droplet (POST
// /v2/droplets/{id}/actions, type "snapshot") and returns the action, whose
// Status is in progress at first. Follow it with GetAction.
func (c *Client) SnapshotDroplet(ctx context.Context, dropletID int, name string) (*snapkeep.Action, error) {
	if c.initErr != nil {
		return nil, c.initErr
	}
	if err := checkIntID("droplet", dropletID); err != nil {
		return nil, c.fail(err, "snapshot droplet %d", dropletID)
	}
	a, _, err := c.godo.DropletActions.Snapshot(ctx, dropletID, name)
	if err != nil {
		return nil, c.fail(err, "snapshot droplet %d", dropletID)
	}
	out, err := actionOf(a)
	if err != nil {
		return nil, c.fail(err, "snapshot droplet %d", dropletID)
	}
	return out, nil
}

// GetAction returns an action (GET /v2/actions/{id}); its Status is in
// progress, completed or errored.
func (c *Client) GetAction(ctx context.Context, actionID int64) (*snapkeep.Action, error) {
	if c.initErr != nil {
		return nil, c.initErr
	}
	if actionID < 1 || actionID > math.MaxInt32 {
		return nil, c.fail(&Error{Class: snapkeep.ClassInternal, Message: fmt.Sprintf("invalid action id %d", actionID)}, "get action %d", actionID)
	}
	a, _, err := c.godo.Actions.Get(ctx, int(actionID))
	if err != nil {
		return nil, c.fail(err, "get action %d", actionID)
	}
	out, err := actionOf(a)
	if err != nil {
		return nil, c.fail(err, "get action %d", actionID)
	}
	return out, nil
}

// ListDropletActions returns one page (from 1) of a droplet's actions (GET
// /v2/droplets/{id}/actions), newest first as DigitalOcean lists them, and
// whether more pages follow. It is how an ambiguous snapshot request is
// resolved: an action's Type is "snapshot" and its StartedAt says when it
// began (actions carry no snapshot name).
func (c *Client) ListDropletActions(ctx context.Context, dropletID int, page int) ([]snapkeep.Action, bool, error) {
	if c.initErr != nil {
		return nil, false, c.initErr
	}
	if err := checkIntID("droplet", dropletID); err != nil {
		return nil, false, c.fail(err, "list actions of droplet %d", dropletID)
	}
	if page < 1 {
		page = 1
	}
	actions, resp, err := c.godo.Droplets.Actions(ctx, dropletID, &godo.ListOptions{Page: page, PerPage: PerPage})
	if err != nil {
		return nil, false, c.fail(err, "list actions of droplet %d page %d", dropletID, page)
	}
	out := make([]snapkeep.Action, 0, len(actions))
	for i := range actions {
		a, err := actionOf(&actions[i])
		if err != nil {
			return nil, false, c.fail(err, "list actions of droplet %d page %d", dropletID, page)
		}
		out = append(out, *a)
	}
	return out, more(resp), nil
}

// GetDroplet returns a droplet (GET /v2/droplets/{id}).
func (c *Client) GetDroplet(ctx context.Context, dropletID int) (*godo.Droplet, error) {
	if c.initErr != nil {
		return nil, c.initErr
	}
	if err := checkIntID("droplet", dropletID); err != nil {
		return nil, c.fail(err, "get droplet %d", dropletID)
	}
	d, _, err := c.godo.Droplets.Get(ctx, dropletID)
	if err != nil {
		return nil, c.fail(err, "get droplet %d", dropletID)
	}
	if d == nil {
		return nil, c.fail(missing("droplet"), "get droplet %d", dropletID)
	}
	return d, nil
}

// GetVolume returns a block storage volume (GET /v2/volumes/{id}).
func (c *Client) GetVolume(ctx context.Context, volumeID string) (*godo.Volume, error) {
	if c.initErr != nil {
		return nil, c.initErr
	}
	if err := checkID("volume", volumeID); err != nil {
		return nil, c.fail(err, "get volume %q", volumeID)
	}
	v, _, err := c.godo.Storage.GetVolume(ctx, volumeID)
	if err != nil {
		return nil, c.fail(err, "get volume %q", volumeID)
	}
	if v == nil {
		return nil, c.fail(missing("volume"), "get volume %q", volumeID)
	}
	return v, nil
}

// SnapshotVolume snapshots a volume (POST /v2/volumes/{id}/snapshots).
// Volume snapshots are synchronous: the returned snapshot exists.
func (c *Client) SnapshotVolume(ctx context.Context, volumeID, name string, tags []string) (*snapkeep.Snapshot, error) {
	if c.initErr != nil {
		return nil, c.initErr
	}
	if err := checkID("volume", volumeID); err != nil {
		return nil, c.fail(err, "snapshot volume %q", volumeID)
	}
	s, _, err := c.godo.Storage.CreateSnapshot(ctx, &godo.SnapshotCreateRequest{VolumeID: volumeID, Name: name, Tags: tags})
	if err != nil {
		return nil, c.fail(err, "snapshot volume %q", volumeID)
	}
	out, err := snapshotOf(s)
	if err != nil {
		return nil, c.fail(err, "snapshot volume %q", volumeID)
	}
	return out, nil
}

// ListSnapshots returns one page (from 1; 0 means 1) of a resource's
// snapshots, PerPage at a time, and whether more pages follow.
//
// For a volume it is GET /v2/volumes/{id}/snapshots, returned as is. For a
// droplet it is GET /v2/droplets/{id}/snapshots, which answers with images;
// each is returned as a godo.Snapshot with ID the image id in decimal,
// Name, ResourceID the droplet id, ResourceType "droplet", Regions,
// MinDiskSize, SizeGigaBytes, Created (RFC 3339 text, as DigitalOcean sends
// it) and Tags. A droplet id that is not a positive number, or a volume id
// that is empty or holds '/', '?', '#', '%', '\' or a space, fails with
// ClassInvalidPolicy without a request.
func (c *Client) ListSnapshots(ctx context.Context, kind snapkeep.ResourceKind, resourceID string, page int) ([]snapkeep.Snapshot, bool, error) {
	if c.initErr != nil {
		return nil, false, c.initErr
	}
	if page < 1 {
		page = 1
	}
	opt := &godo.ListOptions{Page: page, PerPage: PerPage}
	switch kind {
	case snapkeep.ResourceVolume:
		if err := checkID("volume", resourceID); err != nil {
			return nil, false, c.fail(err, "list snapshots of volume %q", resourceID)
		}
		snaps, resp, err := c.godo.Storage.ListSnapshots(ctx, resourceID, opt)
		if err != nil {
			return nil, false, c.fail(err, "list snapshots of volume %s page %d", resourceID, page)
		}
		out := make([]snapkeep.Snapshot, 0, len(snaps))
		for i := range snaps {
			s, err := snapshotOf(&snaps[i])
			if err != nil {
				return nil, false, c.fail(err, "list snapshots of volume %s page %d", resourceID, page)
			}
			out = append(out, *s)
		}
		return out, more(resp), nil
	case snapkeep.ResourceDroplet:
		id, err := strconv.Atoi(resourceID)
		if err == nil {
			err = checkIntID("droplet", id)
		}
		if err != nil {
			return nil, false, c.fail(&Error{Class: snapkeep.ClassInvalidPolicy, Message: fmt.Sprintf("invalid droplet id %q", resourceID), Err: err}, "list snapshots of droplet %q", resourceID)
		}
		images, resp, err := c.godo.Droplets.Snapshots(ctx, id, opt)
		if err != nil {
			return nil, false, c.fail(err, "list snapshots of droplet %d page %d", id, page)
		}
		snaps := make([]snapkeep.Snapshot, 0, len(images))
		for _, im := range images {
			if im.ID < 1 {
				return nil, false, c.fail(malformed("snapshot image id %d", im.ID), "list snapshots of droplet %d page %d", id, page)
			}
			snaps = append(snaps, snapkeep.Snapshot{
				ID:         strconv.Itoa(im.ID),
				Name:       im.Name,
				ResourceID: resourceID,
				Created:    parseCreated(im.Created),
				SizeGB:     im.SizeGigaBytes,
				Tags:       im.Tags,
			})
		}
		return snaps, more(resp), nil
	}
	return nil, false, c.fail(&Error{Class: snapkeep.ClassInvalidPolicy, Message: fmt.Sprintf("unknown resource kind %q", kind)}, "list snapshots of %s %q", kind, resourceID)
}

func more(resp *godo.Response) bool {
	return resp != nil && resp.Links != nil && !resp.Links.IsLastPage()
}

// DeleteSnapshot deletes a droplet or volume snapshot (DELETE
// /v2/snapshots/{id}).
func (c *Client) DeleteSnapshot(ctx context.Context, snapshotID string) error {
	if c.initErr != nil {
		return c.initErr
	}
	if err := checkID("snapshot", snapshotID); err != nil {
		return c.fail(err, "delete snapshot %q", snapshotID)
	}
	if _, err := c.godo.Snapshots.Delete(ctx, snapshotID); err != nil {
		return c.fail(err, "delete snapshot %q", snapshotID)
	}
	return nil
}
