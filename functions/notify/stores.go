package main

import (
	"context"
	"time"

	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/notify"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// mailings is notify's MailingStore over dynamo.MailingStore: the two
// packages' Mailing and MailingRun have the same fields, so each call is a
// conversion.
type mailings struct{ store *dynamo.MailingStore }

var _ notify.MailingStore = mailings{}

func (m mailings) AddRun(ctx context.Context, r notify.MailingRun) (bool, error) {
	return m.store.AddRun(ctx, dynamo.MailingRun(r))
}

func (m mailings) Get(ctx context.Context, mailingID, customerID string) (*notify.Mailing, error) {
	got, err := m.store.Get(ctx, mailingID, customerID)
	if err != nil {
		return nil, err
	}
	out := notify.Mailing(*got)
	return &out, nil
}

func (m mailings) ClaimNotice(ctx context.Context, mailingID, customerID, which, channel string, n snapkeep.Notice, takeover func(snapkeep.Notice) bool) (snapkeep.Notice, bool, error) {
	return m.store.ClaimNotice(ctx, mailingID, customerID, which, channel, n, takeover)
}

func (m mailings) RecordNotice(ctx context.Context, mailingID, customerID, which, channel string, claimedAt time.Time, n snapkeep.Notice) error {
	return m.store.RecordNotice(ctx, mailingID, customerID, which, channel, claimedAt, n)
}

func (m mailings) ReleaseNotice(ctx context.Context, mailingID, customerID, which, channel string, claimedAt time.Time) error {
	return m.store.ReleaseNotice(ctx, mailingID, customerID, which, channel, claimedAt)
}

func (m mailings) Done(ctx context.Context, mailingID, customerID string) error {
	return m.store.Done(ctx, mailingID, customerID)
}

func (m mailings) Pending(ctx context.Context, pending string, dueBy time.Time, limit int) ([]notify.Mailing, error) {
	got, err := m.store.Pending(ctx, pending, dueBy, limit)
	if err != nil {
		return nil, err
	}
	out := make([]notify.Mailing, len(got))
	for i := range got {
		out[i] = notify.Mailing(got[i])
	}
	return out, nil
}
