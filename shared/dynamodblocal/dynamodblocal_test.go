package dynamodblocal_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/crmbridge/crmbridge/shared/awsconf"
	"github.com/crmbridge/crmbridge/shared/dynamodblocal"
	"github.com/crmbridge/crmbridge/shared/localstack"
)

// One emulator for the package: a JVM takes seconds to start.
func TestDynamoDBLocal(t *testing.T) {
	ctx := context.Background()
	srv, err := dynamodblocal.Start(ctx)
	if errors.Is(err, dynamodblocal.ErrNoJava) {
		t.Skipf("skipped: %v; it could not here", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()

	t.Run("the real tables, a conditional claim and its failure with the item", func(t *testing.T) {
		cfg, err := srv.Config(ctx)
		if err != nil {
			t.Fatal(err)
		}
		db := dynamodb.NewFromConfig(cfg)
		if err := localstack.CreateTables(ctx, db, "tenants", "state"); err != nil {
			t.Fatal(err)
		}
		claim := &dynamodb.PutItemInput{
			TableName:                           aws.String("state"),
			Item:                                map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "EVENT#x"}, "status": &types.AttributeValueMemberS{Value: "queued"}},
			ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}
		if _, err := db.PutItem(ctx, claim); err != nil {
			t.Fatal(err)
		}
		_, err = db.PutItem(ctx, claim)
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) || ccf.Item["status"] == nil {
			t.Fatalf("a repeated claim: %v", err)
		}
	})

	t.Run("Env reaches it for DynamoDB only", func(t *testing.T) {
		env := srv.Env()
		if env["AWS_ENDPOINT_URL_DYNAMODB"] != srv.URL || env["AWS_ENDPOINT_URL"] != "" {
			t.Fatalf("%v", env)
		}
		for k, v := range env {
			t.Setenv(k, v)
		}
		t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // moto_server's; DynamoDB must not use it
		cfg, err := awsconf.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dynamodb.NewFromConfig(cfg).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Stop ends it", func(t *testing.T) {
		cfg, err := srv.Config(ctx)
		if err != nil {
			t.Fatal(err)
		}
		db := dynamodb.NewFromConfig(cfg)
		srv.Stop() // returns once the process is gone
		if _, err := db.ListTables(ctx, &dynamodb.ListTablesInput{}); err == nil {
			t.Error("DynamoDB Local still answers after Stop")
		}
		srv.Stop()
	})
}
