// Package localstack runs crmbridge on one machine: moto_server for
// DynamoDB and Secrets Manager, fauxqs for the SQS FIFO queues, the tables,
// queues and the demo tenant, the fake AI agent, a demo tenant desk, the
// four handlers behind a local HTTP API with the same routes as the
// deployed one, and one Lambda-like event source poller per queue into the
// same handlers (shared/esm). `make run` and the end-to-end tests both use
// it.
package localstack

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/app"
	"github.com/crmbridge/crmbridge/shared/dynamodblocal"
	"github.com/crmbridge/crmbridge/shared/fauxqs"
	"github.com/crmbridge/crmbridge/shared/motoserver"
	"github.com/crmbridge/crmbridge/shared/queue"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/route"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/source/liveperson/lptest"
	"github.com/crmbridge/crmbridge/shared/source/sunshine"
	"github.com/crmbridge/crmbridge/shared/source/sunshine/sunshinetest"
	"github.com/crmbridge/crmbridge/shared/source/twilio/twiliotest"
	"github.com/crmbridge/crmbridge/shared/stdwebhook"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate/ultimatetest"
)

// Demo tenant facts (the files in events/tenant hold the rest).
const (
	DemoAgentID = "64f1c0ffee0ddba11ad0be57"
	DemoAccount = "demo"
)

// Options configure a Stack. Zero values pick the defaults of `make run`.
type Options struct {
	Addr         string // local HTTP API; default 127.0.0.1:3000 (":0" picks a free port)
	AgentAddr    string // fake AI agent; default 127.0.0.1:3001
	SunshineAddr string // fake Sunshine Conversations API; default 127.0.0.1:3100
	// LivePersonAddr is the fake LivePerson Third-Party Bots Public API;
	// default 127.0.0.1:8095.
	LivePersonAddr string
	EventsDir      string // default "events"
	TenantsTable   string // default crmbridge-tenants
	StateTable     string // default crmbridge-state
	// Endpoint is an AWS endpoint to use instead of starting moto_server
	// (must be loopback: the local stack never touches a real account).
	Endpoint string
	// DynamoDB chooses the DynamoDB emulator: "" (moto_server, at Endpoint
	// if set) or DynamoDBLocal, Amazon's DynamoDB Local, which carries a
	// load moto cannot (BENCHMARKS.md). Secrets Manager stays on moto_server.
	DynamoDB string
	// AWSConfig, if set, adjusts the SDK configuration of every AWS client
	// the stack builds (the benchmark counts calls with it).
	AWSConfig func(*aws.Config)
	// AgentBaseURL points at a real AI agent instead of the fake one.
	AgentBaseURL string
	LogLevel     string
	Out          io.Writer // handler logs (JSON lines); default io.Discard
	Print        func(format string, args ...any)
	// Progress is told each step of Start as it begins (`make run` prints
	// them); nil says nothing.
	Progress func(step string)
	// Retry overrides the outbound retry policy (tests make it fast).
	Retry *retry.Policy
	// FunctionTimeout is the deadline each invocation gets, as on Lambda.
	FunctionTimeout time.Duration
	// SQSEndpoint is a running fauxqs to use instead of starting one
	// (loopback only, like Endpoint).
	SQSEndpoint string
	// Delivery replaces the queue consumers' retry settings (tests make
	// them short).
	Delivery *app.Delivery
}

// DynamoDBLocal is the Options.DynamoDB value for Amazon's DynamoDB Local.
const DynamoDBLocal = "dynamodb-local"

// Stack is a running local crmbridge.
type Stack struct {
	API      string // base URL of the local HTTP API
	AgentURL string // base URL of the fake AI agent ("" with a real one)
	Moto     *motoserver.Server
	Agent    *ultimatetest.Server
	Sunshine *sunshinetest.Server // the demo Sunshine app's API
	// LivePerson is the demo LivePerson account's Public API; LivePersonURL
	// its base URL.
	LivePerson    *lptest.PublicAPI
	LivePersonURL string
	stopLP        func()
	lpSim         *lpSimulator
	// Twilio is the fake Twilio API of the demo accounts (a free port);
	// TwilioURL its base URL.
	Twilio    *twiliotest.Server
	TwilioURL string
	Desk      *Desk
	Deps      *app.Deps
	DB        *dynamodb.Client
	Serial    *SerialDB // DB with the write isolation moto lacks; the handlers use it
	SM        *secretsmanager.Client
	Opts      Options
	Endpoint  string // the AWS endpoint (moto_server) the stack uses
	// DynamoDBLocal runs with Options.DynamoDB DynamoDBLocal; then
	// DynamoDBEndpoint is its URL, else Endpoint.
	DynamoDBLocal    *dynamodblocal.Server
	DynamoDBEndpoint string
	// Fauxqs is the queue emulator (nil when Options.SQSEndpoint named
	// one), SQSEndpoint its URL, SQS a client of it, Queues the stack's.
	Fauxqs      *fauxqs.Server
	SQSEndpoint string
	SQS         QueueAPI
	Queues      Queues

	srv       *http.Server
	handlers  map[string]apigw.LambdaHandler
	act       *activity
	mu        sync.Mutex
	queues    []Queues
	pipelines []*Pipeline
	play      playground // the browser playground (playground.go)
}

func (o *Options) defaults() {
	o.Addr = cmp.Or(o.Addr, "127.0.0.1:3000")
	o.AgentAddr = cmp.Or(o.AgentAddr, "127.0.0.1:3001")
	o.SunshineAddr = cmp.Or(o.SunshineAddr, "127.0.0.1:3100")
	o.LivePersonAddr = cmp.Or(o.LivePersonAddr, "127.0.0.1:8095")
	o.EventsDir = cmp.Or(o.EventsDir, "events")
	o.TenantsTable = cmp.Or(o.TenantsTable, "crmbridge-tenants")
	o.StateTable = cmp.Or(o.StateTable, "crmbridge-state")
	o.LogLevel = cmp.Or(o.LogLevel, "INFO")
	o.FunctionTimeout = cmp.Or(o.FunctionTimeout, 20*time.Second)
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Print == nil {
		o.Print = func(string, ...any) {}
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
}

// Start brings everything up. Close stops it.
func Start(ctx context.Context, opts Options) (st *Stack, err error) {
	opts.defaults()
	st = &Stack{Opts: opts, act: &activity{}}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()

	// Listen first, so the demo items can name the real address.
	apiLn, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (is another `make run` running?)", opts.Addr, err)
	}
	st.API = "http://" + apiLn.Addr().String()

	endpoint := opts.Endpoint
	if endpoint == "" {
		opts.Progress("starting moto_server (DynamoDB, Secrets Manager) on a free port")
		if st.Moto, err = motoserver.Start(ctx); err != nil {
			apiLn.Close()
			return nil, err
		}
		endpoint = st.Moto.URL
	} else if !isLoopback(endpoint) {
		apiLn.Close()
		return nil, fmt.Errorf("endpoint %s is not on loopback; the local stack only talks to a local emulator", endpoint)
	}
	st.Endpoint = endpoint
	awsCfg, err := (&motoserver.Server{URL: endpoint}).Config(ctx)
	if err != nil {
		apiLn.Close()
		return nil, err
	}
	dbCfg, dbOpts := awsCfg, []func(*dynamodb.Options){}
	st.DynamoDBEndpoint = endpoint
	switch opts.DynamoDB {
	case "":
	case DynamoDBLocal:
		if st.DynamoDBLocal, err = dynamodblocal.Start(ctx); err == nil {
			dbCfg, err = st.DynamoDBLocal.Config(ctx)
		}
		if err != nil {
			apiLn.Close()
			return nil, err
		}
		st.DynamoDBEndpoint, dbOpts = st.DynamoDBLocal.URL, append(dbOpts, dynamodblocal.ClientOptions)
	default:
		apiLn.Close()
		return nil, fmt.Errorf("unknown DynamoDB emulator %q (moto_server is the default; or %s)", opts.DynamoDB, DynamoDBLocal)
	}
	if opts.AWSConfig != nil {
		opts.AWSConfig(&awsCfg)
		opts.AWSConfig(&dbCfg)
	}
	st.DB, st.SM = dynamodb.NewFromConfig(dbCfg, dbOpts...), secretsmanager.NewFromConfig(awsCfg)
	st.Serial = NewSerialDB(st.DB)
	opts.Progress("creating the tables at " + endpoint)
	if err := CreateTables(ctx, st.DB, opts.TenantsTable, opts.StateTable); err != nil {
		apiLn.Close()
		return nil, err
	}
	tenantDir := filepath.Join(opts.EventsDir, "tenant")
	opts.Progress("starting the fake Sunshine Conversations and LivePerson APIs")
	if err := st.startSunshine(tenantDir); err != nil {
		apiLn.Close()
		return nil, err
	}
	if err := st.startLivePerson(tenantDir); err != nil {
		apiLn.Close()
		return nil, err
	}
	if err := st.startTwilio(tenantDir); err != nil {
		apiLn.Close()
		return nil, err
	}
	opts.Progress("seeding the demo tenant from " + tenantDir)
	if err := Seed(ctx, st.DB, st.SM, tenantDir, opts.TenantsTable, st.patch); err != nil {
		apiLn.Close()
		return nil, err
	}

	// The demo desk verifies callbacks with the account's callback secret.
	src, err := tenant.ReadSecretFile(filepath.Join(tenantDir, "secret-source-generic-demo.json"))
	if err != nil {
		apiLn.Close()
		return nil, err
	}
	var creds generic.Credentials
	if err := json.Unmarshal([]byte(src.SecretString), &creds); err != nil {
		apiLn.Close()
		return nil, fmt.Errorf("demo source secret: %w", err)
	}
	cb, err := stdwebhook.ParseSecret(creds.CallbackSecret)
	if err != nil {
		apiLn.Close()
		return nil, fmt.Errorf("demo source callbackSecret: %w", err)
	}
	st.Desk = &Desk{Secret: cb, Online: true, Print: opts.Print, Now: time.Now}

	baseURL := opts.AgentBaseURL
	if baseURL == "" {
		opts.Progress("starting the fake AI agent")
		if err := st.startAgent(ctx, tenantDir); err != nil {
			apiLn.Close()
			return nil, err
		}
		baseURL = st.AgentURL
	}

	if err := st.startQueues(ctx); err != nil {
		apiLn.Close()
		return nil, err
	}
	cfg := app.Config{
		TenantsTable: opts.TenantsTable, StateTable: opts.StateTable, UltimateBaseURL: baseURL,
		LogLevel: opts.LogLevel, Stage: "local", LocalEgress: true,
		DeadLetterTTL: 14 * 24 * time.Hour, ConfigTTL: 2 * time.Second, SecretsTTL: 5 * time.Minute,
		InboundQueueURL: st.Queues.Inbound, OutboundQueueURL: st.Queues.Outbound,
	}
	// moto needs SerialDB's lock (see there); DynamoDB Local isolates
	// transactions itself, and the lock would cap a load run.
	var db app.DynamoDB = st.Serial
	if st.DynamoDBLocal != nil {
		db = st.DB
	}
	st.Deps = app.Build(cfg, db, st.SM, app.Options{Out: opts.Out, Service: "local", Retry: opts.Retry, SQS: st.QueueClient(), Delivery: opts.Delivery})
	st.handlers = st.Deps.Handlers(nil)
	observe := st.Deps.Delivery.Observe
	st.Deps.Delivery.Observe = func(function string, r queue.Record, o queue.Outcome) {
		if observe != nil {
			observe(function, r, o)
		}
		st.play.observe(function, r, o)
	}
	if _, err := st.Run(st.Deps, RunOptions{}); err != nil {
		apiLn.Close()
		return nil, err
	}
	st.srv = &http.Server{Handler: st, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = st.srv.Serve(apiLn) }()
	return st, nil
}

// startQueues starts fauxqs (or uses Options.SQSEndpoint) and creates the
// stack's queues, with the template's visibility of 6 × the function
// timeout.
func (st *Stack) startQueues(ctx context.Context) error {
	st.SQSEndpoint = st.Opts.SQSEndpoint
	if st.SQSEndpoint == "" {
		f, err := fauxqs.Start(ctx)
		if err != nil {
			return err
		}
		st.Fauxqs, st.SQSEndpoint = f, f.URL
	} else if !isLoopback(st.SQSEndpoint) {
		return fmt.Errorf("SQS endpoint %s is not on loopback; the local stack only talks to a local emulator", st.SQSEndpoint)
	}
	cfg, err := (&fauxqs.Server{URL: st.SQSEndpoint}).Config(ctx)
	if err != nil {
		return err
	}
	if st.Opts.AWSConfig != nil {
		st.Opts.AWSConfig(&cfg) // the queues' calls are counted too (cmd/bench)
	}
	st.SQS = sqs.NewFromConfig(cfg)
	st.Queues, err = st.NewQueues(ctx, "crmbridge", 6*st.Opts.FunctionTimeout)
	return err
}

// patch points the demo items' local URLs (the generic account's callback,
// the demo http action, the Sunshine app's API) at this stack's addresses.
func (st *Stack) patch(it tenant.Item) {
	rewriteStrings(it, func(s string) string {
		s = strings.ReplaceAll(s, "http://127.0.0.1:3000", st.API)
		if st.Sunshine != nil {
			s = strings.ReplaceAll(s, "http://127.0.0.1:3100", st.Sunshine.URL())
		}
		if st.LivePerson != nil {
			s = strings.ReplaceAll(s, "http://127.0.0.1:8095", st.LivePersonURL)
		}
		if st.Twilio != nil {
			s = strings.ReplaceAll(s, twilioPlaceholder, st.TwilioURL)
		}
		return s
	})
}

// Demo Sunshine Conversations app (its items are in events/tenant).
const (
	DemoSunshineApp         = "64f1c0ffee0ddba11ad5a0a1"
	DemoSunshineIntegration = "64f1c0ffee0ddba11ad5a1a1"
)

// startLivePerson runs the fake LivePerson Public API for the demo account.
func (st *Stack) startLivePerson(tenantDir string) error {
	sf, err := tenant.ReadSecretFile(filepath.Join(tenantDir, "secret-source-liveperson-demo.json"))
	if err != nil {
		return nil // no demo LivePerson account in this events directory
	}
	var creds struct{ Username, Password string }
	if err := json.Unmarshal([]byte(sf.SecretString), &creds); err != nil {
		return fmt.Errorf("demo LivePerson secret: %w", err)
	}
	st.LivePerson = lptest.NewPublicAPI(lptest.DemoAccount, creds.Username, creds.Password)
	st.LivePersonURL, st.stopLP, err = st.LivePerson.Start(st.Opts.LivePersonAddr)
	if err != nil {
		st.LivePerson = nil
		return fmt.Errorf("start the fake LivePerson Public API on %s: %w", st.Opts.LivePersonAddr, err)
	}
	st.lpSim = &lpSimulator{api: st.API, lp: st.LivePerson}
	return nil
}

// startSunshine runs the fake Sunshine Conversations API for the demo app,
// delivering its webhooks to this stack.
func (st *Stack) startSunshine(tenantDir string) error {
	sf, err := tenant.ReadSecretFile(filepath.Join(tenantDir, "secret-source-sunshine-demo.json"))
	if err != nil {
		return nil // no demo Sunshine app in this events directory
	}
	var creds sunshine.Credentials
	if err := json.Unmarshal([]byte(sf.SecretString), &creds); err != nil {
		return fmt.Errorf("demo Sunshine secret: %w", err)
	}
	st.Sunshine = sunshinetest.New(sunshinetest.Options{
		AppID: DemoSunshineApp, KeyID: creds.KeyID, KeySecret: creds.KeySecret, IntegrationID: DemoSunshineIntegration,
		IncludeFullUser: true, WebhookTarget: st.API + "/sources/sunshine/" + DemoSunshineApp, WebhookSecret: creds.WebhookSecret,
	})
	if _, err := st.Sunshine.StartAt(st.Opts.SunshineAddr); err != nil {
		st.Sunshine = nil
		return fmt.Errorf("start the fake Sunshine API on %s: %w", st.Opts.SunshineAddr, err)
	}
	return nil
}

func (st *Stack) startAgent(ctx context.Context, tenantDir string) error {
	sec, err := tenant.ReadSecretFile(filepath.Join(tenantDir, "secret-agent-demo.json"))
	if err != nil {
		return err
	}
	var as tenant.AgentSecret
	if err := json.Unmarshal([]byte(sec.SecretString), &as); err != nil {
		return fmt.Errorf("demo agent secret: %w", err)
	}
	agent, err := st.demoAgent(ctx)
	if err != nil {
		return err
	}
	st.Agent = ultimatetest.New(ultimatetest.Options{
		Agents: []ultimatetest.Agent{{
			ID: DemoAgentID, APIKey: as.APIKey, WebhookURL: st.API + "/webhooks",
			WebhookAuth: agent.WebhookAuth, WebhookSecret: as.WebhookSecret,
		}},
		Log: slog.New(slog.NewJSONHandler(st.Opts.Out, nil)),
	})
	st.AgentURL, err = st.Agent.Start(st.Opts.AgentAddr)
	if err != nil {
		return fmt.Errorf("start the fake AI agent on %s: %w", st.Opts.AgentAddr, err)
	}
	return nil
}

func (st *Stack) demoAgent(ctx context.Context) (*tenant.Agent, error) {
	l := &tenant.Loader{DB: st.DB, Table: st.Opts.TenantsTable}
	return l.Agent(ctx, DemoAgentID)
}

// ServeHTTP routes like the HTTP API, plus the demo desk under /demo/.
func (st *Stack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if st.servePlayground(w, r) {
		return
	}
	if strings.HasPrefix(r.URL.Path, "/demo/liveperson/") && st.lpSim != nil {
		st.lpSim.ServeHTTP(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/demo/twilio/") && st.Twilio != nil {
		st.twilioVisitor(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/demo/") {
		st.Desk.ServeHTTP(w, r)
		return
	}
	// Unmatched requests go to the $default route, like on AWS.
	rt, params, _ := route.Table.Match(r.Method, r.URL.Path)
	ev, err := apigw.FromHTTP(r, rt, params, 0)
	if err != nil {
		apigw.WriteHTTP(w, apigw.Fail(apigw.Errorf(http.StatusBadRequest, "bad_request", "could not read the request"), ""))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), st.Opts.FunctionTimeout)
	defer cancel()
	resp, err := st.Invoke(ctx, rt.Target, ev)
	if err != nil {
		apigw.WriteHTTP(w, apigw.Fail(err, ev.RequestContext.RequestID))
		return
	}
	apigw.WriteHTTP(w, resp)
}

// Invoke calls a function's handler in-process.
func (st *Stack) Invoke(ctx context.Context, function string, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	h, ok := st.handlers[function]
	if !ok {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("no function %q", function)
	}
	return h(ctx, ev)
}

// Close stops the stack.
func (st *Stack) Close() {
	if st == nil {
		return
	}
	if st.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = st.srv.Shutdown(ctx)
		cancel()
	}
	st.mu.Lock()
	pipes := st.pipelines
	st.mu.Unlock()
	for _, p := range pipes {
		p.Stop()
	}
	if st.Agent != nil {
		_ = st.Agent.Close()
	}
	if st.Sunshine != nil {
		_ = st.Sunshine.Close()
	}
	if st.stopLP != nil {
		st.stopLP()
	}
	if st.Twilio != nil {
		_ = st.Twilio.Close()
	}
	st.Moto.Stop()
	st.DynamoDBLocal.Stop()
	st.Fauxqs.Stop()
}

func isLoopback(u string) bool {
	for _, p := range []string{"http://127.0.0.1:", "http://localhost:", "http://[::1]:"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

// rewriteStrings applies fn to every string value of an item, recursively.
func rewriteStrings(it tenant.Item, fn func(string) string) {
	for k, v := range it {
		it[k] = rewriteAV(v, fn)
	}
}

func rewriteAV(v ddbtypes.AttributeValue, fn func(string) string) ddbtypes.AttributeValue {
	switch t := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return &ddbtypes.AttributeValueMemberS{Value: fn(t.Value)}
	case *ddbtypes.AttributeValueMemberM:
		m := make(map[string]ddbtypes.AttributeValue, len(t.Value))
		for k, x := range t.Value {
			m[k] = rewriteAV(x, fn)
		}
		return &ddbtypes.AttributeValueMemberM{Value: m}
	case *ddbtypes.AttributeValueMemberL:
		l := make([]ddbtypes.AttributeValue, len(t.Value))
		for i, x := range t.Value {
			l[i] = rewriteAV(x, fn)
		}
		return &ddbtypes.AttributeValueMemberL{Value: l}
	default:
		return v
	}
}
