package scenario

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// The stores Seed writes through (shared/dynamo's and shared/secrets'
// implement them; snapctl writes through the same).
type (
	// CustomerPutter stores customers (dynamo.CustomerStore).
	CustomerPutter interface {
		Put(ctx context.Context, c *snapkeep.Customer) error
	}
	// PolicyPutter stores policies (dynamo.PolicyStore).
	PolicyPutter interface {
		Put(ctx context.Context, p *snapkeep.Policy) error
	}
	// TokenPutter stores account tokens (secrets.Store).
	TokenPutter interface {
		PutToken(ctx context.Context, accountID, token string) error
	}
)

// Targets are where Seed puts the fleet.
type Targets struct {
	// DigitalOcean is the fake DigitalOcean: droplets, volumes, snapshots
	// and one token per account.
	DigitalOcean *dotest.Server
	// Customers, Policies and Tokens store the customers, the policies
	// (whose stream makes the schedules) and each account's token.
	Customers CustomerPutter
	Policies  PolicyPutter
	Tokens    TokenPutter
	// SlackBase is the fake Slack server's base URL (https://host:port);
	// customers with a SlackPath get SlackBase/services/<path>.
	SlackBase string
	// NewToken makes a DigitalOcean token (dotest.NewToken).
	NewToken func() string
}

// Seed puts the fleet into the stack: the fake's resources and tokens,
// the tokens into Secrets Manager, the customers and the policies into
// their tables (so the schedules function makes the schedules from the
// Policies stream). It returns the tokens by account, which the caller
// keeps only to look for them where they must not be.
func (f *Fleet) Seed(ctx context.Context, t Targets) (map[string]string, error) {
	do := t.DigitalOcean
	for _, d := range f.Droplets {
		if err := do.AddDroplet(d); err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
	}
	for _, v := range f.Volumes {
		if err := do.AddVolume(v); err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
	}
	for _, sn := range f.Snapshots {
		if _, err := do.AddSnapshot(sn); err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
	}
	tokens := map[string]string{}
	for _, a := range f.Accounts {
		tok := t.NewToken()
		do.AddToken(tok)
		if err := t.Tokens.PutToken(ctx, a.ID, tok); err != nil {
			return nil, fmt.Errorf("seed: token of %s: %w", a.ID, err)
		}
		tokens[a.ID] = tok
	}
	prefs := rand.New(rand.NewPCG(f.Config.Seed, 0x9e3779b9))
	for _, cu := range f.Customers {
		c := cu.Customer
		if cu.SlackPath != "" {
			c.SlackWebhookURL = strings.TrimSuffix(t.SlackBase, "/") + "/services/" + cu.SlackPath
		}
		tok, err := snapkeep.NewPreferencesToken(rngReader{prefs})
		if err != nil {
			return nil, err
		}
		c.PreferencesToken = tok
		c.CreatedAt, c.UpdatedAt = f.Config.Start.AddDate(0, -3, 0), f.Config.Start.AddDate(0, -3, 0)
		if err := t.Customers.Put(ctx, &c); err != nil {
			return nil, fmt.Errorf("seed: customer %s: %w", c.CustomerID, err)
		}
	}
	for i := range f.Policies {
		p := f.Policies[i]
		if err := t.Policies.Put(ctx, &p); err != nil {
			return nil, fmt.Errorf("seed: policy %s: %w", p.PolicyID, err)
		}
	}
	return tokens, nil
}

// rngReader reads bytes from a seeded rand (deterministic preferences
// tokens; crypto/rand in production).
type rngReader struct{ r *rand.Rand }

func (g rngReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(g.r.Uint32())
	}
	return len(p), nil
}
