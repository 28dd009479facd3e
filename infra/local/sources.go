package local

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/infra/cfn"
)

// Resource and event types Sources reads.
const (
	functionType = "AWS::Serverless::Function"
	tableType    = "AWS::DynamoDB::Table"
	queueType    = "AWS::SQS::Queue"
	dynamoEvent  = "DynamoDB"
)

// Starting positions of a DynamoDB event source mapping.
const (
	// TrimHorizon starts at the oldest record in the stream.
	TrimHorizon = "TRIM_HORIZON"
	// Latest starts with the records written after the mapping is created.
	Latest = "LATEST"
)

// ReportBatchItemFailures is the FunctionResponseTypes value that lets a
// function report a partial batch failure (batchItemFailures).
const ReportBatchItemFailures = "ReportBatchItemFailures"

// Source is one DynamoDB event source mapping of template.yaml: an event of
// Type DynamoDB under a function's Events, with SAM's defaults applied.
// The int fields keep the template's names and units (seconds; -1 means
// unlimited where the template allows it).
type Source struct {
	// Function is the logical id of the AWS::Serverless::Function.
	Function string
	// Event is the event's name under the function's Events.
	Event string
	// Table is the logical id of the table whose stream the mapping reads
	// (Stream: !GetAtt <Table>.StreamArn).
	Table string
	// StartingPosition is TrimHorizon or Latest.
	StartingPosition string
	// BatchSize is the most records per invocation (default 100).
	BatchSize int
	// MaximumBatchingWindowInSeconds is how long to gather records before
	// invoking with fewer than BatchSize (default 0: at once).
	MaximumBatchingWindowInSeconds int
	// TumblingWindowInSeconds is the tumbling window's length; 0 means no
	// windows.
	TumblingWindowInSeconds int
	// Filters are the FilterCriteria patterns (JSON text), ORed; none
	// means every record goes to the function.
	Filters []string
	// BisectBatchOnFunctionError splits a failed batch in two before
	// retrying.
	BisectBatchOnFunctionError bool
	// MaximumRetryAttempts is how often a failed batch is retried; -1
	// (the default) retries until the records expire.
	MaximumRetryAttempts int
	// MaximumRecordAgeInSeconds discards older records; -1 (the default)
	// never does.
	MaximumRecordAgeInSeconds int
	// FunctionResponseTypes lists the enabled response types; only
	// ReportBatchItemFailures exists.
	FunctionResponseTypes []string
	// OnFailure is the logical id of the SQS queue of the on-failure
	// destination; "" when there is none.
	OnFailure string
	// ParallelizationFactor is the concurrent batches per shard (default
	// 1). The Deliverer delivers one batch at a time whatever it says.
	ParallelizationFactor int
	// Enabled is false for a mapping the template disables.
	Enabled bool
}

// ReportsBatchItemFailures says whether the function may answer with a
// partial batch failure.
func (s Source) ReportsBatchItemFailures() bool {
	for _, t := range s.FunctionResponseTypes {
		if t == ReportBatchItemFailures {
			return true
		}
	}
	return false
}

// BatchingWindow is MaximumBatchingWindowInSeconds as a duration.
func (s Source) BatchingWindow() time.Duration {
	return time.Duration(s.MaximumBatchingWindowInSeconds) * time.Second
}

// TumblingWindow is TumblingWindowInSeconds as a duration; 0 for none.
func (s Source) TumblingWindow() time.Duration {
	return time.Duration(s.TumblingWindowInSeconds) * time.Second
}

// MaxRecordAge is MaximumRecordAgeInSeconds as a duration; 0 when records
// never expire.
func (s Source) MaxRecordAge() time.Duration {
	if s.MaximumRecordAgeInSeconds < 0 {
		return 0
	}
	return time.Duration(s.MaximumRecordAgeInSeconds) * time.Second
}

// String names the mapping as "Function/Event".
func (s Source) String() string { return s.Function + "/" + s.Event }

// FindSource returns the source of function's event, or an error naming
// the sources there are.
func FindSource(sources []Source, function, event string) (Source, error) {
	var names []string
	for _, s := range sources {
		if s.Function == function && s.Event == event {
			return s, nil
		}
		names = append(names, s.String())
	}
	return Source{}, fmt.Errorf("no DynamoDB event source %s/%s in the template (it has: %s)", function, event, strings.Join(names, ", "))
}

// Sources reads every DynamoDB event source of every AWS::Serverless::Function
// of the SAM template at templatePath, sorted by function then event.
func Sources(templatePath string) ([]Source, error) {
	return cfn.ReadFile(templatePath, ParseSources)
}

// ParseSources is Sources on the YAML or JSON text of a template. Short
// intrinsic tags (!GetAtt, !Ref, ...) are read as their long forms; only
// Fn::GetAtt is interpreted, in Stream and the on-failure Destination.
// Unknown event properties are errors, as cfn-lint would report them.
//
// It reads the template with infra/cfn (yaml.v3) rather than goformation's
// intrinsics package, which is not safe to call from two goroutines at once.
func ParseSources(template []byte) ([]Source, error) {
	var doc struct {
		Resources map[string]resource
	}
	if err := cfn.Unmarshal(template, &doc); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(doc.Resources))
	for id := range doc.Resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []Source
	for _, id := range ids {
		if doc.Resources[id].Type != functionType {
			continue
		}
		srcs, err := functionSources(id, doc.Resources[id].Properties, doc.Resources)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", id, err)
		}
		out = append(out, srcs...)
	}
	return out, nil
}

type resource struct {
	Type       string
	Properties json.RawMessage
}

// getAtt reads a long-form Fn::GetAtt: [id, attr] or "id.attr".
func getAtt(raw json.RawMessage) (id, attr string, err error) {
	var v any
	if json.Unmarshal(raw, &v) == nil {
		if id, attr, ok := cfn.GetAtt(v); ok {
			return id, attr, nil
		}
	}
	return "", "", fmt.Errorf("want !GetAtt <LogicalId>.<Attribute>, got %s", raw)
}

func functionSources(fn string, props json.RawMessage, res map[string]resource) ([]Source, error) {
	var p struct {
		Events map[string]struct {
			Type       string
			Properties json.RawMessage
		}
	}
	if len(props) > 0 {
		if err := json.Unmarshal(props, &p); err != nil {
			return nil, fmt.Errorf("Properties: %w", err)
		}
	}
	names := make([]string, 0, len(p.Events))
	for name := range p.Events {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []Source
	for _, name := range names {
		ev := p.Events[name]
		if ev.Type != dynamoEvent {
			continue
		}
		src, err := eventSource(fn, name, ev.Properties, res)
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", name, err)
		}
		out = append(out, src)
	}
	return out, nil
}

// eventProps is a SAM DynamoDB event's Properties. Fields the Deliverer
// does not use (KmsKeyArn, MetricsConfig, StartingPositionTimestamp) are
// accepted so a valid template parses.
type eventProps struct {
	Stream                         json.RawMessage
	StartingPosition               string
	StartingPositionTimestamp      json.RawMessage
	BatchSize                      *int
	MaximumBatchingWindowInSeconds *int
	TumblingWindowInSeconds        *int
	FilterCriteria                 *struct{ Filters []struct{ Pattern string } }
	BisectBatchOnFunctionError     *bool
	MaximumRetryAttempts           *int
	MaximumRecordAgeInSeconds      *int
	FunctionResponseTypes          []string
	DestinationConfig              *struct {
		OnFailure *struct {
			Type        string
			Destination json.RawMessage
		}
	}
	Enabled               *bool
	ParallelizationFactor *int
	KmsKeyArn             json.RawMessage
	MetricsConfig         json.RawMessage
}

func eventSource(fn, name string, raw json.RawMessage, res map[string]resource) (Source, error) {
	var p eventProps
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Source{}, fmt.Errorf("Properties: %w", err)
	}
	src := Source{
		Function:                       fn,
		Event:                          name,
		StartingPosition:               p.StartingPosition,
		BatchSize:                      intOr(p.BatchSize, 100),
		MaximumBatchingWindowInSeconds: intOr(p.MaximumBatchingWindowInSeconds, 0),
		TumblingWindowInSeconds:        intOr(p.TumblingWindowInSeconds, 0),
		BisectBatchOnFunctionError:     p.BisectBatchOnFunctionError != nil && *p.BisectBatchOnFunctionError,
		MaximumRetryAttempts:           intOr(p.MaximumRetryAttempts, -1),
		MaximumRecordAgeInSeconds:      intOr(p.MaximumRecordAgeInSeconds, -1),
		FunctionResponseTypes:          p.FunctionResponseTypes,
		ParallelizationFactor:          intOr(p.ParallelizationFactor, 1),
		Enabled:                        p.Enabled == nil || *p.Enabled,
	}
	if p.FilterCriteria != nil {
		for _, f := range p.FilterCriteria.Filters {
			src.Filters = append(src.Filters, f.Pattern)
		}
	}
	var err error
	if src.Table, err = referenced(p.Stream, "StreamArn", tableType, res); err != nil {
		return Source{}, fmt.Errorf("Stream: %w", err)
	}
	if src.OnFailure, err = onFailure(p, res); err != nil {
		return Source{}, err
	}
	if err := src.Validate(); err != nil {
		return Source{}, err
	}
	return src, nil
}

func intOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

// referenced checks that raw is !GetAtt <id>.<attr> of a resource of type
// typ and returns id.
func referenced(raw json.RawMessage, attr, typ string, res map[string]resource) (string, error) {
	if len(raw) == 0 {
		return "", errors.New("missing")
	}
	id, got, err := getAtt(raw)
	if err != nil {
		return "", err
	}
	if got != attr {
		return "", fmt.Errorf("!GetAtt %s.%s: want the %s attribute", id, got, attr)
	}
	r, ok := res[id]
	if !ok {
		return "", fmt.Errorf("!GetAtt %s.%s: no resource %s in the template", id, got, id)
	}
	if r.Type != typ {
		return "", fmt.Errorf("!GetAtt %s.%s: %s is a %s, want a %s", id, got, id, r.Type, typ)
	}
	return id, nil
}

func onFailure(p eventProps, res map[string]resource) (string, error) {
	if p.DestinationConfig == nil || p.DestinationConfig.OnFailure == nil {
		return "", nil
	}
	of := p.DestinationConfig.OnFailure
	if of.Type != "" && of.Type != "SQS" {
		return "", fmt.Errorf("DestinationConfig.OnFailure: Type %q: the local runner delivers to SQS queues only", of.Type)
	}
	id, err := referenced(of.Destination, "Arn", queueType, res)
	if err != nil {
		return "", fmt.Errorf("DestinationConfig.OnFailure.Destination: %w", err)
	}
	return id, nil
}

// Validate checks the mapping against Lambda's limits for DynamoDB
// streams and compiles its filters, saying what is wrong.
func (s Source) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(s.StartingPosition == TrimHorizon || s.StartingPosition == Latest,
		"StartingPosition %q: want %s or %s", s.StartingPosition, TrimHorizon, Latest)
	check(s.BatchSize >= 1 && s.BatchSize <= 10000, "BatchSize %d: want 1 to 10000", s.BatchSize)
	check(s.MaximumBatchingWindowInSeconds >= 0 && s.MaximumBatchingWindowInSeconds <= 300,
		"MaximumBatchingWindowInSeconds %d: want 0 to 300", s.MaximumBatchingWindowInSeconds)
	check(s.TumblingWindowInSeconds >= 0 && s.TumblingWindowInSeconds <= 900,
		"TumblingWindowInSeconds %d: want 0 to 900", s.TumblingWindowInSeconds)
	check(s.MaximumRetryAttempts >= -1 && s.MaximumRetryAttempts <= 10000,
		"MaximumRetryAttempts %d: want -1 (unlimited) to 10000", s.MaximumRetryAttempts)
	age := s.MaximumRecordAgeInSeconds
	check(age == -1 || (age >= 60 && age <= 604800), "MaximumRecordAgeInSeconds %d: want -1 (unlimited) or 60 to 604800", age)
	check(s.ParallelizationFactor >= 1 && s.ParallelizationFactor <= 10, "ParallelizationFactor %d: want 1 to 10", s.ParallelizationFactor)
	for _, t := range s.FunctionResponseTypes {
		check(t == ReportBatchItemFailures, "FunctionResponseTypes: %q: the only response type is %s", t, ReportBatchItemFailures)
	}
	if _, err := CompileFilter(s.Filters); err != nil {
		errs = append(errs, fmt.Errorf("FilterCriteria: %w", err))
	}
	return errors.Join(errs...)
}
