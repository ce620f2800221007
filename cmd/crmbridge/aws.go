package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/crmbridge/crmbridge/shared/app"
)

// TenantsDB is what the tenants commands ask of DynamoDB.
type TenantsDB interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	dynamodb.ScanAPIClient
}

// connector builds the functions' dependencies for the commands that need
// AWS (tests give the in-memory fakes instead).
type connector func(ctx context.Context, stderr io.Writer) (*app.Deps, TenantsDB, error)

// env reads the environment with the local stack's table names as defaults.
func env() (app.Config, error) {
	return app.ConfigFromEnv(func(k string) string {
		v := os.Getenv(k)
		if v != "" {
			return v
		}
		switch k {
		case "TENANTS_TABLE":
			return "crmbridge-tenants"
		case "STATE_TABLE":
			return "crmbridge-state"
		}
		return ""
	})
}

// connectAWS builds the same dependencies the functions use, over the
// SDK's standard environment, with logs on stderr.
func connectAWS(ctx context.Context, stderr io.Writer) (*app.Deps, TenantsDB, error) {
	cfg, err := env()
	if err != nil {
		return nil, nil, err
	}
	awsCfg, err := app.LoadAWS(ctx)
	if err != nil {
		return nil, nil, err
	}
	db := dynamodb.NewFromConfig(awsCfg)
	opts := app.Options{Out: stderr, Service: "cli"}
	if cfg.InboundQueueURL != "" || cfg.OutboundQueueURL != "" {
		opts.SQS = sqs.NewFromConfig(awsCfg)
	}
	d := app.Build(cfg, db, secretsmanager.NewFromConfig(awsCfg), opts)
	return d, db, nil
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
