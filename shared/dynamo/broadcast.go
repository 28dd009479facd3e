package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/mailing"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// A broadcast (snapctl broadcast) keeps its sent log in the Mailings
// table like every other mailing: one item per (broadcast mailing id,
// customer), kind "broadcast", whose notices map holds the email notice:
// claimed before the message is sent, recorded after. It never enters the
// pending index (no periodic trigger sends it).

var _ mailing.Ledger = (*MailingStore)(nil)

// BroadcastNotices returns the email notice of each customer's item of
// the broadcast mailingID, by customer id (items without one are left
// out): one Query of the mailing's partition, paged, reading only the
// customer id and the email notice.
func (s *MailingStore) BroadcastNotices(ctx context.Context, mailingID string) (map[string]snapkeep.Notice, error) {
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.Table),
		KeyConditionExpression:   aws.String("#id = :id"),
		ProjectionExpression:     aws.String("#cid, #n.#c"),
		ExpressionAttributeNames: map[string]string{"#id": "mailing_id", "#cid": "customer_id", "#n": attrNotices, "#c": snapkeep.ChannelEmail},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":id": &types.AttributeValueMemberS{Value: mailingID},
		},
		ConsistentRead: aws.Bool(true),
	}
	out := map[string]snapkeep.Notice{}
	for {
		page, err := s.Client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("notices of broadcast %q: %w", mailingID, err)
		}
		for _, item := range page.Items {
			var m struct {
				CustomerID string                     `dynamodbav:"customer_id"`
				Notices    map[string]snapkeep.Notice `dynamodbav:"notices"`
			}
			if err := attributevalue.UnmarshalMap(item, &m); err != nil {
				s.log().WarnContext(ctx, "skipped a broadcast item that is not readable", "mailing_id", mailingID,
					"key", BadItem{Key: keyText(item, Mailings)}.KeyText(), "error", err.Error())
				continue
			}
			if n, ok := m.Notices[snapkeep.ChannelEmail]; ok {
				out[m.CustomerID] = n
			}
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// ClaimBroadcast claims the email notice of the customer's item of the
// broadcast. The first claim creates the item with the claim in it (one
// conditional PutItem: kind broadcast, incident, runs, created_at,
// expires_at); when the item exists it claims as ClaimNotice does
// (taking an abandoned claim over when takeover says so) and returns the
// existing notice and false when the email is claimed or sent.
func (s *MailingStore) ClaimBroadcast(ctx context.Context, e mailing.Entry, n snapkeep.Notice, takeover func(snapkeep.Notice) bool) (snapkeep.Notice, bool, error) {
	what := mailingName(e.MailingID, e.CustomerID)
	if e.MailingID == "" || e.CustomerID == "" {
		return snapkeep.Notice{}, false, fmt.Errorf("claim broadcast %s: want a mailing id and a customer id: %w", what, snapkeep.ErrInvalid)
	}
	val, err := noticeValue(n)
	if err != nil {
		return snapkeep.Notice{}, false, fmt.Errorf("claim broadcast %s: %w", what, err)
	}
	now := clock(s.Now).Format(time.RFC3339Nano)
	item := mailingKey(e.MailingID, e.CustomerID)
	item["kind"] = &types.AttributeValueMemberS{Value: string(snapkeep.NoticeBroadcast)}
	item[attrNotices] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{snapkeep.ChannelEmail: val}}
	item["created_at"] = &types.AttributeValueMemberS{Value: now}
	item["updated_at"] = &types.AttributeValueMemberS{Value: now}
	item["expires_at"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(e.ExpiresAt.Unix(), 10)}
	if e.IncidentID != "" {
		item["incident_id"] = &types.AttributeValueMemberS{Value: e.IncidentID}
	}
	if ids := dedupe(e.RunIDs); len(ids) > 0 {
		item["runs"] = &types.AttributeValueMemberSS{Value: ids}
	}
	_, err = s.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.Table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(mailing_id)"),
	})
	if err == nil {
		n.At = n.At.UTC()
		return n, true, nil
	}
	if !isConditionFailed(err) {
		return snapkeep.Notice{}, false, fmt.Errorf("claim broadcast %s: %w", what, err)
	}
	return s.ClaimNotice(ctx, e.MailingID, e.CustomerID, MailingNotices, snapkeep.ChannelEmail, n, takeover)
}

// RecordBroadcast replaces the email claim made at claimedAt with n
// (RecordNotice).
func (s *MailingStore) RecordBroadcast(ctx context.Context, mailingID, customerID string, claimedAt time.Time, n snapkeep.Notice) error {
	return s.RecordNotice(ctx, mailingID, customerID, MailingNotices, snapkeep.ChannelEmail, claimedAt, n)
}

// ReleaseBroadcast removes the email claim made at claimedAt
// (ReleaseNotice); the item stays, and the next run claims it afresh.
func (s *MailingStore) ReleaseBroadcast(ctx context.Context, mailingID, customerID string, claimedAt time.Time) error {
	return s.ReleaseNotice(ctx, mailingID, customerID, MailingNotices, snapkeep.ChannelEmail, claimedAt)
}

// dedupe returns ids without repeats, in their order (a string set may
// not hold one twice).
func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
