// Package schedulertest helps tests of policy schedules: against the local
// stack (moto, through infra/awslocal/awstest) it creates the stack's
// schedule group, named as template.yaml names it, for one test; without
// it, Fake is an in-memory Scheduler for unit tests and benchmarks.
package schedulertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"gopkg.in/yaml.v3"

	"github.com/snapkeep/snapkeep/infra/awslocal"
	"github.com/snapkeep/snapkeep/infra/awslocal/awstest"
)

// GroupLogicalID is the schedule group's logical id in template.yaml.
const GroupLogicalID = "ScheduleGroup"

// Placeholder ARNs for the schedules' target, role and dead-letter queue in
// the local stack. moto's Scheduler stores them without checking them.
const (
	TargetARN     = "arn:aws:lambda:us-east-1:123456789012:function:snapkeep-local-SnapshotFunction"
	RoleARN       = "arn:aws:iam::123456789012:role/snapkeep-local-SchedulerInvokeRole"
	DeadLetterARN = "arn:aws:sqs:us-east-1:123456789012:snapkeep-local-ScheduleDeadLetterQueue"
)

// GroupName returns the schedule group name template.yaml gives the stack
// for stage: the ScheduleGroup resource's Name, a !Sub of ${Stage}.
func GroupName(templatePath, stage string) (string, error) {
	b, err := os.ReadFile(templatePath)
	if err != nil {
		return "", fmt.Errorf("schedule group name: %w", err)
	}
	var tmpl struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				Name yaml.Node `yaml:"Name"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(b, &tmpl); err != nil {
		return "", fmt.Errorf("schedule group name: parse %s: %w", templatePath, err)
	}
	res, ok := tmpl.Resources[GroupLogicalID]
	if !ok || res.Type != "AWS::Scheduler::ScheduleGroup" {
		return "", fmt.Errorf("schedule group name: %s has no AWS::Scheduler::ScheduleGroup %s", templatePath, GroupLogicalID)
	}
	name := res.Properties.Name
	if name.Kind != yaml.ScalarNode || (name.Tag != "!Sub" && name.Tag != "!!str") {
		return "", fmt.Errorf("schedule group name: %s.Properties.Name is not a string or a !Sub string", GroupLogicalID)
	}
	v := strings.ReplaceAll(name.Value, "${Stage}", stage)
	if strings.Contains(v, "${") {
		return "", fmt.Errorf("schedule group name: %q uses substitutions other than ${Stage}", name.Value)
	}
	return v, nil
}

// Group is a schedule group created in the local stack for one test.
type Group struct {
	// Name is the group's name: template.yaml's, for a stage unique to the test.
	Name string
	// Stage is that stage.
	Stage string
	// Client is a Scheduler client for the local stack.
	Client *scheduler.Client
}

// NewGroup creates the stack's schedule group in env's local stack, for a
// stage unique to the test ("local-<hex>"), and deletes it when the test
// ends.
func NewGroup(t testing.TB, env *awstest.Env) *Group {
	t.Helper()
	path, err := awslocal.FindTemplate()
	if err != nil {
		t.Fatalf("schedulertest: %v", err)
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("schedulertest: %v", err)
	}
	stage := "local-" + hex.EncodeToString(b)
	name, err := GroupName(path, stage)
	if err != nil {
		t.Fatalf("schedulertest: %v", err)
	}
	client := scheduler.NewFromConfig(env.Config)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := client.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String(name)}); err != nil {
		t.Fatalf("schedulertest: create schedule group %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := client.DeleteScheduleGroup(ctx, &scheduler.DeleteScheduleGroupInput{Name: aws.String(name)})
		var nf *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &nf) {
			t.Errorf("schedulertest: delete schedule group %s: %v", name, err)
		}
	})
	return &Group{Name: name, Stage: stage, Client: client}
}

// Get returns the named schedule of the group, or nil when there is none.
func (g *Group) Get(t testing.TB, name string) *scheduler.GetScheduleOutput {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := g.Client.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name), GroupName: aws.String(g.Name)})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		t.Fatalf("schedulertest: get schedule %s/%s: %v", g.Name, name, err)
	}
	return out
}

// Names returns the names of the group's schedules, sorted.
func (g *Group) Names(t testing.TB) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var names []string
	p := scheduler.NewListSchedulesPaginator(g.Client, &scheduler.ListSchedulesInput{GroupName: aws.String(g.Name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("schedulertest: list schedules of %s: %v", g.Name, err)
		}
		for _, s := range page.Schedules {
			names = append(names, aws.ToString(s.Name))
		}
	}
	slices.Sort(names)
	return names
}
