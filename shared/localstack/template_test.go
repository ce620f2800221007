package localstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"gopkg.in/yaml.v3"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/localstack"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/secrets"
	"github.com/crmbridge/crmbridge/shared/tenant"
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

// TestTemplateNeverLocalEgress: the deployed functions' outbound calls are
// guarded strictly; only the local stack sets EGRESS_LOCAL.
func TestTemplateNeverLocalEgress(t *testing.T) {
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "EGRESS_LOCAL") {
		t.Fatal("template.yaml sets EGRESS_LOCAL: deployed functions would reach loopback")
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

// recordingDB notes every DynamoDB action a handler performs.
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

// recordingSM notes the names of the secrets a handler reads.
type recordingSM struct {
	secrets.API
	mu    sync.Mutex
	names map[string]bool
}

func (r *recordingSM) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, o ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	r.mu.Lock()
	if r.names == nil {
		r.names = map[string]bool{}
	}
	r.names[aws.ToString(in.SecretId)] = true
	r.mu.Unlock()
	return r.API.GetSecretValue(ctx, in, o...)
}

// secretGrants collects the secret ARN patterns a function may read, as the
// part after "secret:".
func secretGrants(t *testing.T, tpl cfnTemplate, logical string) []string {
	t.Helper()
	p := tpl.Resources[logical].Properties
	var out []string
	for _, pol := range get(&p, "Policies").Content {
		for _, st := range get(pol, "Statement").Content {
			if a := get(st, "Action"); a == nil || !strings.Contains(nodeText(a), "secretsmanager:") {
				continue
			}
			res := get(st, "Resource")
			list := res.Content
			if res.Kind == yaml.ScalarNode {
				list = []*yaml.Node{res}
			}
			for _, r := range list {
				_, pattern, ok := strings.Cut(r.Value, ":secret:")
				if !ok {
					t.Fatalf("%s: secret grant %q is not a secret ARN", logical, r.Value)
				}
				out = append(out, pattern)
			}
		}
	}
	sort.Strings(out)
	return out
}

// arnMatch is IAM's matching of a resource pattern: * any run of
// characters (slashes too), ? exactly one.
func arnMatch(pattern, s string) bool {
	var re strings.Builder
	re.WriteString("^")
	for _, c := range pattern {
		switch c {
		case '*':
			re.WriteString(".*")
		case '?':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	re.WriteString("$")
	return regexp.MustCompile(re.String()).MatchString(s)
}

// arnOf is the name part of a secret's ARN: Secrets Manager appends a
// hyphen and six random characters.
func arnOf(name string) string { return name + "-Ab1Cd2" }

// The secret grants are the tenant's naming rules, nothing wider: each
// function may read exactly the names the rules allow for what it does.
func TestTemplateSecretGrantsAreTheNamingRules(t *testing.T) {
	tpl := loadTemplate(t)
	const id = "64f1c0ffee0ddba11ad0be57"
	want := map[string][]string{ // function → the kinds it reads
		"SourceInboundFunction":     {"agents", "sources"},
		"WebhookMessageFunction":    {"agents", "sources"},
		"WebhookEscalationFunction": {"agents", "sources"},
		"WebhookActionFunction":     {"actions", "agents", "sources"},
	}
	readable := map[string][]string{
		"agents":  {tenant.AgentSecretName(id)},
		"sources": {tenant.SourceSecretName("generic", "demo"), tenant.SourceSecretName("liveperson", "90412077"), tenant.SourceSecretName("sunshine", "app_1.x")},
		"actions": {tenant.ActionSecretPrefix(id) + "shop"},
	}
	// Names no rule allows, which no grant may match.
	refused := []string{
		"crmbridge/agents/a1", "crmbridge/agents/" + id + "/x", "crmbridge/agents/" + id + "0",
		"crmbridge/sources/generic", "crmbridge/actions/test/shop", "crmbridge/actions/" + id,
		"crmbridge/other", "prod/db-password", "crmbridge-staging/agents/" + id,
	}
	for logical, kinds := range want {
		grants := secretGrants(t, tpl, logical)
		if len(grants) != len(kinds) {
			t.Errorf("%s: secret grants %v, want one per kind %v", logical, grants, kinds)
		}
		for _, kind := range []string{"agents", "sources", "actions"} {
			allowed := slices.Contains(kinds, kind)
			for _, name := range readable[kind] {
				matched := slices.ContainsFunc(grants, func(g string) bool { return arnMatch(g, arnOf(name)) })
				if matched != allowed {
					t.Errorf("%s: may read %s: %v, want %v (grants %v)", logical, name, matched, allowed, grants)
				}
			}
		}
		for _, name := range refused {
			if _, err := tenant.ParseSecretName(name); err == nil {
				t.Fatalf("%s is a valid name; the test needs an invalid one", name)
			}
			for _, g := range grants {
				if arnMatch(g, arnOf(name)) {
					t.Errorf("%s: grant %s matches %s, which no naming rule allows", logical, g, name)
				}
			}
		}
	}
}

// Least privilege, checked both ways: every DynamoDB and SQS action a
// function performs on the samples (its HTTP samples, its SQS samples, and
// the deliveries of what the HTTP side queued, through the Lambda-like
// poller) is granted, and nothing else is; every secret it reads is
// granted, and every secret grant is used.
func TestTemplateGrantsExactlyTheActionsUsed(t *testing.T) {
	tpl := loadTemplate(t)
	ctx := context.Background()
	for logical, fn := range functionOf {
		t.Run(fn, func(t *testing.T) {
			rec := &recordingDB{DynamoDB: stack.Serial}
			queues, err := stack.NewQueues(ctx, fmt.Sprintf("iam%d", time.Now().UnixNano()%1e9), 6*stack.Opts.FunctionTimeout)
			if err != nil {
				t.Fatal(err)
			}
			recSQS := &recordingSQS{QueueAPI: stack.SQS, notify: stack.QueueClient(), logical: map[string]string{
				queues.Inbound: "InboundQueue", queues.Outbound: "OutboundQueue",
			}}
			c := stack.Deps.Config
			c.ConfigTTL = 1  // re-read configuration on every request: config reads count too
			c.SecretsTTL = 1 // and secrets
			// A State table of its own, so earlier runs' conversations do
			// not change which paths the samples take.
			c.StateTable = fmt.Sprintf("iam-state-%d", time.Now().UnixNano())
			if err := localstack.CreateTables(ctx, stack.DB, stack.Opts.TenantsTable, c.StateTable); err != nil {
				t.Fatal(err)
			}
			c.InboundQueueURL, c.OutboundQueueURL = queues.Inbound, queues.Outbound
			sm := &recordingSM{API: stack.SM}
			d := app.Build(c, rec, sm, app.Options{Out: io.Discard, Service: "iam", Retry: &fast, SQS: recSQS, Delivery: &fastDelivery})
			handlers, entries := d.Handlers(nil), d.Entries(nil)
			files, _ := filepath.Glob(filepath.Join("../../events", fn, "*.json"))
			for _, f := range files {
				raw, _ := os.ReadFile(f)
				if strings.HasPrefix(filepath.Base(f), "sqs-") {
					if _, err := entries[fn](ctx, raw); err != nil {
						t.Fatal(err)
					}
					continue
				}
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
				rec.ops, sm.names = nil, nil
				recSQS.reset()
				for _, f := range files {
					if strings.Contains(f, "single-url") || strings.HasPrefix(filepath.Base(f), "sqs-") {
						continue
					}
					raw, _ := os.ReadFile(f)
					var ev events.APIGatewayV2HTTPRequest
					_ = yamlJSON(raw, &ev)
					_, _ = handlers[fn](ctx, ev)
				}
			}
			// The queue side: what the HTTP side queued, delivered by the
			// function's event source mapping (Lambda's calls are made
			// with the function's role too).
			stop := consumeUnder(t, d, c, fn, localstack.RunOptions{SQS: recSQS})
			drain(t)
			stop()
			for _, q := range []string{"InboundQueue", "OutboundQueue"} {
				used := recSQS.used(q)
				granted := sqsGrants(tpl, logical, q)
				if !slices.Equal(used, granted) && !slices.Equal(slices.DeleteFunc(slices.Clone(granted), func(op string) bool { return neededOffSamples[fn+" "+op+" "+q] }), used) {
					t.Errorf("%s on %s: uses %v, granted %v (least privilege, both ways)", fn, q, used, granted)
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
			grants := secretGrants(t, tpl, logical)
			usedGrant := map[string]bool{}
			for name := range sm.names {
				i := slices.IndexFunc(grants, func(g string) bool { return arnMatch(g, arnOf(name)) })
				if i < 0 {
					t.Errorf("%s reads secret %s but the template does not grant it (grants %v)", fn, name, grants)
					continue
				}
				usedGrant[grants[i]] = true
			}
			for _, g := range grants {
				if !usedGrant[g] {
					t.Errorf("%s is granted secrets %s but reads none on the samples (least privilege)", fn, g)
				}
			}
		})
	}
}

// consumeUnder starts d's consumer of fn's queue, if fn has one (its calls
// made with d's clients, which the test records), and for what fn queued
// for another function (a handover's barrier on the outbound queue, …)
// that function's consumer, over clients that record nothing: that work
// is done under the other function's role. stop ends both.
func consumeUnder(t *testing.T, d *app.Deps, c app.Config, fn string, o localstack.RunOptions) (stop func()) {
	t.Helper()
	other := app.Build(c, stack.Serial, stack.SM, app.Options{Out: io.Discard, Service: "iam-other", Retry: &fast, SQS: stack.QueueClient(), Delivery: &fastDelivery})
	var rest []string
	for _, f := range []string{route.SourceInbound, route.WebhookMessage} {
		if f != fn {
			rest = append(rest, f)
		}
	}
	o.Functions = []string{fn}
	own, err := stack.Run(d, o)
	if err != nil {
		t.Fatal(err)
	}
	others, err := stack.Run(other, localstack.RunOptions{Functions: rest})
	if err != nil {
		own.Stop()
		t.Fatal(err)
	}
	return func() { own.Stop(); others.Stop() }
}

// neededOffSamples are actions on paths the samples do not reach.
var neededOffSamples = map[string]bool{
	"source-inbound dynamodb:DeleteItem StateTable":  true, // give a claim back when the event could not be queued
	"webhook-message dynamodb:DeleteItem StateTable": true, // the same for a bot message
	"webhook-message dynamodb:GetItem StateTable":    true, // a failed multi-part send's progress, read on redelivery
	"webhook-action dynamodb:GetItem StateTable":     true, // conversation attributes for built-ins of adapters that keep them
	// Twilio's closeConversation unmaps the conversation's address; a sample
	// cannot name a Twilio conversation (its ID is random).
	"webhook-action dynamodb:UpdateItem StateTable": true,
	// A failed record's retry delay.
	"source-inbound sqs:ChangeMessageVisibility InboundQueue":   true,
	"webhook-message sqs:ChangeMessageVisibility OutboundQueue": true,
	// The handover's barrier behind a conversation's bot messages
	// (escalate, and the inbound fallback), sent by shared/handover.
	"source-inbound sqs:SendMessage OutboundQueue":     true,
	"webhook-escalation sqs:SendMessage OutboundQueue": true,
}

// recordingSQS notes the SQS actions made on each queue, as IAM names
// them (a batch delete is sqs:DeleteMessage); sends also wake the stack's
// Drain.
type recordingSQS struct {
	localstack.QueueAPI
	notify  app.SQS
	logical map[string]string // queue URL → template resource
	mu      sync.Mutex
	ops     map[string]map[string]bool
}

func (r *recordingSQS) note(url string, action string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ops == nil {
		r.ops = map[string]map[string]bool{}
	}
	q := r.logical[url]
	if r.ops[q] == nil {
		r.ops[q] = map[string]bool{}
	}
	r.ops[q]["sqs:"+action] = true
}

func (r *recordingSQS) reset() {
	r.mu.Lock()
	r.ops = nil
	r.mu.Unlock()
}

func (r *recordingSQS) used(queue string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for op := range r.ops[queue] {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

func (r *recordingSQS) SendMessage(ctx context.Context, in queue.SendRequest) error {
	r.note(in.QueueURL, "SendMessage")
	return r.notify.SendMessage(ctx, in)
}

func (r *recordingSQS) ChangeMessageVisibility(ctx context.Context, in queue.VisibilityRequest) error {
	r.note(in.QueueURL, "ChangeMessageVisibility")
	return r.notify.ChangeMessageVisibility(ctx, in)
}

func (r *recordingSQS) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, o ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	r.note(aws.ToString(in.QueueUrl), "ReceiveMessage")
	return r.QueueAPI.ReceiveMessage(ctx, in, o...)
}

func (r *recordingSQS) DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, o ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	r.note(aws.ToString(in.QueueUrl), "DeleteMessage")
	return r.QueueAPI.DeleteMessageBatch(ctx, in, o...)
}

func (r *recordingSQS) GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, o ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	r.note(aws.ToString(in.QueueUrl), "GetQueueAttributes")
	return r.QueueAPI.GetQueueAttributes(ctx, in, o...)
}

// sqsGrants collects the SQS actions a function's policies allow on a queue.
func sqsGrants(tpl cfnTemplate, logical, queue string) []string {
	p := tpl.Resources[logical].Properties
	var out []string
	for _, pol := range get(&p, "Policies").Content {
		for _, st := range get(pol, "Statement").Content {
			res := get(st, "Resource")
			if res == nil || !strings.Contains(nodeText(res), queue+".Arn") {
				continue
			}
			acts := get(st, "Action")
			list := acts.Content
			if acts.Kind == yaml.ScalarNode {
				list = []*yaml.Node{acts}
			}
			for _, a := range list {
				if strings.HasPrefix(a.Value, "sqs:") {
					out = append(out, a.Value)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// The queues are FIFO, encrypted, kept longer than any account's maximum
// age, visible again only after 6 × the function timeout, and redriven
// only past what the retry schedule can reach: as the local stack creates
// them.
func TestTemplateQueuesMatchLocalProvisioning(t *testing.T) {
	tpl := loadTemplate(t)
	bound := queue.DefaultBackoff.Receives(tenant.MaxMaxAge)
	t.Logf("a record failing for %s is received at most %d times (maxReceiveCount %d)", tenant.MaxMaxAge, bound, localstack.QueueMaxReceiveCount)
	if localstack.QueueMaxReceiveCount < bound+100 || localstack.QueueMaxReceiveCount > 1000 {
		t.Fatalf("maxReceiveCount %d must be within SQS's 1000 and leave 100 receives above the schedule's %d (invocations that fail as a whole)", localstack.QueueMaxReceiveCount, bound)
	}
	for _, q := range []struct{ main, redrive string }{{"InboundQueue", "InboundRedriveQueue"}, {"OutboundQueue", "OutboundRedriveQueue"}} {
		res, ok := tpl.Resources[q.main]
		if !ok || res.Type != "AWS::SQS::Queue" {
			t.Fatalf("template has no queue %s", q.main)
		}
		p := res.Properties
		vis, _ := strconv.Atoi(get(&p, "VisibilityTimeout").Value)
		if vis < 6*tpl.Globals.Function.Timeout {
			t.Errorf("%s: visibility %d s, want at least 6 × the function timeout %d s", q.main, vis, tpl.Globals.Function.Timeout)
		}
		want := localstack.QueueAttributes(time.Duration(vis)*time.Second, "")
		for _, k := range []string{"FifoQueue", "ContentBasedDeduplication", "SqsManagedSseEnabled", "MessageRetentionPeriod"} {
			if v := get(&p, k); v == nil || v.Value != want[k] {
				t.Errorf("%s: %s = %v, local %s", q.main, k, v, want[k])
			}
		}
		if ret, _ := strconv.Atoi(want["MessageRetentionPeriod"]); time.Duration(ret)*time.Second <= tenant.MaxMaxAge {
			t.Errorf("%s: retention %d s is not above the longest maximum age %s", q.main, ret, tenant.MaxMaxAge)
		}
		target := get(&p, "RedrivePolicy", "deadLetterTargetArn")
		if target == nil || target.Tag != "!GetAtt" || target.Value != q.redrive+".Arn" {
			t.Errorf("%s: redrive target %v, want %s", q.main, target, q.redrive)
		}
		if n := get(&p, "RedrivePolicy", "maxReceiveCount"); n == nil || n.Value != strconv.Itoa(localstack.QueueMaxReceiveCount) {
			t.Errorf("%s: maxReceiveCount %v, want %d", q.main, n, localstack.QueueMaxReceiveCount)
		}
		rp := tpl.Resources[q.redrive].Properties
		for k, v := range localstack.RedriveQueueAttributes() {
			if got := get(&rp, k); got == nil || got.Value != v {
				t.Errorf("%s: %s = %v, local %s", q.redrive, k, got, v)
			}
		}
	}
}

// Each consumer's event source mapping reports partial batch failures,
// takes batches of 10 and has bounded concurrency; the functions get
// their queues' URLs.
func TestTemplateEventSourceMappings(t *testing.T) {
	tpl := loadTemplate(t)
	mappings := map[string]string{} // function → queue
	for name, res := range tpl.Resources {
		if res.Type != "AWS::Lambda::EventSourceMapping" {
			continue
		}
		p := res.Properties
		fn, q := get(&p, "FunctionName"), get(&p, "EventSourceArn")
		mappings[fn.Value] = strings.TrimSuffix(q.Value, ".Arn")
		if frt := get(&p, "FunctionResponseTypes"); frt == nil || len(frt.Content) != 1 || frt.Content[0].Value != "ReportBatchItemFailures" {
			t.Errorf("%s: FunctionResponseTypes must be [ReportBatchItemFailures]", name)
		}
		if bs := get(&p, "BatchSize"); bs == nil || bs.Value != "10" {
			t.Errorf("%s: BatchSize %v, want 10", name, bs)
		}
		if mc := get(&p, "ScalingConfig", "MaximumConcurrency"); mc == nil {
			t.Errorf("%s: no ScalingConfig.MaximumConcurrency", name)
		}
	}
	want := map[string]string{"SourceInboundFunction": "InboundQueue", "WebhookMessageFunction": "OutboundQueue"}
	if fmt.Sprint(mappings) != fmt.Sprint(want) {
		t.Fatalf("mappings %v, want %v", mappings, want)
	}
	for logical, fn := range functionOf {
		p := tpl.Resources[logical].Properties
		env := map[string]string{"TENANTS_TABLE": "t", "STATE_TABLE": "s"}
		for _, k := range []string{"INBOUND_QUEUE_URL", "OUTBOUND_QUEUE_URL"} {
			if v := get(&p, "Environment", "Variables", k); v != nil {
				env[k] = v.Value
				if q := map[string]string{"INBOUND_QUEUE_URL": "InboundQueue", "OUTBOUND_QUEUE_URL": "OutboundQueue"}[k]; v.Tag != "!Ref" || v.Value != q {
					t.Errorf("%s: %s = %s %s, want !Ref %s", logical, k, v.Tag, v.Value, q)
				}
			}
		}
		cfg, err := app.ConfigFromEnv(func(k string) string { return env[k] })
		if err == nil {
			err = cfg.Needs(fn)
		}
		if err != nil {
			t.Errorf("%s: %v", logical, err)
		}
	}
}

func timeNow() time.Time { return time.Now() }

func yamlJSON(b []byte, v any) error { return json.Unmarshal(b, v) }
