package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/snapkeep/snapkeep/shared/errorrate"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
)

// The Stats table's items (key dimension + window), all written by
// functions/errorrate:
//
//	dimension              window                            what
//	calls#<dim>            <minute>#<shard>#<first seq>      one stream window part's call counts of a minute
//	runs                   <minute>#<shard>#<first seq>      one part's terminal runs of a minute
//	daily#calls#<dim>      <YYYY-MM-DD>                      a day's roll-up (the sum of the minute parts)
//	registry               <YYYY-MM-DD>                      the dimensions that had calls that day (string set)
//	watch#<dim>            cusum                             the evaluator's Watch (detector state, baseline)
//
// A minute's counts are the sum of its parts: one per shard and window part
// (a window ended early goes on in a part with another first sequence
// number), each written once by an idempotent put, so a replayed window
// writes the same items again. Minutes are errorrate.MinuteFormat
// ("2026-11-24T06:10Z"), so a minute's parts sort together and a range of
// minutes is one key-range Query.
const (
	statsCallsPrefix = "calls#"
	statsDailyPrefix = "daily#calls#"
	statsWatchPrefix = "watch#"
	statsRuns        = "runs"
	statsRegistry    = "registry"
	statsWatchWindow = "cusum"
	dayFormat        = time.DateOnly
	// partKeyEnd sorts after every "#<shard>#<seq>" of a minute.
	partKeyEnd = "#~"
)

// Retention of Stats items.
const (
	// DefaultStatsRetention is how long minute parts are kept when
	// StatsStore.Retention is zero: as long as the ApiCalls rows they
	// count (the template's ApiCallRetentionDays), so a report can be
	// rebuilt as long as its calls exist.
	DefaultStatsRetention = 90 * 24 * time.Hour
	// DailyRetention is how long daily roll-ups are kept.
	DailyRetention = 400 * 24 * time.Hour
	// registryRetention is how long a day's registry item is kept.
	registryRetention = 3 * 24 * time.Hour
	// maxPartText bounds a part's shard id and first sequence number.
	maxPartText = 128
)

// StatsStore reads and writes the Stats table: the per-minute window
// parts the stream windows write, the daily roll-ups, the registry of
// dimensions and the evaluator's Watch items. It implements
// errorrate.EvalStats. Reads are Queries of one partition's key range or
// GetItems; nothing scans.
type StatsStore struct {
	// Client is the DynamoDB client.
	Client Client
	// Table is the Stats table's name.
	Table string
	// Retention is the TTL of minute parts, counted from their minute
	// (zero: DefaultStatsRetention).
	Retention time.Duration
	// Now is the clock for the Watch's updated_at; nil means time.Now.
	Now func() time.Time
	// Sleep waits between retries of unprocessed batch items; nil waits
	// on a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger gets one warning per unreadable item a read skips; nil means
	// slog.Default().
	Logger *slog.Logger
}

var _ errorrate.EvalStats = (*StatsStore)(nil)

// Part names one stream window part: the shard and the sequence number of
// the first record it folded. Every item a part writes carries both in its
// key, so the parts of a minute add up and a part written again replaces
// itself.
type Part struct {
	Shard    string
	FirstSeq string
}

func (p Part) check() error {
	switch {
	case p.Shard == "" || p.FirstSeq == "":
		return fmt.Errorf("window part: shard and first sequence number are required: %w", snapkeep.ErrInvalid)
	case len(p.Shard) > maxPartText || len(p.FirstSeq) > maxPartText || strings.Contains(p.Shard+p.FirstSeq, "#"):
		return fmt.Errorf("window part %q/%q: at most %d bytes each, no '#': %w",
			snapkeep.Bound(p.Shard, 64), snapkeep.Bound(p.FirstSeq, 64), maxPartText, snapkeep.ErrInvalid)
	}
	return nil
}

func (p Part) window(minute time.Time) string {
	return minute.UTC().Format(errorrate.MinuteFormat) + "#" + p.Shard + "#" + p.FirstSeq
}

// PutCallParts writes one item per (dimension, minute) of agg under part,
// with BatchWriteItem (25 at a time), and adds agg's dimensions to the
// registry of each day it touches (one UpdateItem a day). It returns the
// number of items written: agg.Len(), whatever the number of calls.
func (s *StatsStore) PutCallParts(ctx context.Context, part Part, agg *errorrate.Aggregate) (int, error) {
	if err := part.check(); err != nil {
		return 0, err
	}
	keys := agg.Keys()
	reqs := make([]types.WriteRequest, 0, len(keys))
	days := map[time.Time][]string{}
	for _, k := range keys {
		item, err := attributevalue.MarshalMap(agg.Get(k))
		if err != nil {
			return 0, fmt.Errorf("put call counts %s: %w", k, err)
		}
		s.partKey(item, statsCallsPrefix+string(k.Dimension), part, k.Minute)
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		day := k.Minute.UTC().Truncate(24 * time.Hour)
		if !slices.Contains(days[day], string(k.Dimension)) {
			days[day] = append(days[day], string(k.Dimension))
		}
	}
	if err := s.writeAll(ctx, reqs); err != nil {
		return 0, fmt.Errorf("put call counts of part %s/%s: %w", part.Shard, part.FirstSeq, err)
	}
	for day, dims := range days {
		if err := s.register(ctx, day, dims); err != nil {
			return len(reqs), err
		}
	}
	return len(reqs), nil
}

// PutRunParts writes one item per minute of agg under part (the Runs
// stream's terminal runs) and returns how many.
func (s *StatsStore) PutRunParts(ctx context.Context, part Part, agg *errorrate.RunAggregate) (int, error) {
	if err := part.check(); err != nil {
		return 0, err
	}
	var reqs []types.WriteRequest
	for _, m := range agg.Minutes() {
		item, err := attributevalue.MarshalMap(agg.Get(m))
		if err != nil {
			return 0, fmt.Errorf("put run counts of %s: %w", m.Format(errorrate.MinuteFormat), err)
		}
		s.partKey(item, statsRuns, part, m)
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	if err := s.writeAll(ctx, reqs); err != nil {
		return 0, fmt.Errorf("put run counts of part %s/%s: %w", part.Shard, part.FirstSeq, err)
	}
	return len(reqs), nil
}

// partKey sets a minute part's key, minute and TTL on item.
func (s *StatsStore) partKey(item map[string]types.AttributeValue, dim string, part Part, minute time.Time) {
	item["dimension"] = &types.AttributeValueMemberS{Value: dim}
	item["window"] = &types.AttributeValueMemberS{Value: part.window(minute)}
	item["minute"] = &types.AttributeValueMemberS{Value: minute.UTC().Format(errorrate.MinuteFormat)}
	item["expires_at"] = unixAttr(minute.Add(s.retention()))
}

func (s *StatsStore) writeAll(ctx context.Context, reqs []types.WriteRequest) error {
	w := &APICallStore{Client: s.Client, Table: s.Table, Sleep: s.Sleep}
	for start := 0; start < len(reqs); start += BatchWriteMax {
		if err := w.writeBatch(ctx, reqs[start:min(start+BatchWriteMax, len(reqs))]); err != nil {
			return err
		}
	}
	return nil
}

// register adds dims to day's registry item.
func (s *StatsStore) register(ctx context.Context, day time.Time, dims []string) error {
	_, err := s.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(s.Table),
		Key:              statsKey(statsRegistry, day.Format(dayFormat)),
		UpdateExpression: aws.String("ADD dims :d SET expires_at = :x"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":d": &types.AttributeValueMemberSS{Value: dims},
			":x": unixAttr(day.Add(registryRetention)),
		},
	})
	if err != nil {
		return fmt.Errorf("register dimensions of %s: %w", day.Format(dayFormat), err)
	}
	return nil
}

// Dimensions returns the dimensions the registry holds for the UTC days
// from from's to to's, sorted (one GetItem a day).
func (s *StatsStore) Dimensions(ctx context.Context, from, to time.Time) ([]snapkeep.Dimension, error) {
	var out []snapkeep.Dimension
	for day := from.UTC().Truncate(24 * time.Hour); !day.After(to); day = day.Add(24 * time.Hour) {
		got, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(s.Table), Key: statsKey(statsRegistry, day.Format(dayFormat)),
		})
		if err != nil {
			return nil, fmt.Errorf("registry of %s: %w", day.Format(dayFormat), err)
		}
		if ss, ok := got.Item["dims"].(*types.AttributeValueMemberSS); ok {
			for _, d := range ss.Value {
				if !slices.Contains(out, snapkeep.Dimension(d)) {
					out = append(out, snapkeep.Dimension(d))
				}
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// MinuteCounts sums dim's minute parts of the minutes in [from, to) (one
// paged Query of the dimension's key range).
func (s *StatsStore) MinuteCounts(ctx context.Context, dim snapkeep.Dimension, from, to time.Time) (*errorrate.Aggregate, error) {
	agg := errorrate.NewAggregate()
	err := s.parts(ctx, statsCallsPrefix+string(dim), from, to, func(m time.Time, item map[string]types.AttributeValue) error {
		var c errorrate.Counts
		if err := decodeItem(item, &c); err != nil {
			return err
		}
		return agg.AddCounts(errorrate.Key{Dimension: dim, Minute: m}, c)
	})
	if err != nil {
		return nil, fmt.Errorf("minute counts of %s: %w", dim, err)
	}
	return agg, nil
}

// RunMinutes returns the terminal runs of the minutes in [from, to),
// summed over parts, per minute.
func (s *StatsStore) RunMinutes(ctx context.Context, from, to time.Time) (*errorrate.RunAggregate, error) {
	agg := errorrate.NewRunAggregate()
	err := s.parts(ctx, statsRuns, from, to, func(m time.Time, item map[string]types.AttributeValue) error {
		var c errorrate.RunCounts
		if err := decodeItem(item, &c); err != nil {
			return err
		}
		return agg.AddCounts(m, c)
	})
	if err != nil {
		return nil, fmt.Errorf("run counts: %w", err)
	}
	return agg, nil
}

// RunCounts sums the terminal runs of the minutes in [from, to).
func (s *StatsStore) RunCounts(ctx context.Context, from, to time.Time) (errorrate.RunCounts, error) {
	agg, err := s.RunMinutes(ctx, from, to)
	if err != nil {
		return errorrate.RunCounts{}, err
	}
	return agg.Total(), nil
}

// parts queries the minute parts of partition pk whose minute is in
// [from, to) and hands each to add; an item that does not decode is
// skipped and logged.
func (s *StatsStore) parts(ctx context.Context, pk string, from, to time.Time, add func(time.Time, map[string]types.AttributeValue) error) error {
	first, last := errorrate.Minute(from), errorrate.Minute(to.Add(-time.Nanosecond))
	if !first.Before(to) {
		return nil
	}
	return s.query(ctx, &dynamodb.QueryInput{
		TableName:              aws.String(s.Table),
		KeyConditionExpression: aws.String("#d = :d AND #w BETWEEN :a AND :b"),
		ExpressionAttributeNames: map[string]string{
			"#d": "dimension", "#w": "window",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":d": &types.AttributeValueMemberS{Value: pk},
			":a": &types.AttributeValueMemberS{Value: first.Format(errorrate.MinuteFormat)},
			":b": &types.AttributeValueMemberS{Value: last.Format(errorrate.MinuteFormat) + partKeyEnd},
		},
	}, func(item map[string]types.AttributeValue) error {
		w, _ := item["window"].(*types.AttributeValueMemberS)
		if w == nil || len(w.Value) < len(errorrate.MinuteFormat) {
			return errors.New("no minute in its window key")
		}
		m, err := time.Parse(errorrate.MinuteFormat, w.Value[:len(errorrate.MinuteFormat)])
		if err != nil {
			return fmt.Errorf("window key: %w", err)
		}
		return add(m, item)
	})
}

// query pages through in, handing each item to each; an item each refuses
// is skipped with a warning naming its key.
func (s *StatsStore) query(ctx context.Context, in *dynamodb.QueryInput, each func(map[string]types.AttributeValue) error) error {
	for {
		out, err := s.Client.Query(ctx, in)
		if err != nil {
			return err
		}
		for _, item := range out.Items {
			if err := each(item); err != nil {
				s.log().WarnContext(ctx, "skipped a stats item that is not readable",
					"key", BadItem{Key: keyText(item, Stats)}.KeyText(), "error", err.Error())
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		next := *in
		next.ExclusiveStartKey = out.LastEvaluatedKey
		in = &next
	}
}

// DailyCounts returns dim's daily roll-ups of the days in [from, to).
func (s *StatsStore) DailyCounts(ctx context.Context, dim snapkeep.Dimension, from, to time.Time) ([]errorrate.DayCounts, error) {
	first, last := from.UTC().Truncate(24*time.Hour), to.UTC().Add(-time.Nanosecond).Truncate(24*time.Hour)
	var out []errorrate.DayCounts
	if !first.Before(to) {
		return nil, nil
	}
	err := s.query(ctx, &dynamodb.QueryInput{
		TableName:                aws.String(s.Table),
		KeyConditionExpression:   aws.String("#d = :d AND #w BETWEEN :a AND :b"),
		ExpressionAttributeNames: map[string]string{"#d": "dimension", "#w": "window"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":d": &types.AttributeValueMemberS{Value: statsDailyPrefix + string(dim)},
			":a": &types.AttributeValueMemberS{Value: first.Format(dayFormat)},
			":b": &types.AttributeValueMemberS{Value: last.Format(dayFormat)},
		},
	}, func(item map[string]types.AttributeValue) error {
		w, _ := item["window"].(*types.AttributeValueMemberS)
		if w == nil {
			return errors.New("no window")
		}
		day, err := time.Parse(dayFormat, w.Value)
		if err != nil {
			return fmt.Errorf("window key: %w", err)
		}
		var c errorrate.Counts
		if err := decodeItem(item, &c); err != nil {
			return err
		}
		if err := c.Validate(); err != nil {
			return err
		}
		out = append(out, errorrate.DayCounts{Day: day, Counts: c})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("daily counts of %s: %w", dim, err)
	}
	return out, nil
}

// PutDaily writes a day's roll-up of dim (its id sets left out), replacing
// any roll-up of that day.
func (s *StatsStore) PutDaily(ctx context.Context, dim snapkeep.Dimension, d errorrate.DayCounts) error {
	c := d.Counts
	c.FailedAccounts, c.FailedResources = nil, nil
	if err := c.Validate(); err != nil {
		return fmt.Errorf("put daily counts of %s: %w: %w", dim, err, snapkeep.ErrInvalid)
	}
	item, err := attributevalue.MarshalMap(c)
	if err != nil {
		return fmt.Errorf("put daily counts of %s: %w", dim, err)
	}
	day := d.Day.UTC().Truncate(24 * time.Hour)
	maps.Copy(item, statsKey(statsDailyPrefix+string(dim), day.Format(dayFormat)))
	item["expires_at"] = unixAttr(day.Add(DailyRetention))
	if _, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item}); err != nil {
		return fmt.Errorf("put daily counts of %s on %s: %w", dim, day.Format(dayFormat), err)
	}
	return nil
}

// LoadWatch returns dim's Watch (a consistent read), or an error wrapping
// snapkeep.ErrNotFound.
func (s *StatsStore) LoadWatch(ctx context.Context, dim snapkeep.Dimension) (*errorrate.Watch, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: statsKey(statsWatchPrefix+string(dim), statsWatchWindow),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("load watch of %s: %w", dim, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("load watch of %s: %w", dim, snapkeep.ErrNotFound)
	}
	var stored struct {
		Watch string `dynamodbav:"watch"`
		Rev   int64  `dynamodbav:"rev"`
	}
	if err := decodeItem(out.Item, &stored); err != nil {
		return nil, fmt.Errorf("load watch of %s: %w", dim, err)
	}
	var w errorrate.Watch
	if err := json.Unmarshal([]byte(stored.Watch), &w); err != nil {
		return nil, fmt.Errorf("load watch of %s: decode: %w", dim, err)
	}
	w.Rev = stored.Rev
	return &w, nil
}

// SaveWatch stores w (its JSON, its last minute and rev + 1) if the stored
// rev is still w.Rev (or nothing is stored and w.Rev is 0), and then
// increments w.Rev; otherwise it writes nothing and returns an error
// wrapping snapkeep.ErrConflict. Since the rev moves with every save, a
// slower evaluator can never write back an older state over a newer one.
func (s *StatsStore) SaveWatch(ctx context.Context, w *errorrate.Watch) error {
	raw, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("save watch of %s: %w", w.Dimension, err)
	}
	item := statsKey(statsWatchPrefix+string(w.Dimension), statsWatchWindow)
	item["watch"] = &types.AttributeValueMemberS{Value: string(raw)}
	item["rev"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(w.Rev+1, 10)}
	item["minute"] = &types.AttributeValueMemberS{Value: w.State.Minute.UTC().Format(errorrate.MinuteFormat)}
	item["updated_at"] = &types.AttributeValueMemberS{Value: clock(s.Now).Format(time.RFC3339Nano)}
	if _, err := checkItem(func() string { return "watch of " + string(w.Dimension) }, Stats, item); err != nil {
		return err
	}
	in := &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item,
		ConditionExpression:      aws.String("attribute_not_exists(#d)"),
		ExpressionAttributeNames: map[string]string{"#d": "dimension"}}
	if w.Rev > 0 {
		in.ConditionExpression = aws.String("rev = :r")
		in.ExpressionAttributeNames = nil
		in.ExpressionAttributeValues = map[string]types.AttributeValue{
			":r": &types.AttributeValueMemberN{Value: strconv.FormatInt(w.Rev, 10)},
		}
	}
	_, err = s.Client.PutItem(ctx, in)
	if isConditionFailed(err) {
		return fmt.Errorf("save watch of %s: saved by another evaluation since rev %d: %w", w.Dimension, w.Rev, snapkeep.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("save watch of %s: %w", w.Dimension, err)
	}
	w.Rev++
	return nil
}

func (s *StatsStore) retention() time.Duration {
	if s.Retention <= 0 {
		return DefaultStatsRetention
	}
	return s.Retention
}

func (s *StatsStore) log() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

func statsKey(dim, window string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"dimension": &types.AttributeValueMemberS{Value: dim},
		"window":    &types.AttributeValueMemberS{Value: window},
	}
}

func unixAttr(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.Unix(), 10)}
}
