package dynamotest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/crmbridge/crmbridge/shared/dynamodblocal"
	"github.com/crmbridge/crmbridge/shared/dynamotest"
	"github.com/crmbridge/crmbridge/shared/motoserver"
)

// api is what both backends answer.
type api interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

var (
	_    api = (*dynamodb.Client)(nil)
	_    api = (*dynamotest.DB)(nil)
	moto *dynamodb.Client
	// ddbLocal is Amazon's DynamoDB Local, the load run's emulator, when it
	// is installed (`make deps` installs it); ddbLocalErr says why not.
	ddbLocal    *dynamodb.Client
	ddbLocalErr error
	seq         atomic.Int64
)

func TestMain(m *testing.M) {
	ctx := context.Background()
	srv, err := motoserver.Start(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cfg, err := srv.Config(ctx)
	if err != nil {
		srv.Stop()
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	moto = dynamodb.NewFromConfig(cfg)
	local, err := dynamodblocal.Start(ctx)
	if err == nil {
		var lcfg aws.Config
		if lcfg, err = local.Config(ctx); err == nil {
			ddbLocal = dynamodb.NewFromConfig(lcfg, dynamodblocal.ClientOptions)
		}
	}
	ddbLocalErr = err
	code := m.Run()
	local.Stop()
	srv.Stop()
	os.Exit(code)
}

// step is one call; T is the table the case created.
type step func(ctx context.Context, db api, T *string) (any, error)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
func k(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": s(pk)}
}

func put(pk string, attrs map[string]types.AttributeValue) step {
	return func(ctx context.Context, db api, T *string) (any, error) {
		it := k(pk)
		for a, v := range attrs {
			it[a] = v
		}
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: T, Item: it})
		return nil, err
	}
}

func get(pk string) step {
	return func(ctx context.Context, db api, T *string) (any, error) {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: T, Key: k(pk), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return nil, err
		}
		return out.Item, nil
	}
}

func update(in dynamodb.UpdateItemInput) step {
	return func(ctx context.Context, db api, T *string) (any, error) {
		in := in
		in.TableName = T
		out, err := db.UpdateItem(ctx, &in)
		if err != nil {
			return nil, err
		}
		return out.Attributes, nil
	}
}

func names(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func vals(kv ...any) map[string]types.AttributeValue {
	m := map[string]types.AttributeValue{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1].(types.AttributeValue)
	}
	return m
}

// outcome renders a result or an error the same way for both backends.
func outcome(v any, err error) string {
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		var tce *types.TransactionCanceledException
		var api smithy.APIError
		switch {
		case errors.As(err, &ccf):
			return "ConditionalCheckFailed item=" + render(ccf.Item)
		case errors.As(err, &tce):
			var parts []string
			for _, r := range tce.CancellationReasons {
				parts = append(parts, aws.ToString(r.Code)+" item="+render(r.Item))
			}
			return "TransactionCanceled [" + strings.Join(parts, "; ") + "]"
		case errors.As(err, &api):
			return api.ErrorCode()
		}
		return "error " + err.Error()
	}
	return "ok " + render(v)
}

func render(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case map[string]types.AttributeValue:
		if len(x) == 0 {
			return "-"
		}
		var m map[string]any
		_ = attributevalue.UnmarshalMap(x, &m)
		b, _ := json.Marshal(m)
		return string(b)
	case []map[string]types.AttributeValue:
		var out []string
		for _, it := range x {
			out = append(out, render(it))
		}
		return "[" + strings.Join(out, ",") + "]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func newTable(t *testing.T, ctx context.Context, db api) *string {
	t.Helper()
	name := fmt.Sprintf("conf-%d", seq.Add(1))
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("g"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("at"), AttributeType: types.ScalarAttributeTypeN},
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String("by-g"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("g"), KeyType: types.KeyTypeHash}, {AttributeName: aws.String("at"), KeyType: types.KeyTypeRange}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.String(name)
}

// TestConformsToMoto runs each case's calls against the fake and against
// moto_server, and against Amazon's DynamoDB Local, and requires the same
// outcome from the fake and each emulator at every step; the last step's
// outcome must also contain want, so a case cannot pass by both backends
// failing the same wrong way. (DynamoDB Local runs the load; this table is
// how it was found at least as faithful as moto for the bridge's calls.)
func TestConformsToMoto(t *testing.T) {
	allOld := types.ReturnValuesOnConditionCheckFailureAllOld
	claim := dynamodb.UpdateItemInput{
		Key:                                 k("E#1"),
		UpdateExpression:                    aws.String("SET #st = :inp, #exp = :exp REMOVE #dlq"),
		ConditionExpression:                 aws.String("attribute_not_exists(pk) OR #exp < :now OR (#st = :inp AND #lease < :nowms) OR #st = :dead"),
		ExpressionAttributeNames:            names("#st", "status", "#exp", "exp", "#dlq", "dlq", "#lease", "lease"),
		ExpressionAttributeValues:           vals(":inp", s("inprogress"), ":exp", n("100"), ":now", n("50"), ":nowms", n("50000"), ":dead", s("dead")),
		ReturnValuesOnConditionCheckFailure: allOld,
	}
	cases := []struct {
		name  string
		steps []step
		want  string
	}{
		{"put and get", []step{put("a", map[string]types.AttributeValue{"x": s("1")}), get("a")}, `ok {"pk":"a","x":"1"}`},
		{"get of nothing", []step{get("none")}, "ok -"},
		{"update creates the item", []step{update(dynamodb.UpdateItemInput{Key: k("a"),
			UpdateExpression:          aws.String("SET #c = if_not_exists(#c, :now), #u = :now"),
			ExpressionAttributeNames:  names("#c", "created", "#u", "updated"),
			ExpressionAttributeValues: vals(":now", n("7"))}), get("a")}, `ok {"created":7,"pk":"a","updated":7}`},
		{"if_not_exists keeps the old value", []step{put("a", map[string]types.AttributeValue{"created": n("1")}), update(dynamodb.UpdateItemInput{Key: k("a"),
			UpdateExpression:          aws.String("SET #c = if_not_exists(#c, :now)"),
			ExpressionAttributeNames:  names("#c", "created"),
			ExpressionAttributeValues: vals(":now", n("7"))}), get("a")}, `ok {"created":1,"pk":"a"}`},
		{"claim of a new key", []step{update(claim), get("E#1")}, `"status":"inprogress"`},
		{"claim of a held key fails with the old item", []step{update(claim), update(claim)}, `ConditionalCheckFailed item={"exp":100,"pk":"E#1","status":"inprogress"}`},
		{"a failed condition without ALL_OLD returns no item", []step{put("a", nil), update(dynamodb.UpdateItemInput{Key: k("a"),
			UpdateExpression: aws.String("SET #x = :x"), ConditionExpression: aws.String("attribute_not_exists(pk)"),
			ExpressionAttributeNames: names("#x", "x"), ExpressionAttributeValues: vals(":x", s("1"))})}, "ConditionalCheckFailed item=-"},
		{"numbers compare as numbers", []step{put("a", map[string]types.AttributeValue{"exp": n("10")}), update(dynamodb.UpdateItemInput{Key: k("a"),
			UpdateExpression: aws.String("SET #x = :x"), ConditionExpression: aws.String("#exp < :now"),
			ExpressionAttributeNames: names("#x", "x", "#exp", "exp"), ExpressionAttributeValues: vals(":x", s("1"), ":now", n("9"))})}, "ConditionalCheckFailed"},
		{"<> on an absent attribute is true", []step{put("a", nil), update(dynamodb.UpdateItemInput{Key: k("a"),
			UpdateExpression: aws.String("SET #x = :x"), ConditionExpression: aws.String("#st <> :esc"),
			ExpressionAttributeNames: names("#x", "x", "#st", "status"), ExpressionAttributeValues: vals(":x", s("1"), ":esc", s("escalated"))})}, "ok -"},
		{"= on an absent attribute is false", []step{put("a", nil), update(dynamodb.UpdateItemInput{Key: k("a"),
			UpdateExpression: aws.String("SET #x = :x"), ConditionExpression: aws.String("#tok = :t"),
			ExpressionAttributeNames: names("#x", "x", "#tok", "token"), ExpressionAttributeValues: vals(":x", s("1"), ":t", s("t"))})}, "ConditionalCheckFailed"},
		{"< on an absent attribute is false", []step{put("a", nil), update(dynamodb.UpdateItemInput{Key: k("a"),
			UpdateExpression: aws.String("SET #x = :x"), ConditionExpression: aws.String("#exp < :now"),
			ExpressionAttributeNames: names("#x", "x", "#exp", "exp"), ExpressionAttributeValues: vals(":x", s("1"), ":now", n("9"))})}, "ConditionalCheckFailed"},
		{"IN", []step{put("a", map[string]types.AttributeValue{"status": s("ended")}), update(dynamodb.UpdateItemInput{Key: k("a"),
			UpdateExpression: aws.String("SET #x = :x"), ConditionExpression: aws.String("#st IN (:ended, :esc)"),
			ExpressionAttributeNames: names("#x", "x", "#st", "status"), ExpressionAttributeValues: vals(":x", s("1"), ":ended", s("ended"), ":esc", s("escalated"))}), get("a")}, `"x":"1"`},
		{"REMOVE and counters", []step{put("a", map[string]types.AttributeValue{"dlq": s("inbound"), "payload": s("p")}),
			update(dynamodb.UpdateItemInput{Key: k("a"), UpdateExpression: aws.String("SET #n = if_not_exists(#n, :zero) + :one REMOVE #dlq, #p"),
				ExpressionAttributeNames: names("#n", "attempts", "#dlq", "dlq", "#p", "payload"), ExpressionAttributeValues: vals(":zero", n("0"), ":one", n("1"))}),
			update(dynamodb.UpdateItemInput{Key: k("a"), UpdateExpression: aws.String("SET #n = if_not_exists(#n, :zero) + :one"),
				ExpressionAttributeNames: names("#n", "attempts"), ExpressionAttributeValues: vals(":zero", n("0"), ":one", n("1"))}),
			get("a")}, `ok {"attempts":2,"pk":"a"}`},
		{"ReturnValues ALL_OLD of a new item", []step{update(dynamodb.UpdateItemInput{Key: k("a"), UpdateExpression: aws.String("SET #x = :x"),
			ExpressionAttributeNames: names("#x", "x"), ExpressionAttributeValues: vals(":x", s("1")), ReturnValues: types.ReturnValueAllOld})}, "ok -"},
		{"ReturnValues ALL_OLD of an existing item", []step{put("a", map[string]types.AttributeValue{"status": s("dead")}), update(dynamodb.UpdateItemInput{Key: k("a"), UpdateExpression: aws.String("SET #x = :x"),
			ExpressionAttributeNames: names("#x", "x"), ExpressionAttributeValues: vals(":x", s("1")), ReturnValues: types.ReturnValueAllOld})}, `ok {"pk":"a","status":"dead"}`},
		{"conditional delete", []step{put("a", map[string]types.AttributeValue{"token": s("t1")}),
			func(ctx context.Context, db api, T *string) (any, error) {
				_, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: T, Key: k("a"), ConditionExpression: aws.String("#t = :t"),
					ExpressionAttributeNames: names("#t", "token"), ExpressionAttributeValues: vals(":t", s("t2"))})
				return nil, err
			},
			func(ctx context.Context, db api, T *string) (any, error) {
				_, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: T, Key: k("a"), ConditionExpression: aws.String("#t = :t"),
					ExpressionAttributeNames: names("#t", "token"), ExpressionAttributeValues: vals(":t", s("t1"))})
				return nil, err
			}, get("a")}, "ok -"},
		{"a cancelled transaction writes nothing", []step{put("b", map[string]types.AttributeValue{"status": s("escalated")}),
			func(ctx context.Context, db api, T *string) (any, error) {
				_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
					{Update: &types.Update{TableName: T, Key: k("a"), UpdateExpression: aws.String("SET #x = :x"),
						ExpressionAttributeNames: names("#x", "x"), ExpressionAttributeValues: vals(":x", s("1")), ReturnValuesOnConditionCheckFailure: allOld}},
					{Update: &types.Update{TableName: T, Key: k("b"), UpdateExpression: aws.String("SET #x = :x"), ConditionExpression: aws.String("#st <> :esc"),
						ExpressionAttributeNames: names("#x", "x", "#st", "status"), ExpressionAttributeValues: vals(":x", s("1"), ":esc", s("escalated")),
						ReturnValuesOnConditionCheckFailure: allOld}},
				}})
				return nil, err
			}}, `TransactionCanceled [None item=-; ConditionalCheckFailed item={"pk":"b","status":"escalated"}]`},
		{"nothing of a cancelled transaction is visible", []step{put("b", map[string]types.AttributeValue{"status": s("escalated")}),
			func(ctx context.Context, db api, T *string) (any, error) {
				_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
					{Update: &types.Update{TableName: T, Key: k("a"), UpdateExpression: aws.String("SET #x = :x"),
						ExpressionAttributeNames: names("#x", "x"), ExpressionAttributeValues: vals(":x", s("1"))}},
					{Update: &types.Update{TableName: T, Key: k("b"), UpdateExpression: aws.String("SET #x = :x"), ConditionExpression: aws.String("#st <> :esc"),
						ExpressionAttributeNames: names("#x", "x", "#st", "status"), ExpressionAttributeValues: vals(":x", s("1"), ":esc", s("escalated"))}},
				}})
				return nil, err
			}, get("a")}, "ok -"},
		{"a transaction applies every write", []step{
			func(ctx context.Context, db api, T *string) (any, error) {
				_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
					{Update: &types.Update{TableName: T, Key: k("a"), UpdateExpression: aws.String("SET #x = :x"),
						ExpressionAttributeNames: names("#x", "x"), ExpressionAttributeValues: vals(":x", s("1"))}},
					{Update: &types.Update{TableName: T, Key: k("b"), UpdateExpression: aws.String("SET #x = :x"), ConditionExpression: aws.String("attribute_not_exists(pk)"),
						ExpressionAttributeNames: names("#x", "x"), ExpressionAttributeValues: vals(":x", s("2"))}},
				}})
				return nil, err
			}, get("a"), get("b")}, `ok {"pk":"b","x":"2"}`},
		{"unused value", []step{update(dynamodb.UpdateItemInput{Key: k("a"), UpdateExpression: aws.String("SET #x = :x"),
			ExpressionAttributeNames: names("#x", "x"), ExpressionAttributeValues: vals(":x", s("1"), ":y", s("2"))})}, "ValidationException"},
		{"unused name", []step{update(dynamodb.UpdateItemInput{Key: k("a"), UpdateExpression: aws.String("SET #x = :x"),
			ExpressionAttributeNames: names("#x", "x", "#y", "y"), ExpressionAttributeValues: vals(":x", s("1"))})}, "ValidationException"},
		{"undefined value", []step{update(dynamodb.UpdateItemInput{Key: k("a"), UpdateExpression: aws.String("SET #x = :x"),
			ExpressionAttributeNames: names("#x", "x"), ExpressionAttributeValues: vals(":y", s("1"))})}, "ValidationException"},
		{"a partition key over 2048 bytes", []step{update(dynamodb.UpdateItemInput{Key: k(strings.Repeat("x", 2049)), UpdateExpression: aws.String("SET #x = :x"),
			ExpressionAttributeNames: names("#x", "x"), ExpressionAttributeValues: vals(":x", s("1"))})}, "ValidationException"},
		{"a partition key of 2048 bytes", []step{update(dynamodb.UpdateItemInput{Key: k(strings.Repeat("x", 2048)), UpdateExpression: aws.String("SET #x = :x"),
			ExpressionAttributeNames: names("#x", "x"), ExpressionAttributeValues: vals(":x", s("1"))})}, "ok -"},
		{"an empty key", []step{get("")}, "ValidationException"},
		{"updating the key", []step{update(dynamodb.UpdateItemInput{Key: k("a"), UpdateExpression: aws.String("SET #pk = :x"),
			ExpressionAttributeNames: names("#pk", "pk"), ExpressionAttributeValues: vals(":x", s("b"))})}, "ValidationException"},
		{"overlapping paths", []step{update(dynamodb.UpdateItemInput{Key: k("a"), UpdateExpression: aws.String("SET #x = :x REMOVE #x"),
			ExpressionAttributeNames: names("#x", "x"), ExpressionAttributeValues: vals(":x", s("1"))})}, "ValidationException"},
		{"a reserved word unescaped", []step{update(dynamodb.UpdateItemInput{Key: k("a"), UpdateExpression: aws.String("SET status = :x"),
			ExpressionAttributeValues: vals(":x", s("1"))})}, "ValidationException"},
		{"a wrong index key type", []step{put("a", map[string]types.AttributeValue{"g": s("x"), "at": s("not a number")})}, "ValidationException"},
		{"a sparse index, newest first", []step{
			put("a", map[string]types.AttributeValue{"g": s("in"), "at": n("1")}),
			put("b", map[string]types.AttributeValue{"g": s("in"), "at": n("3")}),
			put("c", map[string]types.AttributeValue{"g": s("out"), "at": n("2")}),
			put("d", map[string]types.AttributeValue{"at": n("4")}),
			put("e", map[string]types.AttributeValue{"g": s("in"), "at": n("20")}),
			func(ctx context.Context, db api, T *string) (any, error) {
				out, err := db.Query(ctx, &dynamodb.QueryInput{TableName: T, IndexName: aws.String("by-g"), KeyConditionExpression: aws.String("g = :g"),
					ExpressionAttributeValues: vals(":g", s("in")), ScanIndexForward: aws.Bool(false), Limit: aws.Int32(2)})
				if err != nil {
					return nil, err
				}
				return out.Items, nil
			}}, `ok [{"at":20,"g":"in","pk":"e"},{"at":3,"g":"in","pk":"b"}]`},
		{"scan with a projection", []step{put("b", map[string]types.AttributeValue{"x": s("1")}), put("a", map[string]types.AttributeValue{"x": s("1")}),
			func(ctx context.Context, db api, T *string) (any, error) {
				out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: T, ProjectionExpression: aws.String("pk")})
				if err != nil {
					return nil, err
				}
				sort.Slice(out.Items, func(i, j int) bool { return render(out.Items[i]) < render(out.Items[j]) })
				return out.Items, nil
			}}, `ok [{"pk":"a"},{"pk":"b"}]`},
	}
	// motoGaps are cases whose last step moto is not asked: it is more
	// lenient than DynamoDB there, and the fake follows DynamoDB.
	motoGaps := map[string]string{
		"a wrong index key type": `moto 5.2.1 stores it; DynamoDB answers "Type mismatch for Index Key"`,
	}
	ctx := context.Background()
	for _, ref := range []struct {
		name string
		db   *dynamodb.Client
		gaps map[string]string
	}{{"moto_server", moto, motoGaps}, {"DynamoDB Local", ddbLocal, nil}} {
		t.Run(ref.name, func(t *testing.T) {
			if ref.db == nil {
				t.Skipf("not installed (run make deps): %v", ddbLocalErr)
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					fake := dynamotest.New()
					ft, mt := newTable(t, ctx, fake), newTable(t, ctx, ref.db)
					var last string
					for i, st := range tc.steps {
						got := outcome(st(ctx, fake, ft))
						if ref.gaps[tc.name] != "" && i == len(tc.steps)-1 {
							last = got
							break
						}
						want := outcome(st(ctx, ref.db, mt))
						if got != want {
							t.Fatalf("step %d: fake %s, %s %s", i, got, ref.name, want)
						}
						last = got
					}
					if !strings.Contains(last, tc.want) {
						t.Fatalf("both answered %s, want %s", last, tc.want)
					}
				})
			}
		})
	}
}
