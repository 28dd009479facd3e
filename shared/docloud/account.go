package docloud

import (
	"context"
	"time"

	"github.com/digitalocean/godo"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Account is what GET /v2/account says of the token's account, in plain
// types, with the rate-limit headers of that answer: what `snapctl account
// check` shows. Every text is DigitalOcean's, bounded.
type Account struct {
	// UUID is DigitalOcean's id of the user.
	UUID string
	// Status is "active", "warning" or "locked" (a locked account cannot
	// create snapshots).
	Status string
	// StatusMessage is DigitalOcean's explanation of Status, often blank.
	StatusMessage string
	// EmailVerified is false until the account's email is verified.
	EmailVerified bool
	// DropletLimit is how many droplets the account may have at once.
	DropletLimit int
	// VolumeLimit is how many volumes it may have (0 when not reported).
	VolumeLimit int
	// TeamUUID and TeamName name the team the token belongs to, when it
	// was issued in a team context.
	TeamUUID, TeamName string
	// Rate is the token's hourly budget as that answer reported it.
	Rate RateLimit
}

// RateLimit is the token's hourly request budget as a response's
// ratelimit-* headers report it.
type RateLimit struct {
	// Limit is requests per hour (5,000 at DigitalOcean); 0 when the
	// response had no ratelimit-limit header.
	Limit int
	// Remaining is what is left of it.
	Remaining int
	// Reset is when the oldest request of the hour leaves the window.
	Reset time.Time
}

// CheckAccount reads the token's account (GET /v2/account, one cheap
// authenticated request recorded as snapkeep.OpGetAccount unless ctx says
// otherwise). A revoked token fails auth_revoked (401), a malformed one
// auth_revoked without a request.
func (c *Client) CheckAccount(ctx context.Context) (*Account, error) {
	if op, _ := OperationFrom(ctx); op == "" {
		ctx = WithOperation(ctx, snapkeep.OpGetAccount, 1)
	}
	var out *Account
	err := c.do(ctx, func(ctx context.Context) error {
		a, resp, err := c.godo.Account.Get(ctx)
		if err != nil {
			return err
		}
		if a == nil {
			return missing("account")
		}
		out = accountOf(a, resp)
		return nil
	}, "check account")
	if err != nil {
		return nil, err
	}
	return out, nil
}

// accountOf converts godo's account and the answer's rate headers.
func accountOf(a *godo.Account, resp *godo.Response) *Account {
	out := &Account{
		UUID:          bound(a.UUID),
		Status:        bound(a.Status),
		StatusMessage: bound(a.StatusMessage),
		EmailVerified: a.EmailVerified,
		DropletLimit:  a.DropletLimit,
		VolumeLimit:   a.VolumeLimit,
	}
	if a.Team != nil {
		out.TeamUUID, out.TeamName = bound(a.Team.UUID), bound(a.Team.Name)
	}
	if resp != nil {
		out.Rate = RateLimit{Limit: resp.Rate.Limit, Remaining: resp.Rate.Remaining, Reset: resp.Rate.Reset.Time.UTC()}
	}
	return out
}
