// Package awsconf is the one place the AWS SDK configuration is made: the
// functions read theirs from the environment (AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_<SERVICE> point them at local emulators), the tests and
// the local stack name an emulator's endpoint. Both get the same retry
// policy, so a test exercises the retries production has.
//
// Which calls are safe to retry: the standard retryer repeats a call whose
// connection failed, also after the request may have reached the service
// (a reset or truncated answer). Reads are harmless. The bridge's DynamoDB
// writes are conditional on a lease token it chose (shared/state), so a
// repeated write either finds its own token (recognised as its own earlier
// success) or changes nothing; TransactWriteItems carries the
// ClientRequestToken the SDK generates, which DynamoDB deduplicates for 10
// minutes; SQS FIFO sends carry a MessageDeduplicationId and deletes are
// idempotent. Provisioning (create table or secret) treats "already exists"
// as success.
package awsconf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// MaxAttempts is how often a call is tried in all.
const MaxAttempts = 3

// Region is the region of local emulators.
const Region = "us-east-1"

// Load reads the SDK configuration from the environment, as the functions
// do on Lambda.
func Load(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRetryer(func() aws.Retryer { return NewRetryer(false) }))
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	return cfg, nil
}

// Local is the configuration for an emulator at endpoint (moto_server,
// fauxqs) with dummy credentials. It ignores the environment's endpoints
// and profiles, so a developer's AWS settings never leak into a test.
func Local(ctx context.Context, endpoint string) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion(Region),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		awsconfig.WithBaseEndpoint(endpoint),
		awsconfig.WithRetryer(func() aws.Retryer { return NewRetryer(true) }),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("SDK config for %s: %w", endpoint, err)
	}
	return cfg, nil
}

// LocalEnv is the environment for SDK clients in child processes (the
// bootstraps under the Lambda emulator) to reach an emulator at url:
// endpointVar is AWS_ENDPOINT_URL, or a service's own (AWS_ENDPOINT_URL_SQS),
// which wins over it for that service.
func LocalEnv(endpointVar, url string) map[string]string {
	return map[string]string{
		endpointVar:             url,
		"AWS_ACCESS_KEY_ID":     "test",
		"AWS_SECRET_ACCESS_KEY": "test",
		"AWS_REGION":            Region,
		"AWS_DEFAULT_REGION":    Region,
	}
}

// NewRetryer is the retry policy: the SDK's standard mode with MaxAttempts,
// which already retries failed sends, resets and closed connections, plus
// answers cut short (io.ErrUnexpectedEOF while reading the body), which the
// standard mode leaves alone. local drops the client-side retry quota: many
// tests share one process and one emulator, and an exhausted quota would
// turn a retryable blip into a failure; on Lambda the quota stays, it stops
// a retry storm against a struggling service. Locally the waits are short
// too (an emulator on loopback recovers at once, or not at all).
func NewRetryer(local bool) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.Retryables = append(append([]retry.IsErrorRetryable(nil), o.Retryables...), retry.IsErrorRetryableFunc(cutShort))
		if local {
			o.RateLimiter = ratelimit.None
			o.Backoff = retry.BackoffDelayerFunc(localBackoff)
		}
	})
}

// localBackoff waits a random time below 50 ms doubled per attempt.
func localBackoff(attempt int, _ error) (time.Duration, error) {
	ceil := 50 * time.Millisecond << min(attempt, 4)
	return time.Duration(rand.Int64N(int64(ceil))), nil
}

func cutShort(err error) aws.Ternary {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}
