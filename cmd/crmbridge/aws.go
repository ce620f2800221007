package main

import (
	"context"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/crmbridge/crmbridge/shared/app"
)

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

// deps builds the same dependencies the functions use, with logs on stderr.
func deps(ctx context.Context) (*app.Deps, *dynamodb.Client, error) {
	cfg, err := env()
	if err != nil {
		return nil, nil, err
	}
	awsCfg, err := app.LoadAWS(ctx)
	if err != nil {
		return nil, nil, err
	}
	db := dynamodb.NewFromConfig(awsCfg)
	d := app.Build(cfg, db, secretsmanager.NewFromConfig(awsCfg), app.Options{Out: os.Stderr, Service: "cli"})
	return d, db, nil
}
