package main

import (
	"context"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

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
	d := app.Build(cfg, db, secretsmanager.NewFromConfig(awsCfg), app.Options{Out: stderr, Service: "cli"})
	return d, db, nil
}
