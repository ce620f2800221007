package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/awsapi"
	"github.com/crmbridge/crmbridge/shared/doctor"
)

// TenantsDB is what the tenants commands ask of DynamoDB.
type TenantsDB interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	dynamodb.ScanAPIClient
}

// SecretsAPI is what `secrets put` asks of Secrets Manager.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
}

// backend is what the AWS commands work on: the functions' own wiring over
// the SDK clients, and the clients for what operators do beyond it.
type backend struct {
	Deps   *app.Deps
	DB     TenantsDB
	SM     SecretsAPI
	Tables doctor.Tables // nil where there is no real DynamoDB (the tests' fakes)
}

// connector builds the backend for the commands that need AWS (tests give
// the in-memory fakes instead).
type connector func(ctx context.Context, stderr io.Writer) (*backend, error)

// localEnvHint is the one fix for a CLI pointed at the local stack
// without its environment.
const localEnvHint = `eval "$(go run ./cmd/crmbridge local env)" (while make run is up)`

// cliConfig reads the functions' configuration from the environment, held
// to the rules of the CLI: pointed at a local emulator (AWS_ENDPOINT_URL on
// loopback), the local stack's whole environment is required, so no call
// falls back to a production endpoint (the AI agent's default base URL);
// pointed at AWS, the stack's table names are required.
func cliConfig(getenv func(string) string) (app.Config, error) {
	endpoint := getenv("AWS_ENDPOINT_URL")
	local := isLoopbackURL(endpoint)
	var missing []string
	if local {
		if getenv("ULTIMATE_BASE_URL") == "" {
			missing = append(missing, "ULTIMATE_BASE_URL (the AI agent would be https://api.ultimate.ai)")
		}
		if getenv("STAGE") != "local" || getenv("EGRESS_LOCAL") != "1" {
			missing = append(missing, "STAGE=local and EGRESS_LOCAL=1 (calls to the local fakes would be refused)")
		}
		if len(missing) > 0 {
			return app.Config{}, fmt.Errorf("AWS_ENDPOINT_URL=%s is a local emulator, but %s: use the local stack's environment: %s",
				endpoint, strings.Join(missing, "; "), localEnvHint)
		}
	} else {
		for _, k := range []string{"TENANTS_TABLE", "STATE_TABLE"} {
			if getenv(k) == "" {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return app.Config{}, fmt.Errorf("%s not set: use the stack's outputs TenantsTableName and StateTableName "+
				"(aws cloudformation describe-stacks --stack-name STACK --query 'Stacks[0].Outputs'); for the local stack: %s",
				strings.Join(missing, " and "), localEnvHint)
		}
	}
	return app.ConfigFromEnv(func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		switch k { // the local stack's names (cmd/crmbridge local)
		case "TENANTS_TABLE":
			return "crmbridge-tenants"
		case "STATE_TABLE":
			return "crmbridge-state"
		}
		return ""
	})
}

func isLoopbackURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return false
	}
	h := p.Hostname()
	return h == "localhost" || h == "::1" || strings.HasPrefix(h, "127.")
}

// connectAWS builds the same dependencies the functions use, over the
// SDK's standard environment, with logs on stderr. Missing credentials or
// region are said plainly before any call.
func connectAWS(ctx context.Context, stderr io.Writer) (*backend, error) {
	cfg, err := cliConfig(os.Getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := app.LoadAWS(ctx)
	if err != nil {
		return nil, err
	}
	if awsCfg.Region == "" {
		return nil, fmt.Errorf("no AWS region: set AWS_REGION (or the region of your AWS_PROFILE); for the local stack: %s", localEnvHint)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := awsCfg.Credentials.Retrieve(cctx); err != nil {
		return nil, errNoCredentials
	}
	db := dynamodb.NewFromConfig(awsCfg)
	sm := secretsmanager.NewFromConfig(awsCfg)
	opts := app.Options{Out: stderr, MetricsOut: io.Discard, Service: "cli"}
	if cfg.InboundQueueURL != "" || cfg.OutboundQueueURL != "" {
		opts.SQS = app.NewSQS(awsCfg) // the functions' client: a replay sends as they do
	}
	d := app.Build(cfg, db, sm, opts)
	return &backend{Deps: d, DB: db, SM: sm, Tables: db}, nil
}

var errNoCredentials = errors.New("no AWS credentials: set AWS_PROFILE (after `aws sso login` or `aws configure`) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; for the local stack: " + localEnvHint)

// explain turns the AWS errors an operator meets into what to do; others
// pass as they are. The SDK's errors carry AWS's message; the bridge's own
// calls' (SQS, shared/awsapi) keep only the operation and code.
func explain(err error, what string) error {
	var code, detail string
	var ae smithy.APIError
	var own *awsapi.APIError
	switch {
	case errors.As(err, &ae):
		code, detail = ae.ErrorCode(), ae.ErrorMessage()
	case errors.As(err, &own):
		code, detail = own.Code, own.Op
	default:
		return fmt.Errorf("%s: %w", what, err)
	}
	switch code {
	case "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredTokenException", "ExpiredToken", "InvalidSignatureException":
		return fmt.Errorf("%s: AWS refused the credentials (%s): %w", what, code, errNoCredentials)
	case "AccessDeniedException", "AccessDenied":
		return fmt.Errorf("%s: access denied: the credentials' policy does not allow it (%s)", what, detail)
	case "ResourceNotFoundException":
		return fmt.Errorf("%s: not found (%s): check the table and secret names (TENANTS_TABLE, STATE_TABLE) and the region", what, detail)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// localOnly refuses a replay that would mix a local stack with AWS: a
// local State table (or a local queue URL) while SQS calls would go to
// the account the SDK finds. The local stack's banner prints the
// environment that keeps every call local.
func localOnly(getenv func(string) string) error {
	sqsEndpoint := cmp.Or(getenv("AWS_ENDPOINT_URL_SQS"), getenv("AWS_ENDPOINT_URL"))
	if isLocalURL(sqsEndpoint) {
		return nil
	}
	if ddb := cmp.Or(getenv("AWS_ENDPOINT_URL_DYNAMODB"), getenv("AWS_ENDPOINT_URL")); isLocalURL(ddb) {
		return fmt.Errorf("the State table is local (%s) but SQS calls would go to AWS: set AWS_ENDPOINT_URL_SQS to the local queue emulator (crmbridge local prints it)", ddb)
	}
	for _, v := range []string{"INBOUND_QUEUE_URL", "OUTBOUND_QUEUE_URL"} {
		if u := getenv(v); isLocalURL(u) {
			return fmt.Errorf("%s is a local queue (%s) but SQS calls would go to AWS: set AWS_ENDPOINT_URL_SQS to the local queue emulator (crmbridge local prints it)", v, u)
		}
	}
	return nil
}

// isLocalURL reports a URL on this machine: a loopback address, localhost
// or a name under it (fauxqs's queue URLs are sqs.{region}.localhost).
func isLocalURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	h := strings.ToLower(u.Hostname())
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.IsLoopback()
}
