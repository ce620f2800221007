package awscount_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/crmbridge/crmbridge/shared/awscount"
	"github.com/crmbridge/crmbridge/shared/dynamodblocal"
	"github.com/crmbridge/crmbridge/shared/fauxqs"
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

type scopeKey struct{}

// Against fauxqs: each call is counted in the scope its context names, an
// empty receive apart, and the messages a receive returned are counted.
func TestScopes(t *testing.T) {
	ctx := context.Background()
	srv, err := fauxqs.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	cfg, err := srv.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := awscount.NewScoped(func(ctx context.Context, params any) string {
		if s, ok := ctx.Value(scopeKey{}).(string); ok {
			return s
		}
		if _, ok := params.(*sqs.ReceiveMessageInput); ok {
			return "poller"
		}
		return ""
	})
	c.Instrument(&cfg)
	q := sqs.NewFromConfig(cfg)
	created, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("scoped")})
	if err != nil {
		t.Fatal(err)
	}
	sender := context.WithValue(ctx, scopeKey{}, "sender")
	for i := range 3 {
		if _, err := q.SendMessage(sender, &sqs.SendMessageInput{QueueUrl: created.QueueUrl, MessageBody: aws.String(strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	for got < 3 {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: created.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		got += len(out.Messages)
	}
	if _, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: created.QueueUrl, WaitTimeSeconds: 1}); err != nil {
		t.Fatal(err)
	}
	by := c.Scopes()
	if n := by["sender"].Calls["SQS.SendMessage"]; n != 3 || len(by["sender"].Calls) != 1 {
		t.Errorf("sender: %v, want SQS.SendMessage×3 only", by["sender"])
	}
	p := by["poller"]
	if p.Received != 3 || p.Calls[awscount.EmptyReceive] < 1 || p.Calls["SQS.ReceiveMessage"] < 1 || p.Calls["SQS.SendMessage"] != 0 {
		t.Errorf("poller: %v, %d received; want the 3 messages received and an empty receive apart", p, p.Received)
	}
	if by[""].Calls["SQS.CreateQueue"] != 1 {
		t.Errorf("no scope: %v, want SQS.CreateQueue×1", by[""])
	}
	if total, sum := c.Snapshot(), by[""].Add(by["sender"]).Add(p); total.String() != sum.String() || total.Received != sum.Received {
		t.Errorf("the scopes add up to %v, the total is %v", sum, total)
	}
	if d := awscount.SubScopes(c.Scopes(), by); len(d) != 0 {
		t.Errorf("SubScopes of a snapshot and itself: %v, want none", d)
	}
}
