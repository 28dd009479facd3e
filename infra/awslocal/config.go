package awslocal

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// DefaultRegion is the local stack's region when $AWS_REGION is not set.
const DefaultRegion = "us-east-1"

// Fake credentials moto accepts; they never reach AWS.
const (
	FakeAccessKeyID     = "AKIAIOSFODNN7EXAMPLE"
	FakeSecretAccessKey = "snapkeep-local-fake-secret"
)

// Region returns $AWS_REGION, or DefaultRegion when it is empty.
func Region() string {
	if r := os.Getenv("AWS_REGION"); r != "" {
		return r
	}
	return DefaultRegion
}

// Config returns an aws.Config for the local stack at endpoint: static fake
// credentials, Region(), and BaseEndpoint = endpoint for every service. It
// goes through config.LoadDefaultConfig like production does (where the
// endpoint comes from $AWS_ENDPOINT_URL), so the SDK's middleware, retries
// and endpoint resolution are the ones the functions run with.
func Config(ctx context.Context, endpoint string) (aws.Config, error) {
	if endpoint == "" {
		return aws.Config{}, fmt.Errorf("local aws config: empty endpoint")
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(Region()),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(FakeAccessKeyID, FakeSecretAccessKey, "")),
		config.WithBaseEndpoint(endpoint),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("local aws config for %s: %w", endpoint, err)
	}
	return cfg, nil
}
