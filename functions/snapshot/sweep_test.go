package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/snapkeep/snapkeep/shared/docloud/dotest"
	"github.com/snapkeep/snapkeep/shared/dynamo"
	"github.com/snapkeep/snapkeep/shared/secrets"
	"github.com/snapkeep/snapkeep/shared/snapkeep"
	"github.com/snapkeep/snapkeep/shared/snapshot"
)

// An item in the unfinished index that does not read as a run (attempts
// written as text, by hand) no longer stops every sweep: the sweep
// quarantines it (it leaves the index, its key and why kept on the item),
// says so in its outcome, and checks the other runs. Against moto.
func TestSweepQuarantinesAPoisonItem(t *testing.T) {
	s := newStack(t, stackOpt{})
	ctx := context.Background()
	s.invoke(slotInput("p1", slot0))
	runs := s.env.TableName(dynamo.Runs)
	_, err := s.env.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(runs), Item: map[string]types.AttributeValue{
		"policy_id":     &types.AttributeValueMemberS{Value: "px"},
		"scheduled_at":  &types.AttributeValueMemberS{Value: "2026-11-24T02:00:00Z"},
		"unfinished":    &types.AttributeValueMemberS{Value: snapkeep.UnfinishedShard},
		"next_check_at": &types.AttributeValueMemberS{Value: "2026-11-24T02:01:00Z"},
		"attempts":      &types.AttributeValueMemberS{Value: "two"},
		"updated_at":    &types.AttributeValueMemberS{Value: "2026-11-24T02:00:00Z"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Minute)
	out := s.invoke(`{"sweep": true}`)
	if out.Quarantined != 1 || out.Handled != 1 {
		t.Errorf("sweep outcome %+v, want 1 quarantined and p1 handled", out)
	}
	got, err := s.env.DynamoDB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(runs), Key: map[string]types.AttributeValue{
		"policy_id": &types.AttributeValueMemberS{Value: "px"}, "scheduled_at": &types.AttributeValueMemberS{Value: "2026-11-24T02:00:00Z"},
	}})
	if err != nil || got.Item == nil {
		t.Fatalf("poison item: %v %v", got, err)
	}
	if _, still := got.Item["unfinished"]; still || got.Item["quarantine_reason"] == nil {
		t.Errorf("poison item keeps unfinished or lacks quarantine_reason: %v", got.Item)
	}
	s.clock.Advance(time.Minute)
	if out := s.invoke(`{"sweep": true}`); out.Quarantined != 0 {
		t.Errorf("second sweep quarantined %d again", out.Quarantined)
	}
	r := s.settle("p1", slot0, 20)
	if r.Status != snapkeep.RunSucceeded {
		t.Errorf("p1 %s %s", r.Status, r.ErrorClass)
	}
	if !strings.Contains(s.logs.String(), "px") {
		t.Error("the quarantined item's key is not in the log")
	}
}

// One account's secret scheduled for deletion (Secrets Manager refuses to
// read it, which is not "not found") must not starve the other customers:
// with a sweep limit of 2 and the failing account's two runs due first, the
// healthy account's run is still checked and succeeds, the failing runs
// back off with their reason recorded, and the sweep counts them. Against
// moto's Secrets Manager and DynamoDB.
func TestSweepFairWhenASecretIsScheduledForDeletion(t *testing.T) {
	s := newStack(t, stackOpt{config: func(c *snapshot.Config) { c.SweepLimit = 2 }})
	ctx := context.Background()
	sm := secretsmanager.NewFromConfig(s.env.Config)
	store := &secrets.Store{Client: sm, Prefix: s.prefix}
	if err := store.PutToken(ctx, "acct2", s.token); err != nil {
		t.Fatal(err)
	}
	name, _ := store.SecretName("acct2")
	if _, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Token(ctx, "acct2"); err == nil || strings.Contains(err.Error(), "not found") {
		t.Fatalf("moto reads a secret scheduled for deletion as %v; the test needs a refusal", err)
	}
	pols := &dynamo.PolicyStore{Client: s.env.DynamoDB, Table: s.env.TableName(dynamo.Policies)}
	for i, id := range []string{"q1", "q2"} {
		d := dropletID + 1 + i
		if err := s.fake.AddDroplet(dotest.Droplet{ID: d, Disk: 25}); err != nil {
			t.Fatal(err)
		}
		p := snapkeep.Policy{PolicyID: id, CustomerID: "c2", AccountID: "acct2", Enabled: true, Schedule: "rate(1 hour)",
			Resource: snapkeep.Resource{Kind: snapkeep.ResourceDroplet, ID: fmt.Sprint(d), Region: "nyc3"}, Retention: snapkeep.Retention{KeepLast: 2}}
		if err := pols.Put(ctx, &p); err != nil {
			t.Fatal(err)
		}
		s.invoke(slotInput(id, slot0))
	}
	s.clock.Advance(10 * time.Second)
	s.invoke(slotInput("p1", slot0))
	unhandled := 0
	for i := 0; i < 8; i++ {
		s.clock.Advance(time.Minute)
		unhandled += s.invoke(`{"sweep": true}`).Unhandled["token_unreadable"]
	}
	if r := s.run("p1", slot0); r.Status != snapkeep.RunSucceeded {
		t.Errorf("the healthy account's run is %s: starved", r.Status)
	}
	for _, id := range []string{"q1", "q2"} {
		r := s.run(id, slot0)
		if r.Status.Terminal() || r.StepFailures < 2 || !strings.Contains(r.StepError, "marked deleted") || !r.NextCheckAt.After(s.clock.Now()) {
			t.Errorf("%s: %s failures %d error %q next %v; want backing off with the reason", id, r.Status, r.StepFailures, r.StepError, r.NextCheckAt)
		}
	}
	if unhandled == 0 {
		t.Error("no sweep counted the unreadable secrets")
	}
	s.checkNoToken()
}
