package docloud

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
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
// at most one HTTP request (none when an id or the token is malformed),
// never retries and never follows a redirect, and has the Recorder record
// the attempt before it returns; failures are *Error values (wrapped with
// context) that say their class. A Client is safe for concurrent use.
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
// placed in the Authorization header of requests to the base URL's scheme
// and host; it never appears in a recorded call or an error. Redirects are
// never followed (a 3xx is a provider_error).
//
// A token that fails snapkeep.CheckToken is never sent: every method then
// fails at once, without a request, with ClassAuthRevoked and the message
// "the stored DigitalOcean token is malformed: <what is wrong>". An invalid
// base URL (not http or https with a host) makes every method fail with
// ClassInternal.
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
	baseURL := cfg.baseURL
	if !strings.HasSuffix(baseURL, "/") {
		baseURL += "/"
	}
	tr := &transport{base: cfg.base, token: token, recorder: cfg.recorder, now: cfg.now}
	if err := snapkeep.CheckToken(token); err != nil {
		tr.refuse = malformedToken(err)
	}
	u, urlErr := url.Parse(baseURL)
	if urlErr == nil {
		tr.origin = originOf(u)
		if (tr.origin.scheme != "http" && tr.origin.scheme != "https") || tr.origin.host == "" {
			urlErr = fmt.Errorf("want http or https and a host")
		}
	}
	hc := &http.Client{
		Transport: tr,
		Timeout:   cfg.timeout,
		// Never follow a redirect: the answer is DigitalOcean's or nobody's.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	// No godo retry option, on purpose: see the package documentation.
	g, err := godo.New(hc, godo.SetBaseURL(baseURL), godo.SetUserAgent(UserAgent))
	if err == nil {
		err = urlErr
	}
	c := &Client{godo: g, tr: tr}
	switch {
	case tr.refuse != nil:
		c.initErr = tr.refuse
	case err != nil:
		c.initErr = &Error{Class: snapkeep.ClassInternal, Message: "invalid DigitalOcean base URL", Err: tr.scrubErr(err)}
	}
	return c
}

// malformedToken is the error of every method of a Client whose token
// fails snapkeep.CheckToken. Its text says what is wrong, never the token.
func malformedToken(err error) *Error {
	reason := strings.TrimSuffix(err.Error(), ": "+snapkeep.ErrInvalid.Error())
	return &Error{Class: snapkeep.ClassAuthRevoked, Message: "the stored DigitalOcean token is malformed: " + reason, Err: err}
}

// do runs one Client method's request: fn makes it with the context it is
// given, which holds the attempt for the method to record once it knows
// the outcome. Every error is classified and wrapped with what was being
// done (format and args, scrubbed of the token).
func (c *Client) do(ctx context.Context, fn func(ctx context.Context) error, format string, args ...any) error {
	if c.initErr != nil {
		return fmt.Errorf("%s: %w", c.tr.scrub(fmt.Sprintf(format, args...)), c.initErr)
	}
	h := &held{}
	err := fn(context.WithValue(ctx, heldKey{}, h))
	if err != nil {
		err = c.fail(err, h, format, args...)
	}
	c.tr.settle(ctx, h, err)
	return err
}

// fail wraps err, classified, with what was being done. It takes back the
// transport's parsed error body (DigitalOcean's error id), tells a 2xx
// body godo could not decode (provider_error) from other failures, and
// scrubs the token from every text and then bounds it, even from an id a
// caller passed by mistake.
func (c *Client) fail(err error, h *held, format string, args ...any) error {
	var e *Error
	var er *godo.ErrorResponse
	switch {
	case errors.As(err, &e):
	case errors.As(err, &er) && er.Response != nil:
		e = fromResponse(er, err, h.apiErrorOf(er.Response))
	default:
		if a, ok := h.last(); ok && a.usable2xx && !isNetwork(err) {
			// The body was read whole: godo failed to decode it.
			e = malformedBody(err)
		} else {
			e = Classify(err)
		}
	}
	if e.Err != nil {
		e.Err = c.tr.scrubErr(e.Err)
	}
	sanitize(e, c.tr.scrub)
	return fmt.Errorf("%s: %w", c.tr.scrub(fmt.Sprintf(format, args...)), e)
}

// checkID rejects an id that is empty or would change the request's path
// (godo puts ids into paths unescaped), without a request.
func checkID(what, id string) error {
	if id == "" || strings.ContainsAny(id, "/?#%\\ ") {
		return &Error{Class: snapkeep.ClassInvalidPolicy, Message: bound(fmt.Sprintf("invalid %s id %q", what, id))}
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
	return &Error{Class: snapkeep.ClassProviderError, Message: bound("malformed response: " + fmt.Sprintf(format, args...))}
}

// actionOf converts godo's action; nil or an id below 1 is a malformed
// answer (provider_error). Its texts are bounded.
func actionOf(a *godo.Action) (*snapkeep.Action, error) {
	if a == nil {
		return nil, missing("action")
	}
	if a.ID < 1 {
		return nil, malformed("action id %d", a.ID)
	}
	out := &snapkeep.Action{
		ID:         int64(a.ID),
		Type:       bound(a.Type),
		Status:     snapkeep.ActionStatus(bound(a.Status)),
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
// malformed answer (provider_error). Its texts are bounded.
func snapshotOf(s *godo.Snapshot) (*snapkeep.Snapshot, error) {
	if s == nil {
		return nil, missing("snapshot")
	}
	if s.ID == "" {
		return nil, malformed("snapshot without an id")
	}
	return &snapkeep.Snapshot{
		ID:         bound(s.ID),
		Name:       bound(s.Name),
		ResourceID: bound(s.ResourceID),
		Created:    parseCreated(s.Created),
		SizeGB:     s.SizeGigaBytes,
		Tags:       boundAll(s.Tags),
	}, nil
}

// boundAll bounds each string of a provider's list (nil stays nil).
func boundAll(list []string) []string {
	for i, s := range list {
		if len(s) > snapkeep.MaxProviderText {
			list[i] = bound(s)
		}
	}
	return list
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
	var out *snapkeep.Action
	err := c.do(ctx, func(ctx context.Context) error {
		if err := checkIntID("droplet", dropletID); err != nil {
			return err
		}
		a, _, err := c.godo.DropletActions.Snapshot(ctx, dropletID, name)
		if err != nil {
			return err
		}
		out, err = actionOf(a)
		return err
	}, "snapshot droplet %d", dropletID)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetAction returns an action (GET /v2/actions/{id}); its Status is in
// progress, completed or errored.
func (c *Client) GetAction(ctx context.Context, actionID int64) (*snapkeep.Action, error) {
	var out *snapkeep.Action
	err := c.do(ctx, func(ctx context.Context) error {
		if actionID < 1 || actionID > math.MaxInt32 {
			// An action id is snapkeep's own record, not the customer's.
			return &Error{Class: snapkeep.ClassInternal, Message: fmt.Sprintf("invalid action id %d", actionID)}
		}
		a, _, err := c.godo.Actions.Get(ctx, int(actionID))
		if err != nil {
			return err
		}
		out, err = actionOf(a)
		return err
	}, "get action %d", actionID)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListDropletActions returns one page (from 1) of a droplet's actions (GET
// /v2/droplets/{id}/actions), newest first as DigitalOcean lists them, and
// whether more pages follow. It is how an ambiguous snapshot request is
// resolved: an action's Type is "snapshot" and its StartedAt says when it
// began (actions carry no snapshot name).
func (c *Client) ListDropletActions(ctx context.Context, dropletID int, page int) ([]snapkeep.Action, bool, error) {
	page = max(page, 1)
	var out []snapkeep.Action
	var next bool
	err := c.do(ctx, func(ctx context.Context) error {
		if err := checkIntID("droplet", dropletID); err != nil {
			return err
		}
		actions, resp, err := c.godo.Droplets.Actions(ctx, dropletID, &godo.ListOptions{Page: page, PerPage: PerPage})
		if err != nil {
			return err
		}
		out = make([]snapkeep.Action, 0, len(actions))
		for i := range actions {
			a, err := actionOf(&actions[i])
			if err != nil {
				return err
			}
			out = append(out, *a)
		}
		next = more(resp)
		return nil
	}, "list actions of droplet %d page %d", dropletID, page)
	if err != nil {
		return nil, false, err
	}
	return out, next, nil
}

// GetDroplet returns a droplet (GET /v2/droplets/{id}).
func (c *Client) GetDroplet(ctx context.Context, dropletID int) (*godo.Droplet, error) {
	var out *godo.Droplet
	err := c.do(ctx, func(ctx context.Context) error {
		if err := checkIntID("droplet", dropletID); err != nil {
			return err
		}
		d, _, err := c.godo.Droplets.Get(ctx, dropletID)
		if err != nil {
			return err
		}
		if d == nil {
			return missing("droplet")
		}
		out = d
		return nil
	}, "get droplet %d", dropletID)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetVolume returns a block storage volume (GET /v2/volumes/{id}).
func (c *Client) GetVolume(ctx context.Context, volumeID string) (*godo.Volume, error) {
	var out *godo.Volume
	err := c.do(ctx, func(ctx context.Context) error {
		if err := checkID("volume", volumeID); err != nil {
			return err
		}
		v, _, err := c.godo.Storage.GetVolume(ctx, volumeID)
		if err != nil {
			return err
		}
		if v == nil {
			return missing("volume")
		}
		out = v
		return nil
	}, "get volume %q", volumeID)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SnapshotVolume snapshots a volume (POST /v2/volumes/{id}/snapshots).
// Volume snapshots are synchronous: the returned snapshot exists.
func (c *Client) SnapshotVolume(ctx context.Context, volumeID, name string, tags []string) (*snapkeep.Snapshot, error) {
	var out *snapkeep.Snapshot
	err := c.do(ctx, func(ctx context.Context) error {
		if err := checkID("volume", volumeID); err != nil {
			return err
		}
		s, _, err := c.godo.Storage.CreateSnapshot(ctx, &godo.SnapshotCreateRequest{VolumeID: volumeID, Name: name, Tags: tags})
		if err != nil {
			return err
		}
		out, err = snapshotOf(s)
		return err
	}, "snapshot volume %q", volumeID)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListSnapshots returns one page (from 1; 0 means 1) of a resource's
// snapshots, PerPage at a time, and whether more pages follow.
//
// For a volume it is GET /v2/volumes/{id}/snapshots. For a droplet it is
// GET /v2/droplets/{id}/snapshots, which answers with images; each is
// returned with ID the image id in decimal, ResourceID the droplet id,
// Created from DigitalOcean's RFC 3339 text (zero when it does not parse),
// SizeGB and Tags. A droplet id that is not a positive number, or a volume
// id that is empty or holds '/', '?', '#', '%', '\' or a space, fails with
// ClassInvalidPolicy without a request.
func (c *Client) ListSnapshots(ctx context.Context, kind snapkeep.ResourceKind, resourceID string, page int) ([]snapkeep.Snapshot, bool, error) {
	page = max(page, 1)
	opt := &godo.ListOptions{Page: page, PerPage: PerPage}
	var out []snapkeep.Snapshot
	var next bool
	err := c.do(ctx, func(ctx context.Context) error {
		var err error
		switch kind {
		case snapkeep.ResourceVolume:
			out, next, err = c.listVolumeSnapshots(ctx, resourceID, opt)
		case snapkeep.ResourceDroplet:
			out, next, err = c.listDropletSnapshots(ctx, resourceID, opt)
		default:
			err = &Error{Class: snapkeep.ClassInvalidPolicy, Message: bound(fmt.Sprintf("unknown resource kind %q", kind))}
		}
		return err
	}, "list snapshots of %s %q page %d", kind, resourceID, page)
	if err != nil {
		return nil, false, err
	}
	return out, next, nil
}

func (c *Client) listVolumeSnapshots(ctx context.Context, volumeID string, opt *godo.ListOptions) ([]snapkeep.Snapshot, bool, error) {
	if err := checkID("volume", volumeID); err != nil {
		return nil, false, err
	}
	snaps, resp, err := c.godo.Storage.ListSnapshots(ctx, volumeID, opt)
	if err != nil {
		return nil, false, err
	}
	out := make([]snapkeep.Snapshot, 0, len(snaps))
	for i := range snaps {
		s, err := snapshotOf(&snaps[i])
		if err != nil {
			return nil, false, err
		}
		out = append(out, *s)
	}
	return out, more(resp), nil
}

func (c *Client) listDropletSnapshots(ctx context.Context, dropletID string, opt *godo.ListOptions) ([]snapkeep.Snapshot, bool, error) {
	id, err := strconv.Atoi(dropletID)
	if err == nil {
		err = checkIntID("droplet", id)
	}
	if err != nil {
		return nil, false, &Error{Class: snapkeep.ClassInvalidPolicy, Message: bound(fmt.Sprintf("invalid droplet id %q", dropletID)), Err: err}
	}
	images, resp, err := c.godo.Droplets.Snapshots(ctx, id, opt)
	if err != nil {
		return nil, false, err
	}
	out := make([]snapkeep.Snapshot, 0, len(images))
	for _, im := range images {
		if im.ID < 1 {
			return nil, false, malformed("snapshot image id %d", im.ID)
		}
		out = append(out, snapkeep.Snapshot{
			ID:         strconv.Itoa(im.ID),
			Name:       bound(im.Name),
			ResourceID: dropletID,
			Created:    parseCreated(im.Created),
			SizeGB:     im.SizeGigaBytes,
			Tags:       boundAll(im.Tags),
		})
	}
	return out, more(resp), nil
}

func more(resp *godo.Response) bool {
	return resp != nil && resp.Links != nil && !resp.Links.IsLastPage()
}

// DeleteSnapshot deletes a droplet or volume snapshot (DELETE
// /v2/snapshots/{id}). DigitalOcean answers 404 (resource_missing) for a
// snapshot that is gone and 400 bad_request "the resource is not a
// snapshot" (internal) for a backup image.
func (c *Client) DeleteSnapshot(ctx context.Context, snapshotID string) error {
	return c.do(ctx, func(ctx context.Context) error {
		if err := checkID("snapshot", snapshotID); err != nil {
			return err
		}
		_, err := c.godo.Snapshots.Delete(ctx, snapshotID)
		return err
	}, "delete snapshot %q", snapshotID)
}
