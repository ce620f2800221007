package localstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"gopkg.in/yaml.v3"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/route"
)

// The template is the deployed truth; these tests hold the code to it.

type cfnTemplate struct {
	Globals struct {
		Function struct {
			Timeout     int `yaml:"Timeout"`
			Environment struct {
				Variables map[string]yaml.Node `yaml:"Variables"`
			} `yaml:"Environment"`
		} `yaml:"Function"`
	} `yaml:"Globals"`
	Resources map[string]struct {
		Type       string    `yaml:"Type"`
		Properties yaml.Node `yaml:"Properties"`
	} `yaml:"Resources"`
}

func loadTemplate(t *testing.T) cfnTemplate {
	t.Helper()
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tpl cfnTemplate
	if err := yaml.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	return tpl
}

// get walks a mapping node by keys.
func get(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

var functionOf = map[string]string{
	"SourceInboundFunction":     route.SourceInbound,
	"WebhookMessageFunction":    route.WebhookMessage,
	"WebhookEscalationFunction": route.WebhookEscalation,
	"WebhookActionFunction":     route.WebhookAction,
}

func TestTemplateRoutesMatchTheCode(t *testing.T) {
	tpl := loadTemplate(t)
	var got, want []string
	for logical, fn := range functionOf {
		res, ok := tpl.Resources[logical]
		if !ok {
			t.Fatalf("template has no %s", logical)
		}
		if uri := get(&res.Properties, "CodeUri"); uri != nil && uri.Value != "." {
			t.Errorf("%s: CodeUri must be . (one go.mod), got %s", logical, uri.Value)
		}
		evs := get(&res.Properties, "Events")
		for i := 0; evs != nil && i+1 < len(evs.Content); i += 2 {
			p := get(evs.Content[i+1], "Properties")
			if v := get(p, "PayloadFormatVersion"); v == nil || v.Value != "2.0" {
				t.Errorf("%s: event %s is not payload format 2.0", logical, evs.Content[i].Value)
			}
			path, method := get(p, "Path"), get(p, "Method")
			if path == nil {
				got = append(got, "$default "+fn)
				continue
			}
			got = append(got, strings.ToUpper(method.Value)+" "+path.Value+" "+fn)
		}
	}
	for _, r := range route.Table {
		if r.Method == apigw.DefaultRoute {
			want = append(want, "$default "+r.Target)
			continue
		}
		want = append(want, r.Method+" "+r.Pattern+" "+r.Target)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("template routes\n  %q\ncode routes\n  %q", got, want)
	}
	if to := tpl.Globals.Function.Timeout; to <= 0 || to >= 30 {
		t.Errorf("function timeout %d s must be under the HTTP API's 30 s", to)
	}
}

func TestTemplateEnvironmentIsWhatTheFunctionsRead(t *testing.T) {
	tpl := loadTemplate(t)
	vars := tpl.Globals.Function.Environment.Variables
	env := map[string]string{}
	for k := range vars {
		env[k] = "x"
	}
	env["DEAD_LETTER_TTL_DAYS"] = "14"
	if _, err := app.ConfigFromEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatalf("the template's environment does not configure the functions: %v", err)
	}
	for _, k := range []string{"TENANTS_TABLE", "STATE_TABLE", "ULTIMATE_BASE_URL", "LOG_LEVEL"} {
		if _, ok := vars[k]; !ok {
			t.Errorf("Globals.Function.Environment lacks %s", k)
		}
	}
	msg := tpl.Resources["WebhookMessageFunction"].Properties
	for _, k := range []string{"ESCALATION_FUNCTION", "ACTION_FUNCTION"} {
		if get(&msg, "Environment", "Variables", k) == nil {
			t.Errorf("WebhookMessageFunction lacks %s (the single URL forwards with it)", k)
		}
	}
}

func TestTemplateTablesMatchLocalProvisioning(t *testing.T) {
	tpl := loadTemplate(t)
	check := func(logical string, in *dynamodb.CreateTableInput) {
		p := tpl.Resources[logical].Properties
		keys := get(&p, "KeySchema")
		var got, want []string
		for _, k := range keys.Content {
			got = append(got, get(k, "AttributeName").Value+"/"+get(k, "KeyType").Value)
		}
		for _, k := range in.KeySchema {
			want = append(want, aws.ToString(k.AttributeName)+"/"+string(k.KeyType))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s key schema %v, local %v", logical, got, want)
		}
		if bm := get(&p, "BillingMode"); bm == nil || bm.Value != "PAY_PER_REQUEST" {
			t.Errorf("%s is not on-demand", logical)
		}
		if pitr := get(&p, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled"); pitr == nil || pitr.Value != "true" {
			t.Errorf("%s has no point-in-time recovery", logical)
		}
		var gsis []string
		if g := get(&p, "GlobalSecondaryIndexes"); g != nil {
			for _, idx := range g.Content {
				s := get(idx, "IndexName").Value
				for _, k := range get(idx, "KeySchema").Content {
					s += " " + get(k, "AttributeName").Value + "/" + get(k, "KeyType").Value
				}
				gsis = append(gsis, s)
			}
		}
		var local []string
		for _, idx := range in.GlobalSecondaryIndexes {
			s := aws.ToString(idx.IndexName)
			for _, k := range idx.KeySchema {
				s += " " + aws.ToString(k.AttributeName) + "/" + string(k.KeyType)
			}
			local = append(local, s)
		}
		if !slices.Equal(gsis, local) {
			t.Errorf("%s indexes %v, local %v", logical, gsis, local)
		}
	}
	check("TenantsTable", localstack.TenantsTableInput("t"))
	check("StateTable", localstack.StateTableInput("s"))
	p := tpl.Resources["StateTable"].Properties
	if ttl := get(&p, "TimeToLiveSpecification", "AttributeName"); ttl == nil || ttl.Value != localstack.TTLAttribute {
		t.Errorf("State table TTL attribute must be %s", localstack.TTLAttribute)
	}
}

// grants collects the DynamoDB actions a function's policies allow on a table.
func grants(t *testing.T, tpl cfnTemplate, logical, table string) []string {
	p := tpl.Resources[logical].Properties
	var out []string
	for _, pol := range get(&p, "Policies").Content {
		for _, st := range get(pol, "Statement").Content {
			res := get(st, "Resource")
			if res == nil || !strings.Contains(nodeText(res), table+".Arn") {
				continue
			}
			acts := get(st, "Action")
			if acts.Kind == yaml.ScalarNode {
				out = append(out, acts.Value)
			}
			for _, a := range acts.Content {
				out = append(out, a.Value)
			}
		}
	}
	sort.Strings(out)
	return out
}

func nodeText(n *yaml.Node) string {
	b, _ := yaml.Marshal(n)
	return string(b)
}

// recordingDB notes every DynamoDB action a handler performs (transactions
// by the actions inside them, which is how IAM authorizes them).
type recordingDB struct {
	app.DynamoDB
	mu  sync.Mutex
	ops map[string]map[string]bool // table → actions
}

func (r *recordingDB) note(table *string, op string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ops == nil {
		r.ops = map[string]map[string]bool{}
	}
	tb := aws.ToString(table)
	if r.ops[tb] == nil {
		r.ops[tb] = map[string]bool{}
	}
	r.ops[tb]["dynamodb:"+op] = true
}

func (r *recordingDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	r.note(in.TableName, "GetItem")
	return r.DynamoDB.GetItem(ctx, in, o...)
}
func (r *recordingDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	r.note(in.TableName, "PutItem")
	return r.DynamoDB.PutItem(ctx, in, o...)
}
func (r *recordingDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	r.note(in.TableName, "UpdateItem")
	return r.DynamoDB.UpdateItem(ctx, in, o...)
}
func (r *recordingDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	r.note(in.TableName, "DeleteItem")
	return r.DynamoDB.DeleteItem(ctx, in, o...)
}
func (r *recordingDB) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	r.note(in.TableName, "Query")
	return r.DynamoDB.Query(ctx, in, o...)
}
func (r *recordingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			r.note(it.Put.TableName, "PutItem")
		case it.Update != nil:
			r.note(it.Update.TableName, "UpdateItem")
		case it.Delete != nil:
			r.note(it.Delete.TableName, "DeleteItem")
		case it.ConditionCheck != nil:
			r.note(it.ConditionCheck.TableName, "ConditionCheckItem")
		}
	}
	return r.DynamoDB.TransactWriteItems(ctx, in, o...)
}

// Least privilege, checked both ways: every DynamoDB action a function
// performs on the samples is granted, and nothing else is.
func TestTemplateGrantsExactlyTheDynamoDBActionsUsed(t *testing.T) {
	tpl := loadTemplate(t)
	ctx := context.Background()
	for logical, fn := range functionOf {
		t.Run(fn, func(t *testing.T) {
			rec := &recordingDB{DynamoDB: stack.Serial}
			c := stack.Deps.Config
			c.ConfigTTL = 1 // re-read configuration on every request: config reads count too
			// A State table of its own, so earlier runs' conversations do
			// not change which paths the samples take.
			c.StateTable = fmt.Sprintf("iam-state-%d", time.Now().UnixNano())
			if err := localstack.CreateTables(ctx, stack.DB, stack.Opts.TenantsTable, c.StateTable); err != nil {
				t.Fatal(err)
			}
			d := app.Build(c, rec, stack.SM, app.Options{Out: io.Discard, Service: "iam", Retry: &fast})
			handlers := d.Handlers(nil)
			files, _ := filepath.Glob(filepath.Join("../../events", fn, "*.json"))
			for _, f := range files {
				raw, _ := os.ReadFile(f)
				raw, _, err := localstack.RefreshSignature(raw, "../../events/tenant", timeNow())
				if err != nil {
					t.Fatal(err)
				}
				var ev events.APIGatewayV2HTTPRequest
				if err := yamlJSON(raw, &ev); err != nil {
					t.Fatal(err)
				}
				if _, err := handlers[fn](ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			if fn == route.WebhookMessage {
				// The single URL forwards in-process here; the forwarded
				// functions' own grants cover those calls on AWS.
				rec.ops = nil
				for _, f := range files {
					if strings.Contains(f, "single-url") {
						continue
					}
					raw, _ := os.ReadFile(f)
					var ev events.APIGatewayV2HTTPRequest
					_ = yamlJSON(raw, &ev)
					_, _ = handlers[fn](ctx, ev)
				}
			}
			for table, logicalTable := range map[string]string{stack.Opts.TenantsTable: "TenantsTable", c.StateTable: "StateTable"} {
				var used []string
				for op := range rec.ops[table] {
					used = append(used, op)
				}
				sort.Strings(used)
				granted := grants(t, tpl, logical, logicalTable)
				for _, op := range used {
					if !slices.Contains(granted, op) {
						t.Errorf("%s performs %s on %s but the template does not grant it (grants %v)", fn, op, logicalTable, granted)
					}
				}
				extra := slices.DeleteFunc(slices.Clone(granted), func(op string) bool { return slices.Contains(used, op) || neededOffSamples[fn+" "+op+" "+logicalTable] })
				if len(extra) > 0 {
					t.Errorf("%s is granted %v on %s but never uses it (least privilege)", fn, extra, logicalTable)
				}
			}
		})
	}
}

// neededOffSamples are actions on failure paths the samples do not reach.
var neededOffSamples = map[string]bool{
	"source-inbound dynamodb:DeleteItem StateTable": true, // release a claim after an AI-agent outage
	"webhook-action dynamodb:GetItem StateTable":    true, // conversation attributes for built-ins of adapters that keep them
}

func timeNow() time.Time { return time.Now() }

func yamlJSON(b []byte, v any) error { return json.Unmarshal(b, v) }
