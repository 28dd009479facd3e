package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Droplet locks live in the Leases table, one item per resource:
// lease_id (the resource key), owner (the run id) and expires_at (Unix
// seconds, the lock's end and the item's TTL). A lock is taken by a Put in
// the same transaction as the run's write, conditioned on the item being
// absent, lapsed, or the taker's own.

// ClaimLocked stores run if no run has its key and takes lock, in one
// transaction. When the run exists it returns an error wrapping
// snapkeep.ErrConflict; when another run holds the lock, a
// *snapkeep.LockedError with the holder's end. Nothing is written then.
func (s *RunStore) ClaimLocked(ctx context.Context, run *snapkeep.Run, lock snapkeep.Lock) error {
	item, _, err := s.runItem(run)
	if err != nil {
		return fmt.Errorf("claim run %s: %w", run.Key(), err)
	}
	_, err = s.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.Table), Item: item, ConditionExpression: aws.String("attribute_not_exists(policy_id)")}},
		s.lockPut(lock),
	}})
	if err := s.cancelled(ctx, err, &lock); err != nil {
		if errors.Is(err, snapkeep.ErrConflict) {
			return fmt.Errorf("claim run %s: already claimed: %w", run.Key(), err)
		}
		return fmt.Errorf("claim run %s: %w", run.Key(), err)
	}
	return nil
}

// SaveLocked is Save and the taking of lock, in one transaction (so one
// call fewer fits it: MaxSaveCalls-1). Another run's lock is a
// *snapkeep.LockedError and nothing is written.
func (s *RunStore) SaveLocked(ctx context.Context, prev, next *snapkeep.Run, calls []snapkeep.APICall, lock snapkeep.Lock) error {
	return s.save(ctx, prev, next, calls, &lock)
}

// maxSaveCalls is how many calls a save carries beside the run (and lock).
func maxSaveCalls(lock *snapkeep.Lock) int {
	if lock != nil {
		return MaxSaveCalls - 1
	}
	return MaxSaveCalls
}

// lockPut is the transaction item that takes lock.
func (s *RunStore) lockPut(lock snapkeep.Lock) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(s.LeasesTable),
		Item: map[string]types.AttributeValue{
			"lease_id":   &types.AttributeValueMemberS{Value: lock.Key},
			"owner":      &types.AttributeValueMemberS{Value: lock.Owner},
			"expires_at": &types.AttributeValueMemberN{Value: strconv.FormatInt(ceilUnix(lock.Until), 10)},
		},
		ConditionExpression:      aws.String("attribute_not_exists(lease_id) OR expires_at <= :now OR #o = :owner"),
		ExpressionAttributeNames: map[string]string{"#o": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now":   &types.AttributeValueMemberN{Value: strconv.FormatInt(lock.Now.Unix(), 10)},
			":owner": &types.AttributeValueMemberS{Value: lock.Owner},
		},
	}}
}

// cancelled maps a transaction's cancellation to the domain's errors: the
// run's condition (the first item) is snapkeep.ErrConflict, the lock's (the
// second, when lock is not nil) a *snapkeep.LockedError.
func (s *RunStore) cancelled(ctx context.Context, err error, lock *snapkeep.Lock) error {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return err
	}
	for i, r := range tce.CancellationReasons {
		if aws.ToString(r.Code) != "ConditionalCheckFailed" {
			continue
		}
		if i == 1 && lock != nil {
			return s.lockedBy(ctx, *lock)
		}
		return fmt.Errorf("changed by another writer: %w", snapkeep.ErrConflict)
	}
	return err
}

// lockedBy reads who holds lock's key, for the LockedError; when the item
// cannot be read, the holder's end is taken as lock's own (the longest a
// lock lasts).
func (s *RunStore) lockedBy(ctx context.Context, lock snapkeep.Lock) error {
	le := &snapkeep.LockedError{Key: lock.Key, Until: lock.Until}
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.LeasesTable),
		Key:            map[string]types.AttributeValue{"lease_id": &types.AttributeValueMemberS{Value: lock.Key}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil || out.Item == nil {
		return le
	}
	if n, ok := out.Item["expires_at"].(*types.AttributeValueMemberN); ok {
		if v, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
			le.Until = time.Unix(v, 0).UTC()
		}
	}
	return le
}

// ceilUnix is t in Unix seconds, rounded up.
func ceilUnix(t time.Time) int64 {
	u := t.Unix()
	if t.After(time.Unix(u, 0)) {
		u++
	}
	return u
}
