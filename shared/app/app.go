package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/crmbridge/crmbridge/shared/action"
	"github.com/crmbridge/crmbridge/shared/apigw"
	"github.com/crmbridge/crmbridge/shared/awsconf"
	"github.com/crmbridge/crmbridge/shared/escalation"
	"github.com/crmbridge/crmbridge/shared/inbound"
	"github.com/crmbridge/crmbridge/shared/message"
	"github.com/crmbridge/crmbridge/shared/obs"
	"github.com/crmbridge/crmbridge/shared/retry"
	"github.com/crmbridge/crmbridge/shared/secrets"
	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/source/generic"
	"github.com/crmbridge/crmbridge/shared/source/liveperson"
	"github.com/crmbridge/crmbridge/shared/source/sunshine"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/teams"
	"github.com/crmbridge/crmbridge/shared/tenant"
	"github.com/crmbridge/crmbridge/shared/ultimate"
	"github.com/crmbridge/crmbridge/shared/webhook"
)

// Function names, as in functions/ and the template's routes.
const (
	FnSourceInbound     = "source-inbound"
	FnWebhookMessage    = "webhook-message"
	FnWebhookEscalation = "webhook-escalation"
	FnWebhookAction     = "webhook-action"
)

// Routes is the HTTP API's route table. template.yaml declares the same
// routes (a test holds them together); the local stack serves these.
var Routes = []apigw.Route{
	{Method: "ANY", Pattern: "/sources/{source}/{account}", Target: FnSourceInbound},
	{Method: "ANY", Pattern: "/sources/{source}/{account}/{proxy+}", Target: FnSourceInbound},
	{Method: "POST", Pattern: "/webhooks/message", Target: FnWebhookMessage},
	{Method: "POST", Pattern: "/webhooks", Target: FnWebhookMessage},
	{Method: "POST", Pattern: "/webhooks/escalation", Target: FnWebhookEscalation},
	{Method: "POST", Pattern: "/webhooks/action", Target: FnWebhookAction},
}

// DynamoDB is every DynamoDB call the functions make.
type DynamoDB interface {
	state.DB
}

// Deps is everything a handler needs, built once per execution environment.
type Deps struct {
	Config  Config
	Log     *slog.Logger
	Metrics *obs.Metrics
	DB      DynamoDB
	HTTP    *http.Client
	Tenants *tenant.Loader
	Secrets *secrets.Cache
	Creds   *tenant.Credentials
	State   *state.Store
	Sources *source.Registry
	Agent   *ultimate.Client
	Gate    *webhook.Gate
	Now     func() time.Time
	AWS     aws.Config // set by Main, for clients only some functions need
}

// Options override parts of Deps (tests and the local stack).
type Options struct {
	Out     io.Writer // logs and metrics; default stdout
	Service string    // function name for logs and metrics
	HTTP    *http.Client
	Now     func() time.Time
	Retry   *retry.Policy
}

// NewHTTPClient returns the client for outbound calls: bounded dials and
// handshakes, kept-alive connections (warm invocations reuse them).
func NewHTTPClient() *http.Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   3 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Transport: tr, Timeout: 25 * time.Second}
}

// Sources registers every platform adapter. log may be nil.
func Sources(hc *http.Client, now func() time.Time, log *slog.Logger) *source.Registry {
	g := generic.New(hc)
	g.Now = now
	lp := liveperson.New(hc)
	lp.Now = now
	return source.NewRegistry(g, &sunshine.Adapter{HTTP: hc, Now: now, Log: log}, lp)
}

// Build wires Deps over the given AWS clients.
func Build(cfg Config, db DynamoDB, sm secrets.API, opts Options) *Deps {
	out := opts.Out
	if out == nil {
		out = os.Stdout
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	hc := opts.HTTP
	if hc == nil {
		hc = NewHTTPClient()
	}
	pol := retry.Default
	if opts.Retry != nil {
		pol = *opts.Retry
	}
	d := &Deps{Config: cfg, DB: db, HTTP: hc, Now: now}
	d.Log = obs.NewLogger(out, cfg.LogLevel, slog.String("service", opts.Service))
	d.Metrics = obs.NewMetrics(out, "crmbridge", opts.Service)
	d.Sources = Sources(hc, now, d.Log)
	d.Tenants = &tenant.Loader{
		DB: db, Table: cfg.TenantsTable, TTL: cfg.ConfigTTL, Now: now,
		CheckSettings: d.Sources.CheckSettings, CheckTeams: checkTeams, CheckAction: action.Check,
	}
	d.Secrets = secrets.New(sm, secrets.Options{TTL: cfg.SecretsTTL, Now: now})
	d.Creds = &tenant.Credentials{Loader: d.Tenants, Secrets: d.Secrets}
	d.State = &state.Store{DB: db, Table: cfg.StateTable, Now: now, DeadTTL: cfg.DeadLetterTTL}
	d.Agent = &ultimate.Client{HTTP: hc, Keys: d.Creds, DefaultBaseURL: cfg.UltimateBaseURL, Retry: pol}
	d.Gate = &webhook.Gate{Tenants: d.Tenants, AgentSecrets: d.Creds, Secrets: d.Secrets, Log: d.Log}
	return d
}

func checkTeams(raw json.RawMessage) error {
	_, err := teams.Parse(raw)
	return err
}

// LoadAWS reads the SDK configuration from the environment
// (AWS_ENDPOINT_URL points the clients at moto_server locally), with the
// retry policy of shared/awsconf: the same one the tests and the local stack
// use.
func LoadAWS(ctx context.Context) (aws.Config, error) {
	return awsconf.Load(ctx)
}

// Inbound returns the source-inbound handler.
func (d *Deps) Inbound() *inbound.Handler {
	return &inbound.Handler{
		Tenants: d.Tenants, Secrets: d.Secrets, State: d.State, Agent: d.Agent, Sources: d.Sources,
		Log: d.Log, Metrics: d.Metrics, Now: d.Now, Routes: Routes,
	}
}

// Escalation returns the webhook-escalation handler.
func (d *Deps) Escalation() *escalation.Handler {
	return &escalation.Handler{
		Gate: d.Gate, State: d.State, Tenants: d.Tenants, Secrets: d.Secrets, Sources: d.Sources,
		Retry: d.Agent.Retry, Log: d.Log, Metrics: d.Metrics, Now: d.Now,
	}
}

// Action returns the webhook-action handler.
func (d *Deps) Action() *action.Handler {
	return &action.Handler{
		Gate: d.Gate, Actions: d.Tenants, Secrets: d.Secrets, Conversations: d.State, Sources: d.Sources,
		HTTP: d.HTTP, Retry: d.Agent.Retry, Log: d.Log, Metrics: d.Metrics, Now: d.Now,
	}
}

// Message returns the webhook-message handler; fwd may be nil.
func (d *Deps) Message(fwd message.Forwarder) *message.Handler {
	return &message.Handler{
		Gate: d.Gate, State: d.State, Sources: d.Sources, Forward: fwd, Retry: d.Agent.Retry,
		Log: d.Log, Metrics: d.Metrics, Now: d.Now,
	}
}

// Main is the body of every function's main: read the environment, build
// the dependencies once, start the Lambda loop. A configuration error is
// logged once and ends the process, so the init failure shows in Lambda.
func Main(service string, handler func(ctx context.Context, d *Deps) (any, error)) {
	ctx := context.Background()
	log := obs.NewLogger(os.Stdout, os.Getenv("LOG_LEVEL"), slog.String("service", service))
	cfg, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		log.Error("invalid configuration", slog.String("error", err.Error()))
		os.Exit(1)
	}
	awsCfg, err := LoadAWS(ctx)
	if err != nil {
		log.Error("AWS setup failed", slog.String("error", err.Error()))
		os.Exit(1)
	}
	d := Build(cfg, dynamodb.NewFromConfig(awsCfg), secretsmanager.NewFromConfig(awsCfg), Options{Service: service})
	d.AWS = awsCfg
	h, err := handler(ctx, d)
	if err != nil {
		log.Error("handler setup failed", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(h)
}
