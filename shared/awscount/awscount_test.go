package awscount_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/crmbridge/crmbridge/shared/awscount"
	"github.com/crmbridge/crmbridge/shared/dynamodblocal"
)

// Against DynamoDB Local, which sizes the units it reports: each call and
// its units as DynamoDB's pricing counts them.
func TestCountsCallsAndUnits(t *testing.T) {
	ctx := context.Background()
	srv, err := dynamodblocal.Start(ctx)
	if errors.Is(err, dynamodblocal.ErrNoJava) {
		t.Skipf("skipped: %v; it could not here", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	cfg, err := srv.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := awscount.New()
	c.Instrument(&cfg)
	db := dynamodb.NewFromConfig(cfg, dynamodblocal.ClientOptions)
	table := aws.String("counted")
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: table, BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}}}); err != nil {
		t.Fatal(err)
	}
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	big := map[string]types.AttributeValue{"pk": s("a"), "body": s(strings.Repeat("x", 2500))}
	small := func(pk string) map[string]types.AttributeValue { return map[string]types.AttributeValue{"pk": s(pk)} }
	for _, tc := range []struct {
		name     string
		call     func() error
		op       string
		rru, wru float64
	}{
		{"a 2.5 KB put is 3 write units", func() error {
			in := &dynamodb.PutItemInput{TableName: table, Item: big}
			_, err := db.PutItem(ctx, in)
			if in.ReturnConsumedCapacity != "" {
				t.Error("the caller's input was changed")
			}
			return err
		}, "DynamoDB.PutItem", 0, 3},
		{"a strongly consistent read of it is 1 read unit", func() error {
			_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: small("a"), ConsistentRead: aws.Bool(true)})
			return err
		}, "DynamoDB.GetItem", 1, 0},
		{"a failed condition is charged the returned item's size", func() error {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: small("a"), ConditionExpression: aws.String("attribute_not_exists(pk)"),
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
			if err == nil {
				t.Error("the condition held")
			}
			return nil
		}, "DynamoDB.PutItem", 0, 3},
		{"a two-item transaction is 4 write units", func() error {
			_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: table, Item: small("t1")}}, {Put: &types.Put{TableName: table, Item: small("t2")}}}})
			return err
		}, "DynamoDB.TransactWriteItems", 0, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := c.Snapshot()
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			d := c.Snapshot().Sub(before)
			if d.Calls[tc.op] != 1 || len(d.Calls) != 1 || d.RRU != tc.rru || d.WRU != tc.wru {
				t.Fatalf("%s: %v RRU %v WRU %v, want %s once, %v and %v", tc.name, d, d.RRU, d.WRU, tc.op, tc.rru, tc.wru)
			}
		})
	}
	if n := c.Snapshot().Service("DynamoDB"); n != 5 {
		t.Fatalf("%d DynamoDB calls, want 5 (CreateTable and the four above)", n)
	}
}

func TestItemSize(t *testing.T) {
	it := map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "EVENT#1"},                                                                       // 2+7
		"n":  &types.AttributeValueMemberN{Value: "1234"},                                                                          // 1+3
		"ok": &types.AttributeValueMemberBOOL{Value: true},                                                                         // 2+1
		"m":  &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"a": &types.AttributeValueMemberS{Value: "xy"}}}, // 1+3+1+2
	}
	if got := awscount.ItemSize(it); got != 9+4+3+7 {
		t.Fatalf("ItemSize = %d, want %d", got, 9+4+3+7)
	}
}
