package awstest

import (
	"context"
	"errors"
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
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/snapkeep/snapkeep/infra/awslocal"
)

// SecretsManager returns a Secrets Manager client for the local stack.
func (e *Env) SecretsManager() *secretsmanager.Client { return secretsmanager.NewFromConfig(e.Config) }

// SESv2 returns an SES v2 client for the local stack.
func (e *Env) SESv2() *sesv2.Client { return sesv2.NewFromConfig(e.Config) }

// Scheduler returns an EventBridge Scheduler client for the local stack.
func (e *Env) Scheduler() *scheduler.Client { return scheduler.NewFromConfig(e.Config) }

// SQS returns an SQS client for the local stack.
func (e *Env) SQS() *sqs.Client { return sqs.NewFromConfig(e.Config) }

// PutSecret stores value as the secret called name (creating it, or adding
// a new current version when it exists) and returns the secret's ARN. The
// secret is deleted when the test ends. Secrets are shared by every test
// using the same moto: put e.Prefix into name to keep it to this test.
func (e *Env) PutSecret(t testing.TB, name, value string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	sm := e.SecretsManager()
	out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(value),
	})
	var exists *smtypes.ResourceExistsException
	switch {
	case err == nil:
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			defer cancel()
			_, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{
				SecretId: aws.String(name), ForceDeleteWithoutRecovery: aws.Bool(true),
			})
			var nf *smtypes.ResourceNotFoundException
			if err != nil && !errors.As(err, &nf) {
				t.Errorf("awstest: cleanup: delete secret %s: %v", name, err)
			}
		})
		return aws.ToString(out.ARN)
	case errors.As(err, &exists):
		put, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
			SecretId: aws.String(name), SecretString: aws.String(value),
		})
		if err != nil {
			t.Fatalf("awstest: put secret %s: %v", name, err)
		}
		return aws.ToString(put.ARN)
	default:
		t.Fatalf("awstest: create secret %s: %v", name, err)
		return ""
	}
}

// VerifySender makes address a verified SES identity, which moto (like SES
// in the sandbox) requires of a sender: SendEmail from an unverified address
// fails with MessageRejected.
func (e *Env) VerifySender(t testing.TB, address string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	_, err := e.SESv2().CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(address)})
	var exists *sestypes.AlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		t.Fatalf("awstest: verify sender %s: %v", address, err)
	}
}

// CreateScheduleGroup creates an EventBridge Scheduler schedule group, deleted
// (with its schedules) when the test ends, and returns its ARN. Groups are
// shared by every test using the same moto: put e.Prefix into name.
func (e *Env) CreateScheduleGroup(t testing.TB, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	sc := e.Scheduler()
	out, err := sc.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("awstest: create schedule group %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		// moto answers DeleteScheduleGroup of a missing group with HTTP 500,
		// so look first: the test may have deleted the group itself.
		var nf *schedulertypes.ResourceNotFoundException
		if _, err := sc.GetScheduleGroup(ctx, &scheduler.GetScheduleGroupInput{Name: aws.String(name)}); errors.As(err, &nf) {
			return
		}
		_, err := sc.DeleteScheduleGroup(ctx, &scheduler.DeleteScheduleGroupInput{Name: aws.String(name)})
		if err != nil && !errors.As(err, &nf) {
			t.Errorf("awstest: cleanup: delete schedule group %s: %v", name, err)
		}
	})
	return aws.ToString(out.ScheduleGroupArn)
}

// CreateQueue creates an SQS queue, deleted when the test ends, and returns
// its URL and ARN. Queues are shared by every test using the same moto: put
// e.Prefix into name.
func (e *Env) CreateQueue(t testing.TB, name string) (url, arn string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	q := e.SQS()
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("awstest: create queue %s: %v", name, err)
	}
	url = aws.ToString(out.QueueUrl)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if _, err := q.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
			t.Errorf("awstest: cleanup: delete queue %s: %v", name, err)
		}
	})
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("awstest: queue %s attributes: %v", name, err)
	}
	return url, attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
}

// SentEmail is an email moto accepted through SES; see awslocal.SentEmail.
type SentEmail = awslocal.SentEmail

// SentEmails returns every email moto's SES has accepted: Simple messages,
// then Raw ones, each in the order they were sent. moto keeps sent mail for
// the whole server (every test, account and region), so tests should send to
// addresses unique to them (put e.Prefix into the address) and filter, e.g.
// with SentEmailsTo. It reads moto's
// GET /moto-api/data.json (models "ses.Message" and "ses.RawMessage").
func (e *Env) SentEmails(t testing.TB) []SentEmail {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	msgs, err := awslocal.SentEmails(ctx, e.Endpoint)
	if err != nil {
		t.Fatalf("awstest: sent emails: %v%s", err, motoTraceback())
	}
	return msgs
}

// SentEmailsTo returns the sent emails that have address among their
// recipients, oldest first.
func (e *Env) SentEmailsTo(t testing.TB, address string) []SentEmail {
	t.Helper()
	var out []SentEmail
	for _, m := range e.SentEmails(t) {
		for _, r := range m.Recipients() {
			if strings.EqualFold(r, address) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}
