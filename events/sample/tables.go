package sample

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/dynamo"
)

// Tables is an in-memory DynamoDB holding the local stage's tables and
// their streams. The stores write to it as they would to DynamoDB (it is a
// dynamo.Client; conditions are not evaluated: the builders write what
// the run path would), and each write that changes an item becomes the
// stream record DynamoDB makes of it: the keys, the images the table's
// stream view type carries, a sequence number that grows, and the time of
// the write (Now) rounded down to the second as
// ApproximateCreationDateTime. Writes to different items may be made out
// of time order (one run's story, then another's): a stream is in the
// order of its writes' times, as DynamoDB's would be.
type Tables struct {
	// Now is when the next write happens; an item's writes must not go
	// back in time.
	Now time.Time

	items   map[string]map[string]map[string]types.AttributeValue // logical id → key → item
	written map[string]time.Time                                  // logical id|key → its last write
	streams map[string][]streamed
	made    int
}

// streamed is a stream record, when it was made and whether Take gave it.
type streamed struct {
	rec   events.DynamoDBEventRecord
	at    time.Time
	taken bool
}

var _ dynamo.Client = (*Tables)(nil)

// NewTables returns empty tables whose clock is at start.
func NewTables(start time.Time) *Tables {
	return &Tables{Now: start.UTC(), items: map[string]map[string]map[string]types.AttributeValue{},
		written: map[string]time.Time{}, streams: map[string][]streamed{}}
}

// Clock is Now as a clock for the stores.
func (t *Tables) Clock() time.Time { return t.Now }

// Take returns the stream records of a table (logical id) of the writes
// before until that no Take returned yet, in stream order.
func (t *Tables) Take(logicalID string, until time.Time) []events.DynamoDBEventRecord {
	var out []events.DynamoDBEventRecord
	recs := t.streams[logicalID]
	for i := range recs {
		if !recs[i].taken && recs[i].at.Before(until) {
			recs[i].taken = true
			out = append(out, recs[i].rec)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Change.SequenceNumber < out[j].Change.SequenceNumber })
	return out
}

// Item returns a stored item (its key attributes' values as text: the
// partition key, then the sort key), or nil.
func (t *Tables) Item(logicalID string, key ...string) map[string]types.AttributeValue {
	return t.items[logicalID][strings.Join(key, "|")]
}

func specOf(table string) (dynamo.TableSpec, error) {
	id := LogicalID(table)
	for _, s := range dynamo.AllTables() {
		if s.LogicalID == id {
			return s, nil
		}
	}
	return dynamo.TableSpec{}, fmt.Errorf("sample tables: %q is not a table of the local stage", table)
}

// keyOf is the key attributes of item and their text.
func keyOf(spec dynamo.TableSpec, item map[string]types.AttributeValue) (map[string]types.AttributeValue, string, error) {
	key := map[string]types.AttributeValue{}
	var text []string
	for _, a := range []dynamo.KeyAttr{spec.PartitionKey, spec.SortKey} {
		if a.Name == "" {
			continue
		}
		v, ok := item[a.Name]
		if !ok {
			return nil, "", fmt.Errorf("sample tables: %s item without key attribute %s", spec.LogicalID, a.Name)
		}
		key[a.Name] = v
		switch sv := v.(type) {
		case *types.AttributeValueMemberS:
			text = append(text, sv.Value)
		case *types.AttributeValueMemberN:
			text = append(text, sv.Value)
		default:
			return nil, "", fmt.Errorf("sample tables: %s key %s is a %T", spec.LogicalID, a.Name, v)
		}
	}
	return key, strings.Join(text, "|"), nil
}

// write stores item (nil deletes) under its key and streams the change.
func (t *Tables) write(table string, key, item map[string]types.AttributeValue) error {
	spec, err := specOf(table)
	if err != nil {
		return err
	}
	if item != nil {
		if key, _, err = keyOf(spec, item); err != nil {
			return err
		}
	}
	key, text, err := keyOf(spec, key)
	if err != nil {
		return err
	}
	if last := t.written[spec.LogicalID+"|"+text]; t.Now.Before(last) {
		return fmt.Errorf("sample tables: %s %s written at %s after a write at %s", spec.LogicalID, text,
			t.Now.Format(time.RFC3339Nano), last.Format(time.RFC3339Nano))
	}
	t.written[spec.LogicalID+"|"+text] = t.Now
	m := t.items[spec.LogicalID]
	if m == nil {
		m = map[string]map[string]types.AttributeValue{}
		t.items[spec.LogicalID] = m
	}
	old, had := m[text]
	if item == nil {
		delete(m, text)
	} else {
		m[text] = item
	}
	if spec.Stream == "" || (item == nil && !had) || (had && reflect.DeepEqual(old, item)) {
		return nil // no stream, or nothing changed: DynamoDB streams nothing
	}
	t.stream(spec, key, old, item)
	return nil
}

// stream appends the record of a change.
func (t *Tables) stream(spec dynamo.TableSpec, key, old, item map[string]types.AttributeValue) {
	t.made++
	seq := fmt.Sprintf("4%014d%05d", t.Now.UnixMilli(), t.made)
	name := "MODIFY"
	switch {
	case old == nil:
		name = "INSERT"
	case item == nil:
		name = "REMOVE"
	}
	ch := events.DynamoDBStreamRecord{
		ApproximateCreationDateTime: events.SecondsEpochTime{Time: t.Now.Truncate(time.Second)},
		Keys:                        Image(key),
		SequenceNumber:              seq,
		StreamViewType:              spec.Stream,
		SizeBytes:                   ItemSize(key),
	}
	if item != nil {
		ch.NewImage = Image(item)
		ch.SizeBytes += ItemSize(item)
	}
	if old != nil && spec.Stream == dynamo.StreamNewAndOld {
		ch.OldImage = Image(old)
		ch.SizeBytes += ItemSize(old)
	}
	t.streams[spec.LogicalID] = append(t.streams[spec.LogicalID], streamed{at: t.Now, rec: events.DynamoDBEventRecord{
		AWSRegion: Region, EventID: hash(spec.LogicalID, seq), EventName: name, EventSource: "aws:dynamodb",
		EventVersion: "1.1", EventSourceArn: StreamARN(spec.LogicalID), Change: ch,
	}})
}

// GetItem implements dynamo.Client.
func (t *Tables) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	spec, err := specOf(aws.ToString(in.TableName))
	if err != nil {
		return nil, err
	}
	_, text, err := keyOf(spec, in.Key)
	if err != nil {
		return nil, err
	}
	return &dynamodb.GetItemOutput{Item: t.items[spec.LogicalID][text]}, nil
}

// PutItem implements dynamo.Client.
func (t *Tables) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return &dynamodb.PutItemOutput{}, t.write(aws.ToString(in.TableName), nil, in.Item)
}

// DeleteItem implements dynamo.Client.
func (t *Tables) DeleteItem(_ context.Context, in *dynamodb.DeleteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return &dynamodb.DeleteItemOutput{}, t.write(aws.ToString(in.TableName), in.Key, nil)
}

// UpdateItem implements dynamo.Client for the expressions the stores
// write: SET of names to values or if_not_exists(name, value), REMOVE of
// names.
func (t *Tables) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	table := aws.ToString(in.TableName)
	spec, err := specOf(table)
	if err != nil {
		return nil, err
	}
	_, text, err := keyOf(spec, in.Key)
	if err != nil {
		return nil, err
	}
	item := map[string]types.AttributeValue{}
	for k, v := range t.items[spec.LogicalID][text] {
		item[k] = v
	}
	for k, v := range in.Key {
		item[k] = v
	}
	if err := apply(item, aws.ToString(in.UpdateExpression), in.ExpressionAttributeNames, in.ExpressionAttributeValues); err != nil {
		return nil, err
	}
	if err := t.write(table, nil, item); err != nil {
		return nil, err
	}
	out := &dynamodb.UpdateItemOutput{}
	if in.ReturnValues == types.ReturnValueAllNew {
		out.Attributes = item
	}
	return out, nil
}

// apply evaluates an update expression on item.
func apply(item map[string]types.AttributeValue, expr string, names map[string]string, values map[string]types.AttributeValue) error {
	name := func(s string) (string, error) {
		s = strings.TrimSpace(s)
		if n, ok := names[s]; ok {
			return n, nil
		}
		if strings.HasPrefix(s, "#") || s == "" {
			return "", fmt.Errorf("sample tables: update expression %q: unknown name %q", expr, s)
		}
		return s, nil
	}
	value := func(s string) (types.AttributeValue, error) {
		v, ok := values[strings.TrimSpace(s)]
		if !ok {
			return nil, fmt.Errorf("sample tables: update expression %q: unknown value %q", expr, s)
		}
		return v, nil
	}
	set, remove, _ := strings.Cut(expr, " REMOVE ")
	if r, ok := strings.CutPrefix(strings.TrimSpace(set), "REMOVE "); ok {
		set, remove = "", r
	}
	set = strings.TrimPrefix(strings.TrimSpace(set), "SET ")
	for _, clause := range splitTop(set) {
		lhs, rhs, ok := strings.Cut(clause, "=")
		if !ok {
			return fmt.Errorf("sample tables: update expression %q: clause %q", expr, clause)
		}
		n, err := name(lhs)
		if err != nil {
			return err
		}
		rhs = strings.TrimSpace(rhs)
		keep := false
		if args, ok := strings.CutPrefix(rhs, "if_not_exists("); ok {
			_, v, _ := strings.Cut(strings.TrimSuffix(args, ")"), ",")
			rhs, keep = v, true
		}
		v, err := value(rhs)
		if err != nil {
			return err
		}
		if _, exists := item[n]; !keep || !exists {
			item[n] = v
		}
	}
	for _, r := range splitTop(remove) {
		n, err := name(r)
		if err != nil {
			return err
		}
		delete(item, n)
	}
	return nil
}

// splitTop splits s at the commas outside parentheses, dropping blanks.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	out = append(out, s[start:])
	kept := out[:0]
	for _, p := range out {
		if p = strings.TrimSpace(p); p != "" {
			kept = append(kept, p)
		}
	}
	return kept
}

// BatchWriteItem implements dynamo.Client.
func (t *Tables) BatchWriteItem(_ context.Context, in *dynamodb.BatchWriteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	tables := make([]string, 0, len(in.RequestItems))
	for table := range in.RequestItems {
		tables = append(tables, table)
	}
	sort.Strings(tables)
	for _, table := range tables {
		for _, r := range in.RequestItems[table] {
			var err error
			switch {
			case r.PutRequest != nil:
				err = t.write(table, nil, r.PutRequest.Item)
			case r.DeleteRequest != nil:
				err = t.write(table, r.DeleteRequest.Key, nil)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return &dynamodb.BatchWriteItemOutput{}, nil
}

// TransactWriteItems implements dynamo.Client: each Put, Update and
// Delete in order, one stream record each.
func (t *Tables) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	for _, it := range in.TransactItems {
		var err error
		switch {
		case it.Put != nil:
			err = t.write(aws.ToString(it.Put.TableName), nil, it.Put.Item)
		case it.Delete != nil:
			err = t.write(aws.ToString(it.Delete.TableName), it.Delete.Key, nil)
		case it.Update != nil:
			_, err = t.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: it.Update.TableName, Key: it.Update.Key,
				UpdateExpression: it.Update.UpdateExpression, ExpressionAttributeNames: it.Update.ExpressionAttributeNames,
				ExpressionAttributeValues: it.Update.ExpressionAttributeValues})
		}
		if err != nil {
			return nil, err
		}
	}
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

// Query implements dynamo.Client: the builders never read by index.
func (t *Tables) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return nil, fmt.Errorf("sample tables: no Query (%s)", aws.ToString(in.TableName))
}

// Scan implements dynamo.Client: the builders never scan.
func (t *Tables) Scan(_ context.Context, in *dynamodb.ScanInput, _ ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	return nil, fmt.Errorf("sample tables: no Scan (%s)", aws.ToString(in.TableName))
}
