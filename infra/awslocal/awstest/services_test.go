package awstest_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedulertypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
)

func TestSESv2SendEmail(t *testing.T) {
	t.Parallel()
	env := awstest.New(t)
	ctx := context.Background()
	from := env.Prefix + "sender@example.com"
	to := env.Prefix + "customer@example.com"
	cc := env.Prefix + "cc@example.com"
	send := func(from string, content *sestypes.EmailContent) (*sesv2.SendEmailOutput, error) {
		return env.SESv2().SendEmail(ctx, &sesv2.SendEmailInput{
			FromEmailAddress: aws.String(from),
			Destination:      &sestypes.Destination{ToAddresses: []string{to}, CcAddresses: []string{cc}},
			Content:          content,
		})
	}
	simple := &sestypes.EmailContent{Simple: &sestypes.Message{
		Subject: &sestypes.Content{Data: aws.String("Backup failed")},
		Body:    &sestypes.Body{Text: &sestypes.Content{Data: aws.String("Your backup failed.")}},
	}}

	_, err := send(from, simple)
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "MessageRejected" {
		t.Fatalf("send from an unverified sender: err %v, want MessageRejected", err)
	}

	env.VerifySender(t, from)
	out, err := send(from, simple)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	raw := "From: " + from + "\r\nTo: " + to + "\r\nSubject: Raw report\r\n\r\nraw body\r\n"
	rawOut, err := env.SESv2().SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(from),
		Destination:      &sestypes.Destination{ToAddresses: []string{to}},
		Content:          &sestypes.EmailContent{Raw: &sestypes.RawMessage{Data: []byte(raw)}},
	})
	if err != nil {
		t.Fatalf("send raw: %v", err)
	}

	got := env.SentEmailsTo(t, to)
	if len(got) != 2 {
		t.Fatalf("sent to %s: %d emails, want 2: %+v", to, len(got), got)
	}
	m := got[0]
	if m.MessageID != aws.ToString(out.MessageId) || m.From != from || m.Subject != "Backup failed" ||
		m.Body != "Your backup failed." || !slices.Equal(m.To, []string{to}) || !slices.Equal(m.Cc, []string{cc}) {
		t.Errorf("simple email read back = %+v", m)
	}
	r := got[1]
	if r.MessageID != aws.ToString(rawOut.MessageId) || r.Raw != raw || r.Subject != "Raw report" || r.Body != "raw body\r\n" {
		t.Errorf("raw email read back = %+v", r)
	}
	if n := len(env.SentEmailsTo(t, cc)); n != 1 {
		t.Errorf("sent to cc %s: %d emails, want 1", cc, n)
	}
}

func TestScheduler(t *testing.T) {
	t.Parallel()
	env := awstest.New(t)
	ctx := context.Background()
	sc := env.Scheduler()
	group := env.Prefix + "group"
	env.CreateScheduleGroup(t, group)
	_, dlqARN := env.CreateQueue(t, env.Prefix+"schedule-dlq")

	const fn = "arn:aws:lambda:us-east-1:123456789012:function:snapkeep-snapshot"
	const role = "arn:aws:iam::123456789012:role/snapkeep-scheduler"
	in := &scheduler.CreateScheduleInput{
		Name:                       aws.String("policy-p1"),
		GroupName:                  aws.String(group),
		Description:                aws.String("snapkeep policy p1"),
		ScheduleExpression:         aws.String("cron(30 2 * * ? *)"),
		ScheduleExpressionTimezone: aws.String("Europe/Berlin"),
		State:                      schedulertypes.ScheduleStateDisabled,
		FlexibleTimeWindow:         &schedulertypes.FlexibleTimeWindow{Mode: schedulertypes.FlexibleTimeWindowModeOff},
		Target: &schedulertypes.Target{
			Arn:              aws.String(fn),
			RoleArn:          aws.String(role),
			Input:            aws.String(`{"policy_id":"p1"}`),
			DeadLetterConfig: &schedulertypes.DeadLetterConfig{Arn: aws.String(dlqARN)},
			RetryPolicy:      &schedulertypes.RetryPolicy{MaximumRetryAttempts: aws.Int32(3), MaximumEventAgeInSeconds: aws.Int32(3600)},
		},
	}
	created, err := sc.CreateSchedule(ctx, in)
	if err != nil {
		t.Fatalf("create schedule: %v", err)
	}
	if !strings.HasSuffix(aws.ToString(created.ScheduleArn), ":schedule/"+group+"/policy-p1") {
		t.Errorf("schedule ARN %s", aws.ToString(created.ScheduleArn))
	}
	if _, err := sc.CreateSchedule(ctx, in); !isCode(err, "ConflictException") {
		t.Errorf("create twice: err %v, want ConflictException", err)
	}

	got, err := sc.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("policy-p1"), GroupName: aws.String(group)})
	if err != nil {
		t.Fatalf("get schedule: %v", err)
	}
	tg := got.Target
	switch {
	case aws.ToString(got.ScheduleExpression) != "cron(30 2 * * ? *)":
		t.Errorf("ScheduleExpression %q", aws.ToString(got.ScheduleExpression))
	case aws.ToString(got.ScheduleExpressionTimezone) != "Europe/Berlin":
		t.Errorf("ScheduleExpressionTimezone %q", aws.ToString(got.ScheduleExpressionTimezone))
	case got.State != schedulertypes.ScheduleStateDisabled:
		t.Errorf("State %q", got.State)
	case got.FlexibleTimeWindow == nil || got.FlexibleTimeWindow.Mode != schedulertypes.FlexibleTimeWindowModeOff:
		t.Errorf("FlexibleTimeWindow %+v", got.FlexibleTimeWindow)
	case aws.ToString(got.Description) != "snapkeep policy p1" || aws.ToString(got.GroupName) != group:
		t.Errorf("Description %q GroupName %q", aws.ToString(got.Description), aws.ToString(got.GroupName))
	case tg == nil || aws.ToString(tg.Arn) != fn || aws.ToString(tg.RoleArn) != role || aws.ToString(tg.Input) != `{"policy_id":"p1"}`:
		t.Errorf("Target %+v", tg)
	case tg.DeadLetterConfig == nil || aws.ToString(tg.DeadLetterConfig.Arn) != dlqARN:
		t.Errorf("Target.DeadLetterConfig %+v", tg.DeadLetterConfig)
	case tg.RetryPolicy == nil || aws.ToInt32(tg.RetryPolicy.MaximumRetryAttempts) != 3 || aws.ToInt32(tg.RetryPolicy.MaximumEventAgeInSeconds) != 3600:
		t.Errorf("Target.RetryPolicy %+v", tg.RetryPolicy)
	case got.CreationDate == nil || got.LastModificationDate == nil:
		t.Errorf("CreationDate %v LastModificationDate %v", got.CreationDate, got.LastModificationDate)
	}

	upd := &scheduler.UpdateScheduleInput{
		Name: in.Name, GroupName: in.GroupName, ScheduleExpression: aws.String("rate(6 hours)"),
		ScheduleExpressionTimezone: in.ScheduleExpressionTimezone, State: schedulertypes.ScheduleStateEnabled,
		FlexibleTimeWindow: in.FlexibleTimeWindow, Target: in.Target,
	}
	if _, err := sc.UpdateSchedule(ctx, upd); err != nil {
		t.Fatalf("update schedule: %v", err)
	}
	got, err = sc.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: in.Name, GroupName: in.GroupName})
	if err != nil {
		t.Fatalf("get updated schedule: %v", err)
	}
	if aws.ToString(got.ScheduleExpression) != "rate(6 hours)" || got.State != schedulertypes.ScheduleStateEnabled {
		t.Errorf("after update: %q %q", aws.ToString(got.ScheduleExpression), got.State)
	}

	list, err := sc.ListSchedules(ctx, &scheduler.ListSchedulesInput{GroupName: aws.String(group)})
	if err != nil {
		t.Fatalf("list schedules: %v", err)
	}
	if len(list.Schedules) != 1 || aws.ToString(list.Schedules[0].Name) != "policy-p1" ||
		list.Schedules[0].Target == nil || aws.ToString(list.Schedules[0].Target.Arn) != fn {
		t.Errorf("list schedules of %s: %+v", group, list.Schedules)
	}

	if _, err := sc.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: in.Name, GroupName: in.GroupName}); err != nil {
		t.Fatalf("delete schedule: %v", err)
	}
	var nf *schedulertypes.ResourceNotFoundException
	if _, err := sc.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: in.Name, GroupName: in.GroupName}); !errors.As(err, &nf) {
		t.Errorf("get deleted schedule: err %v, want ResourceNotFoundException", err)
	}
	if _, err := sc.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: in.Name, GroupName: in.GroupName}); !errors.As(err, &nf) {
		t.Errorf("delete deleted schedule: err %v, want ResourceNotFoundException", err)
	}
}

func TestSecretsManager(t *testing.T) {
	t.Parallel()
	env := awstest.New(t)
	ctx := context.Background()
	name := "snapkeep/test/accounts/" + env.Prefix + "acct1"
	arn := env.PutSecret(t, name, "first")
	if !strings.Contains(arn, ":secret:") {
		t.Errorf("secret ARN %q", arn)
	}
	env.PutSecret(t, name, "second")
	out, err := env.SecretsManager().GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	if err != nil {
		t.Fatalf("get secret: %v", err)
	}
	if got := aws.ToString(out.SecretString); got != "second" {
		t.Errorf("secret value %q, want second", got)
	}
	var nf *smtypes.ResourceNotFoundException
	_, err = env.SecretsManager().GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name + "-missing")})
	if !errors.As(err, &nf) {
		t.Errorf("missing secret: err %v, want ResourceNotFoundException", err)
	}
}

func TestSQS(t *testing.T) {
	t.Parallel()
	env := awstest.New(t)
	ctx := context.Background()
	url, arn := env.CreateQueue(t, env.Prefix+"failures")
	if !strings.HasPrefix(arn, "arn:aws:sqs:") {
		t.Errorf("queue ARN %q", arn)
	}
	q := env.SQS()
	if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(`{"run":"r1"}`)}); err != nil {
		t.Fatalf("send: %v", err)
	}
	out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != `{"run":"r1"}` {
		t.Errorf("received %+v", out.Messages)
	}
}

func isCode(err error, code string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == code
}
