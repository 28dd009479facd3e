// Package triggers is the local runner's view of what invokes the
// functions besides the table streams (infra/local delivers those): the
// schedules of an EventBridge Scheduler group, read back through the
// Scheduler API (one per policy, written by the schedules function); the
// template's own ScheduleV2 events (the sweep, the evaluation, the notify
// tick, the reconcile); its SQS event sources with their queues'
// visibility timeouts and redrive policies; and each function's asynchronous invocation config (Lambda's
// retries of a Scheduler delivery). Plan turns schedules into the
// deliveries Scheduler makes in a span of time, with AWS's semantics:
// cron and rate expressions in the schedule's time zone, StartDate, the
// flexible time window, the <aws.scheduler.*> context attributes. It never
// runs in a Lambda.
package triggers

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/snapkeep/snapkeep/infra/cfn"
)

// Resource types and event types the template reader knows.
const (
	functionType = "AWS::Serverless::Function"
	queueType    = "AWS::SQS::Queue"
	scheduleV2   = "ScheduleV2"
	sqsEvent     = "SQS"
)

// Template is what the runner needs of template.yaml beyond the tables and
// the stream mappings.
type Template struct {
	// Schedules are every function's ScheduleV2 events, sorted by function
	// then event.
	Schedules []TemplateSchedule
	// Queues are every function's SQS event sources.
	Queues []QueueSource
	// Async is each function's asynchronous invocation config, by logical
	// id (SAM's EventInvokeConfig; Lambda's defaults where absent).
	Async map[string]AsyncConfig
	// Functions are the functions' timeouts and environments, by logical
	// id.
	Functions map[string]FunctionConfig
}

// TemplateSchedule is one ScheduleV2 event of a function.
type TemplateSchedule struct {
	// Function and Event are the function's logical id and the event's name.
	Function, Event string
	// Name is the schedule's name with ${Stage} substituted.
	Name string
	// Expression is the ScheduleExpression, e.g. rate(5 minutes).
	Expression string
	// TimeZone is ScheduleExpressionTimezone ("" for UTC).
	TimeZone string
	// Input is the target's input.
	Input string
	// Enabled is false when State is DISABLED.
	Enabled bool
}

// QueueSource is one SQS event source of a function, with what its queue
// decides about a failed message: when it is visible again
// (VisibilityTimeout, counted from the receive) and after how many
// receives it goes to the dead-letter queue (RedrivePolicy).
type QueueSource struct {
	// Function and Event are the function's logical id and the event's name.
	Function, Event string
	// Queue is the queue's logical id.
	Queue string
	// BatchSize is the most messages per invocation (SAM's default 10).
	BatchSize int
	// MaximumBatchingWindowInSeconds is how long the mapping gathers.
	MaximumBatchingWindowInSeconds int
	// ReportBatchItemFailures says whether partial batch responses apply.
	ReportBatchItemFailures bool
	// MaximumConcurrency is ScalingConfig's (0: not set).
	MaximumConcurrency int
	// VisibilityTimeout is the queue's VisibilityTimeout (0 to 12 hours;
	// SQS's default 30 s when the template sets none): how long a
	// received message stays hidden, so how long after a failed delivery
	// it is delivered again.
	VisibilityTimeout time.Duration
	// DeadLetterQueue is the logical id of the queue's redrive target
	// ("" when it has none) and MaxReceiveCount its maxReceiveCount: a
	// message received that many times goes there instead of being
	// delivered again.
	DeadLetterQueue string
	MaxReceiveCount int
}

// SQS's default and largest visibility timeouts.
const (
	defaultVisibilityTimeout = 30 * time.Second
	maxVisibilityTimeout     = 12 * time.Hour
)

// AsyncConfig is how Lambda retries a function's asynchronous invocations
// (EventBridge Scheduler invokes asynchronously).
type AsyncConfig struct {
	// MaximumRetryAttempts is 0 to 2 (Lambda's default 2).
	MaximumRetryAttempts int
	// OnFailure is the logical id of the on-failure SQS queue ("" none).
	OnFailure string
}

// ReadTemplate reads the SAM template at path for the stage (${Stage} in
// schedule names).
func ReadTemplate(path, stage string) (*Template, error) {
	return cfn.ReadFile(path, func(data []byte) (*Template, error) { return ParseTemplate(data, stage) })
}

// resource is a template resource, its Properties still JSON.
type resource struct {
	Type       string
	Properties json.RawMessage
}

// ParseTemplate is ReadTemplate on the template's YAML or JSON text. Short
// intrinsic tags are read as their long forms; only Fn::GetAtt (queue
// references) and Fn::Sub of ${Stage} (schedule names) are interpreted.
func ParseTemplate(data []byte, stage string) (*Template, error) {
	var doc struct {
		Parameters templateParams
		Globals    struct{ Function globalsFunction }
		Resources  map[string]resource
	}
	if err := cfn.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(doc.Resources))
	for id, r := range doc.Resources {
		if r.Type == functionType {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	t := &Template{Async: map[string]AsyncConfig{}, Functions: map[string]FunctionConfig{}}
	for _, id := range ids {
		p, err := t.addFunction(id, doc.Resources[id].Properties, doc.Resources, stage)
		if err == nil {
			t.Functions[id], err = functionConfig(p, doc.Globals.Function, doc.Parameters, stage)
		}
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", id, err)
		}
	}
	return t, nil
}

// functionProps is the part of a function's Properties the reader uses.
type functionProps struct {
	Timeout     *int
	Environment struct {
		Variables map[string]json.RawMessage
	}
	Events map[string]struct {
		Type       string
		Properties json.RawMessage
	}
	EventInvokeConfig *struct {
		MaximumRetryAttempts *int
		DestinationConfig    *struct {
			OnFailure *struct {
				Type        string
				Destination json.RawMessage
			}
		}
	}
}

// addFunction adds a function's schedules, queues and asynchronous
// invocation config, and returns its Properties for functionConfig.
func (t *Template) addFunction(id string, raw json.RawMessage, res map[string]resource, stage string) (functionProps, error) {
	var p functionProps
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &p); err != nil {
			return p, fmt.Errorf("Properties: %w", err)
		}
	}
	async := AsyncConfig{MaximumRetryAttempts: 2}
	if c := p.EventInvokeConfig; c != nil {
		if c.MaximumRetryAttempts != nil {
			async.MaximumRetryAttempts = *c.MaximumRetryAttempts
		}
		if async.MaximumRetryAttempts < 0 || async.MaximumRetryAttempts > 2 {
			return p, fmt.Errorf("EventInvokeConfig.MaximumRetryAttempts %d: want 0 to 2", async.MaximumRetryAttempts)
		}
		if c.DestinationConfig != nil && c.DestinationConfig.OnFailure != nil {
			q, err := queueRef(c.DestinationConfig.OnFailure.Destination, res)
			if err != nil {
				return p, fmt.Errorf("EventInvokeConfig.DestinationConfig.OnFailure: %w", err)
			}
			async.OnFailure = q
		}
	}
	t.Async[id] = async
	names := make([]string, 0, len(p.Events))
	for name := range p.Events {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ev := p.Events[name]
		var err error
		switch ev.Type {
		case scheduleV2:
			err = t.addSchedule(id, name, ev.Properties, stage)
		case sqsEvent:
			err = t.addQueue(id, name, ev.Properties, res)
		}
		if err != nil {
			return p, fmt.Errorf("event %s: %w", name, err)
		}
	}
	return p, nil
}

func (t *Template) addSchedule(fn, event string, raw json.RawMessage, stage string) error {
	var p struct {
		Name                       json.RawMessage
		ScheduleExpression         string
		ScheduleExpressionTimezone string
		Input                      string
		State                      string
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("Properties: %w", err)
	}
	if p.ScheduleExpression == "" {
		return errors.New("no ScheduleExpression")
	}
	name, err := subStage(p.Name, stage)
	if err != nil {
		return fmt.Errorf("Name: %w", err)
	}
	if name == "" {
		name = fn + event // SAM's default name
	}
	t.Schedules = append(t.Schedules, TemplateSchedule{Function: fn, Event: event, Name: name,
		Expression: p.ScheduleExpression, TimeZone: p.ScheduleExpressionTimezone, Input: p.Input,
		Enabled: p.State != "DISABLED"})
	return nil
}

func (t *Template) addQueue(fn, event string, raw json.RawMessage, res map[string]resource) error {
	var p struct {
		Queue                          json.RawMessage
		BatchSize                      *int
		MaximumBatchingWindowInSeconds int
		FunctionResponseTypes          []string
		ScalingConfig                  *struct{ MaximumConcurrency int }
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("Properties: %w", err)
	}
	q, err := queueRef(p.Queue, res)
	if err != nil {
		return fmt.Errorf("Queue: %w", err)
	}
	src := QueueSource{Function: fn, Event: event, Queue: q, BatchSize: 10,
		MaximumBatchingWindowInSeconds: p.MaximumBatchingWindowInSeconds}
	if p.BatchSize != nil {
		src.BatchSize = *p.BatchSize
	}
	if src.BatchSize < 1 || src.BatchSize > 10000 {
		return fmt.Errorf("BatchSize %d: want 1 to 10000", src.BatchSize)
	}
	for _, rt := range p.FunctionResponseTypes {
		src.ReportBatchItemFailures = src.ReportBatchItemFailures || rt == "ReportBatchItemFailures"
	}
	if p.ScalingConfig != nil {
		src.MaximumConcurrency = p.ScalingConfig.MaximumConcurrency
	}
	var qp struct {
		VisibilityTimeout *int
		RedrivePolicy     *struct {
			DeadLetterTargetArn json.RawMessage `json:"deadLetterTargetArn"`
			MaxReceiveCount     int             `json:"maxReceiveCount"`
		}
	}
	if raw := res[q].Properties; len(raw) > 0 { // a queue of SQS's defaults has none
		if err := json.Unmarshal(raw, &qp); err != nil {
			return fmt.Errorf("queue %s: Properties: %w", q, err)
		}
	}
	src.VisibilityTimeout = defaultVisibilityTimeout
	if vt := qp.VisibilityTimeout; vt != nil {
		if src.VisibilityTimeout = time.Duration(*vt) * time.Second; *vt < 0 || src.VisibilityTimeout > maxVisibilityTimeout {
			return fmt.Errorf("queue %s: VisibilityTimeout %d: want 0 to 43200 seconds", q, *vt)
		}
	}
	if rp := qp.RedrivePolicy; rp != nil {
		if src.DeadLetterQueue, err = queueRef(rp.DeadLetterTargetArn, res); err != nil {
			return fmt.Errorf("queue %s: RedrivePolicy.deadLetterTargetArn: %w", q, err)
		}
		if src.MaxReceiveCount = rp.MaxReceiveCount; src.MaxReceiveCount < 1 {
			return fmt.Errorf("queue %s: RedrivePolicy.maxReceiveCount %d: want at least 1", q, rp.MaxReceiveCount)
		}
	}
	t.Queues = append(t.Queues, src)
	return nil
}

// FindSchedule returns the function's ScheduleV2 event of that name.
func (t *Template) FindSchedule(function, event string) (TemplateSchedule, error) {
	var names []string
	for _, s := range t.Schedules {
		if s.Function == function && s.Event == event {
			return s, nil
		}
		names = append(names, s.Function+"/"+s.Event)
	}
	return TemplateSchedule{}, fmt.Errorf("no ScheduleV2 event %s/%s in the template (it has: %s)", function, event, strings.Join(names, ", "))
}

// FindQueue returns the function's SQS event of that name.
func (t *Template) FindQueue(function, event string) (QueueSource, error) {
	for _, q := range t.Queues {
		if q.Function == function && q.Event == event {
			return q, nil
		}
	}
	return QueueSource{}, fmt.Errorf("no SQS event %s/%s in the template", function, event)
}

// queueRef checks that raw is !GetAtt <queue>.Arn of an SQS queue of the
// template and returns the queue's logical id.
func queueRef(raw json.RawMessage, res map[string]resource) (string, error) {
	var v any
	_ = json.Unmarshal(raw, &v) // not JSON: not a GetAtt either
	id, attr, ok := cfn.GetAtt(v)
	if !ok || attr != "Arn" {
		return "", fmt.Errorf("want !GetAtt <Queue>.Arn, got %s", raw)
	}
	if r, ok := res[id]; !ok || r.Type != queueType {
		return "", fmt.Errorf("!GetAtt %s.Arn: %s is not an SQS queue of the template", id, id)
	}
	return id, nil
}

// subStage reads a name: a plain string, or Fn::Sub of a string whose only
// variable is ${Stage}.
func subStage(raw json.RawMessage, stage string) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var plain string
	if err := json.Unmarshal(raw, &plain); err == nil {
		return plain, nil
	}
	var sub struct {
		Sub string `json:"Fn::Sub"`
	}
	if err := json.Unmarshal(raw, &sub); err != nil || sub.Sub == "" {
		return "", fmt.Errorf("want a string or !Sub, got %s", raw)
	}
	out := strings.ReplaceAll(sub.Sub, "${Stage}", stage)
	if strings.Contains(out, "${") {
		return "", fmt.Errorf("!Sub %q: only ${Stage} is known to the local runner", sub.Sub)
	}
	return out, nil
}
