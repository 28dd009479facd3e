package dynamo

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// The two notice maps of a mailing.
const (
	// MailingNotices is the map of the mailing's first message: an
	// incident notice, or a digest.
	MailingNotices = attrNotices
	// MailingResolved is the map of an incident mailing's resolved notice.
	MailingResolved = attrResolved
)

// Mailing is one item of the Mailings table: one message (or pair of
// messages) snapkeep sends to many customers, for one customer.
type Mailing struct {
	// MailingID names the mailing: "incident#<incident id>",
	// "digest#<YYYY-MM-DD>", ... (partition key).
	MailingID string `dynamodbav:"mailing_id"`
	// CustomerID is the customer (sort key).
	CustomerID string `dynamodbav:"customer_id"`
	// Kind is what the mailing's first message is (incident, digest).
	Kind snapkeep.NoticeKind `dynamodbav:"kind"`
	// IncidentID is the provider incident of an incident mailing.
	IncidentID string `dynamodbav:"incident_id,omitempty"`
	// RunIDs are the runs the mailing tells of (held during the incident,
	// waiting for the digest), at most the MaxRuns of the AddRun calls.
	RunIDs []string `dynamodbav:"runs,stringset,omitempty"`
	// Dropped counts the AddRun calls refused because RunIDs was full
	// (approximately: a retried call counts again).
	Dropped int `dynamodbav:"dropped,omitempty"`
	// Notices holds the first message per channel (MailingNotices).
	Notices map[string]snapkeep.Notice `dynamodbav:"notices,omitempty"`
	// Resolved holds an incident mailing's resolved notice per channel
	// (MailingResolved).
	Resolved map[string]snapkeep.Notice `dynamodbav:"resolved,omitempty"`
	// Pending is set while the periodic trigger still has to send the
	// mailing's last message ("digest", "resolved"): the sparse pending
	// index's partition key. Absent once it is sent.
	Pending string `dynamodbav:"pending,omitempty"`
	// DueAt is when the trigger may send it (whole seconds, UTC: the
	// index's sort key).
	DueAt time.Time `dynamodbav:"due_at"`
	// CreatedAt and UpdatedAt are when the item was first and last written.
	CreatedAt time.Time `dynamodbav:"created_at"`
	UpdatedAt time.Time `dynamodbav:"updated_at"`
	// ExpiresAt is the item's TTL (Unix seconds).
	ExpiresAt int64 `dynamodbav:"expires_at,omitempty"`
}

// MailingRun adds one run to a customer's mailing (AddRun).
type MailingRun struct {
	// MailingID and CustomerID are the mailing's key.
	MailingID, CustomerID string
	// Kind is the mailing's kind.
	Kind snapkeep.NoticeKind
	// IncidentID is the incident of an incident mailing, or "".
	IncidentID string
	// RunID is the run told of (snapkeep.RunKey.RunID).
	RunID string
	// Pending, when not empty, puts a new mailing in the pending index
	// with DueAt (neither is changed on an existing mailing).
	Pending string
	DueAt   time.Time
	// ClosedBy is the notice map (MailingNotices or MailingResolved) whose
	// existence closes the mailing to new runs: once its message is
	// claimed, AddRun refuses with snapkeep.ErrConflict.
	ClosedBy string
	// MaxRuns bounds RunIDs.
	MaxRuns int
	// ExpiresAt is the TTL a new mailing gets.
	ExpiresAt time.Time
}

// MailingStore stores Mailing items in the Mailings table. Each message
// of a mailing is claimed per channel with the same conditional writes as
// a run's notices (ClaimNotice), so it is sent once however often the
// trigger that sends it is delivered.
type MailingStore struct {
	// Client is the DynamoDB client.
	Client Client
	// Table is the Mailings table's name.
	Table string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger gets a line per unreadable item a query skips; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Get returns the mailing (strongly consistent), or an error wrapping
// snapkeep.ErrNotFound.
func (s *MailingStore) Get(ctx context.Context, mailingID, customerID string) (*Mailing, error) {
	return getItem[Mailing](ctx, s.Client, s.Table, mailingKey(mailingID, customerID), mailingName(mailingID, customerID))
}

// AddRun adds r.RunID to the mailing's runs with one UpdateItem, creating
// the mailing if it does not exist (kind, incident, pending and due_at,
// created_at, expires_at); adding a run twice changes nothing, so a
// replayed delivery is harmless. It returns false, and counts the run in
// dropped, when the mailing already holds r.MaxRuns runs. When the
// r.ClosedBy message has been claimed, it writes nothing and returns an
// error wrapping snapkeep.ErrConflict: the run is too late for this
// mailing.
func (s *MailingStore) AddRun(ctx context.Context, r MailingRun) (bool, error) {
	what := mailingName(r.MailingID, r.CustomerID)
	if r.RunID == "" || r.MaxRuns < 1 || (r.ClosedBy != MailingNotices && r.ClosedBy != MailingResolved) {
		return false, fmt.Errorf("add run to %s: want a run id, MaxRuns >= 1 and ClosedBy notices or resolved: %w", what, snapkeep.ErrInvalid)
	}
	now := clock(s.Now)
	names := map[string]string{"#kind": "kind", "#runs": "runs", "#ca": "created_at", "#ua": "updated_at", "#ex": "expires_at", "#closed": r.ClosedBy}
	values := map[string]types.AttributeValue{
		":kind": &types.AttributeValueMemberS{Value: string(r.Kind)},
		":r":    &types.AttributeValueMemberSS{Value: []string{r.RunID}},
		":rid":  &types.AttributeValueMemberS{Value: r.RunID},
		":now":  &types.AttributeValueMemberS{Value: now.Format(time.RFC3339Nano)},
		":exp":  &types.AttributeValueMemberN{Value: strconv.FormatInt(r.ExpiresAt.Unix(), 10)},
		":max":  &types.AttributeValueMemberN{Value: strconv.Itoa(r.MaxRuns)},
	}
	set := "SET #kind = :kind, #ca = if_not_exists(#ca, :now), #ua = :now, #ex = if_not_exists(#ex, :exp)"
	if r.IncidentID != "" {
		set += ", #inc = :inc"
		names["#inc"] = "incident_id"
		values[":inc"] = &types.AttributeValueMemberS{Value: r.IncidentID}
	}
	if r.Pending != "" {
		set += ", #p = if_not_exists(#p, :p), #d = if_not_exists(#d, :d)"
		names["#p"], names["#d"] = "pending", "due_at"
		values[":p"] = &types.AttributeValueMemberS{Value: r.Pending}
		values[":d"] = &types.AttributeValueMemberS{Value: indexTime(r.DueAt)}
	}
	_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       mailingKey(r.MailingID, r.CustomerID),
		UpdateExpression:          aws.String(set + " ADD #runs :r"),
		ConditionExpression:       aws.String("attribute_not_exists(#closed) AND (attribute_not_exists(#runs) OR size(#runs) < :max OR contains(#runs, :rid))"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if err == nil {
		return true, nil
	}
	if !isConditionFailed(err) {
		return false, fmt.Errorf("add run %s to %s: %w", r.RunID, what, err)
	}
	// Closed, or full: count it as dropped unless it is closed.
	_, err = s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       mailingKey(r.MailingID, r.CustomerID),
		UpdateExpression:          aws.String("ADD #dropped :one SET #ua = :now"),
		ConditionExpression:       aws.String("attribute_exists(mailing_id) AND attribute_not_exists(#closed)"),
		ExpressionAttributeNames:  map[string]string{"#dropped": "dropped", "#ua": "updated_at", "#closed": r.ClosedBy},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}, ":now": values[":now"]},
	})
	if isConditionFailed(err) {
		return false, fmt.Errorf("add run %s to %s: its %s message is claimed already: %w", r.RunID, what, r.ClosedBy, snapkeep.ErrConflict)
	}
	if err != nil {
		return false, fmt.Errorf("add run %s to %s: count it as dropped: %w", r.RunID, what, err)
	}
	return false, nil
}

// notices is the notice map which (MailingNotices or MailingResolved) of
// the mailing.
func (s *MailingStore) notices(mailingID, customerID, which string) (noticeMap, error) {
	if which != MailingNotices && which != MailingResolved {
		return noticeMap{}, fmt.Errorf("%s: notice map %q: want notices or resolved: %w", mailingName(mailingID, customerID), which, snapkeep.ErrInvalid)
	}
	return noticeMap{client: s.Client, table: s.Table, key: mailingKey(mailingID, customerID), pk: "mailing_id", attr: which,
		what: mailingName(mailingID, customerID)}, nil
}

// ClaimNotice claims the mailing's message which (MailingNotices or
// MailingResolved) on channel, exactly as RunStore.ClaimNotice claims a
// run's: (n, true) when it was not claimed yet (or the abandoned claim
// was taken over), else the existing notice and false. The mailing must
// exist (AddRun creates it); a missing one is an error wrapping
// snapkeep.ErrNotFound.
func (s *MailingStore) ClaimNotice(ctx context.Context, mailingID, customerID, which, channel string, n snapkeep.Notice, takeover func(snapkeep.Notice) bool) (snapkeep.Notice, bool, error) {
	m, err := s.notices(mailingID, customerID, which)
	if err != nil {
		return snapkeep.Notice{}, false, err
	}
	return m.claim(ctx, channel, n, takeover)
}

// RecordNotice replaces the claim made at claimedAt with n, as
// RunStore.RecordNotice does.
func (s *MailingStore) RecordNotice(ctx context.Context, mailingID, customerID, which, channel string, claimedAt time.Time, n snapkeep.Notice) error {
	m, err := s.notices(mailingID, customerID, which)
	if err != nil {
		return err
	}
	return m.record(ctx, channel, claimedAt, n)
}

// ReleaseNotice removes the claim made at claimedAt, as
// RunStore.ReleaseNotice does.
func (s *MailingStore) ReleaseNotice(ctx context.Context, mailingID, customerID, which, channel string, claimedAt time.Time) error {
	m, err := s.notices(mailingID, customerID, which)
	if err != nil {
		return err
	}
	return m.release(ctx, channel, claimedAt)
}

// Done takes the mailing out of the pending index (its last message is
// sent, or will never be): REMOVE pending, SET updated_at. A missing
// mailing is an error wrapping snapkeep.ErrNotFound.
func (s *MailingStore) Done(ctx context.Context, mailingID, customerID string) error {
	_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       mailingKey(mailingID, customerID),
		UpdateExpression:          aws.String("REMOVE #p SET #ua = :now"),
		ConditionExpression:       aws.String("attribute_exists(mailing_id)"),
		ExpressionAttributeNames:  map[string]string{"#p": "pending", "#ua": "updated_at"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": &types.AttributeValueMemberS{Value: clock(s.Now).Format(time.RFC3339Nano)}},
	})
	if isConditionFailed(err) {
		return fmt.Errorf("done with %s: %w", mailingName(mailingID, customerID), snapkeep.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("done with %s: %w", mailingName(mailingID, customerID), err)
	}
	return nil
}

// Pending returns up to limit mailings whose pending is pending and whose
// due_at is at or before dueBy, earliest first, from the sparse pending
// index (eventually consistent: Get a mailing again before acting on it).
// Unreadable items are skipped and logged.
func (s *MailingStore) Pending(ctx context.Context, pending string, dueBy time.Time, limit int) ([]Mailing, error) {
	if limit < 1 {
		return nil, fmt.Errorf("pending %s mailings: limit %d: %w", pending, limit, snapkeep.ErrInvalid)
	}
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.Table),
		IndexName:                aws.String(IndexMailingsPending),
		KeyConditionExpression:   aws.String("#p = :p AND #d <= :t"),
		ExpressionAttributeNames: map[string]string{"#p": "pending", "#d": "due_at"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":p": &types.AttributeValueMemberS{Value: pending},
			":t": &types.AttributeValueMemberS{Value: indexTime(dueBy)},
		},
	}
	var out []Mailing
	for {
		in.Limit = aws.Int32(int32(limit - len(out)))
		page, err := s.Client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("pending %s mailings: %w", pending, err)
		}
		for _, item := range page.Items {
			var m Mailing
			if err := decodeItem(item, &m); err != nil {
				s.log().WarnContext(ctx, "skipped a mailing item that is not readable", "key", BadItem{Key: keyText(item, Mailings)}.KeyText(), "error", err.Error())
				continue
			}
			out = append(out, m)
		}
		if len(page.LastEvaluatedKey) == 0 || len(out) >= limit {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func (s *MailingStore) log() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

func mailingKey(mailingID, customerID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"mailing_id":  &types.AttributeValueMemberS{Value: mailingID},
		"customer_id": &types.AttributeValueMemberS{Value: customerID},
	}
}

func mailingName(mailingID, customerID string) string {
	return fmt.Sprintf("mailing %q of customer %q", mailingID, customerID)
}

// indexTime is how an index sort key time is stored: UTC, whole seconds
// (so that it sorts as text), as attributevalue writes a time.
func indexTime(t time.Time) string {
	v, _ := attributevalue.Marshal(t.UTC().Truncate(time.Second))
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339Nano)
}
