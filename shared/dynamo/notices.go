package dynamo

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// Attribute names of the notice maps (snapkeep.Run.Notices, and the two
// maps of a Mailing) and of a snapkeep.Notice inside them.
const (
	attrNotices  = "notices"
	attrResolved = "resolved"
	noticeAt     = "at"
	noticeID     = "id"
	noticeError  = "error"
)

// channelPattern is what a channel name must look like: it becomes a
// map key and a path element of an update expression.
var channelPattern = regexp.MustCompile(`^[a-z]{1,16}$`)

// claimRounds bounds how often a claim starts over when the item changes
// between its conditional writes and its read (another writer's claim
// released in between).
const claimRounds = 3

// noticeMap writes one map attribute of an item that holds a
// snapkeep.Notice per channel (a run's notices; a mailing's notices or
// resolved), one conditional UpdateItem per step, so that a message per
// item and channel is sent once however many deliveries race for it.
//
// DynamoDB cannot SET a path inside a map that does not exist, so a claim
// first creates the map with the channel's notice in it (only if there is
// no map), then sets the channel inside an existing map (only if the
// channel is absent), and only then reads what is there.
type noticeMap struct {
	client Client
	table  string
	key    map[string]types.AttributeValue
	// pk is the item's partition key attribute: a claim never creates an item.
	pk string
	// attr is the map attribute ("notices" or "resolved").
	attr string
	// what names the item in errors.
	what string
}

// claim writes n as the channel's notice if the channel has none, and
// returns (n, true). When the channel has one, it returns that one and
// false, unless takeover(existing) says the existing claim is abandoned
// (a delivery that claimed and never finished): then it replaces it, on
// the condition that it is still the claim read (same at, still no id and
// no error), and returns (n, true). A missing item is an error wrapping
// snapkeep.ErrNotFound.
func (m noticeMap) claim(ctx context.Context, channel string, n snapkeep.Notice, takeover func(snapkeep.Notice) bool) (snapkeep.Notice, bool, error) {
	if !channelPattern.MatchString(channel) {
		return snapkeep.Notice{}, false, fmt.Errorf("claim %s notice of %s: channel %q: want 1-16 of a-z: %w", m.attr, m.what, channel, snapkeep.ErrInvalid)
	}
	val, err := noticeValue(n)
	if err != nil {
		return snapkeep.Notice{}, false, fmt.Errorf("claim %s notice of %s: %w", channel, m.what, err)
	}
	n.At = n.At.UTC()
	for range claimRounds {
		ok, err := m.update(ctx, "SET #m = :m", "attribute_exists(#pk) AND attribute_not_exists(#m)",
			map[string]types.AttributeValue{":m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{channel: val}}}, "")
		if ok || err != nil {
			return n, ok, m.wrap("claim", channel, err)
		}
		ok, err = m.update(ctx, "SET #m.#c = :n", "attribute_exists(#m) AND attribute_not_exists(#m.#c)",
			map[string]types.AttributeValue{":n": val}, channel)
		if ok || err != nil {
			return n, ok, m.wrap("claim", channel, err)
		}
		existing, rawAt, found, err := m.read(ctx, channel)
		if err != nil {
			return snapkeep.Notice{}, false, m.wrap("claim", channel, err)
		}
		if !found {
			continue // released between the writes and the read: try again
		}
		if takeover == nil || existing.ID != "" || existing.Error != "" || !takeover(existing) {
			return existing, false, nil
		}
		ok, err = m.update(ctx, "SET #m.#c = :n",
			"#m.#c.#at = :old AND attribute_not_exists(#m.#c.#id) AND attribute_not_exists(#m.#c.#err)",
			map[string]types.AttributeValue{":n": val, ":old": rawAt}, channel)
		if ok || err != nil {
			return n, ok, m.wrap("take over", channel, err)
		}
	}
	return snapkeep.Notice{}, false, fmt.Errorf("claim %s notice of %s: the item kept changing: %w", channel, m.what, snapkeep.ErrConflict)
}

// record replaces the channel's notice with n if it is still the claim
// made at claimedAt; otherwise it writes nothing and returns an error
// wrapping snapkeep.ErrConflict (another delivery took the claim over).
func (m noticeMap) record(ctx context.Context, channel string, claimedAt time.Time, n snapkeep.Notice) error {
	val, err := noticeValue(n)
	if err != nil {
		return fmt.Errorf("record %s notice of %s: %w", channel, m.what, err)
	}
	at, err := attributevalue.Marshal(claimedAt.UTC())
	if err != nil {
		return err
	}
	ok, err := m.update(ctx, "SET #m.#c = :n", "#m.#c.#at = :at", map[string]types.AttributeValue{":n": val, ":at": at}, channel)
	if err == nil && !ok {
		err = fmt.Errorf("the claim of %s was taken over: %w", claimedAt.UTC().Format(time.RFC3339Nano), snapkeep.ErrConflict)
	}
	return m.wrap("record", channel, err)
}

// release removes the channel's claim made at claimedAt, if it is still
// that claim and carries no message id, so that a later delivery can
// claim afresh; otherwise it writes nothing and returns an error wrapping
// snapkeep.ErrConflict.
func (m noticeMap) release(ctx context.Context, channel string, claimedAt time.Time) error {
	at, err := attributevalue.Marshal(claimedAt.UTC())
	if err != nil {
		return err
	}
	ok, err := m.update(ctx, "REMOVE #m.#c", "#m.#c.#at = :at AND attribute_not_exists(#m.#c.#id)", map[string]types.AttributeValue{":at": at}, channel)
	if err == nil && !ok {
		err = fmt.Errorf("the claim of %s is no longer there: %w", claimedAt.UTC().Format(time.RFC3339Nano), snapkeep.ErrConflict)
	}
	return m.wrap("release", channel, err)
}

// update runs one conditional UpdateItem on the map and reports whether
// its condition held. channel, when not empty, is the name #c.
func (m noticeMap) update(ctx context.Context, expr, cond string, values map[string]types.AttributeValue, channel string) (bool, error) {
	names := map[string]string{"#m": m.attr}
	if channel != "" {
		names["#c"] = channel
	}
	full := expr + " " + cond
	for name, attr := range map[string]string{"#pk": m.pk, "#at": noticeAt, "#id": noticeID, "#err": noticeError} {
		if containsName(full, name) {
			names[name] = attr
		}
	}
	_, err := m.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(m.table),
		Key:                       m.key,
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if isConditionFailed(err) {
		return false, nil
	}
	return err == nil, err
}

// read returns the channel's notice, its stored at (for a condition on
// exactly that value) and whether there is one.
func (m noticeMap) read(ctx context.Context, channel string) (snapkeep.Notice, types.AttributeValue, bool, error) {
	out, err := m.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(m.table),
		Key:                      m.key,
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#pk, #m.#c"),
		ExpressionAttributeNames: map[string]string{"#pk": m.pk, "#m": m.attr, "#c": channel},
	})
	if err != nil {
		return snapkeep.Notice{}, nil, false, err
	}
	if out.Item == nil {
		return snapkeep.Notice{}, nil, false, snapkeep.ErrNotFound
	}
	notices, _ := out.Item[m.attr].(*types.AttributeValueMemberM)
	if notices == nil || notices.Value[channel] == nil {
		return snapkeep.Notice{}, nil, false, nil
	}
	var n snapkeep.Notice
	if err := attributevalue.Unmarshal(notices.Value[channel], &n); err != nil {
		return snapkeep.Notice{}, nil, false, fmt.Errorf("the stored notice is not readable: %w", err)
	}
	var rawAt types.AttributeValue
	if v, ok := notices.Value[channel].(*types.AttributeValueMemberM); ok {
		rawAt = v.Value[noticeAt]
	}
	if rawAt == nil {
		// A claim without at cannot be matched by a condition on it.
		rawAt = &types.AttributeValueMemberS{Value: ""}
	}
	return n, rawAt, true, nil
}

func (m noticeMap) wrap(op, channel string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %s notice of %s: %w", op, channel, m.what, err)
}

func containsName(expr, name string) bool {
	for i := 0; i+len(name) <= len(expr); i++ {
		if expr[i:i+len(name)] == name {
			end := i + len(name)
			if end == len(expr) || !isNameChar(expr[end]) {
				return true
			}
		}
	}
	return false
}

func isNameChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// maxNoticeError bounds Notice.Error as stored (it may quote SES's or
// Slack's words).
const maxNoticeError = 1024

// noticeValue marshals n with its time in UTC and its error bounded.
func noticeValue(n snapkeep.Notice) (types.AttributeValue, error) {
	n.At = n.At.UTC()
	n.Error = snapkeep.Bound(n.Error, maxNoticeError)
	n.ID = snapkeep.Bound(n.ID, maxNoticeError)
	return attributevalue.Marshal(n)
}

// runNotices is the notices map of the run with key.
func (s *RunStore) runNotices(key snapkeep.RunKey) noticeMap {
	return noticeMap{client: s.Client, table: s.Table, key: runKeyItem(key), pk: "policy_id", attr: attrNotices, what: "run " + key.String()}
}

// ClaimNotice claims the run's notice on channel (snapkeep.ChannelEmail,
// snapkeep.ChannelSlack) with one conditional UpdateItem, before the
// message is sent: it writes n as run.notices.<channel> only if the run
// has no notice on that channel, and returns (n, true). If it has one, it
// returns that notice and false — unless takeover(existing) reports it
// abandoned (a claim without an id or error whose delivery crashed): then
// the claim is taken over, on the condition that it is still the one read.
// The run item's other attributes (and its updated_at) are not touched. A
// missing run is an error wrapping snapkeep.ErrNotFound.
func (s *RunStore) ClaimNotice(ctx context.Context, key snapkeep.RunKey, channel string, n snapkeep.Notice, takeover func(snapkeep.Notice) bool) (snapkeep.Notice, bool, error) {
	return s.runNotices(key).claim(ctx, channel, n, takeover)
}

// RecordNotice replaces the run's claim on channel, made at claimedAt,
// with n (the message id, or why it could not be sent). If the claim was
// taken over meanwhile it writes nothing and returns an error wrapping
// snapkeep.ErrConflict.
func (s *RunStore) RecordNotice(ctx context.Context, key snapkeep.RunKey, channel string, claimedAt time.Time, n snapkeep.Notice) error {
	return s.runNotices(key).record(ctx, channel, claimedAt, n)
}

// ReleaseNotice removes the run's claim on channel made at claimedAt (a
// send that failed for a while: the next delivery claims afresh). A claim
// that is no longer there, or carries a message id, is left alone
// (snapkeep.ErrConflict).
func (s *RunStore) ReleaseNotice(ctx context.Context, key snapkeep.RunKey, channel string, claimedAt time.Time) error {
	return s.runNotices(key).release(ctx, channel, claimedAt)
}

// Recent returns up to limit of the policy's runs scheduled before
// before, newest first: one Query of the table's own key (eventually
// consistent). Unreadable items are skipped and logged.
func (s *RunStore) Recent(ctx context.Context, policyID string, before time.Time, limit int) ([]snapkeep.Run, error) {
	if limit < 1 {
		return nil, fmt.Errorf("recent runs of policy %s: limit %d: %w", policyID, limit, snapkeep.ErrInvalid)
	}
	what := "recent runs of policy " + policyID
	return s.query(ctx, what, &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("policy_id = :k AND scheduled_at < :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":k": &types.AttributeValueMemberS{Value: policyID},
			":t": &types.AttributeValueMemberS{Value: runTime(before.Truncate(time.Second))},
		},
		ScanIndexForward: aws.Bool(false),
	}, limit, s.skip(ctx, what))
}

// NextAfter returns the policy's first run scheduled after after, or nil
// when it has none yet: one Query of the table's own key, reading at most
// a few items (eventually consistent).
func (s *RunStore) NextAfter(ctx context.Context, policyID string, after time.Time) (*snapkeep.Run, error) {
	what := "next run of policy " + policyID
	// Slots are whole seconds: the first slot after after is at or after
	// after truncated plus one second.
	from := after.UTC().Truncate(time.Second).Add(time.Second)
	runs, err := s.query(ctx, what, &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("policy_id = :k AND scheduled_at >= :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":k": &types.AttributeValueMemberS{Value: policyID},
			":t": &types.AttributeValueMemberS{Value: runTime(from)},
		},
		ScanIndexForward: aws.Bool(true),
	}, 1, s.skip(ctx, what))
	if err != nil || len(runs) == 0 {
		return nil, err
	}
	return &runs[0], nil
}
